"""A history of generated images that the discriminator sees in place of the newest ones.

Shrivastava et al. (2017) update the discriminator with a mix of the current
generator's outputs and outputs of earlier generators, so that it does not
forget what it has already rejected and the generator cannot oscillate
between modes it has left; CycleGAN (Zhu et al. 2017) keeps a pool of 50.

The pool fills with the first images it sees (returning them unchanged);
once it is full, each incoming image is, with probability ``swap_rate``,
swapped for a randomly chosen image of the pool (the old one is returned,
the new one takes its place), and otherwise returned as it is. Within one
batch every swap takes a different slot, so at most ``pool_size`` images of
a batch are swapped.

Under ``tf.distribute`` the pool is global: each replica gathers the images
of all replicas, updates an identical copy of the pool from the same random
draws, and returns its own share, so a multi-replica step equals the
single-device step on the global batch.

References:
    Shrivastava et al., "Learning from Simulated and Unsupervised Images
    through Adversarial Training", CVPR 2017.
    Zhu, Park, Isola & Efros, "Unpaired Image-to-Image Translation using
    Cycle-Consistent Adversarial Networks", ICCV 2017.
"""

import tensorflow as tf
import keras

from kzoo.core.validation import check_number, check_positive_int

__all__ = ["ImagePool"]


@keras.saving.register_keras_serializable(package="kzoo", name="ImagePool")
class ImagePool(keras.layers.Layer):
    """A pool of past generated images (a non-trainable state of the model).

    Args:
        pool_size: images kept, >= 1.
        swap_rate: probability that an incoming image is swapped for a
            pooled one once the pool is full, in ``[0, 1]``.
        **kwargs: ``name`` for ``keras.layers.Layer``.

    Call args:
        images: float ``(N, H, W, C)`` (this replica's share of the batch).
        seed: int32 ``(2,)`` stateless seed of this update's draws.

    Returns:
        float32 ``(N, H, W, C)``: the images the discriminator should see.

    Raises:
        ValueError: bad ``pool_size`` or ``swap_rate``.
    """

    def __init__(self, pool_size=50, swap_rate=0.5, **kwargs):
        super().__init__(**kwargs)
        self.pool_size = check_positive_int(pool_size, "pool_size")
        self.swap_rate = check_number(swap_rate, "swap_rate", minimum=0.0, maximum=1.0,
                                      description="a probability in [0, 1]")

    def build(self, input_shape):
        # every replica writes the same value, so the first replica's is the one to keep
        self.images = self.add_weight(shape=(self.pool_size,) + tuple(input_shape[1:]), initializer="zeros",
                                      dtype="float32", trainable=False, autocast=False, name="images",
                                      aggregation="only_first_replica")
        self.count = self.add_weight(shape=(), initializer="zeros", dtype="int32", trainable=False, name="count",
                                     aggregation="only_first_replica")

    def get_config(self):
        config = super().get_config()
        config.update({"pool_size": self.pool_size, "swap_rate": self.swap_rate})
        return config

    def call(self, images, seed):
        images = tf.cast(images, tf.float32)
        context = tf.distribute.get_replica_context()
        replicas = context.num_replicas_in_sync if context is not None else 1
        local = tf.shape(images)[0]
        batch = context.all_gather(images, axis=0) if replicas > 1 else images
        total = tf.shape(batch)[0]
        count = tf.convert_to_tensor(self.count)
        pool = tf.convert_to_tensor(self.images)
        position = tf.range(total)
        filling = position < self.pool_size - count
        # pool full: a swap for each remaining image with probability swap_rate, each into its own random slot
        rest = position - tf.reduce_sum(tf.cast(filling, tf.int32))
        slots = tf.argsort(tf.random.stateless_uniform((self.pool_size,), seed))
        draws = tf.random.stateless_uniform((total,), tf.random.experimental.stateless_fold_in(seed, 1))
        swapping = (~filling) & (rest < self.pool_size) & (draws < self.swap_rate)
        slot = tf.where(filling, count + position, tf.gather(slots, tf.clip_by_value(rest, 0, self.pool_size - 1)))
        returned = tf.where(swapping[:, None, None, None], tf.gather(pool, tf.clip_by_value(slot, 0,
                                                                                            self.pool_size - 1)), batch)
        written = filling | swapping
        indices = tf.boolean_mask(slot, written)[:, None]
        self.images.assign(tf.tensor_scatter_nd_update(pool, indices, tf.boolean_mask(batch, written)))
        self.count.assign(tf.minimum(count + total, self.pool_size))
        if replicas > 1:
            start = tf.cast(context.replica_id_in_sync_group, tf.int32) * local
            returned = returned[start:start + local]
        return returned
