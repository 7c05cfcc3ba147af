"""Plain-Keras baselines for ``throughput.py``: the networks of four kzoo models with a textbook ``train_step``.

Each baseline is a ``keras.Model`` subclass whose ``train_step`` is written
the way Keras' own examples write one: a ``tf.GradientTape``, the loss in raw
TensorFlow ops (no TensorFlow Probability, no input checks, no loss-scale
wrapper), ``optimizer.apply_gradients`` and ``keras.metrics.Mean`` trackers.
The networks are the kzoo model's own architecture with fresh weights: the
VAE, DCGAN and DDPM baselines rebuild the kzoo sub-networks from their
configs; the PixelCNN baseline assembles the same layer stack from a plain
masked convolution. So a step-time ratio between a kzoo model and its
baseline measures what kzoo's shared training step (checked inputs, loss
trackers, loss scaling, TFP distributions) costs, not a difference of
networks; :func:`check_same_network` makes sure by counting parameters.

References (the models the baselines follow):
    Kingma & Welling, "Auto-Encoding Variational Bayes", ICLR 2014.
    Radford, Metz & Chintala, "Unsupervised Representation Learning with
    Deep Convolutional Generative Adversarial Networks", ICLR 2016.
    van den Oord, Kalchbrenner & Kavukcuoglu, "Pixel Recurrent Neural
    Networks", ICML 2016.
    Ho, Jain & Abbeel, "Denoising Diffusion Probabilistic Models", NeurIPS
    2020; Salimans & Ho, "Progressive Distillation for Fast Sampling of
    Diffusion Models", ICLR 2022 (the v target).
"""

import numpy as np
import tensorflow as tf
import keras

#: kzoo model name -> constructor overrides that make the kzoo step do the baseline's work (no weight averaging).
KZOO_OVERRIDES = {"vae": {}, "dcgan": {"ema_decay": None, "augment": None}, "pixelcnn": {},
                  "ddpm": {"ema_decay": None}}


def _fresh_copy(network):
    """A new, unbuilt network of ``network``'s class and configuration (new random weights)."""
    return type(network).from_config(network.get_config())


def _mean_trackers(*names):
    return {name: keras.metrics.Mean(name=name) for name in names}


class BaselineVAE(keras.Model):
    """A VAE with a Bernoulli decoder and a diagonal Gaussian posterior, textbook step.

    Args:
        encoder: image -> ``2 * latent_dim`` posterior parameters.
        decoder: code -> per-pixel logits.
        latent_dim: code size.
    """

    def __init__(self, encoder, decoder, latent_dim, **kwargs):
        super().__init__(**kwargs)
        self.encoder, self.decoder, self.latent_dim = encoder, decoder, latent_dim
        self.trackers = _mean_trackers("loss", "reconstruction", "kl")

    @property
    def metrics(self):
        return list(self.trackers.values())

    def call(self, x, training=False):
        loc, _ = tf.split(self.encoder(x, training=training), 2, axis=-1)
        return tf.sigmoid(self.decoder(loc, training=training))

    def train_step(self, data):
        x = tf.cast(data, tf.float32)
        with tf.GradientTape() as tape:
            loc, raw_scale = tf.split(self.encoder(x, training=True), 2, axis=-1)
            scale = tf.nn.softplus(raw_scale) + 1e-4
            z = loc + scale * tf.random.normal(tf.shape(loc))
            logits = self.decoder(z, training=True)
            reconstruction = tf.reduce_sum(tf.nn.sigmoid_cross_entropy_with_logits(labels=x, logits=logits),
                                           axis=[1, 2, 3])
            kl = 0.5 * tf.reduce_sum(tf.square(loc) + tf.square(scale) - 1.0 - 2.0 * tf.math.log(scale), axis=1)
            loss = tf.reduce_mean(reconstruction + kl)
        grads = tape.gradient(loss, self.trainable_variables)
        self.optimizer.apply_gradients(zip(grads, self.trainable_variables))
        for name, value in (("loss", loss), ("reconstruction", reconstruction), ("kl", kl)):
            self.trackers[name].update_state(value)
        return {name: tracker.result() for name, tracker in self.trackers.items()}


