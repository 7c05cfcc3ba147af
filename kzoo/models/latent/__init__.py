"""Latent-variable models: autoencoders and variational autoencoders."""

from kzoo.models.latent.vae import VAE

__all__ = ["VAE"]
