"""Fuzzed image folders: bad files end in a clear error naming the file; every pixel format loads.

What each pixel format gives (see :mod:`kzoo.data.folder`): grayscale is
repeated to three channels in ``"rgb"`` mode; RGBA / LA / palette images lose
their alpha channel (the stored colors are kept, not composited); 16-bit
grayscale PNGs become ``round(v / 257)`` (0..255); 16-bit color PNGs keep the
high byte of each sample; everything is then scaled to [0, 1] by 1/255.
"""

import io
import os
import struct
import tempfile
import zlib

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp
from PIL import Image

import fuzzkit
from kzoo import data
from kzoo.data.errors import DataFormatError
from kzoo.data.folder import SUPPORTED_EXTENSIONS

FAST = settings(deadline=None, max_examples=40, database=None, suppress_health_check=[HealthCheck.too_slow])


def encode(array, fmt="PNG", mode=None):
    buffer = io.BytesIO()
    (Image.fromarray(array, mode) if mode else Image.fromarray(array)).save(buffer, fmt)
    return buffer.getvalue()


def png16_rgb(array):
    """A 16-bit-per-channel RGB PNG (Pillow cannot write one), written chunk by chunk."""
    height, width, _ = array.shape
    raw = b"".join(b"\x00" + array[row].astype(">u2").tobytes() for row in range(height))

    def chunk(kind, body):
        return struct.pack(">I", len(body)) + kind + body + struct.pack(">I", zlib.crc32(kind + body) & 0xFFFFFFFF)

    header = struct.pack(">IIBBBBB", width, height, 16, 2, 0, 0, 0)
    return b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", header) + chunk(b"IDAT", zlib.compress(raw)) + chunk(b"IEND", b"")


GOOD_PNG = encode(np.full((4, 4, 3), 100, np.uint8))
GOOD_JPEG = encode(np.random.default_rng(0).integers(0, 255, (16, 16, 3), dtype=np.uint8), "JPEG")


def write_folder(folder, files):
    for name, content in files.items():
        with open(os.path.join(folder, name), "wb") as handle:
            handle.write(content)


LOADERS = {
    "info": lambda path: data.info(path),
    "load_numpy": lambda path: data.load_numpy(path),
    "load": lambda path: [np.asarray(x) for x in data.load(path).as_numpy_iterator()],
}

magic = st.sampled_from([b"", b"\x89PNG\r\n\x1a\n", b"\xff\xd8\xff\xe0", b"GIF89a", b"BM", b"P6\n4 4\n255\n"])


@st.composite
def bad_image_bytes(draw):
    """Random bytes after an image signature, or a real PNG/JPEG cut short or with bytes flipped."""
    kind = draw(st.sampled_from(["garbage", "truncated", "flipped"]))
    if kind == "garbage":
        return kind, draw(magic) + draw(st.binary(max_size=120))
    source = draw(st.sampled_from([GOOD_PNG, GOOD_JPEG]))
    if kind == "truncated":
        return kind, source[: draw(st.integers(0, len(source) - 1))]
    content = bytearray(source)
    for _ in range(draw(st.integers(1, 4))):
        position = draw(st.integers(0, len(content) - 1))
        content[position] ^= draw(st.integers(1, 255))
    return kind, bytes(content)


def check_loaded(result):
    """A successful load gives finite images in [0, 1]; a successful info() a 3-channel shape or None."""
    if isinstance(result, data.DatasetInfo):
        assert result.shape is None or (len(result.shape) == 3 and result.shape[-1] == 3)
        return
    for a in (result if isinstance(result, list) else [result]):
        assert a.dtype == np.float32 and np.isfinite(a).all() and a.min() >= 0 and a.max() <= 1


@settings(FAST, max_examples=80)
@given(case=bad_image_bytes(), extension=st.sampled_from(SUPPORTED_EXTENSIONS),
       loader=st.sampled_from(sorted(LOADERS)))
def test_corrupt_or_truncated_files_name_the_file(case, extension, loader):
    kind, content = case
    fuzzkit.event(f"input: {kind}")
    with tempfile.TemporaryDirectory() as folder:
        write_folder(folder, {"good.png": GOOD_PNG, f"bad{extension}": content})
        bad = os.path.join(folder, f"bad{extension}")
        # A flipped byte in pixel data, or a cut in the trailer, can still decode: allowed,
        # but the result must be valid images. Everything else names the bad file.
        fuzzkit.outcome(lambda: LOADERS[loader](folder), errors=(DataFormatError, ValueError),
                        contains=((bad, "different sizes"), ("Expected", "expected")),
                        allow_success=True, watch=folder, check_result=check_loaded)


