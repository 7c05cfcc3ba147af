"""Autoregressive models: exact likelihoods through the chain rule.

* Models of the flattened pixel vector: :class:`IndependentBernoulli`,
  :class:`FVSBN`, :class:`MarkovAR` (AR(k)), :class:`NADE`, :class:`MADE`.
* Image models with masked convolutions or recurrences: :class:`PixelCNN`,
  :class:`GatedPixelCNN`, :class:`PixelRNN`.
"""

from kzoo.models.autoregressive.fvsbn import FVSBN
from kzoo.models.autoregressive.gated_pixelcnn import GatedPixelCNN
from kzoo.models.autoregressive.independent import IndependentBernoulli
from kzoo.models.autoregressive.made import MADE
from kzoo.models.autoregressive.markov import MarkovAR, chain_rule_parameter_count
from kzoo.models.autoregressive.nade import NADE
from kzoo.models.autoregressive.pixelcnn import PixelCNN, PixelModel
from kzoo.models.autoregressive.pixelrnn import PixelRNN

__all__ = [
    "FVSBN",
    "GatedPixelCNN",
    "IndependentBernoulli",
    "MADE",
    "MarkovAR",
    "NADE",
    "PixelCNN",
    "PixelModel",
    "PixelRNN",
    "chain_rule_parameter_count",
]
