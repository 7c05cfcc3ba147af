"""Mode coverage on 2-D mixtures and class histograms of generated images.

Checked against samplers whose answer is known: the data distribution itself
(every mode covered, 1 - exp(-9/2) = 98.9% of samples within 3 sigma), a
sampler restricted to some modes (KL = log(K / m)), hand-placed points, and
histograms compared with scipy's entropy."""

import math

import numpy as np
import pytest
from scipy import stats

from kzoo import data as kdata
from kzoo.core import catalog
from kzoo.analysis import modes as kmodes
from kzoo.analysis import ClassHistogram, ModeCoverage, class_histogram, kl_from_uniform, mode_coverage
from kzoo.evaluation.features import FeatureExtractor

PERFECT_HQ = 1.0 - math.exp(-4.5)  # P(chi_2 <= 3)


class MixtureSampler:
    """A model-like sampler of a Gaussian mixture restricted to some modes."""

    def __init__(self, dataset, keep=None, std_scale=1.0):
        spec = kdata.info(dataset)
        self.centres = spec.modes if keep is None else spec.modes[list(keep)]
        self.std = spec.mode_std * std_scale
        self.calls = []

    def generate(self, n, seed=None, **kwargs):
        self.calls.append((n, seed, kwargs))
        rng = np.random.default_rng(seed)
        k = rng.integers(0, len(self.centres), size=n)
        return (self.centres[k] + self.std * rng.standard_normal((n, 2))).astype(np.float32)


@pytest.mark.parametrize("dataset, num_modes", [("8gaussians", 8), ("25gaussians", 25)])
def test_the_data_distribution_covers_every_mode(dataset, num_modes):
    samples = kdata.load_numpy(dataset, "validation")
    result = mode_coverage(samples, dataset)
    assert isinstance(result, ModeCoverage)
    assert (result.num_modes, result.modes_covered, result.num_samples) == (num_modes, num_modes, 10_000)
    assert result.high_quality_fraction == pytest.approx(PERFECT_HQ, abs=0.004)
    assert result.kl_uniform < 0.01
    assert result.counts.sum() == round(result.high_quality_fraction * 10_000)


def test_a_sampler_that_drops_modes():
    model = MixtureSampler("8gaussians", keep=[0, 3, 5])
    result = mode_coverage(model, "8gaussians", num_samples=6000, seed=4)
    assert model.calls == [(6000, 4, {})]
    assert result.modes_covered == 3
    assert set(np.flatnonzero(result.counts >= 20)) == {0, 3, 5}  # 3 sigma discs of the ring nearly touch
    assert result.kl_uniform == pytest.approx(math.log(8 / 3), abs=0.01)
    assert result.high_quality_fraction == pytest.approx(PERFECT_HQ, abs=0.01)
    assert "3/8 modes covered" in str(result)


def test_a_blurred_sampler_loses_quality_not_modes():
    # Twice the std: P(||x - c|| <= 3 sigma) = 1 - exp(-9/8) = 0.675 (the grid's modes are far apart).
    result = mode_coverage(MixtureSampler("25gaussians", std_scale=2.0), "25gaussians", seed=1)
    assert result.modes_covered == 25
    assert result.high_quality_fraction == pytest.approx(1 - math.exp(-9 / 8), abs=0.015)


def test_hand_placed_points_and_the_minimum_count():
    centres = np.array([[0.0, 0.0], [10.0, 0.0], [0.0, 10.0]])
    points = np.array([[0.5, 0.0], [2.9, 0.0], [3.1, 0.0], [10.0, 2.0], [6.0, 6.0]] + [[0.0, 9.0]] * 2)
    nearest, distance, good = kmodes.assign_to_modes(points, centres, 1.0)
    np.testing.assert_array_equal(nearest, [0, 0, 0, 1, 1, 2, 2])
    np.testing.assert_allclose(distance[:4], [0.5, 2.9, 3.1, 2.0])
    np.testing.assert_array_equal(good, [True, True, False, True, False, True, True])
    result = mode_coverage(points, modes=centres, std=1.0, min_count=2)
    np.testing.assert_array_equal(result.counts, [2, 1, 2])
    assert result.modes_covered == 2
    assert result.high_quality_fraction == pytest.approx(5 / 7)
    assert result.kl_uniform == pytest.approx(stats.entropy([0.4, 0.2, 0.4], [1 / 3] * 3))
    assert mode_coverage(points, modes=centres, std=1.0, min_count=1).modes_covered == 3
    assert mode_coverage(points, modes=centres, std=1.0, num_std=3.2).counts.tolist() == [3, 1, 2]
    assert result.as_dict()["counts"] == [2, 1, 2]


