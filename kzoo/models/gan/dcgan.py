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
from kzoo.core.validation import check_bool, check_choice, check_int_tuple, check_number
from kzoo.layers.gan_layers import MinibatchStdDev, SpectralConv2D, SpectralDense
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


def conv_body(filters, norm="batch", name="discriminator_body", spectral_norm=False, minibatch_std=None):
    """The feature extractor of a DCGAN discriminator.

    4x4 stride-2 convolutions with ``filters`` channels and LeakyReLU(0.2);
    every one but the first is normalized (``norm``); then, with
    ``minibatch_std``, one :class:`kzoo.layers.MinibatchStdDev` channel;
    then flatten.

    Args:
        filters: channels of the convolutions.
        norm: ``"batch"``, ``"layer"`` or ``"none"``.
        name: the network's name.
        spectral_norm: spectrally normalized convolutions
            (:class:`kzoo.layers.SpectralConv2D`).
        minibatch_std: None, or the group size of the minibatch standard
            deviation channel.
    """
    conv = SpectralConv2D if spectral_norm else keras.layers.Conv2D
    layers = []
    for i, f in enumerate(filters):
        layers.append(conv(f, 4, strides=2, padding="same", use_bias=i == 0 or norm == "none",
                           kernel_initializer=dcgan_initializer(), name=f"conv_{i}"))
        if i > 0:
            layers += _norm(norm, f"conv_{i}_norm")
        layers.append(keras.layers.LeakyReLU(0.2, name=f"conv_{i}_act"))
    if minibatch_std:
        layers.append(MinibatchStdDev(minibatch_std, name="minibatch_std"))
    layers.append(keras.layers.Flatten(name="flatten"))
    return keras.Sequential(layers, name=name)


def conv_discriminator(filters, norm="batch", name="discriminator", spectral_norm=False, minibatch_std=None):
    """A DCGAN discriminator: :func:`conv_body` (same options) and a Dense logit, ``(N, 1)``."""
    body = conv_body(filters, norm, spectral_norm=spectral_norm, minibatch_std=minibatch_std)
    logit = (SpectralDense if spectral_norm else keras.layers.Dense)(1, kernel_initializer=dcgan_initializer(),
                                                                      name="logit")
    return keras.Sequential(body.layers + [logit], name=name)


@register("dcgan", family="gan")
class DCGAN(GANModel):
    """Deep convolutional GAN (Radford et al., 2016).

    G: z ~ N(0, I) -> projection -> stride-2 transposed convolutions with
    batch norm and ReLU -> tanh image. D: stride-2 convolutions with
    LeakyReLU (batch norm after the first) -> one logit. Trained with the
    GAN losses (``adversarial_loss`` as in :class:`kzoo.models.gan.GAN`).

    The stabilizers of later GANs are options, each off by default so the
    paper's model stays the default: ``spectral_norm`` (Miyato et al. 2018)
    and ``d_norm="none"`` for the discriminator, ``adversarial_loss="hinge"``,
    ``r1_gamma`` (the R1 penalty, Mescheder et al. 2018), ``minibatch_std``
    (Karras et al. 2018), ``ema_decay`` and ``augment`` (DiffAugment); two
    time-scale learning rates are a compile option (``kzoo train
    --d-learning-rate``).

    Args:
        data_shape: image shape ``(H, W, C)``; H and W divisible by
            ``2**len(filters)``.
        latent_dim: dimension of z.
        adversarial_loss: ``"minimax"`` or ``"non_saturating"`` (generator
            losses with the logistic discriminator loss) or ``"hinge"``
            (both sides).
        d_steps: discriminator updates per generator update.
        filters: generator channels from the projection down (``(64, 32)``:
            7x7x64 -> 14x14x32 -> 28x28xC); the discriminator uses them in
            reverse order (32 then 64 channels).
        ema_decay: None or the decay of the generator-weight EMA.
        augment: None or DiffAugment policies.
        d_norm: normalization of the discriminator's inner convolutions,
            ``"batch"`` (the paper), ``"layer"`` or ``"none"``.
        spectral_norm: spectrally normalize every discriminator layer.
        minibatch_std: None, or the group size of a minibatch standard
            deviation channel before the discriminator's logit (training
            batches must be multiples of it).
        r1_gamma: weight of the R1 penalty (see :class:`GANModel`).
        **kwargs: ``name`` / ``dtype`` for ``keras.Model``.

    Raises:
        ValueError: non-image ``data_shape``, a size ``filters`` cannot map,
            or a bad ``adversarial_loss``, ``latent_dim``, ``ema_decay``,
            ``augment``, ``d_norm``, ``spectral_norm``, ``minibatch_std``
            or ``r1_gamma``.
    """

    renamed_arguments = {"loss": "adversarial_loss"}

    def __init__(self, data_shape=(28, 28, 1), latent_dim=64, adversarial_loss="non_saturating", d_steps=1,
                 filters=(64, 32), ema_decay=None, augment=None, d_norm="batch", spectral_norm=False,
                 minibatch_std=None, r1_gamma=0.0, **kwargs):
        super().__init__(data_shape=data_shape, latent_dim=latent_dim, d_steps=d_steps, ema_decay=ema_decay,
                         augment=augment, r1_gamma=r1_gamma, **kwargs)
        self.adversarial_loss = check_choice(adversarial_loss, "adversarial_loss", LOSSES)
        self.d_norm = check_choice(d_norm, "d_norm", NORMS)
        self.spectral_norm = check_bool(spectral_norm, "spectral_norm")
        self.minibatch_std = None if minibatch_std is None else int(check_number(
            minibatch_std, "minibatch_std", integer=True, minimum=2, description="None or a group size >= 2"))
        self.filters = check_int_tuple(filters, "filters")
        check_image_filters(self.data_shape, self.filters, type(self).__name__)
        self._finish_init()

    def get_config(self):
        config = super().get_config()
        config.update({"adversarial_loss": self.adversarial_loss, "filters": list(self.filters), "d_norm": self.d_norm,
                       "spectral_norm": self.spectral_norm, "minibatch_std": self.minibatch_std})
        return config

    def make_generator(self, name):
        return conv_generator(self.data_shape, self.filters, name=name)

    def make_discriminator(self, name):
        return conv_discriminator(tuple(reversed(self.filters)), norm=self.d_norm, name=name,
                                  spectral_norm=self.spectral_norm, minibatch_std=self.minibatch_std)