class BaselineDCGAN(keras.Model):
    """A GAN with the non-saturating loss: one discriminator and one generator update per step.

    Args:
        generator: code -> images in [-1, 1] (tanh output).
        discriminator: images in [-1, 1] -> one logit.
        latent_dim: code size.
    """

    def __init__(self, generator, discriminator, latent_dim, **kwargs):
        super().__init__(**kwargs)
        self.generator, self.discriminator, self.latent_dim = generator, discriminator, latent_dim
        self.trackers = _mean_trackers("d_loss", "g_loss")

    @property
    def metrics(self):
        return list(self.trackers.values())

    def compile(self, d_optimizer, g_optimizer, **kwargs):
        super().compile(**kwargs)
        self.d_optimizer, self.g_optimizer = d_optimizer, g_optimizer

    def call(self, z, training=False):
        return self.generator(z, training=training)

    def train_step(self, data):
        real = 2.0 * tf.cast(data, tf.float32) - 1.0
        batch = tf.shape(real)[0]
        bce = keras.losses.BinaryCrossentropy(from_logits=True)
        z = tf.random.normal((batch, self.latent_dim))
        with tf.GradientTape() as tape:
            fake = self.generator(z, training=True)
            real_logits = self.discriminator(real, training=True)
            fake_logits = self.discriminator(fake, training=True)
            d_loss = bce(tf.ones_like(real_logits), real_logits) + bce(tf.zeros_like(fake_logits), fake_logits)
        grads = tape.gradient(d_loss, self.discriminator.trainable_variables)
        self.d_optimizer.apply_gradients(zip(grads, self.discriminator.trainable_variables))
        z = tf.random.normal((batch, self.latent_dim))
        with tf.GradientTape() as tape:
            fake_logits = self.discriminator(self.generator(z, training=True), training=True)
            g_loss = bce(tf.ones_like(fake_logits), fake_logits)
        grads = tape.gradient(g_loss, self.generator.trainable_variables)
        self.g_optimizer.apply_gradients(zip(grads, self.generator.trainable_variables))
        self.trackers["d_loss"].update_state(d_loss)
        self.trackers["g_loss"].update_state(g_loss)
        return {name: tracker.result() for name, tracker in self.trackers.items()}


