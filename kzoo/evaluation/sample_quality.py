"""Sample quality of a generative model: FID, KID, IS, precision and recall.

:func:`sample_quality` draws samples batch by batch, passes each batch
through a feature extractor (:mod:`kzoo.evaluation.features`) and accumulates
the streaming statistics, so the images themselves are never all held in
memory (only their low-dimensional features, which KID and precision/recall
need). The real side is summarized once by :func:`reference_features`, which
can cache its result in an ``.npz`` file and be reused for many models.

What each number measures:

* ``fid`` (lower is better): Frechet distance between Gaussian fits of real
  and generated features; quality and diversity mixed, biased upwards for
  small sample sizes, so compare values at equal ``n_samples``.
* ``kid`` (lower is better): unbiased MMD^2 with a cubic kernel, averaged over
  subsets; ``kid_std`` is the spread over subsets.
* ``inception_score`` (higher is better, at most the number of classes):
  confident and class-balanced predictions; needs no real images.
* ``precision`` (fidelity) and ``recall`` (diversity / coverage): k-NN
  manifold estimates in feature space.

Values depend on the feature extractor: MNIST-classifier numbers (the
default) are comparable with each other only, never with the Inception-based
numbers of papers. Its features are raw ReLU activations (mean square about
16 per dimension), so its KID values are on a much larger scale than the
Inception-based KIDs of papers.
Reference points with the shipped classifier, 2,000 samples against the 500
``mnist5k`` validation images (``benchmarks/sample_quality_calibration.py``):
real training images FID 3.7, IS 9.4, precision 0.92, recall 0.85; digits
0-4 only FID 300, IS 5.0, recall 0.43; uniform noise FID 7,400, IS 1.0.

References:
    Heusel et al., "GANs Trained by a Two Time-Scale Update Rule Converge to
    a Local Nash Equilibrium", NeurIPS 2017 (FID).
    Binkowski et al., "Demystifying MMD GANs", ICLR 2018 (KID).
    Salimans et al., "Improved Techniques for Training GANs", NeurIPS 2016
    (Inception Score).
    Kynkaanniemi et al., "Improved Precision and Recall Metric for Assessing
    Generative Models", NeurIPS 2019.
"""

import hashlib
import os
import time

import numpy as np

from kzoo.core.validation import check_positive_int
from kzoo.metrics.fid import FeatureStatistics
from kzoo.metrics.inception_score import inception_score
from kzoo.metrics.kid import kernel_inception_distance
from kzoo.metrics.precision_recall import precision_recall

#: Metric names accepted by ``metrics=``; each adds the keys listed.
METRIC_KEYS = {
    "fid": ("fid",),
    "kid": ("kid", "kid_std"),
    "inception_score": ("inception_score", "inception_score_std"),
    "precision": ("precision",),
    "recall": ("recall",),
}
METRICS = tuple(METRIC_KEYS)
#: Metrics that compare with real images (the Inception Score does not).
REFERENCE_METRICS = ("fid", "kid", "precision", "recall")


def check_metrics(metrics):
    """Returns ``metrics`` as a tuple of known names, or raises ValueError naming the bad one."""
    if isinstance(metrics, str):
        metrics = (metrics,)
    metrics = tuple(metrics)
    if not metrics:
        raise ValueError(f"metrics is empty; expected some of {', '.join(METRICS)}.")
    for name in metrics:
        if name not in METRIC_KEYS:
            raise ValueError(f"Unknown metric {name!r}; expected some of {', '.join(METRICS)}.")
    return metrics


def _fingerprint(images):
    x = np.ascontiguousarray(images, dtype=np.float32)
    digest = hashlib.sha256(str(x.shape).encode())
    digest.update(x.tobytes())
    return digest.hexdigest()


class ReferenceFeatures:
    """Features of a set of real images under one extractor, with their statistics.

    Holds the ``(N, d)`` feature array (KID and precision/recall need every
    vector) and its :class:`~kzoo.metrics.fid.FeatureStatistics` (FID). Build
    it with :func:`reference_features`; :meth:`save` / :meth:`load` keep it in
    an ``.npz`` file.

    Args:
        features: array ``(N, d)``.
        extractor: name of the extractor that made them.
        fingerprint: sha256 of the real images, to detect a stale cache.

    Raises:
        ValueError: ``features`` is not a finite 2-D array with 2 or more rows.
    """

    def __init__(self, features, extractor, fingerprint=None):
        self.features = np.asarray(features, dtype=np.float32)
        if self.features.ndim != 2 or self.features.shape[0] < 2:
            raise ValueError(
                f"reference features must have shape (N >= 2, d); received shape {self.features.shape}."
            )
        self.statistics = FeatureStatistics.from_features(self.features)
        self.extractor = str(extractor)
        self.fingerprint = fingerprint

    def __len__(self):
        return int(self.features.shape[0])

    @property
    def dim(self):
        return int(self.features.shape[1])

    def save(self, path):
        """Writes the features, extractor name and fingerprint to ``path`` (``.npz``), atomically."""
        path = os.fspath(path)
        folder = os.path.dirname(os.path.abspath(path))
        os.makedirs(folder, exist_ok=True)
        tmp = os.path.join(folder, f".{os.path.basename(path)}.{os.getpid()}.tmp.npz")
        np.savez(tmp, features=self.features, extractor=np.array(self.extractor),
                 fingerprint=np.array(self.fingerprint or ""))
        os.replace(tmp, path)
        return path

    @classmethod
    def load(cls, path):
        """Reads a file written by :meth:`save`.

        Raises:
            FileNotFoundError: no such file.
            ValueError: the file lacks ``features`` or ``extractor``.
        """
        with np.load(os.fspath(path), allow_pickle=False) as data:
            missing = [key for key in ("features", "extractor") if key not in data]
            if missing:
                raise ValueError(f"{path} lacks {missing}; expected a file written by ReferenceFeatures.save.")
            fingerprint = str(data["fingerprint"]) if "fingerprint" in data else ""
            return cls(data["features"], str(data["extractor"]), fingerprint or None)

    def __repr__(self):
        return f"ReferenceFeatures(n={len(self)}, dim={self.dim}, extractor={self.extractor!r})"


