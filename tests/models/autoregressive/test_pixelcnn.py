"""PixelCNN: the shared harness plus exactness, causality and sampler checks.

The helpers at the top are shared with the Gated PixelCNN and PixelRNN tests.
"""

import itertools

import numpy as np
import pytest
import tensorflow as tf
from scipy.special import logsumexp

from kzoo.core.precision import precision_scope
from kzoo.models.autoregressive import PixelCNN
from test_case import GenerativeModelTestCase


# ---------------------------------------------------------------- helpers
def binary_images(n, shape=(8, 8, 1), seed=0):
    rng = np.random.default_rng(seed)
    return (rng.random((n,) + tuple(shape)) < 0.3).astype(np.float32)


def level_images(n, shape, levels=256, seed=0):
    rng = np.random.default_rng(seed)
    return (rng.integers(0, levels, (n,) + tuple(shape)) / (levels - 1)).astype(np.float32)


def every_image(shape, levels=2):
    """All images of ``shape`` whose sub-pixels take ``levels`` values in [0, 1]."""
    size = int(np.prod(shape))
    grid = np.array(list(itertools.product(range(levels), repeat=size)), np.float32) / (levels - 1)
    return grid.reshape((-1,) + tuple(shape))


def assert_normalized(model, levels=2, labels=None):
    """The probabilities of all images sum to one (for each label)."""
    images = every_image(model.data_shape, levels)
    for label in ([None] if labels is None else labels):
        y = None if label is None else np.full(len(images), label, np.int32)
        log_p = model.log_prob(images, labels=y)
        assert np.all(np.isfinite(log_p)) and np.all(log_p < 0)
        assert abs(logsumexp(log_p.astype(np.float64))) < 2e-4, f"log sum p(x) = {logsumexp(log_p)} (label {label})"


def logit_jacobian(model, seed=0, labels=None):
    """``J[i, j] = d logit_i / d x_j`` over sub-pixels in raster order, for one random image.

    One backward pass over a batch holding one copy of the image per output
    sub-pixel; categorical logits are projected on random weights.
    """
    rng = np.random.default_rng(seed)
    size = model.num_dims
    x = tf.constant(np.repeat(rng.uniform(0, 1, (1,) + model.data_shape), size, 0).astype(np.float32))
    y = None if labels is None else tf.fill([size], labels)
    with tf.GradientTape() as tape:
        tape.watch(x)
        logits = model.logits(x, y)
        if model.likelihood == "categorical":
            logits = tf.reduce_sum(logits * rng.normal(size=model.num_levels).astype(np.float32), -1)
        picked = tf.reduce_sum(tf.linalg.diag_part(tf.reshape(logits, (size, size))))
    return np.asarray(tape.gradient(picked, x)).reshape(size, size)


def assert_causal(jac):
    i, j = np.indices(jac.shape)
    assert np.all(jac[j >= i] == 0), "logit of sub-pixel i depends on a sub-pixel j >= i"


def assert_samplers_agree(model, samplers, n=3, seed=5, labels=None):
    """Every sampler gives exactly the same images for the same seed."""
    results = {s: model.generate(n, seed=seed, sampler=s, labels=labels) for s in samplers}
    reference = results[samplers[0]]
    scaled = reference * (max(model.num_outcomes, 2) - 1)
    np.testing.assert_allclose(scaled, np.round(scaled), atol=1e-4)
    for name, samples in results.items():
        np.testing.assert_array_equal(samples, reference, err_msg=f"{name} differs from {samplers[0]}")
    other = model.generate(n, seed=seed + 1, sampler=samplers[-1], labels=labels)
    assert not np.array_equal(other, reference)


def assert_sampling_matches_likelihood(model, n=4000, seed=0):
    """Sample frequencies of every 2x2 binary image match exp(log_prob)."""
    images = every_image(model.data_shape)
    probs = np.exp(model.log_prob(images).astype(np.float64))
    samples = model.generate(n, seed=seed, batch_size=n)
    codes = (samples.reshape(n, -1) @ (2 ** np.arange(samples[0].size)[::-1])).astype(int)
    freq = np.bincount(codes, minlength=len(images)) / n
    total_variation = 0.5 * np.abs(freq - probs).sum()
    assert total_variation < 0.05, (total_variation, freq, probs)