class PlainMaskedConv2D(keras.layers.Conv2D):
    """A ``"same"``-padded, stride-1 convolution of a grey image whose kernel is masked to the raster order.

    Mask ``"A"`` hides the centre tap and everything after it; mask ``"B"``
    keeps the centre. Single channel group only (grey images).

    Args:
        filters: output channels.
        kernel_size: odd kernel size.
        mask_type: ``"A"`` or ``"B"``.
    """

    def __init__(self, filters, kernel_size, mask_type, **kwargs):
        super().__init__(filters, kernel_size, padding="same", **kwargs)
        self.mask_type = mask_type

    def build(self, input_shape):
        super().build(input_shape)
        kh, kw = self.kernel_size
        mask = np.zeros(self.kernel.shape, np.float32)
        mask[: kh // 2] = 1.0
        mask[kh // 2, : kw // 2 + (self.mask_type == "B")] = 1.0
        self.mask = tf.constant(mask)

    def convolution_op(self, inputs, kernel):
        return super().convolution_op(inputs, kernel * tf.cast(self.mask, kernel.dtype))


def plain_pixelcnn_network(data_shape, filters, num_blocks, kernel_size, first_kernel_size, head_units):
    """The PixelCNN stack (mask-A input convolution, residual mask-B blocks, 1x1 head) as a functional model.

    Returns:
        A ``keras.Model`` from images in [-1, 1] to one Bernoulli logit per pixel.
    """
    inputs = keras.Input(data_shape)
    h = PlainMaskedConv2D(filters, first_kernel_size, "A")(inputs)
    for _ in range(num_blocks):
        t = keras.layers.ReLU()(h)
        t = keras.layers.ReLU()(PlainMaskedConv2D(filters // 2, 1, "B")(t))
        t = keras.layers.ReLU()(PlainMaskedConv2D(filters // 2, kernel_size, "B")(t))
        h = keras.layers.Add()([h, PlainMaskedConv2D(filters, 1, "B")(t)])
    h = keras.layers.ReLU()(PlainMaskedConv2D(head_units, 1, "B")(keras.layers.ReLU()(h)))
    return keras.Model(inputs, PlainMaskedConv2D(data_shape[-1], 1, "B")(h), name="pixelcnn")


class BaselinePixelCNN(keras.Model):
    """A binary-pixel PixelCNN trained by teacher-forced cross-entropy (nats per image).

    Args:
        network: images in [-1, 1] -> per-pixel logits.
    """

    def __init__(self, network, **kwargs):
        super().__init__(**kwargs)
        self.network = network
        self.loss_tracker = keras.metrics.Mean(name="loss")

    @property
    def metrics(self):
        return [self.loss_tracker]

    def call(self, x, training=False):
        return self.network(2.0 * x - 1.0, training=training)

    def train_step(self, data):
        x = tf.cast(data, tf.float32)
        with tf.GradientTape() as tape:
            logits = self(x, training=True)
            loss = tf.reduce_mean(tf.reduce_sum(
                tf.nn.sigmoid_cross_entropy_with_logits(labels=x, logits=logits), axis=[1, 2, 3]))
        grads = tape.gradient(loss, self.trainable_variables)
        self.optimizer.apply_gradients(zip(grads, self.trainable_variables))
        self.loss_tracker.update_state(loss)
        return {"loss": self.loss_tracker.result()}


class BaselineDDPM(keras.Model):
    """A DDPM trained on the v target at uniformly drawn timesteps.

    Args:
        unet: ``(x_t, t)`` -> a tensor shaped like ``x_t``.
        alphas_cumprod: the noise schedule's cumulative products, ``(T,)``.
    """

    def __init__(self, unet, alphas_cumprod, **kwargs):
        super().__init__(**kwargs)
        self.unet = unet
        self.alphas_cumprod = tf.constant(np.asarray(alphas_cumprod, np.float32))
        self.loss_tracker = keras.metrics.Mean(name="loss")

    @property
    def metrics(self):
        return [self.loss_tracker]

    def call(self, x, training=False):
        t = tf.fill(tf.shape(x)[:1], tf.shape(self.alphas_cumprod)[0] // 2)
        return self.unet((2.0 * x - 1.0, t), training=training)

    def train_step(self, data):
        x0 = 2.0 * tf.cast(data, tf.float32) - 1.0
        batch = tf.shape(x0)[0]
        t = tf.random.uniform((batch,), 0, tf.shape(self.alphas_cumprod)[0], dtype=tf.int32)
        abar = tf.reshape(tf.gather(self.alphas_cumprod, t), (-1, 1, 1, 1))
        noise = tf.random.normal(tf.shape(x0))
        x_t = tf.sqrt(abar) * x0 + tf.sqrt(1.0 - abar) * noise
        target = tf.sqrt(abar) * noise - tf.sqrt(1.0 - abar) * x0
        with tf.GradientTape() as tape:
            predicted = tf.cast(self.unet((x_t, t), training=True), tf.float32)
            loss = tf.reduce_mean(tf.square(target - predicted))
        grads = tape.gradient(loss, self.trainable_variables)
        self.optimizer.apply_gradients(zip(grads, self.trainable_variables))
        self.loss_tracker.update_state(loss)
        return {"loss": self.loss_tracker.result()}


def make_baseline(model_name, kzoo_model):
    """The compiled plain-Keras baseline of a built kzoo model (its optimizer settings, fresh weights).

    Args:
        model_name: ``"vae"``, ``"dcgan"``, ``"pixelcnn"`` or ``"ddpm"``.
        kzoo_model: the kzoo model whose networks the baseline copies.

    Returns:
        A compiled, built ``keras.Model``.

    Raises:
        ValueError: no baseline for ``model_name``, or a configuration the
            baseline does not cover (a conditional model, a non-Bernoulli
            likelihood, another prediction target).
    """
    m = kzoo_model
    if model_name == "vae":
        if m.likelihood != "bernoulli" or m.is_conditional:
            raise ValueError(f"the VAE baseline covers unconditional Bernoulli VAEs, got likelihood="
                             f"{m.likelihood!r}, num_classes={getattr(m, 'num_classes', None)!r}.")
        baseline = BaselineVAE(_fresh_copy(m.encoder), _fresh_copy(m.decoder), m.latent_dim)
        baseline.compile(optimizer=keras.optimizers.Adam(1e-3))
        baseline(tf.zeros((1,) + m.data_shape))
    elif model_name == "dcgan":
        if m.adversarial_loss != "non_saturating" or m.d_steps != 1:
            raise ValueError(f"the DCGAN baseline covers the non-saturating loss with d_steps=1, got "
                             f"loss={m.adversarial_loss!r}, d_steps={m.d_steps}.")
        baseline = BaselineDCGAN(_fresh_copy(m.generator), _fresh_copy(m.discriminator), m.latent_dim)
        baseline.compile(d_optimizer=keras.optimizers.Adam(2e-4, beta_1=0.5),
                         g_optimizer=keras.optimizers.Adam(2e-4, beta_1=0.5))
        baseline.discriminator(baseline(tf.zeros((1, m.latent_dim))))
    elif model_name == "pixelcnn":
        if m.likelihood != "bernoulli" or m.is_conditional or m.data_shape[-1] != 1:
            raise ValueError(f"the PixelCNN baseline covers unconditional Bernoulli grey-image models, got "
                             f"likelihood={m.likelihood!r}, num_classes={m.num_classes!r}, data_shape={m.data_shape}.")
        baseline = BaselinePixelCNN(plain_pixelcnn_network(m.data_shape, m.filters, m.num_blocks, m.kernel_size,
                                                           m.first_kernel_size, m.head_units))
        baseline.compile(optimizer=keras.optimizers.Adam(1e-3))
        baseline(tf.zeros((1,) + m.data_shape))
    elif model_name == "ddpm":
        if m.prediction_type != "v" or m.is_conditional:
            raise ValueError(f"the DDPM baseline covers unconditional v-prediction, got prediction="
                             f"{m.prediction_type!r}, num_classes={m.num_classes!r}.")
        baseline = BaselineDDPM(_fresh_copy(m.unet), m.noise_scheduler.alphas_cumprod)
        baseline.compile(optimizer=keras.optimizers.Adam(1e-3))
        baseline(tf.zeros((1,) + m.data_shape))
    else:
        raise ValueError(f"no plain-Keras baseline for {model_name!r}; baselines exist for "
                         f"{', '.join(KZOO_OVERRIDES)}.")
    check_same_network(kzoo_model, baseline)
    return baseline


def trainable_parameters(model):
    """The number of trainable parameters of a built model."""
    return int(sum(int(np.prod(v.shape)) for v in model.trainable_variables))


def check_same_network(kzoo_model, baseline):
    """Raises RuntimeError unless the two models train the same number of parameters."""
    ours, theirs = trainable_parameters(kzoo_model), trainable_parameters(baseline)
    if ours != theirs:
        raise RuntimeError(f"the baseline of {kzoo_model.name} trains {theirs} parameters, the kzoo model {ours}: "
                           "they are not the same network.")
