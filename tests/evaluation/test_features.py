import json

import numpy as np
import pytest
import keras

from kzoo.core import catalog
from kzoo.core.presets import ChecksumError, save_preset
from kzoo.evaluation import features as F
from kzoo.evaluation import inception as I
from kzoo.models.classifier.mnist_classifier import MnistClassifier, load_mnist_classifier


def tiny_classifier(num_classes=4):
    inputs = keras.Input((12, 12, 1))
    x = keras.layers.Conv2D(4, 3, activation="relu", name="conv")(inputs)
    x = keras.layers.GlobalAveragePooling2D(name="pool")(x)
    x = keras.layers.Dense(6, activation="relu", name="embed")(x)
    outputs = keras.layers.Dense(num_classes, name="logits")(x)
    return keras.Model(inputs, outputs, name="tiny")


def images(n=10, shape=(12, 12, 1), seed=0):
    return np.random.default_rng(seed).uniform(size=(n,) + shape).astype(np.float32)


# ------------------------------------------------------------ input checks
def test_check_images_accepts_nhw_and_clips_rounding():
    x = images(3, (5, 5, 1))[..., 0]
    x[0, 0, 0] = 1.0005
    out = F.check_images(x)
    assert out.shape == (3, 5, 5, 1) and out.dtype == np.float32 and out.max() == 1.0


@pytest.mark.parametrize("bad, message", [
    (np.zeros((2, 3)), "shape"),
    (np.zeros((0, 4, 4, 1)), "empty"),
    (np.full((2, 4, 4, 1), np.nan), "NaN"),
    (np.linspace(-1, 1, 32).reshape(2, 4, 4, 1), r"\[-1, 1\]"),
    (np.full((2, 4, 4, 1), 255.0), "255"),
    (np.zeros((2, 4, 4, 2)), "2 channels"),
])
def test_check_images_errors_name_the_value(bad, message):
    with pytest.raises(ValueError, match=message):
        F.check_images(bad)


def test_check_images_with_required_shape():
    with pytest.raises(ValueError, match=r"\(12, 12, 1\) per image.*\(28, 28, 1\)"):
        F.check_images(images(2), image_shape=(28, 28, 1))


# ---------------------------------------------------- Keras model extractor
def test_keras_model_extractor_layer_features_and_logits_head():
    model = tiny_classifier()
    extractor = F.KerasModelFeatureExtractor(model, layer="embed", head="logits")
    x = images(7)
    feats, probs = extractor.features_and_probabilities(x, batch_size=3)
    assert feats.shape == (7, 6) and probs.shape == (7, 4)
    np.testing.assert_allclose(probs.sum(axis=1), 1.0, atol=1e-5)
    embed = keras.Model(model.inputs, model.get_layer("embed").output)
    np.testing.assert_allclose(feats, embed.predict(x, verbose=0), rtol=1e-5, atol=1e-6)
    np.testing.assert_allclose(extractor.features(x, batch_size=100), feats, rtol=1e-5, atol=1e-6)
    assert extractor.name == "keras:tiny/embed"
    assert extractor.num_classes == 4 and extractor.image_shape == (12, 12, 1)


def test_keras_model_extractor_output_features_have_no_probabilities():
    extractor = F.KerasModelFeatureExtractor(tiny_classifier())
    assert extractor.features(images(2)).shape == (2, 4)
    assert not extractor.provides_probabilities
    with pytest.raises(ValueError, match="no classifier head"):
        extractor.probabilities(images(2))


def test_keras_model_extractor_errors():
    model = tiny_classifier()
    with pytest.raises(ValueError, match="has no layer 'nope'.*conv, pool, embed, logits"):
        F.KerasModelFeatureExtractor(model, layer="nope")
    with pytest.raises(ValueError, match="head must be one of"):
        F.KerasModelFeatureExtractor(model, head="softmax")
    with pytest.raises(TypeError, match="keras.Model"):
        F.KerasModelFeatureExtractor(lambda x: x)

    class Subclassed(keras.Model):
        def call(self, x):
            return x

    with pytest.raises(ValueError, match="symbolic inputs"):
        F.KerasModelFeatureExtractor(Subclassed(), layer="any")
    extractor = F.KerasModelFeatureExtractor(model)
    with pytest.raises(ValueError, match=r"\(8, 8, 1\) per image"):
        extractor.features(images(2, (8, 8, 1)))


def test_keras_model_extractor_preprocess():
    model = tiny_classifier()
    extractor = F.KerasModelFeatureExtractor(
        model, layer="embed", preprocess=lambda b: keras.ops.image.resize(b, (12, 12)))
    assert extractor.features(images(3, (20, 20, 1))).shape == (3, 6)


# --------------------------------------------------------- MNIST classifier
def test_mnist_classifier_config_round_trip_and_validation():
    model = MnistClassifier(filters=(8, 8), feature_dim=16, dropout=0.1)
    model.build_for_data()
    restored = keras.saving.deserialize_keras_object(
        json.loads(json.dumps(keras.saving.serialize_keras_object(model))), safe_mode=True)
    assert isinstance(restored, MnistClassifier)
    assert restored.get_config() == model.get_config()
    with pytest.raises(ValueError, match="divisible by"):
        MnistClassifier(filters=(8, 8, 8))
    with pytest.raises(ValueError, match="dropout"):
        MnistClassifier(dropout=1.5)
    with pytest.raises(ValueError, match="num_classes"):
        MnistClassifier(num_classes=1)


