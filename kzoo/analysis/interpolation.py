"""Latent-space paths: linear and spherical interpolation (numpy only).

Spherical interpolation follows White, "Sampling Generative Networks" (2016):
for Gaussian priors it keeps intermediate codes at a typical norm.
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
