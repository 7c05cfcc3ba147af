"""DDPM: the shared harness (unconditional and class-conditional with EMA) plus
sampler swapping, DDIM determinism, classifier-free guidance and the bound."""

import numpy as np
import pytest
import tensorflow as tf
import keras

from kzoo.models.diffusion.likelihood import discretized_gaussian_log_likelihood
from kzoo.models.diffusion import DDIMScheduler, DDPM, DDPMScheduler
from test_case import GenerativeModelTestCase, compile_model

SMALL = dict(data_shape=(8, 8, 1), base_filters=8, channel_multipliers=(1, 2), patch_size=2, num_train_timesteps=10,
             beta_end=0.5)


def images(n, seed=0, shape=(8, 8, 1)):
    """8-bit images in [0, 1]."""
    return np.round(np.random.default_rng(seed).random((n,) + shape) * 255).astype(np.float32) / 255


def small_model(**overrides):
    config = dict(SMALL)
    config.update(overrides)
    model = DDPM(**config)
    model.build_for_data()
    return model


class TestDDPM(GenerativeModelTestCase):
    """The harness on a one-level U-Net without attention (tracing dominates the harness's time); the
    conditional case below keeps self-attention (at its one level)."""

    def make_model(self, **overrides):
        config = dict(SMALL, channel_multipliers=(1,), attention_levels=(), middle_attention=False)
        config.update(overrides)
        return DDPM(**config)

    def make_batch(self, seed=0):
        return images(self.batch_size, seed)


class TestConditionalDDPM(TestDDPM):
    generate_kwargs = {"sampler": "ddim", "steps": 4, "eta": 1.0, "guidance_scale": 2.0}

    def make_model(self, **overrides):
        config = dict(SMALL, channel_multipliers=(1,), attention_levels=(0,), middle_attention=False, num_classes=3,
                      label_dropout=0.5, ema_decay=0.9, prediction_type="v")
        config.update(overrides)
        return DDPM(**config)

    def make_batch(self, seed=0):
        return images(self.batch_size, seed), np.arange(self.batch_size) % 3


def test_schedulers_swap_on_one_trained_model():
    model = compile_model(small_model())
    model.fit(images(16), epochs=1, batch_size=8, verbose=0)
    runs = {
        "ddpm-all": model.generate(4, seed=1, sampler="ddpm"),
        "ddpm-3": model.generate(4, seed=1, sampler="ddpm", steps=3),
        "ddim-5": model.generate(4, seed=1, sampler="ddim", steps=5),
        "ddim-5-quadratic": model.generate(4, seed=1, sampler="ddim", steps=5, spacing="quadratic"),
        "ddim-object": model.generate(4, seed=1, sampler=DDIMScheduler(eta=0.5, **model._process_config())),
    }
    for name, x in runs.items():
        assert x.shape == (4, 8, 8, 1) and np.all(np.isfinite(x)), name
        assert 0.0 <= x.min() and x.max() <= 1.0, name
    assert not np.allclose(runs["ddpm-all"], runs["ddim-5"])
    assert not np.allclose(runs["ddim-5"], runs["ddim-5-quadratic"])
    # The same x_T: DDIM with all T steps and eta=1 equals DDPM ancestral sampling (without x0 clipping,
    # which the two samplers apply to different quantities).
    plain = small_model(clip_sample=False)
    plain.set_weights(model.get_weights())
    ddpm = plain.generate(4, seed=2, sampler="ddpm")
    ddim = plain.generate(4, seed=2, sampler="ddim", steps=10, eta=1.0)
    np.testing.assert_allclose(ddim, ddpm, atol=1e-4)
    # One compiled loop per (scheduler, guidance) pair, reused by later calls.
    count = len(model._samplers.entries)
    model.generate(4, seed=3, sampler="ddim", steps=5)
    assert len(model._samplers.entries) == count
    with pytest.raises(ValueError, match="sampler"):
        model.generate(2, sampler="euler")
    with pytest.raises(ValueError, match="steps must be at most"):
        model.generate(2, sampler="ddim", steps=11)
    with pytest.raises(ValueError, match="eta applies"):
        model.generate(2, sampler="ddpm", eta=0.5)
    with pytest.raises(ValueError, match="another noise process"):
        model.generate(2, sampler=DDIMScheduler(num_train_timesteps=20))


def test_sampler_runs_in_one_compiled_while_loop():
    model = small_model()
    model.generate(2, seed=0, sampler="ddim", steps=4)
    (run,) = model._samplers.entries.values()
    graph = run.get_concrete_function().graph
    assert any(op.type in ("While", "StatelessWhile") for op in graph.get_operations())


