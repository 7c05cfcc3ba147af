"""Mode collapse diagnostics: mode coverage on 2-D mixtures, class histograms.

Two measurements of how much of the data distribution a sampler reaches,
both independent of how the model is built (anything with a
``generate(n, seed=...)`` method, or an array of samples).

**Mode coverage on Gaussian mixtures** (:func:`mode_coverage`). The
synthetic benchmark of the unrolled-GAN and VEEGAN papers: the data are an
equal mixture of ``K`` isotropic Gaussians with known centres ``c_k`` and
standard deviation ``sigma`` (``8gaussians``: a ring of 8, ``25gaussians``:
a 5x5 grid; :func:`kzoo.data.info` gives ``modes`` and ``mode_std``). Each
generated sample is assigned to its nearest centre.

* A sample is *high quality* if it lies within ``num_std`` (default 3)
  standard deviations of its nearest centre: ``||x - c_k|| <= 3 sigma``.
* A mode is *covered* if it received at least ``min_count`` high-quality
  samples (default 20 out of the default 10,000 samples, i.e. 0.2% of the
  samples, versus the 1/K = 12.5% or 4% an ideal sampler sends to each
  mode; the same count of 20 as PacGAN's criterion). The threshold is a
  parameter: scale it with the number of samples.
* The *mode histogram* is the distribution of the high-quality samples over
  the modes; its KL divergence from the uniform distribution,
  ``KL(p || U) = log K - H(p)`` in nats, is 0 for a perfectly balanced
  sampler and ``log K`` when every high-quality sample falls in one mode.

A perfect sampler of the mixture puts 98.9% of its samples within 3 sigma
of their centre (the chi distribution with 2 degrees of freedom:
``1 - exp(-9/2)``), so 98.9% is the ceiling of the high-quality fraction.

How strict the criteria are depends on the mixture's scale. kzoo's
``8gaussians`` follows the flow literature (std 0.354, neighbouring centres
2.16 apart, unlike the std 0.02 ring of the unrolled-GAN paper): its 3-sigma
discs cover about 44% of the data's bounding box, so even uniform noise
there covers all 8 modes with ~45% high-quality samples, and the
high-quality fraction and the KL are the informative numbers. The
``25gaussians`` grid (std 0.018, spacing 0.71) is strict: uniform noise over
its bounding box covers none of the 25 modes.

**Class histogram of generated images** (:func:`class_histogram`). For a
model of MNIST, a digit classifier (by default the shipped
``mnist-classifier`` entry, :mod:`kzoo.models.classifier.mnist_classifier`) labels
every generated image with its most probable class; the histogram of these
labels should be uniform over the 10 digits. Its KL divergence from the
uniform distribution (0 for a balanced sampler, ``log 10 = 2.303`` nats for
one that draws a single digit) and its entropy summarize how many digits the
model draws, as in the MNIST mode-counting experiments of the unrolled-GAN
paper. The mean confidence of the classifier is reported too: a collapsed
sampler of unrecognisable blobs can look balanced.

**Modes of Stacked MNIST** (:func:`stacked_mode_coverage`). For a model
of ``stacked-mnist`` (:mod:`kzoo.data.stacked`: three digits as the RGB
channels, 1,000 equally likely modes), the same classifier labels each
channel of every sample; the digit triple is its mode. The number of modes
that received at least one of 26,000 samples and the KL divergence of the
mode histogram from uniform (``log 1000 = 6.908`` nats for a sampler stuck
in one mode) are the numbers the VEEGAN and PacGAN papers report.

References:
    Metz, Poole, Pfau and Sohl-Dickstein, "Unrolled Generative Adversarial
    Networks", ICLR 2017 (mixtures of Gaussians; MNIST mode counts and KL
    from uniform).
    Srivastava, Valkov, Russell, Gutmann and Sutton, "VEEGAN: Reducing Mode
    Collapse in GANs using Implicit Variational Learning", NeurIPS 2017
    (high-quality samples within 3 standard deviations; modes covered).
    Lin, Khetan, Fanti and Oh, "PacGAN: The power of two samples in
    generative adversarial networks", NeurIPS 2018 (a mode counts when it
    holds at least 20 high-quality samples).
"""

import dataclasses
import math

import numpy as np

from kzoo.core.validation import check_number, check_positive_int, check_positive_number

#: Default number of generated samples for both diagnostics.
DEFAULT_NUM_SAMPLES = 10_000
#: Default minimum number of high-quality samples for a mode to be covered.
DEFAULT_MIN_COUNT = 20
#: Default radius of the high-quality region, in standard deviations.
DEFAULT_NUM_STD = 3.0
#: Samples drawn for the Stacked MNIST mode count (the PacGAN and VEEGAN papers' 26,000).
STACKED_NUM_SAMPLES = 26_000