def test_no_high_quality_sample_gives_nan_kl():
    result = mode_coverage(np.full((10, 2), 100.0), "8gaussians")
    assert result.modes_covered == 0 and result.high_quality_fraction == 0.0
    assert math.isnan(result.kl_uniform)


@pytest.mark.parametrize("seed", [0, 1])
def test_histogram_kl_and_entropy_match_scipy(seed):
    counts = np.random.default_rng(seed).integers(0, 50, size=10)
    counts[3] = 0
    assert kmodes.histogram_entropy(counts) == pytest.approx(stats.entropy(counts))
    assert kl_from_uniform(counts) == pytest.approx(stats.entropy(counts, np.ones(10)))
    assert kl_from_uniform([5, 0, 0, 0]) == pytest.approx(math.log(4))
    assert kl_from_uniform([7, 7, 7]) == pytest.approx(0.0, abs=1e-12)


def test_mode_coverage_errors_name_the_problem():
    with pytest.raises(ValueError, match="two_moons"):
        mode_coverage(np.zeros((5, 2)), "two_moons")
    with pytest.raises(ValueError, match="not both"):
        mode_coverage(np.zeros((5, 2)), "8gaussians", modes=np.zeros((2, 2)), std=1.0)
    with pytest.raises(ValueError, match="needs dataset"):
        mode_coverage(np.zeros((5, 2)))
    with pytest.raises(ValueError, match=r"shape \(N, 2\)"):
        mode_coverage(np.zeros((5, 3)), "8gaussians")
    with pytest.raises(ValueError, match="NaN"):
        mode_coverage(np.array([[0.0, np.nan]]), "8gaussians")
    with pytest.raises(ValueError, match="min_count"):
        mode_coverage(np.zeros((5, 2)), "8gaussians", min_count=0)
    with pytest.raises(ValueError, match="std must be"):
        mode_coverage(np.zeros((5, 2)), modes=np.zeros((2, 2)), std=-1.0)
    with pytest.raises(ValueError, match="temperature"):
        mode_coverage(np.zeros((5, 2)), "8gaussians", temperature=0.5)
    with pytest.raises(ValueError, match="generate"):
        mode_coverage("samples.npy", "8gaussians")


# ----------------------------------------------------------- class histogram
class BrightnessClassifier(FeatureExtractor):
    """Class = mean brightness bucket (10 buckets), probability 0.9 on it."""

    name = "brightness"

    @property
    def num_classes(self):
        return 10

    def _forward(self, batch, want_probabilities):
        mean = np.asarray(batch).reshape(len(batch), -1).mean(axis=1)
        cls = np.minimum((mean * 10).astype(int), 9)
        probs = np.full((len(batch), 10), 0.1 / 9, np.float32)
        probs[np.arange(len(batch)), cls] = 0.9
        return mean[:, None], probs


def images_of_classes(classes):
    classes = np.asarray(classes)
    return np.broadcast_to(((classes + 0.5) / 10.0)[:, None, None, None], (len(classes), 4, 4, 1)).astype(np.float32)


class ConditionalImages:
    """Draws the image of class ``label`` except for class 7, drawn as 1."""

    def generate(self, n, seed=None, labels=None):
        labels = np.asarray(labels)
        return images_of_classes(np.where(labels == 7, 1, labels))


def test_class_histogram_counts_classes():
    classes = np.r_[np.zeros(30, int), np.ones(10, int), np.full(20, 4)]
    result = class_histogram(images_of_classes(classes), classifier=BrightnessClassifier())
    assert isinstance(result, ClassHistogram)
    assert result.counts.tolist() == [30, 10, 0, 0, 20, 0, 0, 0, 0, 0]
    np.testing.assert_allclose(result.frequencies, result.counts / 60)
    assert result.kl_uniform == pytest.approx(stats.entropy(result.counts, np.ones(10)))
    assert result.entropy == pytest.approx(stats.entropy(result.counts))
    assert result.mean_confidence == pytest.approx(0.9)
    assert result.label_accuracy is None and result.classifier == "brightness"
    assert result.num_classes == 10 and result.as_dict()["counts"][0] == 30


def test_class_histogram_of_a_conditional_model_reports_label_accuracy():
    labels = np.arange(100) % 10
    result = class_histogram(ConditionalImages(), BrightnessClassifier(), num_samples=100, labels=labels)
    assert result.counts.tolist() == [10, 20, 10, 10, 10, 10, 10, 0, 10, 10]
    assert result.label_accuracy == pytest.approx(0.9)
    with pytest.raises(ValueError, match="100 samples"):
        class_histogram(images_of_classes(labels), BrightnessClassifier(), labels=labels[:50])
    # Labels of given samples are not sampling options: they score the samples.
    given = class_histogram(images_of_classes(np.where(labels == 7, 1, labels)), BrightnessClassifier(),
                            labels=labels)
    assert given.label_accuracy == pytest.approx(0.9)


