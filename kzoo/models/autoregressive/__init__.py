"""Autoregressive models: exact likelihoods through the chain rule."""

__all__ = []
