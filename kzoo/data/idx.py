"""Reader for the IDX file format used by MNIST and Fashion-MNIST.

An IDX file starts with a 4-byte magic number: two zero bytes, a type code
(``0x08`` uint8, ``0x09`` int8, ``0x0B`` int16, ``0x0C`` int32, ``0x0D``
float32, ``0x0E`` float64) and the number of dimensions ``d``. Then come ``d``
big-endian uint32 sizes and the data, big-endian, row-major. Files may be
gzip-compressed (detected from the content, not the file name).
"""

from __future__ import annotations

import gzip
import os
import struct
import zlib

import numpy as np

from kzoo.data.errors import DataFormatError

__all__ = ["read_idx", "IDX_TYPES"]

IDX_TYPES = {
    0x08: np.dtype("u1"),
    0x09: np.dtype("i1"),
    0x0B: np.dtype(">i2"),
    0x0C: np.dtype(">i4"),
    0x0D: np.dtype(">f4"),
    0x0E: np.dtype(">f8"),
}

_GZIP_MAGIC = b"\x1f\x8b"


def _read_bytes(path: str) -> bytes:
    with open(path, "rb") as f:
        raw = f.read()
    if raw[:2] != _GZIP_MAGIC:
        return raw
    try:
        return gzip.decompress(raw)
    except (OSError, EOFError, zlib.error) as err:
        raise DataFormatError(
            f"{path}: corrupt or truncated gzip data ({err}); expected a complete gzip-compressed IDX file "
            "(download it again)."
        ) from err


def read_idx(path) -> np.ndarray:
    """Reads one IDX file (raw or gzip-compressed).

    Args:
        path: Path to the file.

    Returns:
        A read-only NumPy array with the shape from the header and the native-endian
        version of the stored dtype.

    Raises:
        FileNotFoundError: If the file does not exist.
        DataFormatError: If the magic number is wrong, the header is cut short, or
            the data size disagrees with the header (truncated or corrupt file).
    """
    path = os.fspath(path)
    data = _read_bytes(path)
    if len(data) < 4:
        raise DataFormatError(f"{path}: {len(data)} bytes is too short for an IDX header (needs 4+).")
    if data[0] != 0 or data[1] != 0 or data[2] not in IDX_TYPES:
        raise DataFormatError(
            f"{path}: not an IDX file (magic number 0x{data[:4].hex()}; expected 0x0000TTDD with type "
            f"code TT in {{{', '.join(f'{k:02x}' for k in IDX_TYPES)}}})."
        )
    dtype = IDX_TYPES[data[2]]
    ndim = data[3]
    if ndim == 0:
        raise DataFormatError(f"{path}: IDX header declares 0 dimensions; expected 1 or more.")
    header = 4 + 4 * ndim
    if len(data) < header:
        raise DataFormatError(f"{path}: truncated IDX header ({len(data)} bytes, header needs {header}).")
    dims = struct.unpack(">" + "I" * ndim, data[4:header])
    expected = int(np.prod(dims, dtype=np.int64)) * dtype.itemsize
    actual = len(data) - header
    if actual != expected:
        state = "truncated" if actual < expected else "has trailing bytes"
        raise DataFormatError(
            f"{path}: IDX header declares shape {tuple(dims)} of {dtype.name} ({expected} data bytes) "
            f"but the file holds {actual} data bytes; the file is {state} or corrupt."
        )
    arr = np.frombuffer(data, dtype=dtype, offset=header).reshape(dims)
    arr = arr.astype(dtype.newbyteorder("="), copy=False)
    arr.setflags(write=False)
    return arr
