"""Likelihood reporting: nats, bits and bits per dimension.

Every explicit-density model in kzoo returns ``log_prob(x)`` in nats per
example. This module is the one place where those numbers become the figures
papers report, so that the dequantization correction is applied the same way
for every model.

Conventions (``D`` = number of dimensions, e.g. 784 for MNIST):

* Discrete models (binarized data with Bernoulli outputs, or 256-way
  categorical pixels as in PixelCNN) already give a probability mass
  ``P(k)``. Their NLL is used as is: ``bits/dim = NLL / (D ln 2)``.
* Continuous models (flows, Gaussian decoders) trained on dequantized 8-bit
  data ``x = (k + u) / 256`` with ``u ~ U[0, 1)^D`` give a density ``p(x)`` on
  ``[0, 1]^D``. Each pixel value ``k`` owns a bin of width ``1/256``, so
  ``log P(k) >= E_u[log p(x)] - D ln 256`` (Theis et al. 2016) and the
  discrete NLL is ``NLL + D ln 256``. Pass ``num_bins=256`` to add this term.
  If the density is over another scale (e.g. ``[-1, 1]`` or ``[0, 256)``),
  first add the log-Jacobian of that rescaling to ``log_prob`` so that the
  density is over ``[0, 1]^D``.

References:
    Theis, van den Oord and Bethge, "A note on the evaluation of generative
    models", ICLR 2016.
    Dinh, Sohl-Dickstein and Bengio, "Density estimation using Real NVP",
    ICLR 2017 (bits/dim on dequantized images).
"""

import math

import numpy as np

from kzoo.core.validation import check_number, check_positive_int

LN2 = math.log(2.0)


def _as_float_or_array(value):
    value = np.asarray(value, dtype=np.float64)
    return float(value) if value.ndim == 0 else value


def _check_num_bins(num_bins):
    if num_bins is None:
        return None
    return check_number(num_bins, "num_bins", integer=True, minimum=2,
                        description="None (no dequantization correction) or an integer >= 2 such as 256 for 8-bit "
                                    "data")


def nats_to_bits(n):
    """Converts nats to bits (divides by ``ln 2``).

    Args:
        n: a number or array of values in nats.

    Returns:
        A float for scalar input, otherwise a float64 numpy array.
    """
    return _as_float_or_array(np.asarray(n, dtype=np.float64) / LN2)


def bits_per_dim(nll_nats, num_dims, *, num_bins=None):
    """Converts a negative log-likelihood in nats to bits per dimension.

    ``bits/dim = (nll_nats + [num_dims * ln(num_bins)]) / (num_dims * ln 2)``

    The bracketed term is added only when ``num_bins`` is given. Use
    ``num_bins=256`` for a density over ``[0, 1]^D`` fitted to dequantized
    8-bit data ``x = (k + u) / 256``: since each of the ``num_bins`` values
    owns a bin of width ``1/num_bins``, the probability of the discrete data
    satisfies ``log P(k) >= log p(x) - D ln(num_bins)``, so the discrete NLL
    (an upper bound) is ``nll_nats + D ln(num_bins)``. Leave ``num_bins=None``
    for binary data or for models that already output discrete probabilities
    (e.g. a 256-way categorical per pixel).

    Args:
        nll_nats: per-example negative log-likelihood in nats (a number or an
            array).
        num_dims: the number of dimensions ``D`` of one example (e.g. 784 for
            28x28x1 images).
        num_bins: ``None`` for no correction, or the number of discrete levels
            per dimension of the dequantized data (256 for 8-bit images).

    Returns:
        Bits per dimension: a float for scalar input, otherwise a float64 numpy
        array of the same shape as ``nll_nats``.

    Raises:
        ValueError: ``num_dims`` is not a positive integer or ``num_bins`` is
            neither ``None`` nor an integer >= 2.
    """
    num_dims = check_positive_int(num_dims, "num_dims")
    num_bins = _check_num_bins(num_bins)
    nll = np.asarray(nll_nats, dtype=np.float64)
    if num_bins is not None:
        nll = nll + num_dims * math.log(num_bins)
    return _as_float_or_array(nll / (num_dims * LN2))


def summarize_nll(nll_per_example, num_dims, *, num_bins=None):
    """Summarizes per-example NLLs: mean, standard error and bits/dim.

    Args:
        nll_per_example: 1-D array-like of per-example negative
            log-likelihoods in nats (any shape is flattened).
        num_dims: the number of dimensions of one example.
        num_bins: see :func:`bits_per_dim`.

    Returns:
        A dict with ``nll_nats`` (the mean NLL in nats), ``nll_nats_sem`` (its
        standard error, ``std(ddof=1) / sqrt(n)``; NaN when ``n == 1``),
        ``bits_per_dim`` (of the mean NLL, with the ``num_bins`` correction)
        and ``n`` (the number of examples).

    Raises:
        ValueError: the array is empty or holds NaN values, or ``num_dims`` /
            ``num_bins`` is invalid.
    """
    nll = np.asarray(nll_per_example, dtype=np.float64).reshape(-1)
    if nll.size == 0:
        raise ValueError("nll_per_example is empty; expected at least one example")
    num_nan = int(np.isnan(nll).sum())
    if num_nan:
        raise ValueError(
            f"nll_per_example holds {num_nan} NaN values out of {nll.size}; "
            "expected numbers (a model diverged?)"
        )
    n = int(nll.size)
    mean = float(nll.mean())
    sem = float(nll.std(ddof=1) / math.sqrt(n)) if n > 1 else float("nan")
    return {
        "nll_nats": mean,
        "nll_nats_sem": sem,
        "bits_per_dim": bits_per_dim(mean, num_dims, num_bins=num_bins),
        "n": n,
    }
