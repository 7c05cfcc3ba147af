"""Feature extractors: images in, feature vectors and class probabilities out.

FID, KID and precision/recall compare feature vectors of real and generated
images; the Inception Score needs class probabilities. A
:class:`FeatureExtractor` supplies both, batch by batch, from images in
``[0, 1]`` (NHWC), and checks its inputs.

* :class:`MnistFeatureExtractor` (name ``"mnist"``, the default): the small
  classifier shipped as ``saved_models/mnist-classifier``; 128-d features of
  its penultimate layer, softmax over the 10 digits. Offline and fast, for
  28x28x1 images.
* :class:`~kzoo.evaluation.inception.InceptionV3FeatureExtractor` (name ``"inception_v3"``):
  ``keras.applications.InceptionV3`` with ImageNet weights, 2048-d average
  pool features ("pool3") and the 1000-way softmax; images are resized to
  299x299, grayscale is repeated to 3 channels. The weights come from the
  Keras cache (``~/.keras/models``), a download, or ``weights_path``.
* :class:`KerasModelFeatureExtractor`: any Keras model (optionally one of its
  layers) as the feature network.

Numbers are comparable only when computed with the same extractor (and the
same number of samples). In particular MNIST-classifier FID/KID/IS are not on
the scale of the Inception-based values papers report; and Keras'
InceptionV3 is not the exact TF1 graph of the reference FID code, so even
``"inception_v3"`` values differ slightly from published FIDs.

References:
    Szegedy, Vanhoucke, Ioffe, Shlens and Wojna, "Rethinking the Inception
    Architecture for Computer Vision", CVPR 2016 (Inception-v3).
    Salimans et al., "Improved Techniques for Training GANs", NeurIPS 2016;
    Heusel et al., "GANs Trained by a Two Time-Scale Update Rule Converge to
    a Local Nash Equilibrium", NeurIPS 2017 (Inception features for IS/FID).
"""

import tensorflow as tf
import keras

from kzoo.evaluation.extractor import RANGE_TOLERANCE, FeatureExtractor, check_images

__all__ = ["EXTRACTOR_NAMES", "RANGE_TOLERANCE", "FeatureExtractor", "KerasModelFeatureExtractor",
           "MnistFeatureExtractor", "check_images", "get_feature_extractor"]

class MnistFeatureExtractor(FeatureExtractor):
    """Features and probabilities of the shipped MNIST classifier (offline).

    The default extractor of kzoo for 28x28x1 images: the 128-d penultimate
    layer of :class:`kzoo.models.classifier.mnist_classifier.MnistClassifier` for
    FID/KID/precision/recall, its 10-way softmax for the Inception Score.
    Values are comparable with each other only, not with Inception-based
    numbers.

    Args:
        entry: entry name or folder of the classifier (default
            ``"mnist-classifier"``), loaded and checksum-verified with
            :func:`kzoo.models.classifier.mnist_classifier.load_mnist_classifier`.
        model: an :class:`MnistClassifier` instance to use instead of
            ``entry`` (e.g. a freshly built one in tests).
        batch_size: images per forward pass.

    Raises:
        ValueError: unknown entry, or ``model`` is not an ``MnistClassifier``.
        FileNotFoundError: the entry is incomplete.
        kzoo.core.presets.ChecksumError: the weights do not match their card.
    """

    name = "mnist_classifier"

    def __init__(self, entry=None, model=None, batch_size=500):
        super().__init__(batch_size=batch_size)
        from kzoo.models.classifier.mnist_classifier import DEFAULT_ENTRY, MnistClassifier, load_mnist_classifier

        if model is not None and entry is not None:
            raise ValueError("Pass either entry= or model= to MnistFeatureExtractor, not both.")
        if model is None:
            model = load_mnist_classifier(entry or DEFAULT_ENTRY)
        if not isinstance(model, MnistClassifier):
            raise ValueError(f"model must be an MnistClassifier, got {type(model).__name__}.")
        model.build_for_data()
        self.model = model
        self.image_shape = tuple(model.image_shape)
        self._both = tf.function(model.features_and_probabilities, reduce_retracing=True)
        self._features_only = tf.function(model.features, reduce_retracing=True)

    @property
    def num_classes(self):
        return self.model.num_classes

    @property
    def feature_dim(self):
        return self.model.feature_dim

    def check_images(self, images, name="images"):
        try:
            return super().check_images(images, name=name)
        except ValueError as err:
            if "per image" in str(err):
                raise ValueError(f"{err} Use extractor='inception_v3' or a KerasModelFeatureExtractor for "
                                 "other image sizes.") from None
            raise

    def _forward(self, batch, want_probabilities):
        if want_probabilities:
            return self._both(batch)
        return self._features_only(batch), None


