"""Base of denoising diffusion models.

The forward process adds Gaussian noise in ``T`` steps with variances
``beta_1..beta_T``; any ``x_t`` follows in closed form,
``x_t = sqrt(abar_t) x_0 + sqrt(1 - abar_t) eps`` with
``abar_t = prod_{s<=t} (1 - beta_s)``. A network ``denoise(x_t, t)`` learns to
predict ``eps`` by minimizing ``E ||eps - denoise(x_t, t)||^2`` (the simplified
objective of Ho et al. 2020), and the reverse process walks back from pure
noise with ancestral sampling.

Subclasses supply the network through :meth:`DiffusionModel.denoise`; the
base owns the noise schedule, the training loss and the sampler. Data are
images in [0, 1], mapped to [-1, 1] inside the model.

References:
    Sohl-Dickstein et al., "Deep Unsupervised Learning using Nonequilibrium
    Thermodynamics", ICML 2015.
    Ho, Jain & Abbeel, "Denoising Diffusion Probabilistic Models", NeurIPS 2020.
    Nichol & Dhariwal, "Improved Denoising Diffusion Probabilistic Models",
    ICML 2021 (the cosine schedule).
"""

import math

import numpy as np
import tensorflow as tf

from kzoo.core.base import GenerativeModel, to_float32
from kzoo.core.validation import check_choice, check_positive_int

BETA_SCHEDULES = ("linear", "cosine")


