"""Sample folders: chunked, resumable writing; reading PNG/npz folders back; scoring them like drawn samples."""

import json

import numpy as np
import pytest
import tensorflow as tf

from kzoo import data
from kzoo.core.base import GenerativeModel
from kzoo.evaluation import sample_folder as sf
from kzoo.evaluation.sample_quality import _batch_seed, from_uint8, reference_features, sample_quality, to_uint8
from random_features import random_extractor


class NoiseImages(GenerativeModel):
    """Uniform noise images times ``brightness``, with a counter of ``generate`` calls."""

    family = "gan"

    def __init__(self, data_shape=(28, 28, 1), **kwargs):
        super().__init__(data_shape=data_shape, **kwargs)
        self.gain = self.add_weight(shape=(), initializer="ones", name="gain")
        self.calls = []
        self.fail_at_call = None

    def call(self, x, training=False):
        return x * self.gain

    def generate(self, n, seed=None, **kwargs):
        self.calls.append(n)
        if self.fail_at_call is not None and len(self.calls) > self.fail_at_call:
            raise KeyboardInterrupt("killed")
        return super().generate(n, seed=seed, **kwargs)

    def sample_batch(self, n, seed, brightness=1.0):
        return brightness * tf.random.stateless_uniform((n,) + self.data_shape, seed)


def listing(folder):
    """Every file below ``folder`` with its bytes (to check that a refused run changed nothing)."""
    return {str(p.relative_to(folder)): p.read_bytes() for p in sorted(folder.rglob("*")) if p.is_file()}


def expected_pixels(model, n, seed, chunk_size, **options):
    """The samples of an uninterrupted run, drawn the way ``sample_quality`` draws its batches."""
    return np.concatenate([to_uint8(model.generate(size, seed=_batch_seed(seed, i), **options))
                           for i, size in enumerate(sf.chunk_sizes(n, chunk_size))])


def read_all(folder):
    return to_uint8(np.concatenate(list(sf.open_sample_folder(folder).batches(64))))


@pytest.mark.parametrize("fmt", ["png", "npz"])
def test_writes_chunks_with_the_evaluation_seeds(tmp_path, fmt):
    model = NoiseImages()
    out = tmp_path / "samples"
    done = sf.write_samples(model, out, 25, seed=3, chunk_size=10, fmt=fmt, options={"brightness": 0.5},
                            entry="noise", command="kzoo sample noise", verbose=False)
    assert done == {"path": str(out), "format": fmt, "n": 25, "written": 25, "resumed_after": 0, "chunks": 3,
                    "seconds": done["seconds"]}
    assert model.calls == [10, 10, 5]  # one generate call per chunk: one chunk in memory at a time
    names = sorted(p.name for p in out.iterdir())
    if fmt == "png":
        assert names == [sf.MANIFEST] + [f"sample-{i:08d}.png" for i in range(25)]
    else:
        assert names == ["chunk-000000.npz", "chunk-000001.npz", "chunk-000002.npz", sf.MANIFEST]
        with np.load(out / "chunk-000002.npz") as chunk:
            assert chunk["images"].dtype == np.uint8 and chunk["images"].shape == (5, 28, 28, 1)
            assert int(chunk["first_sample"]) == 20 and int(chunk["chunk_seed"]) == _batch_seed(3, 2)
    manifest = json.loads((out / sf.MANIFEST).read_text())
    assert manifest["seed"] == 3 and manifest["options"] == {"brightness": 0.5} and manifest["entry"] == "noise"
    assert manifest["chunk_sizes"] == [10, 10, 5] and manifest["chunks_complete"] == 3
    assert manifest["samples_complete"] == 25 and manifest["image_shape"] == [28, 28, 1]
    np.testing.assert_array_equal(read_all(out), expected_pixels(model, 25, 3, 10, brightness=0.5))


def test_png_and_npz_folders_hold_the_same_pixels(tmp_path):
    model = NoiseImages(data_shape=(6, 5, 3))
    for fmt in sf.FORMATS:
        sf.write_samples(model, tmp_path / fmt, 7, chunk_size=3, fmt=fmt, verbose=False)
    png, npz = read_all(tmp_path / "png"), read_all(tmp_path / "npz")
    assert png.shape == (7, 6, 5, 3)
    np.testing.assert_array_equal(png, npz)


