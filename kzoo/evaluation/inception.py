"""Inception-v3 (ImageNet) features and class probabilities, the standard FID/KID/IS network.

``keras.applications.InceptionV3`` with ImageNet weights: 2048-d average
pool features ("pool3") and the 1000-way softmax; images are resized to
299x299 and grayscale is repeated to 3 channels. The weights come from the
Keras cache (``~/.keras/models``), a download, or ``weights_path``; offline
and without the file, :class:`WeightsNotAvailableError` says which file to
fetch and where to put it.

Keras' InceptionV3 is not the exact TF1 graph of the reference FID code, so
values differ slightly from published FIDs.

References:
    Szegedy, Vanhoucke, Ioffe, Shlens and Wojna, "Rethinking the Inception
    Architecture for Computer Vision", CVPR 2016 (Inception-v3).
    Heusel et al., "GANs Trained by a Two Time-Scale Update Rule Converge to
    a Local Nash Equilibrium", NeurIPS 2017 (Inception features for FID).
"""

import os
import warnings

import tensorflow as tf
import keras

from kzoo.core.validation import check_positive_int
from kzoo.evaluation.extractor import FeatureExtractor

INCEPTION_WEIGHTS = {
    # include_top -> (file name, origin, md5 used by keras.utils.get_file)
    True: (
        "inception_v3_weights_tf_dim_ordering_tf_kernels.h5",
        "https://storage.googleapis.com/tensorflow/keras-applications/inception_v3/"
        "inception_v3_weights_tf_dim_ordering_tf_kernels.h5",
        "9a0d58056eeedaa3f26cb7ebd46da564",
    ),
    False: (
        "inception_v3_weights_tf_dim_ordering_tf_kernels_notop.h5",
        "https://storage.googleapis.com/tensorflow/keras-applications/inception_v3/"
        "inception_v3_weights_tf_dim_ordering_tf_kernels_notop.h5",
        "bcbd6486424b2319ff4ef7d526e38f63",
    ),
}


class WeightsNotAvailableError(FileNotFoundError):
    """The weights of a feature network are neither cached nor downloadable."""


