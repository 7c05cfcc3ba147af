"""Tests for kzoo.data: named sets, file formats, folders, toy densities, transforms."""

import gzip
import os
import pickle
import struct
import time

import numpy as np
import pytest
import tensorflow as tf

from kzoo import data
from kzoo.data import builtin, files
from kzoo.data.errors import DataFormatError, DataNotAvailableError
from kzoo.data.idx import read_idx

SHARED_MNIST = os.path.join(os.path.dirname(__file__), "..", "..", "..", "shared", "data", "mnist")


# ----------------------------------------------------------------------------- helpers


def _idx_bytes(arr: np.ndarray, type_code: int = 0x08) -> bytes:
    header = bytes([0, 0, type_code, arr.ndim]) + struct.pack(">" + "I" * arr.ndim, *arr.shape)
    return header + arr.astype(arr.dtype.newbyteorder(">")).tobytes()


def _write(path, payload: bytes, gz: bool) -> str:
    path = str(path) + (".gz" if gz else "")
    with (gzip.open(path, "wb") if gz else open(path, "wb")) as f:
        f.write(payload)
    return path


def _write_mnist_split(folder_path, prefix: str, n: int, gz: bool, seed: int = 0):
    rng = np.random.default_rng(seed)
    images = rng.integers(0, 256, size=(n, 28, 28), dtype=np.uint8)
    labels = rng.integers(0, 10, size=(n,), dtype=np.uint8)
    _write(os.path.join(folder_path, f"{prefix}-images-idx3-ubyte"), _idx_bytes(images), gz)
    _write(os.path.join(folder_path, f"{prefix}-labels-idx1-ubyte"), _idx_bytes(labels), gz)
    return images, labels


@pytest.fixture
def no_download(monkeypatch):
    """Makes every keras.datasets fetch fail at once, as it does offline."""
    import keras

    def refuse(*args, **kwargs):
        raise OSError("network disabled in tests")

    for name in ("mnist", "fashion_mnist", "cifar10"):
        monkeypatch.setattr(getattr(keras.datasets, name), "load_data", refuse)
    monkeypatch.delenv("KZOO_DATA_DIR", raising=False)
    files.clear_cache()
    yield
    files.clear_cache()


def _png_folder(root, sizes, classes=None, mode="RGB"):
    from PIL import Image

    rng = np.random.default_rng(0)
    os.makedirs(root, exist_ok=True)
    written = []
    for i, (h, w) in enumerate(sizes):
        sub = root if classes is None else os.path.join(root, classes[i % len(classes)])
        os.makedirs(sub, exist_ok=True)
        channels = 3 if mode == "RGB" else 1
        arr = rng.integers(0, 256, size=(h, w, channels), dtype=np.uint8)
        img = Image.fromarray(arr if channels == 3 else arr[..., 0], mode=mode)
        path = os.path.join(sub, f"img_{i:03d}.png")
        img.save(path)
        written.append((path, arr))
    return written


# ----------------------------------------------------------------------------- mnist5k


def test_mnist5k_splits_shapes_and_values():
    x, y = data.load_numpy("mnist5k", labels=True)
    xv, yv = data.load_numpy("mnist5k", "validation", labels=True)
    assert x.shape == (4500, 28, 28, 1) and xv.shape == (500, 28, 28, 1)
    assert x.dtype == np.float32 and xv.dtype == np.float32
    assert y.dtype == np.int32 and yv.dtype == np.int32
    assert 0.0 <= x.min() and x.max() <= 1.0 and x.max() == 1.0
    assert set(np.unique(y)) == set(range(10))
    np.testing.assert_array_equal(np.bincount(yv, minlength=10), np.full(10, 50))
    np.testing.assert_array_equal(np.bincount(y, minlength=10), np.full(10, 450))
    # Pixels are exact multiples of 1/255.
    np.testing.assert_allclose(xv * 255, np.round(xv * 255), atol=1e-4)
    info = data.info("mnist5k")
    assert info.splits == {"train": 4500, "validation": 500}
    assert info.shape == (28, 28, 1) and info.num_classes == 10 and info.bit_depth == 8


def test_mnist5k_split_is_fixed_and_disjoint():
    idx = builtin.mnist5k_split_indices()
    assert len(np.intersect1d(idx["train"], idx["validation"])) == 0
    assert len(np.union1d(idx["train"], idx["validation"])) == 5000
    # Not affected by the seed argument, and the split order mixes classes.
    _, y1 = data.load_numpy("mnist5k", "validation", labels=True, seed=0)
    _, y2 = data.load_numpy("mnist5k", "validation", labels=True, seed=99)
    np.testing.assert_array_equal(y1, y2)
    assert len(np.unique(y1[:50])) >= 8


