"""Representation probes: features of tiny models, linear / k-NN probes, the few-label subset, the scatter."""

import os

import numpy as np
import pytest
from PIL import Image

from kzoo.analysis import (few_label_subset, knn_probe, latent_scatter, linear_probe, probe, probe_table,
                           representation_kinds, representations)


def separable(n_per_class=60, classes=4, dim=6, seed=0):
    """Gaussian blobs far apart: one per class."""
    rng = np.random.default_rng(seed)
    centres = rng.normal(scale=10.0, size=(classes, dim))
    labels = np.repeat(np.arange(classes), n_per_class)
    return centres[labels] + rng.normal(size=(len(labels), dim)), labels


def images(n, seed=0, shape=(28, 28, 1)):
    return np.random.default_rng(seed).random((n,) + shape).astype(np.float32)


# ------------------------------------------------------------ probes
def test_probes_reach_full_accuracy_on_separable_features():
    x_train, y_train = separable(seed=0)
    x_test, y_test = separable(seed=0)
    x_test = x_test + np.random.default_rng(1).normal(scale=0.1, size=x_test.shape)
    assert linear_probe(x_train, y_train, x_test, y_test) >= 0.99
    assert knn_probe(x_train, y_train, x_test, y_test) >= 0.99
    accuracy, C = linear_probe(x_train, y_train, x_test, y_test, C="auto", return_C=True)
    assert accuracy >= 0.99 and C in (0.01, 0.1, 1.0, 10.0)


def test_probes_are_at_chance_on_shuffled_labels():
    rng = np.random.default_rng(0)
    x_train, x_test = rng.normal(size=(400, 8)), rng.normal(size=(2000, 8))
    y_train, y_test = rng.integers(0, 4, 400), rng.integers(0, 4, 2000)
    assert abs(linear_probe(x_train, y_train, x_test, y_test) - 0.25) < 0.05
    assert abs(knn_probe(x_train, y_train, x_test, y_test) - 0.25) < 0.05


def test_probe_inputs_are_checked():
    x, y = separable()
    with pytest.raises(ValueError, match="dim 6 but test features have dim 3"):
        linear_probe(x, y, x[:, :3], y)
    with pytest.raises(ValueError, match="1-D array of 240 class labels"):
        knn_probe(x, y[:10], x, y)
    with pytest.raises(ValueError, match="single class"):
        linear_probe(x, np.zeros(len(x), int), x, y)
    with pytest.raises(ValueError, match="NaN"):
        linear_probe(np.full_like(x, np.nan), y, x, y)
    with pytest.raises(ValueError, match="integer class labels"):
        knn_probe(x, y + 0.5, x, y)


def test_few_label_subset_gives_exactly_per_class_examples_deterministically():
    labels = np.random.default_rng(3).integers(0, 10, 2000)
    subset = few_label_subset(labels, per_class=10, seed=0)
    assert len(subset) == 100 and np.all(np.diff(subset) > 0)
    np.testing.assert_array_equal(np.bincount(labels[subset], minlength=10), np.full(10, 10))
    np.testing.assert_array_equal(subset, few_label_subset(labels, per_class=10, seed=0))
    assert not np.array_equal(subset, few_label_subset(labels, per_class=10, seed=1))
    with pytest.raises(ValueError, match=r"classes with fewer: \{1: 3\}"):
        few_label_subset(np.r_[np.zeros(20, int), np.ones(3, int)], per_class=10)


def test_probe_on_features_and_its_markdown_table():
    x, y = separable(n_per_class=30)
    result = probe(x, y, x, y, per_class=10, name="blobs")
    row = result["rows"][0]
    assert row["entry"] == "blobs" and row["dim"] == 6 and result["protocol"]["few_labels"] == 40
    assert min(row[k] for k in ("logistic_full", "knn_full", "logistic_few", "knn_few")) >= 0.99
    table = probe_table(result)
    assert "| blobs | features | 6 | 100.00 |" in table and "logistic (40 labels)" in table
    with pytest.raises(ValueError, match="needs train_labels"):
        probe(x)


# --------------------------------------------------------- features
@pytest.fixture(scope="module")
def vae():
    from kzoo.models.latent import VAE

    model = VAE(latent_dim=4, filters=(8, 16), hidden_units=32)
    model.build_for_data()
    return model


def test_representations_of_a_vae_are_its_posterior_means(vae):
    x = images(5)
    assert representation_kinds(vae) == ("latent", "encoder_hidden")
    codes = representations(vae, x, batch_size=2)
    assert codes.shape == (5, 4) and codes.dtype == np.float32
    np.testing.assert_allclose(codes, vae.encode(x), rtol=1e-5, atol=1e-6)
    with pytest.raises(ValueError, match="kinds are 'latent', 'encoder_hidden'"):
        representations(vae, x, kind="q_codes")
    with pytest.raises(ValueError, match=r"shape \(5, 8, 8, 1\)"):
        representations(vae, images(5, shape=(8, 8, 1)))


