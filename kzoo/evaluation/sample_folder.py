"""Folders of samples on disk: written in resumable chunks, read back in batches for FID/KID/IS/precision/recall.

:func:`write_samples` (``kzoo sample ENTRY -n N --out-dir DIR``) draws ``N``
samples chunk by chunk and writes each chunk as soon as it is drawn, so memory
holds one chunk at a time:

* ``format="png"``: one 8-bit PNG per sample, ``sample-00000000.png``,
  ``sample-00000001.png`` ... (grayscale or RGB, at the model's image size);
* ``format="npz"``: one file per chunk, ``chunk-000000.npz`` ..., holding the
  chunk's ``images`` as uint8 ``(n, H, W, C)``.

Chunk ``i`` is ``model.generate(size_i, seed=s_i, **options)`` with
``s_i = _batch_seed(seed, i)``, the per-batch seed of
:func:`kzoo.evaluation.sample_quality.sample_quality`: with ``chunk_size``
equal to the batch size of ``kzoo eval`` (100 by default for both), the folder
holds exactly the samples ``kzoo eval`` draws with the same seed, and scores
the same.

The folder's manifest, ``kzoo-samples.json``, records the entry (name, model
and the weights' sha256), the seed, the ``generate`` options, the chunk size,
the format, the image shape, the requested count and how many chunks are
complete. It is rewritten atomically after each chunk and is the commit point:
a chunk is written into a hidden staging folder (``.kzoo-partial``) or a
temporary file first, moved into place, and only then counted. A killed run
leaves the complete chunks and a manifest saying how many there are; the same
command run again removes what an unfinished chunk left and resumes with the
next chunk, and since a chunk depends only on ``(seed, i)`` the samples are
those of an uninterrupted run.

:func:`open_sample_folder` reads such a folder, or a folder of the user's own
PNG files (sorted by name), and :func:`folder_sample_quality` scores it
against real images, reading and featurizing one batch at a time.
"""

import contextlib
import json
import os
import shutil
import time
from pathlib import Path

import numpy as np

from kzoo.core.imaging import atomic_write
from kzoo.core.validation import check_non_negative_int, check_positive_int
from kzoo.evaluation.sample_quality import METRICS, _batch_seed, _QualitySetup, from_uint8, to_uint8

#: The manifest's file name.
MANIFEST = "kzoo-samples.json"
#: What a manifest says it is.
MANIFEST_KIND = "kzoo-samples"
MANIFEST_VERSION = 1
#: The hidden folder a PNG chunk is written into before it is moved into place.
STAGING = ".kzoo-partial"
FORMATS = ("png", "npz")
#: Default samples per chunk: the default ``--batch-size`` of ``kzoo eval``, so folders match its draws.
DEFAULT_CHUNK_SIZE = 100
#: Names of the files, by format.
PATTERNS = {"png": "sample-{:08d}.png", "npz": "chunk-{:06d}.npz"}
#: The manifest fields that must agree for a rerun to resume (the samples depend on them).
IDENTITY_FIELDS = ("model", "weights_sha256", "seed", "options", "chunk_size", "format", "image_shape")
#: File extensions that hold images, to name what a folder holds.
IMAGE_EXTENSIONS = (".png", ".npz", ".jpg", ".jpeg", ".bmp", ".gif", ".tif", ".tiff", ".webp", ".npy")

_SEED_RULE = ("chunk i holds model.generate(size_i, seed=SeedSequence([seed, i]).generate_state(1)[0] % "
              "(2**31 - 1), **options), the per-batch seeds of kzoo eval; size_i = chunk_size except the last")


def chunk_sizes(n, chunk_size):
    """The sizes of the chunks of ``n`` samples: ``chunk_size`` each, the last one the remainder.

    Args:
        n: positive int, the number of samples.
        chunk_size: positive int.

    Returns:
        A list of ints summing to ``n``.
    """
    return [min(chunk_size, n - first) for first in range(0, n, chunk_size)]


def chunk_seed(seed, index):
    """The int seed of chunk ``index`` of a folder seeded with ``seed`` (the seed of batch ``index`` of eval).

    Args:
        seed: the run's int seed.
        index: the chunk index.

    Returns:
        An int in ``[0, 2**31 - 1)``.
    """
    return _batch_seed(seed, index)