@pytest.mark.parametrize("loader", sorted(LOADERS))
@pytest.mark.parametrize("content", [b"", b"hello, I am a text file\n", b"%PDF-1.4\n", GOOD_PNG[:8],
                                     GOOD_PNG[:40], GOOD_JPEG[:300]],
                         ids=["empty", "text", "pdf", "png-signature", "png-cut-in-data", "jpeg-cut"])
def test_non_images_with_image_extensions(tmp_path, loader, content):
    write_folder(tmp_path, {"a.png": GOOD_PNG, "b.jpg": content})
    if loader == "info" and content == GOOD_JPEG[:300]:
        pytest.skip("info() reads headers only; this cut keeps the JPEG header whole")
    err = fuzzkit.outcome(lambda: LOADERS[loader](tmp_path), errors=DataFormatError,
                          contains=(str(tmp_path / "b.jpg"), "Expected a complete, valid image", "PNG"),
                          watch=tmp_path)
    assert isinstance(err, ValueError), "DataFormatError stays a ValueError for callers that catch that"


MODES = ["L", "RGB", "RGBA", "LA", "P", "1", "I;16", "RGB16"]


@st.composite
def pixel_images(draw):
    """A small image in one pixel format, as PNG bytes, with the uint8 pixels it must load as."""
    mode = draw(st.sampled_from(MODES))
    color_mode = draw(st.sampled_from(["rgb", "grayscale"]))
    shape = (draw(st.integers(1, 6)), draw(st.integers(1, 6)))
    channels = {"RGB": 3, "RGBA": 4, "LA": 2, "RGB16": 3}.get(mode)
    dtype = {"I;16": np.uint16, "RGB16": np.uint16, "1": np.bool_}.get(mode, np.uint8)
    array = draw(hnp.arrays(dtype, shape + ((channels,) if channels else ())))
    target = "L" if color_mode == "grayscale" else "RGB"
    if mode == "I;16":  # documented: round(v / 257), then repeated to RGB
        gray = np.round(array / 257.0).astype(np.uint8)
        return png_bytes(array), color_mode, (gray[..., None] if target == "L" else np.repeat(gray[..., None], 3, -1))
    if mode == "RGB16":  # documented: the high byte of each sample
        rgb = (array >> 8).astype(np.uint8)
        want = np.asarray(Image.fromarray(rgb).convert("L"))[..., None] if target == "L" else rgb
        return png16_rgb(array), color_mode, want
    if mode == "P":
        image = Image.fromarray(array).convert("RGB").quantize(colors=draw(st.integers(2, 16)))
    elif mode in ("LA", "RGBA"):
        image = Image.fromarray(array, mode)
    else:
        image = Image.fromarray(array)
    buffer = io.BytesIO()
    image.save(buffer, "PNG")
    if mode in ("RGBA", "LA"):  # documented: the alpha channel is dropped, colors kept as stored
        color = array[..., :3] if mode == "RGBA" else np.repeat(array[..., :1], 3, -1)
        want = np.asarray(Image.fromarray(np.ascontiguousarray(color)).convert(target))
    else:
        want = np.asarray(image.convert(target))
    return buffer.getvalue(), color_mode, (want[..., None] if want.ndim == 2 else want)


def png_bytes(array):
    buffer = io.BytesIO()
    Image.fromarray(array).save(buffer, "PNG")
    return buffer.getvalue()


@FAST
@given(image=pixel_images())
def test_every_pixel_format_loads_as_documented(image):
    content, color_mode, want = image
    with tempfile.TemporaryDirectory() as folder:
        write_folder(folder, {"only.png": content})
        x = fuzzkit.outcome(lambda: data.load_numpy(folder, color_mode=color_mode), errors=(), allow_success=True,
                            watch=folder)
    assert x.shape == (1,) + want.shape and x.dtype == np.float32
    np.testing.assert_allclose(x[0] * 255.0, want, atol=1e-3)


