"""All kzoo models, by family. Importing this package registers every model."""

from kzoo.models import autoregressive, flows, latent, diffusion
from kzoo.models import gan

__all__ = ["autoregressive", "flows", "latent", "diffusion", "gan"]
