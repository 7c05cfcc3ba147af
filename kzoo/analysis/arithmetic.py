"""Latent arithmetic: attributes measured on images, directions in latent space.

A generator maps latent codes ``z`` to images. If an image attribute varies
smoothly with ``z``, the difference between the mean code of images that
have the attribute and the mean code of images that lack it is a direction
that adds the attribute, and codes can be combined by vector arithmetic
("thick slanted 7" - "thin slanted 7" + "thin upright 7" = "thick upright
7"), as Radford et al. showed for DCGAN (they average the codes of a few
hand-picked samples per concept). Here the groups are picked by
measurements instead of by eye:

1. draw codes, decode them (:func:`sample_with_latents`) and score each
   image (:func:`attribute_scores`);
2. take the codes of the lowest and highest scoring fraction of images
   (:func:`split_by_attribute`) and their means (:func:`group_means`);
3. the difference of the means is the attribute direction
   (:func:`attribute_direction`); moving codes along it
   (:func:`traverse`) should move the measured attribute, which
   :func:`traverse` lets one check with numbers, not only pictures;
4. :func:`vector_arithmetic` adds and subtracts group means.

Attributes of handwritten digits (images in ``[0, 1]``, ink bright on a
dark background, as MNIST), defined from the pixels alone:

``thickness`` (:func:`stroke_thickness`)
    Ink mass divided by stroke length, in pixels: a stroke of width ``w``
    and length ``L`` holds about ``w L`` ink and thins to a skeleton of
    length about ``L``. The skeleton is the Zhang-Suen thinning of the image
    binarized at ``threshold``, measured along its links (diagonal links
    count sqrt 2) and corrected for the half width thinning removes at each
    free end, so straight bars of any length and angle read their width.
``slant`` (:func:`slant`)
    The shear that second image moments give, ``-mu_11 / mu_02`` with
    pixel-intensity weights, ``x`` the column and ``y`` the row (downwards):
    the horizontal displacement per unit of height of the principal axis.
    Positive when the top of the digit leans to the right; ``0`` for a
    digit symmetric about a vertical axis; ``degrees(arctan(slant))`` is
    the lean angle. The usual MNIST deskewing undoes exactly this shear.
``ink`` (:func:`ink_mass`)
    Total intensity (the number of fully lit pixels it amounts to).

Decoding codes is model-specific; :func:`latent_decoder` finds the
latent-to-sample method of a model (``decode`` for the latent-variable
models, ``generate_from_latents``/``decode_latents``/... for the GANs) or
takes a plain function.

References:
    Radford, Metz and Chintala, "Unsupervised Representation Learning with
    Deep Convolutional Generative Adversarial Networks", ICLR 2016 (vector
    arithmetic on averaged latent codes, latent walks).
    White, "Sampling Generative Networks", 2016 (attribute vectors from
    labelled means, spherical interpolation).
    Zhang and Suen, "A Fast Parallel Algorithm for Thinning Digital
    Patterns", Communications of the ACM 27(3), 1984 (the skeleton).
"""

import dataclasses

import numpy as np

from kzoo.analysis.interpolation import interpolate_pairs, interpolation_grid
from kzoo.core.validation import check_positive_int

#: Method names tried, in order, to map latent codes to samples.
DECODER_METHODS = (
    "decode",
    "generate_from_latents",
    "generate_from_latent",
    "decode_latents",
    "sample_from_latents",
    "generate_from_z",
)


# ------------------------------------------------------------------ images
def _gray_images(images, name="images"):
    x = np.asarray(images, dtype=np.float64)
    if x.ndim == 4:
        if x.shape[-1] != 1:
            raise ValueError(f"{name} must be grayscale (N, H, W, 1) or (N, H, W); got shape {x.shape}.")
        x = x[..., 0]
    if x.ndim != 3 or x.shape[0] == 0:
        raise ValueError(f"{name} must have shape (N, H, W, 1) or (N, H, W) with N >= 1; got shape {x.shape}.")
    if not np.all(np.isfinite(x)):
        raise ValueError(f"{name} contain NaN or infinite values.")
    if x.min() < -1e-3 or x.max() > 1.0 + 1e-3:
        raise ValueError(f"{name} values span [{x.min():.4g}, {x.max():.4g}]; expected images in [0, 1].")
    return np.clip(x, 0.0, 1.0)