def test_mnist5k_csv_parse_is_fast():
    builtin.mnist5k_arrays.cache_clear()
    builtin.mnist5k_split_indices.cache_clear()
    start = time.perf_counter()
    x, y = builtin.mnist5k_arrays()
    assert time.perf_counter() - start < 2.0
    assert x.shape == (5000, 28, 28, 1) and x.dtype == np.uint8
    np.testing.assert_array_equal(np.bincount(y), np.full(10, 500))


def test_mnist5k_has_no_test_split():
    with pytest.raises(ValueError, match=r"no split 'test'.*mnist.*test.*data_dir"):
        data.load("mnist5k", split="test")


def test_load_dataset_matches_numpy_and_labels():
    ds = data.load("mnist5k", "validation", labels=True, num_samples=20)
    assert ds.element_spec[0].shape == (28, 28, 1) and ds.element_spec[0].dtype == tf.float32
    assert ds.element_spec[1].shape == () and ds.element_spec[1].dtype == tf.int32
    xs, ys = zip(*[(a.numpy(), b.numpy()) for a, b in ds])
    xn, yn = data.load_numpy("mnist5k", "validation", labels=True, num_samples=20)
    np.testing.assert_array_equal(np.stack(xs), xn)
    np.testing.assert_array_equal(np.array(ys), yn)
    assert all(0 <= v <= 9 for v in ys)


def test_num_samples_too_large_or_invalid():
    with pytest.raises(ValueError, match="holds only 500"):
        data.load_numpy("mnist5k", "validation", num_samples=501)
    with pytest.raises(ValueError, match="num_samples"):
        data.load_numpy("mnist5k", num_samples=0)


# ----------------------------------------------------------------------------- transforms


def test_static_binarization_is_deterministic():
    a = data.load_numpy("mnist5k", "validation", binarize="static", seed=3)
    b = data.load_numpy("mnist5k", "validation", binarize="static", seed=3)
    c = data.load_numpy("mnist5k", "validation", binarize="static", seed=4)
    np.testing.assert_array_equal(a, b)
    assert not np.array_equal(a, c)
    assert set(np.unique(a)) == {0.0, 1.0}
    # The dataset version returns the same fixed draw on every pass.
    ds = data.load("mnist5k", "validation", binarize="static", seed=3, num_samples=8)
    first, second = [np.stack([e.numpy() for e in ds]) for _ in range(2)]
    np.testing.assert_array_equal(first, second)
    np.testing.assert_array_equal(first, a[:8])
    # Tensor input: stateless and deterministic.
    t = tf.constant(a[:4] * 0 + 0.5)
    np.testing.assert_array_equal(data.binarize_static(t, 5).numpy(), data.binarize_static(t, 5).numpy())


def test_threshold_binarization():
    x = data.load_numpy("mnist5k", "validation", num_samples=10)
    xb = data.load_numpy("mnist5k", "validation", binarize="threshold", num_samples=10)
    np.testing.assert_array_equal(xb, (x > 0.5).astype(np.float32))


def test_dynamic_binarization_differs_per_epoch_and_is_reproducible():
    def epochs(seed, n_epochs=2):
        ds = data.load("mnist5k", "validation", binarize="dynamic", seed=seed, num_samples=16)
        return [np.stack([e.numpy() for e in ds]) for _ in range(n_epochs)]

    run1, run2 = epochs(7), epochs(7)
    assert not np.array_equal(run1[0], run1[1])
    np.testing.assert_array_equal(run1[0], run2[0])
    np.testing.assert_array_equal(run1[1], run2[1])
    assert set(np.unique(run1[0])) <= {0.0, 1.0}
    assert not np.array_equal(epochs(8, 1)[0], run1[0])
    # Mean matches the grey levels (Bernoulli(p) has mean p).
    p = data.load_numpy("mnist5k", "validation", num_samples=16)
    assert abs(run1[0].mean() - p.mean()) < 0.02