def model_identity(model, entry=None):
    """What a manifest records to recognize the model whose samples a folder holds.

    Args:
        model: a loaded kzoo model (with ``card`` when it comes from an entry).
        entry: the entry name or folder the model was loaded from.

    Returns:
        A dict with ``entry`` (the card's name, else ``entry``), ``model``
        (the registered name), ``weights_sha256`` (the card's, or None) and
        ``dataset`` (the card's, or None).
    """
    card = getattr(model, "card", None) or {}
    return {
        "entry": card.get("name") or (None if entry is None else str(entry)),
        "model": getattr(model, "registered_name", None) or type(model).__name__,
        "weights_sha256": card.get("sha256"),
        "dataset": card.get("dataset"),
    }


def _json_ready(value, what):
    try:
        return json.loads(json.dumps(value))
    except (TypeError, ValueError) as err:
        raise ValueError(f"{what} {value!r} cannot be recorded in the manifest: {err}; expected JSON values.") from None


def _write_json(path, document):
    text = json.dumps(document, indent=2) + "\n"

    def write(tmp):
        with open(tmp, "w", encoding="utf-8") as handle:
            handle.write(text)

    atomic_write(path, write, suffix=".json")


def read_manifest(folder):
    """The manifest of a sample folder, or None when it has none.

    Args:
        folder: the folder.

    Returns:
        The manifest dict, or None.

    Raises:
        ValueError: the manifest is not valid JSON or not a kzoo samples
            manifest.
    """
    path = Path(folder) / MANIFEST
    if not path.is_file():
        return None
    try:
        manifest = json.loads(path.read_text(encoding="utf-8"))
    except (UnicodeDecodeError, json.JSONDecodeError) as err:
        raise ValueError(f"{path} is not valid JSON ({err}); expected the manifest kzoo sample writes.") from None
    if not isinstance(manifest, dict) or manifest.get("kind") != MANIFEST_KIND:
        raise ValueError(f"{path} is not a kzoo samples manifest (its 'kind' is "
                         f"{manifest.get('kind') if isinstance(manifest, dict) else None!r}, expected "
                         f"{MANIFEST_KIND!r}).")
    if manifest.get("version") != MANIFEST_VERSION:
        raise ValueError(f"{path} has manifest version {manifest.get('version')!r}; this kzoo reads version "
                         f"{MANIFEST_VERSION}.")
    for key in ("format", "chunk_size", "chunk_sizes", "chunks_complete", "image_shape"):
        if key not in manifest:
            raise ValueError(f"{path} lacks the field {key!r}; expected a manifest written by kzoo sample.")
    if manifest["format"] not in FORMATS:
        raise ValueError(f"{path} names the format {manifest['format']!r}; expected one of {', '.join(FORMATS)}.")
    return manifest


def _visible_files(folder):
    return sorted(p.name for p in Path(folder).iterdir() if not p.name.startswith("."))


def _samples_complete(manifest):
    return int(sum(manifest["chunk_sizes"][: manifest["chunks_complete"]]))


def _file_names(fmt, first_sample, sizes, first_chunk):
    """File names of the chunks ``first_chunk, ...`` of the given sizes."""
    if fmt == "npz":
        return [PATTERNS["npz"].format(first_chunk + i) for i in range(len(sizes))]
    return [PATTERNS["png"].format(first_sample + j) for j in range(int(sum(sizes)))]


def _check_resumable(folder, manifest, wanted, sizes):
    """Raises ValueError unless the folder's manifest describes the same samples as ``wanted``."""
    where = Path(folder) / MANIFEST
    for key in IDENTITY_FIELDS:
        have, want = manifest.get(key), wanted[key]
        if key == "weights_sha256" and (have is None or want is None):
            continue
        if have != want:
            label = {"weights_sha256": "weights (sha256)", "options": "generate options (--option)",
                     "chunk_size": "chunk size (--chunk-size)", "format": "format (--format)",
                     "seed": "seed (--seed)", "model": "model", "image_shape": "image shape"}[key]
            raise ValueError(
                f"{folder} holds samples of {manifest.get('entry')!r} with {label} {have!r} ({where}), but this "
                f"run asks for {want!r} (entry {wanted.get('entry')!r}); use another --out-dir, or the same "
                f"settings to resume: {manifest.get('command') or 'the command in the manifest'}.")
    done = manifest["chunks_complete"]
    old = manifest["chunk_sizes"][:done]
    if old != sizes[:done]:
        have = _samples_complete(manifest)
        raise ValueError(
            f"{folder} holds {have} complete samples in {done} chunks of sizes up to {max(old)} "
            f"({where}), which are not the first chunks of -n {sum(sizes)} in chunks of {wanted['chunk_size']}; "
            f"expected -n >= {have} that continues them (e.g. -n {manifest.get('n')}), or another --out-dir.")