def reference_features(real_images, extractor="mnist", *, batch_size=None, cache=None):
    """Computes (or reads from ``cache``) the features of real images.

    Args:
        real_images: array ``(N, H, W, C)`` in ``[0, 1]`` with ``N >= 2``.
        extractor: a :class:`~kzoo.evaluation.features.FeatureExtractor`, a name
            (``"mnist"``, ``"inception_v3"``) or a ``keras.Model``.
        batch_size: images per forward pass (default: the extractor's).
        cache: optional ``.npz`` path. If it holds features of the same images
            (same sha256 fingerprint) by the same extractor they are loaded;
            otherwise they are computed and written there.

    Returns:
        A :class:`ReferenceFeatures`.

    Raises:
        ValueError: bad images (shape, range, NaN) or fewer than 2 of them.
    """
    from kzoo.evaluation.features import get_feature_extractor

    extractor = get_feature_extractor(extractor)
    images = extractor.check_images(real_images, name="real images")
    if len(images) < 2:
        raise ValueError(f"real images hold {len(images)} image; at least 2 are needed.")
    fingerprint = _fingerprint(images)
    if cache is not None and os.path.isfile(os.fspath(cache)):
        try:
            cached = ReferenceFeatures.load(cache)
        except (OSError, ValueError):
            cached = None
        if cached is not None and cached.extractor == extractor.name and cached.fingerprint == fingerprint:
            return cached
    reference = ReferenceFeatures(extractor.features(images, batch_size=batch_size), extractor.name, fingerprint)
    if cache is not None:
        reference.save(cache)
    return reference


def _batch_seed(seed, index):
    """A distinct, reproducible int seed for batch ``index`` of a run seeded with ``seed``."""
    state = np.random.SeedSequence([int(seed), int(index)]).generate_state(1)[0]
    return int(state % (2**31 - 1))


