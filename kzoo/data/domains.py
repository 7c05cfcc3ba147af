"""Digit domains with ground truth: stroke thickness, slant and resolution, and key patches.

Image-to-image models (CycleGAN, StarGAN) learn to move a digit from one
domain into another from unpaired sets; a generator that completes an image
from a few of its patches (Puzzle-GAN) learns from patches and whole images.
Here every domain is a deterministic transform of MNIST digits, so the same
transform applied to the official test set gives the exact target of every
test image, and success is a distance to a known image, not a picture:

* ``"plain"``: the digits as they are.
* ``"thin"`` / ``"thick"``: strokes eroded or dilated to a mean width of
  :data:`THIN_WIDTH` / :data:`THICK_WIDTH` pixels (:func:`set_thickness`,
  measured as :func:`kzoo.data.measures.stroke_thickness` does).
* ``"slant_left"`` / ``"slant_right"``: each digit sheared so that its
  second-moment slant is exactly :data:`LEFT_SLANT` / :data:`RIGHT_SLANT`
  (:func:`set_slant`; MNIST's own median slant is about 0.14).
* ``"low_resolution"``: the digit seen through scikit-learn's 8x8 ``digits``
  format (:func:`to_low_resolution`: its 20x20 box averaged down to 8x8,
  quantized to 17 levels, bilinearly upsampled back), the exact counterpart of
  ``digits8x8``.
* ``"digits8x8"``: scikit-learn's real 8x8 digits rendered on MNIST's canvas
  (:func:`render_8x8`): other writers and another scanner. It has no paired
  MNIST images; ``low_resolution`` is its exact-target stand-in at test time.

:func:`unpaired_domains` gives the training sets: domain A from one half of
an ``mnist5k`` split and domain B from the other half (disjoint images, so no
pair can be learned), and :func:`paired_domains` gives both domains of the
same images for evaluation. :func:`key_patches` cuts the highest-ink patches
of each digit for Puzzle-GAN (Lee et al., "Unsupervised Holistic Image
Generation from Key Local Patches", ECCV 2018): each resized to the full
canvas, as in the paper, so where it belongs must be inferred; the true masks
come with them.

The pairs are also named datasets (:data:`PAIR_DATASETS`: ``domains-thickness``
thin <-> thick, ``domains-slant`` left <-> right, ``domains-resolution`` MNIST
<-> real 8x8 digits), examples ``(28, 28, 2)`` with domain A in channel 0 and
domain B in channel 1: unpaired in ``train``, paired in ``validation`` and
``test`` (the official MNIST test set), so ``kzoo train cyclegan --data
domains-thickness`` trains on unpaired images and validates on exact targets.
Many domains at once (StarGAN) are the stacks of :data:`STACK_DATASETS`:
``domains-five`` holds :data:`FIVE_DOMAINS` (plain, thin, thick, slant left,
slant right), examples ``(28, 28, 5)`` with domain ``k`` in channel ``k``:
in ``train`` each channel comes from its own fifth of ``mnist5k`` train
(:func:`unpaired_domain_sets`), in ``validation`` and ``test`` all five
channels show the same digit, so every one of the 20 source -> target
translations has its exact target.

Every function takes and returns float32 images ``(N, 28, 28, 1)`` (or
``(N, H, W, 1)`` where noted) in ``[0, 1]``, bright strokes on black, and is
deterministic.
"""

from __future__ import annotations

import dataclasses
import functools
import os
from typing import Optional

import numpy as np

__all__ = [
    "DOMAINS",
    "THIN_WIDTH",
    "THICK_WIDTH",
    "LEFT_SLANT",
    "RIGHT_SLANT",
    "set_thickness",
    "set_slant",
    "to_low_resolution",
    "render_8x8",
    "to_domain",
    "FIVE_DOMAINS",
    "unpaired_domains",
    "unpaired_domain_sets",
    "paired_domains",
    "KeyPatches",
    "key_patches",
    "PAIR_DATASETS",
    "STACK_DATASETS",
]

