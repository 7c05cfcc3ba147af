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


def split_gpu(num_devices, memory_limit_mb=4096):
    """Splits the first physical GPU into ``num_devices`` logical GPUs.

    Must run before TensorFlow initializes its devices. Lets a machine with
    one GPU run a ``MirroredStrategy`` with several replicas (for tests of
    the distributed step; it is not faster than one replica).

    Args:
        num_devices: number of logical GPUs to create.
        memory_limit_mb: GPU memory of each logical GPU, in MiB.

    Raises:
        ValueError: the machine has no GPU.
        RuntimeError: TensorFlow already initialized its devices with another
            number of logical GPUs.
    """
    gpus = tf.config.list_physical_devices("GPU")
    if not gpus:
        raise ValueError("split_gpu needs a GPU; this machine has none (use split_cpu).")
    current = tf.config.get_logical_device_configuration(gpus[0])
    if current is not None and len(current) == num_devices:
        return
    try:
        tf.config.set_logical_device_configuration(
            gpus[0], [tf.config.LogicalDeviceConfiguration(memory_limit=memory_limit_mb) for _ in range(num_devices)]
        )
    except RuntimeError as err:
        raise RuntimeError(
            f"Cannot split the GPU into {num_devices} logical devices: TensorFlow is already initialized. "
            "Call kzoo.core.distribute.split_gpu() before building any model or tensor."
        ) from err


def mirrored_devices(num_replicas, num_gpus, num_logical_gpus):
    """The devices of a mirrored strategy with ``num_replicas`` replicas.

    Args:
        num_replicas: requested replicas, or None for every GPU (2 logical
            CPUs on a machine without GPUs).
        num_gpus: physical GPUs of the machine.
        num_logical_gpus: logical GPUs TensorFlow shows (more than
            ``num_gpus`` after :func:`split_gpu`).

    Returns:
        ``("GPU", names)`` or ``("CPU", None)`` (the caller takes the first
        ``num_replicas`` logical CPUs). ``names`` are the first
        ``num_replicas`` logical GPUs.

    Raises:
        ValueError: more replicas than GPUs (and the one GPU was not split
            into enough logical devices), or a replica count below 1.
    """
    if num_replicas is not None and (isinstance(num_replicas, bool) or int(num_replicas) != num_replicas
                                     or num_replicas < 1):
        raise ValueError(f"num_replicas must be a positive integer or None, got {num_replicas!r}.")
    if not num_gpus:
        return "CPU", None
    wanted = num_logical_gpus if num_replicas is None else int(num_replicas)
    if wanted > num_logical_gpus:
        hint = (" Call kzoo.core.distribute.split_gpu(N) at the start of the program to split the GPU into N "
                "logical GPUs." if num_gpus == 1 else "")
        raise ValueError(f"num_replicas={wanted} but the machine shows {num_logical_gpus} GPU(s).{hint}")
    return "GPU", tuple(f"/device:GPU:{i}" for i in range(wanted))


def make_strategy(kind="none", num_replicas=None, tpu=None):
    """Returns a ``tf.distribute`` strategy by name.

    Args:
        kind: ``"none"`` (default strategy), ``"mirrored"`` (the first
            ``num_replicas`` GPUs, default all of them; ``num_replicas``
            logical CPUs, default 2, on a machine without GPUs),
            ``"multiworker"`` (``MultiWorkerMirroredStrategy`` configured by
            ``TF_CONFIG``) or ``"tpu"``.
        num_replicas: replicas of ``"mirrored"``; see :func:`mirrored_devices`.
        tpu: TPU name or address for ``"tpu"`` (default: the local TPU).

    Returns:
        A ``tf.distribute.Strategy``; mirrored strategies are created once
        per process and device set, then reused.

    Raises:
        ValueError: unknown strategy name, or more replicas than devices.
    """
    if kind not in STRATEGIES:
        raise ValueError(f"distribute must be one of {', '.join(STRATEGIES)}, got {kind!r}.")
    if kind == "none":
        return tf.distribute.get_strategy()
    if kind == "mirrored":
        device_type, gpus = mirrored_devices(num_replicas, len(tf.config.list_physical_devices("GPU")),
                                             len(tf.config.list_logical_devices("GPU")))
        if device_type == "GPU":
            return _mirrored(gpus)
        split_cpu(num_replicas or 2)
        devices = [d.name for d in tf.config.list_logical_devices("CPU")][: num_replicas or 2]
        return _mirrored(tuple(devices))
    if kind == "multiworker":
        return tf.distribute.MultiWorkerMirroredStrategy()
    resolver = tf.distribute.cluster_resolver.TPUClusterResolver(tpu=tpu or "")
    tf.config.experimental_connect_to_cluster(resolver)
    tf.tpu.experimental.initialize_tpu_system(resolver)
    return tf.distribute.TPUStrategy(resolver)
