"""Input checks shared by every model; each error names the bad value."""

import numpy as np


def check_positive_int(value, name):
    """Raises ValueError unless ``value`` is an int >= 1; returns it."""
    if isinstance(value, bool) or not isinstance(value, (int, np.integer)) or value < 1:
        raise ValueError(f"{name} must be a positive integer, got {value!r}.")
    return int(value)


def check_non_negative_int(value, name):
    """Raises ValueError unless ``value`` is an int >= 0; returns it."""
    if isinstance(value, bool) or not isinstance(value, (int, np.integer)) or value < 0:
        raise ValueError(f"{name} must be a non-negative integer, got {value!r}.")
    return int(value)


def check_positive_number(value, name):
    """Raises ValueError unless ``value`` is a real number > 0 (not a bool); returns it as a float."""
    if isinstance(value, bool) or not isinstance(value, (int, float, np.integer, np.floating)) or not value > 0:
        raise ValueError(f"{name} must be a positive number, got {value!r}.")
    return float(value)


def check_bool(value, name):
    """Raises ValueError unless ``value`` is True or False; returns it as a bool."""
    if not isinstance(value, (bool, np.bool_)):
        raise ValueError(f"{name} must be True or False, got {value!r}.")
    return bool(value)


def check_choice(value, name, choices):
    """Raises ValueError unless ``value`` is one of ``choices``; returns it."""
    if value not in choices:
        raise ValueError(f"{name} must be one of {', '.join(repr(c) for c in choices)}, got {value!r}.")
    return value


def check_data_batch(x, data_shape, *, what="input", value_range=None):
    """Checks a batch of examples before a model sees it.

    Args:
        x: array-like of shape ``(N,) + data_shape``.
        data_shape: the per-example shape the model was built for.
        what: how to name the batch in messages.
        value_range: optional ``(low, high)`` the values must lie in.

    Returns:
        ``x`` as a float32 numpy array.

    Raises:
        ValueError: wrong shape, empty batch, NaN/Inf values or values outside
            ``value_range``.
    """
    x = np.asarray(x, dtype=np.float32)
    expected = tuple(int(d) for d in data_shape)
    if x.ndim != len(expected) + 1 or tuple(x.shape[1:]) != expected:
        raise ValueError(
            f"{what} has shape {tuple(x.shape)}, but this model expects a batch of shape "
            f"(N, {', '.join(str(d) for d in expected)})."
        )
    if x.shape[0] == 0:
        raise ValueError(f"{what} is empty: got a batch of 0 examples.")
    bad = int(np.size(x) - np.count_nonzero(np.isfinite(x)))
    if bad:
        raise ValueError(f"{what} contains {bad} NaN or infinite values.")
    if value_range is not None:
        low, high = value_range
        if x.min() < low or x.max() > high:
            raise ValueError(
                f"{what} values span [{x.min():.4g}, {x.max():.4g}], expected values in [{low}, {high}]."
            )
    return x