#: Mean stroke width (pixels) of the ``thin`` domain (MNIST's 5th percentile is about 1.6).
THIN_WIDTH = 1.5
#: Mean stroke width (pixels) of the ``thick`` domain (MNIST's 95th percentile is about 4.0).
THICK_WIDTH = 4.0
#: Second-moment slant of the ``slant_left`` domain (horizontal shift per row, top to the left).
LEFT_SLANT = -0.4
#: Second-moment slant of the ``slant_right`` domain.
RIGHT_SLANT = 0.4
#: The domain names :func:`to_domain` knows; the first five are transforms of one another's images.
DOMAINS = ("plain", "thin", "thick", "slant_left", "slant_right", "low_resolution", "digits8x8")
#: The five domains of ``domains-five``: each a transform of the same digits, in one attribute.
FIVE_DOMAINS = DOMAINS[:5]

_UPSCALE = 4  # morphology runs on a 4x canvas, so widths change in quarter pixels
_CORRECTIONS = 2  # radius corrections from the width measured on the result
_BOX = 20  # MNIST digits fit a 20x20 box centred on the 28x28 canvas
_SPLIT_SEED = 2018  # fixed permutation that divides a split among the unpaired domains


def _gray_split(name, split, data_dir=None):
    """A registered dataset's split as float32 gray in [0, 1] with int32 labels (without kzoo.data.loading)."""
    from kzoo.data.registry import check_split, get_spec

    spec = get_spec(name)
    levels, labels = spec.loader(check_split(spec, split), labels=True, data_dir=data_dir)
    return (np.asarray(levels, np.float32) / (spec.info.num_levels - 1)), np.asarray(labels, np.int32)


def _check_images(images, name="images"):
    x = np.asarray(images, dtype=np.float32)
    if x.ndim == 3:
        x = x[..., None]
    if x.ndim != 4 or x.shape[-1] != 1:
        raise ValueError(f"{name} must be gray images of shape (N, H, W, 1) or (N, H, W), got shape {x.shape}.")
    if x.size and (not np.isfinite(x).all() or x.min() < 0.0 or x.max() > 1.0):
        raise ValueError(f"{name} must hold finite values in [0, 1], got range [{x.min()}, {x.max()}].")
    return x


def _check_number(value, name):
    if isinstance(value, (bool, np.bool_)) or not isinstance(value, (int, float, np.integer, np.floating)):
        raise TypeError(f"{name} must be a number, got {value!r}.")
    if not np.isfinite(value):
        raise ValueError(f"{name} must be finite, got {value!r}.")
    return float(value)


def _to_8bit(x):
    """Rounds to the 256 levels MNIST is stored in, so every domain is 8-bit data too."""
    return (np.rint(np.clip(x, 0.0, 1.0) * 255.0) / 255.0).astype(np.float32)


def _dilate_or_erode(x, radius, skeleton, threshold):
    """Dilates image ``i`` by ``radius[i]`` pixels (erodes where negative, keeping the skeleton) on the 4x canvas."""
    from scipy import ndimage

    out = np.empty_like(x)
    height, width = x.shape[1:3]
    for i, image in enumerate(x[..., 0]):
        big = ndimage.zoom(image, _UPSCALE, order=1, grid_mode=True, mode="grid-constant") > threshold
        reach = radius[i] * _UPSCALE
        if reach >= 0.0:
            ink = ndimage.distance_transform_edt(~big) <= reach
        else:
            ink = ndimage.distance_transform_edt(big) > -reach
            ink |= np.kron(skeleton[i], np.ones((_UPSCALE, _UPSCALE), bool)) & big
        out[i, ..., 0] = ink.reshape(height, _UPSCALE, width, _UPSCALE).mean(axis=(1, 3))
    return out