def test_ddim_eta_zero_is_deterministic_given_x_T():
    model = small_model()
    x_T = np.random.default_rng(0).standard_normal((3, 8, 8, 1)).astype(np.float32)
    a = model.sample_from_noise(x_T, seed=0, sampler="ddim", steps=6, eta=0.0)
    b = model.sample_from_noise(x_T, seed=123, sampler="ddim", steps=6, eta=0.0)
    np.testing.assert_array_equal(a, b)
    c = model.sample_from_noise(x_T, seed=0, sampler="ddim", steps=6, eta=1.0)
    d = model.sample_from_noise(x_T, seed=123, sampler="ddim", steps=6, eta=1.0)
    assert not np.allclose(c, d)


@pytest.mark.parametrize("schedule", ["linear", "cosine"])
def test_add_noise_matches_closed_form_q(schedule):
    scheduler = DDPMScheduler(num_train_timesteps=1000, beta_schedule=schedule)
    draws = 20_000
    x0 = np.array([0.8, -0.3, 0.0], np.float32)
    for t in (0, 100, 500, 999):
        noise = tf.random.stateless_normal((draws, 3), seed=[t, 1])
        x_t = scheduler.add_noise(tf.broadcast_to(x0, (draws, 3)), noise, tf.fill([draws], t)).numpy()
        abar = scheduler.alphas_cumprod[t]
        mean_se = np.sqrt((1 - abar) / draws)
        np.testing.assert_allclose(x_t.mean(0), np.sqrt(abar) * x0, atol=5 * mean_se + 1e-6)
        var_se = (1 - abar) * np.sqrt(2.0 / draws)
        np.testing.assert_allclose(x_t.var(0), np.full(3, 1 - abar), atol=5 * var_se + 1e-9)


@pytest.mark.parametrize("prediction, clip", [("epsilon", False), ("v", False), ("v", True)])
def test_ddim_eta_one_step_equals_ddpm_posterior_step(prediction, clip):
    """With clipping, v-prediction recomputes eps from the clipped x0, so the two samplers still agree."""
    kwargs = dict(num_train_timesteps=50, clip_sample=clip, prediction_type=prediction)
    ddpm, ddim = DDPMScheduler(**kwargs), DDIMScheduler(eta=1.0, **kwargs)
    sample = tf.random.stateless_normal((4, 5), [0, 1])
    output = 3.0 * tf.random.stateless_normal((4, 5), [0, 2])  # large enough for x0 to leave [-1, 1]
    if clip:
        x0, eps = ddim.predict_start_and_noise(output, tf.constant(10), sample)
        assert np.max(np.abs(ddim.predict_start_and_noise(output, tf.constant(10), sample, clip=False)[0])) > 1.0
        abar = ddim.alpha_bar(tf.constant(10))
        np.testing.assert_allclose((tf.sqrt(abar) * x0 + tf.sqrt(1.0 - abar) * eps).numpy(), sample.numpy(),
                                   atol=1e-5)
    noise = tf.random.stateless_normal((4, 5), [0, 3])
    for t, prev in ((49, 30), (10, 9), (0, -1)):
        a = ddpm.step(output, tf.constant(t), sample, noise=noise, prev_timestep=tf.constant(prev))
        b = ddim.step(output, tf.constant(t), sample, noise=noise, prev_timestep=tf.constant(prev))
        np.testing.assert_allclose(a.numpy(), b.numpy(), atol=1e-5)


@pytest.mark.parametrize("spacing", ["uniform", "quadratic"])
@pytest.mark.parametrize("steps", [1, 2, 10, 50, 1000])
def test_timesteps_are_strictly_decreasing_and_span_the_chain(spacing, steps):
    scheduler = DDIMScheduler(num_train_timesteps=1000, spacing=spacing).set_timesteps(steps)
    t = scheduler.timesteps
    assert len(t) == steps and t[0] == 999 and np.all(np.diff(t) < 0)
    if steps > 1:
        assert t[-1] == 0
    np.testing.assert_array_equal(scheduler.previous_timesteps[:-1], t[1:])
    assert scheduler.previous_timesteps[-1] == -1
    assert int(scheduler.previous_timestep(tf.constant(t[0]))) == scheduler.previous_timesteps[0]
    if spacing == "quadratic" and steps == 50:
        assert np.diff(t)[-1] > np.diff(t)[0]  # denser near the data end


def test_scheduler_config_round_trip_and_errors():
    from kzoo.models.diffusion import scheduler_from_config

    scheduler = DDIMScheduler(eta=0.3, num_train_timesteps=100, beta_schedule="cosine", num_inference_steps=7,
                              spacing="quadratic", prediction_type="v")
    restored = scheduler_from_config(scheduler.get_config())
    assert type(restored) is DDIMScheduler and restored.get_config() == scheduler.get_config()
    np.testing.assert_array_equal(restored.timesteps, scheduler.timesteps)
    with pytest.raises(ValueError, match="eta must be"):
        DDIMScheduler(eta=-1)
    with pytest.raises(ValueError, match="spacing"):
        DDIMScheduler(spacing="log")
    with pytest.raises(ValueError, match="Unknown scheduler"):
        scheduler_from_config({"name": "pndm"})


