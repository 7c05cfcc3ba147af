"""Writes the codes of fixed images as a TensorBoard Embedding Projector setup."""

import math
import os

import numpy as np
import keras

from kzoo.core.imaging import atomic_write
from kzoo.core.validation import as_real_array, check_positive_int

#: Largest sprite side the projector accepts, in pixels.
MAX_SPRITE_SIDE = 8192
METADATA_FILE = "metadata.tsv"
SPRITE_FILE = "sprite.png"


def sprite_image(images):
    """Tiles images into the square sprite sheet the projector reads.

    Images fill a ``ceil(sqrt(N))``-wide grid row by row without padding
    (unused cells stay black), as the projector expects.

    Args:
        images: float array ``(N, H, W, C)`` in [0, 1], C = 1 or 3.

    Returns:
        uint8 array ``(side * H, side * W)`` (C = 1) or ``(.., .., 3)``.
    """
    n, height, width, channels = images.shape
    side = int(math.ceil(math.sqrt(n)))
    sheet = np.zeros((side * height, side * width, channels), np.uint8)
    pixels = np.rint(np.clip(images, 0.0, 1.0) * 255).astype(np.uint8)
    for i, image in enumerate(pixels):
        row, col = divmod(i, side)
        sheet[row * height:(row + 1) * height, col * width:(col + 1) * width] = image
    return sheet[..., 0] if channels == 1 else sheet