def test_a_killed_run_keeps_complete_chunks_and_a_rerun_resumes_with_identical_samples(tmp_path):
    model = NoiseImages()
    out = tmp_path / "samples"
    model.fail_at_call = 2  # the third chunk's generate is interrupted
    with pytest.raises(KeyboardInterrupt):
        sf.write_samples(model, out, 45, seed=1, chunk_size=10, verbose=False)
    manifest = json.loads((out / sf.MANIFEST).read_text())
    assert manifest["chunks_complete"] == 2 and manifest["samples_complete"] == 20
    assert sorted(p.name for p in out.iterdir()) == [sf.MANIFEST] + [f"sample-{i:08d}.png" for i in range(20)]
    with pytest.raises(ValueError, match=r"holds 20 of the 45 samples .*--n-samples 20"):
        sf.folder_sample_quality(out, None, metrics="inception_score", extractor=random_extractor(conv_filters=(8,)), verbose=False)

    model.fail_at_call, model.calls = None, []
    done = sf.write_samples(model, out, 45, seed=1, chunk_size=10, verbose=False)
    assert done["resumed_after"] == 20 and done["written"] == 25
    assert model.calls == [10, 10, 5]  # chunks 2, 3 and 4 only
    fresh = tmp_path / "fresh"
    sf.write_samples(NoiseImages(), fresh, 45, seed=1, chunk_size=10, verbose=False)
    assert listing(out).keys() == listing(fresh).keys()
    np.testing.assert_array_equal(read_all(out), read_all(fresh))
    again = sf.write_samples(model, out, 45, seed=1, chunk_size=10, verbose=False)
    assert again["written"] == 0  # complete: nothing to draw


def test_a_chunk_interrupted_while_moved_into_place_is_drawn_again(tmp_path, monkeypatch):
    model = NoiseImages()
    out = tmp_path / "samples"
    sf.write_samples(model, out, 10, chunk_size=5, verbose=False)
    real_replace, moved = sf.os.replace, []

    def replace(src, dst):
        if len(moved) == 3:
            raise KeyboardInterrupt("killed")
        moved.append(dst)
        real_replace(src, dst)

    monkeypatch.setattr(sf.os, "replace", replace)
    with pytest.raises(KeyboardInterrupt):
        sf.write_samples(model, out, 20, chunk_size=5, verbose=False)
    monkeypatch.undo()
    manifest = json.loads((out / sf.MANIFEST).read_text())
    assert manifest["samples_complete"] == 10  # the 3 moved files of chunk 2 are not counted
    assert sf.open_sample_folder(out).n == 10
    sf.write_samples(model, out, 20, chunk_size=5, verbose=False)
    np.testing.assert_array_equal(read_all(out), expected_pixels(model, 20, 0, 5))
    assert not (out / sf.STAGING).exists()


def test_a_rerun_may_extend_a_folder_whose_chunks_are_full(tmp_path):
    model = NoiseImages()
    out = tmp_path / "samples"
    sf.write_samples(model, out, 20, chunk_size=10, fmt="npz", verbose=False)
    done = sf.write_samples(model, out, 35, chunk_size=10, fmt="npz", verbose=False)
    assert done["resumed_after"] == 20 and done["n"] == 35
    np.testing.assert_array_equal(read_all(out), expected_pixels(model, 35, 0, 10))
    with pytest.raises(ValueError, match=r"holds 35 complete samples .*expected -n >= 35"):
        sf.write_samples(model, out, 50, chunk_size=10, fmt="npz", verbose=False)  # its last chunk holds 5


@pytest.mark.parametrize("change, message", [
    ({"seed": 1}, r"seed \(--seed\) 0 .* asks for 1"),
    ({"options": {"brightness": 0.5}}, r"generate options \(--option\) \{\} .* asks for \{'brightness': 0.5\}"),
    ({"chunk_size": 4}, r"chunk size \(--chunk-size\) 5 .* asks for 4"),
    ({"fmt": "npz"}, r"format \(--format\) 'png' .* asks for 'npz'"),
    ({"model": NoiseImages(data_shape=(8, 8, 1))}, r"image shape \[28, 28, 1\] .* asks for \[8, 8, 1\]"),
])
def test_a_folder_of_other_samples_is_refused_and_left_unchanged(tmp_path, change, message):
    out = tmp_path / "samples"
    sf.write_samples(NoiseImages(), out, 7, chunk_size=5, verbose=False, command="kzoo sample x")
    before = listing(out)
    kwargs = {"seed": 0, "chunk_size": 5, "fmt": "png", "options": None, "verbose": False}
    model = change.pop("model", NoiseImages())
    kwargs.update(change)
    with pytest.raises(ValueError, match=message):
        sf.write_samples(model, out, 7, **kwargs)
    assert listing(out) == before


def test_other_weights_are_refused(tmp_path):
    model = NoiseImages()
    out = tmp_path / "samples"
    model.card = {"name": "noise-a", "sha256": "a" * 64}
    sf.write_samples(model, out, 3, verbose=False)
    model.card = {"name": "noise-b", "sha256": "b" * 64}
    with pytest.raises(ValueError, match=r"holds samples of 'noise-a' with weights \(sha256\) 'aaaa.*entry 'noise-b'"):
        sf.write_samples(model, out, 3, verbose=False)


