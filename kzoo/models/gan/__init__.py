"""Generative adversarial networks (bases :class:`AdversarialModel`, :class:`GANModel`).

GAN, DCGAN, conditional GAN, InfoGAN, WGAN-GP, and the image-to-image models on
:class:`TranslationModel`: CycleGAN (two domains) and StarGAN (many domains, one generator).
"""

from kzoo.core.registry import export_family

__all__ = export_family(__name__, globals())