def _neighbours(padded):
    """The 8 neighbours P2..P9 (N, NE, E, SE, S, SW, W, NW) of every pixel of a padded batch."""
    return [
        padded[:, :-2, 1:-1], padded[:, :-2, 2:], padded[:, 1:-1, 2:], padded[:, 2:, 2:],
        padded[:, 2:, 1:-1], padded[:, 2:, :-2], padded[:, 1:-1, :-2], padded[:, :-2, :-2],
    ]


def skeletonize(binary, max_iterations=100):
    """Zhang-Suen thinning of a batch of binary images.

    Removes boundary pixels in two alternating sub-iterations until none
    can be removed without breaking connectivity or shortening a stroke's
    end, leaving a skeleton about one pixel wide.

    Args:
        binary: bool (or 0/1) array ``(N, H, W)``.
        max_iterations: upper bound on the number of passes.

    Returns:
        bool array ``(N, H, W)``, a subset of ``binary``.

    Raises:
        ValueError: the array is not 3-D.
    """
    image = np.asarray(binary).astype(bool)
    if image.ndim != 3:
        raise ValueError(f"binary must have shape (N, H, W), got {image.shape}.")
    image = image.copy()
    max_iterations = check_positive_int(max_iterations, "max_iterations")
    for _ in range(max_iterations):
        changed = False
        for first in (True, False):
            padded = np.pad(image, ((0, 0), (1, 1), (1, 1))).astype(np.uint8)
            p = _neighbours(padded)
            count = sum(p)
            ring = p + [p[0]]
            transitions = sum(((ring[k] == 0) & (ring[k + 1] == 1)).astype(np.uint8) for k in range(8))
            north, east, south, west = p[0], p[2], p[4], p[6]
            if first:
                keep_a, keep_b = north * east * south, east * south * west
            else:
                keep_a, keep_b = north * east * west, north * south * west
            remove = image & (count >= 2) & (count <= 6) & (transitions == 1) & (keep_a == 0) & (keep_b == 0)
            if remove.any():
                image &= ~remove
                changed = True
        if not changed:
            break
    return _remove_corners(image)


def _remove_corners(image):
    """Deletes staircase corners that Zhang-Suen thinning leaves in diagonal strokes.

    A corner pixel has two perpendicular horizontal/vertical neighbours
    (e.g. east and south) that touch diagonally without it. It is removed
    when it is a simple point (Yokoi's 8-connectivity number is 1, so the
    removal keeps every 8-connected component and hole) and not an end
    point. One corner orientation is handled per pass, so two neighbouring
    corners never go together.
    """
    for first, second in ((2, 4), (4, 6), (6, 0), (0, 2)):  # (E, S), (S, W), (W, N), (N, E)
        padded = np.pad(image, ((0, 0), (1, 1), (1, 1))).astype(np.uint8)
        p = _neighbours(padded)  # N, NE, E, SE, S, SW, W, NW
        # Yokoi's 8-connectivity number over the 4-neighbours N, W, S, E and the corners between them.
        off = [1 - q for q in p]
        yokoi = sum(off[k] - off[k] * off[(k + 1) % 8] * off[(k + 2) % 8] for k in (0, 2, 4, 6))
        between = (first + 1) % 8 if (first + 2) % 8 == second else (second + 1) % 8
        corner = (p[first] == 1) & (p[second] == 1) & (p[between] == 0)
        image = image & ~(corner & (yokoi == 1) & (sum(p) >= 2))
    return image


def ink_mass(images):
    """Total intensity of each image (in units of fully lit pixels).

    Args:
        images: array ``(N, H, W, 1)`` or ``(N, H, W)`` in ``[0, 1]``.

    Returns:
        float array ``(N,)``.

    Raises:
        ValueError: wrong shape, NaN or values outside ``[0, 1]``.
    """
    return _gray_images(images).sum(axis=(1, 2))


