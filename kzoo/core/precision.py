"""Mixed-precision helpers: one flag selects the Keras dtype policy."""

import contextlib

import keras

PRECISIONS = ("float32", "mixed_float16", "mixed_bfloat16")


@contextlib.contextmanager
def precision_scope(precision):
    """Sets the global Keras dtype policy inside the block, then restores it.

    Models built inside the block compute in the policy's dtype and keep
    float32 variables; losses and TFP math stay float32 in every kzoo model.

    Args:
        precision: ``"float32"``, ``"mixed_float16"`` or ``"mixed_bfloat16"``.

    Raises:
        ValueError: unknown precision name.
    """
    if precision not in PRECISIONS:
        raise ValueError(f"precision must be one of {', '.join(PRECISIONS)}, got {precision!r}.")
    previous = keras.config.dtype_policy()
    keras.config.set_dtype_policy(precision)
    try:
        yield
    finally:
        keras.config.set_dtype_policy(previous)
