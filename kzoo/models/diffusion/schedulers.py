"""Noise schedulers: the forward process and the reverse-time samplers.

A scheduler is a small serializable object that knows the training noise
schedule (``beta_1..beta_T``) and one way of walking back from noise to data.
Every scheduler has the same interface:

* ``set_timesteps(num_inference_steps, spacing=None)`` picks the (descending)
  timesteps the sampler visits; ``timesteps`` / ``previous_timesteps`` return
  them (``-1`` marks the step to clean data);
* ``step(model_output, timestep, sample, noise=None, prev_timestep=None)``
  is one reverse step ``x_t -> x_prev`` (pure TensorFlow, usable inside a
  compiled ``tf.while_loop``);
* ``add_noise(x0, noise, timesteps)`` samples ``q(x_t | x_0)`` in closed form;
* ``get_config()`` / ``from_config(config)`` (and :func:`scheduler_from_config`
  for any scheduler).

Because both schedulers use only ``abar_t = prod_{s<=t} (1 - beta_s)`` at the
visited timesteps, a network trained once with the T-step schedule samples
with either scheduler and any number of steps: :class:`DDPMScheduler`
(ancestral sampling; with fewer steps it is the "respaced" DDPM of Nichol &
Dhariwal) and :class:`DDIMScheduler` (the non-Markovian sampler with
stochasticity ``eta``: 0 is deterministic, 1 matches ancestral sampling).

Timesteps are 0-based: index ``t`` in ``[0, T)`` is step ``t + 1`` of the
papers.

References:
    Ho, Jain & Abbeel, "Denoising Diffusion Probabilistic Models", NeurIPS 2020.
    Song, Meng & Ermon, "Denoising Diffusion Implicit Models", ICLR 2021
    (eta, uniform and quadratic timestep spacing).
    Nichol & Dhariwal, "Improved Denoising Diffusion Probabilistic Models",
    ICML 2021 (cosine schedule, respaced sampling).
    Salimans & Ho, "Progressive Distillation for Fast Sampling of Diffusion
    Models", ICLR 2022 (v-prediction).
"""

import math

import numpy as np
import tensorflow as tf

from kzoo.core.validation import check_bool, check_choice, check_number, check_positive_int

__all__ = ["DDIMScheduler", "DDPMScheduler", "Scheduler", "get_scheduler", "make_betas", "scheduler_from_config"]

BETA_SCHEDULES = ("linear", "cosine")
PREDICTION_TYPES = ("epsilon", "v")
SPACINGS = ("uniform", "quadratic")


def check_eta(eta):
    """Validates DDIM's stochasticity ``eta`` (a number >= 0: 0 is deterministic, 1 is ancestral); returns it."""
    return check_number(eta, "eta", minimum=0)


def make_betas(num_train_timesteps, schedule="linear", beta_start=1e-4, beta_end=0.02):
    """Returns the float64 variances ``beta_1..beta_T`` of the forward process.

    Args:
        num_train_timesteps: ``T``.
        schedule: ``"linear"`` (Ho et al. 2020: evenly spaced from
            ``beta_start`` to ``beta_end``; the defaults suit T = 1000, and a
            much shorter chain needs a larger ``beta_end`` to end in noise) or
            ``"cosine"`` (Nichol & Dhariwal 2021, offset s = 0.008, betas
            clipped at 0.999; suits any T).
        beta_start: first beta of the linear schedule.
        beta_end: last beta of the linear schedule.

    Returns:
        numpy float64 array of shape (T,).

    Raises:
        ValueError: unknown schedule or betas outside (0, 1).
    """
    num_train_timesteps = check_positive_int(num_train_timesteps, "num_train_timesteps")
    check_choice(schedule, "beta_schedule", BETA_SCHEDULES)
    if schedule == "linear":
        betas = np.linspace(beta_start, beta_end, num_train_timesteps, dtype=np.float64)
    else:
        s = 0.008
        steps = np.arange(num_train_timesteps + 1, dtype=np.float64) / num_train_timesteps
        abar = np.cos((steps + s) / (1 + s) * math.pi / 2) ** 2
        betas = np.clip(1.0 - abar[1:] / abar[:-1], 0.0, 0.999)
    if not (np.all(betas > 0) and np.all(betas < 1)):
        raise ValueError(f"betas must lie in (0, 1); got range [{betas.min():.3g}, {betas.max():.3g}] "
                         f"from beta_start={beta_start}, beta_end={beta_end}, T={num_train_timesteps}.")
    return betas