def test_mnist_extractor_on_a_random_classifier():
    model = MnistClassifier(filters=(8, 8), feature_dim=16)
    extractor = F.MnistFeatureExtractor(model=model, batch_size=4)
    x = images(9, (28, 28, 1))
    feats, probs = extractor.features_and_probabilities(x)
    assert feats.shape == (9, 16) and probs.shape == (9, 10)
    assert np.all(feats >= 0)  # ReLU features
    np.testing.assert_allclose(probs.sum(axis=1), 1.0, atol=1e-5)
    np.testing.assert_allclose(extractor.features(x, batch_size=100), feats, rtol=1e-5, atol=1e-6)
    np.testing.assert_allclose(extractor.probabilities(x), probs, rtol=1e-5, atol=1e-6)
    with pytest.raises(ValueError, match="inception_v3"):
        extractor.features(images(2, (32, 32, 3)))
    with pytest.raises(ValueError, match="MnistClassifier"):
        F.MnistFeatureExtractor(model=tiny_classifier())


def test_load_mnist_classifier_verifies_checksum(tmp_path):
    model = MnistClassifier(filters=(8, 8), feature_dim=16)
    model.build_for_data()
    folder = save_preset(model, tmp_path / "clf", card={"dataset": "mnist5k"})
    card = catalog.read_card(folder)
    assert card["model"] == "mnist_classifier" and card["family"] == "classifier"
    loaded = load_mnist_classifier(folder)
    x = images(4, (28, 28, 1))
    np.testing.assert_allclose(loaded.probabilities(x), model.probabilities(x), rtol=1e-5, atol=1e-6)
    assert loaded.card["sha256"] == card["sha256"]
    with open(folder / catalog.WEIGHTS_FILE, "ab") as handle:
        handle.write(b"tampered")
    with pytest.raises(ChecksumError, match="sha256"):
        load_mnist_classifier(folder)


# ------------------------------------------------------------- InceptionV3
def test_inception_offline_error_explains_how_to_provide_weights(monkeypatch, tmp_path):
    calls = []

    def offline(fname, origin=None, **kwargs):
        calls.append(fname)
        raise Exception(f"URL fetch failure on {origin}: None -- [Errno -3] Temporary failure in name resolution")

    monkeypatch.setattr(keras.utils, "get_file", offline)
    monkeypatch.setenv("KERAS_HOME", str(tmp_path))
    extractor = I.InceptionV3FeatureExtractor()
    with pytest.raises(I.WeightsNotAvailableError) as info:
        extractor.features(images(2, (28, 28, 1)))
    message = str(info.value)
    assert "weights_path" in message and "_notop.h5" in message
    assert str(tmp_path / "models") in message and "URL fetch failure" in message
    assert info.value.__cause__ is None and info.value.__suppress_context__
    with pytest.raises(I.WeightsNotAvailableError, match="kernels.h5"):
        extractor.probabilities(images(2, (28, 28, 1)))
    assert calls == ["inception_v3_weights_tf_dim_ordering_tf_kernels_notop.h5",
                     "inception_v3_weights_tf_dim_ordering_tf_kernels.h5"]
    assert isinstance(info.value, FileNotFoundError)  # the CLI reports it as a clean error


def test_inception_preprocess_and_argument_checks(tmp_path):
    extractor = I.InceptionV3FeatureExtractor(image_size=80)
    batch = extractor.preprocess(keras.ops.convert_to_tensor(images(2, (28, 28, 1))))
    assert tuple(batch.shape) == (2, 80, 80, 3)
    assert float(keras.ops.min(batch)) >= -1.0 and float(keras.ops.max(batch)) <= 1.0
    with pytest.raises(FileNotFoundError, match="missing.h5"):
        I.InceptionV3FeatureExtractor(weights_path=tmp_path / "missing.h5")
    with pytest.raises(ValueError, match="at least 75"):
        I.InceptionV3FeatureExtractor(image_size=32)


# ------------------------------------------------------------------ lookup
def test_get_feature_extractor(monkeypatch):
    model = tiny_classifier()
    assert isinstance(F.get_feature_extractor(model), F.KerasModelFeatureExtractor)
    existing = F.KerasModelFeatureExtractor(model)
    assert F.get_feature_extractor(existing) is existing
    assert isinstance(F.get_feature_extractor("Inception-V3"), I.InceptionV3FeatureExtractor)
    with pytest.raises(ValueError, match="Unknown feature extractor 'vgg'.*'mnist', 'inception_v3'"):
        F.get_feature_extractor("vgg")
    monkeypatch.setenv("KZOO_PRESETS_DIR", "")
    random_clf = MnistClassifier(filters=(8, 8), feature_dim=16)
    extractor = F.get_feature_extractor("mnist", model=random_clf)
    assert isinstance(extractor, F.MnistFeatureExtractor) and extractor.name == "mnist_classifier"


# ------------------------------------------------------- the shipped entry
SHIPPED = "mnist-classifier" in catalog.preset_names()


@pytest.mark.skipif(not SHIPPED, reason="saved_models/mnist-classifier has not been trained yet")
def test_shipped_classifier_is_accurate_on_mnist5k_validation():
    from kzoo import data

    x, y = data.load_numpy("mnist5k", split="validation", labels=True)
    extractor = F.get_feature_extractor("mnist")
    probs = extractor.probabilities(x[:500])
    accuracy = float(np.mean(np.argmax(probs, axis=1) == y[:500]))
    assert accuracy >= 0.98
    card = load_mnist_classifier().card
    assert card["metrics"]["validation_accuracy"] == pytest.approx(accuracy, abs=1e-9)
    assert extractor.features(x[:10]).shape == (10, 128)
