"""Scale-out through ``tf.distribute`` strategies.

kzoo models need nothing special to run under a strategy: build and compile
them inside ``strategy.scope()`` and call ``fit``; the shared train step
divides the loss by the number of replicas.
"""

import functools

import tensorflow as tf

STRATEGIES = ("none", "mirrored", "multiworker", "tpu")


@functools.lru_cache(maxsize=None)
def _mirrored(devices):
    # One strategy object per device set and process: separate MirroredStrategy
    # objects can reuse collective instance keys and mix up the all-reduces of
    # different models.
    return tf.distribute.MirroredStrategy(list(devices) if devices else None)


def split_cpu(num_devices):
    """Splits the physical CPU into ``num_devices`` logical devices.

    Must run before TensorFlow initializes its devices (before any op). Lets a
    CPU-only machine run a ``MirroredStrategy`` with several replicas.

    Args:
        num_devices: number of logical CPUs to create.

    Raises:
        RuntimeError: TensorFlow already initialized its devices with another
            number of logical CPUs.
    """
    cpus = tf.config.list_physical_devices("CPU")
    current = tf.config.get_logical_device_configuration(cpus[0])
    if current is not None and len(current) == num_devices:
        return
    try:
        tf.config.set_logical_device_configuration(
            cpus[0], [tf.config.LogicalDeviceConfiguration() for _ in range(num_devices)]
        )
    except RuntimeError as err:
        raise RuntimeError(
            f"Cannot split the CPU into {num_devices} logical devices: TensorFlow is already initialized. "
            "Call kzoo.core.distribute.split_cpu() before building any model or tensor."
        ) from err


def make_strategy(kind="none", num_replicas=None, tpu=None):
    """Returns a ``tf.distribute`` strategy by name.

    Args:
        kind: ``"none"`` (default strategy), ``"mirrored"`` (all local GPUs,
            or ``num_replicas`` logical CPUs on a CPU-only machine),
            ``"multiworker"`` (``MultiWorkerMirroredStrategy`` configured by
            ``TF_CONFIG``) or ``"tpu"``.
        num_replicas: for ``"mirrored"`` without GPUs, how many logical CPUs
            to use (default 2).
        tpu: TPU name or address for ``"tpu"`` (default: the local TPU).

    Returns:
        A ``tf.distribute.Strategy``; mirrored strategies are created once
        per process and device set, then reused.

    Raises:
        ValueError: unknown strategy name.
    """
    if kind not in STRATEGIES:
        raise ValueError(f"distribute must be one of {', '.join(STRATEGIES)}, got {kind!r}.")
    if kind == "none":
        return tf.distribute.get_strategy()
    if kind == "mirrored":
        if tf.config.list_physical_devices("GPU"):
            return _mirrored(None)
        split_cpu(num_replicas or 2)
        devices = [d.name for d in tf.config.list_logical_devices("CPU")][: num_replicas or 2]
        return _mirrored(tuple(devices))
    if kind == "multiworker":
        return tf.distribute.MultiWorkerMirroredStrategy()
    resolver = tf.distribute.cluster_resolver.TPUClusterResolver(tpu=tpu or "")
    tf.config.experimental_connect_to_cluster(resolver)
    tf.tpu.experimental.initialize_tpu_system(resolver)
    return tf.distribute.TPUStrategy(resolver)