def skeleton_length(skeleton):
    """Length in pixels and number of end points of one-pixel-wide skeletons.

    Neighbouring skeleton pixels are joined by links of length 1
    (horizontal or vertical neighbours) or sqrt 2 (diagonal neighbours that
    no horizontal-vertical pair of links already joins), so a straight
    staircase is measured along its direction. An end point is a pixel with
    exactly one neighbour; an isolated pixel counts as two end points.

    Args:
        skeleton: bool array ``(N, H, W)``.

    Returns:
        ``(length, ends)``: float array ``(N,)`` (sum of link lengths) and
        int array ``(N,)``.

    Raises:
        ValueError: the array is not 3-D.
    """
    sk = np.asarray(skeleton).astype(bool)
    if sk.ndim != 3:
        raise ValueError(f"skeleton must have shape (N, H, W), got {sk.shape}.")
    straight = (sk[:, :, :-1] & sk[:, :, 1:]).sum(axis=(1, 2)) + (sk[:, :-1, :] & sk[:, 1:, :]).sum(axis=(1, 2))
    down_right = sk[:, :-1, :-1] & sk[:, 1:, 1:] & ~(sk[:, :-1, 1:] | sk[:, 1:, :-1])
    down_left = sk[:, :-1, 1:] & sk[:, 1:, :-1] & ~(sk[:, :-1, :-1] | sk[:, 1:, 1:])
    diagonal = down_right.sum(axis=(1, 2)) + down_left.sum(axis=(1, 2))
    count = sum(_neighbours(np.pad(sk, ((0, 0), (1, 1), (1, 1))).astype(np.uint8)))
    ends = (sk & (count == 1)).sum(axis=(1, 2)) + 2 * (sk & (count == 0)).sum(axis=(1, 2))
    return straight + np.sqrt(2.0) * diagonal, ends.astype(np.int64)


def stroke_thickness(images, threshold=0.5):
    """Mean stroke width in pixels: ink mass / stroke length.

    The stroke length is the length of the Zhang-Suen skeleton of the image
    binarized at ``threshold`` (:func:`skeletonize`,
    :func:`skeleton_length`), corrected for the ends: thinning eats about
    half a stroke width ``t`` at each of the ``e`` free ends, so the stroke
    length is ``L + e t / 2`` and ``t`` solves ``t (L + e t / 2) = M`` with
    ``M`` the ink mass. A straight bar of width ``w`` gives ``t = w``
    whatever its length and angle; a blob of area ``M`` (a one-pixel
    skeleton) gives ``sqrt(M)``.

    Args:
        images: array ``(N, H, W, 1)`` or ``(N, H, W)`` in ``[0, 1]``
            (bright strokes on a dark background).
        threshold: binarization level for the skeleton, in ``(0, 1)``.

    Returns:
        float array ``(N,)``; 0 for an image with no pixel above
        ``threshold``.

    Raises:
        ValueError: bad images or threshold.
    """
    x = _gray_images(images)
    if not 0.0 < float(threshold) < 1.0:
        raise ValueError(f"threshold must be in (0, 1), got {threshold!r}.")
    skeleton = skeletonize(x > threshold)
    length, ends = skeleton_length(skeleton)
    mass = x.sum(axis=(1, 2))
    half_ends = ends / 2.0
    with np.errstate(divide="ignore", invalid="ignore"):
        with_ends = (np.sqrt(length**2 + 4.0 * half_ends * mass) - length) / (2.0 * half_ends)
        closed = mass / length
    thickness = np.where(ends > 0, with_ends, closed)
    return np.where(skeleton.any(axis=(1, 2)), thickness, 0.0)


