"""One evaluation entry point for every family: ``kzoo eval`` calls it.

For explicit models it reports the negative log-likelihood in nats and in
bits per dimension on a held-out split; latent models with a stochastic bound (VAEs) report both the
negative ELBO and the importance-weighted bound (an upper bound on the NLL
that tightens with ``k``).
"""

import time

import numpy as np
import keras

from kzoo import data as kdata
from kzoo.core.validation import check_positive_int
from kzoo.metrics.likelihood import summarize_nll


def default_split(info):
    """The held-out split to evaluate: test if the dataset has one, else validation."""
    for split in ("test", "validation"):
        if split in info.splits:
            return split
    raise ValueError(f"Dataset {info.name!r} has no held-out split (it has {', '.join(info.splits)}).")


def _batched_nll(model, x, labels, batch_size, seed, verbose, **kwargs):
    progress = keras.utils.Progbar(len(x), unit_name="example") if verbose else None
    out = []
    for index, start in enumerate(range(0, len(x), batch_size)):
        batch = x[start : start + batch_size]
        if labels is not None:
            kwargs["labels"] = labels[start : start + batch_size]
        out.append(-model.log_prob(batch, batch_size=batch_size, seed=seed + index, **kwargs))
        if progress is not None:
            progress.add(len(batch))
    return np.concatenate(out)


def evaluate(model, data, split=None, *, data_dir=None, k=100, limit=None, batch_size=100, seed=0, verbose=True,
             load_options=None):
    """Measures a model on a held-out split.

    Args:
        model: a kzoo model; a class-conditional one is evaluated on the
            split's own labels, ``log p(x | y)``.
        data: dataset name (or image folder).
        split: split name; default :func:`default_split`.
        data_dir: folder of dataset files for file-based datasets.
        k: importance samples for latent models' ``log_prob``.
        limit: evaluate only the first ``limit`` examples.
        batch_size: examples per batch.
        seed: seed of stochastic likelihood estimates (the importance samples
            of latent models); batch ``i`` uses ``seed + i``.
        verbose: show a progress bar.
        load_options: more :func:`kzoo.data.load_numpy` options (e.g. an
            image folder's ``validation_split``).

    Returns:
        A dict with ``dataset``, ``split``, ``n_examples`` and, for models
        with ``log_prob``, ``nll_nats``, ``nll_nats_sem``, ``bits_per_dim``,
        ``nll_estimator`` (latent models add ``neg_elbo_nats`` and
        ``neg_elbo_bits_per_dim``), and ``seconds``.

    Raises:
        ValueError: unknown dataset/split, a dataset whose shape differs from
            the model's, or a model with nothing to evaluate.
    """
    from kzoo.core.base import ExplicitModel, LatentModel

    batch_size = check_positive_int(batch_size, "batch_size")
    info = kdata.info(data)
    split = split or default_split(info)
    conditional = getattr(model, "is_conditional", False)
    loaded = kdata.load_numpy(data, split=split, data_dir=data_dir, labels=conditional, **model.data_options(split),
                              **(load_options or {}))
    x, labels = loaded if conditional else (loaded, None)
    if limit is not None:
        x = x[: check_positive_int(limit, "limit")]
        labels = None if labels is None else labels[: len(x)]
    if tuple(x.shape[1:]) != tuple(model.data_shape):
        raise ValueError(f"Dataset {data!r} has examples of shape {tuple(x.shape[1:])}, but the model expects "
                         f"{tuple(model.data_shape)}.")
    if not isinstance(model, ExplicitModel):
        raise ValueError(f"{type(model).__name__} has no likelihood to evaluate yet.")
    num_bins = (info.num_levels or 256) if model.data_options(split).get("dequantize") else None
    result = {"dataset": str(data), "split": split, "n_examples": int(len(x))}
    start = time.perf_counter()
    if isinstance(model, LatentModel) and model.stochastic_log_prob:  # VAEs; flows are exact
        k = check_positive_int(k, "k")
        neg_elbo = _batched_nll(model, x, labels, batch_size, seed, verbose, k=1)
        elbo_summary = summarize_nll(neg_elbo, model.num_dims, num_bins=num_bins)
        result["neg_elbo_nats"] = float(elbo_summary["nll_nats"])
        result["neg_elbo_bits_per_dim"] = float(elbo_summary["bits_per_dim"])
        nll = _batched_nll(model, x, labels, batch_size, seed, verbose, k=k)
        result["nll_estimator"] = f"importance-weighted bound, k={k}"
        result["iwae_k"] = k
    else:
        nll = _batched_nll(model, x, labels, batch_size, seed, verbose)
        result["nll_estimator"] = getattr(model, "nll_estimator", "exact")
    summary = summarize_nll(nll, model.num_dims, num_bins=num_bins)
    result["nll_nats"] = float(summary["nll_nats"])
    result["nll_nats_sem"] = float(summary["nll_nats_sem"])
    result["bits_per_dim"] = float(summary["bits_per_dim"])
    result["seconds"] = round(time.perf_counter() - start, 1)
    return result
