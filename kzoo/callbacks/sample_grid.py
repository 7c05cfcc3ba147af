"""Writes a grid of fixed-seed samples to TensorBoard (and PNG) every epoch."""

import os

import tensorflow as tf
import keras

from kzoo.core.imaging import make_grid, save_png
from kzoo.core.validation import check_positive_int


class SampleGrid(keras.callbacks.Callback):
    """Logs ``model.generate(n, seed)`` as an image every ``every`` epochs.

    The grid goes to ``<log_dir>/train`` under the tag ``samples``, the run
    that ``keras.callbacks.TensorBoard(log_dir)`` writes its training scalars
    to, so scalars and samples show side by side in TensorBoard. The seed is
    fixed, so successive grids show how the same latent draws evolve.

    Args:
        log_dir: TensorBoard log folder (the one given to
            ``keras.callbacks.TensorBoard``).
        n: number of samples per grid.
        seed: sampling seed.
        every: write after every ``every``-th epoch.
        png_dir: optional folder for ``samples_epoch_XXXX.png`` files.
        sample_kwargs: extra keyword arguments for ``model.generate``.
        source: for an image-to-image model, the examples to translate: the
            grid is ``model.translation_grid(source)``, one row per example
            (its images, their translations and reconstructions), instead of
            samples.

    Raises:
        ValueError: bad ``n`` or ``every``.
    """

    def __init__(self, log_dir, n=64, seed=0, every=1, png_dir=None, sample_kwargs=None, source=None):
        super().__init__()
        self.log_dir = os.fspath(log_dir)
        self.n = check_positive_int(n, "n")
        self.seed = seed
        self.every = check_positive_int(every, "every")
        self.png_dir = png_dir
        self.sample_kwargs = dict(sample_kwargs or {})
        self.source = source
        self._writer = None

    def on_epoch_end(self, epoch, logs=None):
        if (epoch + 1) % self.every:
            return
        if self.source is not None:
            samples, ncols = self.model.translation_grid(self.source)
        else:
            samples, ncols = self.model.generate(self.n, seed=self.seed, **self.sample_kwargs), None
        if samples.ndim != 4:
            return
        grid = make_grid(samples, ncols=ncols)
        if self._writer is None:
            self._writer = tf.summary.create_file_writer(os.path.join(self.log_dir, "train"))
        with self._writer.as_default():
            tf.summary.image("samples", grid[None], step=epoch)
        self._writer.flush()
        if self.png_dir:
            save_png(samples, os.path.join(self.png_dir, f"samples_epoch_{epoch + 1:04d}.png"), scale=2, ncols=ncols)

    def on_train_end(self, logs=None):
        if self._writer is not None:
            self._writer.close()
            self._writer = None
