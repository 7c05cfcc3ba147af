"""Reusable Keras 3 layers shared by kzoo models."""

from kzoo.layers.masked_conv import MaskedConv2D, causal_mask, tap_gather_indices
from kzoo.layers.masked_dense import MaskedDense, connectivity_mask

__all__ = ["MaskedConv2D", "MaskedDense", "causal_mask", "connectivity_mask", "tap_gather_indices"]
