"""A small untrained feature extractor for the sample-quality tests.

Fixed-seed random convolutions give features that tell real digits from noise
well enough to test the metrics' plumbing without the trained MNIST network.
"""

import keras

from kzoo.evaluation.features import KerasModelFeatureExtractor


def random_extractor(seed=3, conv_filters=(8, 16)):
    """A seeded random CNN on 28x28x1 images with 16 features and 10 logits.

    Args:
        seed: the Keras random seed its weights are drawn with.
        conv_filters: filters of each stride-2 3x3 convolution, in order.

    Returns:
        A :class:`KerasModelFeatureExtractor` reading the ``"features"`` layer,
        with the ``"logits"`` layer as its classifier head.
    """
    keras.utils.set_random_seed(seed)
    inputs = keras.Input((28, 28, 1))
    x = inputs
    for filters in conv_filters:
        x = keras.layers.Conv2D(filters, 3, strides=2, activation="relu")(x)
    x = keras.layers.GlobalAveragePooling2D()(x)
    features = keras.layers.Dense(16, activation="relu", name="features")(x)
    logits = keras.layers.Dense(10, name="logits")(features)
    return KerasModelFeatureExtractor(keras.Model(inputs, logits, name="random_cnn"), layer="features",
                                      head="logits")