def set_thickness(images, width, threshold=0.5):
    """Erodes or dilates every digit's strokes to a mean width of ``width`` pixels.

    Each image is upsampled 4x (bilinear) and binarized at ``threshold``; the
    ink is dilated by ``r`` (every pixel within ``r`` of ink becomes ink) or
    eroded by ``-r`` (every ink pixel within ``-r`` of the background is
    cleared), with ``r = (width - t) / 2`` and ``t`` the image's measured
    stroke width (:func:`kzoo.data.measures.stroke_thickness`); the
    result is averaged back down 4x, which antialiases the edges (Castro et
    al. 2019, Morpho-MNIST, transform at high resolution in the same way).
    The grey edges and rounded stroke ends change the measured width, so
    ``r`` is then corrected twice by half the gap between ``width`` and the
    width measured on the result.
    Erosion never removes a whole stroke that is narrower than it: each image
    keeps at least the part of its ink that lies on its skeleton.

    Args:
        images: gray images ``(N, H, W, 1)`` in ``[0, 1]``.
        width: target mean stroke width in pixels, > 0.
        threshold: binarization level of the ink, in ``(0, 1)``.

    Returns:
        float32 ``(N, H, W, 1)``, 8-bit levels.

    Raises:
        ValueError, TypeError: bad images, width or threshold.
    """
    from kzoo.data.measures import skeletonize, stroke_thickness

    x = _check_images(images)
    width = _check_number(width, "width")
    if width <= 0.0:
        raise ValueError(f"width must be > 0 pixels, got {width!r}.")
    threshold = _check_number(threshold, "threshold")
    if not 0.0 < threshold < 1.0:
        raise ValueError(f"threshold must be in (0, 1), got {threshold!r}.")
    if not len(x):
        return x.copy()
    skeleton = skeletonize(x[..., 0] > threshold)
    radius = (width - stroke_thickness(x, threshold)) / 2.0
    out = _dilate_or_erode(x, radius, skeleton, threshold)
    for _ in range(_CORRECTIONS):  # the antialiased edges and rounded ends change the width measured on the result
        radius += (width - stroke_thickness(out, threshold)) / 2.0
        out = _dilate_or_erode(x, radius, skeleton, threshold)
    return _to_8bit(out)


def _shear_rows(x, shift_per_row, centre_row):
    """Shifts row ``r`` of image ``n`` right by ``shift_per_row[n] * (r - centre_row[n])`` (linear interpolation)."""
    n, height, width, _ = x.shape
    rows = np.arange(height, dtype=np.float64)[None, :, None]
    cols = np.arange(width, dtype=np.float64)[None, None, :]
    source = cols - shift_per_row[:, None, None] * (rows - centre_row[:, None, None])
    left = np.floor(source).astype(np.int64)
    frac = (source - left).astype(np.float32)
    padded = np.pad(x[..., 0], ((0, 0), (0, 0), (1, 1)))  # zeros outside the canvas
    left_value = np.take_along_axis(padded, np.clip(left + 1, 0, width + 1), axis=2)
    right_value = np.take_along_axis(padded, np.clip(left + 2, 0, width + 1), axis=2)
    return ((1.0 - frac) * left_value + frac * right_value)[..., None]


def set_slant(images, slant):
    """Shears every digit horizontally so that its second-moment slant is ``slant``.

    The slant ``s = -mu_11 / mu_02`` (:func:`kzoo.data.measures.slant`)
    changes by exactly ``-a`` under the shear that moves row ``r`` by ``a (r -
    r_0)`` pixels, ``r_0`` the ink's mean row; each image is sheared by ``a =
    s - slant`` about ``r_0`` (linear interpolation, zeros outside the
    canvas), so its measured slant becomes ``slant`` up to rounding to 8 bits
    and ink pushed off the canvas.

    Args:
        images: gray images ``(N, H, W, 1)`` in ``[0, 1]``.
        slant: target slant, horizontal pixels per row (positive: the top
            leans right).

    Returns:
        float32 ``(N, H, W, 1)``, 8-bit levels; blank images stay blank.

    Raises:
        ValueError, TypeError: bad images or slant.
    """
    from kzoo.data.measures import slant as measured_slant

    x = _check_images(images)
    slant = _check_number(slant, "slant")
    if not len(x):
        return x.copy()
    mass = x[..., 0].sum(axis=(1, 2))
    rows = np.arange(x.shape[1], dtype=np.float64)
    centre = (x[..., 0].sum(axis=2) * rows).sum(axis=1) / np.maximum(mass, 1e-12)
    shift = np.where(mass > 0, measured_slant(x) - slant, 0.0)
    return _to_8bit(_shear_rows(x, shift, centre))


