"""Autoregressive models: exact likelihoods through the chain rule."""

__all__ = []

# PixelCNN family (masked convolutions and recurrent image models).
from kzoo.models.autoregressive.pixelcnn import PixelCNN, PixelModel  # noqa: E402
from kzoo.models.autoregressive.gated_pixelcnn import GatedPixelCNN  # noqa: E402
from kzoo.models.autoregressive.pixelrnn import PixelRNN  # noqa: E402

__all__ += ["GatedPixelCNN", "PixelCNN", "PixelModel", "PixelRNN"]

# Fully visible baselines, NADE and MADE (models of the flattened pixel vector).
from kzoo.models.autoregressive.independent import IndependentBernoulli  # noqa: E402
from kzoo.models.autoregressive.fvsbn import FVSBN  # noqa: E402
from kzoo.models.autoregressive.markov import MarkovAR, chain_rule_parameter_count  # noqa: E402
from kzoo.models.autoregressive.nade import NADE  # noqa: E402
from kzoo.models.autoregressive.made import MADE  # noqa: E402

__all__ += ["IndependentBernoulli", "FVSBN", "MarkovAR", "chain_rule_parameter_count", "NADE", "MADE"]
