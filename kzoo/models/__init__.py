"""All kzoo models, by family. Importing this package registers every model."""

from kzoo.models import autoregressive, latent

__all__ = ["autoregressive", "latent"]
