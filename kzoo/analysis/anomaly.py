"""Likelihood-based anomaly (novelty) detection with explicit-density models.

A model of the normal data ``p(x)`` scores an input by its negative
log-likelihood, ``s(x) = -log p(x)``: the less likely, the more anomalous.
A threshold calibrated on held-out normal data at a chosen false-positive
rate turns scores into decisions (:class:`AnomalyDetector`), and ROC / PR
areas summarize how well scores separate normal from anomalous inputs
(:func:`roc_auc`, :func:`pr_auc`, :func:`report`), computed here in numpy.

The known failure mode: likelihood models can give *higher* likelihood to
out-of-distribution inputs than to their own data, when those inputs are
simpler (blank images, constant backgrounds; Nalisnick et al. 2019). The
likelihood is dominated by how compressible an input is, not by how typical
it is. Two corrections are available as options of :func:`anomaly_scores`:

* ``reference=model_b``: a likelihood ratio, ``s(x) = -log p(x) + log
  p_b(x)``, where ``p_b`` is a background model that captures the
  generic statistics (Ren et al. 2019 train it on perturbed inputs; a
  low-capacity model of the same data, such as independent pixels, also
  works). What remains is the evidence the main model adds.
* ``complexity="png"`` or ``"zlib"``: the input-complexity correction
  ``s(x) = -log p(x) - L(x)`` of Serra et al. 2020, with ``L(x)`` the
  length of ``x`` compressed by a general-purpose lossless compressor
  (PNG or zlib), converted to the score's unit. A simple input has small
  ``L(x)``, so its high likelihood no longer makes it look normal.

A latent-variable model offers a score that is not a pixel likelihood at
all: ``code_density=CodeDensity(model).fit(x_train)`` scores ``s(x) = -log
q(E(x))``, the negative log-density of the input's code ``E(x)`` (the
encoder's posterior mean) under a Gaussian mixture fitted to the codes of the
normal training images (:class:`CodeDensity`). Pixel likelihoods are
dominated by local statistics that every digit shares; the code keeps what
the encoder learned about whole images, so a digit class the model never saw
lands where no training code lies. On ``mnist5k`` digits 0-4 against 5-9 it
ranks novel digits better than every pixel-likelihood score of the novelty
benchmark (README, Anomaly detection); it measures a density of
representations, not of the data, and needs the guard below to flag blank
images as well.

A third remedy is a two-sided test (``AnomalyDetector(two_sided=True)``):
normal data lies in a typical band of scores, so an input is flagged when its
score is far from the calibration median in *either* direction, ``|s(x) -
median|`` (the typicality view of Nalisnick, Matsukawa, Teh &
Lakshminarayanan 2019): a blank image is too likely to be typical. A
two-sided raw score loses most of what a likelihood ratio knows about
semantic novelty, so ``typicality_guard=True`` keeps the corrected score and
adds the two-sided raw one as a guard: each is standardized on the
calibration set, ``(s - median) / (q95 - median)``, and the larger is the
score, so an input is flagged when either test would flag it.

For latent-variable models ``log_prob`` is a bound, and so are the scores.

References:
    Bishop, "Novelty detection and neural network validation", IEE
    Proceedings 1994 (density-based novelty detection).
    Nalisnick, Matsukawa, Teh, Gorur & Lakshminarayanan, "Do Deep
    Generative Models Know What They Don't Know?", ICLR 2019.
    Ren, Liu, Fertig, Snoek, Poplin, DePristo, Dillon & Lakshminarayanan,
    "Likelihood Ratios for Out-of-Distribution Detection", NeurIPS 2019.
    Serra, Alvarez, Gomez, Slizovskaia, Nunez & Luque, "Input Complexity
    and Out-of-distribution Detection with Likelihood-based Generative
    Models", ICLR 2020.
"""

import io
import math
import zlib

import numpy as np

from kzoo.core.validation import check_choice, check_data_batch, check_number, check_positive_int
from kzoo.models.latent.priors import code_mixture, fit_code_mixture

