"""Latent-variable models: autoencoders and variational autoencoders."""

from kzoo.core.registry import export_family

__all__ = export_family(__name__, globals())
