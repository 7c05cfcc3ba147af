"""Keras callbacks for generative models."""

from kzoo.callbacks.sample_grid import SampleGrid

__all__ = ["SampleGrid"]
