"""Sample-quality and likelihood metrics for generative models.

The mathematics here needs numpy only; feature extraction (e.g. Inception-v3
pool features or class probabilities) happens elsewhere and hands plain
arrays to these functions.

* :mod:`~kzoo.metrics.likelihood`: nats, bits and bits/dim (with the
  dequantization correction).
* :mod:`~kzoo.metrics.fid`: Frechet distance and streaming feature statistics
  (Heusel et al. 2017).
* :mod:`~kzoo.metrics.kid`: Kernel Inception Distance (Binkowski et al. 2018).
* :mod:`~kzoo.metrics.inception_score`: Inception Score (Salimans et al. 2016).
* :mod:`~kzoo.metrics.precision_recall`: k-NN precision and recall
  (Kynkaanniemi et al. 2019).

Built on them (these import TensorFlow on first use, not on
``import kzoo.metrics``):

* :mod:`~kzoo.metrics.features`: feature extractors (the shipped MNIST
  classifier, Inception-v3, any Keras model), :func:`get_feature_extractor`.
* :mod:`~kzoo.metrics.sample_quality`: ``sample_quality(model, real_images)``
  draws samples from a model and reports FID, KID, IS, precision and recall
  (import it from the submodule: the function shares the module's name).
* :mod:`~kzoo.metrics.compare`: ``compare(entries)`` measures several entries
  side by side (import it from the submodule); :func:`to_markdown`,
  :func:`save_sample_figure`.
* :mod:`~kzoo.metrics.mnist_classifier`: the classifier behind the default
  extractor.

Numbers from the MNIST classifier are comparable with each other only, never
with Inception-based FID/KID/IS.
"""

import importlib

from kzoo.metrics.fid import FeatureStatistics, fid_from_features, frechet_distance
from kzoo.metrics.inception_score import inception_score
from kzoo.metrics.kid import kernel_inception_distance, mmd2_unbiased, polynomial_kernel
from kzoo.metrics.likelihood import bits_per_dim, nats_to_bits, summarize_nll
from kzoo.metrics.precision_recall import precision_recall

_LAZY = {
    "FeatureExtractor": "features",
    "InceptionV3FeatureExtractor": "features",
    "KerasModelFeatureExtractor": "features",
    "MnistFeatureExtractor": "features",
    "WeightsNotAvailableError": "features",
    "get_feature_extractor": "features",
    "ReferenceFeatures": "sample_quality",
    "reference_features": "sample_quality",
    "save_sample_figure": "compare",
    "to_markdown": "compare",
    "MnistClassifier": "mnist_classifier",
    "load_mnist_classifier": "mnist_classifier",
}


def __getattr__(name):
    module = _LAZY.get(name)
    if module is None:
        raise AttributeError(f"module 'kzoo.metrics' has no attribute {name!r}")
    return getattr(importlib.import_module(f"kzoo.metrics.{module}"), name)


__all__ = [
    *sorted(_LAZY),
    "FeatureStatistics",
    "bits_per_dim",
    "fid_from_features",
    "frechet_distance",
    "inception_score",
    "kernel_inception_distance",
    "mmd2_unbiased",
    "nats_to_bits",
    "polynomial_kernel",
    "precision_recall",
    "summarize_nll",
]
