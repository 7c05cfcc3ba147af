"""Mixed-precision helpers: one flag selects the Keras dtype policy, and kzoo says when it will be slow.

Mixed precision only pays where the hardware computes in the low-precision
dtype: GPUs (float16 from compute capability 7.0, bfloat16 from 8.0), TPUs
(bfloat16), and CPUs with bfloat16 or float16 matrix instructions
(AVX512-BF16, AMX-BF16; AVX512-FP16, AMX-FP16). Elsewhere TensorFlow runs the
low-precision kernels in software, converting every element: measured on a
2-core AVX2 CPU with ``benchmarks/throughput.py`` (README, Performance),
``mixed_bfloat16`` made every convolutional model several times slower than
float32. :func:`precision_warning` says so before a run starts and
:func:`recommended_precision` (``kzoo train --precision auto``) picks the
fastest policy the machine computes natively.
"""

import contextlib

import keras

PRECISIONS = ("float32", "mixed_float16", "mixed_bfloat16")
#: CPU feature flags (``/proc/cpuinfo``) of native low-precision arithmetic.
CPU_FLAGS = {"mixed_bfloat16": ("avx512_bf16", "amx_bf16"), "mixed_float16": ("avx512_fp16", "amx_fp16")}
#: Minimum GPU compute capability of native arithmetic in each policy's dtype.
GPU_CAPABILITY = {"mixed_float16": (7, 0), "mixed_bfloat16": (8, 0)}


@contextlib.contextmanager
def precision_scope(precision):
    """Sets the global Keras dtype policy inside the block, then restores it.

    Models built inside the block compute in the policy's dtype and keep
    float32 variables; losses and TFP math stay float32 in every kzoo model.

    Args:
        precision: ``"float32"``, ``"mixed_float16"`` or ``"mixed_bfloat16"``.

    Raises:
        ValueError: unknown precision name.
    """
    if precision not in PRECISIONS:
        raise ValueError(f"precision must be one of {', '.join(PRECISIONS)}, got {precision!r}.")
    previous = keras.config.dtype_policy()
    keras.config.set_dtype_policy(precision)
    try:
        yield
    finally:
        keras.config.set_dtype_policy(previous)


def cpu_flags(cpuinfo="/proc/cpuinfo"):
    """The CPU feature flags listed in ``cpuinfo`` (an empty set where the file does not exist)."""
    try:
        with open(cpuinfo) as handle:
            for line in handle:
                if line.startswith("flags"):
                    return set(line.partition(":")[2].split())
    except OSError:
        pass
    return set()


def accelerators():
    """``(kind, capabilities)`` of this machine: ``"tpu"``, ``"gpu"`` (their compute capabilities) or ``"cpu"``."""
    import tensorflow as tf

    if tf.config.list_logical_devices("TPU"):
        return "tpu", []
    gpus = tf.config.list_physical_devices("GPU")
    if gpus:
        capabilities = [tf.config.experimental.get_device_details(g).get("compute_capability") for g in gpus]
        return "gpu", [c for c in capabilities if c]
    return "cpu", []


def native_precisions(kind=None, capabilities=(), flags=None):
    """The policies this machine computes natively, fastest first (float32 always last).

    Args:
        kind: ``"cpu"``, ``"gpu"`` or ``"tpu"``; None detects it.
        capabilities: GPU compute capabilities as ``(major, minor)`` pairs.
        flags: CPU feature flags; None reads them.

    Returns:
        A tuple of precision names.
    """
    if kind is None:
        kind, capabilities = accelerators()
    if kind == "tpu":
        return "mixed_bfloat16", "float32"
    if kind == "gpu":
        return tuple(p for p in ("mixed_float16", "mixed_bfloat16")
                     if capabilities and all(tuple(c) >= GPU_CAPABILITY[p] for c in capabilities)) + ("float32",)
    flags = cpu_flags() if flags is None else set(flags)
    return tuple(p for p in ("mixed_bfloat16", "mixed_float16") if flags & set(CPU_FLAGS[p])) + ("float32",)


def recommended_precision(**machine):
    """The precision ``kzoo train --precision auto`` uses: the first of :func:`native_precisions`.

    Float16 on GPUs of compute capability 7.0 and up (with loss scaling;
    every model's ``mixed_float16`` step is checked by the test harness),
    bfloat16 on TPUs and on CPUs with bfloat16 instructions, else float32.

    Args:
        **machine: ``kind``, ``capabilities``, ``flags`` as for
            :func:`native_precisions` (detected when omitted).

    Returns:
        A precision name.
    """
    return native_precisions(**machine)[0]


def precision_warning(precision, **machine):
    """A sentence for the user when ``precision`` runs in software emulation on this machine, else None.

    Args:
        precision: a name from :data:`PRECISIONS`.
        **machine: as for :func:`native_precisions`.

    Returns:
        None, or the warning text naming the precision, the missing hardware
        and the faster choice.
    """
    if precision == "float32":
        return None
    if machine.get("kind") is None:
        machine["kind"], machine["capabilities"] = accelerators()
    native = native_precisions(**machine)
    if precision in native:
        return None
    if machine["kind"] == "gpu":
        needed = "a GPU of compute capability {}.{} or higher".format(*GPU_CAPABILITY[precision])
    else:
        needed = f"a CPU with {' or '.join(f.upper() for f in CPU_FLAGS[precision])} instructions"
    return (f"precision={precision!r} has no native arithmetic on this machine (it needs {needed}): TensorFlow "
            f"emulates it, which is usually several times slower than float32 (benchmarks/throughput.py measures "
            f"it). Use precision={native[0]!r} (or 'auto').")
