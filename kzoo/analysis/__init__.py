"""Analysis tools: interpolation and latent arithmetic."""

from kzoo.analysis.interpolation import interpolate, lerp, slerp

__all__ = ["interpolate", "lerp", "slerp"]
