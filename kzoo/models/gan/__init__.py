"""Generative adversarial networks: GAN, DCGAN, conditional GAN, InfoGAN, WGAN-GP."""

from kzoo.models.gan.gan import GAN, GANModel, clustering_accuracy
from kzoo.models.gan.dcgan import DCGAN
from kzoo.models.gan.cgan import ConditionalGAN
from kzoo.models.gan.infogan import InfoGAN
from kzoo.models.gan.wgan_gp import WGANGP

__all__ = ["ConditionalGAN", "DCGAN", "GAN", "GANModel", "InfoGAN", "WGANGP", "clustering_accuracy"]