def write_samples(model, out_dir, n, *, seed=0, chunk_size=DEFAULT_CHUNK_SIZE, fmt="png", options=None,
                  entry=None, command=None, verbose=True):
    """Draws ``n`` samples into a folder, chunk by chunk, resuming an interrupted run.

    See the module docstring for the layout, the seeding and what makes a
    rerun resume. Only one chunk of samples is in memory at a time.

    Args:
        model: a kzoo model whose ``generate`` returns images ``(n, H, W, C)``
            in ``[0, 1]`` with 1 or 3 channels.
        out_dir: the folder: new, empty, or holding samples of the same
            entry, seed, options, chunk size and format (then the run
            resumes after its last complete chunk, and may go on past its
            ``n``).
        n: number of samples, >= 1.
        seed: non-negative int seed; chunk ``i`` uses :func:`chunk_seed`.
        chunk_size: samples per chunk (and per ``generate`` call), >= 1.
        fmt: ``"png"`` (one file per sample) or ``"npz"`` (one file per
            chunk).
        options: keyword arguments of ``model.generate`` (JSON values).
        entry: the entry name or folder, recorded in the manifest.
        command: the command line, recorded in the manifest.
        verbose: show a progress bar.

    Returns:
        A dict with ``path``, ``format``, ``n`` (samples in the folder),
        ``written`` (drawn by this call), ``resumed_after`` (samples that
        were already there), ``chunks`` and ``seconds``.

    Raises:
        ValueError: ``n``, ``seed`` or ``chunk_size`` is not a valid int, an
            unknown format, samples that are not images, ``out_dir`` is a
            file, or it holds other files or the samples of another entry,
            seed, options, chunk size or format.
        OSError: the folder cannot be created or written.
    """
    start = time.perf_counter()
    n = check_positive_int(n, "n")
    chunk_size = check_positive_int(chunk_size, "chunk_size")
    if fmt not in FORMATS:
        raise ValueError(f"format must be one of {', '.join(FORMATS)}, got {fmt!r}.")
    folder = Path(out_dir)
    if folder.exists() and not folder.is_dir():
        raise ValueError(f"--out-dir {str(folder)!r} is a file; expected a folder (new, empty, or holding "
                         "samples of this same command).")
    shape = tuple(int(d) for d in getattr(model, "data_shape", ()) or ())
    if len(shape) != 3 or shape[-1] not in (1, 3):
        raise ValueError(f"{type(model).__name__} draws samples of shape {shape}; a sample folder holds images of "
                         "shape (H, W, 1) or (H, W, 3).")
    options = _json_ready(dict(options or {}), "generate options")
    sizes = chunk_sizes(n, chunk_size)
    seed = check_non_negative_int(seed, "seed")
    wanted = dict(model_identity(model, entry), seed=seed, options=options, chunk_size=chunk_size,
                  format=fmt, image_shape=list(shape))

    manifest = read_manifest(folder) if folder.is_dir() else None
    if manifest is None and folder.is_dir():
        others = _visible_files(folder)
        if others:
            shown = ", ".join(others[:3]) + (", ..." if len(others) > 3 else "")
            raise ValueError(f"--out-dir {str(folder)!r} holds {len(others)} files ({shown}) but no {MANIFEST}; "
                             "expected a new or empty folder, or one written by kzoo sample --out-dir.")
    if manifest is not None:
        _check_resumable(folder, manifest, wanted, sizes)
        done = manifest["chunks_complete"]
    else:
        done = 0
    created = not folder.exists()
    folder.mkdir(parents=True, exist_ok=True)
    staging = folder / STAGING
    shutil.rmtree(staging, ignore_errors=True)
    resumed_after = int(sum(sizes[:done]))
    _remove_uncommitted(folder, fmt, resumed_after, done)

    manifest = {"kind": MANIFEST_KIND, "version": MANIFEST_VERSION, **wanted, "n": n, "chunk_sizes": sizes,
                "chunks_complete": done, "samples_complete": resumed_after, "file_pattern": PATTERNS[fmt],
                "seeding": _SEED_RULE, "command": command}
    progress = None
    if verbose:
        import keras

        progress = keras.utils.Progbar(n, unit_name="sample")
        if resumed_after:
            progress.update(resumed_after)
    from kzoo.evaluation.extractor import check_images

    first, committed_any = resumed_after, False
    try:
        for index in range(done, len(sizes)):
            size = sizes[index]
            images = np.asarray(model.generate(size, seed=chunk_seed(seed, index), **options))
            if images.shape != (size,) + shape:
                raise ValueError(f"model.generate({size}) returned shape {images.shape}; expected "
                                 f"{(size,) + shape}.")
            pixels = to_uint8(check_images(images, name=f"samples of chunk {index}"))
            if not committed_any:  # the folder is marked as kzoo's before its first sample file lands
                _write_json(folder / MANIFEST, manifest)
                committed_any = True
            if fmt == "npz":
                _write_npz_chunk(folder / PATTERNS["npz"].format(index), pixels, index, first,
                                 chunk_seed(seed, index))
            else:
                _write_png_chunk(folder, staging, pixels, first)
            first += size
            manifest.update(chunks_complete=index + 1, samples_complete=first)
            _write_json(folder / MANIFEST, manifest)
            if progress is not None:
                progress.add(size)
    except BaseException:
        shutil.rmtree(staging, ignore_errors=True)
        if created and not committed_any:  # a failed first chunk in a new folder leaves no folder
            with contextlib.suppress(OSError):
                folder.rmdir()
        raise
    return {"path": str(folder), "format": fmt, "n": n, "written": n - resumed_after,
            "resumed_after": resumed_after, "chunks": len(sizes), "seconds": round(time.perf_counter() - start, 2)}


