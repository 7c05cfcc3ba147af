"""Anomaly detection: score maths checked against scikit-learn, and the
likelihood failure mode on blank images with its complexity correction."""

import math

import numpy as np
import pytest
from sklearn.metrics import average_precision_score, roc_auc_score

from kzoo.analysis import anomaly
from kzoo.analysis import AnomalyDetector, anomaly_scores, calibrate_threshold, pr_auc, report, roc_auc
from kzoo.models.autoregressive import IndependentBernoulli

SHAPE = (28, 28, 1)


def sparse_images(n, seed, p=0.1):
    rng = np.random.default_rng(seed)
    return (rng.random((n,) + SHAPE) < p).astype(np.float32)


def pixel_model(p=0.1):
    """Independent pixels with p(x_i = 1) = p: the exact model of ``sparse_images``."""
    model = IndependentBernoulli(data_shape=SHAPE)
    model.pixel_logits.assign(np.full(784, math.log(p / (1 - p)), np.float32))
    return model


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_roc_and_pr_areas_match_scikit_learn_with_ties(seed):
    rng = np.random.default_rng(seed)
    scores_in = rng.integers(0, 12, size=150).astype(float)  # many ties
    scores_out = rng.integers(3, 15, size=70).astype(float)
    labels = np.r_[np.zeros(150), np.ones(70)]
    both = np.r_[scores_in, scores_out]
    assert roc_auc(scores_in, scores_out) == pytest.approx(roc_auc_score(labels, both), abs=1e-12)
    assert pr_auc(scores_in, scores_out) == pytest.approx(average_precision_score(labels, both), abs=1e-12)
    continuous_in, continuous_out = rng.normal(size=90), rng.normal(0.7, 1.0, size=40)
    labels = np.r_[np.zeros(90), np.ones(40)]
    both = np.r_[continuous_in, continuous_out]
    assert roc_auc(continuous_in, continuous_out) == pytest.approx(roc_auc_score(labels, both), abs=1e-12)
    assert pr_auc(continuous_in, continuous_out) == pytest.approx(average_precision_score(labels, both), abs=1e-12)


def test_area_edge_cases():
    low, high = np.arange(5.0), np.arange(10.0, 13.0)
    assert roc_auc(low, high) == 1.0 and pr_auc(low, high) == 1.0
    assert roc_auc(high, low) == 0.0
    assert roc_auc(np.ones(4), np.ones(6)) == 0.5
    assert pr_auc(np.ones(4), np.ones(6)) == pytest.approx(0.6)  # chance: the fraction of anomalies
    assert anomaly.fpr_at_tpr(np.arange(100.0), np.arange(50.0, 150.0), tpr=0.95) == pytest.approx(0.45)


def test_threshold_keeps_the_false_positive_rate():
    scores = np.random.default_rng(0).normal(size=1000)
    for rate in (0.01, 0.05, 0.2):
        threshold = calibrate_threshold(scores, false_positive_rate=rate)
        flagged = np.mean(scores > threshold)
        assert rate - 0.002 <= flagged <= rate


def test_units_and_likelihood_ratio():
    model = pixel_model(0.1)
    reference = pixel_model(0.3)
    x = sparse_images(6, seed=1)
    nats = anomaly_scores(model, x)
    np.testing.assert_allclose(nats, -model.log_prob(x), rtol=1e-6)
    np.testing.assert_allclose(anomaly_scores(model, x, unit="bits"), nats / math.log(2), rtol=1e-6)
    np.testing.assert_allclose(anomaly_scores(model, x, unit="bits_per_dim"), nats / math.log(2) / 784, rtol=1e-6)
    ratio = anomaly_scores(model, x, reference=reference)
    np.testing.assert_allclose(ratio, nats + reference.log_prob(x), rtol=1e-5)


def test_complexity_bits_ranks_simple_images_first():
    blank = np.zeros((3,) + SHAPE, np.float32)
    noise = sparse_images(3, seed=2, p=0.5)
    for method in ("png", "zlib"):
        simple, busy = anomaly.complexity_bits(blank, method), anomaly.complexity_bits(noise, method)
        assert simple.shape == (3,) and np.all(simple < busy), method
        assert np.all(busy >= 784 * 0.9), method  # random bits do not compress
    gray = np.random.default_rng(0).random((2, 8, 8, 3)).astype(np.float32)
    assert anomaly.complexity_bits(gray, "png").shape == (2,)
    with pytest.raises(ValueError, match="C = 1 or 3"):
        anomaly.complexity_bits(np.zeros((2, 8, 8, 2)))
    with pytest.raises(ValueError, match=r"\[0.0, 1.0\]"):
        anomaly.complexity_bits(np.full((1, 4, 4, 1), 2.0))