def spaced_timesteps(num_train_timesteps, num_steps, spacing="uniform"):
    """The timesteps a sampler with ``num_steps`` steps visits, in descending order.

    ``"uniform"`` spaces them evenly over ``[0, T - 1]``; ``"quadratic"``
    places them at ``(i * c)**2`` (Song et al. 2021), denser near the data
    end. Both always include ``T - 1`` (start from pure noise) and ``0``
    (finish on data) and are strictly decreasing.

    Args:
        num_train_timesteps: ``T``.
        num_steps: number of steps, ``1 <= num_steps <= T``.
        spacing: ``"uniform"`` or ``"quadratic"``.

    Returns:
        int64 numpy array of shape ``(num_steps,)``.

    Raises:
        ValueError: ``num_steps`` outside ``[1, T]`` or an unknown spacing.
    """
    total = check_positive_int(num_train_timesteps, "num_train_timesteps")
    steps = check_positive_int(num_steps, "steps")
    check_choice(spacing, "spacing", SPACINGS)
    if steps > total:
        raise ValueError(f"steps must be at most the {total} training timesteps, got {steps}.")
    if steps == 1:
        return np.array([total - 1], np.int64)
    if spacing == "uniform":
        grid = np.linspace(0.0, total - 1, steps)
    else:
        grid = np.linspace(0.0, np.sqrt(total - 1), steps) ** 2
    t = np.round(grid).astype(np.int64)
    for i in range(1, steps):  # strictly increasing, then pulled back under T - 1
        t[i] = max(t[i], t[i - 1] + 1)
    t[-1] = total - 1
    for i in range(steps - 2, -1, -1):
        t[i] = min(t[i], t[i + 1] - 1)
    return t[::-1].copy()