def test_dynamic_binarize_keeps_labels():
    ds = tf.data.Dataset.from_tensor_slices((np.full((6, 2, 2, 1), 0.5, np.float32), np.arange(6, dtype=np.int32)))
    out = list(data.dynamic_binarize(ds, seed=1))
    assert [int(y) for _, y in out] == list(range(6))
    assert all(set(np.unique(x.numpy())) <= {0.0, 1.0} for x, _ in out)


def test_dequantize_range_and_round_trip():
    x8 = np.arange(256, dtype=np.uint8).reshape(1, 16, 16, 1).repeat(50, axis=0)
    x = x8.astype(np.float32) / 255.0
    for y in (data.dequantize(x, 0), data.dequantize(tf.constant(x), 0).numpy()):
        assert y.dtype == np.float32
        assert y.min() >= 0.0 and y.max() < 1.0
        np.testing.assert_array_equal(np.floor(256 * y).astype(np.uint8), x8)
    np.testing.assert_array_equal(data.dequantize(x, 1), data.dequantize(x, 1))
    assert not np.array_equal(data.dequantize(x, 1), data.dequantize(x, 2))
    # Worst case: noise just below one must stay inside the top bin.
    top = np.ones((10,), np.float32)
    rng = np.random.default_rng(0)
    assert data.dequantize(top, rng).max() < 1.0


def test_dequantize_in_load():
    x8 = np.round(data.load_numpy("mnist5k", "validation", num_samples=8) * 255).astype(np.int64)
    ds = data.load("mnist5k", "validation", dequantize=True, seed=2, num_samples=8)
    first, second = [np.stack([e.numpy() for e in ds]) for _ in range(2)]
    assert not np.array_equal(first, second)
    for y in (first, second, data.load_numpy("mnist5k", "validation", dequantize=True, num_samples=8)):
        assert 0.0 <= y.min() and y.max() < 1.0
        np.testing.assert_array_equal(np.floor(256 * y).astype(np.int64), x8)
    with pytest.raises(ValueError, match="exclude each other"):
        data.load("mnist5k", binarize="static", dequantize=True)


def test_symmetric_scaling_round_trip():
    x = data.load_numpy("mnist5k", "validation", num_samples=10)
    xs = data.load_numpy("mnist5k", "validation", num_samples=10, scale="symmetric")
    assert xs.min() >= -1.0 and xs.max() <= 1.0 and xs.min() == -1.0
    np.testing.assert_allclose(xs, data.to_symmetric(x), atol=1e-6)
    np.testing.assert_allclose(data.from_symmetric(xs), x, atol=1e-6)
    t = tf.constant(x)
    np.testing.assert_allclose(data.from_symmetric(data.to_symmetric(t)).numpy(), x, atol=1e-6)
    ds = data.load("mnist5k", "validation", num_samples=10, scale="symmetric", labels=True)
    np.testing.assert_allclose(np.stack([a.numpy() for a, _ in ds]), xs, atol=1e-6)


def test_option_validation():
    with pytest.raises(ValueError, match="binarize"):
        data.load("mnist5k", binarize="sometimes")
    with pytest.raises(ValueError, match="scale"):
        data.load("mnist5k", scale="zero_one")
    with pytest.raises(ValueError, match="load\\(\\)"):
        data.load_numpy("mnist5k", binarize="dynamic")
    with pytest.raises(ValueError, match="image folders only"):
        data.load("mnist5k", image_size=(8, 8))


# ----------------------------------------------------------------------------- digits


def test_digits():
    total = 0
    seen = []
    for split, size in data.info("digits").splits.items():
        x, y = data.load_numpy("digits", split, labels=True)
        assert x.shape == (size, 8, 8, 1) and x.dtype == np.float32
        assert 0.0 <= x.min() and x.max() == 1.0
        assert set(np.unique(y)) == set(range(10))
        total += size
        seen.append(builtin.digits_split_indices()[split])
    assert total == 1797
    assert len(np.unique(np.concatenate(seen))) == 1797
    y = data.load_numpy("digits", "test", dequantize=True)
    assert y.max() < 1.0


# ----------------------------------------------------------------------------- toy densities


@pytest.mark.parametrize("name", data.TOY_2D)
def test_toy_shapes_determinism_and_disjoint_splits(name):
    train = data.load_numpy(name, num_samples=2000)
    assert train.shape == (2000, 2) and train.dtype == np.float32
    assert np.all(np.isfinite(train)) and np.abs(train).max() < 6.0
    np.testing.assert_array_equal(train, data.load_numpy(name, num_samples=2000))
    assert not np.array_equal(train, data.load_numpy(name, num_samples=2000, seed=1))
    test = data.load_numpy(name, "test", num_samples=2000)
    rows = {r.tobytes() for r in train}
    assert not any(r.tobytes() in rows for r in test)
    ds = data.load(name, "validation", num_samples=5)
    assert ds.element_spec.shape == (2,) and ds.element_spec.dtype == tf.float32
    assert len(list(ds)) == 5