def render_8x8(images8, size=28, box=_BOX):
    """Renders 8x8 digits the way MNIST draws digits: upsampled (bilinear) to a ``box`` square centred on the canvas.

    Args:
        images8: gray images ``(N, 8, 8, 1)`` in ``[0, 1]`` (scikit-learn's
            ``digits``, as ``kzoo.data.load_numpy("digits")`` gives them).
        size: canvas side in pixels.
        box: side of the upsampled digit, at most ``size``.

    Returns:
        float32 ``(N, size, size, 1)``, 8-bit levels.

    Raises:
        ValueError: bad images, or a box that does not fit the canvas.
    """
    import tensorflow as tf

    x = _check_images(images8, "images8")
    if not 0 < box <= size:
        raise ValueError(f"box must be in [1, size={size}], got {box!r}.")
    canvas = np.zeros((len(x), size, size, 1), np.float32)
    if len(x):
        pad = (size - box) // 2
        canvas[:, pad:pad + box, pad:pad + box] = tf.image.resize(x, (box, box), method="bilinear").numpy()
    return _to_8bit(canvas)


def to_low_resolution(images, levels=17):
    """MNIST digits in scikit-learn's 8x8 format, rendered back on the canvas (:func:`render_8x8`).

    scikit-learn's digits count the ink of 4x4 blocks of a 32x32 bitmap (17
    levels); here the 20x20 box of an MNIST digit is area-averaged down to
    8x8 and quantized to ``levels`` levels the same way, then rendered as the
    real 8x8 digits are. It is the exact, paired target of the MNIST ->
    ``digits8x8`` direction.

    Args:
        images: gray images ``(N, 28, 28, 1)`` in ``[0, 1]``.
        levels: number of gray levels of the 8x8 image, >= 2.

    Returns:
        float32 ``(N, 28, 28, 1)``, 8-bit levels.

    Raises:
        ValueError: bad images or levels.
    """
    import tensorflow as tf

    x = _check_images(images)
    if x.shape[1:3] != (28, 28):
        raise ValueError(f"images must be 28x28 MNIST digits, got shape {x.shape}.")
    if isinstance(levels, (bool, np.bool_)) or not isinstance(levels, (int, np.integer)) or levels < 2:
        raise ValueError(f"levels must be an int >= 2, got {levels!r}.")
    if not len(x):
        return x.copy()
    pad = (28 - _BOX) // 2
    small = tf.image.resize(x[:, pad:pad + _BOX, pad:pad + _BOX], (8, 8), method="area").numpy()
    small = np.rint(np.clip(small, 0.0, 1.0) * (levels - 1)) / (levels - 1)
    return render_8x8(small)


def to_domain(images, domain):
    """Maps MNIST digits into a named domain (see the module docstring).

    Args:
        images: gray MNIST digits ``(N, 28, 28, 1)`` in ``[0, 1]``.
        domain: one of :data:`DOMAINS` other than ``"digits8x8"`` (real 8x8
            digits are other images, not a transform: its paired stand-in is
            ``"low_resolution"``).

    Returns:
        float32 ``(N, 28, 28, 1)``.

    Raises:
        ValueError: an unknown domain, ``"digits8x8"``, or bad images.
    """
    transforms = {
        "plain": lambda x: _check_images(x).copy(),
        "thin": lambda x: set_thickness(x, THIN_WIDTH),
        "thick": lambda x: set_thickness(x, THICK_WIDTH),
        "slant_left": lambda x: set_slant(x, LEFT_SLANT),
        "slant_right": lambda x: set_slant(x, RIGHT_SLANT),
        "low_resolution": to_low_resolution,
    }
    if domain == "digits8x8":
        raise ValueError("'digits8x8' holds scikit-learn's own digits, not a transform of these images: use "
                         "'low_resolution' for their exact counterpart.")
    if domain not in transforms:
        raise ValueError(f"Unknown domain {domain!r}; known: {', '.join(DOMAINS)}.")
    return transforms[domain](images)


def _check_domain(domain, name):
    if domain not in DOMAINS:
        raise ValueError(f"{name} must be one of {', '.join(DOMAINS)}, got {domain!r}.")
    return domain


