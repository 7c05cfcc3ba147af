"""Generative adversarial networks (bases :class:`AdversarialModel`, :class:`GANModel`).

GAN, DCGAN, conditional GAN, InfoGAN and WGAN-GP.
"""

from kzoo.core.registry import export_family

__all__ = export_family(__name__, globals())
