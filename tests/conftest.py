"""Test setup: two logical CPUs, and two logical GPUs on a one-GPU machine (for MirroredStrategy tests), before TF
starts."""

import gc
import itertools
import os

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

import keras  # noqa: E402
import pytest  # noqa: E402

import tensorflow as tf  # noqa: E402

from kzoo.core.distribute import split_cpu, split_gpu  # noqa: E402

split_cpu(2)
if len(tf.config.list_physical_devices("GPU")) == 1:
    split_gpu(2)


_test_counter = itertools.count(1)


@pytest.fixture(autouse=True)
def _fresh_keras_state():
    keras.config.set_dtype_policy("float32")
    keras.utils.set_random_seed(1234)
    yield
    keras.config.set_dtype_policy("float32")
    # Every trained model leaves tens of thousands of objects that stay
    # reachable (traced graphs), so a full collection walks more of them with
    # every test. Every 25 tests the survivors are collected and then frozen
    # out of later collections; every 500 tests they are thawed and collected
    # once more, so a frozen object that became garbage since is freed too.
    keras.backend.clear_session(free_memory=False)
    count = next(_test_counter)
    if count % 25 == 0:
        if count % 500 == 0:
            gc.unfreeze()
        gc.collect()
        gc.freeze()
