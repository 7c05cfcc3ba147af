"""Models in, numbers out: feature extractors, sample quality, evaluation and comparison.

* :mod:`~kzoo.evaluation.features`: feature extractors (the shipped MNIST
  classifier, any Keras model), :func:`get_feature_extractor`;
  :mod:`~kzoo.evaluation.inception`: the Inception-v3 extractor.
* :mod:`~kzoo.evaluation.sample_quality`: ``sample_quality(model, real_images)``
  draws samples from a model and reports FID, KID, IS, precision and recall
  (import it from the submodule: the function shares the module's name).
* :mod:`~kzoo.evaluation.evaluate`: ``evaluate(model, data)``, the held-out
  NLL in nats and bits/dim (``kzoo eval``);
  :mod:`~kzoo.evaluation.reconstruction`: ``reconstruction_error(model, x)``
  for models with an encoder.
* :mod:`~kzoo.evaluation.compare`: ``compare(entries)`` measures several
  entries side by side (``kzoo compare``); :func:`to_markdown`,
  :func:`save_sample_figure`.

The metric mathematics is in :mod:`kzoo.metrics` (arrays only). Numbers from
the MNIST classifier are comparable with each other only, never with
Inception-based FID/KID/IS. Names are imported on first use, so that
``import kzoo.evaluation`` does not start TensorFlow.
"""

import importlib

_EXPORTS = {
    "FeatureExtractor": "features",
    "KerasModelFeatureExtractor": "features",
    "MnistFeatureExtractor": "features",
    "get_feature_extractor": "features",
    "InceptionV3FeatureExtractor": "inception",
    "WeightsNotAvailableError": "inception",
    "ReferenceFeatures": "sample_quality",
    "reference_features": "sample_quality",
    "evaluate": "evaluate",
    "reconstruction_error": "reconstruction",
    "save_sample_figure": "compare",
    "to_markdown": "compare",
}


def __getattr__(name):
    module = _EXPORTS.get(name)
    if module is None:
        raise AttributeError(f"module 'kzoo.evaluation' has no attribute {name!r}")
    return getattr(importlib.import_module(f"kzoo.evaluation.{module}"), name)


__all__ = sorted(_EXPORTS)
