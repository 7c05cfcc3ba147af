"""Base of denoising diffusion models.

The forward process adds Gaussian noise in ``T`` steps with variances
``beta_1..beta_T``; any ``x_t`` follows in closed form,
``x_t = sqrt(abar_t) x_0 + sqrt(1 - abar_t) eps`` with
``abar_t = prod_{s<=t} (1 - beta_s)``. A network ``denoise(x_t, t)`` learns to
predict ``eps`` (or the velocity ``v``) by minimizing
``E ||eps - denoise(x_t, t)||^2`` (the simplified objective of Ho et al.
2020). Sampling walks back from pure noise with a scheduler from
:mod:`kzoo.models.diffusion.schedulers` (ancestral DDPM or DDIM, any number
of steps), inside one compiled ``tf.while_loop``.

Class-conditional models (``num_classes`` set) are trained with labels
dropped to a "no label" class with probability ``label_dropout``, which gives
classifier-free guidance at sampling time:
``out = out_uncond + s (out_cond - out_uncond)`` (``s = 0``: unconditional,
``s = 1``: plain conditional, ``s > 1``: guided; ``s - 1`` is the ``w`` of
Ho & Salimans).

``log_prob`` is the variational lower bound of Ho et al. (2020), Eq. 5, with
a discretized Gaussian decoder at ``t = 0`` for 8-bit data; the sum over the
``T - 1`` KL terms is estimated without bias by stratified sampling of ``t``
(exact when ``t_samples >= T - 1``). It is a bound on log p(x), not the
likelihood.

Subclasses supply the network through :meth:`DiffusionModel.denoise`; the
base owns the noise schedule, the training loss, the samplers and the bound.
Data are images in [0, 1], mapped to [-1, 1] inside the model.

References:
    Sohl-Dickstein et al., "Deep Unsupervised Learning using Nonequilibrium
    Thermodynamics", ICML 2015.
    Ho, Jain & Abbeel, "Denoising Diffusion Probabilistic Models", NeurIPS 2020.
    Song, Meng & Ermon, "Denoising Diffusion Implicit Models", ICLR 2021.
    Nichol & Dhariwal, "Improved Denoising Diffusion Probabilistic Models",
    ICML 2021 (the cosine schedule).
    Ho & Salimans, "Classifier-Free Diffusion Guidance", NeurIPS 2021
    Workshop on Deep Generative Models.
"""

import numpy as np
import tensorflow as tf

from kzoo.core.base import ExplicitModel, seed_pair, to_float32
from kzoo.core.validation import check_choice, check_data_batch, check_number, check_optional, check_positive_int
from kzoo.models.diffusion.likelihood import discretized_gaussian_log_likelihood, normal_kl
from kzoo.models.diffusion.schedulers import SCHEDULERS, SPACINGS, DDPMScheduler, Scheduler, \
    check_eta, get_scheduler

__all__ = ["DiffusionModel"]


class _SamplerCache:
    """Compiled sampling loops per (scheduler, guidance mode); not tracked by Keras."""

    def __init__(self):
        self.entries = {}


