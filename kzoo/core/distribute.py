"""Scale-out through ``tf.distribute`` strategies.

kzoo models need nothing special to run under a strategy: build and compile
them inside ``strategy.scope()`` and call ``fit``; the shared train step
divides the loss by the number of replicas.

A multi-worker run (``MultiWorkerMirroredStrategy``) is configured by the
``TF_CONFIG`` environment variable of each worker process:
:func:`multiworker_task` checks it and :func:`is_chief` tells the one worker
that writes files (the ``"chief"`` task, else ``"worker"`` 0) from the others.
"""

import functools
import json
import os

import tensorflow as tf

STRATEGIES = ("none", "mirrored", "multiworker", "tpu")

#: The task types a ``MultiWorkerMirroredStrategy`` trains on.
WORKER_TASKS = ("chief", "worker")

TF_CONFIG_EXAMPLE = ('{"cluster": {"worker": ["host1:12345", "host2:12345"]}, '
                     '"task": {"type": "worker", "index": 0}}')


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


def multiworker_task(tf_config=None):
    """Checks a ``TF_CONFIG`` for ``MultiWorkerMirroredStrategy`` and returns this process's task.

    Args:
        tf_config: the JSON text of ``TF_CONFIG``; None reads the environment
            variable.

    Returns:
        ``(task_type, task_index, num_workers)``: ``task_type`` is
        ``"chief"`` or ``"worker"``; ``num_workers`` counts the chief and
        the workers.

    Raises:
        ValueError: ``TF_CONFIG`` is missing, is not JSON, lacks a
            ``cluster`` of ``"host:port"`` lists under ``chief``/``worker``
            or a ``task`` with ``type`` and ``index``, or names a task that
            is not in the cluster.
    """
    text = os.environ.get("TF_CONFIG") if tf_config is None else tf_config
    expected = f"a JSON object such as TF_CONFIG='{TF_CONFIG_EXAMPLE}' (one per worker, differing in task.index)"
    if not text or not text.strip():
        raise ValueError(f"distribute='multiworker' needs the TF_CONFIG environment variable: {expected}; "
                         "TF_CONFIG is not set.")
    try:
        config = json.loads(text)
    except json.JSONDecodeError as err:
        raise ValueError(f"TF_CONFIG is not valid JSON ({err.msg} at character {err.pos}): got {text!r}; "
                         f"expected {expected}.") from None
    if not isinstance(config, dict):
        raise ValueError(f"TF_CONFIG must be a JSON object, got {text!r}; expected {expected}.")
    cluster, task = config.get("cluster"), config.get("task")
    if not isinstance(cluster, dict) or not cluster:
        raise ValueError(f"TF_CONFIG has no \"cluster\" object (got {cluster!r}); expected {expected}.")
    for name, addresses in cluster.items():
        if (not isinstance(addresses, list) or not addresses
                or not all(isinstance(a, str) and a.rpartition(":")[2].isdigit() and a.rpartition(":")[0]
                           for a in addresses)):
            raise ValueError(f"TF_CONFIG cluster[{name!r}] must be a non-empty list of \"host:port\" strings, got "
                             f"{addresses!r}.")
    unknown = sorted(set(cluster) - set(WORKER_TASKS))
    if unknown:
        raise ValueError(f"TF_CONFIG cluster has task types {unknown} that a multi-worker kzoo train does not use; "
                         f"expected only {' and '.join(WORKER_TASKS)}.")
    if len(cluster.get("chief", [])) > 1:
        raise ValueError(f"TF_CONFIG cluster has {len(cluster['chief'])} chief tasks {cluster['chief']}; expected "
                         "at most one.")
    if not isinstance(task, dict) or "type" not in task or "index" not in task:
        raise ValueError(f"TF_CONFIG has no \"task\" object with \"type\" and \"index\" (got {task!r}); "
                         f"expected {expected}.")
    task_type, index = task["type"], task["index"]
    if task_type not in cluster:
        raise ValueError(f"TF_CONFIG task type {task_type!r} is not in its cluster (task types: "
                         f"{', '.join(sorted(cluster))}).")
    if isinstance(index, bool) or not isinstance(index, int) or not 0 <= index < len(cluster[task_type]):
        raise ValueError(f"TF_CONFIG task index {index!r} is not an index into cluster[{task_type!r}] "
                         f"({len(cluster[task_type])} address(es)); expected 0 to {len(cluster[task_type]) - 1}.")
    return task_type, index, sum(len(cluster[t]) for t in WORKER_TASKS if t in cluster)


def is_chief(strategy=None):
    """Whether this process writes the run's files under ``strategy``.

    The chief is the ``"chief"`` task, or ``"worker"`` 0 of a cluster
    without one (the ``tf.distribute`` convention). A single-process strategy
    (none, mirrored, TPU) is always its own chief.

    Args:
        strategy: a ``tf.distribute.Strategy``; None for the current one.

    Returns:
        bool.
    """
    resolver = _multiworker_resolver(strategy)
    if resolver is None:
        return True
    return chief_task(resolver.task_type, resolver.task_id, resolver.cluster_spec().as_dict())


def _multiworker_resolver(strategy):
    """The cluster resolver of a multi-worker ``strategy`` (None for the current one); None if not multi-worker."""
    strategy = strategy or tf.distribute.get_strategy()
    resolver = getattr(strategy, "cluster_resolver", None)
    return resolver if isinstance(strategy, tf.distribute.MultiWorkerMirroredStrategy) else None