def sample_quality(model, real_images=None, *, n_samples=2000, extractor="mnist", metrics=METRICS, seed=0,
                   batch_size=250, kid_subsets=100, kid_subset_size=1000, pr_k=3, is_splits=10,
                   sample_kwargs=None, cache=None, verbose=True):
    """Draws samples from a model and measures their quality against real images.

    Samples are drawn ``batch_size`` at a time with
    ``model.generate(size, seed=s_i, **sample_kwargs)``, where ``s_i`` is
    derived from ``seed`` and the batch index (so the run is reproducible),
    and each batch is featurized at once.

    Args:
        model: a generative model (anything with ``generate(n, seed=...)``
            returning ``(n, H, W, C)`` images in ``[0, 1]``).
        real_images: array ``(N, H, W, C)`` in ``[0, 1]``, or
            :class:`ReferenceFeatures` from :func:`reference_features` (reuse
            it across models). Only the Inception Score works without it.
        n_samples: number of generated samples.
        extractor: feature extractor or its name (see
            :func:`kzoo.evaluation.features.get_feature_extractor`).
        metrics: which of ``"fid"``, ``"kid"``, ``"inception_score"``,
            ``"precision"``, ``"recall"`` to compute (default: all).
        seed: sampling seed.
        batch_size: samples generated and featurized per step.
        kid_subsets: number of KID subsets.
        kid_subset_size: samples per side in each KID subset (clipped to the
            set sizes).
        pr_k: the ``k`` of k-NN precision/recall.
        is_splits: Inception Score splits (clipped to ``n_samples``).
        sample_kwargs: extra keyword arguments for ``model.generate``.
        cache: optional ``.npz`` path for the real features (see
            :func:`reference_features`).
        verbose: show a progress bar.

    Returns:
        A dict with ``fid``, ``kid``, ``kid_std``, ``inception_score``,
        ``inception_score_std``, ``precision``, ``recall`` (floats, or
        ``None`` when not requested or not available from the extractor),
        ``n_samples``, ``n_real`` (``None`` without real images),
        ``feature_extractor`` (its name), ``sample_seconds_per_image``
        (generation time per image, without the first batch when there are
        several, since it includes graph tracing) and ``seconds`` (the whole
        call).

    Raises:
        ValueError: bad arguments, a metric that needs real images without
            them, features of another extractor in ``real_images``, or
            samples of the wrong shape or range.
    """
    from kzoo.evaluation.features import get_feature_extractor

    start = time.perf_counter()
    metrics = check_metrics(metrics)
    n_samples = check_positive_int(n_samples, "n_samples")
    batch_size = check_positive_int(batch_size, "batch_size")
    pr_k = check_positive_int(pr_k, "pr_k")
    is_splits = check_positive_int(is_splits, "is_splits")
    extractor = get_feature_extractor(extractor)
    wants_is = "inception_score" in metrics
    if wants_is and not extractor.provides_probabilities:
        raise ValueError(f"The extractor {extractor.name!r} gives no class probabilities, so "
                         "'inception_score' cannot be computed; drop it from metrics.")
    needs_reference = [m for m in metrics if m in REFERENCE_METRICS]
    if needs_reference and real_images is None:
        raise ValueError(f"metrics {needs_reference} compare with real images; pass real_images.")
    if needs_reference and n_samples < 2:
        raise ValueError(f"n_samples={n_samples}; at least 2 samples are needed for {needs_reference}.")
    reference = None
    if needs_reference:
        if isinstance(real_images, ReferenceFeatures):
            reference = real_images
            if reference.extractor != extractor.name:
                raise ValueError(
                    f"real_images holds features of extractor {reference.extractor!r}, but the extractor is "
                    f"{extractor.name!r}; recompute them with reference_features(..., extractor).")
        else:
            reference = reference_features(real_images, extractor, cache=cache)
    if ("precision" in metrics or "recall" in metrics) and min(n_samples, len(reference)) <= pr_k:
        raise ValueError(f"precision/recall with pr_k={pr_k} need more than {pr_k} real and generated "
                         f"samples; got {len(reference)} real and n_samples={n_samples}.")

    real_shape = None
    if reference is not None and not isinstance(real_images, ReferenceFeatures):
        real_shape = tuple(np.shape(real_images)[1:])
        real_shape = real_shape + (1,) if len(real_shape) == 2 else real_shape
    sample_kwargs = dict(sample_kwargs or {})
    fake_stats = FeatureStatistics()
    fake_features, probabilities = [], []
    batch_seconds = []
    progress = None
    if verbose:
        import keras

        progress = keras.utils.Progbar(n_samples, unit_name="sample")
    for index, first in enumerate(range(0, n_samples, batch_size)):
        size = min(batch_size, n_samples - first)
        tick = time.perf_counter()
        images = np.asarray(model.generate(size, seed=_batch_seed(seed, index), **sample_kwargs))
        batch_seconds.append((time.perf_counter() - tick, size))
        if images.shape[0] != size:
            raise ValueError(f"model.generate({size}) returned {images.shape[0]} samples; expected {size}.")
        if real_shape is not None and tuple(images.shape[1:]) != real_shape:
            raise ValueError(f"generated images have shape {tuple(images.shape[1:])} per image but the real "
                             f"images have shape {real_shape}.")
        if wants_is:
            features, probs = extractor.features_and_probabilities(images)
            probabilities.append(probs)
        else:
            features = extractor.features(images)
        fake_stats.update(features)
        if reference is not None and features.shape[1] != reference.dim:
            raise ValueError(f"generated features have dim {features.shape[1]} but the reference features "
                             f"have dim {reference.dim}.")
        fake_features.append(features)
        if progress is not None:
            progress.add(size)

    timed = batch_seconds[1:] if len(batch_seconds) > 1 else batch_seconds
    result = {key: None for name in METRICS for key in METRIC_KEYS[name]}
    result.update({
        "n_samples": n_samples,
        "n_real": None if reference is None else len(reference),
        "feature_extractor": extractor.name,
        "sample_seconds_per_image": sum(s for s, _ in timed) / sum(n for _, n in timed),
    })
    fakes = np.concatenate(fake_features)
    if "fid" in metrics:
        result["fid"] = fake_stats.frechet_distance(reference.statistics)
    if "kid" in metrics:
        result["kid"], result["kid_std"] = kernel_inception_distance(
            reference.features, fakes, num_subsets=kid_subsets, subset_size=kid_subset_size, seed=seed)
    if "precision" in metrics or "recall" in metrics:
        pr = precision_recall(reference.features, fakes, k=pr_k)
        for key in ("precision", "recall"):
            if key in metrics:
                result[key] = pr[key]
    if wants_is:
        result["inception_score"], result["inception_score_std"] = inception_score(
            np.concatenate(probabilities), splits=min(is_splits, n_samples))
    result["seconds"] = round(time.perf_counter() - start, 2)
    return result

