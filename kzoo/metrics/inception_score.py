"""Inception Score (IS) from classifier probabilities.

``IS = exp(E_x KL(p(y|x) || p(y)))`` where ``p(y|x)`` are a classifier's
predicted class probabilities for generated samples and ``p(y)`` is their
mean over the samples. It is computed on ``splits`` disjoint chunks and the
mean and standard deviation over chunks are reported. It ranges from 1 (every
sample gets the same prediction) to the number of classes (confident,
class-balanced predictions).

References:
    Salimans, Goodfellow, Zaremba, Cheung, Radford and Chen, "Improved
    Techniques for Training GANs", NeurIPS 2016.
"""

import numpy as np

from kzoo.core.validation import check_finite, check_positive_int

#: Largest accepted ``|sum(p(y|x)) - 1|`` of a row (float16 softmax outputs fit).
ROW_SUM_TOLERANCE = 1e-3


def _xlogy(x, y):
    """``x * log(y)`` with the convention ``0 * log(anything) = 0``."""
    out = np.zeros(np.broadcast(x, y).shape)
    x, y = np.broadcast_arrays(x, y)
    positive = x > 0
    out[positive] = x[positive] * np.log(y[positive])
    return out


def inception_score(probabilities, *, splits=10):
    """Inception Score of a set of predicted class distributions.

    Each split ``S`` scores ``exp(mean_{x in S} KL(p(y|x) || p_S(y)))`` with
    ``p_S(y)`` the mean prediction over ``S``; splits are contiguous chunks of
    near-equal size (``numpy.array_split``). Zero probabilities contribute
    nothing (``0 log 0 = 0``). Rows are renormalized to sum to exactly 1 after
    the check below.

    Args:
        probabilities: array-like of shape ``(n, num_classes)``: one
            probability vector (softmax output, not logits) per sample.
        splits: number of chunks.

    Returns:
        ``(mean, std)`` of the per-split scores as floats (population standard
        deviation; 0 when ``splits == 1``).

    Raises:
        ValueError: the array is not 2-D, holds NaN / infinite / negative
            values, has rows whose sum differs from 1 by more than
            ``ROW_SUM_TOLERANCE`` (their count is reported; logits passed by
            mistake end here), or ``splits`` is not in ``[1, n]``.
    """
    probs = np.asarray(probabilities, dtype=np.float64)
    if probs.ndim != 2:
        raise ValueError(
            f"probabilities must have shape (num_samples, num_classes); received shape {probs.shape}"
        )
    n = probs.shape[0]
    if n == 0 or probs.shape[1] == 0:
        raise ValueError(f"probabilities is empty (shape {probs.shape}); expected samples and classes")
    check_finite(probs, "probabilities")
    num_negative = int((probs < 0).sum())
    if num_negative:
        raise ValueError(
            f"probabilities hold {num_negative} negative values; expected softmax outputs, not logits"
        )
    row_sums = probs.sum(axis=1)
    bad_rows = int((np.abs(row_sums - 1.0) > ROW_SUM_TOLERANCE).sum())
    if bad_rows:
        raise ValueError(
            f"{bad_rows} of {n} rows of probabilities do not sum to 1 (tolerance "
            f"{ROW_SUM_TOLERANCE}); expected softmax outputs, not logits"
        )
    splits = check_positive_int(splits, "splits")
    if splits > n:
        raise ValueError(f"splits={splits} exceeds the number of samples {n}; expected splits <= {n}")
    probs = probs / row_sums[:, None]

    scores = np.empty(splits)
    for i, chunk in enumerate(np.array_split(probs, splits, axis=0)):
        marginal = chunk.mean(axis=0, keepdims=True)
        kl = (_xlogy(chunk, chunk) - _xlogy(chunk, marginal)).sum(axis=1)
        scores[i] = np.exp(kl.mean())
    return float(scores.mean()), float(scores.std())