def test_sixteen_bit_extremes_and_alpha_drop(tmp_path):
    write_folder(tmp_path, {"a.png": encode(np.array([[0, 257, 32768, 65535]], np.uint16))})
    x = data.load_numpy(tmp_path, color_mode="grayscale")
    np.testing.assert_allclose(x[0, 0, :, 0] * 255, [0, 1, 128, 255], atol=1e-4)
    rgba = np.zeros((1, 1, 4), np.uint8)
    rgba[..., :3], rgba[..., 3] = (10, 20, 30), 0  # fully transparent: colors are kept as stored
    (tmp_path / "a.png").write_bytes(encode(rgba, mode="RGBA"))
    np.testing.assert_allclose(data.load_numpy(tmp_path)[0, 0, 0] * 255, [10, 20, 30], atol=1e-4)


@FAST
@given(sizes=st.lists(st.tuples(st.integers(1, 5), st.integers(1, 5)), min_size=2, max_size=4)
       .filter(lambda s: len(set(s)) > 1), resize=st.booleans())
def test_mixed_sizes_need_image_size(sizes, resize):
    with tempfile.TemporaryDirectory() as folder:
        write_folder(folder, {f"{i}.png": encode(np.zeros(s + (3,), np.uint8)) for i, s in enumerate(sizes)})
        if resize:
            x = fuzzkit.outcome(lambda: data.load_numpy(folder, image_size=(3, 2)), errors=(), allow_success=True,
                                watch=folder)
            assert x.shape == (len(sizes), 3, 2, 3)
            return
        shown = [f"{h}x{w}" for h, w in sorted(set(sizes))]
        fuzzkit.outcome(lambda: data.load_numpy(folder), errors=ValueError,
                        contains=("different sizes", "image_size=(height, width)", *shown[:5]), watch=folder)
        assert data.info(folder).shape is None


@FAST
@given(image_size=st.one_of(st.integers(), st.tuples(st.integers(-3, 0), st.integers(-3, 5)),
                            st.tuples(st.integers(1, 4), st.integers(1, 4), st.integers(1, 4)),
                            st.tuples(st.floats(allow_nan=True), st.integers(1, 4)), st.text(max_size=4),
                            st.tuples(st.booleans(), st.integers(1, 3))))
def test_bad_image_size_is_refused(image_size):
    with tempfile.TemporaryDirectory() as folder:
        write_folder(folder, {"a.png": GOOD_PNG})
        fuzzkit.outcome(lambda: data.load_numpy(folder, image_size=image_size), errors=ValueError,
                        contains=("image_size must be (height, width)", repr(image_size)[:20]), watch=folder)


def test_single_image(tmp_path):
    write_folder(tmp_path, {"one.png": GOOD_PNG})
    assert data.load_numpy(tmp_path).shape == (1, 4, 4, 3)
    assert len(list(data.load(tmp_path))) == 1
    assert data.info(tmp_path).shape == (4, 4, 3)
    with pytest.raises(ValueError, match=r"Cannot hold out a validation split from 1 image"):
        data.load_numpy(tmp_path, split="validation")


@pytest.mark.parametrize("loader", sorted(LOADERS))
@pytest.mark.parametrize("files", [{}, {"notes.txt": b"x", ".hidden.png": GOOD_PNG, "data.csv": b"1,2"}])
def test_folder_without_images(tmp_path, loader, files):
    write_folder(tmp_path, files)
    fuzzkit.outcome(lambda: LOADERS[loader](tmp_path), errors=ValueError,
                    contains=("No images were found in", str(tmp_path), ".png"), watch=tmp_path)


@FAST
@given(name=st.text(st.characters(blacklist_categories=("Cs",), blacklist_characters="\x00/"), min_size=1,
                    max_size=12), loader=st.sampled_from(sorted(LOADERS)), as_path=st.booleans())
def test_missing_folder(name, loader, as_path):
    with tempfile.TemporaryDirectory() as parent:
        missing = os.path.join(parent, "absent", name)
        target = __import__("pathlib").Path(missing) if as_path else missing
        fuzzkit.outcome(lambda: LOADERS[loader](target), errors=FileNotFoundError,
                        contains=(repr(missing), "does not exist", "expected an existing folder"), watch=parent)


@pytest.mark.parametrize("name", ["no_such_dataset", "mnst"])
def test_unknown_plain_name_still_suggests(name):
    fuzzkit.outcome(lambda: data.info(name), errors=ValueError, contains=(f"Unknown dataset {name!r}", "Known"))