UNITS = ("nats", "bits", "bits_per_dim")
COMPLEXITY_METHODS = ("png", "zlib")
LN2 = math.log(2.0)


def _check_rate(value, name):
    return check_number(value, name, minimum=0, maximum=1, exclusive_minimum=True, exclusive_maximum=True,
                        description="a number strictly between 0 and 1")


def _check_scores(scores, name):
    scores = np.asarray(scores, dtype=np.float64)
    if scores.ndim != 1:
        raise ValueError(f"{name} must be a 1-D array of scores, got shape {scores.shape}.")
    if scores.size == 0:
        raise ValueError(f"{name} is empty: expected at least one score.")
    nan = int(np.isnan(scores).sum())
    if nan:
        raise ValueError(f"{name} holds {nan} NaN values out of {scores.size}.")
    return scores


def _to_uint8_images(x):
    """Images in [0, 1] as uint8 arrays, and whether they are binary."""
    binary = bool(np.all((x == 0.0) | (x == 1.0)))
    return np.rint(np.clip(x, 0.0, 1.0) * 255).astype(np.uint8), binary


def complexity_bits(x, method="png"):
    """Input complexity ``L(x)``: the compressed length of each image in bits.

    Images are quantized to 8 bits; a batch whose values are all 0 or 1 is
    compressed as 1-bit images (PNG mode ``"1"`` / packed bits for zlib),
    the natural encoding of binarized data. Every image of a batch uses the
    same encoding, so the constant header cost does not change rankings.

    Args:
        x: array ``(N, H, W, C)`` (C = 1 or 3) or ``(N, H, W)`` in [0, 1].
        method: ``"png"`` (PIL, compression level 9) or ``"zlib"`` (level 9
            on the raw, or bit-packed, pixels).

    Returns:
        float64 numpy array ``(N,)`` of lengths in bits.

    Raises:
        ValueError: unknown method, wrong rank, empty batch, NaN values or
            values outside [0, 1].
    """
    method = check_choice(method, "method", COMPLEXITY_METHODS)
    x = np.asarray(x, dtype=np.float32)
    if x.ndim == 3:
        x = x[..., None]
    if x.ndim != 4 or x.shape[-1] not in (1, 3):
        raise ValueError(f"complexity_bits expects images (N, H, W, C) with C = 1 or 3, got shape {x.shape}.")
    x = check_data_batch(x, x.shape[1:], what="x", value_range=(0.0, 1.0))
    pixels, binary = _to_uint8_images(x)
    lengths = np.empty(len(x), dtype=np.float64)
    if method == "png":
        from PIL import Image

        for i, image in enumerate(pixels):
            if binary and image.shape[-1] == 1:
                picture = Image.fromarray(image[..., 0] > 0)
            elif image.shape[-1] == 1:
                picture = Image.fromarray(image[..., 0])  # 8-bit grayscale ("L")
            else:
                picture = Image.fromarray(image)  # 8-bit RGB
            buffer = io.BytesIO()
            picture.save(buffer, format="PNG", compress_level=9)
            lengths[i] = 8 * buffer.tell()
    else:
        for i, image in enumerate(pixels):
            raw = np.packbits(image > 0).tobytes() if binary else image.tobytes()
            lengths[i] = 8 * len(zlib.compress(raw, 9))
    return lengths


