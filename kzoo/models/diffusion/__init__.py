"""Diffusion models: the base (:class:`DiffusionModel`), DDPM/DDIM schedulers, the U-Net and :class:`DDPM`."""

from kzoo.core.registry import export_family

__all__ = export_family(__name__, globals())
