"""The one module of argument checks; every error names the bad value and what was expected.

:func:`check_number` is the general check (integer or real, optional bounds,
open or closed); the named checks (:func:`check_positive_int`,
:func:`check_non_negative_int`, :func:`check_positive_number` ...) are its
common cases. Array checks (:func:`check_data_batch` for model inputs,
:func:`as_features` for metric inputs) live here too.
"""

import math
import numbers

import numpy as np

_INTEGERS = (int, np.integer)
_REALS = (int, float, np.integer, np.floating)


def _bounds_text(minimum, maximum, exclusive_minimum, exclusive_maximum):
    if minimum is not None and maximum is not None:
        return f" in {'(' if exclusive_minimum else '['}{minimum}, {maximum}{')' if exclusive_maximum else ']'}"
    if minimum is not None:
        return f" {'>' if exclusive_minimum else '>='} {minimum}"
    if maximum is not None:
        return f" {'<' if exclusive_maximum else '<='} {maximum}"
    return ""


def check_number(value, name, *, integer=False, minimum=None, maximum=None, exclusive_minimum=False,
                 exclusive_maximum=False, description=None):
    """Checks a number against a type and optional bounds; returns it as ``int`` or ``float``.

    Bools are refused (``True`` is not a count or a rate), and so are NaN and
    infinite values.

    Args:
        value: the value to check.
        name: how the value is named in the error.
        integer: require an integer (Python or numpy); else any real number.
        minimum: lower bound, or None.
        maximum: upper bound, or None.
        exclusive_minimum: the lower bound itself is refused.
        exclusive_maximum: the upper bound itself is refused.
        description: what is expected, for the message (default: made from
            the type and the bounds, e.g. ``"an integer >= 2"``).

    Returns:
        ``int(value)`` for integers, else ``float(value)``.

    Raises:
        ValueError: the value is of the wrong type, not finite or out of bounds.
    """
    kinds = _INTEGERS if integer else _REALS
    ok = not isinstance(value, (bool, np.bool_)) and isinstance(value, kinds) and math.isfinite(float(value))
    if ok and minimum is not None:
        ok = value > minimum if exclusive_minimum else value >= minimum
    if ok and maximum is not None:
        ok = value < maximum if exclusive_maximum else value <= maximum
    if not ok:
        expected = description or ("an integer" if integer else "a number") + _bounds_text(
            minimum, maximum, exclusive_minimum, exclusive_maximum)
        raise ValueError(f"{name} must be {expected}, got {value!r}.")
    return int(value) if integer else float(value)


def check_positive_int(value, name):
    """Raises ValueError unless ``value`` is an int >= 1; returns it."""
    return check_number(value, name, integer=True, minimum=1, description="a positive integer")


def check_non_negative_int(value, name):
    """Raises ValueError unless ``value`` is an int >= 0; returns it."""
    return check_number(value, name, integer=True, minimum=0, description="a non-negative integer")


def check_positive_number(value, name):
    """Raises ValueError unless ``value`` is a real number > 0 (not a bool); returns it as a float."""
    return check_number(value, name, minimum=0, exclusive_minimum=True, description="a positive number")


def check_optional(check, value, name, **kwargs):
    """``None``, or ``check(value, name, **kwargs)`` (e.g. an optional positive int)."""
    return None if value is None else check(value, name, **kwargs)


def check_odd(value, name):
    """Raises ValueError unless ``value`` is an odd positive int (a centred kernel size); returns it."""
    value = check_number(value, name, integer=True, minimum=1, description="an odd positive integer")
    if value % 2 == 0:
        raise ValueError(f"{name} must be an odd positive integer, got {value!r}.")
    return value


def check_divisible(value, name, divisor, what):
    """Raises ValueError unless the int ``value`` is a multiple of ``divisor`` (named ``what``); returns it."""
    if value % divisor:
        raise ValueError(f"{name}={value} must be divisible by {what} ({divisor}).")
    return value


def check_int_tuple(values, name):
    """A non-empty tuple of positive ints (layer widths, filters); a single int becomes a 1-tuple.

    Raises:
        ValueError: an entry is not a positive int, or the sequence is empty.
    """
    if isinstance(values, _INTEGERS) and not isinstance(values, bool):
        values = (values,)
    try:
        values = tuple(check_positive_int(v, f"{name} entry") for v in values)
    except TypeError as err:
        raise ValueError(f"{name} must be a sequence of positive ints, got {values!r}.") from err
    if not values:
        raise ValueError(f"{name} must hold at least one positive int, got {values!r}.")
    return values


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


_DTYPE_KINDS = {"U": "strings", "S": "byte strings", "c": "complex numbers", "M": "dates", "m": "time spans",
                "V": "structured records"}


def _shown(value, limit=60):
    text = repr(value)
    return text if len(text) <= limit else text[: limit - 3] + "..."


