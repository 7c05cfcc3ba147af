"""The model contract and the machinery every family shares.

* :class:`GenerativeModel` and the family bases :class:`ExplicitModel`,
  :class:`LatentModel`, :class:`AdversarialModel`, :class:`DiffusionModel`.
* :func:`register` (decorator) and :func:`get_model_class` (registry).
* :mod:`kzoo.core.presets` to save/load pretrained entries;
  :mod:`kzoo.core.catalog` finds them without importing TensorFlow.
* :mod:`kzoo.core.precision` and :mod:`kzoo.core.distribute` helpers.

Names are imported on first use so that ``kzoo.core.catalog`` stays cheap.
"""

import importlib

_EXPORTS = {
    "GenerativeModel": "kzoo.core.base",
    "ExplicitModel": "kzoo.core.base",
    "LatentModel": "kzoo.core.base",
    "AdversarialModel": "kzoo.core.adversarial",
    "DiffusionModel": "kzoo.core.diffusion",
    "register": "kzoo.core.registry",
    "get_model_class": "kzoo.core.registry",
    "model_names": "kzoo.core.registry",
}


def __getattr__(name):
    if name in _EXPORTS:
        return getattr(importlib.import_module(_EXPORTS[name]), name)
    raise AttributeError(f"module 'kzoo.core' has no attribute {name!r}")


__all__ = sorted(_EXPORTS)
