"""DCGAN: the all-convolutional GAN with batch normalization.

The architecture rules of Radford et al.: no pooling (strided convolutions
in D, fractionally-strided ones in G), batch normalization in both networks
except G's output layer and D's input layer, ReLU in G with tanh at the
output, LeakyReLU(0.2) in D, no hidden fully-connected layers (G starts with
one projection, D ends with one logit), Adam(2e-4, beta_1=0.5), weights
initialized from N(0, 0.02).

Batch normalization is synchronized across replicas
(``BatchNormalization(synchronized=True)``), so a ``MirroredStrategy`` step
uses the statistics of the global batch, as a single device does.

References:
    Radford, Metz & Chintala, "Unsupervised Representation Learning with
    Deep Convolutional Generative Adversarial Networks", ICLR 2016.
"""

import keras

from kzoo.core.registry import register
from kzoo.core.validation import check_choice, check_int_tuple
from kzoo.models.gan.base import LOSSES, GANModel

__all__ = ["DCGAN"]

NORMS = ("batch", "layer", "none")


def dcgan_initializer():
    """The DCGAN paper's weight initialization, N(0, 0.02)."""
    return keras.initializers.RandomNormal(0.0, 0.02)


def _norm(norm, name):
    if norm == "batch":
        return [keras.layers.BatchNormalization(momentum=0.9, synchronized=True, name=name)]
    if norm == "layer":
        return [keras.layers.LayerNormalization(name=name)]
    return []


def check_image_filters(data_shape, filters, model_name):
    """Checks that ``len(filters)`` stride-2 steps divide the image size."""
    if len(data_shape) != 3:
        raise ValueError(f"{model_name} needs image data_shape (H, W, C), got {tuple(data_shape)}.")
    steps = 2 ** len(filters)
    height, width = data_shape[:2]
    if height % steps or width % steps:
        raise ValueError(f"data_shape {tuple(data_shape)} must have height and width divisible by "
                         f"2**len(filters) = {steps}; got filters={tuple(filters)}.")


def conv_generator(data_shape, filters, name="generator", norm="batch"):
    """A DCGAN generator from a latent vector to raw images.

    A bias-free Dense projection to ``(H / 2**k, W / 2**k, filters[0])``
    (k = ``len(filters)``), then 4x4 stride-2 transposed convolutions with
    ``filters[1:]`` channels, each with normalization and ReLU, and a last
    4x4 stride-2 transposed convolution to the image channels (linear; the
    model applies tanh). ``filters=(64, 32)`` on 28x28x1 gives
    7x7x64 -> 14x14x32 -> 28x28x1.
    """
    height, width, channels = data_shape
    steps = len(filters)
    base_h, base_w = height // 2**steps, width // 2**steps
    layers = [keras.layers.Dense(base_h * base_w * filters[0], use_bias=norm == "none",
                                 kernel_initializer=dcgan_initializer(),
                                 name="project")]
    layers += _norm(norm, "project_norm")
    layers += [keras.layers.ReLU(name="project_relu"), keras.layers.Reshape((base_h, base_w, filters[0]))]
    for i, f in enumerate(filters[1:]):
        layers.append(keras.layers.Conv2DTranspose(f, 4, strides=2, padding="same", use_bias=norm == "none",
                                                   kernel_initializer=dcgan_initializer(), name=f"deconv_{i}"))
        layers += _norm(norm, f"deconv_{i}_norm")
        layers.append(keras.layers.ReLU(name=f"deconv_{i}_relu"))
    layers.append(keras.layers.Conv2DTranspose(channels, 4, strides=2, padding="same",
                                               kernel_initializer=dcgan_initializer(),
                                               name="output"))
    return keras.Sequential(layers, name=name)


def conv_body(filters, norm="batch", name="discriminator_body"):
    """The feature extractor of a DCGAN discriminator.

    4x4 stride-2 convolutions with ``filters`` channels and LeakyReLU(0.2);
    every one but the first is normalized (``norm``); then flatten.
    """
    layers = []
    for i, f in enumerate(filters):
        layers.append(keras.layers.Conv2D(f, 4, strides=2, padding="same", use_bias=i == 0 or norm == "none",
                                          kernel_initializer=dcgan_initializer(), name=f"conv_{i}"))
        if i > 0:
            layers += _norm(norm, f"conv_{i}_norm")
        layers.append(keras.layers.LeakyReLU(0.2, name=f"conv_{i}_act"))
    layers.append(keras.layers.Flatten(name="flatten"))
    return keras.Sequential(layers, name=name)


def conv_discriminator(filters, norm="batch", name="discriminator"):
    """A DCGAN discriminator: :func:`conv_body` and a Dense logit, ``(N, 1)``."""
    body = conv_body(filters, norm)
    return keras.Sequential(body.layers + [keras.layers.Dense(1, kernel_initializer=dcgan_initializer(), name="logit")],
                            name=name)


@register("dcgan", family="gan")
class DCGAN(GANModel):
    """Deep convolutional GAN (Radford et al., 2016).

    G: z ~ N(0, I) -> projection -> stride-2 transposed convolutions with
    batch norm and ReLU -> tanh image. D: stride-2 convolutions with
    LeakyReLU (batch norm after the first) -> one logit. Trained with the
    GAN losses (``adversarial_loss`` as in :class:`kzoo.models.gan.GAN`).

    Args:
        data_shape: image shape ``(H, W, C)``; H and W divisible by
            ``2**len(filters)``.
        latent_dim: dimension of z.
        adversarial_loss: the generator loss, ``"minimax"`` or
            ``"non_saturating"``.
        d_steps: discriminator updates per generator update.
        filters: generator channels from the projection down (``(64, 32)``:
            7x7x64 -> 14x14x32 -> 28x28xC); the discriminator uses them in
            reverse order (32 then 64 channels).
        ema_decay: None or the decay of the generator-weight EMA.
        augment: None or DiffAugment policies.
        **kwargs: ``name`` / ``dtype`` for ``keras.Model``.

    Raises:
        ValueError: non-image ``data_shape``, a size ``filters`` cannot map,
            or a bad ``adversarial_loss``, ``latent_dim``, ``ema_decay`` or ``augment``.
    """

    renamed_arguments = {"loss": "adversarial_loss"}

    def __init__(self, data_shape=(28, 28, 1), latent_dim=64, adversarial_loss="non_saturating", d_steps=1,
                 filters=(64, 32), ema_decay=None, augment=None, **kwargs):
        super().__init__(data_shape=data_shape, latent_dim=latent_dim, d_steps=d_steps, ema_decay=ema_decay,
                         augment=augment, **kwargs)
        self.adversarial_loss = check_choice(adversarial_loss, "adversarial_loss", LOSSES)
        self.filters = check_int_tuple(filters, "filters")
        check_image_filters(self.data_shape, self.filters, type(self).__name__)
        self._finish_init()

    def get_config(self):
        config = super().get_config()
        config.update({"adversarial_loss": self.adversarial_loss, "filters": list(self.filters)})
        return config

    def make_generator(self, name):
        return conv_generator(self.data_shape, self.filters, name=name)

    def make_discriminator(self, name):
        return conv_discriminator(tuple(reversed(self.filters)), name=name)
