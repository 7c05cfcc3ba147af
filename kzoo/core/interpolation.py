"""Latent-space paths: linear and spherical interpolation (numpy only).

Spherical interpolation follows White, "Sampling Generative Networks" (2016):
for Gaussian priors it keeps intermediate codes at a typical norm.

:func:`interpolate` gives one path between two codes,
:func:`interpolate_pairs` one path per pair of codes (the rows of an
interpolation figure) and :func:`interpolation_grid` a two-dimensional sheet
spanned by four corner codes (Radford et al., "Unsupervised Representation
Learning with Deep Convolutional Generative Adversarial Networks", ICLR
2016, walk GAN latent spaces this way). Decoding the codes is the model's
business; :mod:`kzoo.analysis.arithmetic` does it for any model with a
latent-to-sample method.
"""

import numpy as np

from kzoo.core.validation import check_choice, check_positive_int


def lerp(a, b, t):
    """Linear interpolation ``(1 - t) a + t b`` for each ``t`` in a 1-D array."""
    t = np.asarray(t, dtype=np.float64)[:, None]
    return ((1.0 - t) * np.asarray(a, np.float64) + t * np.asarray(b, np.float64)).astype(np.float32)


def slerp(a, b, t):
    """Spherical interpolation between vectors ``a`` and ``b``.

    Falls back to :func:`lerp` when the vectors are (anti)parallel, where the
    great circle is undefined.
    """
    a = np.asarray(a, np.float64).ravel()
    b = np.asarray(b, np.float64).ravel()
    t = np.asarray(t, dtype=np.float64)[:, None]
    cos = np.dot(a, b) / max(np.linalg.norm(a) * np.linalg.norm(b), 1e-12)
    omega = np.arccos(np.clip(cos, -1.0, 1.0))
    if np.sin(omega) < 1e-6:
        return lerp(a, b, t[:, 0])
    out = (np.sin((1.0 - t) * omega) * a + np.sin(t * omega) * b) / np.sin(omega)
    return out.astype(np.float32)


def interpolate(a, b, steps=8, method="slerp"):
    """Returns ``steps`` codes from ``a`` to ``b`` (ends included).

    Args:
        a: start code, 1-D.
        b: end code, same shape as ``a``.
        steps: number of points, at least 2.
        method: ``"slerp"`` or ``"lerp"``.

    Returns:
        float32 array of shape ``(steps, len(a))``.

    Raises:
        ValueError: bad ``steps``/``method`` or mismatched shapes.
    """
    steps = check_positive_int(steps, "steps")
    if steps < 2:
        raise ValueError(f"steps must be at least 2 (both ends are included), got {steps}.")
    check_choice(method, "method", ("slerp", "lerp"))
    a, b = np.ravel(a), np.ravel(b)
    if a.shape != b.shape:
        raise ValueError(f"codes must have the same shape, got {a.shape} and {b.shape}.")
    t = np.linspace(0.0, 1.0, steps)
    return slerp(a, b, t) if method == "slerp" else lerp(a, b, t)


def interpolate_pairs(starts, ends, steps=8, method="slerp"):
    """One interpolation path per pair of codes.

    Args:
        starts: array ``(P, D)`` of start codes.
        ends: array ``(P, D)`` of end codes.
        steps: points per path, both ends included (at least 2).
        method: ``"slerp"`` or ``"lerp"``.

    Returns:
        float32 array ``(P, steps, D)``; ``[p, 0]`` is ``starts[p]`` and
        ``[p, -1]`` is ``ends[p]``.

    Raises:
        ValueError: shapes that are not matching ``(P, D)`` arrays with
            ``P >= 1``, or a bad ``steps``/``method``.
    """
    starts = np.asarray(starts, np.float64)
    ends = np.asarray(ends, np.float64)
    if starts.ndim != 2 or starts.shape != ends.shape or starts.shape[0] == 0:
        raise ValueError(
            f"starts and ends must be (P, D) arrays of the same shape with P >= 1, got {starts.shape} and "
            f"{ends.shape}."
        )
    return np.stack([interpolate(a, b, steps=steps, method=method) for a, b in zip(starts, ends)])


def interpolation_grid(top_left, top_right, bottom_left, bottom_right, rows=8, cols=8, method="slerp"):
    """A ``rows x cols`` sheet of codes spanned by four corner codes.

    The left and right edges are interpolated from top to bottom, then each
    row from its left to its right end, so the corners of the result are the
    four given codes and every row and column is an interpolation path.

    Args:
        top_left, top_right, bottom_left, bottom_right: 1-D codes of one
            length ``D``.
        rows: number of rows, at least 2.
        cols: number of columns, at least 2.
        method: ``"slerp"`` or ``"lerp"``.

    Returns:
        float32 array ``(rows, cols, D)``.

    Raises:
        ValueError: mismatched code shapes or a bad ``rows``/``cols``/``method``.
    """
    corners = [np.ravel(np.asarray(c, np.float64)) for c in (top_left, top_right, bottom_left, bottom_right)]
    if len({c.shape for c in corners}) != 1:
        raise ValueError(f"the four corner codes must have the same shape, got {[c.shape for c in corners]}.")
    left = interpolate(corners[0], corners[2], steps=rows, method=method)
    right = interpolate(corners[1], corners[3], steps=rows, method=method)
    return interpolate_pairs(left, right, steps=cols, method=method)
