"""Normalizing flows: RealNVP (and neural spline couplings), Glow, MAF and IAF."""

from kzoo.models.flows.base import FlowModel
from kzoo.models.flows.glow import Glow
from kzoo.models.flows.maf import IAF, MAF
from kzoo.models.flows.realnvp import RealNVP

__all__ = ["FlowModel", "Glow", "IAF", "MAF", "RealNVP"]
