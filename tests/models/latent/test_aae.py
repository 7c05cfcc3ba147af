"""Adversarial autoencoder: the shared harness (unsupervised, supervised, semi-supervised), the priors, the supervised terms, a short training run."""

import re

import numpy as np
import pytest
import tensorflow as tf
import keras

from kzoo import data as kdata
from kzoo import training
from kzoo.models.latent import AdversarialAutoencoder
from kzoo.models.latent import priors as P
from test_case import GenerativeModelTestCase, compile_model
from models.latent.test_vae import binary_images

SMALL = dict(latent_dim=4, filters=(8, 16), hidden_units=32, discriminator_units=(16,))


class TestAdversarialAutoencoder(GenerativeModelTestCase):
    extra = {}

    def make_model(self, **overrides):
        config = dict(SMALL, **self.extra)
        config.update(overrides)
        return AdversarialAutoencoder(**config)

    def make_batch(self, seed=0):
        return binary_images(self.batch_size, seed)


class TestSupervisedAAE(TestAdversarialAutoencoder):
    """The supervised variant on the mixture prior, two discriminator steps per generator step."""

    extra = {"prior": "mixture", "num_classes": 3, "d_steps": 2}

    def make_batch(self, seed=0):
        labels = (np.arange(self.batch_size) % 3).astype(np.int32)
        labels[-1] = -1  # the extra "unlabeled" slot of the discriminator's label input
        return binary_images(self.batch_size, seed), labels


class TestSemiSupervisedAAE(TestAdversarialAutoencoder):
    """With augmentation and the consistency term, so the harness covers both."""

    extra = {"num_classes": 3, "semi_supervised": True, "labeled_per_class": 2, "augment": "translation",
             "consistency_weight": 1.0}

    def make_batch(self, seed=0):
        # Labeled examples only in the first half: the two replicas of the mirrored check hold 3 and 0.
        labels = np.array([0, 1, 2, -1, -1, -1, -1, -1], np.int32)[: self.batch_size]
        return binary_images(self.batch_size, seed), labels


def small(**kwargs):
    model = AdversarialAutoencoder(**dict(SMALL, **kwargs))
    model.build_for_data()
    return model


# ------------------------------------------------------------------ priors
@pytest.mark.parametrize("name", P.PRIORS)
@pytest.mark.parametrize("dim", [2, 5])
def test_prior_samples_and_log_prob_are_finite_with_the_right_shapes(name, dim):
    prior = P.make_prior(name, dim)
    samples = prior.sample(500, seed=tf.constant([1, 2]))
    assert samples.shape == (500, dim)
    log_prob = prior.log_prob(samples).numpy()
    assert log_prob.shape == (500,) and np.all(np.isfinite(log_prob))
    # Noise-driven draws (the train step's) follow the same distribution as sample().
    uniform = tf.random.stateless_uniform([4000], [3, 4])
    normal = tf.random.stateless_normal([4000, dim], [5, 6])
    drawn = P.sample_with_noise(prior, uniform, normal).numpy()
    reference = prior.sample(4000, seed=tf.constant([7, 8])).numpy()
    np.testing.assert_allclose(drawn.mean(0), reference.mean(0), atol=0.2)
    np.testing.assert_allclose(drawn.std(0), reference.std(0), rtol=0.1)
    assert abs(prior.log_prob(drawn).numpy().mean() - prior.log_prob(reference).numpy().mean()) < 0.2
    if dim > 2:  # the dimensions past the first two are standard normal for every prior
        np.testing.assert_allclose(drawn[:, 2:].std(0), 1.0, atol=0.1)


def test_structured_priors_put_mass_on_the_circle_and_the_roll():
    mixture = P.make_prior("mixture", 2)
    on_circle = tf.constant([[P.CIRCLE_RADIUS, 0.0]])
    assert float(mixture.log_prob(on_circle)[0]) > float(mixture.log_prob(tf.zeros((1, 2)))[0]) + 10
    roll = P.make_prior("swiss_roll", 2)
    points = roll.sample(2000, seed=tf.constant([0, 1])).numpy()
    radius = np.linalg.norm(points, axis=1)
    assert 0.8 < radius.min() and radius.max() < 5.8  # (t cos t, t sin t) / 3 for t in [1.5 pi, 4.5 pi], +- noise
    assert float(roll.log_prob(tf.zeros((1, 2)))[0]) < -20  # the centre of the roll is empty


