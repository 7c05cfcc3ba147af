"""Configs written before an argument was renamed still load (``GenerativeModel.upgrade_config``)."""

import pytest

from kzoo.core.registry import model_classes
from kzoo.models.diffusion import DDPM
from kzoo.models.flows import Glow, RealNVP
from kzoo.models.gan import DCGAN, GAN, WGANGP

CASES = [
    (Glow, dict(data_shape=(4, 4, 1), num_scales=1, steps_per_level=1, hidden_units=4),
     {"num_scales": "num_levels", "hidden_units": "hidden"}),
    (RealNVP, dict(data_shape=(2,), num_couplings=2, hidden_units=4), {"hidden_units": "hidden"}),
    (DDPM, dict(data_shape=(8, 8, 1), base_filters=8, num_train_timesteps=10, prediction_type="v",
                clip_sample=False),
     {"num_train_timesteps": "num_timesteps", "prediction_type": "prediction", "clip_sample": "clip_denoised"}),
    (GAN, dict(latent_dim=4, hidden_units=(8,), adversarial_loss="minimax"), {"adversarial_loss": "loss"}),
    (DCGAN, dict(latent_dim=4, filters=(8, 4), adversarial_loss="minimax"), {"adversarial_loss": "loss"}),
    (WGANGP, dict(latent_dim=4, filters=(8, 4), d_steps=3), {"d_steps": "n_critic"}),
]


@pytest.mark.parametrize("cls, kwargs, old_names", CASES, ids=[c[0].__name__ for c in CASES])
def test_old_argument_names_give_the_same_model(cls, kwargs, old_names):
    config = cls(**kwargs).get_config()
    old = {old_names.get(key, key): value for key, value in config.items()}
    assert set(old) != set(config)
    assert cls.from_config(old).get_config() == config


def test_an_old_and_a_new_name_together_are_refused():
    config = GAN(latent_dim=4, hidden_units=(8,)).get_config()
    config["loss"] = "minimax"
    with pytest.raises(ValueError, match="both 'loss' and its new name 'adversarial_loss'"):
        GAN.from_config(config)


def test_every_rename_points_at_a_current_argument():
    import inspect

    for name, cls in model_classes().items():
        bases = [klass for klass in cls.__mro__ if "__init__" in vars(klass)]
        current = set().union(*(inspect.signature(klass.__init__).parameters for klass in bases))
        for old, new in cls.renamed_argument_map().items():
            assert new in current and old not in current, f"{name}: {old!r} -> {new!r}"
