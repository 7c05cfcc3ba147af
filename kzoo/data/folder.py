"""Datasets from a folder of image files.

Layout follows ``keras.utils.image_dataset_from_directory``: if the folder has
subfolders, each (non-hidden) subfolder is a class, in sorted name order, and
its images (searched recursively) get that class index; images directly in the
folder are then ignored. Without subfolders, the folder's images form an
unlabeled set.

Images keep their native size when all share it; otherwise pass
``image_size=(height, width)`` and every image is resized (bilinear).
``color_mode`` is ``"rgb"`` (3 channels, the default) or ``"grayscale"``
(1 channel).

Pixel formats: every image becomes 8-bit (256 levels) in the requested color
mode. Grayscale images in ``"rgb"`` mode repeat their one channel three times;
color images in ``"grayscale"`` mode become their luma (ITU-R 601-2, as
``PIL.Image.convert("L")``). An alpha channel (RGBA, LA, palette transparency)
is dropped, not composited: the color values are kept as stored. 16-bit
PNGs are scaled to 8 bits: 16-bit grayscale by ``round(v / 257)`` (so 65535
becomes 255), 16-bit color by Pillow's decoder, which keeps the high byte.
Files that cannot be decoded (not an image, corrupt or truncated) raise
:class:`~kzoo.data.errors.DataFormatError` naming the file.

Splits: ``"train"`` is every image unless ``validation_split`` is given.
``"validation"`` is a fixed-seed random holdout of ``validation_split`` of the
images (10% when not given, at least one image); with ``validation_split``
set, ``"train"`` is the complement, so ask for both splits with the same
``validation_split`` to get disjoint sets.
"""

from __future__ import annotations

import os
from typing import List, Optional, Sequence, Tuple

import numpy as np

from kzoo.data.errors import DataFormatError

SUPPORTED_EXTENSIONS = (".bmp", ".gif", ".jpeg", ".jpg", ".png")
_FORMAT_NAMES = {".jpg": "JPEG", ".jpeg": "JPEG"}
COLOR_MODES = {"rgb": ("RGB", 3), "grayscale": ("L", 1)}
FOLDER_SPLIT_SEED = 1234
DEFAULT_VALIDATION_SPLIT = 0.1


def _is_image(filename: str) -> bool:
    return filename.lower().endswith(SUPPORTED_EXTENSIONS) and not filename.startswith(".")


def _walk_images(folder: str) -> List[str]:
    found = []
    for root, dirs, files in os.walk(folder, followlinks=True):
        dirs[:] = sorted(d for d in dirs if not d.startswith("."))
        found.extend(os.path.join(root, f) for f in sorted(files) if _is_image(f))
    return found


def index_folder(path) -> Tuple[List[str], Optional[np.ndarray], Optional[Tuple[str, ...]]]:
    """Lists the images of a folder and their class labels.

    Args:
        path: Folder path.

    Returns:
        ``(files, labels, class_names)``; ``labels`` (int32) and ``class_names`` are
        ``None`` when the folder has no class subfolders.

    Raises:
        NotADirectoryError: If ``path`` is not a folder.
        ValueError: If no supported image files are found.
    """
    path = os.fspath(path)
    if not os.path.isdir(path):
        raise NotADirectoryError(f"{path!r} is not a folder.")
    entries = sorted(os.listdir(path))
    subdirs = [e for e in entries if not e.startswith(".") and os.path.isdir(os.path.join(path, e))]
    files: List[str] = []
    labels: Optional[List[int]] = None
    class_names = None
    if subdirs:
        labels = []
        for i, d in enumerate(subdirs):
            found = _walk_images(os.path.join(path, d))
            files.extend(found)
            labels.extend([i] * len(found))
        class_names = tuple(subdirs)
    if not files:
        # No images in class subfolders: fall back to the folder's own images.
        files = [os.path.join(path, e) for e in entries if _is_image(e) and os.path.isfile(os.path.join(path, e))]
        labels, class_names = None, None
    if not files:
        raise ValueError(
            f"No images were found in {path}. Supported extensions: {', '.join(SUPPORTED_EXTENSIONS)} "
            "(directly in the folder, or in one subfolder per class)."
        )
    return files, (None if labels is None else np.asarray(labels, np.int32)), class_names


def split_indices(n: int, split: str, validation_split: Optional[float]) -> np.ndarray:
    """Indices of one split of a folder with ``n`` images (see module docstring).

    Args:
        n: Number of images.
        split: ``"train"`` or ``"validation"``.
        validation_split: Fraction held out for validation, or ``None``.

    Returns:
        Sorted int64 indices.

    Raises:
        ValueError: On an unknown split, a fraction outside (0, 1), or too few images.
    """
    if split not in ("train", "validation"):
        raise ValueError(
            f"Image folders have no split {split!r}. Valid splits: 'train', 'validation'."
        )
    if validation_split is None:
        if split == "train":
            return np.arange(n)
        validation_split = DEFAULT_VALIDATION_SPLIT
    if not 0.0 < float(validation_split) < 1.0:
        raise ValueError(f"validation_split must be in (0, 1), got {validation_split!r}.")
    if n < 2:
        raise ValueError(f"Cannot hold out a validation split from {n} image(s).")
    n_val = min(n - 1, max(1, int(round(float(validation_split) * n))))
    perm = np.random.default_rng(FOLDER_SPLIT_SEED).permutation(n)
    chosen = perm[:n_val] if split == "validation" else perm[n_val:]
    return np.sort(chosen)