def slant(images):
    """Shear of each image from its second moments, ``-mu_11 / mu_02``.

    Args:
        images: array ``(N, H, W, 1)`` or ``(N, H, W)`` in ``[0, 1]``.

    Returns:
        float array ``(N,)``: horizontal shift per unit of height, positive
        when the top leans right; 0 for a blank image or a single row.

    Raises:
        ValueError: bad images.
    """
    x = _gray_images(images)
    _, height, width = x.shape
    rows = np.arange(height, dtype=np.float64)[None, :, None]
    cols = np.arange(width, dtype=np.float64)[None, None, :]
    mass = x.sum(axis=(1, 2))
    safe = np.maximum(mass, 1e-12)
    row_mean = (x * rows).sum(axis=(1, 2)) / safe
    col_mean = (x * cols).sum(axis=(1, 2)) / safe
    dr = rows - row_mean[:, None, None]
    dc = cols - col_mean[:, None, None]
    mu11 = (x * dr * dc).sum(axis=(1, 2)) / safe
    mu02 = (x * dr * dr).sum(axis=(1, 2)) / safe
    return np.where((mass > 0) & (mu02 > 1e-12), -mu11 / np.maximum(mu02, 1e-12), 0.0)


#: Attribute name -> function of a batch of images returning ``(N,)`` scores.
ATTRIBUTES = {"thickness": stroke_thickness, "slant": slant, "ink": ink_mass}


def attribute_scores(images, attributes=("thickness", "slant")):
    """Scores images on named attributes.

    Args:
        images: array ``(N, H, W, 1)`` or ``(N, H, W)`` in ``[0, 1]``.
        attributes: names from :data:`ATTRIBUTES` (``"thickness"``,
            ``"slant"``, ``"ink"``).

    Returns:
        dict name -> float array ``(N,)``.

    Raises:
        ValueError: an unknown attribute name or bad images.
    """
    if isinstance(attributes, str):
        attributes = (attributes,)
    unknown = [a for a in attributes if a not in ATTRIBUTES]
    if unknown or not attributes:
        raise ValueError(f"Unknown attributes {unknown or list(attributes)}; known: {', '.join(ATTRIBUTES)}.")
    return {name: ATTRIBUTES[name](images) for name in attributes}


# ----------------------------------------------------------------- latents
def latent_decoder(model):
    """The function that maps a batch of latent codes to samples for ``model``.

    Args:
        model: an object with one of the methods in :data:`DECODER_METHODS`
            (``decode`` of latent-variable models, ``generate_from_latents``
            and similar names of generators), or a plain callable
            ``z -> samples``.

    Returns:
        A callable taking a float32 array ``(N, latent_dim)`` and returning
        samples ``(N,) + data_shape`` (images in ``[0, 1]``).

    Raises:
        ValueError: the model has no latent-to-sample method.
    """
    for name in DECODER_METHODS:
        method = getattr(model, name, None)
        if callable(method):
            return method
    if callable(model) and not hasattr(model, "generate"):
        return model
    raise ValueError(
        f"{type(model).__name__} has no method mapping latent codes to samples (looked for "
        f"{', '.join(DECODER_METHODS)}); pass a model with one of them or a function z -> samples."
    )


def decode(model, latents, batch_size=256, labels=None):
    """Decodes latent codes in batches with :func:`latent_decoder`.

    Args:
        model: see :func:`latent_decoder`.
        latents: array ``(N, latent_dim)`` (or ``(..., latent_dim)``: the
            leading axes are kept).
        batch_size: codes per call.
        labels: for a class-conditional model, the class of each code
            (shape ``latents.shape[:-1]``, or one int for all), passed to
            the decoder as ``labels=``; None leaves the choice to the model
            (kzoo's conditional GANs cycle through the classes).

    Returns:
        float32 array ``latents.shape[:-1] + data_shape``.

    Raises:
        ValueError: no decoder, a non-finite code or labels of the wrong
            shape.
    """
    decoder = latent_decoder(model)
    z = np.asarray(latents, dtype=np.float32)
    if z.ndim < 2 or z.shape[-1] == 0 or z.size == 0:
        raise ValueError(f"latents must have shape (..., latent_dim) with at least one code, got {z.shape}.")
    if not np.all(np.isfinite(z)):
        raise ValueError("latents contain NaN or infinite values.")
    batch_size = check_positive_int(batch_size, "batch_size")
    flat = z.reshape(-1, z.shape[-1])
    if labels is not None:
        labels = np.asarray(labels)
        if labels.ndim == 0:
            labels = np.full(z.shape[:-1], labels)
        if labels.shape != z.shape[:-1]:
            raise ValueError(f"labels must have shape {z.shape[:-1]} (one per code), got {labels.shape}.")
        labels = labels.reshape(-1)
    chunks = []
    for i in range(0, len(flat), batch_size):
        extra = {} if labels is None else {"labels": labels[i : i + batch_size]}
        chunks.append(np.asarray(decoder(flat[i : i + batch_size], **extra), dtype=np.float32))
    out = np.concatenate(chunks)
    return out.reshape(z.shape[:-1] + out.shape[1:])