def _remove_uncommitted(folder, fmt, samples_complete, chunks_complete):
    """Deletes what an interrupted run left besides its committed chunks (those samples are drawn again).

    That is sample files past the committed ones and the hidden temporary
    files of :func:`~kzoo.core.imaging.atomic_write` (manifest, npz chunks).
    """
    for pattern in (f".{MANIFEST}-*", ".chunk-*.npz-*"):
        for path in folder.glob(pattern):
            path.unlink()
    if fmt == "npz":
        prefix, index_of, committed = "chunk-", lambda stem: stem[len("chunk-"):], chunks_complete
    else:
        prefix, index_of, committed = "sample-", lambda stem: stem[len("sample-"):], samples_complete
    for path in folder.glob(f"{prefix}*.{fmt}"):
        number = index_of(path.stem)
        if number.isdigit() and int(number) >= committed:
            path.unlink()


def _write_npz_chunk(path, pixels, index, first, seed):
    def write(tmp):
        np.savez_compressed(tmp, images=pixels, chunk_index=np.int64(index), first_sample=np.int64(first),
                            chunk_seed=np.int64(seed))

    atomic_write(path, write, suffix=".npz")


def _write_png_chunk(folder, staging, pixels, first):
    """Writes a chunk's PNGs into the staging folder, then moves them into place one rename each."""
    from PIL import Image

    staging.mkdir(exist_ok=True)
    names = []
    for offset, image in enumerate(pixels):
        name = PATTERNS["png"].format(first + offset)
        Image.fromarray(image[..., 0] if image.shape[-1] == 1 else image).save(staging / name, format="PNG")
        names.append(name)
    for name in names:
        os.replace(staging / name, folder / name)
    staging.rmdir()


