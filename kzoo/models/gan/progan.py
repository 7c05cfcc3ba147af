"""Progressive GAN: generator and discriminator grown from 4x4 to the full resolution during training.

Karras et al. train at 4x4 first, then add a block at twice the resolution
to both networks, fading it in over a phase of ``phase_images`` images
while the previous resolution's output is faded out, train the grown
networks for one more phase, and repeat up to the final resolution. Pixel
normalization of the generator's features, an equalized learning rate,
a minibatch standard deviation channel in the discriminator, and the
WGAN-GP loss with a small drift term keep the growing stable.

How growing fits one ``fit`` call here: both networks hold every block from
the start, and a single number, the *level*, says how far growing has
gone. Level ``k`` means resolution ``4 * 2**k``; a fractional level ``k +
a`` is the fade-in of block ``k + 1`` at weight ``a``. The level follows
from ``images_seen``, a counter the train step advances by the global batch
size, through the fixed schedule stable 4x4, fade in 8x8, stable 8x8, ...,
stable at the final resolution (:meth:`ProGAN.level_at`). Both are model
weights, so a saved or resumed model continues in the phase it reached, and
one ``fit`` (or one ``kzoo train``) runs the whole schedule.

* Generator: ``z`` -> pixel norm -> dense to 4x4 -> convolutions; each
  level's block doubles the resolution (nearest upsampling, two 3x3
  convolutions) and each level has a 1x1 ``to_rgb``. The output is
  ``sum_k c_k * upsample(to_rgb_k(h_k))`` at the final resolution with
  ``c_k = max(0, 1 - |level - k|)``: the current resolution, and during a
  fade the previous one, nearest-upsampled.
* Discriminator: each level has a 1x1 ``from_rgb`` of the image average-
  pooled to its resolution and a block that halves the resolution; the
  features entering level ``k`` are ``e_k * from_rgb_k(x_k) + p_k *
  block_{k+1}(h_{k+1})`` with ``e_k = c_k`` and ``p_k = clip(level - k, 0,
  1)``, ending in a minibatch standard deviation channel, a 3x3 and a 4x4
  convolution and the critic value.
* Real images reach the critic at the current resolution too (average
  pooled, nearest upsampled and blended with the same ``c_k``), as in the
  paper's fade of the real images.

Images of ``data_shape`` smaller than the final resolution (MNIST's 28x28
in a 32x32 canvas) are padded with background (0) around the centre for the
critic, and ``generate`` crops the centre of the canvas.

References:
    Karras, Aila, Laine & Lehtinen, "Progressive Growing of GANs for
    Improved Quality, Stability, and Variation", ICLR 2018.
"""

import numpy as np
import tensorflow as tf
import keras

from kzoo.core.base import replica_count, to_float32
from kzoo.core.registry import register
from kzoo.core.validation import check_int_tuple, check_number, check_positive_int
from kzoo.layers.gan_layers import EqualizedConv2D, EqualizedDense, MinibatchStdDev, PixelNorm
from kzoo.models.gan.base import SALT_D_LATENT, SALT_EXTRA, GANModel, interpolation_gradient_penalty

__all__ = ["ProGAN", "level_coefficients"]

BASE_RESOLUTION = 4


def level_coefficients(level, num_levels):
    """``(c, p)``: each level's output weight ``c_k = relu(1 - |level - k|)`` and pass-through ``p_k``.

    Args:
        level: float scalar tensor in ``[0, num_levels - 1]``.
        num_levels: number of resolutions.

    Returns:
        Two float32 tensors of shape ``(num_levels,)``: ``c`` (how much the
        output of level ``k``, or the input of the discriminator at level
        ``k``, counts) and ``p_k = clip(level - k, 0, 1)`` (how much of the
        discriminator block above level ``k`` flows into it).
    """
    level = tf.cast(level, tf.float32)
    ks = tf.range(num_levels, dtype=tf.float32)
    return tf.nn.relu(1.0 - tf.abs(level - ks)), tf.clip_by_value(level - ks, 0.0, 1.0)


