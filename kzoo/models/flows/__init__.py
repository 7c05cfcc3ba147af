"""Normalizing flows (base :class:`FlowModel`): RealNVP (and neural spline couplings), Glow, MAF and IAF."""

from kzoo.core.registry import export_family

__all__ = export_family(__name__, globals())
