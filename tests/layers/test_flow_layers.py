"""Invertible layers: exact inverses, log-determinants against autodiff, configs, ActNorm init."""

import sys
from pathlib import Path

import numpy as np
import pytest
import tensorflow as tf
import keras

from kzoo.core.distribute import make_strategy
from kzoo.layers import (ActNorm, Coupling, Flatten, InvertibleConv1x1, MaskedAutoregressiveAffine, Squeeze,
                         checkerboard)

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "models" / "flows"))
from flow_checks import brute_force_log_det, randomize_weights  # noqa: E402

IMAGE = (4, 4, 2)

LAYERS = {
    "actnorm-image": (lambda: ActNorm(), IMAGE),
    "actnorm-vector": (lambda: ActNorm(), (3,)),
    "invconv-image": (lambda: InvertibleConv1x1(seed=3), IMAGE),
    "invconv-vector": (lambda: InvertibleConv1x1(seed=4), (4,)),
    "coupling-checkerboard-tanh": (lambda: Coupling(mask="checkerboard", parity=1, hidden_units=4), IMAGE),
    "coupling-checkerboard-residual": (lambda: Coupling(mask="checkerboard", hidden_units=4, num_blocks=2), IMAGE),
    "coupling-channel-sigmoid": (lambda: Coupling(mask="channel", hidden_units=4, scale_function="sigmoid"), (4, 4, 3)),
    "coupling-half-affine": (lambda: Coupling(mask="half", parity=1, hidden_units=8), (5,)),
    "coupling-half-spline": (lambda: Coupling(mask="half", hidden_units=8, transform="spline", num_bins=5,
                                              spline_bound=2.0), (4,)),
    "coupling-channel-spline": (lambda: Coupling(mask="channel", hidden_units=4, transform="spline", num_bins=3),
                                (2, 2, 2)),
    "maf-step": (lambda: MaskedAutoregressiveAffine(hidden_units=(10, 10), order="reversed"), (5,)),
    "iaf-step": (lambda: MaskedAutoregressiveAffine(hidden_units=(10,), inverse_autoregressive=True), (4,)),
    "squeeze": (lambda: Squeeze(), IMAGE),
    "flatten": (lambda: Flatten(), IMAGE),
}


def built(case, seed=0):
    make, shape = LAYERS[case]
    layer = make()
    layer.build((None,) + shape)
    randomize_weights(layer, seed=seed, scale=0.3)
    x = np.random.default_rng(seed).standard_normal((3,) + shape).astype(np.float32) * 1.5
    return layer, x


@pytest.mark.parametrize("case", sorted(LAYERS))
def test_inverse_of_forward_is_identity(case):
    layer, x = built(case)
    z, log_det = layer.forward(tf.constant(x))
    assert z.dtype == tf.float32 and log_det.dtype == tf.float32 and log_det.shape == (3,)
    assert tuple(z.shape[1:]) == layer.output_shape_for(x.shape[1:])
    np.testing.assert_allclose(layer.inverse(z).numpy(), x, atol=3e-5)


@pytest.mark.parametrize("case", sorted(LAYERS))
def test_log_det_matches_autodiff_jacobian(case):
    layer, x = built(case)
    _, log_det = layer.forward(tf.constant(x))
    expected = brute_force_log_det(lambda v: layer.forward(v)[0], x)
    np.testing.assert_allclose(log_det.numpy(), expected, rtol=1e-4, atol=1e-3)


@pytest.mark.parametrize("case", sorted(LAYERS))
def test_config_round_trip(case):
    layer, _ = built(case)
    restored = keras.saving.deserialize_keras_object(keras.saving.serialize_keras_object(layer))
    assert type(restored) is type(layer) and restored.get_config() == layer.get_config()


def test_affine_and_spline_couplings_start_as_identity():
    for case in ("coupling-checkerboard-tanh", "coupling-half-affine", "coupling-half-spline", "maf-step"):
        make, shape = LAYERS[case]
        layer = make()
        layer.build((None,) + shape)
        x = np.random.default_rng(0).standard_normal((3,) + shape).astype(np.float32)
        z, log_det = layer.forward(tf.constant(x))
        np.testing.assert_allclose(z.numpy(), x, atol=1e-5, err_msg=case)
        np.testing.assert_allclose(log_det.numpy(), 0.0, atol=1e-5, err_msg=case)


def test_coupling_leaves_the_conditioning_part_unchanged():
    layer, x = built("coupling-checkerboard-tanh")
    z = layer.forward(tf.constant(x))[0].numpy()
    kept = checkerboard(4, 4, parity=1)[..., 0].astype(bool)
    np.testing.assert_array_equal(z[:, kept], x[:, kept])
    assert not np.allclose(z[:, ~kept], x[:, ~kept])