def as_real_array(values, name, dtype=np.float32):
    """Converts array-like input to a real-valued numpy array, refusing what is not a real number.

    Bool, integer and float arrays (and nested lists, tensors and object
    arrays of real numbers) are accepted; strings (even numeric ones like
    ``"0.5"``), bytes, complex numbers, dates, ``None`` and ragged nested
    lists are refused instead of being silently converted or truncated.

    Args:
        values: the input.
        name: how the input is named in error messages.
        dtype: the floating dtype of the result.

    Returns:
        A numpy array of ``dtype``, of the input's shape.

    Raises:
        ValueError: the input is None, ragged, not numeric, complex, or holds
            values too large for ``dtype``.
    """
    if values is None:
        raise ValueError(f"{name} must be a numeric array, got None.")
    if isinstance(values, (str, bytes)):
        raise ValueError(f"{name} must be a numeric array, got the string {_shown(values)}.")
    try:
        array = np.asarray(values)
    except (ValueError, TypeError) as err:
        raise ValueError(
            f"{name} must be a rectangular numeric array (every row the same length); could not make an array "
            f"of {type(values).__name__} ({err})."
        ) from err
    kind = array.dtype.kind
    if kind == "O":
        bad = [v for v in array.flat if not isinstance(v, (numbers.Real, np.bool_))][:1]
        if bad:
            bad = bad[0]
            raise ValueError(
                f"{name} must hold real numbers; got an object array with a {type(bad).__name__} element "
                f"{_shown(bad)}."
            )
        array = array.astype(np.float64)
    elif kind not in "biuf":
        what = _DTYPE_KINDS.get(kind, f"dtype {array.dtype}")
        example = _shown(array.flat[0]) if array.size else "(empty)"
        raise ValueError(
            f"{name} must be a real-valued numeric array (bool, integer or float dtype); got {what} "
            f"(dtype {array.dtype}, e.g. {example})."
        )
    if kind == "f" and np.dtype(dtype).itemsize < array.dtype.itemsize and array.size:
        finite = array[np.isfinite(array)]
        limit = np.finfo(dtype).max
        if finite.size and np.abs(finite).max() > limit:
            raise ValueError(
                f"{name} holds values up to {np.abs(finite).max():.4g} in magnitude, beyond the largest "
                f"{np.dtype(dtype).name} ({limit:.4g}); expected values of a sensible scale."
            )
    return array.astype(dtype, copy=False)


def check_data_batch(x, data_shape, *, what="input", value_range=None):
    """Checks a batch of examples before a model sees it.

    Args:
        x: array-like of shape ``(N,) + data_shape``: a numpy array (bool,
            integer or float), a nested list or a tensor.
        data_shape: the per-example shape the model was built for.
        what: how to name the batch in messages.
        value_range: optional ``(low, high)`` the values must lie in.

    Returns:
        ``x`` as a float32 numpy array.

    Raises:
        ValueError: not a real numeric array (strings, complex, objects,
            None, ragged lists; see :func:`as_real_array`), wrong rank or
            shape, empty batch, NaN/Inf values or values outside
            ``value_range``.
    """
    expected = tuple(int(d) for d in data_shape)
    expected_text = f"(N, {', '.join(str(d) for d in expected)})"
    if x is None:
        raise ValueError(f"{what} must be a numeric array of shape {expected_text}, got None.")
    x = as_real_array(x, what, np.float32)
    if x.ndim != len(expected) + 1 or tuple(x.shape[1:]) != expected:
        raise ValueError(
            f"{what} has shape {tuple(x.shape)}, but this model expects a batch of shape {expected_text}."
        )
    if x.shape[0] == 0:
        raise ValueError(f"{what} is empty: got a batch of 0 examples, expected at least one.")
    finite = np.isfinite(x)
    if not finite.all():
        num_nan = int(np.isnan(x).sum())
        raise ValueError(
            f"{what} contains {x.size - int(finite.sum())} NaN or infinite values ({num_nan} NaN, "
            f"{x.size - int(finite.sum()) - num_nan} infinite, out of {x.size}); expected finite numbers."
        )
    if value_range is not None:
        low, high = value_range
        if x.min() < low or x.max() > high:
            raise ValueError(
                f"{what} values span [{x.min():.4g}, {x.max():.4g}], expected values in [{low}, {high}]."
            )
    return x


def check_finite(array, name):
    """Raises ValueError if ``array`` holds NaN or infinite values, with counts."""
    finite = np.isfinite(array)
    if not finite.all():
        num_nan = int(np.isnan(array).sum())
        num_inf = int(array.size - finite.sum()) - num_nan
        raise ValueError(
            f"{name} contain {num_nan} NaN and {num_inf} infinite values "
            f"(out of {array.size}); expected finite numbers."
        )


def as_features(features, name, *, min_samples=1, reason=""):
    """Converts features to a finite float64 matrix of shape ``(n, d)`` (the input of every metric).

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
        ValueError: the input is not a real numeric array (see
            :func:`as_real_array`), is not 2-D, has fewer than ``min_samples``
            rows, has zero columns, or holds NaN or infinite values.
    """
    array = as_real_array(features, name, np.float64)
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


def check_same_dim(real, fake, real_name="real features", fake_name="fake features"):
    """Raises ValueError if two feature matrices differ in their number of columns."""
    if real.shape[1] != fake.shape[1]:
        raise ValueError(
            f"{real_name} have dim {real.shape[1]} but {fake_name} have dim {fake.shape[1]}"
        )
