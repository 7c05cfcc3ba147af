"""RealNVP, Glow, MAF and IAF: the shared harness plus flow-specific checks."""

import numpy as np
import pytest
import tensorflow as tf

from kzoo.core.precision import precision_scope
from kzoo.core.registry import model_classes
from kzoo.models.flows import IAF, MAF, Glow, RealNVP
from test_case import GenerativeModelTestCase
from flow_checks import brute_force_log_det, randomize_weights


def images(n, size=8, seed=0):
    """Dequantized 8-bit-like images in [0, 1)."""
    rng = np.random.default_rng(seed)
    levels = rng.integers(0, 256, size=(n, size, size, 1))
    return ((levels + rng.random(levels.shape)) / 256.0).astype(np.float32)


def points(n, dims=2, seed=0):
    rng = np.random.default_rng(seed)
    return (rng.standard_normal((n, dims)) * [1.5] + 0.5).astype(np.float32)


class FlowHarness(GenerativeModelTestCase):
    """Harness configs are minimal (tracing dominates); multi-scale paths are checked below."""

    shape = (4, 4, 1)

    def make_batch(self, seed=0):
        if len(self.shape) == 3:
            return images(self.batch_size, self.shape[0], seed)
        return points(self.batch_size, self.shape[0], seed)


class TestRealNVPImage(FlowHarness):
    def make_model(self, **overrides):
        config = dict(data_shape=self.shape, num_scales=1, couplings_per_scale=1, hidden_units=4, num_blocks=1)
        config.update(overrides)
        return RealNVP(**config)


class TestRealNVPSpline(FlowHarness):
    """The harness on a neural spline flow (the smallest one: TFP's spline graph is slow to trace)."""

    shape = (2,)

    def make_model(self, **overrides):
        config = dict(data_shape=self.shape, num_couplings=1, hidden_units=4, num_hidden=1, transform="spline",
                      num_bins=2)
        config.update(overrides)
        return RealNVP(**config)


class TestGlowImage(FlowHarness):
    def make_model(self, **overrides):
        config = dict(data_shape=self.shape, num_scales=1, steps_per_level=1, hidden_units=4)
        config.update(overrides)
        return Glow(**config)


class TestGlowSplineSplitPrior(FlowHarness):
    """The harness on the shipped glow-mnist architecture (spline couplings, residual networks, learned split
    prior) at the smallest size."""

    def make_model(self, **overrides):
        config = dict(data_shape=self.shape, num_scales=2, steps_per_level=1, hidden_units=2, num_blocks=1,
                      transform="spline", num_bins=2, split_prior=True)
        config.update(overrides)
        return Glow(**config)


class TestMAF(FlowHarness):

    def make_model(self, **overrides):
        config = dict(data_shape=self.shape, num_steps=2, hidden_units=(16,))
        config.update(overrides)
        return MAF(**config)


class TestMAFUniformFloor(TestMAF):
    """The density floor (a uniform mixture component) through the whole harness."""

    def make_model(self, **overrides):
        return super().make_model(**{"uniform_mixture": 0.01, **overrides})


class TestIAF(FlowHarness):
    shape = (3,)

    def make_model(self, **overrides):
        config = dict(data_shape=self.shape, num_steps=2, hidden_units=(8,))
        config.update(overrides)
        return IAF(**config)


# ------------------------------------------------------------------ models
MODEL_CASES = {
    "realnvp-image": (lambda: RealNVP(data_shape=(4, 4, 1), num_scales=2, couplings_per_scale=2, hidden_units=4),
                      lambda: images(3, 4)),
    "realnvp-spline-image": (lambda: RealNVP(data_shape=(4, 4, 1), num_scales=2, couplings_per_scale=1, hidden_units=4,
                                             transform="spline", num_bins=3, spline_bound=2.0), lambda: images(3, 4)),
    "realnvp-affine-2d": (lambda: RealNVP(data_shape=(2,), num_couplings=3, hidden_units=8), lambda: points(3)),
    "realnvp-spline-2d": (lambda: RealNVP(data_shape=(2,), num_couplings=3, hidden_units=8, transform="spline",
                                          num_bins=5, spline_bound=3.0), lambda: points(3)),
    "glow-image": (lambda: Glow(data_shape=(4, 4, 1), num_scales=2, steps_per_level=2, hidden_units=4),
                   lambda: images(3, 4)),
    "glow-spline-split-prior": (lambda: Glow(data_shape=(4, 4, 1), num_scales=2, steps_per_level=1, hidden_units=4,
                                             num_blocks=1, transform="spline", num_bins=3, spline_bound=2.0,
                                             split_prior=True), lambda: images(3, 4)),
    "glow-3d": (lambda: Glow(data_shape=(3,), steps_per_level=2, hidden_units=8), lambda: points(3, 3)),
    "maf-image": (lambda: MAF(data_shape=(3, 3, 1), num_steps=2, hidden_units=(12,)), lambda: images(3, 3)),
    "iaf-4d": (lambda: IAF(data_shape=(4,), num_steps=2, hidden_units=(12,)), lambda: points(3, 4)),
}