def anomaly_scores(model, x, unit="nats", *, reference=None, complexity=None, code_density=None, batch_size=256,
                   verbose=False, **log_prob_kwargs):
    """Anomaly scores ``-log p(x)``, optionally corrected; higher = more anomalous.

    Args:
        model: a kzoo explicit model (``model.log_prob``).
        x: array ``(N,) + model.data_shape`` in the model's data space (for
            Bernoulli models: binary images).
        unit: ``"nats"``, ``"bits"`` or ``"bits_per_dim"`` (divided by the
            number of dimensions of one example).
        reference: optional background model: the score becomes the
            likelihood ratio ``-log p(x) + log p_ref(x)`` (Ren et al. 2019).
        complexity: optional ``"png"`` or ``"zlib"``: the score becomes
            ``-log p(x) - L(x)`` with ``L`` from :func:`complexity_bits`
            (Serra et al. 2020).
        code_density: optional fitted :class:`CodeDensity` of ``model``:
            the score becomes ``-log q(E(x))``, the density of the input's
            code instead of its likelihood.
        batch_size: examples per ``log_prob`` batch.
        verbose: show a progress bar over the examples.
        **log_prob_kwargs: passed to ``model.log_prob`` (e.g.
            ``num_orderings`` for MADE, ``k`` for a VAE). A ``seed`` of a
            stochastic estimate is offset by the batch index, so every batch
            draws its own samples.

    Returns:
        float64 numpy array ``(N,)``.

    Raises:
        ValueError: bad unit, two corrections at once, a reference model of
            another data shape, a code density of another model, or bad
            input (shape, NaN).
    """
    return _raw_and_corrected(model, x, unit, reference, complexity, code_density, batch_size, verbose,
                              log_prob_kwargs)[1]


def _check_corrections(model, reference, complexity, code_density):
    """Validates the score options shared by :func:`anomaly_scores` and :class:`AnomalyDetector`."""
    given = [name for name, value in (("reference=", reference), ("complexity=", complexity),
                                      ("code_density=", code_density)) if value is not None]
    if len(given) > 1:
        raise ValueError(f"Use one correction at a time, got {' and '.join(given)}: reference= (likelihood ratio), "
                         "complexity= (input complexity) or code_density= (density of the codes).")
    if complexity is not None:
        check_choice(complexity, "complexity", COMPLEXITY_METHODS)
    if code_density is not None:
        if not isinstance(code_density, CodeDensity):
            raise ValueError(f"code_density must be a fitted CodeDensity, got {type(code_density).__name__}.")
        if code_density.model is not model:
            raise ValueError("code_density was fitted to the codes of another model: build it with "
                             "CodeDensity(model) for the model being scored.")


def _raw_and_corrected(model, x, unit, reference, complexity, code_density, batch_size, verbose, log_prob_kwargs):
    """``(-log p(x), the corrected score)`` in ``unit``, from one pass of the model (see :func:`anomaly_scores`)."""
    unit = check_choice(unit, "unit", UNITS)
    _check_corrections(model, reference, complexity, code_density)
    data_shape = tuple(model.data_shape)
    x = check_data_batch(x, data_shape, what="x")
    batch_size = check_positive_int(batch_size, "batch_size")
    if reference is not None and tuple(reference.data_shape) != data_shape:
        raise ValueError(f"reference model expects examples of shape {tuple(reference.data_shape)}, but the "
                         f"model expects {data_shape}.")
    raw = -_batched_log_prob(model, x, batch_size, verbose, log_prob_kwargs)
    corrected = raw
    if reference is not None:
        corrected = raw + _batched_log_prob(reference, x, batch_size, verbose, {})
    if complexity is not None:
        corrected = raw - complexity_bits(x, complexity) * LN2
    if code_density is not None:
        corrected = -code_density.log_prob(x)
    divisor = {"nats": 1.0, "bits": LN2, "bits_per_dim": LN2 * float(np.prod(data_shape))}[unit]
    return raw / divisor, corrected / divisor


def _standardization(values):
    """``(median, q95 - median)``: ``(s - median) / scale`` maps the median to 0 and the 5%-FPR point to 1."""
    median = float(np.median(values))
    return median, max(float(np.quantile(values, 0.95)) - median, 1e-12)


def guard_calibration(raw_val, corrected_val):
    """The statistics of the typicality guard, from scores of held-out normal data.

    Args:
        raw_val: 1-D raw NLLs of the calibration data.
        corrected_val: 1-D one-sided (corrected) scores of the same data.

    Returns:
        A dict: ``median`` (of the raw NLLs), ``corrected`` and
        ``distance``, each a ``(median, scale)`` pair that maps the
        corrected scores, and the raw NLLs' distances from ``median``, to 0
        at their median and 1 at their 95th percentile.
    """
    raw_val = _check_scores(raw_val, "raw_val")
    corrected_val = _check_scores(corrected_val, "corrected_val")
    median = float(np.median(raw_val))
    return {"median": median, "corrected": _standardization(corrected_val),
            "distance": _standardization(np.abs(raw_val - median))}