def test_supervised_prior_puts_each_class_on_its_own_component():
    labels = np.repeat(np.arange(10), 50).astype(np.int32)
    prior = P.class_prior("mixture", 2, tf.constant(labels), 10)
    codes = P.sample_with_noise(prior, tf.random.stateless_uniform([500], [1, 1]),
                                tf.random.stateless_normal([500, 2], [2, 2])).numpy()
    means = P.make_prior("mixture", 2).components_distribution.mean().numpy()
    nearest = np.argmin(((codes[:, None, :] - means[None]) ** 2).sum(-1), axis=1)
    assert np.mean(nearest == labels) > 0.95  # neighbours are 5 standard deviations apart
    class_means = codes.reshape(10, 50, 2).mean(1)
    np.testing.assert_allclose(class_means, means, atol=0.3)
    # Swiss roll split in 10 classes: class c's draws come from its tenth of the components.
    roll = P.class_prior("swiss_roll", 2, tf.constant(labels), 10)
    codes = P.sample_with_noise(roll, tf.random.stateless_uniform([500], [3, 1]), tf.zeros([500, 2])).numpy()
    owners = P.component_classes("swiss_roll", 10)
    centres = P.make_prior("swiss_roll", 2).components_distribution.mean().numpy()
    nearest = np.argmin(((codes[:, None, :] - centres[None]) ** 2).sum(-1), axis=1)
    np.testing.assert_array_equal(owners[nearest], labels)
    # Unlabeled examples (-1) draw from the whole prior.
    unlabeled = P.class_prior("mixture", 2, tf.fill([1000], -1), 10)
    codes = P.sample_with_noise(unlabeled, tf.random.stateless_uniform([1000], [4, 1]), tf.zeros([1000, 2])).numpy()
    assert len(np.unique(np.round(codes, 3), axis=0)) == 10


def test_supervised_model_draws_each_class_from_its_component():
    model = small(prior="mixture", num_classes=10, latent_dim=2)
    labels = np.arange(40) % 10
    codes = model.sample_codes(40, seed=0, labels=labels)
    means = P.make_prior("mixture", 2).components_distribution.mean().numpy()
    np.testing.assert_array_equal(np.argmin(((codes[:, None] - means[None]) ** 2).sum(-1), axis=1), labels)
    np.testing.assert_allclose(model.decode(codes), model.generate(40, seed=0, labels=labels), atol=1e-6)
    assert not np.allclose(model.generate(2, seed=0, labels=[0, 0]), model.generate(2, seed=0, labels=[5, 5]))


@pytest.mark.parametrize("call, message", [
    (lambda: P.make_prior("laplace", 2), "prior must be one of"),
    (lambda: P.make_prior("mixture", 1), "latent_dim must be >= 2"),
    (lambda: P.make_prior("normal", 3, num_classes=3), "prior='normal'"),
    (lambda: P.make_prior("mixture", 2, num_classes=11), "num_classes must be <= 10, got 11"),
])
def test_bad_prior_arguments_are_rejected(call, message):
    with pytest.raises(ValueError, match=message):
        call()


# ------------------------------------------------------- supervised terms
def test_masked_cross_entropy_ignores_unlabeled_examples():
    model = small(num_classes=3, semi_supervised=True)
    logits = tf.constant(np.random.default_rng(0).normal(size=(6, 3)), tf.float32)
    labels = tf.constant([2, -1, 0, -1, -1, 1])
    loss, mean_ce, accuracy, count = model.supervised_terms(logits, labels)
    expected = tf.nn.sparse_softmax_cross_entropy_with_logits(labels=[2, 0, 1], logits=tf.gather(logits, [0, 2, 5]))
    np.testing.assert_allclose(float(loss), float(tf.reduce_mean(expected)), rtol=1e-6)
    assert float(mean_ce) == pytest.approx(float(loss)) and float(count) == 3
    predicted = np.argmax(logits.numpy()[[0, 2, 5]], axis=1)
    assert float(accuracy) == pytest.approx(np.mean(predicted == [2, 0, 1]))
    # Changing the logits of unlabeled examples changes nothing.
    moved = tf.tensor_scatter_nd_add(logits, [[1], [3]], [[9.0, -9.0, 0.0], [0.0, 5.0, 5.0]])
    np.testing.assert_allclose(float(model.supervised_terms(moved, labels)[0]), float(loss), rtol=1e-6)


