"""Fuzzed dataset files (IDX for MNIST, pickled CIFAR-10 batches): corrupt files raise DataFormatError naming them."""

import gzip
import os
import pickle
import struct
import tempfile

import numpy as np
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import fuzzkit
from kzoo import data
from kzoo.data import files
from kzoo.data.errors import DataFormatError
from kzoo.data.idx import IDX_TYPES, read_idx

FAST = settings(deadline=None, max_examples=40, database=None, suppress_health_check=[HealthCheck.too_slow])


@st.composite
def idx_bytes(draw):
    """An IDX header (often plausible) followed by data of the right, or a wrong, size."""
    kind = draw(st.sampled_from(["random", "header", "mutated"]))
    if kind == "random":
        return draw(st.binary(max_size=40))
    code = draw(st.sampled_from(sorted(IDX_TYPES) + [0x07, 0xFF]))
    dims = draw(st.lists(st.integers(0, 5), min_size=0, max_size=3))
    header = bytes([0, 0, code, len(dims)]) + struct.pack(">" + "I" * len(dims), *dims)
    size = int(np.prod(dims)) * (IDX_TYPES[code].itemsize if code in IDX_TYPES else 1)
    body = draw(st.binary(min_size=size, max_size=size))
    content = header + body
    if kind == "mutated":
        cut = draw(st.integers(0, len(content)))
        content = content[:cut] + draw(st.binary(max_size=3))
    return draw(st.sampled_from([content, gzip.compress(content), gzip.compress(content)[:-4]]))


@FAST
@given(content=idx_bytes())
def test_read_idx_on_fuzzed_bytes(content):
    with tempfile.TemporaryDirectory() as folder:
        path = os.path.join(folder, "train-images-idx3-ubyte")
        with open(path, "wb") as handle:
            handle.write(content)

        def check(arr):
            assert isinstance(arr, np.ndarray) and not arr.flags.writeable

        fuzzkit.outcome(lambda: read_idx(path), errors=DataFormatError, contains=(path,), allow_success=True,
                        watch=folder, check_result=check)


@FAST
@given(content=idx_bytes(), labels=st.booleans())
def test_mnist_from_fuzzed_files(content, labels):
    files.clear_cache()
    with tempfile.TemporaryDirectory() as folder:
        for name in ("train-images-idx3-ubyte", "train-labels-idx1-ubyte"):
            with open(os.path.join(folder, name), "wb") as handle:
                handle.write(content)
        fuzzkit.outcome(lambda: data.load_numpy("mnist", data_dir=folder, labels=labels, download=False),
                        errors=DataFormatError, contains=(folder, ("expected", "IDX", "too few")), watch=folder)


class Evil:
    def __reduce__(self):
        return (os.system, ("touch PWNED",))


@FAST
@given(payload=st.one_of(
    st.binary(max_size=60),
    st.sampled_from([pickle.dumps(Evil()), pickle.dumps([1, 2]), pickle.dumps({b"data": "x"}),
                     pickle.dumps({b"data": np.zeros((2, 3072), np.uint8), b"labels": [0, 99]}),
                     pickle.dumps({b"data": np.zeros((2, 5), np.uint8), b"labels": [0, 1]}),
                     pickle.dumps({"data": np.zeros((2, 3072), np.float32), "labels": [0, 1]})])))
def test_cifar_from_fuzzed_batches(payload):
    files.clear_cache()
    with tempfile.TemporaryDirectory() as folder:
        with open(os.path.join(folder, "test_batch"), "wb") as handle:
            handle.write(payload)
        fuzzkit.outcome(lambda: data.load_numpy("cifar10", "test", data_dir=folder, download=False),
                        errors=DataFormatError, contains=(os.path.join(folder, "test_batch"),), watch=folder)
        assert not os.path.exists("PWNED")
