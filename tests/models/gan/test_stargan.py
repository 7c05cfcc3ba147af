"""StarGAN: the shared harness, the two-head discriminator, any-to-any translation and the paired validation."""

import numpy as np
import pytest
import tensorflow as tf

from kzoo.models.gan import StarGAN
from test_case import GenerativeModelTestCase, compile_model

DOMAINS = ("a", "b", "c")


def _stacks(seed, n=8, domains=3):
    return np.random.default_rng(seed).random((n, 28, 28, domains)).astype(np.float32)


def _small(**overrides):
    config = dict(data_shape=(28, 28, 3), domain_names=DOMAINS, filters=4, residual_blocks=1,
                  discriminator_filters=(4, 8), d_steps=2, identity_weight=5.0)
    config.update(overrides)
    return StarGAN(**config)


class TestStarGAN(GenerativeModelTestCase):
    translates = True
    generate_kwargs = {"source": _stacks(5)}

    def make_model(self, **overrides):
        return _small(**overrides)

    def make_batch(self, seed=0):
        return _stacks(seed, self.batch_size)


def test_networks_follow_the_paper_at_28x28():
    model = StarGAN()
    model.build_for_data()
    assert model.domain_names == ("plain", "thin", "thick", "slant_left", "slant_right")
    assert tuple(model.generator.layers[0].kernel.shape) == (7, 7, 6, 32)  # the image and five label channels
    assert tuple(model.generator(tf.zeros((1, 28, 28, 6))).shape) == (1, 28, 28, 1)
    scores, logits = model.discriminator(tf.zeros((2, 28, 28, 1)))
    assert tuple(scores.shape) == (2, 4, 4, 1) and tuple(logits.shape) == (2, 5)
    kinds = {type(layer).__name__ for layer in model.discriminator.layers}
    assert not kinds & {"BatchNormalization", "GroupNormalization"}  # the penalty is per example


def test_translate_sends_every_image_to_the_domain_asked_for():
    model = _small()
    model.build_for_data()
    x = _stacks(0)[..., :1]
    by_name = model.translate(x, "c", batch_size=3)
    assert by_name.shape == x.shape and 0.0 <= by_name.min() <= by_name.max() <= 1.0
    np.testing.assert_allclose(model.translate(x, 2, batch_size=3), by_name, atol=1e-6)
    mixed = model.translate(x, ["a", "b", "c", 0, 1, 2, "a", "c"], batch_size=3)
    np.testing.assert_allclose(mixed[2], by_name[2], atol=1e-6)
    assert np.abs(mixed[0] - by_name[0]).mean() > 0.01  # the target changes the output
    np.testing.assert_allclose(model.reconstruct(x, "a", "c", batch_size=3), model.translate(by_name, "a"),
                               atol=1e-5)
    # the model's call: block k holds image k - 1 sent into domain k
    stacks = _stacks(1)
    out = np.asarray(model(stacks))
    np.testing.assert_allclose(out[..., 1:2], model.translate(stacks[..., 0:1], "b"), atol=1e-5)
    np.testing.assert_allclose(out[..., 0:1], model.translate(stacks[..., 2:3], "a"), atol=1e-5)
    images, columns = model.translation_grid(stacks[:4])
    assert columns == 4 and images.shape == (16, 28, 28, 1)
    np.testing.assert_array_equal(images[4], stacks[1, ..., 1:2])  # row 1 starts from its domain-1 image
    np.testing.assert_allclose(images[7], model.translate(stacks[1:2, ..., 1:2], "c")[0], atol=1e-5)
    with pytest.raises(ValueError, match="Unknown domain 'd'; this model knows a, b, c"):
        model.translate(x, "d")
    with pytest.raises(ValueError, match=r"index in \[0, 3\), got 3"):
        model.translate(x, 3)
    with pytest.raises(ValueError, match="one per image \\(8\\), got 2"):
        model.translate(x, ["a", "b"])
    with pytest.raises(ValueError, match="shape"):
        model.translate(stacks, "a")


def test_training_targets_are_other_domains_drawn_evenly():
    model = _small()
    model.build_for_data()
    source = tf.repeat(tf.range(3), 400)
    targets = np.asarray(model._random_targets(source, 400, salt=7))
    assert not np.any(targets == np.asarray(source))
    for k in range(3):
        counts = np.bincount(targets[np.asarray(source) == k], minlength=3)
        assert counts[k] == 0 and abs(counts[(k + 1) % 3] - 200) < 50


def test_validation_on_stacks_of_one_digit_reports_the_l1_to_the_true_targets():
    model = compile_model(_small())
    train = tf.data.Dataset.from_tensors(_stacks(0))
    x = _stacks(1)[..., :1]
    stacks = np.concatenate([x, 1.0 - x, 0.5 * x], axis=-1)  # every channel the exact target of the others
    history = model.fit(train, validation_data=tf.data.Dataset.from_tensors(stacks), epochs=1, verbose=0).history
    images = np.split(stacks, 3, axis=-1)
    expected = np.mean([np.abs(model.translate(images[s], t) - images[t]).mean()
                        for s in range(3) for t in range(3) if s != t])
    assert history["val_l1"][0] == pytest.approx(expected, rel=1e-4)
    assert "l1" not in history  # training stacks do not correspond
    for name in ("real_domain_accuracy", "fake_domain_accuracy"):
        assert 0.0 <= history[name][0] <= 1.0


@pytest.mark.parametrize("kwargs, message", [
    (dict(data_shape=(28, 28, 4)), "stack of 3 images"),
    (dict(data_shape=(30, 30, 3)), "divisible by 4"),
    (dict(domain_names=("a", "a", "b")), "at least two different domains"),
    (dict(domain_names="abc"), "sequence of non-empty strings"),
    (dict(reconstruction_weight=-1.0), "reconstruction_weight"),
    (dict(gp_weight=-1.0), "gp_weight"),
    (dict(identity_weight=-1.0), "identity_weight"),
])
def test_bad_arguments_are_rejected(kwargs, message):
    with pytest.raises(ValueError, match=message):
        _small(**kwargs)
