"""Base of the image-to-image models: examples are stacks of images of several domains.

An image-to-image model (CycleGAN, StarGAN) changes given images instead of
drawing them from noise. Its training example is a *stack* of one image per
domain along the channels, ``(H, W, K*C)`` with domain ``k`` in channels
``k*C .. (k+1)*C - 1`` (the ``domains-*`` datasets of
:mod:`kzoo.data.domains`: unpaired stacks for training, stacks of the same
digit for evaluation). :class:`TranslationModel` checks that shape, maps
images between data space ``[0, 1]`` and the networks' ``[-1, 1]``, and
gives the common ``generate(n, source=STACKS)``: the model's call on the
first ``n`` stacks, since there is nothing to draw from noise.
"""

import numpy as np
import tensorflow as tf

from kzoo.core.base import to_float32
from kzoo.core.validation import check_data_batch, check_positive_int
from kzoo.models.gan.base import AdversarialModel

__all__ = ["TranslationModel"]


class TranslationModel(AdversarialModel):
    """A generator and discriminator that translate images between ``num_domains`` domains.

    Subclasses build the networks and define ``call`` (a stack in, a stack
    of translations out) and ``translate``.

    Args:
        data_shape: one stack ``(H, W, K*C)``, H and W divisible by 4.
        num_domains: ``K``, the number of images in a stack.
        d_steps: discriminator updates per generator update.
        **kwargs: ``name`` / ``dtype`` for ``keras.Model``.

    Raises:
        ValueError: a ``data_shape`` that is not a stack of ``num_domains``
            images, or sides not divisible by 4.
    """

    def __init__(self, data_shape, num_domains, d_steps=1, **kwargs):
        super().__init__(data_shape=data_shape, d_steps=d_steps, **kwargs)
        self.num_domains = check_positive_int(num_domains, "num_domains")
        if len(self.data_shape) != 3 or self.data_shape[-1] % self.num_domains:
            what = ("an image pair (H, W, 2C) with an even number of channels" if self.num_domains == 2 else
                    f"a stack of {self.num_domains} images (H, W, {self.num_domains}C): channels divisible by "
                    f"{self.num_domains}")
            raise ValueError(f"data_shape must be {what}, got {self.data_shape}.")
        if self.data_shape[0] % 4 or self.data_shape[1] % 4:
            raise ValueError(f"data_shape height and width must be divisible by 4 (two stride-2 steps), got "
                             f"{self.data_shape}.")
        self.image_shape = self.data_shape[:2] + (self.data_shape[2] // self.num_domains,)

    # ------------------------------------------------------------ mapping
    @staticmethod
    def to_network_space(x):
        """Data-space images in ``[0, 1]`` to the networks' ``[-1, 1]``, float32."""
        return 2.0 * tf.cast(x, tf.float32) - 1.0

    @staticmethod
    def to_data_space(raw):
        """A generator's raw output to images in ``[0, 1]`` (tanh), float32."""
        return 0.5 * (tf.tanh(to_float32(raw)) + 1.0)

    def split_stack(self, stack):
        """The ``num_domains`` images of a batch of stacks ``(N, H, W, K*C)``, in domain order."""
        return tf.split(stack, self.num_domains, axis=-1)

    def check_images(self, x, name="x"):
        """Checks single-domain images ``(N, H, W, C)`` in ``[0, 1]``; returns a float32 numpy array."""
        return check_data_batch(x, self.image_shape, what=name, value_range=(0.0, 1.0))

    def check_stacks(self, stacks, name="source"):
        """Checks stacks ``(N, H, W, K*C)`` in ``[0, 1]``; returns a float32 numpy array."""
        return np.asarray(check_data_batch(stacks, self.data_shape, what=name, value_range=(0.0, 1.0)), np.float32)

    # ------------------------------------------------------------ sampling
    def _no_source_error(self):
        return ValueError(f"{type(self).__name__} translates images rather than drawing them from noise: call "
                          "translate(x, ...), or generate(n, source=STACKS).")

    def sample_batch(self, n, seed, **kwargs):
        raise self._no_source_error()

    def generate(self, n, seed=None, batch_size=256, labels=None, source=None):
        """The model's translations of the first ``n`` stacks of ``source`` (nothing is drawn from noise).

        Args:
            n: number of stacks to translate.
            seed: unused (translation is deterministic); accepted for the
                common ``generate`` signature.
            batch_size: stacks per call.
            labels: must be None.
            source: stacks ``(>= n, H, W, K*C)`` in ``[0, 1]``, as in training.

        Returns:
            float32 numpy array ``(n, H, W, K*C)``: ``self(source[:n])``.

        Raises:
            ValueError: no ``source``, fewer than ``n`` stacks, labels, or
                stacks of another shape or range.
        """
        del seed
        n = check_positive_int(n, "n")
        if labels is not None:
            raise ValueError(f"{type(self).__name__} takes no labels, got labels={labels!r}.")
        if source is None:
            raise self._no_source_error()
        source = self.check_stacks(source)
        if len(source) < n:
            raise ValueError(f"n={n} translations need at least {n} source stacks, got {len(source)}.")
        return self.map_batches(lambda batch, _, __: self(batch), source[:n], None,
                                check_positive_int(batch_size, "batch_size"))
