"""The MNIST classifier behind the evaluation's default feature extractor (entry ``mnist-classifier``)."""

from kzoo.core.registry import export_family

__all__ = export_family(__name__, globals())