# ------------------------------------------------------------------ reading
class SampleFolder:
    """A folder of samples opened for reading: kzoo's (with its manifest) or the user's PNG files.

    Build it with :func:`open_sample_folder`.

    Attributes:
        path: the folder (``pathlib.Path``).
        format: ``"png"`` or ``"npz"``.
        manifest: the manifest dict, or None for a folder of the user's PNGs.
        files: the files holding the samples, in order.
        n: the number of complete samples.
        image_shape: ``(H, W, C)`` of the samples (for user PNGs: of the
            first file; every file is checked against it as it is read).
    """

    def __init__(self, path, fmt, manifest, files, n, image_shape):
        self.path = Path(path)
        self.format = fmt
        self.manifest = manifest
        self.files = list(files)
        self.n = int(n)
        self.image_shape = tuple(image_shape)

    def batches(self, batch_size, limit=None):
        """Yields the samples as float32 batches ``(b, H, W, C)`` in ``[0, 1]``, ``batch_size`` at a time.

        Args:
            batch_size: images per batch, >= 1.
            limit: read only the first ``limit`` samples (default: all).

        Yields:
            float32 arrays; all but the last hold ``batch_size`` images.

        Raises:
            ValueError: a file is missing, unreadable, or of another size,
                channel count or bit depth than the first one.
        """
        batch_size = check_positive_int(batch_size, "batch_size")
        remaining = self.n if limit is None else min(int(limit), self.n)
        pending = []
        held = 0
        for pixels in self._file_arrays():
            if remaining <= 0:
                break
            pixels = pixels[:remaining]
            remaining -= len(pixels)
            pending.append(pixels)
            held += len(pixels)
            while held >= batch_size:
                joined = np.concatenate(pending)
                yield from_uint8(joined[:batch_size])
                rest = joined[batch_size:]
                pending, held = ([rest], len(rest)) if len(rest) else ([], 0)
        if held:
            yield from_uint8(np.concatenate(pending))

    def _file_arrays(self):
        for path in self.files:
            if self.format == "npz":
                yield self._read_npz(path)
            else:
                yield _read_png(path, self.image_shape)[None]

    def _read_npz(self, path):
        try:
            with np.load(path, allow_pickle=False) as data:
                pixels = data["images"]
        except (OSError, ValueError, KeyError) as err:
            raise ValueError(f"could not read the samples of {path}: {err}; expected an .npz chunk written by "
                             "kzoo sample --format npz (rerun that command to redraw it).") from None
        if pixels.dtype != np.uint8 or tuple(pixels.shape[1:]) != self.image_shape:
            raise ValueError(f"{path} holds {pixels.dtype} images of shape {tuple(pixels.shape[1:])}; expected uint8 "
                             f"images of shape {self.image_shape} (its manifest's).")
        return pixels

    def describe(self):
        """The row keys that say where the samples came from.

        Returns:
            A dict with ``samples_source`` (``"folder"``), ``samples_dir``
            (absolute path), ``samples_format`` and ``samples_manifest``
            (entry, model, seed, options and chunk size of a kzoo folder, or
            None for the user's own PNGs).
        """
        manifest = None
        if self.manifest is not None:
            manifest = {key: self.manifest.get(key) for key in
                        ("entry", "model", "weights_sha256", "seed", "options", "chunk_size", "command")}
        return {"samples_source": "folder", "samples_dir": str(self.path.resolve()), "samples_format": self.format,
                "samples_manifest": manifest}

    def __repr__(self):
        return f"SampleFolder({str(self.path)!r}, format={self.format!r}, n={self.n}, image_shape={self.image_shape})"


_PNG_MODES = {"L": 1, "RGB": 3, "1": 1}


def _png_shape(image, path):
    """``(H, W, C)`` of an open PIL image, or ValueError naming a mode kzoo does not read."""
    if image.mode not in _PNG_MODES:
        if image.mode in ("LA", "RGBA", "PA") or (image.mode == "P" and "transparency" in image.info):
            reason = "has an alpha channel"
        elif image.mode.startswith("I") or image.mode == "F":
            reason = "has 16- or 32-bit pixels"
        elif image.mode == "P":
            reason = "is a palette image"
        else:
            reason = "has pixels of another kind"
        raise ValueError(f"{path} {reason} (PIL mode {image.mode!r}); expected 8-bit grayscale (L) or RGB PNG files.")
    return (image.height, image.width, _PNG_MODES[image.mode])