class InceptionV3FeatureExtractor(FeatureExtractor):
    """Inception-v3 (ImageNet) pool features and softmax, the standard FID/IS network.

    Images in ``[0, 1]`` are repeated to 3 channels if grayscale, resized to
    ``image_size`` (bilinear) and mapped with
    ``keras.applications.inception_v3.preprocess_input`` (to ``[-1, 1]``).
    Features are the 2048-d global average pool of the last mixed block
    (``include_top=False, pooling="avg"``); probabilities come from the full
    model with its 1000-way softmax top, whose ``avg_pool`` layer gives the
    same features, so one full model serves both once built.

    Weights are resolved lazily, on the first call: ``weights_path`` if
    given, else the file in the Keras cache (``$KERAS_HOME/models`` or
    ``~/.keras/models``), else a download. Offline and without the file a
    :class:`WeightsNotAvailableError` says which file to fetch and where to put
    it.

    Args:
        weights_path: optional path to a Keras InceptionV3 ``.h5`` weights
            file: the full model's (``..._kernels.h5``, gives features and
            probabilities) or the no-top one (``..._kernels_notop.h5``,
            features only).
        image_size: side of the square network input.
        batch_size: images per forward pass.

    Raises:
        FileNotFoundError: ``weights_path`` does not exist.
        ValueError: bad ``image_size`` or ``batch_size``.
    """

    name = "inception_v3"
    feature_dim = 2048

    def __init__(self, weights_path=None, image_size=299, batch_size=50):
        super().__init__(batch_size=batch_size)
        self.image_size = check_positive_int(image_size, "image_size")
        if self.image_size < 75:
            raise ValueError(f"image_size must be at least 75 (InceptionV3's minimum), got {image_size!r}.")
        if weights_path is not None and not os.path.isfile(os.fspath(weights_path)):
            raise FileNotFoundError(f"InceptionV3 weights_path {os.fspath(weights_path)!r} is not a file.")
        self.weights_path = None if weights_path is None else os.fspath(weights_path)
        self._full = None  # (model returning (features, probabilities))
        self._notop = None  # (model returning features)
        self._has_top = None if weights_path is not None else True
        self._calls = {}  # compiled forward pass per built model

    @property
    def num_classes(self):
        if self._has_top is None:
            self._build_from_path()
        return 1000 if self._has_top else None

    @staticmethod
    def cached_weights_path(include_top):
        """Where ``keras.utils.get_file`` caches the weights file."""
        home = os.environ.get("KERAS_HOME") or os.path.join(os.path.expanduser("~"), ".keras")
        return os.path.join(home, "models", INCEPTION_WEIGHTS[include_top][0])

    def _require_probabilities(self):
        if not self.provides_probabilities:
            raise ValueError(
                f"The InceptionV3 weights file {self.weights_path} has no classifier top: it gives pool "
                "features but no class probabilities (needed for the Inception Score). Pass the full "
                f"{INCEPTION_WEIGHTS[True][0]} file as weights_path instead."
            )

    def _imagenet_weights(self, include_top):
        fname, origin, md5 = INCEPTION_WEIGHTS[include_top]
        try:
            return keras.utils.get_file(fname, origin, cache_subdir="models", file_hash=md5)
        except Exception as err:  # any download failure: DNS, HTTP, proxy, hash mismatch
            detail = " ".join(str(err).split())[:300]
            raise WeightsNotAvailableError(
                f"InceptionV3 ImageNet weights are not available offline: {fname} is not in the Keras cache "
                f"({self.cached_weights_path(include_top)}) and downloading it failed ({type(err).__name__}: "
                f"{detail}). Download {origin} on a machine with internet access, then either copy it to "
                f"{self.cached_weights_path(include_top)} or pass its path as "
                "InceptionV3FeatureExtractor(weights_path=...). For 28x28 digits, extractor='mnist' "
                "works offline."
            ) from None

    def _wrap_full(self, base):
        features = base.get_layer("avg_pool").output
        return keras.Model(base.inputs, [features, base.outputs[0]], name="inception_v3_features_probs")

    def _build_from_path(self):
        """Loads ``weights_path`` into the full model, or into the no-top model if it has no top."""
        try:
            with warnings.catch_warnings():  # a no-top file warns about the missing top before failing
                warnings.simplefilter("ignore")
                base = keras.applications.InceptionV3(include_top=True, weights=self.weights_path)
            self._full, self._has_top = self._wrap_full(base), True
        except Exception:  # the file lacks the top (or is not InceptionV3): try the no-top model
            try:
                self._notop = keras.applications.InceptionV3(include_top=False, pooling="avg",
                                                             weights=self.weights_path)
            except Exception as err:
                raise ValueError(
                    f"{self.weights_path} is not a Keras InceptionV3 weights file (with or without top): {err}"
                ) from None
            self._has_top = False

    def _model(self, want_probabilities):
        if self._full is not None:
            return self._full
        if self.weights_path is not None:
            if self._has_top is None:
                self._build_from_path()
            if want_probabilities:
                self._require_probabilities()
            return self._full if self._full is not None else self._notop
        if want_probabilities:
            base = keras.applications.InceptionV3(include_top=True, weights=self._imagenet_weights(True))
            self._full = self._wrap_full(base)
            return self._full
        if self._notop is None:
            self._notop = keras.applications.InceptionV3(include_top=False, pooling="avg",
                                                         weights=self._imagenet_weights(False))
        return self._notop

    def preprocess(self, batch):
        """Maps a float32 ``[0, 1]`` batch tensor to the network input (299x299x3 in ``[-1, 1]``)."""
        if batch.shape[-1] == 1:
            batch = tf.repeat(batch, 3, axis=-1)
        batch = tf.image.resize(batch, (self.image_size, self.image_size), method="bilinear")
        return keras.applications.inception_v3.preprocess_input(batch * 255.0)

    def _forward(self, batch, want_probabilities):
        model = self._model(want_probabilities)
        call = self._calls.get(id(model))
        if call is None:
            call = tf.function(lambda x: model(self.preprocess(x), training=False), reduce_retracing=True)
            self._calls[id(model)] = call
        outputs = call(batch)
        if isinstance(outputs, (list, tuple)):
            features, probabilities = outputs
            return features, (probabilities if want_probabilities else None)
        return outputs, None