class DiffusionModel(ExplicitModel):
    """Noise schedule, simple loss, swappable samplers and the likelihood bound.

    Subclasses implement :meth:`denoise` (and ``call``, usually ``denoise``
    at a fixed timestep, for building and comparing outputs).

    Args:
        data_shape: per-example image shape.
        num_train_timesteps: length ``T`` of the forward chain.
        beta_schedule: ``"linear"`` or ``"cosine"``.
        beta_start: first beta of the linear schedule.
        beta_end: last beta of the linear schedule.
        prediction_type: network target, ``"epsilon"`` (the noise) or ``"v"``
            (the velocity ``sqrt(abar) eps - sqrt(1 - abar) x0``).
        num_classes: ``None`` (unconditional) or the number of classes of a
            class-conditional model; labels are the ``y`` of ``fit`` and the
            ``labels`` of ``generate`` / ``log_prob``.
        label_dropout: probability of replacing a training label by the
            "no label" class (classifier-free guidance); class-conditional
            models only.
        sampler: default sampler of ``generate``: ``"ddpm"`` or ``"ddim"``.
        sampling_steps: default number of sampling steps (``None`` = ``T``).
        eta: default DDIM stochasticity.
        spacing: default timestep spacing, ``"uniform"`` or ``"quadratic"``.
        guidance_scale: default guidance scale ``s`` of conditional sampling.
        clip_sample: clip the predicted ``x0`` to [-1, 1] while sampling.
        **kwargs: passed to :class:`~kzoo.core.base.GenerativeModel`.

    Raises:
        ValueError: bad schedule or sampling arguments.
    """

    loss_names = ("loss",)
    stochastic_log_prob = True
    log_prob_is_bound = True
    nll_estimator = "variational bound (Ho et al. 2020 Eq. 5), stratified Monte-Carlo sum over t"

    renamed_arguments = {"num_timesteps": "num_train_timesteps", "prediction": "prediction_type",
                         "clip_denoised": "clip_sample"}

    def __init__(self, data_shape=(28, 28, 1), num_train_timesteps=1000, beta_schedule="linear", beta_start=1e-4,
                 beta_end=0.02, prediction_type="epsilon", num_classes=None, label_dropout=0.1, sampler="ddpm",
                 sampling_steps=None, eta=0.0, spacing="uniform", guidance_scale=1.0, clip_sample=True,
                 **kwargs):
        super().__init__(data_shape=data_shape, **kwargs)
        # The training process (and add_noise); the scheduler validates the schedule arguments.
        self.noise_scheduler = DDPMScheduler(num_train_timesteps=num_train_timesteps, beta_schedule=beta_schedule,
                                             beta_start=beta_start, beta_end=beta_end,
                                             prediction_type=prediction_type, clip_sample=clip_sample)
        for name in ("num_train_timesteps", "beta_schedule", "beta_start", "beta_end", "prediction_type",
                     "clip_sample"):
            setattr(self, name, getattr(self.noise_scheduler, name))
        self.num_classes = check_optional(check_number, num_classes, "num_classes", integer=True, minimum=2)
        self.label_dropout = check_number(label_dropout, "label_dropout", minimum=0, maximum=1,
                                          exclusive_maximum=True)
        self.sampler = check_choice(sampler, "sampler", tuple(SCHEDULERS))
        self.sampling_steps = check_optional(check_number, sampling_steps, "sampling_steps", integer=True,
                                             minimum=1, maximum=self.num_train_timesteps)
        self.eta = check_eta(eta)
        self.spacing = check_choice(spacing, "spacing", SPACINGS)
        self.guidance_scale = check_number(guidance_scale, "guidance_scale")
        betas = self.noise_scheduler.betas
        abar = self.noise_scheduler.alphas_cumprod
        abar_prev = np.concatenate([[1.0], abar[:-1]])
        self._schedule = {
            "betas": betas,
            "alphas_cumprod": abar,
            "alphas_cumprod_prev": abar_prev,
            "posterior_variance": betas * (1.0 - abar_prev) / (1.0 - abar),
        }
        self._samplers = _SamplerCache()

    def _process_config(self):
        return {"num_train_timesteps": self.num_train_timesteps, "beta_schedule": self.beta_schedule,
                "beta_start": self.beta_start, "beta_end": self.beta_end,
                "prediction_type": self.prediction_type, "clip_sample": self.clip_sample}

    def get_config(self):
        config = super().get_config()
        config.update(self._process_config())
        config.update({
            "num_classes": self.num_classes,
            "label_dropout": self.label_dropout,
            "sampler": self.sampler,
            "sampling_steps": self.sampling_steps,
            "eta": self.eta,
            "spacing": self.spacing,
            "guidance_scale": self.guidance_scale,
        })
        return config

    def schedule(self, name):
        """A schedule array (``betas``, ``alphas_cumprod``, ``alphas_cumprod_prev``,
        ``posterior_variance``) as a float32 tensor."""
        return tf.constant(self._schedule[name], tf.float32)

    @property
    def generation_method(self):
        steps = self.sampling_steps or self.num_train_timesteps
        return f"iterative denoising, one network pass per step ({self.sampler.upper()}, {steps} steps)"

    # --------------------------------------------------------------- network
    def denoise(self, x_t, t, y=None, training=False):
        """Predicts the noise ``eps`` (or ``v``) in ``x_t``.

        Args:
            x_t: noisy images in the [-1, 1] scale, shape (N,) + data_shape.
            t: int32 timesteps in [0, T), shape (N,).
            y: optional int32 labels ``(N,)`` in ``[0, num_classes]``, where
                ``num_classes`` is the "no label" class.
            training: training mode.

        Returns:
            A tensor shaped like ``x_t``.
        """
        raise NotImplementedError(f"{type(self).__name__} must implement denoise().")

    def sampling_denoise(self, x_t, t, y=None):
        """The network used for sampling and the bound (subclasses: EMA weights)."""
        return self.denoise(x_t, t, y, training=False)

    # ---------------------------------------------------------------- labels
    def _label_tensor(self, labels, n=None):
        """:meth:`label_tensor`, also checking the count against ``n`` examples."""
        labels = self.label_tensor(labels)
        if labels is not None and n is not None and labels.shape[0] is not None and labels.shape[0] != n:
            raise ValueError(f"labels has {labels.shape[0]} entries but there are {n} examples.")
        return labels

    def add_noise(self, x0, noise, t):
        """``q(x_t | x_0)`` in closed form: ``sqrt(abar_t) x0 + sqrt(1 - abar_t) noise``."""
        return self.noise_scheduler.add_noise(x0, noise, t)

    def compute_losses(self, x, y=None, training=False):
        batch = tf.shape(x)[0]
        labels = self._label_tensor(y)
        if labels is not None and self.label_dropout > 0:
            drop = self.step_noise(batch, (), salt=3, distribution="uniform") < self.label_dropout
            labels = tf.where(drop, self.num_classes, labels)
        x0 = 2.0 * tf.cast(x, tf.float32) - 1.0
        u = self.step_noise(batch, (), salt=1, distribution="uniform")
        t = tf.minimum(tf.cast(u * self.num_train_timesteps, tf.int32), self.num_train_timesteps - 1)
        noise = self.step_noise(batch, self.data_shape, salt=2)
        x_t = self.add_noise(x0, noise, t)
        target = noise if self.prediction_type == "epsilon" else self.noise_scheduler.velocity(x0, noise, t)
        predicted = to_float32(self.denoise(x_t, t, labels, training=training))
        return {"loss": tf.reduce_mean(tf.square(target - predicted))}

    # -------------------------------------------------------------- sampling
    def make_scheduler(self, sampler=None, steps=None, eta=None, spacing=None):
        """A scheduler for this model's noise process.

        Args:
            sampler: ``"ddpm"``, ``"ddim"``, a scheduler object (checked to
                match the training process) or None for the config's
                ``sampler``.
            steps: sampling steps (None: the config's ``sampling_steps``,
                else ``T``).
            eta: DDIM stochasticity (None: the config's ``eta``).
            spacing: ``"uniform"`` or ``"quadratic"`` (None: the config's).

        Returns:
            A :class:`~kzoo.models.diffusion.schedulers.Scheduler`.

        Raises:
            ValueError: unknown sampler, bad steps/eta/spacing, or a scheduler
                object for another noise process.
        """
        if isinstance(sampler, Scheduler):
            if not sampler.same_process(self.noise_scheduler):
                raise ValueError(f"{sampler!r} has another noise process than this model "
                                 f"({self.noise_scheduler!r}).")
            if steps is not None or spacing is not None:
                sampler.set_timesteps(steps or sampler.num_inference_steps, spacing)
            return sampler
        name = self.sampler if sampler is None else sampler
        steps = steps if steps is not None else (self.sampling_steps or self.num_train_timesteps)
        kwargs = dict(self._process_config(), num_inference_steps=check_positive_int(steps, "steps"),
                      spacing=self.spacing if spacing is None else spacing)
        if name == "ddim":
            kwargs["eta"] = self.eta if eta is None else eta
        elif eta is not None:
            raise ValueError(f"eta applies to the 'ddim' sampler only, got eta={eta!r} with sampler={name!r}.")
        return get_scheduler(name, **kwargs)

    def _guidance_mode(self, labels, guidance_scale):
        if self.num_classes is None:
            return "none"
        if guidance_scale == 0.0:
            return "uncond"
        if guidance_scale == 1.0:
            return "cond"
        return "guided"

    def _model_output(self, x, t, labels, guidance, mode):
        if mode == "none":
            return to_float32(self.sampling_denoise(x, t, None))
        null = tf.fill(tf.shape(t), self.num_classes)
        if mode == "uncond":
            return to_float32(self.sampling_denoise(x, t, null))
        if mode == "cond":
            return to_float32(self.sampling_denoise(x, t, labels))
        both = to_float32(self.sampling_denoise(tf.concat([x, x], 0), tf.concat([t, t], 0),
                                                tf.concat([labels, null], 0)))
        cond, uncond = tf.split(both, 2, axis=0)
        return uncond + guidance * (cond - uncond)

    def _sampling_loop(self, scheduler, mode):
        key = (repr(scheduler), mode)
        cached = self._samplers.entries.get(key)
        if cached is not None:
            return cached
        timesteps = tf.constant(scheduler.timesteps)
        previous = tf.constant(scheduler.previous_timesteps)
        count = int(len(scheduler.timesteps))
        stochastic = scheduler.stochastic

        signature = [tf.TensorSpec((None,) + tuple(self.data_shape), tf.float32), tf.TensorSpec([None], tf.int32),
                     tf.TensorSpec([], tf.float32), tf.TensorSpec([2], tf.int32)]

        @tf.function(input_signature=signature)
        def run(x, labels, guidance, seed):
            n = tf.shape(x)[0]

            def body(i, x):
                t = timesteps[i]
                out = self._model_output(x, tf.fill([n], t), labels, guidance, mode)
                noise = None
                if stochastic:
                    noise = tf.random.stateless_normal(tf.shape(x), tf.random.experimental.stateless_fold_in(seed, i))
                return i + 1, scheduler.step(out, t, x, noise=noise, prev_timestep=previous[i])

            _, x = tf.while_loop(lambda i, x: i < count, body, (tf.constant(0), x))
            return tf.clip_by_value((x + 1.0) / 2.0, 0.0, 1.0)

        self._samplers.entries[key] = run
        return run

    def _run_sampler(self, x_T, seed, labels, sampler, steps, eta, spacing, guidance_scale):
        scheduler, mode, guidance, run = self._prepare(sampler, steps, eta, spacing, guidance_scale)
        labels = self._label_tensor(labels)
        if labels is None:
            labels = tf.zeros(tf.shape(x_T)[:1], tf.int32)  # unused by an unconditional loop
        return run(tf.cast(x_T, tf.float32), labels, tf.constant(guidance, tf.float32),
                   tf.random.experimental.stateless_fold_in(seed, 1))

    def _prepare(self, sampler, steps, eta, spacing, guidance_scale):
        scheduler = self.make_scheduler(sampler, steps, eta, spacing)
        guidance = self.guidance_scale if guidance_scale is None else check_number(guidance_scale, "guidance_scale")
        mode = self._guidance_mode(None, guidance)
        return scheduler, mode, guidance, self._sampling_loop(scheduler, mode)

    def prepare_sampler(self, sampler=None, steps=None, eta=None, spacing=None, guidance_scale=None):
        """Builds and traces the compiled sampling loop without sampling.

        ``generate`` does this on first use of a sampler configuration; call
        it first to keep graph tracing out of a timing.

        Args:
            sampler, steps, eta, spacing, guidance_scale: as in :meth:`generate`.

        Returns:
            The :class:`~kzoo.models.diffusion.schedulers.Scheduler` used.
        """
        scheduler, _, _, run = self._prepare(sampler, steps, eta, spacing, guidance_scale)
        run.get_concrete_function()
        return scheduler

    def sample_batch(self, n, seed, labels=None, sampler=None, steps=None, eta=None, spacing=None,
                     guidance_scale=None):
        """Draws ``n`` images: noise ``x_T ~ N(0, I)`` then the sampler's reverse steps.

        Args:
            n: number of images.
            seed: stateless seed tensor of shape [2] (it fixes ``x_T`` and the
                noise of every stochastic step).
            labels: int labels ``(n,)`` of a class-conditional model.
            sampler, steps, eta, spacing: see :meth:`make_scheduler`.
            guidance_scale: classifier-free guidance scale (None: config).

        Returns:
            float32 tensor of images in [0, 1].
        """
        shape = tf.concat([[n], tf.constant(self.data_shape, tf.int32)], axis=0)
        x_T = tf.random.stateless_normal(shape, seed)
        return self._run_sampler(x_T, seed, labels, sampler, steps, eta, spacing, guidance_scale)

    def generate(self, n, seed=None, batch_size=256, labels=None, sampler=None, steps=None, eta=None,
                 spacing=None, guidance_scale=None):
        """Draws ``n`` images with a chosen sampler, in one compiled loop per batch.

        Args:
            n: number of images.
            seed: None for fresh randomness, or an int: the same int gives the
                same images.
            batch_size: images per compiled call.
            labels: class of each image for a class-conditional model (int
                array ``(n,)``); None cycles through the classes 0, 1, ...
            sampler: ``"ddpm"`` (ancestral), ``"ddim"``, a scheduler object
                or None for the config's ``sampler``.
            steps: number of reverse steps (None: the config's
                ``sampling_steps``, else ``T``).
            eta: DDIM stochasticity (0 = deterministic given ``x_T``).
            spacing: ``"uniform"`` or ``"quadratic"`` timesteps.
            guidance_scale: classifier-free guidance scale ``s`` (0:
                unconditional, 1: conditional, > 1: guided).

        Returns:
            float32 numpy array ``(n,) + data_shape`` in [0, 1].

        Raises:
            ValueError: bad ``n``, ``batch_size``, seed, sampler options or
                labels (labels given to an unconditional model).
        """
        return super().generate(n, seed=seed, batch_size=batch_size, labels=labels, sampler=sampler, steps=steps,
                                eta=eta, spacing=spacing, guidance_scale=guidance_scale)

    def sample_from_noise(self, x_T, seed=0, labels=None, sampler=None, steps=None, eta=None, spacing=None,
                          guidance_scale=None):
        """Runs a sampler from given noise ``x_T`` (e.g. to check DDIM determinism).

        Args:
            x_T: array ``(N,) + data_shape``, the starting noise.
            seed: int seed of the noise added by stochastic steps.
            labels, sampler, steps, eta, spacing, guidance_scale: as in
                :meth:`generate`.

        Returns:
            float32 numpy array of images in [0, 1].
        """
        x_T = check_data_batch(x_T, self.data_shape, what="x_T")
        labels = self.check_labels(labels, len(x_T))
        out = self._run_sampler(tf.constant(x_T), seed_pair(seed), labels, sampler, steps, eta, spacing,
                                guidance_scale)
        return np.asarray(out, dtype=np.float32)

    # ------------------------------------------------------------ likelihood
    def data_options(self, split):
        """8-bit images in [0, 1] as they are (the bound's decoder is discrete)."""
        del split
        return {}

    def prior_kl(self, x0):
        """``KL(q(x_T | x_0) || N(0, I))`` per example (nats); ``x0`` in [-1, 1]."""
        abar = self.schedule("alphas_cumprod")[-1]
        kl = normal_kl(tf.sqrt(abar) * x0, (1.0 - abar) * tf.ones_like(x0), tf.zeros_like(x0), tf.ones_like(x0))
        return tf.reduce_sum(tf.reshape(kl, [tf.shape(x0)[0], -1]), axis=1)

    @tf.function(reduce_retracing=True)
    def _bound_terms(self, x0, t, noise, labels):
        """Per-example ``L_t`` (KL for t >= 1, decoder NLL for t = 0), nats."""
        x_t = self.add_noise(x0, noise, t)
        out = to_float32(self.sampling_denoise(x_t, t, labels))
        x0_hat, _ = self.noise_scheduler.predict_start_and_noise(out, t, x_t, clip=False)
        shape = [-1] + [1] * len(self.data_shape)
        gather = lambda name: tf.reshape(tf.gather(self.schedule(name), t), shape)
        betas, abar, abar_prev = gather("betas"), gather("alphas_cumprod"), gather("alphas_cumprod_prev")
        c0 = tf.sqrt(abar_prev) * betas / (1.0 - abar)
        ct = tf.sqrt(1.0 - betas) * (1.0 - abar_prev) / (1.0 - abar)
        model_mean = c0 * x0_hat + ct * x_t
        true_mean = c0 * x0 + ct * x_t
        variance = tf.maximum(gather("posterior_variance"), 1e-20)
        kl = 0.5 * tf.square(true_mean - model_mean) / variance
        decoder_nll = -discretized_gaussian_log_likelihood(x0, model_mean, tf.sqrt(betas))
        terms = tf.where(tf.reshape(t, shape) > 0, kl, decoder_nll)
        return tf.reduce_sum(tf.reshape(terms, [tf.shape(x0)[0], -1]), axis=1)

    def log_prob_batch(self, x, labels=None, t_samples=50, seed=None, **kwargs):
        """A lower bound on log p(x) (nats per example): minus the DDPM variational bound.

        ``-log p(x) <= L_T + sum_{t=1}^{T-1} L_t + L_0``: the prior KL
        ``L_T`` (exact), the decoder term ``L_0`` (one draw of ``x_1``) and the
        KL terms ``L_t`` between the true posterior and the model's reverse
        step (variance ``beta_tilde_t``). The sum over ``t`` uses
        ``t_samples`` strata of ``{1..T-1}`` with one uniform ``t`` per stratum
        and example, weighted by the stratum size: an unbiased estimate of the
        bound (exact in ``t`` when ``t_samples >= T - 1``; each term still uses
        one draw of ``x_t``, so the estimate is stochastic, reproducible by
        ``seed``).

        Args:
            x: batch tensor in [0, 1] (8-bit values).
            labels: int labels ``(N,)`` of a class-conditional model (the bound
                is then on log p(x | y)).
            t_samples: number of strata / network passes for the KL sum.
            seed: stateless seed tensor of shape [2] (random if None).

        Returns:
            float32 tensor of shape (N,).
        """
        del kwargs
        t_samples = check_positive_int(t_samples, "t_samples")
        x = tf.cast(x, tf.float32)
        x0 = 2.0 * x - 1.0
        n = tf.shape(x0)[0]
        labels = self._label_tensor(labels)
        if seed is None:
            seed = tf.random.uniform([2], 0, 2**31 - 1, dtype=tf.int32)
        span = self.num_train_timesteps - 1
        strata = min(t_samples, span)
        edges = [1 + (k * span) // strata for k in range(strata + 1)] if span else [1]
        noise_shape = tf.concat([[n], tf.constant(self.data_shape, tf.int32)], 0)

        def draw(index):
            return tf.random.stateless_normal(noise_shape, tf.random.experimental.stateless_fold_in(seed, index))

        total = self.prior_kl(x0)
        total += self._bound_terms(x0, tf.zeros([n], tf.int32), draw(0), labels)
        for k in range(strata):
            low, high = edges[k], edges[k + 1]
            u = tf.random.stateless_uniform([n], tf.random.experimental.stateless_fold_in(seed, 10_000 + k))
            t = tf.minimum(low + tf.cast(u * (high - low), tf.int32), high - 1)
            total += float(high - low) * self._bound_terms(x0, t, draw(k + 1), labels)
        return -total
