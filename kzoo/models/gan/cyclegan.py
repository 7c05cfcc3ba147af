"""CycleGAN: unpaired image-to-image translation with cycle consistency.

Two generators translate between domains A and B (``G: A -> B``, ``F: B ->
A``) and two discriminators tell real images of each domain from
translated ones. No pair (a, b) of corresponding images is ever seen; what
ties a translation to its input is the cycle-consistency loss: translating
there and back must give the input again, ``F(G(a)) = a`` and ``G(F(b)) =
b``. An identity loss (``G(b) = b``, ``F(a) = a``) keeps what already lies
in the target domain unchanged.

Networks follow the paper, scaled to 28x28 digits: the generator is a
ResNet (a 7x7 convolution, two stride-2 convolutions down, residual blocks,
two stride-2 transposed convolutions up, a 7x7 convolution to the image,
instance normalization and ReLU throughout, tanh at the output); the
discriminator is a PatchGAN (4x4 convolutions with LeakyReLU(0.2), instance
normalization after the first, a map of real/fake logits, one per patch).
The adversarial loss is the least-squares one (LSGAN, Mao et al. 2017), and
each discriminator sees translated images through a history pool of the
last ``pool_size`` of them (:class:`kzoo.layers.ImagePool`). The paper's
linear learning-rate decay is ``kzoo train ... --lr-schedule linear``
(constant for the first half of the epochs, then down to zero).

A training example is a *pair* of images stacked along the channels,
``(H, W, 2C)``: a domain-A image in the first ``C`` channels and a domain-B
image in the last ``C`` (:mod:`kzoo.data.domains` and the ``domains-*``
datasets give unpaired pairs for training and exact pairs for evaluation).
When held-out pairs correspond (the same digit in both domains), the
validation logs hold ``l1_a_to_b`` and ``l1_b_to_a``: the mean absolute error
of each translation against its true target.

References:
    Zhu, Park, Isola & Efros, "Unpaired Image-to-Image Translation using
    Cycle-Consistent Adversarial Networks", ICCV 2017.
    Mao et al., "Least Squares Generative Adversarial Networks", ICCV 2017.
    Ulyanov, Vedaldi & Lempitsky, "Instance Normalization: The Missing
    Ingredient for Fast Stylization", 2016.
"""

import numpy as np
import tensorflow as tf
import keras

from kzoo.core.base import to_float32
from kzoo.core.registry import register
from kzoo.core.validation import check_int_tuple, check_number, check_positive_int
from kzoo.layers.image_pool import ImagePool
from kzoo.models.gan.translation import TranslationModel

__all__ = ["CycleGAN", "resnet_generator", "patch_discriminator"]

#: Translation directions of :meth:`CycleGAN.translate`.
DIRECTIONS = ("a_to_b", "b_to_a")

SALT_POOL_A = 11  # seeds of the two history pools' draws
SALT_POOL_B = 12


def _instance_norm(name):
    return keras.layers.GroupNormalization(groups=-1, epsilon=1e-5, name=name)


class _ResidualBlock(keras.layers.Layer):
    """Two 3x3 convolutions with instance normalization, added to the input."""

    def __init__(self, filters, **kwargs):
        super().__init__(**kwargs)
        self.conv1 = keras.layers.Conv2D(filters, 3, padding="same", name="conv1")
        self.norm1 = _instance_norm("norm1")
        self.conv2 = keras.layers.Conv2D(filters, 3, padding="same", name="conv2")
        self.norm2 = _instance_norm("norm2")

    def call(self, x):
        h = keras.activations.relu(self.norm1(self.conv1(x)))
        return x + self.norm2(self.conv2(h))