def test_bad_arguments_write_nothing(tmp_path):
    model = NoiseImages()
    a_file = tmp_path / "file.txt"
    a_file.write_text("x")
    with pytest.raises(ValueError, match="n must be a positive integer, got 0"):
        sf.write_samples(model, tmp_path / "a", 0, verbose=False)
    with pytest.raises(ValueError, match="chunk_size must be a positive integer, got 0"):
        sf.write_samples(model, tmp_path / "a", 5, chunk_size=0, verbose=False)
    with pytest.raises(ValueError, match="format must be one of png, npz, got 'jpg'"):
        sf.write_samples(model, tmp_path / "a", 5, fmt="jpg", verbose=False)
    with pytest.raises(ValueError, match="seed must be a non-negative integer, got -1"):
        sf.write_samples(model, tmp_path / "a", 5, seed=-1, verbose=False)
    with pytest.raises(ValueError, match="file.txt' is a file; expected a folder"):
        sf.write_samples(model, a_file, 5, verbose=False)
    foreign = tmp_path / "foreign"
    foreign.mkdir()
    (foreign / "notes.txt").write_text("mine")
    with pytest.raises(ValueError, match=r"holds 1 files \(notes.txt\) but no kzoo-samples.json"):
        sf.write_samples(model, foreign, 5, verbose=False)
    with pytest.raises(ValueError, match=r"shape \(2,\); a sample folder holds images"):
        sf.write_samples(NoiseImages(data_shape=(2,)), tmp_path / "a", 5, verbose=False)
    model.fail_at_call = 0  # the first chunk fails: a new folder is not left behind
    with pytest.raises(KeyboardInterrupt):
        sf.write_samples(model, tmp_path / "a", 5, verbose=False)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["file.txt", "foreign"]
    assert listing(foreign) == {"notes.txt": b"mine"}


# ------------------------------------------------------------------ reading
def save_pngs(folder, pixels, mode=None):
    from PIL import Image

    folder.mkdir(parents=True, exist_ok=True)
    for i, image in enumerate(pixels):
        image = Image.fromarray(image[..., 0] if image.shape[-1] == 1 else image)
        (image.convert(mode) if mode else image).save(folder / f"img{i:03d}.png")


def test_scoring_a_folder_equals_scoring_the_drawn_samples(tmp_path):
    real = data.load_numpy("mnist5k", split="validation")
    extractor = random_extractor(conv_filters=(8,))
    reference = reference_features(real, extractor)
    model = NoiseImages()
    options = {"brightness": 0.8}
    drawn = sample_quality(model, reference, n_samples=45, batch_size=20, seed=5, extractor=extractor,
                           sample_kwargs=options, kid_subsets=5, verbose=False)
    for fmt in sf.FORMATS:
        sf.write_samples(model, tmp_path / fmt, 45, seed=5, chunk_size=20, fmt=fmt, options=options, verbose=False)
        folder = sf.folder_sample_quality(tmp_path / fmt, reference, extractor=extractor, seed=5, batch_size=20,
                                          kid_subsets=5, verbose=False)
        for key in ("fid", "kid", "kid_std", "inception_score", "precision", "recall"):
            assert folder[key] == pytest.approx(drawn[key], rel=1e-6), key
        assert folder["n_samples"] == 45 and folder["samples_source"] == "folder"
        assert folder["samples_format"] == fmt and folder["samples_manifest"]["options"] == options
        assert folder["sample_seconds_per_image"] is None
        json.dumps(folder)
    first = sf.folder_sample_quality(tmp_path / "png", reference, n_samples=20, extractor=extractor, seed=5,
                                     batch_size=7, metrics="fid", verbose=False)
    assert first["n_samples"] == 20
    with pytest.raises(ValueError, match="n_samples=46 but .* holds 45 samples"):
        sf.folder_sample_quality(tmp_path / "png", reference, n_samples=46, extractor=extractor, verbose=False)


def test_a_folder_of_own_pngs_scores_like_the_same_images_in_memory(tmp_path):
    real = data.load_numpy("mnist5k", split="validation")
    pool = data.load_numpy("mnist5k", split="train")[:30]
    extractor = random_extractor(conv_filters=(8,))
    reference = reference_features(real, extractor)
    save_pngs(tmp_path / "mine", to_uint8(pool))
    (tmp_path / "mine" / "README.txt").write_text("not an image")  # other files are ignored
    result = sf.folder_sample_quality(tmp_path / "mine", real, extractor=extractor, metrics=("fid", "precision"),
                                      batch_size=8, verbose=False)
    assert result["samples_manifest"] is None and result["n_samples"] == 30

    class Pool:
        def generate(self, n, seed=None):
            return pool

    in_memory = sample_quality(Pool(), reference, n_samples=30, batch_size=30, extractor=extractor,
                               metrics=("fid", "precision"), verbose=False)
    assert result["fid"] == pytest.approx(in_memory["fid"], rel=1e-6)
    assert result["precision"] == in_memory["precision"]