@pytest.mark.parametrize("case", ["maf-step", "iaf-step"])
def test_autoregressive_step_jacobian_is_triangular_in_its_order(case):
    layer, x = built(case)
    v = tf.constant(x)
    with tf.GradientTape() as tape:
        tape.watch(v)
        z = layer.forward(v)[0]
    jacobian = tape.batch_jacobian(z, v).numpy()
    order = np.arange(x.shape[1])[::-1] if layer.order == "reversed" else np.arange(x.shape[1])
    permuted = jacobian[:, order][:, :, order]
    upper = np.triu(np.ones(permuted.shape[1:], bool), 1)
    assert np.all(np.abs(permuted[:, upper]) < 1e-6)
    assert np.any(np.abs(permuted[:, ~upper & ~np.eye(x.shape[1], dtype=bool)]) > 1e-4)


def test_invertible_conv_kernel_starts_orthogonal_and_log_det_is_sum_of_log_scale():
    layer, _ = built("invconv-image")
    fresh = InvertibleConv1x1(seed=3)
    fresh.build((None,) + IMAGE)
    kernel = fresh.kernel().numpy()
    np.testing.assert_allclose(kernel @ kernel.T, np.eye(2), atol=1e-5)
    w = layer.kernel().numpy()
    assert np.isclose(np.log(abs(np.linalg.det(w))), np.asarray(layer.log_scale).sum(), atol=1e-5)


def test_actnorm_initializes_from_first_training_batch_only():
    layer = ActNorm()
    layer.build((None,) + IMAGE)
    x = (np.random.default_rng(1).standard_normal((16,) + IMAGE) * [2.0, 0.5] + [3.0, -1.0]).astype(np.float32)
    z, _ = layer.forward(tf.constant(x), training=False)
    np.testing.assert_array_equal(z.numpy(), x)  # uninitialized inference is the identity
    z, _ = layer.forward(tf.constant(x), training=True)
    np.testing.assert_allclose(z.numpy().reshape(-1, 2).mean(0), 0.0, atol=1e-5)
    np.testing.assert_allclose(z.numpy().reshape(-1, 2).std(0), 1.0, atol=1e-4)
    loc = np.asarray(layer.loc)
    layer.forward(tf.constant(x * 10.0), training=True)
    np.testing.assert_array_equal(np.asarray(layer.loc), loc)


def test_actnorm_init_under_mirrored_strategy_uses_the_global_batch():
    x = (np.random.default_rng(2).standard_normal((8, 3)) * [1.0, 2.0, 3.0] + [0.0, 5.0, -5.0]).astype(np.float32)
    x[:4] += 4.0  # the two replicas see different halves
    strategy = make_strategy("mirrored", num_replicas=2)
    with strategy.scope():
        layer = ActNorm()
        layer.build((None, 3))
    dataset = strategy.experimental_distribute_dataset(tf.data.Dataset.from_tensor_slices(x).batch(8))

    @tf.function
    def step(batch):
        return strategy.run(lambda v: layer.forward(v, training=True)[0], args=(batch,))

    step(next(iter(dataset)))
    np.testing.assert_allclose(np.asarray(layer.loc), x.mean(0), atol=1e-5)
    np.testing.assert_allclose(np.asarray(layer.log_scale), np.log(x.std(0) + 1e-6), atol=1e-5)
    for value in strategy.experimental_local_results(layer.loc):
        np.testing.assert_allclose(np.asarray(value), x.mean(0), atol=1e-5)


@pytest.mark.parametrize("make, message", [
    (lambda: Coupling(mask="diagonal"), "mask"),
    (lambda: Coupling(mask="checkerboard", transform="spline"), "spline"),
    (lambda: Coupling(spline_bound=0), "spline_bound"),
    (lambda: Coupling(num_blocks=-1), "num_blocks"),
    (lambda: ActNorm(epsilon=-1.0), "epsilon"),
    (lambda: InvertibleConv1x1(seed=-1), "seed"),
    (lambda: MaskedAutoregressiveAffine(order="random"), "order"),
])
def test_bad_options_are_rejected(make, message):
    with pytest.raises(ValueError, match=message):
        make()


def test_masks_need_matching_inputs():
    with pytest.raises(ValueError, match="image inputs"):
        Coupling(mask="channel").build((None, 4))
    with pytest.raises(ValueError, match="size >= 2"):
        Coupling(mask="channel").build((None, 4, 4, 1))
    with pytest.raises(ValueError, match="even H and W"):
        Squeeze().build((None, 3, 4, 1))
