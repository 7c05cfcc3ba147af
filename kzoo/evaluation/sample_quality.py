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


def to_uint8(images):
    """Rounds images in ``[0, 1]`` to 8 bits, as a PNG file stores them.

    Args:
        images: float array with values in ``[0, 1]`` (values outside are
            clipped).

    Returns:
        A uint8 numpy array of the same shape, ``round(255 * x)``.
    """
    return np.round(np.clip(np.asarray(images, dtype=np.float32), 0.0, 1.0) * 255.0).astype(np.uint8)


def from_uint8(pixels):
    """8-bit pixels as float32 images in ``[0, 1]`` (``pixels / 255``), the inverse of :func:`to_uint8`.

    Args:
        pixels: uint8 array.

    Returns:
        A float32 numpy array of the same shape.
    """
    return np.asarray(pixels, dtype=np.float32) / np.float32(255.0)


def sample_quality(model, real_images=None, *, n_samples=2000, extractor="mnist", metrics=METRICS, seed=0,
                   batch_size=250, kid_subsets=100, kid_subset_size=1000, pr_k=3, is_splits=10,
                   sample_kwargs=None, cache=None, quantize=True, verbose=True):
    """Draws samples from a model and measures their quality against real images.

    Samples are drawn ``batch_size`` at a time with
    ``model.generate(size, seed=s_i, **sample_kwargs)``, where ``s_i`` is
    derived from ``seed`` and the batch index (so the run is reproducible),
    and each batch is featurized at once. ``kzoo sample --out-dir`` writes
    the same batches to disk (:mod:`kzoo.evaluation.sample_folder`), so a
    folder of samples scores as this function does.

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
        quantize: round the samples to 8 bits (:func:`to_uint8`) before the
            features, so the numbers are those of the samples saved as PNG
            files (real image datasets are 8-bit too). It moves FID by about
            0.1% for models with continuous pixel values.
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
    start = time.perf_counter()
    n_samples = check_positive_int(n_samples, "n_samples")
    batch_size = check_positive_int(batch_size, "batch_size")
    setup = _QualitySetup(real_images, n_samples, extractor=extractor, metrics=metrics, pr_k=pr_k,
                          is_splits=is_splits, cache=cache)
    sample_kwargs = dict(sample_kwargs or {})
    batch_seconds = []

    def batches():
        for index, first in enumerate(range(0, n_samples, batch_size)):
            size = min(batch_size, n_samples - first)
            tick = time.perf_counter()
            images = np.asarray(model.generate(size, seed=_batch_seed(seed, index), **sample_kwargs))
            batch_seconds.append((time.perf_counter() - tick, size))
            if images.shape[0] != size:
                raise ValueError(f"model.generate({size}) returned {images.shape[0]} samples; expected {size}.")
            yield from_uint8(to_uint8(images)) if quantize else images

    result = setup.score(batches(), seed=seed, kid_subsets=kid_subsets, kid_subset_size=kid_subset_size,
                         verbose=verbose, what="generated images")
    timed = batch_seconds[1:] if len(batch_seconds) > 1 else batch_seconds
    result["sample_seconds_per_image"] = sum(s for s, _ in timed) / sum(n for _, n in timed)
    result["seconds"] = round(time.perf_counter() - start, 2)
    return result


class _QualitySetup:
    """The checked metrics, extractor and real features of one quality measurement, and its scoring loop.

    :func:`sample_quality` feeds it batches drawn from a model,
    :func:`kzoo.evaluation.sample_folder.folder_sample_quality` batches read
    from files.

    Args:
        real_images: array, :class:`ReferenceFeatures` or None (see
            :func:`sample_quality`).
        n_samples: the number of images that will be scored.
        extractor: feature extractor or its name.
        metrics: metric names.
        pr_k: the ``k`` of k-NN precision/recall.
        is_splits: Inception Score splits.
        cache: optional ``.npz`` path for the real features.

    Raises:
        ValueError: as :func:`sample_quality`.
    """

    def __init__(self, real_images, n_samples, *, extractor, metrics, pr_k, is_splits, cache):
        from kzoo.evaluation.features import get_feature_extractor

        self.metrics = check_metrics(metrics)
        self.n_samples = n_samples
        self.pr_k = check_positive_int(pr_k, "pr_k")
        self.is_splits = check_positive_int(is_splits, "is_splits")
        self.extractor = get_feature_extractor(extractor)
        self.wants_is = "inception_score" in self.metrics
        if self.wants_is and not self.extractor.provides_probabilities:
            raise ValueError(f"The extractor {self.extractor.name!r} gives no class probabilities, so "
                             "'inception_score' cannot be computed; drop it from metrics.")
        needs_reference = [m for m in self.metrics if m in REFERENCE_METRICS]
        if needs_reference and real_images is None:
            raise ValueError(f"metrics {needs_reference} compare with real images; pass real_images.")
        if needs_reference and n_samples < 2:
            raise ValueError(f"n_samples={n_samples}; at least 2 samples are needed for {needs_reference}.")
        self.reference = None
        if needs_reference:
            if isinstance(real_images, ReferenceFeatures):
                self.reference = real_images
                if self.reference.extractor != self.extractor.name:
                    raise ValueError(
                        f"real_images holds features of extractor {self.reference.extractor!r}, but the extractor "
                        f"is {self.extractor.name!r}; recompute them with reference_features(..., extractor).")
            else:
                self.reference = reference_features(real_images, self.extractor, cache=cache)
        if ("precision" in self.metrics or "recall" in self.metrics) and min(n_samples, len(self.reference)) <= pr_k:
            raise ValueError(f"precision/recall with pr_k={pr_k} need more than {pr_k} real and generated "
                             f"samples; got {len(self.reference)} real and n_samples={n_samples}.")
        self.real_shape = None
        if self.reference is not None and not isinstance(real_images, ReferenceFeatures):
            real_shape = tuple(np.shape(real_images)[1:])
            self.real_shape = real_shape + (1,) if len(real_shape) == 2 else real_shape

    def score(self, batches, *, seed, kid_subsets, kid_subset_size, verbose, what):
        """Featurizes image batches as they come and computes the metrics.

        Args:
            batches: an iterable of float arrays ``(b, H, W, C)`` in
                ``[0, 1]`` holding ``n_samples`` images in all.
            seed: seed of the KID subsets.
            kid_subsets: number of KID subsets.
            kid_subset_size: samples per side in each KID subset.
            verbose: show a progress bar.
            what: how the images are named in error messages.

        Returns:
            The dict of :func:`sample_quality` without
            ``sample_seconds_per_image`` and ``seconds``.

        Raises:
            ValueError: images of a shape other than the real images' or
                the extractor's, or a count other than ``n_samples``.
        """
        metrics, reference, extractor = self.metrics, self.reference, self.extractor
        fake_stats = FeatureStatistics()
        fake_features, probabilities = [], []
        progress = None
        if verbose:
            import keras

            progress = keras.utils.Progbar(self.n_samples, unit_name="sample")
        count = 0
        for images in batches:
            if self.real_shape is not None and tuple(images.shape[1:]) != self.real_shape:
                raise ValueError(f"{what} have shape {tuple(images.shape[1:])} per image but the real "
                                 f"images have shape {self.real_shape}.")
            if self.wants_is:
                features, probs = extractor.features_and_probabilities(images)
                probabilities.append(probs)
            else:
                features = extractor.features(images)
            fake_stats.update(features)
            if reference is not None and features.shape[1] != reference.dim:
                raise ValueError(f"generated features have dim {features.shape[1]} but the reference features "
                                 f"have dim {reference.dim}.")
            fake_features.append(features)
            count += len(images)
            if progress is not None:
                progress.add(len(images))
        if count != self.n_samples:
            raise ValueError(f"{count} {what} were scored; expected {self.n_samples}.")

        n_samples = self.n_samples
        result = {key: None for name in METRICS for key in METRIC_KEYS[name]}
        result.update({
            "n_samples": n_samples,
            "n_real": None if reference is None else len(reference),
            "feature_extractor": extractor.name,
        })
        fakes = np.concatenate(fake_features)
        if "fid" in metrics:
            result["fid"] = fake_stats.frechet_distance(reference.statistics)
        if "kid" in metrics:
            result["kid"], result["kid_std"] = kernel_inception_distance(
                reference.features, fakes, num_subsets=kid_subsets, subset_size=kid_subset_size, seed=seed)
        if "precision" in metrics or "recall" in metrics:
            pr = precision_recall(reference.features, fakes, k=self.pr_k)
            for key in ("precision", "recall"):
                if key in metrics:
                    result[key] = pr[key]
        if self.wants_is:
            result["inception_score"], result["inception_score_std"] = inception_score(
                np.concatenate(probabilities), splits=min(self.is_splits, n_samples))
        return result