def test_every_registered_flow_has_a_case():
    covered = {type(make_model()).registered_name for make_model, _ in MODEL_CASES.values()}
    assert covered == set(model_classes("flows"))


def trained_like(case):
    """A model with initialized ActNorms and random weights everywhere (no identity step)."""
    make_model, make_x = MODEL_CASES[case]
    model = make_model()
    x = make_x()
    model.forward_and_log_det(tf.constant(np.concatenate([x, make_x()[::-1] * 0.9])), training=True)
    randomize_weights(model, seed=1, scale=0.2)
    return model, x


@pytest.mark.parametrize("case", sorted(MODEL_CASES))
def test_model_inverse_and_log_det_match_brute_force(case):
    model, x = trained_like(case)
    z, log_det = model.forward_and_log_det(tf.constant(x))
    np.testing.assert_allclose(model.inverse_transform(z).numpy(), x, atol=2e-5)
    assert log_det.dtype == tf.float32
    expected = brute_force_log_det(lambda v: model.forward_and_log_det(v)[0], x)
    np.testing.assert_allclose(log_det.numpy(), expected, rtol=1e-4, atol=2e-3)
    # The density is normalized by construction: log p = log N(z) + log_det.
    np.testing.assert_allclose(model.log_prob(x), model.base_log_prob(z).numpy() + log_det.numpy(), rtol=1e-6,
                               atol=1e-4)


@pytest.mark.parametrize("case", ["realnvp-image", "glow-image", "glow-spline-split-prior", "maf-image"])
def test_encode_decode_is_exact_and_interpolation_ends_at_inputs(case):
    model, x = trained_like(case)
    codes = model.encode(x)
    assert codes.shape == (len(x), model.latent_dim)
    np.testing.assert_allclose(model.decode(codes), x, atol=2e-5)
    path = model.interpolate(x[0], x[1], steps=4, method="lerp")
    assert path.shape == (4,) + model.data_shape
    np.testing.assert_allclose(path[0], x[0], atol=2e-5)
    np.testing.assert_allclose(path[-1], x[1], atol=2e-5)


def test_sample_histogram_matches_exp_log_prob_on_2d_flow():
    model, _ = trained_like("realnvp-affine-2d")
    samples = model.generate(100_000, seed=0, batch_size=50_000)
    edges = np.linspace(-6, 6, 25)
    counts, _, _ = np.histogram2d(samples[:, 0], samples[:, 1], bins=[edges, edges])
    empirical = counts / len(samples)
    # Integrate exp(log_prob) over each bin with a 4x4 midpoint rule.
    fine = np.linspace(-6, 6, 24 * 4 + 1)
    centres = (fine[:-1] + fine[1:]) / 2
    grid = np.stack(np.meshgrid(centres, centres, indexing="ij"), -1).reshape(-1, 2).astype(np.float32)
    density = np.exp(model.log_prob(grid, batch_size=4096)).reshape(96, 96)
    mass = density.reshape(24, 4, 24, 4).sum(axis=(1, 3)) * (fine[1] - fine[0]) ** 2
    assert abs(mass.sum() - empirical.sum()) < 0.01, (mass.sum(), empirical.sum())
    total_variation = 0.5 * np.abs(mass - empirical).sum()
    assert total_variation < 0.03, total_variation
    # A displaced density is far off: the check can fail.
    shifted = 0.5 * np.abs(np.roll(mass, 3, axis=0) - empirical).sum()
    assert shifted > 0.1