class KerasModelFeatureExtractor(FeatureExtractor):
    """Uses any Keras model (or one of its layers) as the feature network.

    Features are the output of ``layer`` (flattened per image); without
    ``layer``, the model's output. If the model is a classifier, say what its
    final output is with ``head`` to get class probabilities (and so the
    Inception Score) from the same forward pass.

    Args:
        model: a ``keras.Model`` taking ``(N, H, W, C)`` float32 images
            (after ``preprocess``). Selecting a ``layer`` needs a model with
            symbolic inputs (functional or Sequential).
        layer: name, index or ``keras.layers.Layer`` whose output are the
            features, or ``None`` for the model output.
        head: what the model's (first) output is: ``None`` (not class scores;
            no probabilities), ``"probabilities"`` (softmax outputs) or
            ``"logits"`` (a softmax is applied).
        preprocess: optional callable applied to each ``[0, 1]`` float32
            batch tensor before the model (e.g. resizing or rescaling).
        name: identifier recorded with metric values (default:
            ``"keras:<model name>[/<layer name>]"``).
        image_shape: the per-image shape the model takes, or ``None`` to
            read it from ``model.inputs`` when available (ignored with
            ``preprocess``, which may change the shape).
        batch_size: images per forward pass.

    Raises:
        TypeError: ``model`` is not a ``keras.Model``.
        ValueError: ``layer`` is given but the model has no symbolic inputs,
            the layer does not exist, or ``head`` is not one of the choices.
    """

    HEADS = (None, "probabilities", "logits")

    def __init__(self, model, layer=None, *, head=None, preprocess=None, name=None, image_shape=None,
                 batch_size=100):
        super().__init__(batch_size=batch_size)
        if not isinstance(model, keras.Model):
            raise TypeError(f"model must be a keras.Model, got {type(model).__name__}.")
        if head not in self.HEADS:
            raise ValueError(f"head must be one of {self.HEADS}, got {head!r}.")
        self.model = model
        self.head = head
        self.preprocess = preprocess
        inputs = model.inputs if _has_symbolic_inputs(model) else None
        if image_shape is None and inputs is not None and None not in tuple(inputs[0].shape[1:]):
            image_shape = tuple(int(d) for d in inputs[0].shape[1:])
        self.image_shape = None if image_shape is None or preprocess is not None else tuple(image_shape)
        layer_name = None
        if layer is None:
            self._network = model
            self._features_are_output = True
        else:
            if inputs is None:
                raise ValueError(
                    f"layer={layer!r} needs a functional or Sequential model with symbolic inputs; "
                    f"{type(model).__name__} {model.name!r} has none. Pass layer=None and a model whose "
                    "output are the features."
                )
            target = _find_layer(model, layer)
            layer_name = target.name
            self._network = keras.Model(inputs, [target.output, model.outputs[0]],
                                        name=f"{model.name}_features")
            self._features_are_output = False
        self.name = name or f"keras:{model.name}" + (f"/{layer_name}" if layer_name else "")
        self._call = tf.function(lambda x: self._network(x, training=False), reduce_retracing=True)

    @property
    def num_classes(self):
        if self.head is None:
            return None
        if _has_symbolic_inputs(self.model):
            return int(self.model.outputs[0].shape[-1])
        return None  # a subclassed classifier: unknown before the first call

    @property
    def provides_probabilities(self):
        return self.head is not None

    def _forward(self, batch, want_probabilities):
        if self.preprocess is not None:
            batch = self.preprocess(batch)
        outputs = self._call(batch)
        if self._features_are_output:
            features = scores = outputs[0] if isinstance(outputs, (list, tuple)) else outputs
        else:
            features, scores = outputs
        probabilities = None
        if want_probabilities:
            scores = tf.cast(scores, tf.float32)
            probabilities = tf.nn.softmax(scores, axis=-1) if self.head == "logits" else scores
        return tf.cast(features, tf.float32), probabilities


def _has_symbolic_inputs(model):
    try:
        return bool(model.inputs)
    except (AttributeError, ValueError):
        return False


def _find_layer(model, layer):
    if isinstance(layer, keras.layers.Layer):
        if not any(layer is candidate for candidate in model.layers):
            raise ValueError(f"Layer {layer.name!r} is not part of model {model.name!r}.")
        return layer
    try:
        if isinstance(layer, int):
            return model.layers[layer]
        return model.get_layer(layer)
    except (ValueError, IndexError) as err:
        names = ", ".join(l.name for l in model.layers)
        raise ValueError(f"Model {model.name!r} has no layer {layer!r}; its layers are: {names}.") from err


EXTRACTOR_NAMES = ("mnist", "inception_v3")


def get_feature_extractor(name_or_model="mnist", **kwargs):
    """Returns a :class:`FeatureExtractor` for a name or a Keras model.

    Args:
        name_or_model: ``"mnist"`` (alias ``"mnist_classifier"``),
            ``"inception_v3"`` (alias ``"inception"``), a ``keras.Model``
            (an :class:`~kzoo.models.classifier.mnist_classifier.MnistClassifier` gets
            :class:`MnistFeatureExtractor`, any other model
            :class:`KerasModelFeatureExtractor`), or a
            :class:`FeatureExtractor` (returned as is).
        **kwargs: passed to the extractor's constructor (e.g.
            ``weights_path=`` for Inception, ``layer=`` for a Keras model).

    Returns:
        A :class:`FeatureExtractor`.

    Raises:
        ValueError: an unknown name (the known names are listed).
    """
    if isinstance(name_or_model, FeatureExtractor):
        if kwargs:
            raise ValueError(f"Options {sorted(kwargs)} do not apply to an existing {name_or_model!r}.")
        return name_or_model
    if isinstance(name_or_model, keras.Model):
        from kzoo.models.classifier.mnist_classifier import MnistClassifier

        if isinstance(name_or_model, MnistClassifier):
            return MnistFeatureExtractor(model=name_or_model, **kwargs)
        return KerasModelFeatureExtractor(name_or_model, **kwargs)
    key = str(name_or_model).lower().replace("-", "_") if isinstance(name_or_model, str) else None
    if key in ("mnist", "mnist_classifier"):
        return MnistFeatureExtractor(**kwargs)
    if key in ("inception_v3", "inception", "inceptionv3"):
        from kzoo.evaluation.inception import InceptionV3FeatureExtractor

        return InceptionV3FeatureExtractor(**kwargs)
    raise ValueError(
        f"Unknown feature extractor {name_or_model!r}; expected one of {', '.join(map(repr, EXTRACTOR_NAMES))}, "
        "a keras.Model or a FeatureExtractor."
    )