def make_betas(num_timesteps, schedule="linear", beta_start=1e-4, beta_end=0.02):
    """Returns the float64 variances ``beta_1..beta_T`` of the forward process.

    Args:
        num_timesteps: ``T``.
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
    num_timesteps = check_positive_int(num_timesteps, "num_timesteps")
    check_choice(schedule, "beta_schedule", BETA_SCHEDULES)
    if schedule == "linear":
        betas = np.linspace(beta_start, beta_end, num_timesteps, dtype=np.float64)
    else:
        s = 0.008
        steps = np.arange(num_timesteps + 1, dtype=np.float64) / num_timesteps
        abar = np.cos((steps + s) / (1 + s) * math.pi / 2) ** 2
        betas = np.clip(1.0 - abar[1:] / abar[:-1], 0.0, 0.999)
    if not (np.all(betas > 0) and np.all(betas < 1)):
        raise ValueError(f"betas must lie in (0, 1); got range [{betas.min():.3g}, {betas.max():.3g}] "
                         f"from beta_start={beta_start}, beta_end={beta_end}, T={num_timesteps}.")
    return betas


def timestep_embedding(t, dim, max_period=10_000.0):
    """Sinusoidal embedding of integer timesteps (Vaswani et al. 2017).

    Args:
        t: int or float tensor of shape (N,).
        dim: embedding size (even).
        max_period: longest wavelength.

    Returns:
        float32 tensor of shape (N, dim).
    """
    half = dim // 2
    freqs = tf.exp(-math.log(max_period) * tf.range(half, dtype=tf.float32) / half)
    args = tf.cast(t, tf.float32)[:, None] * freqs[None]
    return tf.concat([tf.sin(args), tf.cos(args)], axis=-1)


class DiffusionModel(GenerativeModel):
    """Noise schedule, epsilon-prediction loss and ancestral sampler.

    Subclasses implement :meth:`denoise` (and ``call``, usually
    ``denoise`` at a fixed timestep, for building and comparing outputs).

    Args:
        data_shape: per-example image shape.
        num_timesteps: length ``T`` of the forward chain.
        beta_schedule: ``"linear"`` or ``"cosine"``.
        beta_start: first beta of the linear schedule.
        beta_end: last beta of the linear schedule.
        **kwargs: passed to :class:`GenerativeModel`.

    Raises:
        ValueError: bad schedule arguments.
    """

    loss_names = ("loss",)

    def __init__(self, data_shape=(28, 28, 1), num_timesteps=1000, beta_schedule="linear", beta_start=1e-4,
                 beta_end=0.02, **kwargs):
        super().__init__(data_shape=data_shape, **kwargs)
        self.num_timesteps = check_positive_int(num_timesteps, "num_timesteps")
        self.beta_schedule = beta_schedule
        self.beta_start = float(beta_start)
        self.beta_end = float(beta_end)
        betas = make_betas(self.num_timesteps, beta_schedule, self.beta_start, self.beta_end)
        abar = np.cumprod(1.0 - betas)
        abar_prev = np.concatenate([[1.0], abar[:-1]])
        self._schedule = {
            "betas": betas,
            "alphas_cumprod": abar,
            "posterior_variance": betas * (1.0 - abar_prev) / (1.0 - abar),
        }

    def get_config(self):
        config = super().get_config()
        config.update({
            "num_timesteps": self.num_timesteps,
            "beta_schedule": self.beta_schedule,
            "beta_start": self.beta_start,
            "beta_end": self.beta_end,
        })
        return config

    def schedule(self, name):
        """A schedule array (``betas``, ``alphas_cumprod``, ``posterior_variance``) as a float32 tensor."""
        return tf.constant(self._schedule[name], tf.float32)

    def denoise(self, x_t, t, y=None, training=False):
        """Predicts the noise ``eps`` in ``x_t``.

        Args:
            x_t: noisy images in the [-1, 1] scale, shape (N,) + data_shape.
            t: int32 timesteps in [0, T), shape (N,).
            y: optional labels.
            training: training mode.

        Returns:
            A tensor shaped like ``x_t``.
        """
        raise NotImplementedError(f"{type(self).__name__} must implement denoise().")

    def add_noise(self, x0, noise, t):
        """``q(x_t | x_0)`` in closed form: ``sqrt(abar_t) x0 + sqrt(1 - abar_t) noise``."""
        abar = tf.gather(self.schedule("alphas_cumprod"), t)
        abar = tf.reshape(abar, [-1] + [1] * len(self.data_shape))
        return tf.sqrt(abar) * x0 + tf.sqrt(1.0 - abar) * noise

    def compute_losses(self, x, y=None, training=False):
        batch = tf.shape(x)[0]
        x0 = 2.0 * x - 1.0
        u = self.step_noise(batch, (), salt=1, distribution="uniform")
        t = tf.minimum(tf.cast(u * self.num_timesteps, tf.int32), self.num_timesteps - 1)
        noise = self.step_noise(batch, self.data_shape, salt=2)
        predicted = to_float32(self.denoise(self.add_noise(x0, noise, t), t, y, training=training))
        return {"loss": tf.reduce_mean(tf.square(noise - predicted))}

    def sample_batch(self, n, seed, y=None):
        """Ancestral sampling: T reverse steps from N(0, I), as one compiled loop.

        Args:
            n: number of images.
            seed: stateless seed tensor of shape [2].
            y: optional labels for conditional subclasses.

        Returns:
            float32 tensor of images in [0, 1].
        """
        return self._ancestral(tf.constant(n), seed, y)

    @tf.function(reduce_retracing=True)
    def _ancestral(self, n, seed, y):
        betas = self.schedule("betas")
        abar = self.schedule("alphas_cumprod")
        sigma = tf.sqrt(self.schedule("posterior_variance"))
        shape = tf.concat([[n], tf.constant(self.data_shape, tf.int32)], axis=0)
        x = tf.random.stateless_normal(shape, seed)

        def body(i, x):
            t = self.num_timesteps - 1 - i
            eps = to_float32(self.denoise(x, tf.fill([n], t), y))
            mean = (x - betas[t] / tf.sqrt(1.0 - abar[t]) * eps) / tf.sqrt(1.0 - betas[t])
            z = tf.random.stateless_normal(shape, tf.random.experimental.stateless_fold_in(seed, t))
            x = mean + tf.cast(t > 0, tf.float32) * sigma[t] * z
            return i + 1, x

        _, x = tf.while_loop(lambda i, x: i < self.num_timesteps, body, (tf.constant(0), x))
        return tf.clip_by_value((x + 1.0) / 2.0, 0.0, 1.0)
