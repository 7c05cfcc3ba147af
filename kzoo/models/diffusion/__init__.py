"""Diffusion models: DDPM with DDPM/DDIM schedulers and a U-Net denoiser."""

from kzoo.models.diffusion.ddpm import DDPM
from kzoo.models.diffusion.schedulers import DDIMScheduler, DDPMScheduler, Scheduler, get_scheduler, \
    scheduler_from_config
from kzoo.models.diffusion.unet import UNet

__all__ = ["DDIMScheduler", "DDPM", "DDPMScheduler", "Scheduler", "UNet", "get_scheduler", "scheduler_from_config"]