# ---------------------------------------------------------------- harness
class TestPixelCNN(GenerativeModelTestCase):
    def make_model(self, **overrides):
        config = dict(data_shape=(8, 8, 1), filters=8, num_blocks=1, first_kernel_size=5, head_units=8)
        config.update(overrides)
        return PixelCNN(**config)

    def make_batch(self, seed=0):
        return binary_images(self.batch_size, (8, 8, 1), seed)


class TestConditionalColourPixelCNN(TestPixelCNN):
    """Class labels through fit, a 256-way categorical likelihood and colour-group masks."""

    def make_model(self, **overrides):
        return super().make_model(data_shape=(6, 6, 3), filters=12, head_units=6, likelihood="categorical",
                                  num_classes=3, **overrides)

    def make_batch(self, seed=0):
        labels = np.random.default_rng(seed).integers(0, 3, self.batch_size).astype(np.int32)
        return level_images(self.batch_size, (6, 6, 3), 256, seed), labels

    def outputs(self, model, batch):
        return np.asarray(model(batch, training=False))


# ---------------------------------------------------------- model checks
@pytest.mark.parametrize("config, levels", [
    (dict(data_shape=(2, 2, 1)), 2),
    (dict(data_shape=(2, 2, 1), likelihood="categorical", num_levels=3), 3),
    (dict(data_shape=(1, 2, 3), filters=12, head_units=6), 2),
])
def test_log_prob_is_exactly_normalized(config, levels):
    model = PixelCNN(**{**dict(filters=8, num_blocks=2, head_units=8), **config})
    assert_normalized(model, levels)


def test_conditional_log_prob_is_normalized_for_every_class():
    model = PixelCNN(data_shape=(2, 2, 1), filters=8, num_blocks=1, head_units=8, num_classes=3)
    assert_normalized(model, 2, labels=[0, 1, 2])


def test_log_prob_equals_sum_of_conditionals():
    model = PixelCNN(data_shape=(5, 5, 1), filters=8, num_blocks=1, head_units=8)
    x = binary_images(4, (5, 5, 1), seed=3)
    logits = model.logits(tf.constant(x)).numpy().astype(np.float64)
    manual = np.sum(x * -np.logaddexp(0, -logits) + (1 - x) * -np.logaddexp(0, logits), axis=(1, 2, 3))
    np.testing.assert_allclose(model.log_prob(x), manual, rtol=1e-5)


def test_cached_and_compiled_samplers_match_the_naive_reference():
    model = PixelCNN(data_shape=(4, 4, 1), filters=8, num_blocks=2, first_kernel_size=5, head_units=8)
    model.build_for_data()
    assert_samplers_agree(model, ["naive", "compiled", "cached"])


@pytest.mark.parametrize("config", [
    dict(data_shape=(8, 8, 1)),
    dict(data_shape=(5, 5, 3), filters=12, head_units=6, likelihood="categorical", num_levels=5),
    dict(data_shape=(6, 6, 1), num_classes=3),
])
def test_cached_sampler_equals_compiled_sampler(config):
    model = PixelCNN(**{**dict(filters=8, num_blocks=2, head_units=8), **config})
    model.build_for_data()
    labels = None if model.num_classes is None else np.array([2, 0, 1, 1])
    assert_samplers_agree(model, ["compiled", "cached"], n=4, labels=labels)


def test_samplers_run_under_mixed_precision():
    with precision_scope("mixed_float16"):
        model = PixelCNN(data_shape=(5, 5, 1), filters=8, num_blocks=1, head_units=8)
        model.build_for_data()
        for sampler in ("compiled", "cached"):
            samples = model.generate(3, seed=0, sampler=sampler)
            assert samples.dtype == np.float32 and set(np.unique(samples)) <= {0.0, 1.0}


def test_samples_follow_the_model_distribution():
    model = PixelCNN(data_shape=(2, 2, 1), filters=8, num_blocks=1, head_units=8)
    model.build_for_data()
    for layer in model.layers:  # sharpen the random model so the test has power
        for w in layer.weights:
            w.assign(w * 3.0)
    assert_sampling_matches_likelihood(model)


