"""Keras callbacks for generative models.

* :class:`SampleGrid`: sample grids to TensorBoard / PNG.
* :class:`SampleQualityCallback` and its one-metric forms :class:`FIDCallback`,
  :class:`KIDCallback`, :class:`InceptionScoreCallback`,
  :class:`PrecisionRecallCallback`: sample-quality metrics in the epoch logs;
  :class:`StageEndFID`: FID at the end of each resolution stage of a progressive GAN.
* :class:`FrechetDistance`: a streaming FID ``keras.metrics.Metric`` on
  features.
* :class:`EmbeddingProjector`: codes of fixed images for TensorBoard's
  Projector tab.
"""

from kzoo.callbacks.metric_callbacks import (
    FIDCallback,
    FrechetDistance,
    InceptionScoreCallback,
    KIDCallback,
    PrecisionRecallCallback,
    SampleQualityCallback,
    StageEndFID,
)
from kzoo.callbacks.projector import EmbeddingProjector
from kzoo.callbacks.sample_grid import SampleGrid

__all__ = [
    "EmbeddingProjector",
    "FIDCallback",
    "FrechetDistance",
    "InceptionScoreCallback",
    "KIDCallback",
    "PrecisionRecallCallback",
    "SampleGrid",
    "SampleQualityCallback",
    "StageEndFID",
]