def _read_png(path, image_shape):
    from PIL import Image, UnidentifiedImageError

    try:
        with Image.open(path) as image:
            if image.format != "PNG":
                raise ValueError(f"{path} is a {image.format} file named .png; expected PNG files.")
            shape = _png_shape(image, path)
            if shape != tuple(image_shape):
                raise ValueError(f"{path} is {shape[0]}x{shape[1]} with {shape[2]} channel(s), but the samples must "
                                 f"be {image_shape[0]}x{image_shape[1]} with {image_shape[2]} channel(s) (shape "
                                 f"{tuple(image_shape)}).")
            pixels = np.asarray(image.convert("L") if image.mode == "1" else image, dtype=np.uint8)
    except (OSError, UnidentifiedImageError) as err:
        raise ValueError(f"could not read {path}: {err}; expected a PNG file.") from None
    return pixels[..., None] if pixels.ndim == 2 else pixels


def open_sample_folder(path, image_shape=None):
    """Opens a folder of samples for reading.

    A folder with a manifest (written by :func:`write_samples`) gives its
    complete samples in order; a folder without one gives its ``.png`` files
    sorted by name (hidden files are skipped).

    Args:
        path: the folder.
        image_shape: the ``(H, W, C)`` the samples must have (e.g. the real
            images'), or None to take the first sample's.

    Returns:
        A :class:`SampleFolder`.

    Raises:
        ValueError: not a folder; no samples; files of several formats, or
            only of formats kzoo does not read; a manifest's files missing;
            .npz files without a manifest; the first image's size or
            channels differ from ``image_shape``.
    """
    folder = Path(path)
    if not folder.exists():
        raise ValueError(f"--samples-dir {str(folder)!r} does not exist; expected a folder of PNG files or "
                         "one written by kzoo sample --out-dir.")
    if not folder.is_dir():
        raise ValueError(f"--samples-dir {str(folder)!r} is a file; expected a folder of PNG files or one written "
                         "by kzoo sample --out-dir.")
    files = [name for name in _visible_files(folder) if name != MANIFEST]
    kinds = {}
    for name in files:
        extension = os.path.splitext(name)[1].lower()
        if extension in IMAGE_EXTENSIONS:
            kinds.setdefault(extension, []).append(name)
    if len(kinds) > 1:
        counts = ", ".join(f"{len(names)} {ext}" for ext, names in sorted(kinds.items()))
        raise ValueError(f"--samples-dir {str(folder)!r} mixes formats ({counts} files); expected PNG files only, or "
                         "the .npz chunks of kzoo sample --format npz only.")
    manifest = read_manifest(folder)
    if manifest is None:
        if not kinds:
            raise ValueError(f"--samples-dir {str(folder)!r} holds no samples (no .png files or .npz chunks); "
                             "expected PNG files of the model's image size, or a folder written by kzoo sample "
                             "--out-dir.")
        extension, names = next(iter(kinds.items()))
        if extension == ".npz":
            raise ValueError(f"--samples-dir {str(folder)!r} holds .npz files but no {MANIFEST}; expected the "
                             "folder kzoo sample --format npz wrote (with its manifest), or PNG files.")
        if extension != ".png":
            raise ValueError(f"--samples-dir {str(folder)!r} holds {len(names)} {extension} files; expected PNG files "
                             "(8-bit, grayscale or RGB): convert them to PNG first.")
        paths = [folder / name for name in names]
        from PIL import Image, UnidentifiedImageError

        try:
            with Image.open(paths[0]) as image:
                first_shape = _png_shape(image, paths[0])
        except (OSError, UnidentifiedImageError) as err:
            raise ValueError(f"could not read {paths[0]}: {err}; expected a PNG file.") from None
        if image_shape is not None and first_shape != tuple(image_shape):
            _read_png(paths[0], image_shape)  # raises the error naming the file, its size and the expected one
        return SampleFolder(folder, "png", None, paths, len(paths), first_shape)

    fmt = manifest["format"]
    shape = tuple(int(d) for d in manifest["image_shape"])
    if image_shape is not None and shape != tuple(image_shape):
        raise ValueError(f"--samples-dir {str(folder)!r} holds samples of shape {shape} ({MANIFEST}), but the "
                         f"evaluation needs images of shape {tuple(image_shape)}.")
    other = [ext for ext in kinds if ext != f".{fmt}"]
    if other:
        raise ValueError(f"--samples-dir {str(folder)!r} holds {fmt} samples ({MANIFEST}) and {len(kinds[other[0]])} "
                         f"{other[0]} files; expected {fmt} files only.")
    n = _samples_complete(manifest)
    if n == 0:
        raise ValueError(f"--samples-dir {str(folder)!r} holds no complete chunk yet ({MANIFEST}); finish it with "
                         f"{manifest.get('command') or 'kzoo sample'}.")
    names = _file_names(fmt, 0, manifest["chunk_sizes"][: manifest["chunks_complete"]], 0)
    missing = [name for name in names if not (folder / name).is_file()]
    if missing:
        raise ValueError(f"--samples-dir {str(folder)!r}: {len(missing)} files its manifest counts are missing (first: "
                         f"{missing[0]}); expected the folder as kzoo sample left it (rerun it in a new folder).")
    return SampleFolder(folder, fmt, manifest, [folder / name for name in names], n, shape)