def test_class_histogram_refuses_a_feature_network_without_classes():
    class FeaturesOnly(BrightnessClassifier):
        num_classes = None

    with pytest.raises(ValueError, match="no class probabilities"):
        class_histogram(images_of_classes([1, 2]), FeaturesOnly())


@pytest.mark.skipif("mnist-classifier" not in catalog.preset_names(), reason="saved_models/mnist-classifier is missing")
def test_real_digits_are_balanced_for_the_shipped_classifier():
    images, labels = kdata.load_numpy("mnist5k", "validation", labels=True)  # 50 per class
    result = class_histogram(images)
    assert result.classifier == "mnist_classifier"
    assert result.kl_uniform < 0.01
    assert result.mean_confidence > 0.9
    assert class_histogram(images[labels == 3]).kl_uniform > 2.0  # one digit: close to log 10


def test_uniform_noise_is_caught_on_the_grid_but_not_on_the_wide_ring():
    # The documented leniency of the 8-Gaussian ring (std 0.354): its 3-sigma discs fill ~44% of the box.
    rng = np.random.default_rng(0)
    for dataset, covered, fraction in (("8gaussians", 8, 0.44), ("25gaussians", 0, 0.025)):
        real = kdata.load_numpy(dataset, "validation")
        noise = rng.uniform(real.min(axis=0), real.max(axis=0), size=(10_000, 2))
        result = mode_coverage(noise, dataset)
        assert result.modes_covered == covered
        assert result.high_quality_fraction == pytest.approx(fraction, abs=0.02)


# ------------------------------------------------------------ stacked MNIST
def stacks_of_digits(triples):
    """Stacks whose channels are the BrightnessClassifier's images of the given digits."""
    triples = np.asarray(triples)
    return np.concatenate([images_of_classes(triples[:, k]) for k in range(3)], axis=-1)


def test_stacked_modes_are_digit_triples_counted_channel_by_channel():
    from kzoo.analysis import StackedModes, stacked_mode_coverage

    triples = np.array([[1, 2, 3]] * 5 + [[3, 2, 1]] * 3 + [[0, 0, 9]] * 2)
    result = stacked_mode_coverage(stacks_of_digits(triples), classifier=BrightnessClassifier())
    assert isinstance(result, StackedModes) and result.num_samples == 10
    assert result.modes_covered == 3 and np.flatnonzero(result.counts).tolist() == [9, 123, 321]
    assert result.counts[123] == 5 and result.counts.sum() == 10
    assert result.kl_uniform == pytest.approx(stats.entropy(result.counts, np.ones(1000)))
    assert stacked_mode_coverage(stacks_of_digits(triples), BrightnessClassifier(), min_count=3).modes_covered == 2
    every = np.array([[m // 100, m // 10 % 10, m % 10] for m in range(1000)])
    balanced = stacked_mode_coverage(stacks_of_digits(every), BrightnessClassifier())
    assert balanced.modes_covered == 1000 and balanced.kl_uniform == pytest.approx(0.0, abs=1e-12)
    assert set(balanced.as_dict()) == {"modes_covered", "kl_uniform", "mean_confidence", "num_samples", "min_count",
                                       "classifier"}


def test_stacked_modes_refuse_images_that_are_not_three_channel():
    from kzoo.analysis import stacked_mode_coverage

    with pytest.raises(ValueError, match=r"\(N, H, W, 3\).*\(4, 4, 4, 1\)"):
        stacked_mode_coverage(images_of_classes([1, 2, 3, 4]), classifier=BrightnessClassifier())
    with pytest.raises(ValueError, match="min_count"):
        stacked_mode_coverage(stacks_of_digits([[1, 2, 3]]), classifier=BrightnessClassifier(), min_count=0)


@pytest.mark.skipif("mnist-classifier" not in catalog.preset_names(), reason="saved_models/mnist-classifier is missing")
def test_stacked_mnist_validation_stacks_cover_their_modes_and_one_stack_covers_one():
    from kzoo.analysis import stacked_mode_coverage

    stacks, modes = kdata.load_numpy("stacked-mnist", "validation", labels=True)
    result = stacked_mode_coverage(stacks)
    present = np.bincount(modes, minlength=1000)
    # The classifier reads nearly every channel right: the counted modes are the drawn ones.
    assert abs(result.modes_covered - int(np.sum(present > 0))) <= 10 and result.modes_covered > 990
    assert result.kl_uniform < 0.3 and result.mean_confidence > 0.9
    collapsed = stacked_mode_coverage(np.repeat(stacks[:1], 50, axis=0))
    assert collapsed.modes_covered == 1 and collapsed.kl_uniform == pytest.approx(np.log(1000))
