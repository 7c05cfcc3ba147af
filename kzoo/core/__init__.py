"""The model contract and the plumbing every room of kzoo shares.

* :class:`GenerativeModel` and the contract's explicit/latent bases
  :class:`ExplicitModel`, :class:`LatentModel` (:mod:`kzoo.core.base`); the
  family bases live with their families (``kzoo.models.<family>.base``).
* :func:`register` (decorator), :func:`get_model_class`, :func:`model_names`
  and :func:`model_classes` (the registry finds models by discovery).
* :mod:`kzoo.core.presets` to save/load pretrained entries;
  :mod:`kzoo.core.catalog` finds them without importing TensorFlow.
* :mod:`kzoo.core.precision`, :mod:`kzoo.core.distribute`,
  :mod:`kzoo.core.validation`, :mod:`kzoo.core.ema`,
  :mod:`kzoo.core.interpolation` and :mod:`kzoo.core.imaging` helpers.

``kzoo.core`` imports nothing above it; names are imported on first use so
that ``kzoo.core.catalog`` stays cheap.
"""

import importlib

_EXPORTS = {
    "GenerativeModel": "kzoo.core.base",
    "ExplicitModel": "kzoo.core.base",
    "LatentModel": "kzoo.core.base",
    "register": "kzoo.core.registry",
    "get_model_class": "kzoo.core.registry",
    "model_classes": "kzoo.core.registry",
    "model_names": "kzoo.core.registry",
}


def __getattr__(name):
    if name in _EXPORTS:
        return getattr(importlib.import_module(_EXPORTS[name]), name)
    raise AttributeError(f"module 'kzoo.core' has no attribute {name!r}")


__all__ = sorted(_EXPORTS)
