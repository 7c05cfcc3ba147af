"""All kzoo models, one package per family: ``kzoo.models.<family>.base`` holds the family's base.

The registry (:mod:`kzoo.core.registry`) finds every model by walking these
packages; ``kzoo.models.gan`` and the other families are imported on first use.
"""

import importlib

FAMILIES = ("autoregressive", "classifier", "diffusion", "flows", "gan", "latent")


def __getattr__(name):
    if name in FAMILIES:
        return importlib.import_module(f"kzoo.models.{name}")
    raise AttributeError(f"module 'kzoo.models' has no attribute {name!r}")


__all__ = list(FAMILIES)