def test_toy_default_sizes_and_info():
    assert data.load_numpy("two_moons", "validation").shape == (10000, 2)
    assert data.load_numpy("rings").shape == (50000, 2)
    for name, k in (("8gaussians", 8), ("25gaussians", 25)):
        info = data.info(name)
        assert info.kind == "toy2d" and info.bit_depth is None and info.num_classes is None
        assert info.modes.shape == (k, 2) and info.mode_std > 0
        x = data.load_numpy(name, num_samples=5000)
        d = np.linalg.norm(x[:, None, :] - info.modes[None], axis=-1)
        assert np.mean(d.min(axis=1) < 4 * info.mode_std) > 0.99
        assert len(np.unique(d.argmin(axis=1))) == k
    assert data.info("checkerboard").modes is None


def test_checkerboard_support():
    x = data.load_numpy("checkerboard", num_samples=5000)
    assert np.abs(x).max() <= 4.0
    cells = np.floor(x / 2).astype(int)  # 4x4 grid of cells on [-4, 4]^2
    assert np.all((cells[:, 0] + cells[:, 1]) % 2 == 0)


def test_toy_rejects_labels_and_image_options():
    with pytest.raises(ValueError, match="no labels"):
        data.load("two_moons", labels=True)
    with pytest.raises(ValueError, match="image data only"):
        data.load("8gaussians", binarize="static")
    with pytest.raises(ValueError, match="image data only"):
        data.load_numpy("rings", scale="symmetric")


# ----------------------------------------------------------------------------- names and splits


def test_names_info_and_unknown_name():
    assert {"mnist5k", "digits", "mnist", "fashion_mnist", "cifar10", *data.TOY_2D} <= set(data.names())
    assert set(data.TOY_2D) == {"two_moons", "8gaussians", "25gaussians", "checkerboard", "swiss_roll", "rings"}
    with pytest.raises(ValueError, match=r"Unknown dataset 'mnst'\. Did you mean 'mnist'.*Known datasets: "):
        data.load("mnst")
    with pytest.raises(ValueError, match="Unknown dataset"):
        data.info("no_such_dataset_here")
    info = data.info("mnist")
    assert info.splits == {"train": 55000, "validation": 5000, "test": 10000}
    with pytest.raises(Exception):
        info.name = "other"  # frozen


def test_unknown_split_names_valid_ones():
    with pytest.raises(ValueError, match=r"no split 'tset'.*'train', 'validation', 'test'"):
        data.load("digits", split="tset")


# ----------------------------------------------------------------------------- IDX files


@pytest.mark.parametrize("gz", [False, True])
def test_read_idx_tiny_files(tmp_path, gz):
    arr = np.arange(2 * 3 * 4, dtype=np.uint8).reshape(2, 3, 4)
    path = _write(tmp_path / "tiny-idx3-ubyte", _idx_bytes(arr), gz)
    np.testing.assert_array_equal(read_idx(path), arr)
    ints = np.array([[1, -2], [300000, 7]], dtype=np.int32)
    path = _write(tmp_path / "ints-idx2", _idx_bytes(ints, 0x0C), gz)
    out = read_idx(path)
    np.testing.assert_array_equal(out, ints)
    assert out.dtype == np.int32 and out.dtype.isnative


@pytest.mark.parametrize("gz", [False, True])
def test_mnist_from_idx_folder(tmp_path, gz, no_download):
    images, labels = _write_mnist_split(tmp_path, "t10k", 7, gz)
    x, y = data.load_numpy("mnist", "test", labels=True, data_dir=tmp_path)
    assert x.shape == (7, 28, 28, 1) and y.dtype == np.int32
    np.testing.assert_array_equal(np.round(x[..., 0] * 255).astype(np.uint8), images)
    np.testing.assert_array_equal(y, labels)
    train_images, _ = _write_mnist_split(tmp_path, "train", 24, gz, seed=1)
    xt = data.load_numpy("mnist", "train", data_dir=tmp_path)
    xv = data.load_numpy("mnist", "validation", data_dir=tmp_path)
    assert len(xt) == 22 and len(xv) == 2  # validation = last twelfth (5,000 of 60,000)
    np.testing.assert_array_equal(np.round(xv[..., 0] * 255).astype(np.uint8), train_images[-2:])