def test_discretized_decoder_sums_to_one_over_the_256_levels():
    levels = tf.constant(np.linspace(-1, 1, 256), tf.float32)[:, None]
    for mean, std in ((0.3, 0.01), (-1.2, 0.2), (0.999, 0.004), (5.0, 0.5)):
        log_p = discretized_gaussian_log_likelihood(levels, tf.fill([256, 1], mean), std).numpy()
        assert np.all(np.isfinite(log_p))
        np.testing.assert_allclose(np.exp(log_p).sum(), 1.0, rtol=1e-4)


def test_likelihood_bound_is_an_unbiased_estimate_over_t():
    model = small_model(num_train_timesteps=20, beta_end=0.3)
    x = images(4, seed=1)
    exact = model.log_prob(x, t_samples=19, seed=0)  # every t once
    assert exact.shape == (4,) and exact.dtype == np.float32 and np.all(np.isfinite(exact))
    np.testing.assert_array_equal(exact, model.log_prob(x, t_samples=19, seed=0))
    assert np.all(exact < 0)  # a discrete model: log-probability below 0
    full = np.mean([model.log_prob(x, t_samples=19, seed=s) for s in range(12)], axis=0)
    estimates = np.stack([model.log_prob(x, t_samples=3, seed=s) for s in range(60)])
    se = estimates.std(0) / np.sqrt(len(estimates))
    assert np.all(np.abs(estimates.mean(0) - full) < 5 * se + 0.02 * np.abs(full))


def test_conditional_labels_and_guidance():
    model = small_model(num_classes=3)
    with pytest.raises(ValueError, match="class-conditional"):
        model.log_prob(images(2))
    with pytest.raises(ValueError, match=r"labels must lie in \[0, 2\]"):
        model.generate(2, labels=[0, 3])
    assert model.log_prob(images(2), labels=[0, 1]).shape == (2,)
    x_T = np.random.default_rng(0).standard_normal((3, 8, 8, 1)).astype(np.float32)
    opts = dict(sampler="ddim", steps=4)
    # Guidance 0 ignores the labels; 1 and 3 follow them.
    np.testing.assert_allclose(model.sample_from_noise(x_T, labels=[0, 1, 2], guidance_scale=0.0, **opts),
                               model.sample_from_noise(x_T, labels=[2, 2, 2], guidance_scale=0.0, **opts), atol=1e-6)
    guided = model.sample_from_noise(x_T, labels=[0, 1, 2], guidance_scale=3.0, **opts)
    plain = model.sample_from_noise(x_T, labels=[0, 1, 2], guidance_scale=1.0, **opts)
    assert not np.allclose(guided, plain)
    assert model.generate(5, seed=0, **opts).shape == (5, 8, 8, 1)  # labels default to 0, 1, 2, 0, 1
    unconditional = small_model()
    with pytest.raises(ValueError, match="unconditional"):
        unconditional.generate(2, labels=[0, 1])
    with pytest.raises(ValueError, match="unconditional"):
        unconditional.log_prob(images(2), labels=[0, 1])


def test_ema_follows_the_warm_up_average():
    model = compile_model(small_model(ema_decay=0.99), lambda: keras.optimizers.SGD(0.1))
    averaged = {id(v) for v in model.ema_unet.weights}
    assert not any(id(v) in averaged for v in model.trainable_variables)  # the optimizer never sees them
    start = [np.array(w) for w in model.unet.weights]
    np.testing.assert_array_equal(np.array(model.ema_unet.weights[0]), start[0])
    model.fit(images(8), epochs=1, batch_size=8, verbose=0)
    decay = min(0.99, 2.0 / 11.0)  # after one step
    for s, w, e in zip(start, model.unet.weights, model.ema_unet.weights):
        np.testing.assert_allclose(np.array(e), decay * s + (1 - decay) * np.array(w), rtol=1e-5, atol=1e-6)
    assert any(not np.array_equal(np.array(e), np.array(w)) for w, e in zip(model.unet.weights, model.ema_unet.weights))


def test_bad_config_is_rejected():
    with pytest.raises(ValueError, match="divisible"):
        DDPM(data_shape=(10, 10, 1), channel_multipliers=(1, 2), patch_size=2)
    with pytest.raises(ValueError, match="prediction"):
        DDPM(**dict(SMALL, prediction_type="x0"))
    with pytest.raises(ValueError, match="ema_decay"):
        DDPM(**dict(SMALL, ema_decay=1.0))
    with pytest.raises(ValueError, match="label_dropout"):
        DDPM(**dict(SMALL, num_classes=3, label_dropout=1.0))
    with pytest.raises(ValueError, match="sampling_steps"):
        DDPM(**dict(SMALL, sampling_steps=11))