def _latent_dim(model, latent_dim):
    if latent_dim is not None:
        return check_positive_int(latent_dim, "latent_dim")
    value = getattr(model, "latent_dim", None)
    if value is None:
        raise ValueError(f"{type(model).__name__} has no latent_dim attribute; pass latent_dim=.")
    return check_positive_int(int(value), "latent_dim")


def sample_with_latents(model, n, seed=0, latent_dim=None, prior=None, batch_size=256, labels=None):
    """Draws codes from the prior and decodes them.

    Args:
        model: see :func:`latent_decoder`; its ``latent_dim`` attribute gives
            the code size unless ``latent_dim`` is passed.
        n: number of codes.
        seed: int seed of the prior draw.
        latent_dim: code size, for models (or functions) without a
            ``latent_dim`` attribute.
        prior: ``None`` for the model's own ``sample_latents(n, seed=...)``
            when it has one (kzoo GANs: it also draws structured codes such
            as InfoGAN's), else a standard Gaussian; ``"normal"`` (standard
            Gaussian, the prior of kzoo's VAEs) or ``"uniform"`` (on
            ``[-1, 1]``) to force one.
        batch_size: codes per decoder call.
        labels: class per code for a conditional model (see :func:`decode`).

    Returns:
        ``(latents, samples)``: float32 arrays ``(n, latent_dim)`` and
        ``(n,) + data_shape``.

    Raises:
        ValueError: bad ``n``, ``prior`` or a model without a decoder.
    """
    n = check_positive_int(n, "n")
    own = getattr(model, "sample_latents", None)
    if prior is None and latent_dim is None and callable(own):
        z = np.asarray(own(n, seed=seed), dtype=np.float32)
        return z, decode(model, z, batch_size=batch_size, labels=labels)
    dim = _latent_dim(model, latent_dim)
    rng = np.random.default_rng(seed)
    if prior in (None, "normal"):
        z = rng.standard_normal((n, dim))
    elif prior == "uniform":
        z = rng.uniform(-1.0, 1.0, (n, dim))
    else:
        raise ValueError(f"prior must be 'normal' or 'uniform', got {prior!r}.")
    z = z.astype(np.float32)
    return z, decode(model, z, batch_size=batch_size, labels=labels)


def split_by_attribute(scores, fraction=0.2):
    """Masks of the lowest and highest scoring ``fraction`` of examples.

    Args:
        scores: 1-D array of attribute scores.
        fraction: share of examples in each group, in ``(0, 0.5]``.

    Returns:
        ``(low, high)`` bool arrays; each selects ``round(fraction * N)``
        examples (at least 1), ties broken by position.

    Raises:
        ValueError: an empty or non-finite score array or a bad fraction.
    """
    scores = np.asarray(scores, dtype=np.float64)
    if scores.ndim != 1 or scores.size < 2 or not np.all(np.isfinite(scores)):
        raise ValueError(f"scores must be a finite 1-D array of at least 2 values, got shape {scores.shape}.")
    if not 0.0 < float(fraction) <= 0.5:
        raise ValueError(f"fraction must be in (0, 0.5], got {fraction!r}.")
    size = max(int(round(float(fraction) * scores.size)), 1)
    order = np.argsort(scores, kind="stable")
    low = np.zeros(scores.size, bool)
    high = np.zeros(scores.size, bool)
    low[order[:size]] = True
    high[order[-size:]] = True
    return low, high