def test_supervised_gradient_is_zero_when_every_label_is_missing():
    model = small(num_classes=3, semi_supervised=True)
    x = tf.constant(binary_images(6))
    variables = model.generator.trainable_variables
    with tf.GradientTape(persistent=True) as tape:
        class_logits, _ = model.generator.encode(x, training=True)
        unlabeled = model.supervised_terms(class_logits, tf.fill([6], -1))[0]
        labeled = model.supervised_terms(class_logits, tf.constant([0, 1, 2, -1, -1, -1]))[0]
    assert float(unlabeled) == 0.0
    for grad in tape.gradient(unlabeled, variables):
        assert grad is None or (np.all(np.isfinite(grad)) and not np.any(grad))
    norm = tf.linalg.global_norm([g for g in tape.gradient(labeled, variables) if g is not None])
    assert float(norm) > 0


def test_augmentation_applies_to_training_updates_only_and_differs_between_updates():
    model = small(num_classes=3, semi_supervised=True, augment="translation", consistency_weight=1.0)
    x = tf.constant(binary_images(8))
    np.testing.assert_array_equal(model.encoder_input(x, 0, training=False), x)
    first, again, generator = (model.encoder_input(x, step) for step in (0, 0, 1000))
    np.testing.assert_array_equal(first, again)  # keyed on the optimizer step and the update, not drawn afresh
    assert not np.array_equal(first, x) and not np.array_equal(first, generator)
    # Translation moves ink, it neither adds nor removes any inside the canvas but at the border.
    assert set(np.unique(first)) <= {0.0, 1.0}


def test_consistency_term_is_the_kl_to_the_clean_prediction_held_fixed():
    model = small(num_classes=3, semi_supervised=True, augment="translation", consistency_weight=1.0)
    clean = tf.constant([[2.0, 0.0, -1.0], [0.0, 0.0, 0.0]])
    assert float(model.consistency_term(clean, clean)) == pytest.approx(0.0, abs=1e-7)
    augmented = tf.Variable([[0.0, 1.0, 0.0], [3.0, 0.0, 0.0]])
    with tf.GradientTape(persistent=True) as tape:
        tape.watch(clean)
        value = model.consistency_term(clean, augmented)
    p, q = tf.nn.softmax(clean), tf.nn.softmax(augmented)
    expected = tf.reduce_mean(tf.reduce_sum(p * (tf.math.log(p) - tf.math.log(q)), axis=-1))
    assert float(value) == pytest.approx(float(expected), rel=1e-5) and float(value) > 0
    assert tape.gradient(value, clean) is None  # the clean prediction is a fixed target
    assert float(tf.linalg.global_norm([tape.gradient(value, augmented)])) > 0


def test_pseudo_label_consistency_counts_only_confident_clean_predictions():
    model = small(num_classes=3, semi_supervised=True, augment="translation", consistency_weight=1.0,
                  consistency_threshold=0.6)
    clean = tf.constant([[3.0, 0.0, 0.0], [0.1, 0.0, 0.0]])  # confident (p 0.91) and not (p 0.36)
    augmented = tf.constant([[0.0, 1.0, 0.0], [0.0, 0.0, 5.0]])
    expected = -float(tf.nn.log_softmax(augmented)[0, 0]) / 2  # averaged over the whole batch
    assert float(model.consistency_term(clean, augmented)) == pytest.approx(expected, rel=1e-6)
    assert float(model.consistency_term(clean * 0.0, augmented)) == 0.0  # nothing is confident


