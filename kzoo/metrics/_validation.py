"""Input checks shared by the metric functions (numpy only)."""

import numbers

import numpy as np


def as_features(features, name, *, min_samples=1, reason=""):
    """Converts features to a finite float64 matrix of shape ``(n, d)``.

    Args:
        features: array-like (numpy array, list, or eager tensor) of shape
            ``(n, d)``.
        name: how the array is named in error messages, e.g. ``"real features"``.
        min_samples: the smallest accepted ``n``.
        reason: why ``min_samples`` are needed, appended to the error message
            (e.g. ``"for a covariance"``).

    Returns:
        A float64 numpy array of shape ``(n, d)``.

    Raises:
        ValueError: the array is not 2-D, has fewer than ``min_samples`` rows,
            has zero columns, or holds NaN or infinite values.
    """
    array = np.asarray(features, dtype=np.float64)
    if array.ndim != 2:
        raise ValueError(
            f"{name} must have shape (num_samples, num_features); received an array "
            f"of shape {array.shape}"
        )
    if array.shape[1] == 0:
        raise ValueError(f"{name} have dim 0; expected at least one feature per sample")
    if array.shape[0] < min_samples:
        raise ValueError(
            f"{name} hold {array.shape[0]} samples; at least {min_samples} are needed"
            + (f" {reason}" if reason else "")
        )
    check_finite(array, name)
    return array


def check_finite(array, name):
    """Raises ValueError if ``array`` holds NaN or infinite values, with counts."""
    finite = np.isfinite(array)
    if not finite.all():
        num_nan = int(np.isnan(array).sum())
        num_inf = int(array.size - finite.sum()) - num_nan
        raise ValueError(
            f"{name} contain {num_nan} NaN and {num_inf} infinite values "
            f"(out of {array.size}); expected finite numbers"
        )


def check_same_dim(real, fake, real_name="real features", fake_name="fake features"):
    """Raises ValueError if two feature matrices differ in their number of columns."""
    if real.shape[1] != fake.shape[1]:
        raise ValueError(
            f"{real_name} have dim {real.shape[1]} but {fake_name} have dim {fake.shape[1]}"
        )


def check_positive_int(value, name, *, minimum=1):
    """Returns ``value`` as an int, or raises ValueError if it is not an int >= ``minimum``."""
    if isinstance(value, bool) or not isinstance(value, numbers.Integral) or value < minimum:
        raise ValueError(f"{name} must be an integer >= {minimum}; received {value!r}")
    return int(value)