def test_representations_of_a_flow_are_its_flattened_z():
    from kzoo.models.flows import RealNVP

    model = RealNVP(data_shape=(8, 8, 1), num_scales=1, couplings_per_scale=1, hidden_units=4, num_blocks=1)
    model.build_for_data()
    x = images(3, shape=(8, 8, 1))
    assert representation_kinds(model) == ("latent",)
    codes = representations(model, x)
    assert codes.shape == (3, 64)
    np.testing.assert_allclose(codes, model.encode(x), rtol=1e-5, atol=1e-5)


def test_representations_of_infogan_q_codes_and_discriminator_features():
    from kzoo.models.gan import InfoGAN

    model = InfoGAN(noise_dim=4, num_categories=3, num_continuous=2, filters=(8, 4))
    model.build_for_data()
    x = images(6)
    assert representation_kinds(model) == ("q_codes", "d_features")
    q = representations(model, x, batch_size=4)
    logits, means = model.q_outputs(x)
    assert q.shape == (6, 5)
    np.testing.assert_allclose(q, np.concatenate([logits, means], axis=1), rtol=1e-4, atol=1e-5)
    features = representations(model, x, kind="d_features")
    assert features.shape == (6, 7 * 7 * 8)  # the trunk's filters are reversed(filters) = (4, 8)


def test_a_model_without_an_encoder_is_refused_by_name():
    from kzoo.models.gan import DCGAN

    model = DCGAN(latent_dim=4, filters=(8, 4))
    assert representation_kinds(model) == ()
    with pytest.raises(ValueError, match="DCGAN has no encoder-like map.*InfoGAN"):
        representations(model, images(2))
    with pytest.raises(ValueError, match="DCGAN has no encoder-like map"):
        probe(model, test_data="mnist5k", test_split="validation")


def test_probe_protocol_on_a_tiny_vae_with_baselines_and_scatter(vae, tmp_path):
    result = probe({"tiny": vae}, test_data="mnist5k", test_split="validation", limit=300, verbose=False,
                   scatter=tmp_path / "codes.png")
    rows = {(row["entry"], row["kind"]): row for row in result["rows"]}
    assert set(rows) == {("tiny", "latent"), ("tiny", "encoder_hidden"), ("pixels", "raw"), ("pixels", "pca-4"),
                         ("pixels", "pca-32")}
    assert rows["tiny", "encoder_hidden"]["dim"] == 32
    assert rows["pixels", "raw"]["dim"] == 784 and rows["pixels", "pca-4"]["dim"] == 4
    assert rows["pixels", "raw"]["logistic_full"] > 0.6  # real digits: pixels are far above chance
    for row in rows.values():
        assert all(0.0 <= row[k] <= 1.0 for k in ("logistic_full", "knn_full", "logistic_few", "knn_few"))
    protocol = result["protocol"]
    assert protocol["train"]["n"] == 300 and protocol["test"]["n"] == 300 and protocol["few_labels"] == 100
    assert protocol["data_options"] == {"tiny": {"binarize": "static"}}
    assert Image.open(rows["tiny", "latent"]["scatter"]).format == "PNG"


# ------------------------------------------------------------ scatter
def test_latent_scatter_writes_a_png_for_2d_and_higher_dim_codes(tmp_path):
    x, y = separable(n_per_class=20, dim=2)
    path = latent_scatter(x, y, tmp_path / "sub" / "two.png", title="blobs")
    image = Image.open(path)
    assert image.format == "PNG" and image.size == (640, 560)
    x, y = separable(n_per_class=20, dim=5, classes=12)
    latent_scatter(x, y, tmp_path / "pca.png")
    latent_scatter(x, y, tmp_path / "tsne.png", method="tsne", max_points=100)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["pca.png", "sub", "tsne.png"]


@pytest.mark.parametrize("codes, labels, path, message", [
    (np.zeros((5, 2)), np.zeros(5, int), "out.jpg", "must end in .png"),
    (np.zeros((5, 1)), np.zeros(5, int), "out.png", "at least 2 dimensions"),
    (np.zeros(5), np.zeros(5, int), "out.png", "shape"),
    (np.zeros((5, 2)), np.zeros(4, int), "out.png", "5 class labels"),
    (np.full((5, 2), np.nan), np.zeros(5, int), "out.png", "NaN"),
])
def test_latent_scatter_rejects_bad_input_and_writes_nothing(codes, labels, path, message, tmp_path):
    with pytest.raises(ValueError, match=message):
        latent_scatter(codes, labels, tmp_path / path)
    with pytest.raises(ValueError, match="method"):
        latent_scatter(np.zeros((5, 2)), np.zeros(5, int), tmp_path / "m.png", method="umap")
    assert os.listdir(tmp_path) == []