def read_images(
    files: Sequence[str], image_size: Optional[Tuple[int, int]] = None, color_mode: str = "rgb", *, source: str = ""
) -> np.ndarray:
    """Reads image files into one uint8 array.

    Args:
        files: Image paths.
        image_size: ``(height, width)`` to resize to, or ``None`` to keep native sizes.
        color_mode: ``"rgb"`` or ``"grayscale"``.
        source: Folder name used in error messages.

    Returns:
        uint8 array ``(N, H, W, C)``.

    Raises:
        ValueError: On an unknown color mode, a bad ``image_size``, or mixed native sizes
            without ``image_size``.
        DataFormatError: A file cannot be decoded as an image (see :func:`_read_one`).
    """
    if color_mode not in COLOR_MODES:
        raise ValueError(f"color_mode must be one of {sorted(COLOR_MODES)}, got {color_mode!r}.")
    pil_mode, _ = COLOR_MODES[color_mode]
    if image_size is not None:
        height, width = _check_image_size(image_size)
    images = []
    for f in files:
        arr = _read_one(f, pil_mode, None if image_size is None else (width, height))
        if arr.ndim == 2:
            arr = arr[..., None]
        images.append(arr)
    first_of_size = {}
    for f, a in zip(files, images):
        first_of_size.setdefault(a.shape[:2], f)
    if len(first_of_size) > 1:
        shapes = sorted(first_of_size)
        shown = ", ".join(f"{h}x{w} (e.g. {os.path.basename(first_of_size[(h, w)])})" for h, w in shapes[:5])
        shown += " ..." if len(shapes) > 5 else ""
        raise ValueError(
            f"Images in {source or 'the folder'} have different sizes (height x width: {shown}); "
            "expected one common size: pass image_size=(height, width) to resize them all."
        )
    return np.stack(images)


def folder_shape(files: Sequence[str], color_mode: str = "rgb") -> Optional[Tuple[int, int, int]]:
    """Common ``(H, W, C)`` of the images, from their headers only.

    Args:
        files: Image paths.
        color_mode: ``"rgb"`` or ``"grayscale"`` (sets ``C``).

    Returns:
        ``(H, W, C)``, or ``None`` if the sizes differ.

    Raises:
        DataFormatError: A file is not a readable image (its header cannot be parsed).
    """
    channels = COLOR_MODES[color_mode][1]
    sizes = set()
    for f in files:
        with _open(f) as im:
            sizes.add(im.size)
        if len(sizes) > 1:
            return None
    (w, h), = sizes
    return (h, w, channels)


def _unreadable(path: str, err: BaseException) -> DataFormatError:
    kinds = ", ".join(dict.fromkeys(_FORMAT_NAMES.get(e, e.lstrip(".").upper()) for e in SUPPORTED_EXTENSIONS))
    detail = str(err) or "no details"
    return DataFormatError(
        f"Could not read image file {path!r} ({type(err).__name__}: {detail}). Expected a complete, "
        f"valid image in one of the supported formats ({kinds}); the file is not an image, or is corrupt "
        "or truncated. Remove or replace it."
    )


def _open(path: str):
    """``PIL.Image.open`` with every failure turned into a DataFormatError naming the file."""
    from PIL import Image

    try:
        return Image.open(path)
    except Exception as err:  # noqa: BLE001 - decoders raise many types on bad bytes
        raise _unreadable(path, err) from err


def _check_image_size(image_size) -> Tuple[int, int]:
    try:
        height, width = (int(v) for v in image_size)
        ok = all(isinstance(v, (int, np.integer)) and not isinstance(v, bool) for v in image_size)
    except (TypeError, ValueError, OverflowError):  # OverflowError: int(inf)
        ok = False
    if not ok or height < 1 or width < 1:
        raise ValueError(f"image_size must be (height, width) with two positive ints, got {image_size!r}.")
    return height, width


def _to_8bit(im):
    """An 8-bit PIL image: 16/32-bit grayscale ("I;16*", "I") scaled to 0..255, other modes unchanged."""
    from PIL import Image

    if not (im.mode.startswith("I;16") or im.mode == "I"):
        return im
    values = np.asarray(im).astype(np.float64)
    top = float(values.max()) if values.size else 0.0
    if im.mode == "I" and values.min() >= 0 and top <= 255:
        scaled = values
    elif values.min() >= 0 and top <= 65535:
        scaled = np.round(values / 257.0)
    else:
        raise ValueError(f"pixel values span [{values.min():.0f}, {top:.0f}], expected 16-bit values in 0..65535")
    return Image.fromarray(scaled.astype(np.uint8), mode="L")


def _read_one(path: str, pil_mode: str, size: Optional[Tuple[int, int]]) -> np.ndarray:
    """Decodes one image file to a uint8 array in ``pil_mode``, resized to ``size`` (w, h) if given.

    Raises:
        DataFormatError: the file is not an image, or is corrupt or truncated.
    """
    from PIL import Image

    im = _open(path)
    try:
        with im:
            im = _to_8bit(im).convert(pil_mode)
            if size is not None and im.size != size:
                im = im.resize(size, Image.BILINEAR)
            return np.asarray(im, dtype=np.uint8)
    except MemoryError:
        raise
    except Exception as err:  # noqa: BLE001 - decoders raise many types on bad bytes
        raise _unreadable(path, err) from err