def guarded_scores(raw, corrected, calibration):
    """Typicality-guarded scores: the larger of the standardized one-sided score and two-sided raw NLL.

    Args:
        raw: raw NLLs ``(N,)``.
        corrected: one-sided (corrected) scores of the same inputs.
        calibration: :func:`guard_calibration` of held-out normal data.

    Returns:
        float64 numpy array ``(N,)``.
    """
    (c_median, c_scale), (d_median, d_scale) = calibration["corrected"], calibration["distance"]
    distance = np.abs(np.asarray(raw, np.float64) - calibration["median"])
    return np.maximum((np.asarray(corrected, np.float64) - c_median) / c_scale, (distance - d_median) / d_scale)


class CodeDensity:
    """The density of a latent model's codes on normal data: a novelty score of what the model represents.

    ``fit`` encodes normal training images (posterior means for a VAE, the
    codes of an autoencoder) and fits a full-covariance Gaussian mixture to
    them by EM (:func:`kzoo.models.latent.priors.fit_code_mixture`, a
    ``tfd.MixtureSameFamily``); ``log_prob(x)`` is ``log q(E(x))``. Pass it
    as ``code_density=`` to :func:`anomaly_scores` or :class:`AnomalyDetector`
    to score ``-log q(E(x))``. Fit it on training images and calibrate the
    detector on other held-out ones: training codes score higher than fresh
    normal codes.

    Args:
        model: a trained kzoo model with codes (``encode``: the VAE family,
            AE, AAE, WAE), unconditional.
        components: mixture components (default 10, MNIST's ten digit
            classes).
        seed: seed of the EM initialization.
        batch_size: images per encoder call.
        max_iterations: EM iterations at most.

    Raises:
        ValueError: a model without codes or with label-conditioned codes,
            or bad options.

    Example::

        density = CodeDensity(vae).fit(x_train)
        detector = AnomalyDetector(vae, code_density=density, typicality_guard=True).fit(x_val)

    References:
        Bishop 1994 (novelty as low density of a learned representation);
        Havtorn, Frellsen, Hauberg & Maaloe, "Hierarchical VAEs Know What
        They Don't Know", ICML 2021 (semantic novelty lives in the latent
        variables, not in the pixel likelihood).
    """

    def __init__(self, model, components=10, seed=0, batch_size=256, max_iterations=200):
        from kzoo.core.base import LatentCodes

        if not isinstance(model, LatentCodes):
            raise ValueError(f"CodeDensity needs a model with codes (encode: the VAE family, AE, AAE, WAE), got a "
                             f"{type(model).__name__}.")
        if model.codes_take_labels:
            raise ValueError(f"{type(model).__name__} encodes with class labels, which novelty detection does not "
                             "know: use an unconditional model.")
        self.model = model
        self.components = check_positive_int(components, "components")
        self.seed = int(seed)
        self.batch_size = check_positive_int(batch_size, "batch_size")
        self.max_iterations = check_positive_int(max_iterations, "max_iterations")
        self.distribution_ = None

    def fit(self, x_train):
        """Fits the mixture to the codes of normal training images (model data space); returns ``self``.

        Raises:
            ValueError: bad images, or fewer than ``max(code_dim, components) + 1``.
        """
        codes = self.model.encode(x_train, batch_size=self.batch_size)
        self.distribution_ = code_mixture(*fit_code_mixture(codes, self.components, seed=self.seed,
                                                            max_iterations=self.max_iterations))
        return self

    def log_prob(self, x):
        """``log q(E(x))`` in nats, float64 ``(N,)``.

        Raises:
            ValueError: not fitted yet, or bad images.
        """
        if self.distribution_ is None:
            raise ValueError("CodeDensity is not fitted yet: call fit(x_train) on normal training images first.")
        codes = self.model.encode(x, batch_size=self.batch_size)
        return self.distribution_.log_prob(codes).numpy().astype(np.float64)


