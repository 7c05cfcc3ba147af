"""Differentiable augmentation of real and generated images (DiffAugment).

A GAN trained on a few thousand images overfits its discriminator. DiffAugment
augments both the real and the generated batch, in the discriminator update
and in the generator update, with transformations that are differentiable
with respect to the image, so the generator is trained through them.

:class:`DiffAugment` takes its randomness as an explicit uniform ``noise``
tensor (shape ``(N, noise_dims)``) instead of drawing it itself: a model
draws that noise with :meth:`kzoo.core.GenerativeModel.step_noise`, so each
update gets fresh transformations and a ``tf.distribute`` replica applies
exactly the transformations of its slice of the global batch.

Why not keras-cv: keras-cv 0.9's ``RandomTranslation``, ``RandomCutout``,
``RandomBrightness`` and ``RandomContrast`` do pass gradients to their input
inside a ``tf.function`` on the TensorFlow backend (``RandomSaturation``
refuses one-channel images), but they draw their random parameters from
their own generator: the parameters can be neither shared between replicas
of a ``MirroredStrategy`` step nor tied to the training step, so a 2-replica
step would no longer equal the single-device one.

References:
    Zhao, Liu, Lin, Zhu & Han, "Differentiable Augmentation for
    Data-Efficient GAN Training", NeurIPS 2020.
    Karras et al., "Training Generative Adversarial Networks with Limited
    Data", NeurIPS 2020 (the same idea, adaptive).
"""

import tensorflow as tf
import keras

from kzoo.core.validation import check_number

POLICIES = ("color", "affine", "translation", "cutout")


