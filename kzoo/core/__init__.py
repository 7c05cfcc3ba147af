"""The model contract and the machinery every family shares.

* :class:`GenerativeModel` and the family bases :class:`ExplicitModel`,
  :class:`LatentModel`, :class:`AdversarialModel`.
* :func:`register` (decorator) and :func:`get_model_class` (registry).
* :mod:`kzoo.core.presets` to save/load pretrained entries.
* :mod:`kzoo.core.precision` and :mod:`kzoo.core.distribute` helpers.
"""

from kzoo.core.registry import get_model_class, model_names, register
from kzoo.core.base import ExplicitModel, GenerativeModel, LatentModel
from kzoo.core.adversarial import AdversarialModel

__all__ = [
    "AdversarialModel",
    "ExplicitModel",
    "GenerativeModel",
    "LatentModel",
    "get_model_class",
    "model_names",
    "register",
]
