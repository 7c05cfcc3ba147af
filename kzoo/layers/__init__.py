"""Reusable Keras 3 layers shared by kzoo models."""

from kzoo.layers.actnorm import ActNorm
from kzoo.layers.autoregressive_affine import MaskedAutoregressiveAffine
from kzoo.layers.coupling import Coupling, checkerboard
from kzoo.layers.diff_augment import DiffAugment
from kzoo.layers.flow_layer import Flatten, FlowLayer, Squeeze
from kzoo.layers.gan_layers import (EqualizedConv2D, EqualizedDense, MinibatchStdDev, PixelNorm, SpectralConv2D,
                                   SpectralDense)
from kzoo.layers.image_pool import ImagePool
from kzoo.layers.invertible_conv import InvertibleConv1x1
from kzoo.layers.masked_conv import MaskedConv2D, causal_mask, tap_gather_indices
from kzoo.layers.masked_dense import MaskedDense, connectivity_mask

__all__ = ["ActNorm", "Coupling", "DiffAugment", "EqualizedConv2D", "EqualizedDense", "Flatten", "FlowLayer",
           "ImagePool", "InvertibleConv1x1", "MaskedAutoregressiveAffine", "MaskedConv2D", "MaskedDense",
           "MinibatchStdDev", "PixelNorm", "SpectralConv2D", "SpectralDense", "Squeeze", "causal_mask", "checkerboard",
           "connectivity_mask", "tap_gather_indices"]