@keras.saving.register_keras_serializable(package="kzoo")
class DiffAugment(keras.layers.Layer):
    """Random colour, affine warp, translation and cutout that gradients flow through.

    Acts on images in [0, 1] of shape ``(N, H, W, C)``. Per example:

    * ``"color"``: brightness ``+ (u - 0.5) / 2``; saturation (channels
      spread around their mean, times ``2u``; a no-op for one channel);
      contrast (pixels spread around the image mean, times ``u + 0.5``).
    * ``"affine"``: a rotation by up to ``rotation`` degrees, a zoom by a
      factor in ``[1 - zoom, 1 + zoom]`` and a shear of up to ``shear``
      (the tangent of the shear angle), about the image centre, bilinear,
      pixels from outside are 0 (the distortions digit classifiers are
      trained with; not in Zhao et al.'s policies).
    * ``"translation"``: an integer shift of up to ``translation`` of the
      height and width in each direction; pixels shifted in are 0.
    * ``"cutout"``: a square of ``cutout`` of the height and width, at a
      random position (it may reach over the border), is set to 0.

    These are the magnitudes of Zhao et al. (2020), whose images lie in
    [-1, 1]: a brightness shift of ``+-0.5`` there is ``+-0.25`` here.

    Args:
        policy: sequence of ``"color"``, ``"affine"``, ``"translation"``,
            ``"cutout"``, applied in that order.
        translation: maximum shift as a fraction of the image size.
        cutout: side of the cut square as a fraction of the image size.
        rotation: maximum rotation of ``"affine"``, degrees in [0, 180].
        zoom: maximum relative zoom of ``"affine"``, in [0, 1).
        shear: maximum shear of ``"affine"``, in [0, 1].
        **kwargs: ``name`` / ``dtype`` of the layer.

    Raises:
        ValueError: unknown or repeated policy entries, or magnitudes outside
            their ranges.
    """

    def __init__(self, policy=("color", "translation", "cutout"), translation=0.125, cutout=0.5, rotation=15.0,
                 zoom=0.1, shear=0.15, **kwargs):
        super().__init__(**kwargs)
        policy = self.check_policy(policy)
        self.policy = tuple(p for p in POLICIES if p in policy)
        self.translation = check_number(translation, "translation", minimum=0, maximum=1,
                                        description="a fraction in [0, 1]")
        self.cutout = check_number(cutout, "cutout", minimum=0, maximum=1, description="a fraction in [0, 1]")
        self.rotation = check_number(rotation, "rotation", minimum=0, maximum=180, description="degrees in [0, 180]")
        self.zoom = check_number(zoom, "zoom", minimum=0, maximum=1, exclusive_maximum=True,
                                 description="a fraction in [0, 1)")
        self.shear = check_number(shear, "shear", minimum=0, maximum=1, description="a number in [0, 1]")

    @staticmethod
    def check_policy(policy, name="policy"):
        """Validates a policy list: a comma-separated string or a sequence of distinct policy names.

        Args:
            policy: e.g. ``"translation,cutout"`` or ``("color",)``.
            name: how the argument is named in the error.

        Returns:
            The policy names as a tuple, in the order given.

        Raises:
            ValueError: empty, unknown or repeated entries.
        """
        if isinstance(policy, str):
            policy = [p for p in policy.split(",") if p]
        policy = tuple(policy)
        unknown = [p for p in policy if p not in POLICIES]
        if unknown or not policy or len(set(policy)) != len(policy):
            raise ValueError(f"{name} must be distinct entries of {', '.join(map(repr, POLICIES))}, got {policy!r}.")
        return policy

    def get_config(self):
        config = super().get_config()
        config.update({"policy": list(self.policy), "translation": self.translation, "cutout": self.cutout,
                       "rotation": self.rotation, "zoom": self.zoom, "shear": self.shear})
        return config

    @property
    def noise_dims(self):
        """Number of uniform numbers per example that :meth:`call` consumes."""
        return (3 * ("color" in self.policy) + 3 * ("affine" in self.policy) + 2 * ("translation" in self.policy)
                + 2 * ("cutout" in self.policy))

    def compute_output_shape(self, input_shape):
        return input_shape

    def call(self, images, noise=None, training=True):
        """Augments a batch.

        Args:
            images: ``(N, H, W, C)`` in [0, 1].
            noise: uniform [0, 1) tensor of shape ``(N, noise_dims)``; drawn
                here when None (then not reproducible across replicas).
            training: when False, returns ``images`` unchanged.

        Returns:
            A tensor like ``images``.
        """
        if not training or not self.policy:
            return images
        if noise is None:
            noise = keras.random.uniform((tf.shape(images)[0], self.noise_dims))
        dtype = images.dtype
        x = tf.cast(images, tf.float32)
        noise = tf.cast(noise, tf.float32)
        column = 0
        if "color" in self.policy:
            x = self._color(x, noise[:, column:column + 3])
            column += 3
        if "affine" in self.policy:
            x = self._affine(x, noise[:, column:column + 3])
            column += 3
        if "translation" in self.policy:
            x = self._translate(x, noise[:, column:column + 2])
            column += 2
        if "cutout" in self.policy:
            x = self._cutout(x, noise[:, column:column + 2])
        return tf.cast(x, dtype)

    @staticmethod
    def _per_example(u):
        return u[:, None, None, None]

    def _color(self, x, u):
        x = x + self._per_example(u[:, 0] - 0.5) * 0.5
        channel_mean = tf.reduce_mean(x, axis=3, keepdims=True)
        x = (x - channel_mean) * self._per_example(2.0 * u[:, 1]) + channel_mean
        image_mean = tf.reduce_mean(x, axis=[1, 2, 3], keepdims=True)
        return (x - image_mean) * self._per_example(u[:, 2] + 0.5) + image_mean

    def _affine(self, x, u):
        height, width = x.shape[1], x.shape[2]
        angle = (2.0 * u[:, 0] - 1.0) * (self.rotation * 3.141592653589793 / 180.0)
        scale = 1.0 + (2.0 * u[:, 1] - 1.0) * self.zoom
        shear = (2.0 * u[:, 2] - 1.0) * self.shear
        cos, sin = tf.cos(angle) / scale, tf.sin(angle) / scale
        # Output pixel p reads input c + M (p - c), M = R(angle) [[1, shear], [0, 1]] / scale, c the centre.
        m00, m01, m10, m11 = cos, cos * shear - sin, sin, sin * shear + cos
        cx, cy = (width - 1) / 2.0, (height - 1) / 2.0
        zeros = tf.zeros_like(cos)
        transforms = tf.stack([m00, m01, cx - m00 * cx - m01 * cy, m10, m11, cy - m10 * cx - m11 * cy, zeros, zeros],
                              axis=1)
        return tf.raw_ops.ImageProjectiveTransformV3(
            images=x, transforms=transforms, output_shape=tf.constant([height, width], tf.int32),
            fill_value=tf.constant(0.0), interpolation="BILINEAR", fill_mode="CONSTANT")

    def _translate(self, x, u):
        height, width = x.shape[1], x.shape[2]
        max_dy, max_dx = int(height * self.translation + 0.5), int(width * self.translation + 0.5)
        if max_dy == 0 and max_dx == 0:
            return x
        # Integer shifts in [-max, max], each value equally likely.
        dy = tf.cast(tf.floor(u[:, 0] * (2 * max_dy + 1)), tf.int32) - max_dy
        dx = tf.cast(tf.floor(u[:, 1] * (2 * max_dx + 1)), tf.int32) - max_dx
        # Output pixel (i, j) reads input (i - dy, j - dx) of the image padded
        # by one zero pixel on each side; indices outside fall on the padding.
        padded = tf.pad(x, [[0, 0], [1, 1], [1, 1], [0, 0]])
        rows = tf.clip_by_value(tf.range(height)[None, :] - dy[:, None] + 1, 0, height + 1)
        cols = tf.clip_by_value(tf.range(width)[None, :] - dx[:, None] + 1, 0, width + 1)
        x = tf.gather(padded, rows, axis=1, batch_dims=1)
        return tf.gather(x, cols, axis=2, batch_dims=1)

    def _cutout(self, x, u):
        height, width = x.shape[1], x.shape[2]
        size_y, size_x = int(height * self.cutout + 0.5), int(width * self.cutout + 0.5)
        if size_y == 0 or size_x == 0:
            return x
        # Centre anywhere in [0, H + size % 2) as in the reference; the square
        # is clipped by the border.
        cy = tf.floor(u[:, 0] * (height + (1 - size_y % 2)))
        cx = tf.floor(u[:, 1] * (width + (1 - size_x % 2)))
        rows = tf.range(height, dtype=tf.float32)[None, :]
        cols = tf.range(width, dtype=tf.float32)[None, :]
        inside_y = tf.logical_and(rows >= (cy - size_y // 2)[:, None], rows < (cy - size_y // 2 + size_y)[:, None])
        inside_x = tf.logical_and(cols >= (cx - size_x // 2)[:, None], cols < (cx - size_x // 2 + size_x)[:, None])
        cut = tf.logical_and(inside_y[:, :, None], inside_x[:, None, :])
        return x * tf.cast(tf.logical_not(cut), x.dtype)[..., None]
