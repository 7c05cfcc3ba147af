"""Clustering accuracy: how well unsupervised clusters match known classes (arrays in, numbers out)."""

import numpy as np


def clustering_accuracy(labels, clusters, num_clusters=None):
    """Accuracy of a clustering under the best one-to-one cluster-to-class map.

    The map is found by the Hungarian algorithm
    (``scipy.optimize.linear_sum_assignment``) on the contingency table, as
    in the unsupervised-classification evaluations of InfoGAN and
    clustering papers.

    Args:
        labels: int array ``(N,)`` of true classes.
        clusters: int array ``(N,)`` of cluster indices.
        num_clusters: number of clusters (default: inferred).

    Returns:
        ``(accuracy, mapping)``: a float in [0, 1] and a dict cluster ->
        class.

    Raises:
        ValueError: the arrays differ in length, are empty or hold negative
            values.
    """
    from scipy.optimize import linear_sum_assignment

    labels = np.asarray(labels).astype(np.int64).ravel()
    clusters = np.asarray(clusters).astype(np.int64).ravel()
    if labels.shape != clusters.shape or labels.size == 0:
        raise ValueError(f"labels and clusters must be non-empty and of equal length, got {labels.shape} "
                         f"and {clusters.shape}.")
    if labels.min() < 0 or clusters.min() < 0:
        raise ValueError("labels and clusters must be non-negative integers.")
    size = max(labels.max() + 1, clusters.max() + 1, num_clusters or 0)
    table = np.zeros((size, size), np.int64)
    np.add.at(table, (clusters, labels), 1)
    rows, cols = linear_sum_assignment(-table)
    accuracy = float(table[rows, cols].sum()) / labels.size
    return accuracy, {int(r): int(c) for r, c in zip(rows, cols)}