# --------------------------------------------------------------- histograms
def _check_counts(counts):
    counts = np.asarray(counts, dtype=np.float64)
    if counts.ndim != 1 or counts.size == 0:
        raise ValueError(f"counts must be a non-empty 1-D array, got shape {counts.shape}.")
    if not np.all(np.isfinite(counts)) or np.any(counts < 0):
        raise ValueError(f"counts must be finite and non-negative, got {counts.tolist()}.")
    return counts


def histogram_entropy(counts):
    """Entropy (nats) of the distribution proportional to ``counts``.

    Args:
        counts: non-negative 1-D array (counts or unnormalised weights).

    Returns:
        ``H(p) = -sum p_k log p_k`` with ``0 log 0 = 0``; NaN when all
        counts are zero (no distribution).

    Raises:
        ValueError: empty, negative or non-finite counts.
    """
    counts = _check_counts(counts)
    total = counts.sum()
    if total == 0:
        return float("nan")
    p = counts[counts > 0] / total
    return float(max(-(p * np.log(p)).sum(), 0.0))


def kl_from_uniform(counts):
    """KL divergence (nats) of the histogram ``counts`` from the uniform distribution.

    ``KL(p || U) = sum p_k log(K p_k) = log K - H(p)`` over the ``K`` bins:
    0 for a balanced histogram, ``log K`` for one that fills a single bin.

    Args:
        counts: non-negative 1-D array with one entry per bin (empty bins
            included: they set ``K``).

    Returns:
        float; NaN when all counts are zero.

    Raises:
        ValueError: empty, negative or non-finite counts.
    """
    counts = _check_counts(counts)
    entropy = histogram_entropy(counts)
    return float(max(math.log(counts.size) - entropy, 0.0)) if np.isfinite(entropy) else float("nan")


# ---------------------------------------------------------------- sampling
def _draw(model_or_samples, num_samples, seed, generate_kwargs):
    """Samples from a model's ``generate``, or the given array unchanged."""
    if hasattr(model_or_samples, "generate") and callable(model_or_samples.generate):
        num_samples = check_positive_int(num_samples, "num_samples")
        samples = model_or_samples.generate(num_samples, seed=seed, **generate_kwargs)
        return np.asarray(samples, dtype=np.float32)
    if generate_kwargs:
        raise ValueError(
            f"Sampling options {sorted(generate_kwargs)} were given, but {type(model_or_samples).__name__} has "
            "no generate() method: pass a model, or drop the options when passing samples."
        )
    if isinstance(model_or_samples, (str, bytes)) or not hasattr(model_or_samples, "__len__"):
        raise ValueError(
            "model_or_samples must be a model with a generate(n, seed=...) method or an array of samples, got "
            f"{type(model_or_samples).__name__}."
        )
    return np.asarray(model_or_samples, dtype=np.float32)


# ------------------------------------------------------------ mode coverage
@dataclasses.dataclass(frozen=True)
class ModeCoverage:
    """Result of :func:`mode_coverage`.

    Attributes:
        num_modes: ``K``, the number of mixture components.
        modes_covered: modes with at least ``min_count`` high-quality samples.
        high_quality_fraction: fraction of all samples within ``num_std``
            standard deviations of their nearest mode centre.
        kl_uniform: KL (nats) of the high-quality samples' mode histogram
            from the uniform distribution over the ``K`` modes; NaN if there
            is no high-quality sample.
        counts: int array ``(K,)``, high-quality samples per mode.
        num_samples: number of samples evaluated.
        min_count: the coverage threshold used.
        num_std: the high-quality radius used, in standard deviations.
    """

    num_modes: int
    modes_covered: int
    high_quality_fraction: float
    kl_uniform: float
    counts: np.ndarray
    num_samples: int
    min_count: int
    num_std: float

    def as_dict(self):
        """A JSON-friendly dict of the result."""
        out = dataclasses.asdict(self)
        out["counts"] = [int(c) for c in self.counts]
        return out

    def __str__(self):
        return (f"{self.modes_covered}/{self.num_modes} modes covered, "
                f"{100.0 * self.high_quality_fraction:.1f}% high-quality samples, "
                f"KL(modes || uniform) = {self.kl_uniform:.3f} nats")


