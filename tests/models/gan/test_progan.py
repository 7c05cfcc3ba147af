"""Progressive GAN: the shared harness, the growth schedule, the fade-in blend and its saved phase."""

import numpy as np
import pytest
import tensorflow as tf

from kzoo.models.gan import ProGAN
from kzoo.models.gan.progan import level_coefficients
from test_case import GenerativeModelTestCase

SMALL = dict(latent_dim=8, filters=(8, 8, 4, 4), phase_images=8, ema_decay=0.9)


class TestProGAN(GenerativeModelTestCase):
    def make_model(self, **overrides):
        config = dict(SMALL)
        config.update(overrides)
        return ProGAN(**config)

    def make_batch(self, seed=0):
        return np.random.default_rng(seed).random((self.batch_size, 28, 28, 1)).astype(np.float32)


def test_the_schedule_fades_each_level_in_then_holds_it():
    model = ProGAN(**SMALL)
    seen = np.array([0, 7, 8, 12, 16, 20, 24, 28, 32, 40, 48, 56, 1000], np.float32)
    levels = np.asarray(model.level_at(tf.constant(seen)))
    # phases of 8 images: stable 0, fade 1, stable 1, fade 2, stable 2, fade 3, then level 3 for good
    np.testing.assert_allclose(levels, [0, 0, 0, 0.5, 1, 1, 1, 1.5, 2, 2, 3, 3, 3])
    assert [model.stage_end_images(k) for k in range(4)] == [8, 24, 40, None]


def test_level_coefficients_blend_two_neighbours_and_pass_everything_below():
    c, p = level_coefficients(tf.constant(1.25), 4)
    np.testing.assert_allclose(np.asarray(c), [0, 0.75, 0.25, 0])
    np.testing.assert_allclose(np.asarray(p), [1, 0.25, 0, 0])
    c, p = level_coefficients(tf.constant(3.0), 4)
    np.testing.assert_allclose(np.asarray(c), [0, 0, 0, 1])
    np.testing.assert_allclose(np.asarray(p), [1, 1, 1, 0])


def test_level_zero_images_are_4x4_blocks_and_the_fade_mixes_resolutions():
    model = ProGAN(**SMALL)
    model.build_for_data()
    blocks = model.generate(2, seed=0, level=0.0)
    assert blocks.shape == (2, 28, 28, 1) and 0.0 <= blocks.min() and blocks.max() <= 1.0
    # 32x32 canvas in 8x8 blocks, cropped by 2: rows 0-5 form the first block.
    assert np.ptp(blocks[:, 0:6, 0:6]) < 1e-6 or np.allclose(blocks[0, 0:6, 0:6], blocks[0, 0, 0])
    full = model.generate(2, seed=0, level=3.0)
    assert not np.allclose(full, blocks)
    grid = model.growth_grid(n=3, seed=1)
    assert grid.shape == (4, 3, 28, 28, 1)
    np.testing.assert_allclose(grid[3], model.generate(3, seed=1, level=3.0), atol=1e-6)
    # The real images the critic sees at level 0 are 4x4 averages of the padded canvas.
    canvas = tf.random.uniform((4, 32, 32, 1))
    low = np.asarray(model.at_level(canvas, tf.constant(0.0)))
    np.testing.assert_allclose(low[:, :8, :8].std(axis=(1, 2)), 0.0, atol=1e-6)
    np.testing.assert_allclose(low[0, 0, 0, 0], np.asarray(canvas)[0, :8, :8, 0].mean(), rtol=1e-5)
    # ... and the reference images of a stage's FID are the data-space crops of the same.
    digits = np.random.default_rng(2).random((3, 28, 28, 1)).astype(np.float32)
    np.testing.assert_allclose(model.images_at_level(digits, 3), digits, atol=1e-6)
    coarse = model.images_at_level(digits, 0, batch_size=2)
    assert coarse.shape == digits.shape and np.ptp(coarse[:, 6:14, 6:14]) > 0
    np.testing.assert_allclose(coarse[:, 6:14, 6:14].std(axis=(1, 2)), 0.0, atol=1e-6)  # one 8x8 block


def test_training_advances_the_counter_and_a_saved_model_keeps_its_phase(tmp_path):
    from kzoo.core.presets import load_preset, save_preset
    from kzoo.training import compile_for_training

    model = ProGAN(**SMALL)
    compile_for_training(model, 1e-3)
    model.build_for_data()
    x = np.random.default_rng(0).random((16, 28, 28, 1)).astype(np.float32)
    history = model.fit(x, batch_size=4, epochs=2, verbose=0, shuffle=False)
    assert float(model.images_seen) == 32.0
    # the level of each step is set before it: after 28 images the last step ran at level_at(28) = 1.5
    assert float(model.level) == pytest.approx(1.5) and history.history["level"][-1] > 0.5
    restored = load_preset(save_preset(model, tmp_path / "progan"))
    assert float(restored.images_seen) == 32.0 and float(restored.level) == pytest.approx(1.5)
    np.testing.assert_allclose(restored.generate(2, seed=3), model.generate(2, seed=3), atol=1e-6)


def test_bad_configurations_are_refused():
    with pytest.raises(ValueError, match="larger than the final resolution 16"):
        ProGAN(filters=(8, 8, 8))
    with pytest.raises(ValueError, match="image data_shape"):
        ProGAN(data_shape=(2,))
    with pytest.raises(ValueError, match="phase_images"):
        ProGAN(phase_images=0)
    with pytest.raises(ValueError, match="no augmentation"):
        ProGAN(augment="translation")


def test_kzoo_train_scores_each_stage_and_kzoo_sample_draws_the_growth_grid(tmp_path):
    import json

    from PIL import Image

    from kzoo.cli import main

    out = tmp_path / "run"
    # One epoch of 4,500 images, phases of 1,000: the 4x4 and 8x8 stages end in it, 16x16 holds at the end.
    assert main(["train", "progan", "--data", "mnist5k", "--epochs", "1", "--batch-size", "64", "--out", str(out),
                 "--set", "filters=[8,8,4,4]", "--set", "latent_dim=8", "--set", "phase_images=1000"]) == 0
    card = json.loads((out / "preset" / "card.json").read_text())
    fids = {k: v for k, v in card["metrics"].items() if k.startswith("validation_fid_")}
    assert sorted(fids) == ["validation_fid_16x16", "validation_fid_4x4", "validation_fid_8x8"]
    assert all(value > 0 for value in fids.values())
    grid = tmp_path / "growth.png"
    assert main(["sample", str(out / "preset"), "-n", "3", "-o", str(grid), "--growth", "--scale", "1"]) == 0
    assert Image.open(grid).size[0] < Image.open(grid).size[1] * 2  # 4 rows of 3
    assert main(["sample", str(out / "preset"), "-n", "3", "--out-dir", str(tmp_path / "dir"), "--growth"]) == 2
    assert not (tmp_path / "dir").exists()
    assert main(["sample", "vae-mnist", "-n", "2", "-o", str(tmp_path / "vae.png"), "--growth"]) == 2
    assert not (tmp_path / "vae.png").exists()
