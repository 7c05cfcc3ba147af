"""EmbeddingProjector: the files TensorBoard's Projector tab reads."""

import functools

import numpy as np
import pytest
import tensorflow as tf
from PIL import Image

from kzoo.callbacks import EmbeddingProjector


def images(n, seed=0):
    return np.random.default_rng(seed).random((n, 28, 28, 1)).astype(np.float32)


@pytest.fixture(scope="module")
def vae():
    from kzoo.models.latent import VAE

    model = VAE(latent_dim=4, filters=(8, 16), hidden_units=32)
    model.build_for_data()
    model.compile()
    return model


def read_config(log_dir):
    from google.protobuf import text_format
    from tensorboard.plugins import projector

    return text_format.Parse((log_dir / "projector_config.pbtxt").read_text(), projector.ProjectorConfig())


def test_fit_writes_checkpoint_metadata_sprite_and_config(vae, tmp_path):
    x_fixed, labels = images(10, seed=1), np.arange(10) % 3
    callback = EmbeddingProjector(tmp_path, x_fixed, labels=labels, every=1)
    vae.fit(np.round(images(16)), epochs=2, batch_size=8, verbose=0, callbacks=[callback])
    assert callback.writes == 2, "every epoch, and not again at the end of training"

    reader = tf.train.load_checkpoint(str(tmp_path))
    codes = reader.get_tensor("embedding/.ATTRIBUTES/VARIABLE_VALUE")
    assert codes.shape == (10, 4)
    np.testing.assert_allclose(codes, vae.encode(x_fixed), rtol=1e-5, atol=1e-6)
    assert tf.train.latest_checkpoint(str(tmp_path)).endswith("embedding.ckpt-2")
    assert len(list(tmp_path.glob("embedding.ckpt-*.index"))) == 1, "only the latest checkpoint is kept"

    rows = (tmp_path / "metadata.tsv").read_text().splitlines()
    assert rows == [str(v) for v in labels]
    sprite = Image.open(tmp_path / "sprite.png")
    assert sprite.size == (4 * 28, 4 * 28)  # ceil(sqrt(10)) = 4 images a side

    config = read_config(tmp_path)
    embedding = config.embeddings[0]
    assert embedding.tensor_name == "embedding/.ATTRIBUTES/VARIABLE_VALUE"
    assert embedding.metadata_path == "metadata.tsv" and embedding.sprite.image_path == "sprite.png"
    assert list(embedding.sprite.single_image_dim) == [28, 28]


def test_end_of_training_only_with_a_custom_encoder(tmp_path):
    from kzoo.analysis import representations
    from kzoo.models.gan import InfoGAN

    model = InfoGAN(noise_dim=4, num_categories=3, num_continuous=2, filters=(8, 4))
    model.build_for_data()
    callback = EmbeddingProjector(tmp_path, images(5), sprite=False,
                                  encoder=functools.partial(representations, kind="q_codes"))
    callback.set_model(model)
    callback.on_train_begin()
    callback.on_epoch_begin(0)
    callback.on_epoch_end(0)
    assert callback.writes == 0
    callback.on_train_end()
    assert callback.writes == 1
    codes = tf.train.load_checkpoint(str(tmp_path)).get_tensor(callback.tensor_name)
    assert codes.shape == (5, 5)
    assert not (tmp_path / "metadata.tsv").exists() and not (tmp_path / "sprite.png").exists()
    assert not read_config(tmp_path).embeddings[0].metadata_path


def test_a_model_without_encode_needs_an_encoder(tmp_path):
    from kzoo.models.gan import DCGAN

    callback = EmbeddingProjector(tmp_path, images(4))
    callback.set_model(DCGAN(latent_dim=4, filters=(8, 4)))
    with pytest.raises(ValueError, match="DCGAN has no encode"):
        callback.write()


@pytest.mark.parametrize("kwargs, message", [
    ({"x": np.zeros((0, 28, 28, 1))}, "non-empty"),
    ({"labels": np.zeros(3)}, r"labels must have shape \(4,\)"),
    ({"every": 0}, "every"),
    ({"name": "not a name"}, "identifier"),
    ({"encoder": "encode"}, "callable"),
    ({"x": np.zeros((300, 28 * 20, 28, 1))}, "8192"),
])
def test_bad_arguments_are_refused(kwargs, message, tmp_path):
    arguments = {"x": images(4)}
    arguments.update(kwargs)
    with pytest.raises(ValueError, match=message):
        EmbeddingProjector(tmp_path, **arguments)