def test_validation_steps_report_no_consistency_and_see_clean_images():
    model = compile_model(small(num_classes=3, semi_supervised=True, augment="translation", consistency_weight=1.0))
    x, labels = binary_images(8), np.array([0, 1, 2, 0, 1, 2, 0, 1], np.int32)
    history = model.fit(x, labels, batch_size=8, epochs=1, verbose=0, validation_data=(x, labels)).history
    assert history["consistency"][0] > 0 and "val_consistency" not in history
    clean = model.generator_losses(tf.constant(x), tf.constant(labels), training=False)
    evaluated = model.evaluate(x, labels, batch_size=8, verbose=0, return_dict=True)
    assert evaluated["reconstruction"] == pytest.approx(float(clean["reconstruction"]), rel=1e-5)


def test_fit_on_batches_without_labels_keeps_the_supervised_trackers_finite():
    model = compile_model(small(num_classes=3, semi_supervised=True))
    x = binary_images(8)
    history = model.fit(x, np.full(8, -1, np.int32), batch_size=8, epochs=1, verbose=0).history
    assert history["supervised"][0] == 0.0 and history["accuracy"][0] == 0.0
    assert all(np.isfinite(v[0]) for v in history.values())


def test_classify_and_class_probabilities():
    model = small(num_classes=3, semi_supervised=True)
    x = binary_images(5)
    probabilities = model.class_probabilities(x, batch_size=2)
    assert probabilities.shape == (5, 3) and probabilities.dtype == np.float32
    np.testing.assert_allclose(probabilities.sum(1), 1.0, rtol=1e-5)
    predicted = model.classify(x)
    assert predicted.shape == (5,) and np.issubdtype(predicted.dtype, np.integer)
    np.testing.assert_array_equal(predicted, probabilities.argmax(1))
    codes = model.encode(x)
    assert codes.shape == (5, model.code_dim) == (5, 3 + 4)
    np.testing.assert_allclose(codes[:, :3], probabilities, rtol=1e-5)
    np.testing.assert_allclose(model.decode(codes), np.asarray(model(x)), atol=1e-6)
    # Generated classes pick y one-hot.
    generated = model.sample_codes(6, seed=0, labels=[0, 1, 2, 2, 1, 0])
    np.testing.assert_array_equal(generated[:, :3].argmax(1), [0, 1, 2, 2, 1, 0])
    with pytest.raises(ValueError, match="semi_supervised=True"):
        small().classify(x)


def test_encode_decode_interpolate_and_labels_refused():
    model = small(prior="mixture")
    x = binary_images(3)
    codes = model.encode(x)
    assert codes.shape == (3, 4)
    np.testing.assert_allclose(model.decode(codes), np.asarray(model(x)), atol=1e-6)
    assert model.interpolate(x[0], x[1], steps=4, method="lerp").shape == (4, 28, 28, 1)
    with pytest.raises(ValueError, match="takes no labels"):
        model.encode(x, labels=[0, 0, 0])
    with pytest.raises(ValueError, match=r"\(N, 4\)"):
        model.decode(np.zeros((2, 5), np.float32))
    np.testing.assert_allclose(model.decode(model.sample_codes(4, seed=3)), model.generate(4, seed=3), atol=1e-6)


def test_supervised_model_requires_labels():
    model = compile_model(small(prior="mixture", num_classes=3))
    with pytest.raises(ValueError, match="class-conditional"):
        model.fit(binary_images(4), epochs=1, verbose=0)
    with pytest.raises(ValueError, match="unconditional"):
        compile_model(small()).fit(binary_images(4), np.zeros(4, np.int32), epochs=1, verbose=0)


