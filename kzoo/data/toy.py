"""Two-dimensional toy densities, generated on the fly.

The definitions and scales follow the toy-density benchmarks of the
normalizing-flow literature (FFJORD, Grathwohl et al. 2019; the 25-Gaussian
grid of Gulrajani et al. 2017), so published test log-likelihoods are
comparable. Points are float32 vectors of shape (2,) with coordinates of order
one (roughly within [-4, 4]). Every point is drawn independently (mixture
components and angles are sampled, not laid out on a grid).

``two_moons``
    Two interleaved half circles with N(0, 0.1^2) noise, then ``2 * p + (-1, -0.2)``.
``8gaussians``
    Equal mixture of 8 Gaussians with centres ``4 * (cos a, sin a)``, ``a = k * pi / 4``,
    std 0.5, all divided by sqrt(2): centres on a circle of radius 2*sqrt(2),
    std 0.5 / sqrt(2).
``25gaussians``
    Equal mixture of 25 Gaussians on the grid ``{-4, -2, 0, 2, 4}^2`` with std 0.05,
    all divided by 2*sqrt(2).
``checkerboard``
    Uniform on the 8 dark cells of a 4x4 checkerboard over ``[-4, 4]^2`` (area 32).
``swiss_roll``
    ``t ~ U[1.5 pi, 4.5 pi]``, point ``(t cos t, t sin t) + N(0, 1)``, divided by 5.
``rings``
    Equal mixture of 4 concentric circles of radii 3, 2.25, 1.5, 0.75 (uniform
    angle) plus N(0, 0.08^2) noise.

Splits ``"train"`` (50,000 points by default), ``"validation"`` and ``"test"``
(10,000 each) come from independent generators seeded by ``(seed, split,
dataset)``, so they are disjoint draws; the same arguments always give the
same points.
"""

from __future__ import annotations

import zlib
from typing import Callable, Dict, Optional

import numpy as np

from kzoo.data.registry import DatasetInfo, register_dataset

DEFAULT_SIZES = {"train": 50_000, "validation": 10_000, "test": 10_000}
_SPLIT_CODES = {"train": 0, "validation": 1, "test": 2}

_SQRT2 = float(np.sqrt(2.0))

_ANGLES = np.arange(8) * np.pi / 4
EIGHT_GAUSSIANS_MODES = np.round(np.stack([np.cos(_ANGLES), np.sin(_ANGLES)], axis=1), 15) * (4.0 / _SQRT2) + 0.0
EIGHT_GAUSSIANS_STD = 0.5 / _SQRT2

_GRID = np.arange(-2, 3, dtype=np.float64) * 2.0
TWENTY_FIVE_GAUSSIANS_MODES = np.stack(np.meshgrid(_GRID, _GRID, indexing="ij"), axis=-1).reshape(-1, 2) / (
    2.0 * _SQRT2
)
TWENTY_FIVE_GAUSSIANS_STD = 0.05 / (2.0 * _SQRT2)

RING_RADII = (3.0, 2.25, 1.5, 0.75)
RING_NOISE = 0.08


def _mixture(rng: np.random.Generator, n: int, modes: np.ndarray, std: float) -> np.ndarray:
    k = rng.integers(0, len(modes), size=n)
    return modes[k] + std * rng.standard_normal((n, 2))


def _two_moons(rng: np.random.Generator, n: int) -> np.ndarray:
    upper = rng.random(n) < 0.5
    t = rng.uniform(0.0, np.pi, size=n)
    x = np.where(upper, np.cos(t), 1.0 - np.cos(t))
    y = np.where(upper, np.sin(t), 0.5 - np.sin(t))
    p = np.stack([x, y], axis=1) + 0.1 * rng.standard_normal((n, 2))
    return 2.0 * p + np.array([-1.0, -0.2])


def _eight_gaussians(rng: np.random.Generator, n: int) -> np.ndarray:
    return _mixture(rng, n, EIGHT_GAUSSIANS_MODES, EIGHT_GAUSSIANS_STD)


def _twenty_five_gaussians(rng: np.random.Generator, n: int) -> np.ndarray:
    return _mixture(rng, n, TWENTY_FIVE_GAUSSIANS_MODES, TWENTY_FIVE_GAUSSIANS_STD)


def _checkerboard(rng: np.random.Generator, n: int) -> np.ndarray:
    x1 = rng.uniform(-2.0, 2.0, size=n)
    # In column floor(x1), the dark cells are rows {0, -2} (even columns) or {1, -1} (odd ones).
    x2 = rng.random(n) - 2.0 * rng.integers(0, 2, size=n) + np.mod(np.floor(x1), 2.0)
    return 2.0 * np.stack([x1, x2], axis=1)