def unpaired_domains(domain_a, domain_b, split="train"):
    """Two domains from disjoint halves of an ``mnist5k`` split, for unpaired training.

    The two-domain case of :func:`unpaired_domain_sets`: domain A is the
    first half mapped by :func:`to_domain`, domain B the second.

    Args:
        domain_a: a name of :data:`DOMAINS`.
        domain_b: another name of :data:`DOMAINS`.
        split: ``"train"`` or ``"validation"``.

    Returns:
        ``(x_a, y_a, x_b, y_b)``: float32 images ``(N, 28, 28, 1)`` and int32
        digit labels of each domain.

    Raises:
        ValueError: unknown or equal domains, or a split other than train or
            validation.
    """
    _check_domain(domain_a, "domain_a")
    _check_domain(domain_b, "domain_b")
    if domain_a == domain_b:
        raise ValueError(f"domain_a and domain_b must differ, got {domain_a!r} twice.")
    (x_a, y_a), (x_b, y_b) = unpaired_domain_sets((domain_a, domain_b), split)
    return x_a, y_a, x_b, y_b


def unpaired_domain_sets(domain_names, split="train"):
    """Several domains from disjoint parts of an ``mnist5k`` split, for unpaired training.

    A fixed permutation per class (seed 2018) divides the split into
    ``len(domain_names)`` equal parts, so every part holds every digit
    equally often (the last part takes the remainder of a class that does
    not divide); domain ``k`` is part ``k`` mapped by :func:`to_domain`.
    ``"digits8x8"`` takes scikit-learn's digits of the same split name
    instead (train: 1,439 images; validation: 179), whole, and leaves its
    part unused.

    Args:
        domain_names: two or more distinct names of :data:`DOMAINS`.
        split: ``"train"`` or ``"validation"``.

    Returns:
        A list of ``(x, y)`` per domain: float32 images ``(N, 28, 28, 1)``
        and int32 digit labels.

    Raises:
        ValueError: unknown or repeated domains, fewer than two, or a split
            other than train or validation.
    """
    names = tuple(domain_names) if not isinstance(domain_names, str) else (domain_names,)
    if len(names) < 2:
        raise ValueError(f"domain_names must name at least two domains, got {domain_names!r}.")
    for i, name in enumerate(names):
        _check_domain(name, f"domain_names[{i}]")
    if len(set(names)) < len(names):
        raise ValueError(f"domain_names must differ from one another, got {names!r}.")
    if split not in ("train", "validation"):
        raise ValueError(f"split must be 'train' or 'validation' (the official test set is for "
                         f"paired_domains), got {split!r}.")
    x, y = _gray_split("mnist5k", split)
    rng = np.random.default_rng(_SPLIT_SEED)
    parts = [[] for _ in names]
    for digit in range(10):
        idx = rng.permutation(np.flatnonzero(y == digit))
        bounds = [k * len(idx) // len(names) for k in range(len(names))] + [len(idx)]
        for k in range(len(names)):
            parts[k].append(idx[bounds[k]:bounds[k + 1]])
    out = []
    for domain, part in zip(names, parts):
        if domain == "digits8x8":
            small, labels = _gray_split("digits", split)
            out.append((render_8x8(small), labels.astype(np.int32)))
        else:
            idx = np.sort(np.concatenate(part))
            out.append((to_domain(x[idx], domain), y[idx].astype(np.int32)))
    return out


def paired_domains(images, domain_a, domain_b):
    """The same images in two domains: the exact targets of a translation, in both directions.

    Args:
        images: gray MNIST digits ``(N, 28, 28, 1)`` in ``[0, 1]`` (e.g. the
            official test set).
        domain_a: a name of :data:`DOMAINS`; ``"digits8x8"`` stands for its
            exact counterpart ``"low_resolution"``.
        domain_b: another name.

    Returns:
        ``(x_a, x_b)``, float32 ``(N, 28, 28, 1)`` each.

    Raises:
        ValueError: unknown or equal domains, or bad images.
    """
    stand_in = {"digits8x8": "low_resolution"}
    a = stand_in.get(_check_domain(domain_a, "domain_a"), domain_a)
    b = stand_in.get(_check_domain(domain_b, "domain_b"), domain_b)
    if a == b:
        raise ValueError(f"domain_a and domain_b must differ, got {domain_a!r} and {domain_b!r}.")
    return to_domain(images, a), to_domain(images, b)


@dataclasses.dataclass(frozen=True)
class KeyPatches:
    """Key patches of a batch of images (:func:`key_patches`).

    Attributes:
        patches: float32 ``(N, K, H, W, 1)``: each patch resized to the full
            canvas (bilinear), in the order it was chosen (most ink first).
        boxes: int32 ``(N, K, 4)``: ``(top, left, bottom, right)`` of each
            patch in the image, bottom and right exclusive.
        masks: float32 ``(N, K, H, W, 1)``: 1 inside each patch's box.
        mask: float32 ``(N, H, W, 1)``: the union of the masks, the region
            the patches came from.
    """

    patches: np.ndarray
    boxes: np.ndarray
    masks: np.ndarray
    mask: np.ndarray


def key_patches(images, num_patches=3, size=10, min_distance: Optional[int] = None):
    """The ``num_patches`` windows of ``size x size`` pixels that hold the most ink, each resized to the canvas.

    Windows are chosen greedily: the one with the most ink, then the one with
    the most ink among those whose top-left corner is at least
    ``min_distance`` pixels (Chebyshev) from every chosen corner, and so on;
    a blank image gives windows at the top-left corners in scan order.

    Args:
        images: gray images ``(N, H, W, 1)`` in ``[0, 1]``.
        num_patches: patches per image, >= 1.
        size: window side in pixels, at most the image side.
        min_distance: least Chebyshev distance between chosen corners
            (default ``size // 2``: patches overlap by at most half).

    Returns:
        A :class:`KeyPatches`.

    Raises:
        ValueError: bad images, or a count, size or distance that does not fit.
    """
    import tensorflow as tf

    x = _check_images(images)
    n, height, width, _ = x.shape
    if isinstance(num_patches, (bool, np.bool_)) or not isinstance(num_patches, (int, np.integer)) or num_patches < 1:
        raise ValueError(f"num_patches must be an int >= 1, got {num_patches!r}.")
    if isinstance(size, (bool, np.bool_)) or not isinstance(size, (int, np.integer)) or not 1 <= size <= min(
            height, width):
        raise ValueError(f"size must be an int in [1, {min(height, width)}], got {size!r}.")
    min_distance = size // 2 if min_distance is None else min_distance
    if isinstance(min_distance, (bool, np.bool_)) or not isinstance(min_distance, (int, np.integer)) or \
            min_distance < 0:
        raise ValueError(f"min_distance must be an int >= 0, got {min_distance!r}.")
    corners_h, corners_w = height - size + 1, width - size + 1
    sums = np.pad(x[..., 0].cumsum(1).cumsum(2), ((0, 0), (1, 0), (1, 0)))
    ink = (sums[:, size:, size:] - sums[:, :-size, size:] - sums[:, size:, :-size] + sums[:, :-size, :-size])
    ink = ink[:, :corners_h, :corners_w].reshape(n, -1).astype(np.float64)
    rows, cols = np.divmod(np.arange(corners_h * corners_w), corners_w)
    boxes = np.zeros((n, num_patches, 4), np.int32)
    available = np.ones_like(ink, bool)
    for k in range(num_patches):
        if not available.any(axis=1).all():
            raise ValueError(f"{num_patches} patches of {size} px at least {min_distance} px apart do not fit a "
                             f"{height}x{width} image.")
        best = np.argmax(np.where(available, ink, -1.0), axis=1)
        top, left = rows[best], cols[best]
        boxes[:, k] = np.stack([top, left, top + size, left + size], axis=1)
        far = (np.abs(rows[None] - top[:, None]) >= min_distance) | (np.abs(cols[None] - left[:, None]) >= min_distance)
        available &= far if min_distance else (np.arange(ink.shape[1])[None] != best[:, None])
    masks = np.zeros((n, num_patches, height, width, 1), np.float32)
    for i in range(n):
        for k, (top, left, bottom, right) in enumerate(boxes[i]):
            masks[i, k, top:bottom, left:right] = 1.0
    if n:
        normalized = boxes.reshape(-1, 4).astype(np.float32) / np.array(
            [height - 1, width - 1, height - 1, width - 1], np.float32)
        normalized[:, 2:] -= 1.0 / np.array([height - 1, width - 1], np.float32)  # exclusive -> inclusive edge
        patches = tf.image.crop_and_resize(x, normalized, np.repeat(np.arange(n), num_patches), (height, width))
        patches = np.clip(patches.numpy(), 0.0, 1.0).reshape(n, num_patches, height, width, 1)
    else:
        patches = np.zeros((0, num_patches, height, width, 1), np.float32)
    return KeyPatches(patches=patches.astype(np.float32), boxes=boxes, masks=masks, mask=masks.max(axis=1))


# ------------------------------------------------------- named pair and stack sets
#: Registered pair datasets: name -> (domain A, domain B).
PAIR_DATASETS = {
    "domains-thickness": ("thin", "thick"),
    "domains-slant": ("slant_left", "slant_right"),
    "domains-resolution": ("plain", "digits8x8"),
}
#: Registered stacks of many domains: name -> the domain of each channel.
STACK_DATASETS = {"domains-five": FIVE_DOMAINS}


def _stack_levels(*images):
    return np.rint(np.concatenate(images, axis=-1) * 255.0).astype(np.uint8)


def _held_out(split, data_dir):
    if split == "validation":
        return _gray_split("mnist5k", "validation")
    return _gray_split("mnist", "test", data_dir)


@functools.lru_cache(maxsize=8)
def _pair_arrays(name, split, data_dir):
    domain_a, domain_b = PAIR_DATASETS[name]
    if split == "train":
        x_a, y_a, x_b, _ = unpaired_domains(domain_a, domain_b, "train")
        if len(x_b) != len(x_a):  # the 1,439 real 8x8 digits, cycled in a fixed order to the size of domain A
            order = np.random.default_rng(_SPLIT_SEED).permutation(np.resize(np.arange(len(x_b)), len(x_a)))
            x_b = x_b[order]
        return _stack_levels(x_a, x_b), y_a
    x, y = _held_out(split, data_dir)
    x_a, x_b = paired_domains(x, domain_a, domain_b)
    return _stack_levels(x_a, x_b), y.astype(np.int32)


@functools.lru_cache(maxsize=4)
def _stack_arrays(name, split, data_dir):
    domain_names = STACK_DATASETS[name]
    if split == "train":
        sets = unpaired_domain_sets(domain_names, "train")
        size = min(len(x) for x, _ in sets)  # equal parts of a balanced split; trimmed if a class does not divide
        return _stack_levels(*(x[:size] for x, _ in sets)), sets[0][1][:size]
    x, y = _held_out(split, data_dir)
    return _stack_levels(*(to_domain(x, domain) for domain in domain_names)), y.astype(np.int32)


def _loader(arrays, name):
    def load(split, *, labels=False, data_dir=None, **_):
        x, y = arrays(name, split, None if data_dir is None else os.fspath(data_dir))
        return x, (y if labels else None)
    return load


_HELD_OUT_TEXT = ("'validation' (the 500 mnist5k validation images) and 'test' (the official MNIST test set, "
                  "data_dir=...) are paired: every channel shows the same digit")


def _register_domain_datasets():
    from kzoo.data.registry import DatasetInfo, register_dataset

    def register(name, channels, train_size, description, arrays):
        register_dataset(
            DatasetInfo(name=name, shape=(28, 28, channels), num_classes=10,
                        splits={"train": train_size, "validation": 500, "test": 10000}, bit_depth=8, kind="image",
                        description=description, num_levels=256, class_names=tuple(str(i) for i in range(10))),
            _loader(arrays, name),
        )

    for name, (domain_a, domain_b) in PAIR_DATASETS.items():
        register(name, 2, 2250, (
            f"Pairs of digit images for image-to-image translation, {domain_a!r} (channel 0) and "
            f"{domain_b!r} (channel 1), from kzoo.data.domains. 'train': unpaired, domain A from one half of "
            "mnist5k train and domain B from the other (the 1,439 scikit-learn training digits for "
            f"'digits8x8'), so no pair corresponds; {_HELD_OUT_TEXT}, the second the exact target of the first "
            "('low_resolution' standing in for real 8x8 digits). Labels are the digits of channel 0."), _pair_arrays)
    for name, domain_names in STACK_DATASETS.items():
        channels = ", ".join(f"{domain!r} ({k})" for k, domain in enumerate(domain_names))
        register(name, len(domain_names), 4500 // len(domain_names), (
            f"Stacks of one digit image per domain for many-domain translation, channel by channel: {channels}; "
            f"from kzoo.data.domains. 'train': unpaired, each channel from its own {len(domain_names)}th of mnist5k "
            f"train, so no two channels show the same digit; {_HELD_OUT_TEXT}, each channel the exact target of "
            "every other. Labels are the digits of channel 0."), _stack_arrays)


_register_domain_datasets()