def _batched_log_prob(model, x, batch_size, verbose, log_prob_kwargs):
    """``model.log_prob`` one batch at a time (float64), with a progress bar when ``verbose``."""
    import keras

    progress = keras.utils.Progbar(len(x), unit_name="example") if verbose else None
    options = dict(log_prob_kwargs)
    seed = options.pop("seed", 0)
    out = []
    for index, start in enumerate(range(0, len(x), batch_size)):
        batch = x[start : start + batch_size]
        out.append(np.asarray(model.log_prob(batch, batch_size=batch_size, seed=seed + index, **options),
                              dtype=np.float64))
        if progress is not None:
            progress.add(len(batch))
    return np.concatenate(out)


def calibrate_threshold(scores_val, false_positive_rate=0.05):
    """The score threshold that flags at most ``false_positive_rate`` of normal data.

    Inputs scoring strictly above the threshold are anomalies. The threshold
    is the ``1 - false_positive_rate`` empirical quantile of the normal
    validation scores, taken as an observed score ("higher" rule), so at
    most that fraction of the validation data is flagged.

    Args:
        scores_val: 1-D scores of held-out normal data.
        false_positive_rate: target rate in (0, 1).

    Returns:
        The threshold (a float).

    Raises:
        ValueError: empty or NaN scores, or a rate outside (0, 1).
    """
    scores = _check_scores(scores_val, "scores_val")
    rate = _check_rate(false_positive_rate, "false_positive_rate")
    return float(np.quantile(scores, 1.0 - rate, method="higher"))


def roc_auc(scores_in, scores_out):
    """Area under the ROC curve for detecting ``scores_out`` as anomalies.

    The Mann-Whitney statistic ``P(s_out > s_in) + P(s_out = s_in) / 2``
    (ties count one half), computed from average ranks: 1 is perfect, 0.5
    is chance, below 0.5 means the anomalies look *more* normal than the
    normal data.

    Args:
        scores_in: 1-D scores of normal data.
        scores_out: 1-D scores of anomalies.

    Returns:
        A float in [0, 1].
    """
    scores_in = _check_scores(scores_in, "scores_in")
    scores_out = _check_scores(scores_out, "scores_out")
    combined = np.concatenate([scores_in, scores_out])
    _, inverse, counts = np.unique(combined, return_inverse=True, return_counts=True)
    average_rank = np.cumsum(counts) - (counts - 1) / 2.0  # 1-based rank shared by tied values
    ranks = average_rank[inverse]
    n_in, n_out = len(scores_in), len(scores_out)
    u_statistic = ranks[n_in:].sum() - n_out * (n_out + 1) / 2.0
    return float(u_statistic / (n_in * n_out))


def pr_auc(scores_in, scores_out):
    """Area under the precision-recall curve, anomalies being the positives.

    Average precision, ``sum_k (R_k - R_{k-1}) P_k`` over the distinct
    score thresholds from high to low (no interpolation), the definition of
    scikit-learn's ``average_precision_score``. Chance level is the fraction
    of anomalies, ``n_out / (n_in + n_out)``.

    Args:
        scores_in: 1-D scores of normal data.
        scores_out: 1-D scores of anomalies.

    Returns:
        A float in [0, 1].
    """
    scores_in = _check_scores(scores_in, "scores_in")
    scores_out = _check_scores(scores_out, "scores_out")
    scores = np.concatenate([scores_in, scores_out])
    labels = np.concatenate([np.zeros(len(scores_in)), np.ones(len(scores_out))])
    order = np.argsort(-scores, kind="mergesort")
    scores, labels = scores[order], labels[order]
    last_of_value = np.r_[np.flatnonzero(np.diff(scores)), len(scores) - 1]
    true_pos = np.cumsum(labels)[last_of_value]
    flagged = last_of_value + 1.0
    precision = true_pos / flagged
    recall = true_pos / len(scores_out)
    return float(np.sum(np.diff(np.r_[0.0, recall]) * precision))


