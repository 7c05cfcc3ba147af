"""The feature-extractor interface: images in ``[0, 1]`` in, features and class probabilities out.

:class:`FeatureExtractor` is what the evaluation asks of a feature network;
:func:`check_images` is the input check every extractor runs. The extractors
themselves are in :mod:`kzoo.evaluation.features` and
:mod:`kzoo.evaluation.inception`.
"""

import numpy as np
import tensorflow as tf

from kzoo.core.validation import check_positive_int

__all__ = ["RANGE_TOLERANCE", "FeatureExtractor", "check_images"]

#: Largest accepted excursion of pixel values outside ``[0, 1]`` (rounding).
RANGE_TOLERANCE = 1e-3

def check_images(images, *, name="images", image_shape=None, channels=(1, 3)):
    """Checks a batch of images for feature extraction.

    Args:
        images: array-like of shape ``(N, H, W, C)`` (or ``(N, H, W)``, taken
            as one channel) with values in ``[0, 1]``.
        name: how the batch is named in error messages.
        image_shape: the required ``(H, W, C)``, or ``None`` for any size.
        channels: accepted channel counts when ``image_shape`` is ``None``.

    Returns:
        A float32 numpy array ``(N, H, W, C)`` clipped to ``[0, 1]``.

    Raises:
        ValueError: wrong rank or shape, an empty batch, NaN/Inf values, or
            values outside ``[0, 1]`` by more than ``RANGE_TOLERANCE`` (e.g.
            images scaled to ``[-1, 1]`` or ``[0, 255]``).
    """
    x = np.asarray(images, dtype=np.float32)
    if x.ndim == 3:
        x = x[..., None]
    if x.ndim != 4:
        raise ValueError(f"{name} must have shape (N, H, W, C) or (N, H, W); received shape {x.shape}.")
    if x.shape[0] == 0:
        raise ValueError(f"{name} is empty (shape {x.shape}); expected at least one image.")
    if image_shape is not None and tuple(x.shape[1:]) != tuple(image_shape):
        raise ValueError(
            f"{name} have shape {tuple(x.shape[1:])} per image, but this extractor takes "
            f"{tuple(image_shape)} images."
        )
    if image_shape is None and x.shape[-1] not in channels:
        raise ValueError(
            f"{name} have {x.shape[-1]} channels (shape {x.shape}); expected "
            f"{' or '.join(str(c) for c in channels)}."
        )
    bad = int(x.size - np.count_nonzero(np.isfinite(x)))
    if bad:
        raise ValueError(f"{name} contain {bad} NaN or infinite values.")
    low, high = float(x.min()), float(x.max())
    if low < -RANGE_TOLERANCE or high > 1.0 + RANGE_TOLERANCE:
        raise ValueError(
            f"{name} values span [{low:.4g}, {high:.4g}]; expected images in [0, 1] "
            "(rescale [-1, 1] or [0, 255] images first)."
        )
    return np.clip(x, 0.0, 1.0)


class FeatureExtractor:
    """Base class: maps images in ``[0, 1]`` to features and class probabilities.

    Subclasses implement :meth:`_forward` (one batch tensor to a
    ``(features, probabilities)`` pair of tensors, ``probabilities`` may be
    ``None`` when only features are asked for) and set :attr:`name`. The
    public methods batch the input, check it, and return numpy arrays.

    Attributes:
        name: short identifier recorded next to every metric value.
        image_shape: the required per-image shape, or ``None`` for any.
        batch_size: default number of images per forward pass.
    """

    name = "feature_extractor"
    image_shape = None

    def __init__(self, batch_size=100):
        self.batch_size = check_positive_int(batch_size, "batch_size")

    # ---------------------------------------------------------- subclasses
    def _forward(self, batch, want_probabilities):
        """Returns ``(features, probabilities or None)`` for one float32 batch tensor."""
        raise NotImplementedError(f"{type(self).__name__} must implement _forward().")

    @property
    def num_classes(self):
        """The number of classes of :meth:`probabilities`, or ``None`` if unknown or absent."""
        return None

    @property
    def provides_probabilities(self):
        """Whether :meth:`probabilities` (and so the Inception Score) is available."""
        return self.num_classes is not None

    # -------------------------------------------------------------- public
    def check_images(self, images, name="images"):
        """Validates a batch for this extractor; see :func:`check_images`."""
        return check_images(images, name=name, image_shape=self.image_shape)

    def _run(self, images, batch_size, want_features, want_probabilities):
        x = self.check_images(images)
        batch_size = self.batch_size if batch_size is None else check_positive_int(batch_size, "batch_size")
        features, probabilities = [], []
        for start in range(0, len(x), batch_size):
            f, p = self._forward(tf.constant(x[start : start + batch_size]), want_probabilities)
            if want_features:
                features.append(np.asarray(f, dtype=np.float32).reshape(f.shape[0], -1))
            if want_probabilities:
                probabilities.append(np.asarray(p, dtype=np.float32))
        return (np.concatenate(features) if want_features else None,
                np.concatenate(probabilities) if want_probabilities else None)

    def features(self, images, batch_size=None):
        """Feature vectors of a set of images.

        Args:
            images: array ``(N, H, W, C)`` in ``[0, 1]``.
            batch_size: images per forward pass (default :attr:`batch_size`).

        Returns:
            float32 numpy array ``(N, feature_dim)``.

        Raises:
            ValueError: bad images (see :func:`check_images`) or batch size.
        """
        return self._run(images, batch_size, True, False)[0]

    def probabilities(self, images, batch_size=None):
        """Class probabilities (softmax rows summing to 1) for the Inception Score.

        Args:
            images: array ``(N, H, W, C)`` in ``[0, 1]``.
            batch_size: images per forward pass (default :attr:`batch_size`).

        Returns:
            float32 numpy array ``(N, num_classes)``.

        Raises:
            ValueError: bad images, or this extractor has no classifier head.
        """
        self._require_probabilities()
        return self._run(images, batch_size, False, True)[1]

    def features_and_probabilities(self, images, batch_size=None):
        """``(features, probabilities)`` from one pass over the images.

        Returns:
            Two float32 arrays ``(N, feature_dim)`` and ``(N, num_classes)``.

        Raises:
            ValueError: as :meth:`features` and :meth:`probabilities`.
        """
        self._require_probabilities()
        return self._run(images, batch_size, True, True)

    def _require_probabilities(self):
        if not self.provides_probabilities:
            raise ValueError(
                f"The feature extractor {self.name!r} has no classifier head, so it gives no class "
                "probabilities (needed for the Inception Score)."
            )

    def __repr__(self):
        return f"{type(self).__name__}(name={self.name!r})"