def test_latent_scatter_leaves_no_file_when_saving_fails(tmp_path, monkeypatch):
    from matplotlib.figure import Figure

    def broken(self, *args, **kwargs):
        raise OSError("disk full")

    monkeypatch.setattr(Figure, "savefig", broken)
    x, y = separable(n_per_class=5, dim=2)
    with pytest.raises(OSError, match="disk full"):
        latent_scatter(x, y, tmp_path / "codes.png")
    assert os.listdir(tmp_path) == []


def test_label_conditioned_and_label_free_encoders():
    from kzoo.models.latent import AdversarialAutoencoder, ConditionalVAE
    from kzoo.analysis.representation import representations

    x = (np.random.default_rng(0).random((6, 28, 28, 1)) < 0.3).astype(np.float32)
    cvae = ConditionalVAE(num_classes=3, latent_dim=4, filters=(8, 16), hidden_units=32)
    cvae.build_for_data()
    a = representations(cvae, x, labels=[0, 1, 2, 0, 1, 2])
    b = representations(cvae, x, labels=[1, 2, 0, 1, 2, 0])
    assert a.shape == (6, 4) and not np.allclose(a, b)
    with pytest.raises(ValueError, match="class-conditional"):
        representations(cvae, x)
    semi = AdversarialAutoencoder(num_classes=3, semi_supervised=True, latent_dim=4, filters=(8, 16),
                                  hidden_units=32, discriminator_units=(16,))
    semi.build_for_data()
    assert representations(semi, x).shape == (6, 7)  # [class probabilities, style code]
    with pytest.raises(ValueError, match="takes no labels"):
        representations(semi, x, labels=[0] * 6)


def _latent_models():
    from kzoo.models.latent import (AdversarialAutoencoder, Autoencoder, ConditionalVAE, IWAE, VAE,
                                    WassersteinAutoencoder, WassersteinAutoencoderGAN)

    small = dict(latent_dim=3, filters=(8, 16), hidden_units=32)
    return {
        "vae": VAE(**small), "iwae": IWAE(**small), "cvae": ConditionalVAE(num_classes=3, **small),
        "ae": Autoencoder(**small), "aae": AdversarialAutoencoder(discriminator_units=(16,), **small),
        "wae": WassersteinAutoencoder(**small), "wae_gan": WassersteinAutoencoderGAN(**small),
    }


@pytest.mark.parametrize("name", ["vae", "iwae", "cvae", "ae", "aae", "wae", "wae_gan"])
def test_encoder_hidden_features_are_the_layer_the_code_is_an_affine_map_of(name):
    model = _latent_models()[name]
    model.build_for_data()
    x = (np.random.default_rng(1).random((48, 28, 28, 1)) < 0.3).astype(np.float32)
    labels = np.arange(48) % 3 if model.codes_take_labels else None
    assert representation_kinds(model) == ("latent", "encoder_hidden") and model.has_encoder_features
    features = representations(model, x, labels=labels, kind="encoder_hidden", batch_size=20)
    assert features.shape == (48, 32) and features.dtype == np.float32
    np.testing.assert_allclose(features, model.encoder_features(x, labels=labels, batch_size=7), rtol=1e-5,
                               atol=1e-6)
    codes = model.encode(x, labels=labels)
    design = np.concatenate([features, np.ones((48, 1), np.float32)], axis=1).astype(np.float64)
    solution, *_ = np.linalg.lstsq(design, codes.astype(np.float64), rcond=None)
    np.testing.assert_allclose(design @ solution, codes, atol=1e-4)  # the code is read linearly off the features


def test_a_model_without_a_hidden_encoder_layer_has_no_encoder_features():
    from kzoo.models.flows import RealNVP

    model = RealNVP(data_shape=(8, 8, 1), num_scales=1, couplings_per_scale=1, hidden_units=4, num_blocks=1)
    model.build_for_data()
    assert not model.has_encoder_features
    with pytest.raises(NotImplementedError, match="RealNVP has no hidden encoder layer"):
        model.encoder_features(images(2, shape=(8, 8, 1)))
    with pytest.raises(ValueError, match="kinds are 'latent'"):
        representations(model, images(2, shape=(8, 8, 1)), kind="encoder_hidden")