class Scheduler:
    """Base of the samplers: the training schedule, ``add_noise`` and timesteps.

    Args:
        num_train_timesteps: ``T`` of the training schedule.
        beta_schedule: ``"linear"`` or ``"cosine"``.
        beta_start: first beta of the linear schedule.
        beta_end: last beta of the linear schedule.
        prediction_type: what the network predicts: ``"epsilon"`` (the noise)
            or ``"v"`` (``sqrt(abar) eps - sqrt(1 - abar) x0``).
        clip_sample: clip the predicted ``x0`` to ``[-1, 1]`` in each step.
        num_inference_steps: steps of the sampler (default: ``T``).
        spacing: ``"uniform"`` or ``"quadratic"`` timestep spacing.

    Raises:
        ValueError: bad schedule, prediction type, step count or spacing.
    """

    name = None
    #: whether ``step`` uses ``noise``.
    stochastic = True

    def __init__(self, num_train_timesteps=1000, beta_schedule="linear", beta_start=1e-4, beta_end=0.02,
                 prediction_type="epsilon", clip_sample=True, num_inference_steps=None, spacing="uniform"):
        self.num_train_timesteps = check_positive_int(num_train_timesteps, "num_train_timesteps")
        self.beta_schedule = check_choice(beta_schedule, "beta_schedule", BETA_SCHEDULES)
        self.beta_start = float(beta_start)
        self.beta_end = float(beta_end)
        self.prediction_type = check_choice(prediction_type, "prediction_type", PREDICTION_TYPES)
        self.clip_sample = check_bool(clip_sample, "clip_sample")
        self.betas = make_betas(self.num_train_timesteps, beta_schedule, self.beta_start, self.beta_end)
        self.alphas_cumprod = np.cumprod(1.0 - self.betas)
        # abar of "timestep -1" (clean data) is 1; index 0 of this table is t = -1.
        self._abar_table = tf.constant(np.concatenate([[1.0], self.alphas_cumprod]), tf.float32)
        self.set_timesteps(num_inference_steps or self.num_train_timesteps, spacing)

    # ------------------------------------------------------------ timesteps
    def set_timesteps(self, num_inference_steps, spacing=None):
        """Chooses the timesteps the sampler visits.

        Args:
            num_inference_steps: number of reverse steps, ``1 <= n <= T``.
            spacing: ``"uniform"``, ``"quadratic"`` or None to keep the
                current spacing.

        Returns:
            ``self``.

        Raises:
            ValueError: bad step count or spacing.
        """
        spacing = getattr(self, "spacing", "uniform") if spacing is None else spacing
        self._timesteps = spaced_timesteps(self.num_train_timesteps, num_inference_steps, spacing)
        self.spacing = spacing
        self.num_inference_steps = len(self._timesteps)
        return self

    @property
    def timesteps(self):
        """int32 numpy array of the visited timesteps, descending."""
        return self._timesteps.astype(np.int32)

    @property
    def previous_timesteps(self):
        """int32 numpy array: the timestep each step moves to (``-1`` = clean data)."""
        return np.concatenate([self._timesteps[1:], [-1]]).astype(np.int32)

    def previous_timestep(self, timestep):
        """The timestep after ``timestep`` in the current schedule (a tensor; -1 at the end)."""
        table = tf.constant(self.timesteps)
        prev = tf.constant(self.previous_timesteps)
        timestep = tf.cast(timestep, tf.int32)
        index = tf.argmax(tf.cast(tf.equal(table, tf.reshape(timestep, [-1])[0]), tf.int32))
        return tf.gather(prev, index)

    # --------------------------------------------------------------- process
    def alpha_bar(self, timestep):
        """``abar_t`` as float32, with ``abar_{-1} = 1``; ``timestep`` any int tensor."""
        return tf.gather(self._abar_table, tf.cast(timestep, tf.int32) + 1)

    def add_noise(self, x0, noise, timesteps):
        """Samples ``q(x_t | x_0) = N(sqrt(abar_t) x0, (1 - abar_t) I)``.

        Args:
            x0: clean data ``(N, ...)`` in the [-1, 1] scale.
            noise: standard normal noise shaped like ``x0``.
            timesteps: int tensor ``(N,)`` in ``[0, T)``.

        Returns:
            ``sqrt(abar_t) x0 + sqrt(1 - abar_t) noise``.
        """
        x0 = tf.convert_to_tensor(x0, tf.float32)
        abar = self._broadcast(self.alpha_bar(timesteps), x0)
        return tf.sqrt(abar) * x0 + tf.sqrt(1.0 - abar) * tf.cast(noise, tf.float32)

    def velocity(self, x0, noise, timesteps):
        """The v-prediction target ``sqrt(abar_t) noise - sqrt(1 - abar_t) x0``."""
        abar = self._broadcast(self.alpha_bar(timesteps), x0)
        return tf.sqrt(abar) * noise - tf.sqrt(1.0 - abar) * x0

    def predict_start_and_noise(self, model_output, timestep, sample, clip=None):
        """Turns the network output into ``(x0_hat, eps_hat)``.

        Args:
            model_output: predicted noise (or velocity) shaped like ``sample``.
            timestep: scalar or ``(N,)`` int timesteps of ``sample``.
            sample: ``x_t``.
            clip: clip ``x0_hat`` to [-1, 1] (default: ``clip_sample``); the
                noise is then recomputed to match the clipped ``x0_hat``
                only for v-prediction.

        Returns:
            Two float32 tensors shaped like ``sample``.
        """
        clip = self.clip_sample if clip is None else clip
        output = tf.cast(model_output, tf.float32)
        abar = self._broadcast(self.alpha_bar(timestep), sample)
        if self.prediction_type == "epsilon":
            eps = output
            x0 = (sample - tf.sqrt(1.0 - abar) * eps) * tf.math.rsqrt(abar)
        else:
            x0 = tf.sqrt(abar) * sample - tf.sqrt(1.0 - abar) * output
            eps = tf.sqrt(1.0 - abar) * sample + tf.sqrt(abar) * output
        if clip:
            x0 = tf.clip_by_value(x0, -1.0, 1.0)
            if self.prediction_type == "v":
                # Keep x_t = sqrt(abar) x0 + sqrt(1 - abar) eps: a DDIM step that pairs the clipped x0 with the
                # unclipped eps leaves the trajectory whenever a (guided) velocity overshoots.
                eps = (sample - tf.sqrt(abar) * x0) * tf.math.rsqrt(1.0 - abar)
        return x0, eps

    @staticmethod
    def _broadcast(values, like):
        values = tf.reshape(values, [-1])
        return tf.reshape(values, tf.concat([tf.shape(values), tf.ones([tf.rank(like) - 1], tf.int32)], 0))

    def step(self, model_output, timestep, sample, noise=None, prev_timestep=None):
        """One reverse step from ``x_t`` (at ``timestep``) to ``x_prev``.

        Args:
            model_output: the network's prediction for ``sample``.
            timestep: int scalar tensor, the current timestep.
            sample: ``x_t``, float32 ``(N, ...)``.
            noise: standard normal noise shaped like ``sample`` (stochastic
                samplers; ``None`` gives the mean of the step).
            prev_timestep: the timestep to move to (default: the next one in
                :attr:`timesteps`; ``-1`` means clean data).

        Returns:
            ``x_prev``, float32, shaped like ``sample``.
        """
        raise NotImplementedError(f"{type(self).__name__} must implement step().")

    def _abars(self, timestep, prev_timestep):
        if prev_timestep is None:
            prev_timestep = self.previous_timestep(timestep)
        return self.alpha_bar(timestep), self.alpha_bar(prev_timestep), prev_timestep

    # ----------------------------------------------------------------- config
    def get_config(self):
        """The constructor arguments (plus ``name``) as a JSON-serializable dict."""
        return {
            "name": self.name,
            "num_train_timesteps": self.num_train_timesteps,
            "beta_schedule": self.beta_schedule,
            "beta_start": self.beta_start,
            "beta_end": self.beta_end,
            "prediction_type": self.prediction_type,
            "clip_sample": self.clip_sample,
            "num_inference_steps": self.num_inference_steps,
            "spacing": self.spacing,
        }

    @classmethod
    def from_config(cls, config):
        """Rebuilds a scheduler from :meth:`get_config`."""
        config = dict(config)
        name = config.pop("name", cls.name)
        if name != cls.name:
            raise ValueError(f"{cls.__name__}.from_config got a config of scheduler {name!r}.")
        return cls(**config)

    def same_process(self, other):
        """Whether ``other`` has the same training noise schedule and prediction type."""
        return (self.num_train_timesteps == other.num_train_timesteps
                and np.allclose(self.alphas_cumprod, other.alphas_cumprod, rtol=1e-10, atol=0)
                and self.prediction_type == other.prediction_type)

    def __repr__(self):
        args = ", ".join(f"{k}={v!r}" for k, v in self.get_config().items() if k != "name")
        return f"{type(self).__name__}({args})"


