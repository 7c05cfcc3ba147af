"""Sample-quality and likelihood metrics: arrays in, numbers out.

Everything here needs numpy (and scipy) only: feature extraction and
sampling from models happen in :mod:`kzoo.evaluation`, which hands plain
arrays to these functions.

* :mod:`~kzoo.metrics.likelihood`: nats, bits and bits/dim (with the
  dequantization correction).
* :mod:`~kzoo.metrics.fid`: Frechet distance and streaming feature statistics
  (Heusel et al. 2017).
* :mod:`~kzoo.metrics.kid`: Kernel Inception Distance (Binkowski et al. 2018).
* :mod:`~kzoo.metrics.inception_score`: Inception Score (Salimans et al. 2016).
* :mod:`~kzoo.metrics.precision_recall`: k-NN precision and recall
  (Kynkaanniemi et al. 2019).
* :mod:`~kzoo.metrics.clustering`: clustering accuracy under the best
  cluster-to-class map (InfoGAN's categorical code against digit classes).
"""

from kzoo.metrics.clustering import clustering_accuracy
from kzoo.metrics.fid import FeatureStatistics, fid_from_features, frechet_distance
from kzoo.metrics.inception_score import inception_score
from kzoo.metrics.kid import kernel_inception_distance, mmd2_unbiased, polynomial_kernel
from kzoo.metrics.likelihood import bits_per_dim, nats_to_bits, summarize_nll
from kzoo.metrics.precision_recall import precision_recall

__all__ = [
    "FeatureStatistics",
    "bits_per_dim",
    "clustering_accuracy",
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