def _swiss_roll(rng: np.random.Generator, n: int) -> np.ndarray:
    t = 1.5 * np.pi * (1.0 + 2.0 * rng.random(n))
    p = np.stack([t * np.cos(t), t * np.sin(t)], axis=1) + rng.standard_normal((n, 2))
    return p / 5.0


def _rings(rng: np.random.Generator, n: int) -> np.ndarray:
    r = np.asarray(RING_RADII)[rng.integers(0, len(RING_RADII), size=n)]
    a = rng.uniform(0.0, 2.0 * np.pi, size=n)
    p = np.stack([r * np.cos(a), r * np.sin(a)], axis=1)
    return p + RING_NOISE * rng.standard_normal((n, 2))


_GENERATORS: Dict[str, Callable[[np.random.Generator, int], np.ndarray]] = {
    "two_moons": _two_moons,
    "8gaussians": _eight_gaussians,
    "25gaussians": _twenty_five_gaussians,
    "checkerboard": _checkerboard,
    "swiss_roll": _swiss_roll,
    "rings": _rings,
}


def sample(name: str, n: int, seed: int = 0, split: str = "train") -> np.ndarray:
    """Draws points from a toy density.

    Args:
        name: One of ``two_moons``, ``8gaussians``, ``25gaussians``, ``checkerboard``,
            ``swiss_roll``, ``rings``.
        n: Number of points (>= 1).
        seed: Non-negative int; with ``split`` and ``name`` it keys the generator.
        split: ``"train"``, ``"validation"`` or ``"test"``.

    Returns:
        float32 array of shape ``(n, 2)``.

    Raises:
        ValueError: On an unknown name or split, or ``n < 1``.
    """
    if name not in _GENERATORS:
        raise ValueError(f"Unknown toy density {name!r}. Known: {', '.join(_GENERATORS)}.")
    if split not in _SPLIT_CODES:
        raise ValueError(f"Unknown split {split!r}. Valid splits: {', '.join(_SPLIT_CODES)}.")
    if int(n) < 1:
        raise ValueError(f"num_samples must be >= 1, got {n}.")
    rng = np.random.default_rng([int(seed), _SPLIT_CODES[split], zlib.crc32(name.encode())])
    return _GENERATORS[name](rng, int(n)).astype(np.float32)


def _loader(name: str):
    def load(split: str, *, seed: int = 0, num_samples: Optional[int] = None, **_):
        n = DEFAULT_SIZES[split] if num_samples is None else num_samples
        return sample(name, n, seed=seed, split=split), None

    return load


def _readonly(a: np.ndarray) -> np.ndarray:
    a = np.array(a, dtype=np.float32)
    a.setflags(write=False)
    return a


_DESCRIPTIONS = {
    "two_moons": "Two interleaved half moons (noise 0.1), scaled by 2 and shifted by (-1, -0.2).",
    "8gaussians": "Equal mixture of 8 Gaussians on a circle of radius 2*sqrt(2), std 0.5/sqrt(2).",
    "25gaussians": "Equal mixture of 25 Gaussians on a 5x5 grid with spacing 1/sqrt(2), std 0.05/(2*sqrt(2)).",
    "checkerboard": "Uniform over the 8 dark cells of a 4x4 checkerboard on [-4, 4]^2 (entropy ln 32).",
    "swiss_roll": "2-D swiss roll (t in [1.5 pi, 4.5 pi], noise 1) divided by 5.",
    "rings": "Equal mixture of 4 concentric rings, radii 3, 2.25, 1.5, 0.75, noise 0.08.",
}

_MODES = {
    "8gaussians": (EIGHT_GAUSSIANS_MODES, EIGHT_GAUSSIANS_STD),
    "25gaussians": (TWENTY_FIVE_GAUSSIANS_MODES, TWENTY_FIVE_GAUSSIANS_STD),
}

_ALIASES = {"two_moons": ("moons",), "swiss_roll": ("swissroll",), "rings": ("circles",)}

for _name in _GENERATORS:
    _modes = _MODES.get(_name)
    register_dataset(
        DatasetInfo(
            name=_name,
            shape=(2,),
            num_classes=None,
            splits=dict(DEFAULT_SIZES),
            bit_depth=None,
            kind="toy2d",
            description=_DESCRIPTIONS[_name]
            + " Generated; default sizes train 50,000 / validation 10,000 / test 10,000 (num_samples= overrides).",
            modes=None if _modes is None else _readonly(_modes[0]),
            mode_std=None if _modes is None else float(_modes[1]),
        ),
        _loader(_name),
        aliases=_ALIASES.get(_name, ()),
    )
