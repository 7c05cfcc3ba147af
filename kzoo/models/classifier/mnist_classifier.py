"""A small MNIST classifier used as the offline feature extractor of kzoo.

Sample-quality metrics (FID, KID, Inception Score, precision/recall) need a
network that maps images to features and to class probabilities. The usual
choice, Inception-v3 trained on ImageNet, needs a 92 MB download and sees
28x28 digits upsampled to 299x299. kzoo ships instead a small convolutional
classifier trained on the 4,500 ``mnist5k`` training images
(``saved_models/mnist-classifier/``, trained by
``examples/train_mnist_classifier.py``); its 128-d penultimate layer gives the
features and its softmax the class probabilities.

Numbers computed with it (sometimes called "FID with a domain classifier",
as in the MNIST experiments of Binkowski et al. 2018) are comparable only with
each other, never with Inception-based FID/KID/IS of published papers.

References:
    LeCun, Bottou, Bengio and Haffner, "Gradient-Based Learning Applied to
    Document Recognition", Proc. IEEE 1998 (MNIST, convolutional networks).
    Ioffe and Szegedy, "Batch Normalization", ICML 2015.
    Heusel et al., "GANs Trained by a Two Time-Scale Update Rule Converge to
    a Local Nash Equilibrium", NeurIPS 2017 (FID on classifier features).
"""


import tensorflow as tf
import keras

from kzoo.core.validation import check_positive_int

__all__ = ["DEFAULT_ENTRY", "DOMAIN_ENTRY", "MnistClassifier", "load_mnist_classifier"]

#: Name of the shipped entry in ``saved_models/``.
DEFAULT_ENTRY = "mnist-classifier"
#: The shipped classifier of the five digit domains of ``domains-five`` (same network, 5 classes).
DOMAIN_ENTRY = "domain-classifier"


def _conv_block(filters, index):
    return [
        keras.layers.Conv2D(filters, 3, padding="same", use_bias=False, name=f"conv_{index}a"),
        keras.layers.BatchNormalization(momentum=0.9, name=f"bn_{index}a"),
        keras.layers.Activation("relu", name=f"relu_{index}a"),
        keras.layers.Conv2D(filters, 3, padding="same", use_bias=False, name=f"conv_{index}b"),
        keras.layers.BatchNormalization(momentum=0.9, name=f"bn_{index}b"),
        keras.layers.Activation("relu", name=f"relu_{index}b"),
        keras.layers.MaxPooling2D(2, name=f"pool_{index}"),
    ]