def test_reading_errors_name_the_folder_and_what_was_expected(tmp_path):
    real = np.zeros((4, 28, 28, 1), np.float32)
    pixels = to_uint8(np.random.default_rng(0).uniform(size=(3, 28, 28, 1)))

    def open_(name, shape=(28, 28, 1)):
        return sf.open_sample_folder(tmp_path / name, image_shape=shape)

    with pytest.raises(ValueError, match="'.*missing' does not exist"):
        open_("missing")
    (tmp_path / "empty").mkdir()
    with pytest.raises(ValueError, match="holds no samples"):
        open_("empty")
    (tmp_path / "x.txt").write_text("x")
    with pytest.raises(ValueError, match="x.txt' is a file; expected a folder"):
        open_("x.txt")
    save_pngs(tmp_path / "small", to_uint8(np.zeros((2, 14, 14, 1))))
    with pytest.raises(ValueError, match=r"img000.png is 14x14 with 1 channel\(s\), but the samples must be 28x28 "
                                         r"with 1 channel\(s\)"):
        open_("small")
    save_pngs(tmp_path / "rgb", np.repeat(pixels, 3, axis=-1))
    with pytest.raises(ValueError, match=r"28x28 with 3 channel\(s\), but the samples must be 28x28 with 1"):
        open_("rgb")
    save_pngs(tmp_path / "rgba", np.repeat(pixels, 3, axis=-1), mode="RGBA")
    with pytest.raises(ValueError, match=r"has an alpha channel \(PIL mode 'RGBA'\); expected 8-bit grayscale"):
        open_("rgba")
    save_pngs(tmp_path / "mixed", pixels)
    np.savez(tmp_path / "mixed" / "chunk-000000.npz", images=pixels)
    with pytest.raises(ValueError, match=r"mixes formats \(1 .npz, 3 .png files\)"):
        open_("mixed")
    (tmp_path / "npz").mkdir()
    np.savez(tmp_path / "npz" / "chunk-000000.npz", images=pixels)
    with pytest.raises(ValueError, match="holds .npz files but no kzoo-samples.json"):
        open_("npz")
    (tmp_path / "jpg").mkdir()
    from PIL import Image

    Image.fromarray(pixels[0, ..., 0]).save(tmp_path / "jpg" / "a.jpg")
    with pytest.raises(ValueError, match="holds 1 .jpg files; expected PNG files"):
        open_("jpg")
    # A later file of another size fails when it is read, naming it.
    save_pngs(tmp_path / "later", pixels)
    save_pngs(tmp_path / "later2", to_uint8(np.zeros((1, 20, 28, 1))))
    (tmp_path / "later2" / "img000.png").rename(tmp_path / "later" / "img999.png")
    folder = open_("later")
    with pytest.raises(ValueError, match=r"img999.png is 20x28"):
        list(folder.batches(2))
    sf.write_samples(NoiseImages(data_shape=(8, 8, 1)), tmp_path / "kz", 4, verbose=False)
    with pytest.raises(ValueError, match=r"holds samples of shape \(8, 8, 1\) \(kzoo-samples.json\), but the "
                                         r"evaluation needs images of shape \(28, 28, 1\)"):
        open_("kz")
    (tmp_path / "kz" / "sample-00000002.png").unlink()
    with pytest.raises(ValueError, match="1 files its manifest counts are missing"):
        open_("kz", None)
    save_pngs(tmp_path / "eight", to_uint8(np.zeros((3, 8, 8, 1))))
    opened = sf.open_sample_folder(tmp_path / "eight")  # opened without a shape: checked against the real images
    with pytest.raises(ValueError, match=r"shape \(8, 8, 1\) per image but the real images have shape \(28, 28, 1\)"):
        sf.folder_sample_quality(opened, real, extractor=random_extractor(conv_filters=(8,)), metrics="fid", verbose=False)


def test_uint8_round_trip():
    x = np.linspace(0, 1, 256, dtype=np.float32)
    np.testing.assert_array_equal(to_uint8(x), np.arange(256))
    np.testing.assert_array_equal(to_uint8(from_uint8(np.arange(256, dtype=np.uint8))), np.arange(256))
