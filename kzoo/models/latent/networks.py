"""The convolutional encoder and decoder every latent model shares, so their rows compare.

Encoder: stride-2 4x4 convolutions (``filters``), a dense layer of
``hidden_units`` and a linear output of ``outputs`` units (a code, or the
parameters of a posterior). Decoder: the mirror image, ending in a 3x3
convolution with ``out_channels`` linear outputs per pixel (logits or means
before a sigmoid).
"""

import keras

__all__ = ["check_divisible", "conv_decoder", "conv_encoder", "dense_discriminator", "hidden_features"]


def check_divisible(data_shape, filters):
    """Raises ValueError unless the decoder's upsampling can reach ``data_shape``.

    Args:
        data_shape: ``(H, W, C)``.
        filters: channels of the stride-2 convolutions.

    Raises:
        ValueError: a rank other than 3, or H or W not divisible by
            ``2**len(filters)``.
    """
    if len(data_shape) != 3:
        raise ValueError(f"latent models need image data_shape (H, W, C), got {tuple(data_shape)}.")
    height, width, _ = data_shape
    steps = len(filters)
    if height % (2**steps) or width % (2**steps):
        raise ValueError(
            f"data_shape {tuple(data_shape)} must have height and width divisible by 2**len(filters) = {2**steps}."
        )


def conv_encoder(filters, hidden_units, outputs, name="encoder"):
    """Image -> ``outputs`` linear units.

    Args:
        filters: channels of the stride-2 convolutions.
        hidden_units: width of the dense layer.
        outputs: number of outputs (``latent_dim`` for a code,
            ``2 * latent_dim`` for a diagonal Gaussian).
        name: the model's name.

    Returns:
        A ``keras.Sequential`` (built on its first call, so extra input
        channels such as label planes are fine).
    """
    layers = []
    for i, f in enumerate(filters):
        layers.append(keras.layers.Conv2D(f, 4, strides=2, padding="same", activation="swish", name=f"conv_{i}"))
    layers += [
        keras.layers.Flatten(name="flatten"),
        keras.layers.Dense(hidden_units, activation="swish", name="hidden"),
        keras.layers.Dense(outputs, name="posterior_params"),
    ]
    return keras.Sequential(layers, name=name)


def hidden_features(encoder, x, training=False):
    """The penultimate features of a :func:`conv_encoder`: the ``hidden`` layer's float32 output.

    Args:
        encoder: a network built by :func:`conv_encoder` (called once).
        x: the encoder's input batch.
        training: passed to every layer.

    Returns:
        float32 tensor ``(N, hidden_units)``.
    """
    import tensorflow as tf

    for layer in encoder.layers[:-1]:
        x = layer(x, training=training)
    return tf.cast(x, tf.float32)


def conv_decoder(data_shape, filters, hidden_units, out_channels, name="decoder"):
    """Code -> per-pixel parameters of shape ``data_shape[:2] + (out_channels,)``.

    Args:
        data_shape: ``(H, W, C)``, checked by :func:`check_divisible`.
        filters: the encoder's channels (mirrored here).
        hidden_units: width of the dense layer.
        out_channels: outputs per pixel.
        name: the model's name.

    Returns:
        A ``keras.Sequential``.
    """
    check_divisible(data_shape, filters)
    height, width, _ = data_shape
    base_h, base_w = height // 2 ** len(filters), width // 2 ** len(filters)
    layers = [
        keras.layers.Dense(hidden_units, activation="swish", name="hidden"),
        keras.layers.Dense(base_h * base_w * filters[-1], activation="swish", name="project"),
        keras.layers.Reshape((base_h, base_w, filters[-1]), name="reshape"),
    ]
    for i, f in enumerate(reversed(filters)):
        layers.append(keras.layers.Conv2DTranspose(f, 4, strides=2, padding="same", activation="swish",
                                                   name=f"deconv_{i}"))
    layers.append(keras.layers.Conv2D(out_channels, 3, padding="same", name="pixel_params"))
    return keras.Sequential(layers, name=name)


def dense_discriminator(hidden_units, name="code_discriminator"):
    """Code -> one logit: the discriminator on latent codes of AAE and WAE-GAN.

    Args:
        hidden_units: widths of the hidden layers (leaky ReLU).
        name: the model's name.

    Returns:
        A ``keras.Sequential``.
    """
    layers = [keras.layers.Dense(units, name=f"hidden_{i}") for i, units in enumerate(hidden_units)]
    stacked = []
    for i, layer in enumerate(layers):
        stacked += [layer, keras.layers.LeakyReLU(0.2, name=f"leaky_{i}")]
    stacked.append(keras.layers.Dense(1, name="logit"))
    return keras.Sequential(stacked, name=name)