def group_means(latents, groups):
    """Mean latent code of each group.

    Args:
        latents: array ``(N, D)``.
        groups: dict name -> bool mask ``(N,)`` (or index array).

    Returns:
        dict name -> float32 array ``(D,)``.

    Raises:
        ValueError: an empty group or a mask of the wrong length.
    """
    z = np.asarray(latents, dtype=np.float64)
    if z.ndim != 2:
        raise ValueError(f"latents must have shape (N, D), got {z.shape}.")
    means = {}
    for name, mask in groups.items():
        mask = np.asarray(mask)
        if mask.dtype == bool and mask.shape != (len(z),):
            raise ValueError(f"group {name!r} has a mask of shape {mask.shape}; expected ({len(z)},).")
        selected = z[mask]
        if len(selected) == 0:
            raise ValueError(f"group {name!r} is empty: no example to average.")
        means[name] = selected.mean(axis=0).astype(np.float32)
    return means


def vector_arithmetic(plus, minus=()):
    """``sum(plus) - sum(minus)`` of latent vectors (e.g. group means).

    Args:
        plus: sequence of 1-D vectors added.
        minus: sequence of 1-D vectors subtracted.

    Returns:
        float32 array ``(D,)``.

    Raises:
        ValueError: no vector to add, or vectors of different shapes.
    """
    plus = [np.ravel(np.asarray(v, np.float64)) for v in plus]
    minus = [np.ravel(np.asarray(v, np.float64)) for v in minus]
    if not plus:
        raise ValueError("vector_arithmetic needs at least one vector in plus.")
    shapes = {v.shape for v in plus + minus}
    if len(shapes) != 1:
        raise ValueError(f"all vectors must have the same shape, got {sorted(shapes)}.")
    return (sum(plus) - sum(minus, np.zeros_like(plus[0]))).astype(np.float32)


@dataclasses.dataclass(frozen=True)
class AttributeDirection:
    """A latent direction that adds an attribute (:func:`attribute_direction`).

    Attributes:
        name: the attribute.
        vector: float32 ``(D,)``, mean code of the high group minus mean code
            of the low group.
        low_mean: mean code of the low group.
        high_mean: mean code of the high group.
        low_score: mean attribute score of the low group.
        high_score: mean attribute score of the high group.
        group_size: examples per group.
    """

    name: str
    vector: np.ndarray
    low_mean: np.ndarray
    high_mean: np.ndarray
    low_score: float
    high_score: float
    group_size: int

    @property
    def unit(self):
        """The direction normalized to unit length."""
        return (self.vector / max(float(np.linalg.norm(self.vector)), 1e-12)).astype(np.float32)


def attribute_direction(latents, scores, fraction=0.2, name="attribute"):
    """Mean code of the top ``fraction`` minus mean code of the bottom ``fraction``.

    Args:
        latents: array ``(N, D)`` of the codes that made the scored samples.
        scores: array ``(N,)`` of attribute scores of those samples.
        fraction: share of examples in each group, in ``(0, 0.5]``.
        name: recorded in the result.

    Returns:
        An :class:`AttributeDirection`.

    Raises:
        ValueError: mismatched lengths or bad scores/fraction.
    """
    z = np.asarray(latents, dtype=np.float64)
    scores = np.asarray(scores, dtype=np.float64)
    if z.ndim != 2 or scores.shape != (len(z),):
        raise ValueError(f"latents (N, D) and scores (N,) must match, got {z.shape} and {scores.shape}.")
    low, high = split_by_attribute(scores, fraction)
    means = group_means(z, {"low": low, "high": high})
    return AttributeDirection(
        name=str(name),
        vector=vector_arithmetic([means["high"]], [means["low"]]),
        low_mean=means["low"],
        high_mean=means["high"],
        low_score=float(scores[low].mean()),
        high_score=float(scores[high].mean()),
        group_size=int(low.sum()),
    )