def test_mnist_from_env_subfolder(tmp_path, monkeypatch, no_download):
    os.makedirs(tmp_path / "fashion_mnist")
    images, _ = _write_mnist_split(tmp_path / "fashion_mnist", "t10k", 3, True)
    monkeypatch.setenv("KZOO_DATA_DIR", str(tmp_path))
    ds = data.load("fashion_mnist", "test")
    assert len(list(ds)) == 3
    # Labels only needed when asked for; test split works without any train files.
    assert data.load_numpy("fashion_mnist", "test").shape == (3, 28, 28, 1)


def test_corrupt_idx_errors(tmp_path, no_download):
    good = _idx_bytes(np.zeros((4, 28, 28), np.uint8))
    _write(tmp_path / "t10k-images-idx3-ubyte", good[:-100], False)
    with pytest.raises(DataFormatError, match="truncated"):
        data.load_numpy("mnist", "test", data_dir=tmp_path)
    bad = tmp_path / "bad"
    bad.mkdir()
    _write(bad / "t10k-images-idx3-ubyte", b"PK\x03\x04" + good[4:], False)
    with pytest.raises(DataFormatError, match="not an IDX file"):
        data.load_numpy("mnist", "test", data_dir=bad)
    cut = tmp_path / "cutgz"
    cut.mkdir()
    gz_bytes = gzip.compress(good)
    (cut / "t10k-images-idx3-ubyte.gz").write_bytes(gz_bytes[: len(gz_bytes) // 2])
    with pytest.raises(DataFormatError, match="gzip"):
        data.load_numpy("mnist", "test", data_dir=cut)
    assert issubclass(DataFormatError, ValueError)


def test_missing_files_raise_data_not_available(tmp_path, no_download):
    with pytest.raises(DataNotAvailableError) as err:
        data.load("mnist", "train", data_dir=tmp_path)
    msg = str(err.value)
    assert "KZOO_DATA_DIR" in msg and "data_dir" in msg
    assert "train-images-idx3-ubyte" in msg and str(tmp_path) in msg
    assert "network disabled" in msg
    assert isinstance(err.value, FileNotFoundError)
    with pytest.raises(DataNotAvailableError, match="KZOO_DATA_DIR"):
        data.load_numpy("cifar10", "test")
    with pytest.raises(DataNotAvailableError, match="not attempted"):
        data.load_numpy("mnist", "test", data_dir=tmp_path, download=False)


def test_labels_file_missing_when_labels_requested(tmp_path, no_download):
    _write(tmp_path / "t10k-images-idx3-ubyte", _idx_bytes(np.zeros((2, 28, 28), np.uint8)), False)
    assert data.load_numpy("mnist", "test", data_dir=tmp_path).shape == (2, 28, 28, 1)
    with pytest.raises(DataNotAvailableError, match="t10k-labels-idx1-ubyte"):
        data.load_numpy("mnist", "test", data_dir=tmp_path, labels=True)


@pytest.mark.skipif(not os.path.isdir(SHARED_MNIST), reason="shared MNIST test files not present")
def test_shared_mnist_test_split():
    x, y = data.load_numpy("mnist", "test", labels=True, data_dir=SHARED_MNIST)
    assert x.shape == (10000, 28, 28, 1) and y.shape == (10000,)
    np.testing.assert_array_equal(np.bincount(y, minlength=10) > 800, np.ones(10, bool))


# ----------------------------------------------------------------------------- cifar10


def _cifar_batch(path, n, seed, payload=None):
    rng = np.random.default_rng(seed)
    batch = payload or {
        b"data": rng.integers(0, 256, size=(n, 3072), dtype=np.uint8),
        b"labels": [int(v) for v in rng.integers(0, 10, size=n)],
    }
    with open(path, "wb") as f:
        pickle.dump(batch, f, protocol=2)
    return batch


def test_cifar10_from_pickle_batches(tmp_path, no_download):
    root = tmp_path / "cifar-10-batches-py"
    root.mkdir()
    batches = [_cifar_batch(root / f"data_batch_{i}", 4, i) for i in range(1, 6)]
    test = _cifar_batch(root / "test_batch", 3, 9)
    x, y = data.load_numpy("cifar10", "test", labels=True, data_dir=tmp_path)
    assert x.shape == (3, 32, 32, 3)
    np.testing.assert_array_equal(y, test[b"labels"])
    # Channel-first rows become HWC images.
    first = test[b"data"][0].reshape(3, 32, 32).transpose(1, 2, 0)
    np.testing.assert_array_equal(np.round(x[0] * 255).astype(np.uint8), first)
    assert data.load_numpy("cifar10", "train", data_dir=tmp_path).shape == (18, 32, 32, 3)
    assert data.load_numpy("cifar10", "validation", data_dir=tmp_path).shape == (2, 32, 32, 3)
    assert len(batches) == 5


def test_cifar10_refuses_foreign_pickles(tmp_path, no_download):
    class Evil:
        def __reduce__(self):
            return (os.getcwd, ())

    with open(tmp_path / "test_batch", "wb") as f:
        pickle.dump({b"data": Evil(), b"labels": [0]}, f)
    with pytest.raises(DataFormatError, match="refusing"):
        data.load_numpy("cifar10", "test", data_dir=tmp_path)


# ----------------------------------------------------------------------------- image folders


def test_image_folder_with_classes(tmp_path):
    root = tmp_path / "imgs"
    written = _png_folder(str(root), [(6, 5)] * 6, classes=["cat", "dog"])
    x, y = data.load_numpy(root, labels=True)
    assert x.shape == (6, 6, 5, 3) and x.dtype == np.float32
    assert sorted(y.tolist()) == [0, 0, 0, 1, 1, 1]
    by_name = dict(written)
    cat_files = sorted(p for p in by_name if os.sep + "cat" + os.sep in p)
    np.testing.assert_array_equal(np.round(x[0] * 255).astype(np.uint8), by_name[cat_files[0]])
    info = data.info(str(root))
    assert info.num_classes == 2 and info.class_names == ("cat", "dog") and info.shape == (6, 5, 3)
    ds = data.load(str(root), labels=True, color_mode="grayscale")
    assert ds.element_spec[0].shape == (6, 5, 1)
    val = data.load_numpy(root, "validation", validation_split=0.5)
    train = data.load_numpy(root, "train", validation_split=0.5)
    assert len(val) == 3 and len(train) == 3
    assert not any(np.array_equal(a, b) for a in val for b in train)
    assert len(data.load_numpy(root, "validation")) == 1  # default 10% holdout, at least one


def test_image_folder_unlabeled_and_sizes(tmp_path):
    root = tmp_path / "flat"
    _png_folder(str(root), [(4, 4), (8, 6)], mode="L")
    with pytest.raises(ValueError, match="image_size"):
        data.load_numpy(root)
    x = data.load_numpy(root, image_size=(5, 7), color_mode="grayscale")
    assert x.shape == (2, 5, 7, 1)
    with pytest.raises(ValueError, match="no class subfolders"):
        data.load_numpy(root, labels=True, image_size=(5, 7))
    with pytest.raises(ValueError, match="no split 'test'"):
        data.load_numpy(root, "test", image_size=(5, 7))


def test_empty_image_folder(tmp_path):
    (tmp_path / "empty").mkdir()
    (tmp_path / "empty" / "notes.txt").write_text("no images here")
    with pytest.raises(ValueError, match=r"No images were found in .*empty.*\.png"):
        data.load(tmp_path / "empty")


# ----------------------------------------------------------------------------- bad values


def test_nan_in_pixel_data_is_reported(monkeypatch):
    bad = np.full((1797, 8, 8, 1), 0.5, np.float32)
    bad[0, 0, 0, 0] = np.nan
    bad[1, 0, 0, 0] = np.inf
    labels = np.zeros(1797, np.int32)
    monkeypatch.setattr(builtin, "digits_arrays", lambda: (bad, labels))
    monkeypatch.setattr(builtin, "digits_split_indices", lambda: {"test": np.arange(10)})
    with pytest.raises(ValueError, match=r"'digits'.*2 NaN/Inf"):
        data.load_numpy("digits", "test")


@pytest.mark.parametrize("image_size", [(float("inf"), 1), (float("nan"), 2), (0, 4), (2.5, 2)])
def test_bad_image_size_is_a_value_error(image_size):
    from kzoo.data.folder import _check_image_size

    with pytest.raises(ValueError, match=r"image_size must be \(height, width\)"):
        _check_image_size(image_size)