def fpr_at_tpr(scores_in, scores_out, tpr=0.95):
    """False-positive rate at the highest threshold that detects ``tpr`` of the anomalies.

    Args:
        scores_in: 1-D scores of normal data.
        scores_out: 1-D scores of anomalies.
        tpr: target true-positive rate in (0, 1).

    Returns:
        A float in [0, 1] (lower is better).
    """
    scores_in = _check_scores(scores_in, "scores_in")
    scores_out = _check_scores(scores_out, "scores_out")
    tpr = _check_rate(tpr, "tpr")
    descending = np.sort(scores_out)[::-1]
    threshold = descending[int(math.ceil(tpr * len(descending))) - 1]
    return float(np.mean(scores_in >= threshold))


def report(scores_in, scores_out, threshold=None):
    """Summary of how well scores separate normal data from anomalies.

    Args:
        scores_in: 1-D scores of held-out normal data.
        scores_out: 1-D scores of anomalies.
        threshold: optional decision threshold (e.g. from
            :func:`calibrate_threshold`); adds the rates it achieves.

    Returns:
        A dict with ``n_in``, ``n_out``, ``auroc``, ``auprc`` (anomalies
        positive), ``auprc_in`` (normal data positive, scores negated),
        ``fpr_at_95_tpr``, ``mean_score_in``, ``mean_score_out``,
        ``median_score_in``, ``median_score_out``,
        ``fraction_out_below_median_in`` (anomalies that look more normal
        than half the normal data: the failure mode of raw likelihoods) and,
        with a threshold, ``threshold``, ``detection_rate`` and
        ``false_positive_rate``.
    """
    scores_in = _check_scores(scores_in, "scores_in")
    scores_out = _check_scores(scores_out, "scores_out")
    median_in = float(np.median(scores_in))
    result = {
        "n_in": int(len(scores_in)),
        "n_out": int(len(scores_out)),
        "auroc": roc_auc(scores_in, scores_out),
        "auprc": pr_auc(scores_in, scores_out),
        "auprc_in": pr_auc(-scores_out, -scores_in),
        "fpr_at_95_tpr": fpr_at_tpr(scores_in, scores_out, 0.95),
        "mean_score_in": float(np.mean(scores_in)),
        "mean_score_out": float(np.mean(scores_out)),
        "median_score_in": median_in,
        "median_score_out": float(np.median(scores_out)),
        "fraction_out_below_median_in": float(np.mean(scores_out < median_in)),
    }
    if threshold is not None:
        threshold = float(threshold)
        result.update({
            "threshold": threshold,
            "detection_rate": float(np.mean(scores_out > threshold)),
            "false_positive_rate": float(np.mean(scores_in > threshold)),
        })
    return result


