"""All kzoo models, by family. Importing this package registers every model."""

from kzoo.models import latent

__all__ = ["latent"]