class DDPMScheduler(Scheduler):
    """Ancestral sampling of Ho et al. (2020), respaced for fewer steps.

    From ``t`` to ``s`` (the previous visited timestep) it samples the
    posterior ``q(x_s | x_t, x0_hat)`` with ``alpha = abar_t / abar_s`` and
    ``beta = 1 - alpha``: mean
    ``sqrt(abar_s) beta / (1 - abar_t) x0_hat + sqrt(alpha) (1 - abar_s) / (1 - abar_t) x_t``
    and variance ``beta (1 - abar_s) / (1 - abar_t)`` (the "small" choice
    ``sigma^2 = beta_tilde``). With all ``T`` steps this is exactly the DDPM
    sampler; the last step returns the mean.

    Args: see :class:`Scheduler`.
    """

    name = "ddpm"

    def step(self, model_output, timestep, sample, noise=None, prev_timestep=None):
        abar_t, abar_s, _ = self._abars(timestep, prev_timestep)
        x0, _ = self.predict_start_and_noise(model_output, timestep, sample)
        alpha = abar_t / abar_s
        beta = 1.0 - alpha
        mean = (tf.sqrt(abar_s) * beta / (1.0 - abar_t)) * x0 + (tf.sqrt(alpha) * (1.0 - abar_s) / (1.0 - abar_t)) * sample
        if noise is None:
            return mean
        variance = beta * (1.0 - abar_s) / (1.0 - abar_t)
        return mean + tf.sqrt(tf.maximum(variance, 0.0)) * tf.cast(noise, tf.float32)