def resnet_generator(image_shape, filters=32, residual_blocks=4, name="generator", output_channels=None):
    """The CycleGAN generator: an image to a raw (pre-tanh) image of the same shape.

    ``c7s1-f, d2f, d4f, R x res4f, u2f, uf, c7s1-C`` in the paper's notation:
    with ``filters=32`` on 28x28 images, 28x28x32 -> 14x14x64 -> 7x7x128
    (residual blocks) -> 14x14x64 -> 28x28x32 -> 28x28xC.

    Args:
        image_shape: input ``(H, W, C)``, H and W divisible by 4.
        filters: channels of the first convolution.
        residual_blocks: residual blocks at a quarter of the resolution.
        name: model name.
        output_channels: channels of the output (default ``C``; StarGAN's
            input carries extra domain-label channels).

    Returns:
        A ``keras.Sequential``.
    """
    layers = [keras.layers.Conv2D(filters, 7, padding="same", name="input_conv"), _instance_norm("input_norm"),
              keras.layers.ReLU(name="input_relu")]
    for i, f in enumerate((2 * filters, 4 * filters)):
        layers += [keras.layers.Conv2D(f, 3, strides=2, padding="same", name=f"down_{i}"),
                   _instance_norm(f"down_{i}_norm"), keras.layers.ReLU(name=f"down_{i}_relu")]
    layers += [_ResidualBlock(4 * filters, name=f"residual_{i}") for i in range(residual_blocks)]
    for i, f in enumerate((2 * filters, filters)):
        layers += [keras.layers.Conv2DTranspose(f, 3, strides=2, padding="same", name=f"up_{i}"),
                   _instance_norm(f"up_{i}_norm"), keras.layers.ReLU(name=f"up_{i}_relu")]
    layers.append(keras.layers.Conv2D(output_channels or image_shape[-1], 7, padding="same", name="output_conv"))
    return keras.Sequential([keras.Input(tuple(image_shape))] + layers, name=name)


def patch_discriminator(image_shape, filters=(32, 64, 128), name="discriminator"):
    """The PatchGAN discriminator: an image to a map of real/fake logits.

    4x4 convolutions with ``filters`` channels and LeakyReLU(0.2), stride 2
    except the last, instance normalization after all but the first, then a
    4x4 convolution to one logit per patch (``(32, 64, 128)`` on 28x28: a 7x7
    map, each logit seeing a 34x34 window).

    Args:
        image_shape: ``(H, W, C)``.
        filters: channels of the convolutions.
        name: model name.

    Returns:
        A ``keras.Sequential``.
    """
    layers = []
    for i, f in enumerate(filters):
        stride = 2 if i < len(filters) - 1 else 1
        layers.append(keras.layers.Conv2D(f, 4, strides=stride, padding="same", name=f"conv_{i}"))
        if i > 0:
            layers.append(_instance_norm(f"conv_{i}_norm"))
        layers.append(keras.layers.LeakyReLU(0.2, name=f"conv_{i}_act"))
    layers.append(keras.layers.Conv2D(1, 4, padding="same", name="patch_logits"))
    return keras.Sequential([keras.Input(tuple(image_shape))] + layers, name=name)


class _Pair(keras.layers.Layer):
    """Two networks optimized by one optimizer (both generators, or both discriminators)."""

    def __init__(self, a, b, **kwargs):
        super().__init__(**kwargs)
        self.a = a
        self.b = b
        self.built = True