@pytest.mark.parametrize("method", ["png", "zlib"])
def test_blank_images_fool_the_likelihood_but_not_the_complexity_correction(method):
    """Sparse random images: the all-zero image is the model's mode, so its NLL
    is lower than that of every normal image (AUROC 0); subtracting the
    compressed length makes it the most anomalous input (Serra et al. 2020)."""
    model = pixel_model(0.1)
    normal = sparse_images(200, seed=3)
    blank = np.zeros((20,) + SHAPE, np.float32)
    raw = report(anomaly_scores(model, normal), anomaly_scores(model, blank))
    assert raw["auroc"] == 0.0
    assert raw["fraction_out_below_median_in"] == 1.0
    corrected = report(anomaly_scores(model, normal, complexity=method),
                       anomaly_scores(model, blank, complexity=method))
    assert corrected["auroc"] == 1.0


def test_detector_calibrates_flags_and_reports():
    model = pixel_model(0.1)
    detector = AnomalyDetector(model, fpr=0.05).fit(sparse_images(400, seed=4))
    normal, dense = sparse_images(400, seed=5), sparse_images(50, seed=6, p=0.5)
    assert 0.01 <= detector.predict(normal).mean() <= 0.1
    assert detector.predict(dense).all()
    summary = detector.evaluate(normal, dense)
    assert summary["auroc"] == 1.0 and summary["detection_rate"] == 1.0
    assert summary["threshold"] == detector.threshold_
    assert {"auprc", "auprc_in", "fpr_at_95_tpr", "false_positive_rate", "n_in", "n_out"} <= set(summary)


def test_bad_arguments_are_rejected():
    model = pixel_model()
    x = sparse_images(2, seed=0)
    with pytest.raises(ValueError, match="unit"):
        anomaly_scores(model, x, unit="decibans")
    with pytest.raises(ValueError, match="one correction"):
        anomaly_scores(model, x, reference=model, complexity="png")
    with pytest.raises(ValueError, match="complexity"):
        anomaly_scores(model, x, complexity="gzip")
    with pytest.raises(ValueError, match=r"\(N, 28, 28, 1\)"):
        anomaly_scores(model, np.zeros((2, 8, 8, 1)))
    with pytest.raises(ValueError, match="reference model"):
        anomaly_scores(model, x, reference=IndependentBernoulli(data_shape=(8, 8, 1)))
    with pytest.raises(ValueError, match="false_positive_rate"):
        calibrate_threshold([1.0, 2.0], false_positive_rate=0.0)
    with pytest.raises(ValueError, match="NaN"):
        roc_auc([1.0, np.nan], [2.0])
    with pytest.raises(ValueError, match="empty"):
        pr_auc([], [1.0])
    with pytest.raises(ValueError, match="fpr"):
        AnomalyDetector(model, fpr=1.5)
    with pytest.raises(ValueError, match="fit"):
        AnomalyDetector(model).predict(x)


def test_the_typicality_guard_maps_each_part_to_0_at_its_median_and_1_at_its_95th_percentile():
    from kzoo.analysis.anomaly import guard_calibration, guarded_scores

    rng = np.random.default_rng(0)
    raw, corrected = rng.normal(100, 10, 2001), rng.normal(5, 2, 2001)
    calibration = guard_calibration(raw, corrected)
    median_raw = np.median(raw)
    assert calibration["median"] == median_raw
    # An input typical in both parts scores 0; one past either part's 5%-FPR point scores above 1.
    assert guarded_scores([median_raw + np.median(np.abs(raw - median_raw))], [np.median(corrected)],
                          calibration)[0] == pytest.approx(0.0, abs=1e-9)
    assert guarded_scores([median_raw], [np.quantile(corrected, 0.95) + 1.0], calibration)[0] > 1.0
    assert guarded_scores([median_raw - 80.0], [np.median(corrected)], calibration)[0] > 1.0  # far too likely