class DDIMScheduler(Scheduler):
    """The DDIM sampler of Song et al. (2021) with stochasticity ``eta``.

    ``x_s = sqrt(abar_s) x0_hat + sqrt(1 - abar_s - sigma^2) eps_hat + sigma z``
    with ``sigma = eta sqrt((1 - abar_s) / (1 - abar_t)) sqrt(1 - abar_t / abar_s)``.
    ``eta = 0`` is deterministic (an ODE-like map from ``x_T`` to ``x_0``);
    ``eta = 1`` has the variance of ancestral sampling.

    Args:
        eta: stochasticity, a number >= 0.
        **kwargs: see :class:`Scheduler`.

    Raises:
        ValueError: negative ``eta`` or a bad scheduler argument.
    """

    name = "ddim"

    def __init__(self, eta=0.0, **kwargs):
        self.eta = check_eta(eta)
        super().__init__(**kwargs)

    @property
    def stochastic(self):
        return self.eta > 0

    def step(self, model_output, timestep, sample, noise=None, prev_timestep=None):
        abar_t, abar_s, _ = self._abars(timestep, prev_timestep)
        x0, eps = self.predict_start_and_noise(model_output, timestep, sample)
        sigma = self.eta * tf.sqrt((1.0 - abar_s) / (1.0 - abar_t) * (1.0 - abar_t / abar_s))
        direction = tf.sqrt(tf.maximum(1.0 - abar_s - sigma**2, 0.0))
        out = tf.sqrt(abar_s) * x0 + direction * eps
        if noise is not None and self.eta > 0:
            out = out + sigma * tf.cast(noise, tf.float32)
        return out

    def get_config(self):
        config = super().get_config()
        config["eta"] = self.eta
        return config


SCHEDULERS = {cls.name: cls for cls in (DDPMScheduler, DDIMScheduler)}


def scheduler_from_config(config):
    """Rebuilds any scheduler from its ``get_config()`` dict.

    Raises:
        ValueError: unknown or missing ``name``.
    """
    name = dict(config).get("name")
    if name not in SCHEDULERS:
        raise ValueError(f"Unknown scheduler {name!r}; expected one of {', '.join(map(repr, SCHEDULERS))}.")
    return SCHEDULERS[name].from_config(config)


def get_scheduler(name, **kwargs):
    """Builds the scheduler called ``name`` (``"ddpm"`` or ``"ddim"``).

    Raises:
        ValueError: unknown name or bad arguments.
    """
    check_choice(name, "sampler", tuple(SCHEDULERS))
    return SCHEDULERS[name](**kwargs)