def test_temperature_scales_the_latent_noise():
    model, _ = trained_like("realnvp-affine-2d")
    cold = model.generate(2000, seed=1, temperature=0.0)
    np.testing.assert_allclose(cold, np.repeat(cold[:1], 2000, axis=0), atol=1e-6)
    z_cold = model.encode(model.generate(2000, seed=1, temperature=0.5))
    z_warm = model.encode(model.generate(2000, seed=1, temperature=1.0))
    np.testing.assert_allclose(z_cold, 0.5 * z_warm, atol=1e-4)
    with pytest.raises(ValueError, match="temperature"):
        model.generate(2, temperature=-1.0)


@pytest.mark.parametrize("precision", ["mixed_float16", "mixed_bfloat16"])
def test_mixed_precision_keeps_log_det_and_log_prob_float32(precision):
    reference, x = trained_like("realnvp-image")
    with precision_scope(precision):
        model = MODEL_CASES["realnvp-image"][0]()
        model.build_for_data()
        model.set_weights(reference.get_weights())
        z, log_det = model.forward_and_log_det(tf.constant(x))
        log_prob = model.log_prob_batch(tf.constant(x))
    assert z.dtype == tf.float32 and log_det.dtype == tf.float32 and log_prob.dtype == tf.float32
    assert model.flow_layers[1].network.layers[0].compute_dtype != "float32"
    expected = reference.log_prob(x)
    # Network outputs are rounded to 16 bits, the sums are float32 (log_prob of 16 dims is of order 10).
    np.testing.assert_allclose(log_prob.numpy(), expected, atol=0.5)
    np.testing.assert_allclose(log_det.numpy(), reference.forward_and_log_det(tf.constant(x))[1].numpy(), atol=0.5)


def test_logit_preprocessing_gives_density_on_unit_cube():
    """A flow with no trainable transform: log p is the change of variables of the logit map."""
    model = MAF(data_shape=(2, 2, 1), num_steps=1, hidden_units=(4,), actnorm=False, logit_alpha=0.1)
    model.build_for_data()
    x = images(4, 2)
    alpha = 0.1
    p = alpha + (1 - 2 * alpha) * x.reshape(4, -1)
    y = np.log(p / (1 - p))
    expected = (-0.5 * y ** 2 - 0.5 * np.log(2 * np.pi) + np.log(1 - 2 * alpha) - np.log(p * (1 - p))).sum(1)
    np.testing.assert_allclose(model.log_prob(x), expected, rtol=1e-5)
    assert model.data_options("train") == {"dequantize": True}


def test_actnorm_initializes_on_first_fit_batch_and_the_flag_is_saved(tmp_path):
    model = RealNVP(data_shape=(2,), num_couplings=2, hidden_units=8)
    x = points(256, seed=3) * 3.0 + 2.0
    model.compile()
    model.fit(x, batch_size=256, epochs=1, verbose=0, shuffle=False)
    first = model.flow_layers[0]
    assert float(first.initialized) == 1.0
    np.testing.assert_allclose(np.asarray(first.loc), x.mean(0), atol=0.05)
    path = tmp_path / "flow.weights.h5"
    model.save_weights(path)
    clone = RealNVP(data_shape=(2,), num_couplings=2, hidden_units=8)
    clone.build_for_data()
    clone.load_weights(path)
    assert float(clone.flow_layers[0].initialized) == 1.0
    loc = np.asarray(clone.flow_layers[0].loc)
    clone.forward_and_log_det(tf.constant(x[:8] + 100.0), training=True)
    np.testing.assert_array_equal(np.asarray(clone.flow_layers[0].loc), loc)