@pytest.mark.parametrize("kwargs, message", [
    (dict(latent_dim=0), "latent_dim must be a positive integer, got 0"),
    (dict(prior="laplace"), "prior must be one of 'normal', 'mixture', 'swiss_roll', got 'laplace'"),
    (dict(prior="mixture", latent_dim=1), "latent_dim must be >= 2"),
    (dict(num_classes=3), "prior='normal'"),
    (dict(prior="mixture", num_classes=12), "num_classes must be <= 10, got 12"),
    (dict(num_classes=1), "num_classes must be None or an integer >= 2, got 1"),
    (dict(semi_supervised=True), "semi_supervised=True needs num_classes"),
    (dict(semi_supervised="yes", num_classes=3), "semi_supervised must be True or False"),
    (dict(labeled_per_class=10), "labeled_per_class=10 applies to the semi-supervised variant"),
    (dict(num_classes=3, semi_supervised=True, labeled_per_class=0), "labeled_per_class must be a positive"),
    (dict(adversarial_weight=-1), "adversarial_weight must be a non-negative number, got -1"),
    (dict(reconstruction_weight=0), "reconstruction_weight must be a positive number, got 0"),
    (dict(supervised_weight=float("nan")), "supervised_weight must be a non-negative number"),
    (dict(discriminator_units=()), "discriminator_units must hold at least one"),
    (dict(d_steps=0), "d_steps must be a positive integer"),
    (dict(augment="rotate"), "augment must be distinct entries of"),
    (dict(num_classes=3, semi_supervised=True, consistency_weight=-1, augment="translation"),
     "consistency_weight must be a non-negative number, got -1"),
    (dict(num_classes=3, semi_supervised=True, consistency_weight=1.0),
     "consistency_weight=1.0 compares the class head on clean and augmented images: it needs"),
    (dict(consistency_weight=1.0, augment="translation"), "got semi_supervised=False, augment='translation'"),
    (dict(num_classes=3, semi_supervised=True, augment="translation", consistency_weight=1.0,
          consistency_threshold=1.0), "consistency_threshold must be None or a probability in (0, 1), got 1.0"),
    (dict(num_classes=3, semi_supervised=True, augment="translation", consistency_threshold=0.9),
     "consistency_threshold=0.9 sets the pseudo-labels of the consistency term: it needs consistency_weight > 0"),
    (dict(data_shape=(30, 30, 1)), "divisible"),
])
def test_bad_config_is_rejected(kwargs, message):
    with pytest.raises(ValueError, match=re.escape(message)):
        AdversarialAutoencoder(**kwargs)


def test_data_options_and_training_reads_labels():
    semi = AdversarialAutoencoder(num_classes=10, semi_supervised=True, labeled_per_class=10, **SMALL)
    assert semi.data_options("train") == {"binarize": "dynamic", "labeled_per_class": 10}
    assert semi.data_options("validation") == {"binarize": "static"}
    assert AdversarialAutoencoder(**SMALL).data_options("train") == {"binarize": "dynamic"}
    info = kdata.info("digits")
    assert training.needs_labels(semi, info, "digits") is True
    assert training.needs_labels(AdversarialAutoencoder(**SMALL), info, "digits") is False
    with pytest.raises(ValueError, match="has none"):
        training.needs_labels(semi, kdata.info("two_moons"), "two_moons")


# --------------------------------------------------------------- training
def _mmd(a, b, scale):
    """Biased RBF-kernel MMD^2 estimate between two samples."""
    def kernel(u, v):
        return np.exp(-((u[:, None] - v[None]) ** 2).sum(-1) / (2 * scale**2))
    return kernel(a, a).mean() + kernel(b, b).mean() - 2 * kernel(a, b).mean()


def test_training_pulls_the_code_distribution_towards_the_prior():
    """~140 steps on 8x8 digits: the adversarial codes end closer to N(0, I) (MMD) than a plain autoencoder's."""
    x = kdata.load_numpy("digits", "train", binarize="threshold")
    reference = P.make_prior("normal", 2).sample(500, seed=tf.constant([0, 9])).numpy()
    results = {}
    for weight in (0.0, 5.0):
        keras.utils.set_random_seed(0)
        model = AdversarialAutoencoder(data_shape=(8, 8, 1), latent_dim=2, filters=(8, 16), hidden_units=32,
                                       discriminator_units=(32, 32), adversarial_weight=weight)
        model.build_for_data()
        model.compile(d_optimizer=keras.optimizers.Adam(1e-3, beta_1=0.5),
                      g_optimizer=keras.optimizers.Adam(1e-3, beta_1=0.5))
        history = model.fit(x, batch_size=64, epochs=6, verbose=0, shuffle=True).history
        assert np.all(np.isfinite(history["g_loss"]))
        results[weight] = _mmd(model.encode(x[:500]), reference, scale=1.0)
    assert results[5.0] < 0.75 * results[0.0], results
