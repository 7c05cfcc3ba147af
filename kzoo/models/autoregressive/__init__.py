"""Autoregressive models: exact likelihoods through the chain rule.

* Models of the flattened pixel vector (base :class:`VectorAutoregressiveModel`):
  :class:`IndependentBernoulli`, :class:`FVSBN`, :class:`MarkovAR` (AR(k)),
  :class:`NADE`, :class:`MADE`.
* Image models with masked convolutions or recurrences (base
  :class:`PixelModel`): :class:`PixelCNN`, :class:`GatedPixelCNN`,
  :class:`PixelRNN`.
"""

from kzoo.core.registry import export_family

__all__ = export_family(__name__, globals())