def _resize_to(x, size):
    """Nearest upsampling of ``x`` (N, h, w, C) by an integer factor to ``size``."""
    factor = size // x.shape[1]
    return x if factor == 1 else tf.repeat(tf.repeat(x, factor, axis=1), factor, axis=2)


def _pool_to(x, size):
    """Average pooling of ``x`` (N, H, W, C) by an integer factor down to ``size``."""
    factor = x.shape[1] // size
    return x if factor == 1 else tf.nn.avg_pool2d(x, factor, factor, "VALID")


def _conv(filters, kernel, name, gain=2.0 ** 0.5):
    return EqualizedConv2D(filters, kernel, padding="same", gain=gain, name=name)


class ProgressiveGenerator(keras.Model):
    """``(z, level)`` -> raw images at the final resolution (see the module docstring).

    Args:
        filters: channels of the blocks, one per level (4x4 first).
        channels: image channels.
        name: the model's name.
    """

    def __init__(self, filters, channels, **kwargs):
        super().__init__(**kwargs)
        self.filters = tuple(filters)
        self.resolution = BASE_RESOLUTION * 2 ** (len(self.filters) - 1)
        self.norm = PixelNorm(name="pixel_norm")
        self.project = EqualizedDense(BASE_RESOLUTION * BASE_RESOLUTION * self.filters[0], gain=2.0 ** 0.5 / 4,
                                      name="project")
        self.blocks = []
        for k, f in enumerate(self.filters):
            convs = [_conv(f, 3, f"block_{k}_conv_{i}") for i in range(1 if k == 0 else 2)]
            self.blocks.append(convs)
        self.to_rgb = [_conv(channels, 1, f"to_rgb_{k}", gain=1.0) for k in range(len(self.filters))]

    def _activate(self, x):
        return self.norm(tf.nn.leaky_relu(x, 0.2))

    def call(self, z, level, training=False):
        del training
        c, _ = level_coefficients(level, len(self.filters))
        h = self.project(self.norm(z))
        h = self._activate(tf.reshape(h, [-1, BASE_RESOLUTION, BASE_RESOLUTION, self.filters[0]]))
        output = 0.0
        for k, convs in enumerate(self.blocks):
            if k > 0:
                h = _resize_to(h, h.shape[1] * 2)
            for conv in convs:
                h = self._activate(conv(h))
            rgb = to_float32(self.to_rgb[k](h))
            output = output + c[k] * _resize_to(rgb, self.resolution)
        return output


