"""Code priors of the adversarial autoencoder: a standard normal, 10 Gaussians on a circle, a swiss roll.

Every prior is a TFP distribution over ``latent_dim``-dimensional codes
(``sample`` and ``log_prob`` work as usual):

* ``"normal"``: N(0, I) in any dimension (``tfd.MultivariateNormalDiag``).
* ``"mixture"``: 10 Gaussians with equal weights whose means lie on a circle
  of radius :data:`CIRCLE_RADIUS` in the first two dimensions (standard
  deviation :data:`CIRCLE_SCALE` there); for ``latent_dim > 2`` every other
  dimension is an independent N(0, 1) (the same for all components).
* ``"swiss_roll"``: a 2-D swiss roll built as an equal-weight mixture of
  :data:`ROLL_COMPONENTS` small Gaussians (standard deviation
  :data:`ROLL_SCALE`) spaced evenly in arc length along the spiral
  ``(t cos t, t sin t) / 3``, ``t`` in [1.5 pi, 4.5 pi]; for ``latent_dim > 2``
  the other dimensions are N(0, 1), as for the mixture.

The two structured priors are ``tfd.MixtureSameFamily`` distributions of
diagonal Gaussians. Their components are ordered along the circle or the
roll, and :func:`component_classes` assigns each class a contiguous run of
them, so :func:`class_prior` gives the class-conditional prior of the
supervised adversarial autoencoder (Makhzani et al. 2015, section 2.3:
class ``c`` lives on its own petal of the circle or its own stretch of the
roll). :func:`sample_with_noise` turns given uniform and normal noise into
prior draws, which a distributed train step needs (every replica draws its
share of one global batch's noise; see
:meth:`kzoo.core.GenerativeModel.step_noise`).

:func:`fit_code_mixture` and :func:`code_mixture` are the other direction:
a full-covariance Gaussian mixture fitted by EM to codes a trained model
produced (the autoencoder's ex-post code density, the latent-code novelty
score of :class:`kzoo.analysis.anomaly.CodeDensity`).

References:
    Makhzani, Shlens, Jaitly, Goodfellow & Frey, "Adversarial
    Autoencoders", arXiv:1511.05644, 2015 (figures 2 and 4).
"""

import math

import numpy as np
import tensorflow as tf
import tensorflow_probability as tfp

from kzoo.core.validation import check_choice, check_positive_int

__all__ = ["PRIORS", "class_prior", "code_mixture", "component_classes", "fit_code_mixture", "make_prior",
           "num_components", "sample_with_noise"]

tfd = tfp.distributions

PRIORS = ("normal", "mixture", "swiss_roll")

#: Components of the ``"mixture"`` prior, their radius and standard deviation.
CIRCLE_COMPONENTS = 10
CIRCLE_RADIUS = 4.0
CIRCLE_SCALE = 0.5
#: Components of the ``"swiss_roll"`` prior and their standard deviation.
ROLL_COMPONENTS = 100
ROLL_SCALE = 0.2


def num_components(name):
    """Mixture components of a prior (1 for ``"normal"``).

    Raises:
        ValueError: unknown prior name.
    """
    name = check_choice(name, "prior", PRIORS)
    return {"normal": 1, "mixture": CIRCLE_COMPONENTS, "swiss_roll": ROLL_COMPONENTS}[name]


def _circle_means():
    angles = 2.0 * math.pi * np.arange(CIRCLE_COMPONENTS) / CIRCLE_COMPONENTS
    return CIRCLE_RADIUS * np.stack([np.cos(angles), np.sin(angles)], axis=1)


def _roll_means():
    # Evenly spaced in arc length along (t cos t, t sin t) / 3.
    t = np.linspace(1.5 * math.pi, 4.5 * math.pi, 20_001)
    points = np.stack([t * np.cos(t), t * np.sin(t)], axis=1) / 3.0
    arc = np.concatenate([[0.0], np.cumsum(np.linalg.norm(np.diff(points, axis=0), axis=1))])
    targets = np.linspace(0.0, arc[-1], ROLL_COMPONENTS)
    chosen = np.interp(targets, arc, t)
    return np.stack([chosen * np.cos(chosen), chosen * np.sin(chosen)], axis=1) / 3.0


def _check_dims(name, latent_dim):
    latent_dim = check_positive_int(latent_dim, "latent_dim")
    if name != "normal" and latent_dim < 2:
        raise ValueError(f"the {name!r} prior lives in at least 2 dimensions; latent_dim must be >= 2, "
                         f"got {latent_dim}.")
    return latent_dim


def _component_params(name, latent_dim):
    """Means and standard deviations ``(K, latent_dim)`` of a structured prior's components (float32)."""
    means2d, scale = (_circle_means(), CIRCLE_SCALE) if name == "mixture" else (_roll_means(), ROLL_SCALE)
    k = len(means2d)
    loc = np.zeros((k, latent_dim), np.float32)
    loc[:, :2] = means2d
    stddev = np.ones((k, latent_dim), np.float32)
    stddev[:, :2] = scale
    return loc, stddev