class EmbeddingProjector(keras.callbacks.Callback):
    """Encodes fixed images and writes them for TensorBoard's Projector tab.

    At the end of training (and, with ``every``, after every ``every``-th
    epoch) the codes of ``x`` are written into ``log_dir``:

    * a checkpoint (``checkpoint``, ``<name>.ckpt-<n>.*``; only the latest is
      kept) of one ``tf.Variable`` holding the ``(N, D)`` codes, saved with
      ``tf.train.Checkpoint(<name>=variable)`` so its tensor name is
      ``<name>/.ATTRIBUTES/VARIABLE_VALUE``;
    * ``metadata.tsv``: one label per line, no header (with ``labels``);
    * ``sprite.png``: the images tiled in a square grid (image data);
    * ``projector_config.pbtxt`` tying them together.

    Then ``tensorboard --logdir LOG_DIR`` shows the codes in the Projector tab
    (PCA, t-SNE, UMAP), coloured by label, each point drawn as its digit.

    Args:
        log_dir: the TensorBoard log folder (may be the one given to
            ``keras.callbacks.TensorBoard``: the projector reads the root).
        x: the fixed images (or examples) to encode, ``(N,) + data_shape``,
            e.g. 1,000 validation images.
        labels: optional int labels ``(N,)`` (also passed to ``encode`` for a
            class-conditional model).
        every: None (end of training only) or write after every ``every``-th
            epoch too.
        encoder: optional ``encoder(model, x) -> (N, D)`` features; default
            ``model.encode`` (VAE, AE, flows ...), flattened. For other
            models pass e.g.
            ``functools.partial(kzoo.analysis.representations, kind="q_codes")``.
        batch_size: images per encoder call (default encoder).
        name: the checkpointed variable's name (a Python identifier).
        sprite: write the sprite sheet (images of rank 3 with 1 or 3
            channels only).

    Raises:
        ValueError: empty or non-numeric ``x``, labels of the wrong length,
            bad ``every``/``batch_size``/``name``, or a sprite that would
            exceed 8192 pixels a side.
    """

    def __init__(self, log_dir, x, labels=None, every=None, encoder=None, batch_size=256, name="embedding",
                 sprite=True):
        super().__init__()
        self.log_dir = os.fspath(log_dir)
        self.x = as_real_array(x, "x", np.float32)
        if self.x.ndim < 2 or len(self.x) == 0:
            raise ValueError(f"x must be a non-empty batch of examples (N, ...), got shape {self.x.shape}.")
        if labels is not None:
            labels = np.asarray(labels)
            if labels.shape != (len(self.x),):
                raise ValueError(f"labels must have shape ({len(self.x)},) like x, got {labels.shape}.")
        self.labels = labels
        self.every = None if every is None else check_positive_int(every, "every")
        if encoder is not None and not callable(encoder):
            raise ValueError(f"encoder must be a callable encoder(model, x), got {type(encoder).__name__}.")
        self.encoder = encoder
        self.batch_size = check_positive_int(batch_size, "batch_size")
        if not isinstance(name, str) or not name.isidentifier():
            raise ValueError(f"name must be a Python identifier (it names a checkpoint attribute), got {name!r}.")
        self.name = name
        image = self.x.ndim == 4 and self.x.shape[-1] in (1, 3)
        self.sprite = bool(sprite) and image
        if self.sprite:
            side = int(math.ceil(math.sqrt(len(self.x))))
            largest = side * max(self.x.shape[1], self.x.shape[2])
            if largest > MAX_SPRITE_SIDE:
                raise ValueError(f"a sprite of {len(self.x)} images of {self.x.shape[1]}x{self.x.shape[2]} would be "
                                 f"{largest} pixels wide, over the projector's {MAX_SPRITE_SIDE}; pass fewer images "
                                 "or sprite=False.")
        self._variable = None
        self._manager = None
        self._last_epoch = None
        self.writes = 0

    @property
    def tensor_name(self):
        """The name of the codes in the checkpoint (the config's ``tensor_name``)."""
        return f"{self.name}/.ATTRIBUTES/VARIABLE_VALUE"

    def _features(self):
        model = self.model
        if self.encoder is not None:
            features = self.encoder(model, self.x)
        elif callable(getattr(model, "encode", None)):
            kwargs = {"batch_size": self.batch_size}
            if getattr(model, "codes_take_labels", False):
                kwargs["labels"] = self.labels
            features = model.encode(self.x, **kwargs)
        else:
            raise ValueError(f"{type(model).__name__} has no encode(); pass encoder=fn(model, x) to "
                             "EmbeddingProjector (e.g. kzoo.analysis.representations with a kind).")
        features = np.asarray(features, np.float32).reshape(len(self.x), -1)
        if not np.all(np.isfinite(features)):
            raise ValueError(f"the codes of {type(model).__name__} hold NaN or infinite values; nothing written.")
        return features

    def write(self, step=None):
        """Encodes ``x`` and writes the projector files now; returns the checkpoint path."""
        import tensorflow as tf
        from tensorboard.plugins import projector

        features = self._features()
        os.makedirs(self.log_dir, exist_ok=True)
        if self._variable is None:
            self._variable = tf.Variable(features, trainable=False, name=self.name)
            checkpoint = tf.train.Checkpoint(**{self.name: self._variable})
            self._manager = tf.train.CheckpointManager(checkpoint, self.log_dir, max_to_keep=1,
                                                       checkpoint_name=f"{self.name}.ckpt")
        else:
            self._variable.assign(features)
        path = self._manager.save(checkpoint_number=step)

        config = projector.ProjectorConfig()
        embedding = config.embeddings.add()
        embedding.tensor_name = self.tensor_name
        if self.labels is not None:
            text = "".join(f"{str(label).replace(chr(9), ' ')}\n" for label in self.labels.tolist())

            def write_metadata(tmp):
                with open(tmp, "w", encoding="utf-8") as handle:
                    handle.write(text)

            atomic_write(os.path.join(self.log_dir, METADATA_FILE), write_metadata)
            embedding.metadata_path = METADATA_FILE
        if self.sprite:
            from PIL import Image

            sheet = Image.fromarray(sprite_image(self.x))
            atomic_write(os.path.join(self.log_dir, SPRITE_FILE), lambda tmp: sheet.save(tmp, format="PNG"))
            embedding.sprite.image_path = SPRITE_FILE
            embedding.sprite.single_image_dim.extend([int(self.x.shape[2]), int(self.x.shape[1])])  # width, height
        projector.visualize_embeddings(self.log_dir, config)
        self.writes += 1
        return path

    def on_epoch_end(self, epoch, logs=None):
        if self.every is not None and (epoch + 1) % self.every == 0:
            self.write(step=epoch + 1)
            self._last_epoch = epoch

    def on_train_begin(self, logs=None):
        self._last_epoch = None
        self._epoch = -1

    def on_epoch_begin(self, epoch, logs=None):
        self._epoch = epoch

    def on_train_end(self, logs=None):
        epoch = getattr(self, "_epoch", -1)
        if self._last_epoch is None or self._last_epoch != epoch:
            self.write(step=epoch + 1 if epoch >= 0 else None)