def _mixture_spec(dataset, modes, std):
    if dataset is not None:
        if modes is not None or std is not None:
            raise ValueError("Pass either dataset= or modes= and std=, not both.")
        from kzoo.data import info

        spec = info(dataset)
        if spec.modes is None or spec.mode_std is None:
            raise ValueError(
                f"Dataset {dataset!r} is not a Gaussian mixture with known modes (kzoo.data.info gives no modes); "
                "use '8gaussians', '25gaussians' or pass modes= and std=."
            )
        modes, std = spec.modes, spec.mode_std
    if modes is None or std is None:
        raise ValueError("mode_coverage needs dataset= (e.g. '8gaussians') or both modes= and std=.")
    modes = np.asarray(modes, dtype=np.float64)
    if modes.ndim != 2 or modes.shape[0] == 0 or not np.all(np.isfinite(modes)):
        raise ValueError(f"modes must be a finite (K, D) array with K >= 1, got shape {modes.shape}.")
    return modes, check_number(std, "std", minimum=0, exclusive_minimum=True,
                               description="a positive finite number")


def assign_to_modes(samples, modes, std, num_std=DEFAULT_NUM_STD):
    """Nearest mode of each sample and whether the sample is high quality.

    Args:
        samples: array ``(N, D)``.
        modes: array ``(K, D)`` of mode centres.
        std: the per-coordinate standard deviation of every mode.
        num_std: radius of the high-quality region in standard deviations.

    Returns:
        ``(nearest, distance, high_quality)``: int array ``(N,)`` of mode
        indices, float array ``(N,)`` of Euclidean distances to the nearest
        centre, bool array ``(N,)`` with ``distance <= num_std * std``.

    Raises:
        ValueError: mismatched shapes, non-finite samples or a bad radius.
    """
    modes, std = _mixture_spec(None, modes, std)
    samples = np.asarray(samples, dtype=np.float64)
    if samples.ndim != 2 or samples.shape[1] != modes.shape[1]:
        raise ValueError(
            f"samples must have shape (N, {modes.shape[1]}) to match the modes, got {samples.shape}."
        )
    if samples.shape[0] == 0:
        raise ValueError("samples is empty: got 0 samples.")
    bad = int(samples.size - np.count_nonzero(np.isfinite(samples)))
    if bad:
        raise ValueError(f"samples contain {bad} NaN or infinite values.")
    check_positive_number(num_std, "num_std")
    squared = ((samples[:, None, :] - modes[None, :, :]) ** 2).sum(axis=-1)
    nearest = np.argmin(squared, axis=1)
    distance = np.sqrt(squared[np.arange(len(samples)), nearest])
    return nearest, distance, distance <= float(num_std) * std


def mode_coverage(model_or_samples, dataset=None, *, modes=None, std=None, num_samples=DEFAULT_NUM_SAMPLES,
                  seed=0, min_count=DEFAULT_MIN_COUNT, num_std=DEFAULT_NUM_STD, **generate_kwargs):
    """Modes covered, fraction of high-quality samples and mode-histogram KL.

    Definitions (unrolled GAN, VEEGAN, PacGAN; see the module docstring):
    a sample is high quality if it lies within ``num_std`` standard
    deviations of its nearest mode centre; a mode is covered if at least
    ``min_count`` high-quality samples fall in it; the KL compares the
    histogram of high-quality samples over the modes with the uniform one.

    Args:
        model_or_samples: a model with ``generate(n, seed=...)`` (any kzoo
            model of 2-D data) or an array of samples ``(N, 2)``.
        dataset: name of a Gaussian-mixture toy set (``"8gaussians"``,
            ``"25gaussians"``) whose ``kzoo.data.info`` gives the centres
            and the standard deviation.
        modes: instead of ``dataset``, the ``(K, D)`` mode centres.
        std: with ``modes``, the standard deviation of every mode.
        num_samples: samples drawn from a model (ignored for an array).
        seed: int seed of the model's ``generate``.
        min_count: high-quality samples needed for a mode to count as
            covered (default 20 for the default 10,000 samples; scale it
            with ``num_samples``).
        num_std: radius of the high-quality region in standard deviations.
        **generate_kwargs: passed to the model's ``generate``.

    Returns:
        A :class:`ModeCoverage`.

    Raises:
        ValueError: no mixture given, a dataset without modes, bad samples
            (shape, NaN) or a bad ``min_count``/``num_std``/``num_samples``.
    """
    modes, std = _mixture_spec(dataset, modes, std)
    min_count = check_positive_int(min_count, "min_count")
    samples = _draw(model_or_samples, num_samples, seed, generate_kwargs)
    samples = samples.reshape(len(samples), -1) if samples.ndim > 2 else samples
    nearest, _, high_quality = assign_to_modes(samples, modes, std, num_std)
    counts = np.bincount(nearest[high_quality], minlength=len(modes))
    return ModeCoverage(
        num_modes=int(len(modes)),
        modes_covered=int(np.count_nonzero(counts >= min_count)),
        high_quality_fraction=float(high_quality.mean()),
        kl_uniform=kl_from_uniform(counts),
        counts=counts.astype(np.int64),
        num_samples=int(len(samples)),
        min_count=min_count,
        num_std=float(num_std),
    )