def make_prior(name, latent_dim, num_classes=None):
    """The prior p(z) over codes, as a TFP distribution with event shape ``(latent_dim,)``.

    Args:
        name: ``"normal"``, ``"mixture"`` or ``"swiss_roll"`` (see the module
            docstring).
        latent_dim: code dimension (>= 2 for the structured priors).
        num_classes: None, or the number of classes the prior will be split
            into by :func:`class_prior` (checked here: each class needs at
            least one component, and ``"normal"`` has none to split).

    Returns:
        ``tfd.MultivariateNormalDiag`` for ``"normal"``, else a
        ``tfd.MixtureSameFamily`` of ``tfd.MultivariateNormalDiag``
        components with equal weights.

    Raises:
        ValueError: unknown name, bad ``latent_dim``, or ``num_classes``
            that the prior cannot be split into.
    """
    name = check_choice(name, "prior", PRIORS)
    latent_dim = _check_dims(name, latent_dim)
    if num_classes is not None:
        component_classes(name, num_classes)
    if name == "normal":
        return tfd.MultivariateNormalDiag(loc=tf.zeros(latent_dim), scale_diag=tf.ones(latent_dim))
    loc, stddev = _component_params(name, latent_dim)
    return tfd.MixtureSameFamily(
        mixture_distribution=tfd.Categorical(logits=tf.zeros(len(loc))),
        components_distribution=tfd.MultivariateNormalDiag(loc=tf.constant(loc), scale_diag=tf.constant(stddev)),
    )