class ProgressiveDiscriminator(keras.Model):
    """``(images at the final resolution, level)`` -> critic values ``(N,)``.

    Args:
        filters: the generator's channels per level (4x4 first); the
            discriminator mirrors them.
        group_size: group size of the minibatch standard deviation.
        name: the model's name.
    """

    def __init__(self, filters, group_size=4, **kwargs):
        super().__init__(**kwargs)
        self.filters = tuple(filters)
        self.resolution = BASE_RESOLUTION * 2 ** (len(self.filters) - 1)
        self.from_rgb = [_conv(f, 1, f"from_rgb_{k}") for k, f in enumerate(self.filters)]
        # block k (k >= 1) maps level k's features to level k - 1's resolution and channels.
        self.blocks = [None] + [[_conv(self.filters[k], 3, f"block_{k}_conv_0"),
                                 _conv(self.filters[k - 1], 3, f"block_{k}_conv_1")]
                                for k in range(1, len(self.filters))]
        self.stddev = MinibatchStdDev(group_size, name="minibatch_std")
        self.final_conv = _conv(self.filters[0], 3, "final_conv")
        self.final_dense = EqualizedDense(self.filters[0], gain=2.0 ** 0.5, name="final_dense")
        self.critic = EqualizedDense(1, gain=1.0, name="critic")

    def call(self, x, level, training=False):
        del training
        c, p = level_coefficients(level, len(self.filters))
        h = None
        for k in reversed(range(len(self.filters))):
            size = BASE_RESOLUTION * 2 ** k
            entry = tf.nn.leaky_relu(self.from_rgb[k](_pool_to(x, size)), 0.2)
            weight = tf.cast(c[k], entry.dtype)
            h = weight * entry if h is None else weight * entry + tf.cast(p[k], entry.dtype) * h
            if k > 0:
                for conv in self.blocks[k]:
                    h = tf.nn.leaky_relu(conv(h), 0.2)
                h = _pool_to(h, size // 2)
        h = tf.nn.leaky_relu(self.final_conv(self.stddev(h)), 0.2)
        h = tf.nn.leaky_relu(self.final_dense(tf.reshape(h, [tf.shape(h)[0], -1])), 0.2)
        return tf.reshape(to_float32(self.critic(h)), [-1])


@register("progan", family="gan")
class ProGAN(GANModel):
    """Progressive GAN (Karras et al. 2018), grown from 4x4 inside one ``fit``.

    Trained with the WGAN-GP loss (one critic step per generator step,
    ``gp_weight``) plus ``drift_weight * E[D(x)^2]`` on real images, Adam
    (1e-3, beta_1 = 0, beta_2 = 0.99) and a generator EMA by default. Tracks
    ``d_loss``, ``g_loss``, ``d_real``/``d_fake`` (mean critic values),
    ``wasserstein``, ``gradient_penalty``, the gradient norms and ``level``
    (the resolution level, fractional during a fade).

    Args:
        data_shape: image shape ``(H, W, C)``; H and W at most the final
            resolution ``4 * 2**(len(filters) - 1)`` (smaller images are
            padded around the centre).
        latent_dim: dimension of z.
        filters: channels per resolution level, 4x4 first (``(128, 128,
            64, 32)``: 4, 8, 16, 32).
        phase_images: images shown per phase (each fade-in and each
            stable phase); the last stable phase lasts until training ends.
        gp_weight: weight of the gradient penalty.
        drift_weight: weight of ``E[D(x)^2]`` on real images.
        group_size: minibatch standard deviation group (batches must be
            multiples of it).
        ema_decay: None or the decay of the generator EMA (the paper's
            0.999).
        **kwargs: ``name`` / ``dtype`` for ``keras.Model``.

    Raises:
        ValueError: non-image or too large ``data_shape``, fewer than one
            filter, or a bad ``phase_images``, ``gp_weight``,
            ``drift_weight``, ``group_size``, ``latent_dim`` or ``ema_decay``.
    """

    loss_names = GANModel.loss_names + ("wasserstein", "gradient_penalty", "level")

    def __init__(self, data_shape=(28, 28, 1), latent_dim=128, filters=(128, 128, 64, 32), phase_images=90_000,
                 gp_weight=10.0, drift_weight=0.001, group_size=4, ema_decay=0.999, **kwargs):
        super().__init__(data_shape=data_shape, latent_dim=latent_dim, d_steps=1, ema_decay=ema_decay, **kwargs)
        if self.augment or self.r1_gamma:
            raise ValueError(f"ProGAN trains with its own WGAN-GP and drift terms and no augmentation; got "
                             f"augment={self.augment!r}, r1_gamma={self.r1_gamma!r}.")
        if not self.is_image:
            raise ValueError(f"ProGAN needs image data_shape (H, W, C), got {self.data_shape}.")
        self.filters = check_int_tuple(filters, "filters")
        self.resolution = BASE_RESOLUTION * 2 ** (len(self.filters) - 1)
        height, width = self.data_shape[:2]
        if height > self.resolution or width > self.resolution:
            raise ValueError(f"data_shape {self.data_shape} is larger than the final resolution {self.resolution} "
                             f"of filters={self.filters} (4 * 2**(len(filters) - 1)).")
        self.phase_images = check_positive_int(phase_images, "phase_images")
        self.gp_weight = float(check_number(gp_weight, "gp_weight", minimum=0))
        self.drift_weight = float(check_number(drift_weight, "drift_weight", minimum=0))
        self.group_size = check_positive_int(group_size, "group_size")
        self.images_seen = self.add_weight(shape=(), initializer="zeros", dtype="float32", trainable=False,
                                           name="images_seen", aggregation="only_first_replica")
        self.level = self.add_weight(shape=(), initializer="zeros", dtype="float32", trainable=False,
                                     name="level", aggregation="only_first_replica")
        self._finish_init()

    def get_config(self):
        config = super().get_config()
        for key in ("d_steps", "augment", "r1_gamma"):
            config.pop(key, None)
        config.update({"filters": list(self.filters), "phase_images": self.phase_images,
                       "gp_weight": self.gp_weight, "drift_weight": self.drift_weight,
                       "group_size": self.group_size})
        return config

    def compile(self, d_optimizer=None, g_optimizer=None, **kwargs):
        """Two optimizers; default Adam(1e-3, beta_1=0, beta_2=0.99) as in the paper."""
        default = {"class_name": "Adam", "config": {"learning_rate": 1e-3, "beta_1": 0.0, "beta_2": 0.99,
                                                    "epsilon": 1e-8}}
        super().compile(d_optimizer=d_optimizer or default, g_optimizer=g_optimizer or dict(default), **kwargs)

    # ------------------------------------------------------------ networks
    def make_generator(self, name):
        return ProgressiveGenerator(self.filters, self.data_shape[-1], name=name)

    def make_discriminator(self, name):
        return ProgressiveDiscriminator(self.filters, self.group_size, name=name)

    @property
    def num_levels(self):
        """Number of resolutions (4x4 up to the final one)."""
        return len(self.filters)

    def level_at(self, images_seen):
        """The resolution level after ``images_seen`` training images (float; tensor in, tensor out).

        Phase ``t = images_seen / phase_images``: level 0 for ``t < 1``,
        then each pair of phases fades in one level and holds it:
        ``floor(u / 2) + min(u mod 2, 1)`` with ``u = t - 1``, up to
        ``num_levels - 1``.
        """
        u = tf.cast(images_seen, tf.float32) / float(self.phase_images) - 1.0
        level = tf.floor(u / 2.0) + tf.minimum(tf.math.floormod(u, 2.0), 1.0)
        return tf.clip_by_value(tf.where(u < 0.0, 0.0, level), 0.0, float(self.num_levels - 1))

    def stage_end_images(self, level):
        """Images seen when the stable phase of integer ``level`` ends (the last one never ends: None)."""
        level = int(level)
        if level >= self.num_levels - 1:
            return None
        return (2 * level + 1) * self.phase_images

    def _offsets(self):
        """``(top, left)`` of the data's images in the centre of the canvas."""
        height, width = self.data_shape[:2]
        return (self.resolution - height) // 2, (self.resolution - width) // 2

    def _canvas(self, x):
        """Network-space images padded with background (-1) to the final resolution."""
        (height, width), (top, left) = self.data_shape[:2], self._offsets()
        return tf.pad(x, [[0, 0], [top, self.resolution - height - top], [left, self.resolution - width - left],
                          [0, 0]], constant_values=-1.0)

    def _crop(self, canvas):
        (height, width), (top, left) = self.data_shape[:2], self._offsets()
        return canvas[:, top:top + height, left:left + width, :]

    def at_level(self, canvas, level):
        """Network-space canvases shown at resolution ``level``: pooled, upsampled and blended like the generator's."""
        c, _ = level_coefficients(level, self.num_levels)
        out = 0.0
        for k in range(self.num_levels):
            size = BASE_RESOLUTION * 2 ** k
            out = out + c[k] * _resize_to(_pool_to(canvas, size), self.resolution)
        return out

    def images_at_level(self, x, level, batch_size=256):
        """Data-space images as the critic sees real ones at ``level``: the reference of a stage's FID.

        Args:
            x: images ``(N,) + data_shape`` in [0, 1].
            level: resolution level (an integer level shows the images at
                ``4 * 2**level`` pixels, nearest-upsampled).
            batch_size: images per call.

        Returns:
            float32 numpy array like ``x``.
        """
        level = tf.constant(float(level))
        chunks = []
        for start in range(0, len(x), batch_size):
            canvas = self._canvas(self.to_network_space(tf.constant(x[start:start + batch_size])))
            chunks.append(np.asarray(0.5 * (self._crop(self.at_level(canvas, level)) + 1.0), np.float32))
        return np.concatenate(chunks, axis=0)

    def _current_level(self, level=None):
        return tf.cast(self.level, tf.float32) if level is None else tf.cast(level, tf.float32)

    def _generator_call(self, generator, z, labels, training, level=None):
        del labels
        return self._crop(generator(z, self._current_level(level), training=training))

    def discriminator_logits(self, x, labels=None, training=False):
        del labels
        canvas = self._canvas(self.to_network_space(x))
        level = self._current_level()
        return self.discriminator(self.at_level(canvas, level), level, training=training)

    def sample_batch(self, n, seed, labels=None, level=None):
        """Samples at the current level, or at ``level`` (e.g. each integer level for a growth grid)."""
        del labels
        generator = self.ema_generator if self.ema_generator is not None else self.generator
        raw = self._generator_call(generator, self._prior_batch(n, seed), None, False, level=level)
        return self.to_data_space(raw)

    def growth_grid(self, n=8, seed=0):
        """Samples of the same latents at every integer level: ``(num_levels, n) + data_shape`` in [0, 1]."""
        return np.stack([self.generate(n, seed=seed, level=float(k)) for k in range(self.num_levels)])

    # ------------------------------------------------------------ training
    def train_step(self, data):
        x, _ = self._checked_inputs(data)
        global_batch = tf.cast(tf.shape(x)[0], tf.float32) * float(replica_count())
        self.level.assign(self.level_at(self.images_seen))
        logs = super().train_step(data)
        self.images_seen.assign_add(global_batch)
        return logs

    def _fake_canvas(self, batch, salt, level):
        z = self.step_noise(batch, (self.latent_dim,), salt=salt)
        return tf.tanh(self.generator(z, level, training=True))

    def discriminator_losses(self, x, y, step):
        del y
        batch = tf.shape(x)[0]
        level = self._current_level()
        real = self.at_level(self._canvas(self.to_network_space(x)), level)
        fake = tf.stop_gradient(self._fake_canvas(batch, SALT_D_LATENT + step, level))
        real_values = self.discriminator(real, level, training=True)
        fake_values = self.discriminator(fake, level, training=True)
        epsilon = self.step_noise(batch, (), salt=SALT_EXTRA + step, distribution="uniform")
        penalty = interpolation_gradient_penalty(lambda v: self.discriminator(v, level, training=True), real, fake,
                                                 epsilon, getattr(self, "d_optimizer", None))
        distance = tf.reduce_mean(real_values) - tf.reduce_mean(fake_values)
        drift = tf.reduce_mean(tf.square(real_values))
        return {"d_loss": -distance + self.gp_weight * penalty + self.drift_weight * drift,
                "d_real": tf.reduce_mean(real_values), "d_fake": tf.reduce_mean(fake_values),
                "wasserstein": distance, "gradient_penalty": penalty, "level": level}

    def generator_losses(self, x, y):
        del y
        level = self._current_level()
        fake = self._fake_canvas(tf.shape(x)[0], 0, level)
        return {"g_loss": -tf.reduce_mean(self.discriminator(fake, level, training=True))}

    def score_summary(self, logits):
        return tf.reduce_mean(logits)