def test_receptive_field_is_causal_with_the_known_blind_spot():
    model = PixelCNN(data_shape=(8, 8, 1), filters=8, num_blocks=4, head_units=8)
    jac = logit_jacobian(model)
    assert_causal(jac)
    index = lambda r, c: r * 8 + c  # noqa: E731
    # Left neighbour and the pixels above do matter ...
    for r, c in [(3, 0), (2, 1), (2, 0), (2, 4), (0, 1)]:
        assert jac[index(3, 1), index(r, c)] != 0, (r, c)
    # ... but no stack of masked 3x3 kernels reaches the upper right: the blind spot.
    for r, c in [(2, 5), (2, 6), (2, 7)]:
        assert jac[index(3, 1), index(r, c)] == 0, (r, c)


def test_colour_channels_are_ordered_within_a_pixel():
    model = PixelCNN(data_shape=(3, 3, 3), filters=12, num_blocks=2, head_units=6)
    jac = logit_jacobian(model)
    assert_causal(jac)
    centre = 4 * 3
    assert jac[centre + 1, centre] != 0 and jac[centre + 2, centre + 1] != 0  # G sees R, B sees G


def test_labels_are_required_and_checked():
    conditional = PixelCNN(data_shape=(4, 4, 1), filters=8, num_blocks=1, head_units=8, num_classes=3)
    x = binary_images(2, (4, 4, 1))
    with pytest.raises(ValueError, match="class-conditional"):
        conditional.log_prob(x)
    with pytest.raises(ValueError, match=r"lie in \[0, 2\]"):
        conditional.log_prob(x, labels=np.array([0, 3]))
    with pytest.raises(ValueError, match=r"shape \(2,\)"):
        conditional.generate(2, seed=0, labels=np.array([0]))
    unconditional = PixelCNN(data_shape=(4, 4, 1), filters=8, num_blocks=1, head_units=8)
    with pytest.raises(ValueError, match="unconditional"):
        unconditional.log_prob(x, labels=np.array([0, 1]))
    with pytest.raises(ValueError, match="sampler"):
        unconditional.generate(1, seed=0, sampler="fast")
    with pytest.raises(ValueError, match="temperature"):
        unconditional.generate(1, seed=0, temperature=0)


def test_conditional_samples_depend_on_the_label():
    model = PixelCNN(data_shape=(6, 6, 1), filters=8, num_blocks=1, head_units=8, num_classes=2)
    model.build_for_data()
    for w in model.class_bias[0].weights:
        w.assign(np.array([[-4.0] * 8, [4.0] * 8], np.float32))
    zeros = model.generate(4, seed=1, labels=np.zeros(4, int))
    ones = model.generate(4, seed=1, labels=np.ones(4, int))
    assert not np.array_equal(zeros, ones)


@pytest.mark.parametrize("kwargs, message", [
    (dict(filters=7), "even"),
    (dict(kernel_size=4), "odd"),
    (dict(num_blocks=-1), "num_blocks"),
    (dict(likelihood="gaussian"), "likelihood"),
    (dict(num_levels=1), "num_levels"),
    (dict(num_classes=1), "num_classes"),
    (dict(data_shape=(8, 8, 3), filters=8), "divisible by the number of image channels"),
    (dict(data_shape=(8, 8)), "image data_shape"),
    (dict(first_kernel_size=1), "sees nothing"),
])
def test_bad_config_is_rejected(kwargs, message):
    with pytest.raises(ValueError, match=message):
        PixelCNN(**kwargs)


@pytest.mark.slow
def test_trains_to_a_reasonable_nll_on_mnist5k():
    from kzoo import data as kdata

    model = PixelCNN(filters=32, num_blocks=3, head_units=32)
    model.compile()
    train = kdata.load("mnist5k", split="train", **model.data_options("train")).batch(64)
    model.fit(train, epochs=2, verbose=0)
    x = kdata.load_numpy("mnist5k", split="validation", **model.data_options("validation"))
    nll = -model.log_prob(x).mean()
    assert nll < 110, nll
