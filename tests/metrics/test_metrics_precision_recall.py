import numpy as np
import pytest

from kzoo.metrics import precision_recall


def _brute_force(real, fake, k):
    def radii(points):
        out = []
        for i, p in enumerate(points):
            dists = sorted(np.linalg.norm(p - q) for j, q in enumerate(points) if j != i)
            out.append(dists[k - 1])
        return out

    def fraction_inside(queries, centres, r):
        hits = 0
        for q in queries:
            hits += any(np.linalg.norm(q - c) <= rc for c, rc in zip(centres, r))
        return hits / len(queries)

    return fraction_inside(fake, real, radii(real)), fraction_inside(real, fake, radii(fake))


def test_hand_checkable_1d_case_k1():
    # Real 1-NN radii: 0->1, 1->1, 3->2, 7->4: balls cover [-1, 11].
    # Fake 1-NN radii: 4->1, 5->1, 20->2, 22->2: balls [3,5] [4,6] [18,22] [20,24].
    real = np.array([[0.0], [1.0], [3.0], [7.0]])
    fake = np.array([[4.0], [5.0], [20.0], [22.0]])
    result = precision_recall(real, fake, k=1)
    assert result["precision"] == pytest.approx(0.5)  # 4 and 5 are inside
    assert result["recall"] == pytest.approx(0.25)  # only 3, on a boundary


def test_hand_checkable_1d_case_k2():
    # Real 2-NN radii: 0->3, 1->2, 3->3, 7->6: balls cover [-3, 13].
    # Fake 2-NN radii: 4->16, 5->15, 20->15, 22->17: every real point is inside.
    real = np.array([[0.0], [1.0], [3.0], [7.0]])
    fake = np.array([[4.0], [5.0], [20.0], [22.0]])
    result = precision_recall(real, fake, k=2)
    assert result == {"precision": 0.5, "recall": 1.0}


def test_matches_brute_force_with_small_batches():
    rng = np.random.default_rng(0)
    real = rng.normal(size=(40, 2))
    fake = rng.normal(size=(33, 2)) * 1.5 + 0.7
    expected = _brute_force(real, fake, k=3)
    for batch_size in (1, 7, 1024):
        result = precision_recall(real, fake, k=3, batch_size=batch_size)
        assert (result["precision"], result["recall"]) == pytest.approx(expected)


def test_identical_sets():
    rng = np.random.default_rng(1)
    features = rng.normal(size=(200, 8))
    assert precision_recall(features, features.copy()) == {"precision": 1.0, "recall": 1.0}


def test_disjoint_far_apart_sets():
    rng = np.random.default_rng(2)
    real = rng.normal(size=(100, 4))
    fake = rng.normal(size=(100, 4)) + 100.0
    assert precision_recall(real, fake) == {"precision": 0.0, "recall": 0.0}


def test_generator_covering_half_the_modes():
    rng = np.random.default_rng(3)
    centres = np.array([[-20.0, 0.0], [20.0, 0.0]])
    real = np.concatenate([centres[0] + rng.normal(size=(500, 2)), centres[1] + rng.normal(size=(500, 2))])
    fake = centres[0] + rng.normal(size=(1000, 2))
    result = precision_recall(real, fake, k=3)
    assert result["precision"] > 0.95
    assert 0.45 < result["recall"] <= 0.5


def test_errors():
    rng = np.random.default_rng(4)
    with pytest.raises(ValueError, match="real features have dim 64 but fake features have dim 32"):
        precision_recall(rng.normal(size=(10, 64)), rng.normal(size=(10, 32)))
    with pytest.raises(ValueError, match="fake features hold 3 samples; at least 4"):
        precision_recall(rng.normal(size=(10, 2)), rng.normal(size=(3, 2)), k=3)
    with pytest.raises(ValueError, match="k must be a positive integer, got 0"):
        precision_recall(rng.normal(size=(10, 2)), rng.normal(size=(10, 2)), k=0)
    bad = rng.normal(size=(10, 2))
    bad[2, 1] = np.inf
    with pytest.raises(ValueError, match="real features contain 0 NaN and 1 infinite"):
        precision_recall(bad, rng.normal(size=(10, 2)))