def folder_sample_quality(folder, real_images=None, *, n_samples=None, extractor="mnist", metrics=METRICS, seed=0,
                          batch_size=100, kid_subsets=100, kid_subset_size=1000, pr_k=3, is_splits=10, cache=None,
                          verbose=True):
    """FID, KID, IS, precision and recall of the samples in a folder, read and featurized in batches.

    The counterpart of :func:`kzoo.evaluation.sample_quality.sample_quality`
    for samples on disk: a folder written by ``kzoo sample --out-dir`` with
    the same seed, options and count scores exactly as ``kzoo eval`` drawing
    the samples (both see the same 8-bit images).

    Args:
        folder: a folder path or a :class:`SampleFolder`.
        real_images: array ``(N, H, W, C)`` in ``[0, 1]`` or
            :class:`~kzoo.evaluation.sample_quality.ReferenceFeatures`.
        n_samples: score the first ``n_samples`` samples (default: all).
        extractor: feature extractor or its name.
        metrics: which metrics (see :func:`sample_quality`).
        seed: seed of the KID subsets (``kzoo eval`` uses its ``--seed``).
        batch_size: images read and featurized per step.
        kid_subsets: number of KID subsets.
        kid_subset_size: samples per side in each KID subset.
        pr_k: the ``k`` of k-NN precision/recall.
        is_splits: Inception Score splits.
        cache: optional ``.npz`` path for the real features.
        verbose: show a progress bar.

    Returns:
        The dict of :func:`sample_quality` (``sample_seconds_per_image`` is
        None: nothing is drawn) plus the keys of
        :meth:`SampleFolder.describe`.

    Raises:
        ValueError: as :func:`open_sample_folder` and :func:`sample_quality`;
            ``n_samples`` larger than the folder holds.
    """
    start = time.perf_counter()
    batch_size = check_positive_int(batch_size, "batch_size")
    if not isinstance(folder, SampleFolder):
        shape = None
        if real_images is not None and not hasattr(real_images, "statistics"):
            shape = tuple(np.shape(real_images)[1:])
            shape = shape + (1,) if len(shape) == 2 else shape
        folder = open_sample_folder(folder, image_shape=shape)
    if n_samples is None:
        planned = int((folder.manifest or {}).get("n") or folder.n)
        if planned > folder.n:
            raise ValueError(f"{folder.path} holds {folder.n} of the {planned} samples its run asked for (it was "
                             f"interrupted): finish it with {folder.manifest.get('command') or 'kzoo sample'}, or "
                             f"pass --n-samples {folder.n} to score the complete ones.")
        n_samples = folder.n
    n_samples = check_positive_int(n_samples, "n_samples")
    if n_samples > folder.n:
        raise ValueError(f"n_samples={n_samples} but {folder.path} holds {folder.n} samples; expected at most "
                         f"{folder.n} (or draw more with kzoo sample).")
    setup = _QualitySetup(real_images, n_samples, extractor=extractor, metrics=metrics, pr_k=pr_k,
                          is_splits=is_splits, cache=cache)
    result = setup.score(folder.batches(batch_size, limit=n_samples), seed=seed, kid_subsets=kid_subsets,
                         kid_subset_size=kid_subset_size, verbose=verbose, what=f"the samples in {folder.path}")
    result["sample_seconds_per_image"] = None
    result.update(folder.describe())
    result["seconds"] = round(time.perf_counter() - start, 2)
    return result