# ---------------------------------------------------------- class histogram
@dataclasses.dataclass(frozen=True)
class ClassHistogram:
    """Result of :func:`class_histogram`.

    Attributes:
        counts: int array ``(num_classes,)``, samples per predicted class.
        frequencies: ``counts / num_samples``.
        kl_uniform: KL (nats) of the predicted-class histogram from uniform.
        entropy: entropy (nats) of the histogram (``log 10 = 2.303`` at best
            for 10 classes).
        mean_confidence: mean over samples of the classifier's largest
            class probability.
        num_samples: number of samples classified.
        label_accuracy: for a class-conditional model sampled with
            ``labels=``, the fraction of samples classified as the label they
            were drawn for; otherwise ``None``.
        classifier: name of the classifier used.
    """

    counts: np.ndarray
    frequencies: np.ndarray
    kl_uniform: float
    entropy: float
    mean_confidence: float
    num_samples: int
    label_accuracy: object = None
    classifier: str = ""

    @property
    def num_classes(self):
        """Number of classes of the histogram."""
        return int(len(self.counts))

    def as_dict(self):
        """A JSON-friendly dict of the result."""
        out = dataclasses.asdict(self)
        out["counts"] = [int(c) for c in self.counts]
        out["frequencies"] = [float(f) for f in self.frequencies]
        return out

    def __str__(self):
        text = (f"KL(classes || uniform) = {self.kl_uniform:.4f} nats, entropy {self.entropy:.4f} nats, "
                f"mean confidence {self.mean_confidence:.3f}, counts {[int(c) for c in self.counts]}")
        if self.label_accuracy is not None:
            text += f", label accuracy {self.label_accuracy:.3f}"
        return text


def class_histogram(model_or_samples, classifier=None, *, num_samples=DEFAULT_NUM_SAMPLES, seed=0,
                    batch_size=500, **generate_kwargs):
    """Histogram of the classes a classifier assigns to generated images.

    Every image is labelled with the classifier's most probable class. For a
    class-conditional model, pass ``labels=`` (one per sample, e.g.
    ``np.arange(n) % 10``): they go to ``generate`` and the result also
    gives the fraction of samples classified as their label. With an array
    of samples, ``labels=`` are the labels they were drawn for and only
    serve that accuracy.

    Args:
        model_or_samples: a model with ``generate(n, seed=...)`` returning
            images in ``[0, 1]``, or an array of images ``(N, H, W, C)``.
        classifier: ``None`` for the shipped MNIST classifier
            (``saved_models/mnist-classifier``), or anything
            :func:`kzoo.evaluation.features.get_feature_extractor` accepts that
            gives class probabilities (a ``FeatureExtractor``, a classifier
            ``keras.Model`` with a softmax output, ``"mnist"``).
        num_samples: samples drawn from a model (ignored for an array).
        seed: int seed of the model's ``generate``.
        batch_size: images per classifier pass.
        **generate_kwargs: passed to the model's ``generate`` (``labels=``
            for conditional models, ``temperature=`` ...).

    Returns:
        A :class:`ClassHistogram`.

    Raises:
        ValueError: images outside ``[0, 1]`` or of the wrong shape for the
            classifier, a classifier without class probabilities, or labels
            whose count differs from the number of samples.
        FileNotFoundError: the default classifier entry is missing.
    """
    from kzoo.evaluation.features import get_feature_extractor

    extractor = get_feature_extractor("mnist" if classifier is None else classifier)
    if not extractor.provides_probabilities:
        raise ValueError(f"The classifier {extractor.name!r} gives no class probabilities; pass a classifier.")
    labels = generate_kwargs.get("labels")
    if not hasattr(model_or_samples, "generate"):
        generate_kwargs.pop("labels", None)  # the labels of given samples: used for the accuracy only
    images = _draw(model_or_samples, num_samples, seed, generate_kwargs)
    probabilities = extractor.probabilities(images, batch_size=check_positive_int(batch_size, "batch_size"))
    predicted = np.argmax(probabilities, axis=1)
    counts = np.bincount(predicted, minlength=probabilities.shape[1]).astype(np.int64)
    accuracy = None
    if labels is not None:
        labels = np.asarray(labels).reshape(-1)
        if len(labels) != len(predicted):
            raise ValueError(f"Got {len(labels)} labels for {len(predicted)} samples; pass one label per sample.")
        accuracy = float(np.mean(predicted == labels))
    return ClassHistogram(
        counts=counts,
        frequencies=counts / float(len(predicted)),
        kl_uniform=kl_from_uniform(counts),
        entropy=histogram_entropy(counts),
        mean_confidence=float(np.mean(np.max(probabilities, axis=1))),
        num_samples=int(len(predicted)),
        label_accuracy=accuracy,
        classifier=extractor.name,
    )