@register("cyclegan", family="gan")
class CycleGAN(TranslationModel):
    """CycleGAN (Zhu et al., 2017) between two image domains.

    Args:
        data_shape: shape of one training pair ``(H, W, 2C)``: a domain-A
            image in the first ``C`` channels, a domain-B image in the last;
            H and W divisible by 4.
        filters: channels of the generators' first convolution.
        residual_blocks: residual blocks of each generator.
        discriminator_filters: channels of the discriminators' convolutions.
        cycle_weight: weight of the cycle-consistency L1 loss (paper: 10).
        identity_weight: weight of the identity L1 loss (paper: half the
            cycle weight, 5); 0 turns it off.
        pool_size: translated images kept for each discriminator (paper: 50).
        d_steps: discriminator updates per generator update.
        **kwargs: ``name`` / ``dtype`` for ``keras.Model``.

    Raises:
        ValueError: a ``data_shape`` that is not an image pair, sizes the
            networks cannot map, or bad weights.
    """

    generation_method = "translation of a given image, one generator pass"
    loss_names = ("d_loss", "g_loss", "adversarial", "cycle", "identity", "d_real", "d_fake", "d_grad_norm",
                  "g_grad_norm")
    #: Validation-only scores, against true targets of corresponding held-out pairs.
    paired_names = ("l1_a_to_b", "l1_b_to_a")

    def __init__(self, data_shape=(28, 28, 2), filters=32, residual_blocks=4, discriminator_filters=(32, 64, 128),
                 cycle_weight=10.0, identity_weight=5.0, pool_size=50, d_steps=1, **kwargs):
        super().__init__(data_shape=data_shape, num_domains=2, d_steps=d_steps, **kwargs)
        self.filters = check_positive_int(filters, "filters")
        self.residual_blocks = check_positive_int(residual_blocks, "residual_blocks")
        self.discriminator_filters = check_int_tuple(discriminator_filters, "discriminator_filters")
        self.cycle_weight = check_number(cycle_weight, "cycle_weight", minimum=0.0)
        self.identity_weight = check_number(identity_weight, "identity_weight", minimum=0.0)
        self.pool_size = check_positive_int(pool_size, "pool_size")
        self.generator = _Pair(resnet_generator(self.image_shape, self.filters, self.residual_blocks, "g_a_to_b"),
                               resnet_generator(self.image_shape, self.filters, self.residual_blocks, "g_b_to_a"),
                               name="generators")
        self.discriminator = _Pair(patch_discriminator(self.image_shape, self.discriminator_filters, "d_a"),
                                   patch_discriminator(self.image_shape, self.discriminator_filters, "d_b"),
                                   name="discriminators")
        self.pool_a = ImagePool(self.pool_size, name="pool_a")
        self.pool_b = ImagePool(self.pool_size, name="pool_b")
        self.trackers.update({name: keras.metrics.Mean(name=name) for name in self.paired_names})

    def get_config(self):
        config = super().get_config()
        config.update({"filters": self.filters, "residual_blocks": self.residual_blocks,
                       "discriminator_filters": list(self.discriminator_filters), "cycle_weight": self.cycle_weight,
                       "identity_weight": self.identity_weight, "pool_size": self.pool_size})
        return config

    def build_for_data(self):
        """Builds both generators, both discriminators and both pools."""
        if self.built:
            return
        image = tf.zeros((1,) + self.image_shape)
        for network in (self.generator.a, self.generator.b, self.discriminator.a, self.discriminator.b):
            network(image)
        self.pool_a.build((None,) + self.image_shape)
        self.pool_b.build((None,) + self.image_shape)
        self(tf.zeros((1,) + self.data_shape), training=False)

    # ------------------------------------------------------------ networks
    def _translate(self, x, direction, training=False):
        generator = self.generator.a if direction == "a_to_b" else self.generator.b
        return self.to_data_space(generator(self.to_network_space(x), training=training))

    def _logits(self, x, domain, training=False):
        discriminator = self.discriminator.a if domain == "a" else self.discriminator.b
        return to_float32(discriminator(self.to_network_space(x), training=training))

    def call(self, x, training=False):
        """Both translations of a batch of pairs, stacked as a pair: ``[G(a), F(b)]``, data space."""
        a, b = self.split_stack(tf.cast(x, tf.float32))
        return tf.concat([self._translate(a, "a_to_b", training), self._translate(b, "b_to_a", training)], axis=-1)

    # ---------------------------------------------------------- training
    def _pool_seed(self, salt):
        return tf.stack([tf.cast(self.step_counter(), tf.int32), tf.constant(salt, tf.int32)])

    def discriminator_losses(self, x, y, step):
        del y
        a, b = self.split_stack(x)
        fake_b = tf.stop_gradient(self._translate(a, "a_to_b", training=True))
        fake_a = tf.stop_gradient(self._translate(b, "b_to_a", training=True))
        fake_b = self.pool_b(fake_b, self._pool_seed(SALT_POOL_B + 100 * step))
        fake_a = self.pool_a(fake_a, self._pool_seed(SALT_POOL_A + 100 * step))
        return self._discriminator_terms(a, b, fake_a, fake_b)

    def _discriminator_terms(self, a, b, fake_a, fake_b):
        real_a, real_b = self._logits(a, "a", True), self._logits(b, "b", True)
        fake_a, fake_b = self._logits(fake_a, "a", True), self._logits(fake_b, "b", True)
        # least squares: real -> 1, fake -> 0; halved, as in the paper, to slow D relative to G
        d_loss = 0.5 * (tf.reduce_mean(tf.square(real_a - 1.0)) + tf.reduce_mean(tf.square(fake_a))
                        + tf.reduce_mean(tf.square(real_b - 1.0)) + tf.reduce_mean(tf.square(fake_b)))
        return {"d_loss": d_loss, "d_real": 0.5 * (tf.reduce_mean(real_a) + tf.reduce_mean(real_b)),
                "d_fake": 0.5 * (tf.reduce_mean(fake_a) + tf.reduce_mean(fake_b))}

    def generator_losses(self, x, y):
        del y
        a, b = self.split_stack(x)
        fake_b = self._translate(a, "a_to_b", training=True)
        fake_a = self._translate(b, "b_to_a", training=True)
        adversarial = (tf.reduce_mean(tf.square(self._logits(fake_b, "b", True) - 1.0))
                       + tf.reduce_mean(tf.square(self._logits(fake_a, "a", True) - 1.0)))
        cycle = (tf.reduce_mean(tf.abs(self._translate(fake_b, "b_to_a", training=True) - a))
                 + tf.reduce_mean(tf.abs(self._translate(fake_a, "a_to_b", training=True) - b)))
        losses = {"adversarial": adversarial, "cycle": cycle}
        g_loss = adversarial + self.cycle_weight * cycle
        if self.identity_weight:
            identity = (tf.reduce_mean(tf.abs(self._translate(b, "a_to_b", training=True) - b))
                        + tf.reduce_mean(tf.abs(self._translate(a, "b_to_a", training=True) - a)))
            g_loss += self.identity_weight * identity
        else:
            identity = tf.zeros(())
        losses.update({"g_loss": g_loss, "identity": identity})
        return losses

    def test_step(self, data):
        x, y = self._checked_inputs(data)
        a, b = self.split_stack(x)
        fake_b, fake_a = self._translate(a, "a_to_b"), self._translate(b, "b_to_a")
        logs = dict(to_float32(self._discriminator_terms(a, b, fake_a, fake_b)))  # no pool: it is training state
        logs.update(to_float32(self.generator_losses(x, y)))
        logs.update({"l1_a_to_b": tf.reduce_mean(tf.abs(fake_b - b)), "l1_b_to_a": tf.reduce_mean(tf.abs(fake_a - a))})
        return self._update_trackers(logs)

    # ------------------------------------------------------------ inference
    def translate(self, x, direction="a_to_b", batch_size=256):
        """Translates images from one domain into the other.

        Args:
            x: images ``(N, H, W, C)`` in ``[0, 1]`` of the source domain.
            direction: ``"a_to_b"`` (``G``) or ``"b_to_a"`` (``F``).
            batch_size: images per call.

        Returns:
            float32 numpy array ``(N, H, W, C)`` in ``[0, 1]``.

        Raises:
            ValueError: a bad direction or images of another shape or range.
        """
        if direction not in DIRECTIONS:
            raise ValueError(f"direction must be one of {', '.join(DIRECTIONS)}, got {direction!r}.")
        x = self.check_images(x)
        return self.map_batches(lambda batch, _, __: self._translate(batch, direction), x, None,
                                check_positive_int(batch_size, "batch_size"))

    def reconstruct(self, x, direction="a_to_b", batch_size=256):
        """There and back: ``F(G(x))`` for ``"a_to_b"``, ``G(F(x))`` for ``"b_to_a"`` (the cycle).

        Args, Returns and Raises as :meth:`translate`.
        """
        back = "b_to_a" if direction == "a_to_b" else "a_to_b"
        return self.translate(self.translate(x, direction, batch_size), back, batch_size)

    def translation_grid(self, source):
        """Images for a preview grid: per pair ``a, G(a), F(G(a)), b, F(b), G(F(b))``.

        Args:
            source: pairs ``(N, H, W, 2C)`` in ``[0, 1]``.

        Returns:
            ``(images, 6)``: float32 ``(6N, H, W, C)``, six per pair in that
            order, and the number of columns that puts one pair per row.

        Raises:
            ValueError: pairs of another shape or range.
        """
        a, b = np.split(self.check_stacks(source), 2, axis=-1)
        fake_b, fake_a = self.translate(a, "a_to_b"), self.translate(b, "b_to_a")
        columns = [a, fake_b, self.translate(fake_b, "b_to_a"), b, fake_a, self.translate(fake_a, "a_to_b")]
        return np.stack(columns, axis=1).reshape((-1,) + self.image_shape), len(columns)