def component_classes(name, num_classes):
    """The class owning each mixture component: contiguous runs along the circle or the roll.

    Component ``k`` of ``K`` belongs to class ``floor(k * num_classes / K)``,
    so with 10 classes each of the 10 circle components is one class and each
    class owns a tenth of the swiss roll.

    Args:
        name: ``"mixture"`` or ``"swiss_roll"``.
        num_classes: number of classes, at most the number of components.

    Returns:
        int32 numpy array ``(K,)``.

    Raises:
        ValueError: ``"normal"`` (no components to split), ``num_classes``
            not a positive int or above the number of components.
    """
    name = check_choice(name, "prior", PRIORS)
    num_classes = check_positive_int(num_classes, "num_classes")
    if name == "normal":
        raise ValueError("a class-conditional prior needs prior='mixture' or 'swiss_roll' (components to split "
                         "among the classes), got prior='normal'.")
    k = num_components(name)
    if num_classes > k:
        raise ValueError(f"the {name!r} prior has {k} components, one per class at most; num_classes must be "
                         f"<= {k}, got {num_classes}.")
    return (np.arange(k) * num_classes // k).astype(np.int32)


def class_prior(name, latent_dim, labels, num_classes):
    """Per-example priors restricted to each label's components.

    Args:
        name: ``"mixture"`` or ``"swiss_roll"``.
        latent_dim: code dimension.
        labels: int tensor ``(N,)``; ``-1`` (unlabeled) keeps every component.
        num_classes: number of classes (see :func:`component_classes`).

    Returns:
        A ``tfd.MixtureSameFamily`` with batch shape ``(N,)``: example ``i``'s
        mixture keeps only the components of class ``labels[i]``, with equal
        weights.

    Raises:
        ValueError: as :func:`component_classes`.
    """
    owners = tf.constant(component_classes(name, num_classes))
    latent_dim = _check_dims(name, latent_dim)
    loc, stddev = _component_params(name, latent_dim)
    labels = tf.reshape(tf.cast(labels, tf.int32), [-1, 1])
    keep = tf.logical_or(tf.equal(labels, owners[None, :]), labels < 0)
    logits = tf.where(keep, 0.0, -np.inf)
    n = tf.shape(labels)[0]
    shape = tf.stack([n, len(loc), latent_dim])
    return tfd.MixtureSameFamily(
        mixture_distribution=tfd.Categorical(logits=logits),
        components_distribution=tfd.MultivariateNormalDiag(loc=tf.broadcast_to(tf.constant(loc), shape),
                                                           scale_diag=tf.broadcast_to(tf.constant(stddev), shape)),
    )


def sample_with_noise(prior, uniform, normal):
    """Draws from a prior of :func:`make_prior` / :func:`class_prior` given its noise.

    The component is the inverse CDF of the mixture weights at ``uniform``;
    the draw is that component's mean plus its standard deviation times
    ``normal``. The result is a deterministic function of the noise, so the
    noise can come from :meth:`kzoo.core.GenerativeModel.step_noise` or from
    a stateless seed.

    Args:
        prior: ``tfd.MultivariateNormalDiag`` or a ``tfd.MixtureSameFamily``
            of them, batch shape ``()`` or ``(N,)``.
        uniform: float32 ``(N,)`` in [0, 1) (ignored for a plain Gaussian).
        normal: float32 ``(N, latent_dim)`` standard-normal noise.

    Returns:
        float32 tensor ``(N, latent_dim)``.

    Raises:
        TypeError: a prior of another kind.
    """
    normal = tf.cast(normal, tf.float32)
    if isinstance(prior, tfd.MultivariateNormalDiag):
        return prior.mean() + prior.stddev() * normal
    if not (isinstance(prior, tfd.MixtureSameFamily)
            and isinstance(prior.components_distribution, tfd.MultivariateNormalDiag)):
        raise TypeError(f"sample_with_noise needs a MultivariateNormalDiag or a MixtureSameFamily of them, got "
                        f"{type(prior).__name__}.")
    n = tf.shape(normal)[0]
    probs = prior.mixture_distribution.probs_parameter()  # (K,) or (N, K)
    k = tf.shape(probs)[-1]
    probs = tf.broadcast_to(probs, tf.stack([n, k]))
    cdf = tf.cumsum(probs, axis=-1)
    uniform = tf.reshape(tf.cast(uniform, tf.float32), [-1, 1]) * cdf[:, -1:]
    index = tf.minimum(tf.reduce_sum(tf.cast(cdf <= uniform, tf.int32), axis=-1), k - 1)
    # A draw landing on a zero-weight tail (rounding) moves back to the last kept component.
    kept = tf.cast(probs > 0, tf.int32) * tf.range(k)[None, :]
    index = tf.where(tf.gather(probs, index[:, None], batch_dims=1)[:, 0] > 0, index, tf.reduce_max(kept, axis=-1))
    components = prior.components_distribution
    dim = tf.shape(normal)[1]
    loc = tf.broadcast_to(components.mean(), tf.stack([n, k, dim]))
    scale = tf.broadcast_to(components.stddev(), tf.stack([n, k, dim]))
    chosen_loc = tf.gather(loc, index, batch_dims=1)
    chosen_scale = tf.gather(scale, index, batch_dims=1)
    return chosen_loc + chosen_scale * normal


def fit_code_mixture(codes, components, seed=0, max_iterations=200, reg_covar=1e-5):
    """Fits a full-covariance Gaussian mixture to codes by EM (scikit-learn's ``GaussianMixture``).

    Args:
        codes: array ``(N, D)`` with ``N > max(D, components)``.
        components: number of mixture components.
        seed: seed of the EM initialization.
        max_iterations: EM iterations at most.
        reg_covar: added to the diagonal of every covariance.

    Returns:
        ``(logits, means, scale_trils)``: float32 arrays ``(K,)``, ``(K, D)``
        and ``(K, D, D)``, the arguments of :func:`code_mixture`.

    Raises:
        ValueError: codes that are not a finite 2-D array, or too few of them.
    """
    from sklearn.mixture import GaussianMixture

    components = check_positive_int(components, "components")
    codes = np.asarray(codes, dtype=np.float64)
    if codes.ndim != 2 or not np.all(np.isfinite(codes)):
        raise ValueError(f"codes must be a finite 2-D array (N, latent_dim), got shape {codes.shape}"
                         + ("" if codes.ndim != 2 else " with NaN or inf values") + ".")
    if len(codes) <= max(codes.shape[1], components):
        raise ValueError(f"a {components}-component mixture over {codes.shape[1]}-d codes needs more than "
                         f"{max(codes.shape[1], components)} codes, got {len(codes)}.")
    mixture = GaussianMixture(components, covariance_type="full", reg_covar=reg_covar, max_iter=max_iterations,
                              random_state=seed).fit(codes)
    return (np.log(mixture.weights_).astype(np.float32), mixture.means_.astype(np.float32),
            np.linalg.cholesky(mixture.covariances_).astype(np.float32))


def code_mixture(logits, means, scale_trils):
    """The Gaussian mixture of :func:`fit_code_mixture`'s parameters as a ``tfd.MixtureSameFamily``.

    Args:
        logits: mixture logits ``(K,)``.
        means: component means ``(K, D)``.
        scale_trils: lower-triangular Cholesky factors of the covariances
            ``(K, D, D)``.

    Returns:
        A ``tfd.MixtureSameFamily`` of ``tfd.MultivariateNormalTriL`` over
        ``(D,)`` vectors.
    """
    return tfd.MixtureSameFamily(
        mixture_distribution=tfd.Categorical(logits=tf.convert_to_tensor(logits, tf.float32)),
        components_distribution=tfd.MultivariateNormalTriL(loc=tf.convert_to_tensor(means, tf.float32),
                                                           scale_tril=tf.convert_to_tensor(scale_trils, tf.float32)))
