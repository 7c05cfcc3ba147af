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

Attributes are measured on images by :mod:`kzoo.data.measures`
(stroke thickness, slant, ink mass).

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
"""

import dataclasses

import numpy as np

from kzoo.core.interpolation import interpolate_pairs, interpolation_grid
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