# ------------------------------------------------------------ stacked MNIST
@dataclasses.dataclass(frozen=True)
class StackedModes:
    """Result of :func:`stacked_mode_coverage`.

    Attributes:
        modes_covered: modes (digit triples) with at least ``min_count``
            samples, out of 1,000.
        kl_uniform: KL (nats) of the mode histogram from the uniform
            distribution over the 1,000 modes.
        counts: int array ``(1000,)``, samples per mode (index
            ``100 * red + 10 * green + blue``).
        mean_confidence: mean over all classified channels of the
            classifier's largest class probability.
        num_samples: number of samples.
        min_count: samples a mode needs to count as covered.
        classifier: name of the classifier used.
    """

    modes_covered: int
    kl_uniform: float
    counts: np.ndarray
    mean_confidence: float
    num_samples: int
    min_count: int
    classifier: str = ""

    def as_dict(self):
        """A JSON-friendly dict of the result (without the 1,000 counts)."""
        return {"modes_covered": self.modes_covered, "kl_uniform": self.kl_uniform,
                "mean_confidence": self.mean_confidence, "num_samples": self.num_samples,
                "min_count": self.min_count, "classifier": self.classifier}

    def __str__(self):
        return (f"{self.modes_covered} of 1000 modes covered (>= {self.min_count} of {self.num_samples} samples), "
                f"KL(modes || uniform) = {self.kl_uniform:.3f} nats, mean confidence {self.mean_confidence:.3f}")


def stacked_mode_coverage(model_or_samples, classifier=None, *, num_samples=STACKED_NUM_SAMPLES, min_count=1, seed=0,
                          batch_size=500, **generate_kwargs):
    """Modes of Stacked MNIST a sampler reaches, counted by classifying each channel.

    Args:
        model_or_samples: a model of ``stacked-mnist`` with ``generate(n,
            seed=...)`` returning ``(n, 28, 28, 3)`` images in ``[0, 1]``, or
            such an array.
        classifier: as in :func:`class_histogram` (default: the shipped
            MNIST classifier).
        num_samples: samples drawn from a model (ignored for an array).
        min_count: samples a mode needs to count as covered (1, as in the
            PacGAN paper).
        seed: int seed of the model's ``generate``.
        batch_size: images per classifier pass.
        **generate_kwargs: passed to the model's ``generate``.

    Returns:
        A :class:`StackedModes`.

    Raises:
        ValueError: samples that are not ``(N, H, W, 3)`` images in ``[0,
            1]``, a bad ``min_count``, or a classifier without class
            probabilities.
    """
    from kzoo.data.stacked import NUM_MODES, mode_of_digits
    from kzoo.evaluation.features import get_feature_extractor

    min_count = check_positive_int(min_count, "min_count")
    extractor = get_feature_extractor("mnist" if classifier is None else classifier)
    if not extractor.provides_probabilities:
        raise ValueError(f"The classifier {extractor.name!r} gives no class probabilities; pass a classifier.")
    images = _draw(model_or_samples, num_samples, seed, generate_kwargs)
    if images.ndim != 4 or images.shape[-1] != 3:
        raise ValueError(f"Stacked MNIST samples are (N, H, W, 3) images, one digit per channel; got shape "
                         f"{images.shape}.")
    channels = np.moveaxis(images, -1, 1).reshape((-1,) + images.shape[1:3] + (1,))
    probabilities = extractor.probabilities(channels, batch_size=check_positive_int(batch_size, "batch_size"))
    digits = np.argmax(probabilities, axis=1).reshape(len(images), 3)
    counts = np.bincount(mode_of_digits(digits), minlength=NUM_MODES).astype(np.int64)
    return StackedModes(
        modes_covered=int(np.sum(counts >= min_count)),
        kl_uniform=kl_from_uniform(counts),
        counts=counts,
        mean_confidence=float(np.mean(np.max(probabilities, axis=1))),
        num_samples=int(len(images)),
        min_count=min_count,
        classifier=extractor.name,
    )