def chief_task(task_type, task_id, cluster):
    """Whether the task ``(task_type, task_id)`` of ``cluster`` is the chief.

    Args:
        task_type: ``"chief"``, ``"worker"`` (or None outside a cluster).
        task_id: the task's index.
        cluster: the cluster spec as a dict of task type to addresses.

    Returns:
        True for the ``"chief"`` task, for ``"worker"`` 0 of a cluster
        without a chief, and outside a cluster; else False.
    """
    if task_type in (None, "chief"):
        return True
    return task_type == "worker" and task_id == 0 and "chief" not in cluster


def num_workers(strategy=None):
    """The number of worker processes of ``strategy`` (1 unless multi-worker).

    Args:
        strategy: a ``tf.distribute.Strategy``; None for the current one.

    Returns:
        int.
    """
    resolver = _multiworker_resolver(strategy)
    if resolver is None:
        return 1
    cluster = resolver.cluster_spec().as_dict()
    return max(1, sum(len(cluster.get(t, ())) for t in WORKER_TASKS))


def workers_agree(value, strategy):
    """Whether every worker of ``strategy`` holds the same number ``value``.

    A collective: every worker must call it at the same point. Every worker
    gets the same answer, so all of them can stop together with one error
    instead of one of them waiting forever for the others.

    Args:
        value: a number (an epoch count, a flag).
        strategy: a ``tf.distribute.Strategy``.

    Returns:
        ``(agree, mean)``: whether all values are equal, and their mean.
    """
    if num_workers(strategy) == 1:
        return True, float(value)
    total, squares, count = (float(t) for t in _sum_over_replicas([float(value), float(value) ** 2, 1.0], strategy))
    # Equal values iff the variance is zero: count * sum(v^2) == sum(v)^2.
    return abs(count * squares - total * total) <= 1e-9 * max(1.0, total * total), total / count


def any_worker(flag, strategy):
    """Whether ``flag`` is true on at least one worker of ``strategy`` (a collective, like :func:`workers_agree`).

    Args:
        flag: this worker's bool.
        strategy: a ``tf.distribute.Strategy``.

    Returns:
        bool, the same on every worker.
    """
    if num_workers(strategy) == 1:
        return bool(flag)
    return float(_sum_over_replicas([float(bool(flag))], strategy)[0]) > 0


def _sum_over_replicas(values, strategy):
    """Sums a list of floats over every replica of ``strategy`` (each local replica contributes once)."""
    local = tf.constant(values, tf.float64)
    return strategy.reduce(tf.distribute.ReduceOp.SUM, strategy.run(lambda: tf.identity(local)), axis=None).numpy()


@functools.lru_cache(maxsize=None)
def _multiworker():
    # One per process: TensorFlow configures its collectives once, at startup.
    return tf.distribute.MultiWorkerMirroredStrategy()


@functools.lru_cache(maxsize=None)
def _tpu(tpu):
    # One per process and TPU: initializing a TPU system again wipes its state.
    try:
        resolver = tf.distribute.cluster_resolver.TPUClusterResolver(tpu=tpu)
        tf.config.experimental_connect_to_cluster(resolver)
        tf.tpu.experimental.initialize_tpu_system(resolver)
    except (ValueError, RuntimeError, OSError, tf.errors.OpError) as err:
        where = f"the TPU {tpu!r}" if tpu else "a TPU (none named, and none found from the environment)"
        reason = str(err).strip().rstrip(".") or type(err).__name__
        raise ValueError(f"Cannot connect to {where}: {reason}. Expected tpu='local' on a TPU VM, or the name or "
                         "grpc://host:port address of a Cloud TPU.") from err
    return tf.distribute.TPUStrategy(resolver)


def make_strategy(kind="none", num_replicas=None, tpu=None):
    """Returns a ``tf.distribute`` strategy by name.

    Args:
        kind: ``"none"`` (default strategy), ``"mirrored"`` (the first
            ``num_replicas`` GPUs, default all of them; ``num_replicas``
            logical CPUs, default 2, on a machine without GPUs),
            ``"multiworker"`` (``MultiWorkerMirroredStrategy`` over every
            GPU of every worker, or one CPU replica per worker, configured
            by ``TF_CONFIG``; see :func:`multiworker_task`) or ``"tpu"``
            (``TPUStrategy``).
        num_replicas: replicas of ``"mirrored"``; see :func:`mirrored_devices`.
        tpu: for ``"tpu"``: ``"local"`` (a TPU VM), a Cloud TPU name or a
            ``grpc://host:port`` address; None resolves it from the
            environment (``TPU_NAME`` on Cloud TPU).

    Returns:
        A ``tf.distribute.Strategy``; mirrored, multi-worker and TPU
        strategies are created once per process (and device set or TPU),
        then reused. Create a multi-worker one before TensorFlow runs any
        op.

    Raises:
        ValueError: unknown strategy name, more replicas than devices,
            ``num_replicas`` with a strategy other than ``"mirrored"``, a
            missing or malformed ``TF_CONFIG`` for ``"multiworker"``, or a
            TPU that cannot be reached.
    """
    if kind not in STRATEGIES:
        raise ValueError(f"distribute must be one of {', '.join(STRATEGIES)}, got {kind!r}.")
    if num_replicas is not None and kind in ("multiworker", "tpu"):
        raise ValueError(f"num_replicas applies to distribute='mirrored', got num_replicas={num_replicas!r} with "
                         f"distribute={kind!r} (which uses every device of every worker).")
    if tpu is not None and kind != "tpu":
        raise ValueError(f"tpu={tpu!r} applies to distribute='tpu', got distribute={kind!r}.")
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
        multiworker_task()
        return _multiworker()
    return _tpu(tpu)