@pytest.mark.parametrize("make, message", [
    (lambda: RealNVP(data_shape=(30, 30, 1), num_scales=3), "divisible"),
    (lambda: RealNVP(data_shape=(1,)), "D >= 2"),
    (lambda: RealNVP(data_shape=(2,), transform="cubic"), "transform"),
    (lambda: Glow(data_shape=(12, 12, 1), num_scales=3), "divisible"),
    (lambda: Glow(data_shape=(2,), scale_function="relu"), "scale_function"),
    (lambda: Glow(data_shape=(8, 8, 1), transform="cubic"), "transform"),
    (lambda: Glow(data_shape=(8, 8, 1), spline_bound=0), "spline_bound"),
    (lambda: Glow(data_shape=(8, 8, 1), split_prior="yes"), "split_prior"),
    (lambda: Glow(data_shape=(8, 8, 1), num_scales=1, split_prior=True), "num_scales >= 2"),
    (lambda: Glow(data_shape=(4,), split_prior=True), "needs images"),
    (lambda: Glow(data_shape=(8, 8, 1), num_blocks=-1), "num_blocks"),
    (lambda: MAF(data_shape=(4,), num_steps=0), "num_steps"),
    (lambda: MAF(data_shape=(4,), logit_alpha=0.7), "logit_alpha"),
    (lambda: MAF(data_shape=(4,), preprocessing="boxcox"), "preprocessing"),
    (lambda: MAF(data_shape=(3, 3, 1), uniform_mixture=1.0), r"uniform_mixture.*\[0, 1\)"),
    (lambda: MAF(data_shape=(3, 3, 1), uniform_mixture=-0.1), "uniform_mixture"),
    (lambda: MAF(data_shape=(4,), uniform_mixture=0.01), "needs data in \\[0, 1\\]"),
])
def test_bad_config_is_rejected(make, message):
    with pytest.raises(ValueError, match=message):
        make()


def test_log_prob_rejects_wrong_shape_and_nan():
    model = RealNVP(data_shape=(2,), num_couplings=2, hidden_units=4)
    with pytest.raises(ValueError, match=r"\(N, 2\)"):
        model.log_prob(np.zeros((2, 3)))
    with pytest.raises(ValueError, match="NaN"):
        model.log_prob(np.array([[0.0, np.nan]]))


def _floored_copy(model, eps):
    config = {**model.get_config(), "uniform_mixture": eps}
    config.pop("dtype", None)
    floored = type(model).from_config(config)
    floored.build_for_data()
    floored.set_weights(model.get_weights())
    return floored


def test_the_uniform_floor_is_the_mixture_density_and_bounds_off_support_inputs():
    model = MAF(data_shape=(3, 3, 1), num_steps=2, hidden_units=(12,), actnorm=False)  # no data-dependent init
    model.build_for_data()
    randomize_weights(model, scale=0.3)
    floored = _floored_copy(model, 0.01)
    x = images(16, 3, seed=4)
    expected = np.logaddexp(np.log(0.99) + model.log_prob(x).astype(np.float64), np.log(0.01))
    np.testing.assert_allclose(floored.log_prob(x), expected, rtol=1e-5, atol=1e-5)
    # A sharply peaked flow finds some inputs absurdly unlikely: there the floor holds the density at eps.
    randomize_weights(model, seed=1, scale=3.0)
    floored = _floored_copy(model, 0.01)
    x = np.concatenate([images(64, 3, seed=5), np.zeros((1, 3, 3, 1)), np.full((1, 3, 3, 1), 0.999)]).astype(np.float32)
    plain, safe = model.log_prob(x), floored.log_prob(x)
    far = plain < np.log(0.01) - 20
    # Training follows the bound log(1 - eps) + log p_flow, whose gradient does not vanish below the floor.
    bound = floored.log_prob_batch(tf.constant(x), training=True).numpy()
    np.testing.assert_allclose(bound, plain + np.log(0.99), rtol=1e-5, atol=1e-3)
    with tf.GradientTape() as tape:
        loss = floored.compute_losses(tf.constant(x[far]), training=True)["loss"]
    gradients = tape.gradient(loss, floored.trainable_weights)
    assert max(float(tf.reduce_max(tf.abs(g))) for g in gradients if g is not None) > 0
    assert far.any(), "the peaked flow should leave some inputs far below the floor"
    assert np.isfinite(safe).all() and safe.min() >= np.log(0.01) - 1e-5
    np.testing.assert_allclose(safe[far], np.log(0.01), atol=1e-5)


def test_the_uniform_floor_draws_its_share_of_noise_samples_and_keeps_the_flows_otherwise():
    model = MAF(data_shape=(3, 3, 1), num_steps=2, hidden_units=(12,))
    model.build_for_data()
    floored = _floored_copy(model, 0.5)
    plain, mixed = model.generate(400, seed=3), floored.generate(400, seed=3)
    same = np.all(plain == mixed, axis=(1, 2, 3))
    assert 0.4 < 1 - same.mean() < 0.6  # about half the samples are replaced by uniform noise
    assert mixed.min() >= 0.0 and mixed.max() <= 1.0
    np.testing.assert_array_equal(_floored_copy(model, 0.0).generate(400, seed=3), plain)