def test_fit_code_mixture_recovers_a_known_mixture():
    from kzoo.models.latent.priors import code_mixture, fit_code_mixture

    rng = np.random.default_rng(0)
    true_means = np.array([[-4.0, 0.0, 1.0], [4.0, 2.0, -1.0]])
    scales = np.array([0.5, 1.5])
    labels = rng.random(4000) < 0.3  # weights 0.7 / 0.3
    codes = true_means[labels.astype(int)] + scales[labels.astype(int), None] * rng.normal(size=(4000, 3))
    logits, means, scale_trils = fit_code_mixture(codes, 2, seed=0)
    order = np.argsort(means[:, 0])
    np.testing.assert_allclose(means[order], true_means, atol=0.1)
    np.testing.assert_allclose(np.exp(logits[order]), [0.7, 0.3], atol=0.03)
    np.testing.assert_allclose(np.abs(np.diagonal(scale_trils[order], axis1=1, axis2=2)),
                               np.repeat(scales[:, None], 3, axis=1), rtol=0.08)
    # The density it returns is the mixture's: compare with the formula at fresh points.
    points = rng.normal(size=(50, 3)) * 3
    fitted = code_mixture(logits, means, scale_trils).log_prob(points.astype(np.float32)).numpy()
    by_hand = []
    for point in points:
        terms = []
        for k in range(2):
            tril = scale_trils[k].astype(np.float64)
            solved = np.linalg.solve(tril, point - means[k])
            terms.append(logits[k] - 0.5 * solved @ solved - np.log(np.abs(np.diag(tril))).sum()
                         - 1.5 * math.log(2 * math.pi))
        by_hand.append(np.logaddexp(*terms))
    np.testing.assert_allclose(fitted, by_hand, rtol=1e-4, atol=1e-3)
    with pytest.raises(ValueError, match="needs more than 3 codes, got 3"):
        fit_code_mixture(codes[:3], 2)
    with pytest.raises(ValueError, match="NaN or inf"):
        fit_code_mixture(np.full((10, 2), np.nan), 2)


def test_code_density_scores_codes_far_from_the_training_codes():
    import keras

    from kzoo.models.latent import VAE

    keras.utils.set_random_seed(0)
    model = VAE(latent_dim=4, filters=(8, 16), hidden_units=32)
    train, normal, dense = sparse_images(300, seed=1), sparse_images(200, seed=2), sparse_images(60, seed=3, p=0.9)
    density = anomaly.CodeDensity(model, components=2, seed=0).fit(train)
    codes = model.encode(normal)
    np.testing.assert_allclose(density.log_prob(normal), density.distribution_.log_prob(codes).numpy(), rtol=1e-6)
    scores = anomaly_scores(model, normal, code_density=density, k=2, seed=0)
    np.testing.assert_allclose(scores, -density.log_prob(normal), rtol=1e-6)
    # A random encoder already maps denser images to other codes: the code density separates them completely.
    dense_scores = anomaly_scores(model, dense, code_density=density, k=2, seed=0)
    assert roc_auc(scores, dense_scores) == 1.0 and dense_scores.min() - scores.max() > 1.0  # with a margin
    detector = AnomalyDetector(model, code_density=density, typicality_guard=True, k=2, seed=0).fit(normal)
    assert detector.predict(dense).all()
    assert np.all(detector.one_sided_score(normal) == scores)


def test_code_density_rejects_what_it_cannot_score():
    from kzoo.models.latent import VAE, ConditionalVAE

    x = sparse_images(30, seed=0)
    with pytest.raises(ValueError, match="needs a model with codes"):
        anomaly.CodeDensity(pixel_model())
    model = VAE(latent_dim=4, filters=(8, 16), hidden_units=32)
    with pytest.raises(ValueError, match="not fitted yet"):
        anomaly.CodeDensity(model).log_prob(x)
    with pytest.raises(ValueError, match="components"):
        anomaly.CodeDensity(model, components=0)
    density = anomaly.CodeDensity(model, components=2).fit(x)
    with pytest.raises(ValueError, match="another model"):
        anomaly_scores(VAE(latent_dim=4, filters=(8, 16), hidden_units=32), x, code_density=density)
    with pytest.raises(ValueError, match="complexity= and code_density="):
        AnomalyDetector(model, complexity="png", code_density=density)
    with pytest.raises(ValueError, match="fitted CodeDensity"):
        anomaly_scores(model, x, code_density="gmm")
    with pytest.raises(ValueError, match="class labels"):
        anomaly.CodeDensity(ConditionalVAE(num_classes=3, latent_dim=4, filters=(8, 16), hidden_units=32))
