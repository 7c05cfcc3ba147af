"""Reconstruction error of models with an encoder: how much of an image survives its code.

Every :class:`~kzoo.core.base.LatentCodes` model (autoencoders, VAEs, AAEs,
WAEs, flows) maps an image to a code and back; the error of
``decode(encode(x))`` against ``x`` is the compression half of the story an
encoder-decoder tells (the other half, sampling, is FID's job). Two numbers
per image, averaged over the split:

* ``reconstruction_bce_nats``: the Bernoulli cross-entropy of the image under
  the reconstructed pixel probabilities, summed over pixels (the unit of a
  VAE's reconstruction term; probabilities are clipped to [1e-6, 1 - 1e-6]);
* ``reconstruction_mse``: the mean squared pixel error.

Codes are deterministic (posterior means for VAEs), so the numbers are
reproducible.
"""

import numpy as np

from kzoo.core.validation import check_data_batch, check_positive_int

__all__ = ["reconstruction_error"]

CLIP = 1e-6


def reconstruction_error(model, x, labels=None, batch_size=256):
    """Mean reconstruction error of ``decode(encode(x))``.

    Args:
        model: a model with ``encode`` and ``decode`` (a
            :class:`~kzoo.core.base.LatentCodes` subclass).
        x: images ``(N,) + data_shape`` in [0, 1] as the model sees them
            (binarized for Bernoulli models).
        labels: int labels ``(N,)`` for a class-conditional model.
        batch_size: images per encoder/decoder call.

    Returns:
        dict with ``reconstruction_bce_nats``, ``reconstruction_bce_nats_sem``,
        ``reconstruction_mse`` and ``reconstruction_n_examples``.

    Raises:
        ValueError: the model has no encoder, or bad images / labels.
    """
    from kzoo.core.base import LatentCodes

    if not isinstance(model, LatentCodes):
        raise ValueError(f"{type(model).__name__} has no encoder, so no reconstruction error; expected a model "
                         "with encode() and decode() (autoencoders, VAEs, flows).")
    x = check_data_batch(x, model.data_shape, what="x", value_range=model.data_range)
    batch_size = check_positive_int(batch_size, "batch_size")
    codes = model.encode(x, labels=labels, batch_size=batch_size)
    recon = np.clip(model.decode(codes, labels=labels, batch_size=batch_size).astype(np.float64), CLIP, 1 - CLIP)
    axes = tuple(range(1, x.ndim))
    bce = -np.sum(x * np.log(recon) + (1 - x) * np.log1p(-recon), axis=axes)
    mse = np.mean((recon - x) ** 2, axis=axes)
    return {"reconstruction_bce_nats": float(bce.mean()),
            "reconstruction_bce_nats_sem": float(bce.std(ddof=1) / np.sqrt(len(bce))) if len(bce) > 1 else 0.0,
            "reconstruction_mse": float(mse.mean()),
            "reconstruction_n_examples": int(len(x))}
