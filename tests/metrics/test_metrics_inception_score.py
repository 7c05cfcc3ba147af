import numpy as np
import pytest

from kzoo.metrics import inception_score


def test_confident_balanced_classifier_scores_num_classes():
    labels = np.arange(1000) % 10
    probs = np.eye(10)[labels]
    mean, std = inception_score(probs, splits=10)
    assert mean == pytest.approx(10.0, abs=1e-6)
    assert std == pytest.approx(0.0, abs=1e-6)


def test_constant_prediction_scores_one():
    row = np.exp(np.linspace(-2, 2, 10))
    probs = np.tile(row / row.sum(), (200, 1))
    mean, std = inception_score(probs, splits=4)
    assert mean == pytest.approx(1.0, abs=1e-9)
    assert std == pytest.approx(0.0, abs=1e-9)


def test_hand_computed_two_class_case():
    probs = np.array([[0.9, 0.1], [0.1, 0.9]])
    kl = 0.9 * np.log(0.9 / 0.5) + 0.1 * np.log(0.1 / 0.5)
    mean, std = inception_score(probs, splits=1)
    assert mean == pytest.approx(np.exp(kl), rel=1e-12)
    assert std == 0.0


def test_matches_reference_with_rel_entr():
    from scipy.special import rel_entr

    rng = np.random.default_rng(0)
    probs = rng.dirichlet(0.3 * np.ones(7), size=103)
    probs[0] = [1, 0, 0, 0, 0, 0, 0]  # exact zeros are fine
    scores = []
    for chunk in np.array_split(probs, 5):
        marginal = chunk.mean(axis=0)
        scores.append(np.exp(rel_entr(chunk, marginal).sum(axis=1).mean()))
    mean, std = inception_score(probs, splits=5)
    assert mean == pytest.approx(np.mean(scores), rel=1e-10)
    assert std == pytest.approx(np.std(scores), rel=1e-8)


def test_rows_not_summing_to_one_are_counted():
    probs = np.full((20, 4), 0.25)
    probs[[2, 5, 11]] *= 2.0
    with pytest.raises(ValueError, match="3 of 20 rows of probabilities do not sum to 1"):
        inception_score(probs, splits=2)


def test_splits_out_of_range():
    probs = np.full((5, 4), 0.25)
    with pytest.raises(ValueError, match="splits=6 exceeds the number of samples 5"):
        inception_score(probs, splits=6)
    with pytest.raises(ValueError, match="splits must be a positive integer, got 0"):
        inception_score(probs, splits=0)


def test_negative_values_and_bad_shapes():
    with pytest.raises(ValueError, match="1 negative"):
        inception_score(np.array([[1.5, -0.5], [0.5, 0.5]]), splits=1)
    with pytest.raises(ValueError, match="shape"):
        inception_score(np.full(4, 0.25), splits=1)
    with pytest.raises(ValueError, match="1 NaN"):
        inception_score(np.array([[np.nan, 0.5], [0.5, 0.5]]), splits=1)