def traverse(model, latents, direction, alphas=(-2.0, -1.0, 0.0, 1.0, 2.0), batch_size=256, labels=None):
    """Decodes ``z + alpha * direction`` for every code and step.

    Args:
        model: see :func:`latent_decoder`.
        latents: array ``(P, D)`` of base codes.
        direction: ``(D,)`` vector or an :class:`AttributeDirection` (its
            ``vector``; ``alpha = 1`` moves a code by the full difference of
            the group means).
        alphas: 1-D sequence of step sizes.
        batch_size: codes per decoder call.
        labels: for a conditional model, the class of each base code
            ``(P,)`` (kept along its walk) or one int.

    Returns:
        float32 array ``(P, len(alphas)) + data_shape``.

    Raises:
        ValueError: mismatched shapes or no decoder.
    """
    vector = direction.vector if isinstance(direction, AttributeDirection) else direction
    z = np.asarray(latents, dtype=np.float32)
    vector = np.ravel(np.asarray(vector, dtype=np.float32))
    alphas = np.asarray(alphas, dtype=np.float32).ravel()
    if z.ndim != 2 or z.shape[1] != vector.size or alphas.size == 0:
        raise ValueError(
            f"latents must be (P, {vector.size}) to match the direction and alphas non-empty; got latents "
            f"{z.shape}, direction {vector.shape}, {alphas.size} alphas."
        )
    codes = z[:, None, :] + alphas[None, :, None] * vector[None, None, :]
    return decode(model, codes, batch_size=batch_size, labels=_per_row(labels, codes.shape[:2]))


def _per_row(labels, shape):
    """Labels of ``shape[0]`` rows repeated along each row (one int is kept as is)."""
    if labels is None or np.ndim(labels) == 0:
        return labels
    labels = np.asarray(labels).reshape(-1)
    if labels.shape != (shape[0],):
        raise ValueError(f"labels must have one entry per row, shape ({shape[0]},), got {labels.shape}.")
    return np.broadcast_to(labels[:, None], shape)


def interpolation_images(model, starts, ends, steps=8, method="slerp", batch_size=256, labels=None):
    """Decoded interpolation paths, one row per pair of codes.

    Args:
        model: see :func:`latent_decoder`.
        starts: array ``(P, D)`` of start codes.
        ends: array ``(P, D)`` of end codes.
        steps: points per path, ends included.
        method: ``"slerp"`` (for Gaussian priors) or ``"lerp"``.
        batch_size: codes per decoder call.
        labels: for a conditional model, the class of each path ``(P,)``
            or one int.

    Returns:
        float32 array ``(P, steps) + data_shape``.

    Raises:
        ValueError: mismatched shapes, a bad ``steps``/``method``, or no
            decoder.
    """
    codes = interpolate_pairs(starts, ends, steps=steps, method=method)
    return decode(model, codes, batch_size=batch_size, labels=_per_row(labels, codes.shape[:2]))


def grid_images(model, corners, rows=8, cols=8, method="slerp", batch_size=256, labels=None):
    """Decoded sheet of codes spanned by four corner codes.

    Args:
        model: see :func:`latent_decoder`.
        corners: array ``(4, D)``: top-left, top-right, bottom-left,
            bottom-right codes.
        rows: rows of the sheet (at least 2).
        cols: columns of the sheet (at least 2).
        method: ``"slerp"`` or ``"lerp"``.
        batch_size: codes per decoder call.
        labels: for a conditional model, one class for the whole sheet or
            one per cell ``(rows, cols)``.

    Returns:
        float32 array ``(rows, cols) + data_shape``.

    Raises:
        ValueError: ``corners`` is not ``(4, D)``, bad sizes or no decoder.
    """
    corners = np.asarray(corners, dtype=np.float64)
    if corners.ndim != 2 or corners.shape[0] != 4:
        raise ValueError(f"corners must have shape (4, D), got {corners.shape}.")
    codes = interpolation_grid(*corners, rows=rows, cols=cols, method=method)
    return decode(model, codes, batch_size=batch_size, labels=labels)