class AnomalyDetector:
    """Flags inputs whose (corrected) negative log-likelihood is unusually high.

    ``fit`` scores held-out normal data and sets the threshold at the
    ``1 - fpr`` quantile of those scores (:func:`calibrate_threshold`);
    ``predict`` flags inputs scoring above it.

    Args:
        model: a trained kzoo explicit model of the normal data.
        fpr: target false-positive rate on normal data, in (0, 1).
        unit: score unit, see :func:`anomaly_scores`.
        reference: optional background model (likelihood ratio).
        complexity: optional ``"png"`` / ``"zlib"`` complexity correction.
        code_density: optional fitted :class:`CodeDensity` of ``model``
            (score the density of the codes instead of the likelihood).
        batch_size: examples per ``log_prob`` batch.
        threshold: optional score threshold, in ``unit``, known in advance
            (e.g. from an earlier calibration); the detector is then ready
            without ``fit``. Not with ``two_sided``, which needs the
            calibration median.
        two_sided: flag inputs whose score is far from the calibration
            median in either direction: ``score`` returns ``|s(x) -
            median|``, so inputs *more* likely than normal data (blank
            images) are flagged too.
        typicality_guard: score the larger of the standardized (corrected)
            one-sided score and the standardized two-sided raw NLL (see the
            module docstring); needs calibration like ``two_sided``, and
            excludes it.
        verbose: progress bars while scoring.
        **log_prob_kwargs: passed to ``model.log_prob``.

    Raises:
        ValueError: bad ``fpr``, ``unit``, ``threshold`` or correction options.

    Example::

        detector = AnomalyDetector(model, fpr=0.05, complexity="png").fit(x_val)
        flags = detector.predict(x_new)        # True = anomaly
        summary = detector.evaluate(x_test_normal, x_test_anomalous)
    """

    def __init__(self, model, fpr=0.05, unit="nats", *, reference=None, complexity=None, code_density=None,
                 batch_size=256, threshold=None, two_sided=False, typicality_guard=False, verbose=False,
                 **log_prob_kwargs):
        self.model = model
        self.fpr = _check_rate(fpr, "fpr")
        self.unit = check_choice(unit, "unit", UNITS)
        _check_corrections(model, reference, complexity, code_density)
        self.reference = reference
        self.complexity = complexity
        self.code_density = code_density
        self.batch_size = check_positive_int(batch_size, "batch_size")
        self.verbose = bool(verbose)
        self.log_prob_kwargs = dict(log_prob_kwargs)
        if two_sided and typicality_guard:
            raise ValueError("two_sided=True and typicality_guard=True exclude each other: the guard already adds a "
                             "two-sided test of the raw NLL to the one-sided score.")
        for flag, name in ((two_sided, "two_sided"), (typicality_guard, "typicality_guard")):
            if flag and threshold is not None:
                raise ValueError(f"{name}=True measures scores from the calibration median: calibrate with fit() "
                                 f"instead of giving threshold={threshold!r}.")
        self.two_sided = bool(two_sided)
        self.typicality_guard = bool(typicality_guard)
        self.threshold_ = None if threshold is None else check_number(threshold, "threshold")
        self.median_ = None
        self.guard_ = None
        self.validation_scores_ = None

    def _parts(self, x):
        return _raw_and_corrected(self.model, x, self.unit, self.reference, self.complexity, self.code_density,
                                  self.batch_size,
                                  self.verbose, self.log_prob_kwargs)

    def one_sided_score(self, x):
        """The one-sided (corrected) negative log-likelihood of ``x``, float64 ``(N,)``."""
        return self._parts(x)[1]

    def _combine(self, raw, corrected):
        if self.two_sided:
            return np.abs(corrected - self.median_)
        if not self.typicality_guard:
            return corrected
        return guarded_scores(raw, corrected, self.guard_)

    def score(self, x):
        """Anomaly scores of ``x`` (higher = more anomalous), float64 ``(N,)``.

        One-sided: the (corrected) NLL; two-sided: ``|s - median|``; with
        the typicality guard: the larger standardized part.
        """
        if self.two_sided or self.typicality_guard:
            self._check_fitted()
        return self._combine(*self._parts(x))

    def fit(self, x_val):
        """Calibrates the threshold (and the medians and scales it needs) on held-out normal data; returns ``self``."""
        raw, corrected = self._parts(x_val)
        if self.two_sided:
            self.median_ = float(np.median(corrected))
        if self.typicality_guard:
            self.guard_ = guard_calibration(raw, corrected)
            self.median_ = self.guard_["median"]
        self.validation_scores_ = self._combine(raw, corrected)
        self.threshold_ = calibrate_threshold(self.validation_scores_, self.fpr)
        return self

    def _check_fitted(self):
        if self.threshold_ is None:
            raise ValueError("AnomalyDetector is not calibrated yet: call fit(x_val) on held-out normal data first.")

    def predict(self, x):
        """Boolean array ``(N,)``: True where ``x`` scores above the threshold."""
        self._check_fitted()
        return self.score(x) > self.threshold_

    def evaluate(self, x_in, x_out):
        """:func:`report` of normal ``x_in`` against anomalous ``x_out`` at the calibrated threshold."""
        self._check_fitted()
        return report(self.score(x_in), self.score(x_out), threshold=self.threshold_)