@keras.saving.register_keras_serializable(package="kzoo", name="MnistClassifier")
class MnistClassifier(keras.Model):
    """Convolutional digit classifier with a feature (penultimate) layer.

    Architecture: for each entry ``f`` of ``filters`` two 3x3 convolutions
    with batch normalization and ReLU, then 2x2 max pooling; then flatten,
    a dense ``feature_dim`` ReLU layer (the features), dropout and a dense
    layer giving ``num_classes`` logits.

    ``call`` returns logits; :meth:`features` the ``(N, feature_dim)``
    penultimate activations; :meth:`probabilities` the softmax.
    :meth:`features_and_probabilities` gives both from one forward pass.
    Inputs are images in ``[0, 1]`` of shape ``input_shape``. The class is
    Keras-serializable (``"kzoo>MnistClassifier"``), so its config round
    trips through ``keras.saving.deserialize_keras_object`` in safe mode.

    Args:
        input_shape: per-image shape ``(H, W, C)``; H and W must be divisible
            by ``2 ** len(filters)``.
        num_classes: number of classes.
        filters: channels of each convolution block.
        feature_dim: width of the feature layer.
        dropout: dropout rate between the feature layer and the logits.
        **kwargs: ``name`` / ``dtype`` for ``keras.Model``.

    Raises:
        ValueError: a non-positive size, a dropout rate outside ``[0, 1)``, or
            an input shape the pooling cannot divide.
    """

    registered_name = "mnist_classifier"
    family = "classifier"

    def __init__(self, input_shape=(28, 28, 1), num_classes=10, filters=(32, 64), feature_dim=128, dropout=0.3,
                 **kwargs):
        super().__init__(**kwargs)
        try:
            self.image_shape = tuple(check_positive_int(int(d), "input_shape entry") for d in input_shape)
        except (TypeError, ValueError) as err:
            raise ValueError(f"input_shape must be (H, W, C) positive ints, got {input_shape!r}.") from err
        if len(self.image_shape) != 3:
            raise ValueError(f"input_shape must be (H, W, C), got {tuple(input_shape)!r}.")
        self.num_classes = check_positive_int(num_classes, "num_classes")
        if self.num_classes < 2:
            raise ValueError(f"num_classes must be at least 2, got {num_classes!r}.")
        self.filters = tuple(check_positive_int(f, "filters entry") for f in filters)
        if not self.filters:
            raise ValueError("filters must list at least one block width, got ().")
        factor = 2 ** len(self.filters)
        if self.image_shape[0] % factor or self.image_shape[1] % factor:
            raise ValueError(
                f"input_shape {self.image_shape} must have height and width divisible by "
                f"2**len(filters) = {factor}."
            )
        self.feature_dim = check_positive_int(feature_dim, "feature_dim")
        if not (isinstance(dropout, (int, float)) and 0.0 <= dropout < 1.0):
            raise ValueError(f"dropout must be a number in [0, 1), got {dropout!r}.")
        self.dropout = float(dropout)
        layers = []
        for index, width in enumerate(self.filters):
            layers += _conv_block(width, index)
        layers += [
            keras.layers.Flatten(name="flatten"),
            keras.layers.Dense(self.feature_dim, activation="relu", name="features"),
        ]
        self.backbone = keras.Sequential(layers, name="backbone")
        self.head_dropout = keras.layers.Dropout(self.dropout, name="dropout")
        self.head = keras.layers.Dense(self.num_classes, name="logits")

    def get_config(self):
        config = super().get_config()
        config.update({
            "input_shape": list(self.image_shape),
            "num_classes": self.num_classes,
            "filters": list(self.filters),
            "feature_dim": self.feature_dim,
            "dropout": self.dropout,
        })
        return config

    @classmethod
    def from_config(cls, config):
        return cls(**config)

    def build_for_data(self):
        """Builds all variables by calling the model on one zero batch."""
        if not self.built:
            self(tf.zeros((1,) + self.image_shape), training=False)

    def call(self, x, training=False):
        features = self.backbone(x, training=training)
        return self.head(self.head_dropout(features, training=training))

    def features(self, x):
        """Penultimate-layer activations, float32 tensor ``(N, feature_dim)``."""
        return tf.cast(self.backbone(x, training=False), tf.float32)

    def probabilities(self, x):
        """Softmax class probabilities, float32 tensor ``(N, num_classes)``."""
        return tf.nn.softmax(tf.cast(self(x, training=False), tf.float32), axis=-1)

    def features_and_probabilities(self, x):
        """``(features, probabilities)`` from one forward pass (inference mode)."""
        features = self.backbone(x, training=False)
        logits = self.head(features, training=False)
        return tf.cast(features, tf.float32), tf.nn.softmax(tf.cast(logits, tf.float32), axis=-1)


def load_mnist_classifier(name_or_path=DEFAULT_ENTRY):
    """Loads a saved :class:`MnistClassifier` entry, checksum-verified.

    The entry has the preset layout of :mod:`kzoo.core.presets`
    (``config.json``, ``model.weights.h5``, ``card.json`` with the weights'
    sha256); the folder is found and verified by
    :func:`kzoo.core.presets.verify_preset`.

    Args:
        name_or_path: entry name (default ``"mnist-classifier"``) or folder.

    Returns:
        The built classifier with its trained weights; the card is in
        ``model.card``.

    Raises:
        ValueError: unknown entry, or a config that is not a classifier.
        FileNotFoundError: a file of the entry is missing.
        kzoo.core.presets.ChecksumError: the weights do not match card.json.
    """
    from kzoo.core.presets import load_preset

    model = load_preset(name_or_path)
    if not isinstance(model, MnistClassifier):
        raise ValueError(
            f"{name_or_path} holds a {type(model).__name__}, not an MnistClassifier; pass a classifier entry."
        )
    return model
