"""Training throughput of every registered model, against a matmul peak and plain-Keras baselines.

For every registered model at its shipped entry's configuration and batch
size (a model without an entry: its defaults at batch 64), under each
``--precisions`` policy:

* **step time**: ``model.fit`` over ``--steps`` batches of the real
  ``kzoo.data`` pipeline (the one ``kzoo train`` uses), after a warm-up fit
  that traces the step; the median over ``--repeats`` such fits, divided by
  the steps. Samples/s is the batch size over it.
* **FLOPs per step**: counted by the TensorFlow profiler over the traced
  graph of one ``train_step`` (forward, backward and optimizer ops; every
  op with a registered FLOP statistic, which covers the convolutions,
  matrix products and element-wise arithmetic). Loop and function bodies
  (a ``tf.while_loop``, a nested ``tf.function``) are not counted, so a
  model whose step has them gets a lower bound, marked ``>=``.
* **achieved FLOP/s** as a fraction of the **matmul peak** of the compute
  dtype, measured in the same run (a square ``tf.matmul`` of
  ``--matmul-size``, best of its repeats, at the start and the end of the
  run; the higher one is the peak).
* **peak resident memory**: the process's high-water mark (``VmHWM``),
  reset before each model is built where Linux allows it
  (``/proc/self/clear_refs``), and its growth over the resident size before
  the build.

``--jit`` adds a column with XLA compilation (``model.compile(jit_compile=
True)``, ``kzoo train --jit-compile``) at float32.

**Baselines** (``--baselines``, on by default): for VAE, DCGAN, PixelCNN and
the DDPM U-Net, the same network with a textbook plain-Keras ``train_step``
(:mod:`throughput_baselines`) is timed in the same way beside the kzoo
model (both without weight averaging, so they do the same work), at
float32. The table reports kzoo/baseline speed ratios (above 1: kzoo is
faster) for kzoo's float32 default and for its best one-flag setting among
those measured.

**Input pipeline** (``--pipeline``, on by default): for the baseline
models, step time on the real ``kzoo.data`` pipeline vs one in-memory
batch repeated (no input work at all) vs the same images read from a
folder of PNG files (``kzoo train --data FOLDER``).

Usage (from the repository root)::

    python benchmarks/throughput.py --out runs/throughput.json
    python benchmarks/throughput.py --models vae pixelcnn --precisions float32 mixed_bfloat16 --jit
    python benchmarks/throughput.py --models vae dcgan pixelcnn ddpm --precisions float32 --jit
"""

import argparse
import math
import os
import platform
import statistics
import sys
import tempfile
import time

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

import numpy as np  # noqa: E402

from common import targets, write_json  # noqa: E402

PRECISIONS = ("float32", "mixed_bfloat16", "mixed_float16")
COMPUTE_DTYPES = {"float32": "float32", "mixed_bfloat16": "bfloat16", "mixed_float16": "float16"}
DEFAULT_BATCH_SIZE = 64
#: Control-flow ops whose bodies the profiler does not count.
CONTROL_FLOW_OPS = ("While", "StatelessWhile", "If", "StatelessIf", "PartitionedCall", "StatefulPartitionedCall")


def parse_args(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--models", nargs="+", metavar="NAME",
                        help="registered model names (see `kzoo list --models`) or entry names (default: every "
                             "registered model)")
    parser.add_argument("--precisions", nargs="+", choices=PRECISIONS, default=list(PRECISIONS),
                        help="dtype policies (default: all three)")
    parser.add_argument("--steps", type=int, default=40, help="steps per timed fit (default 40)")
    parser.add_argument("--repeats", type=int, default=3, help="timed fits; the median is reported (default 3)")
    parser.add_argument("--warmup-steps", type=int, default=3, help="steps of the untimed warm-up fit (default 3)")
    parser.add_argument("--max-cell-seconds", type=float, default=120.0,
                        help="fewer steps per timed fit (down to 5) where the repeats would take longer "
                             "(default 120)")
    parser.add_argument("--batch-size", type=int, help="one batch size for every model (default: each entry's)")
    parser.add_argument("--jit", action="store_true", help="also time XLA compilation at float32")
    parser.add_argument("--no-baselines", dest="baselines", action="store_false",
                        help="skip the plain-Keras baselines")
    parser.add_argument("--no-pipeline", dest="pipeline", action="store_false",
                        help="skip the input-pipeline comparison")
    parser.add_argument("--matmul-size", type=int, default=2048, help="side of the peak matmul (default 2048)")
    parser.add_argument("--out", metavar="FILE", help="also write every measurement as JSON to FILE")
    args = parser.parse_args(argv)
    for name in ("steps", "repeats", "warmup_steps", "matmul_size"):
        if getattr(args, name) < 1:
            parser.error(f"--{name.replace('_', '-')} must be a positive integer, got {getattr(args, name)}")
    if args.batch_size is not None and args.batch_size < 1:
        parser.error(f"--batch-size must be a positive integer, got {args.batch_size}")
    if not args.max_cell_seconds > 0:
        parser.error(f"--max-cell-seconds must be a positive number, got {args.max_cell_seconds}")
    return args


# ----------------------------------------------------------------- machine
def matmul_peak(dtype, size, repeats=5):
    """FLOP/s of the best of ``repeats`` square ``size x size`` matmuls in ``dtype`` (after one warm-up)."""
    import tensorflow as tf

    a = tf.random.normal((size, size), dtype=tf.float32)
    a, b = tf.cast(a, dtype), tf.cast(tf.transpose(a), dtype)
    product = tf.function(lambda a, b: tf.reduce_sum(tf.cast(tf.matmul(a, b)[:1, :1], tf.float32)))
    product(a, b).numpy()
    best = math.inf
    for _ in range(repeats):
        tick = time.perf_counter()
        product(a, b).numpy()
        best = min(best, time.perf_counter() - tick)
    return 2.0 * size ** 3 / best


def _proc_status(key):
    """A ``/proc/self/status`` size in MiB (None off Linux)."""
    try:
        with open("/proc/self/status") as handle:
            for line in handle:
                if line.startswith(key + ":"):
                    return int(line.split()[1]) / 1024.0
    except OSError:
        return None
    return None


def reset_peak_memory():
    """Resets the process's resident high-water mark to its current size; False where Linux does not allow it."""
    try:
        with open("/proc/self/clear_refs", "w") as handle:
            handle.write("5")
        return True
    except OSError:
        return False


# ------------------------------------------------------------------ models
def entry_setup(entry, batch_size):
    """``(constructor config, batch size, dataset name)`` of a model's entry (its defaults without one)."""
    import json

    from kzoo.core.catalog import read_card, resolve_preset

    if entry is None:
        return {}, batch_size or DEFAULT_BATCH_SIZE, "mnist5k"
    folder = resolve_preset(entry)
    config = dict(json.loads((folder / "config.json").read_text())["config"])
    config.pop("dtype", None)  # the precision under test sets the policy
    card = read_card(folder)
    return config, batch_size or card.get("batch_size") or DEFAULT_BATCH_SIZE, card.get("dataset") or "mnist5k"


def build_model(model_name, config, precision, jit_compile=False):
    """A compiled, built kzoo model of ``config`` under ``precision`` (random weights: speed does not need them)."""
    import keras

    from kzoo.core.precision import precision_scope
    from kzoo.core.registry import get_model_class
    from kzoo.training import compile_for_training

    keras.utils.set_random_seed(0)
    with precision_scope(precision):
        model = get_model_class(model_name).from_config(dict(config))
        compile_for_training(model, jit_compile=jit_compile)  # the model's default optimizers, as kzoo train
        model.build_for_data()
    return model


def training_batches(model, data, batch_size, steps, **options):
    """Enough batches of the ``kzoo train`` pipeline for one fit of ``steps`` steps (``options``: of the data)."""
    from kzoo import data as kdata
    from kzoo.data.epochs import epoch_batches
    from kzoo.training import needs_labels

    labels = needs_labels(model, kdata.info(data), data)
    options.update(model.data_options("train"))
    _, per_epoch = epoch_batches(data, "train", batch_size=batch_size, epochs=1, labels=labels, **options)
    dataset, _ = epoch_batches(data, "train", batch_size=batch_size, epochs=math.ceil(steps / per_epoch) + 1,
                               labels=labels, **options)
    return dataset


def in_memory_batches(dataset):
    """The first batch of ``dataset``, repeated forever from memory (no input work per step)."""
    import tensorflow as tf

    first = next(iter(dataset))
    return tf.data.Dataset.from_tensors(first).repeat()


def time_fit(model, dataset, steps, repeats, warmup_steps, max_cell_seconds):
    """Seconds per step of ``model.fit``: the median of ``repeats`` fits of ``steps`` steps after a warm-up fit.

    Returns:
        ``(seconds_per_step, steps_used, all_repeats)``; ``steps_used`` is
        below ``steps`` when the repeats would exceed ``max_cell_seconds``.
    """
    model.fit(dataset, epochs=1, steps_per_epoch=warmup_steps, verbose=0)
    tick = time.perf_counter()
    model.fit(dataset, epochs=1, steps_per_epoch=1, verbose=0)
    single = time.perf_counter() - tick
    steps = max(5, min(steps, int(max_cell_seconds / max(single * repeats, 1e-9))))
    times = []
    for _ in range(repeats):
        tick = time.perf_counter()
        model.fit(dataset, epochs=1, steps_per_epoch=steps, verbose=0)
        times.append((time.perf_counter() - tick) / steps)
    return statistics.median(times), steps, times


def train_step_flops(model, dataset):
    """``(FLOPs of one train_step, lower_bound)`` from the TensorFlow profiler over its traced graph."""
    import tensorflow as tf
    from tensorflow.python.profiler import model_analyzer, option_builder

    # A full batch's static shapes: the profiler skips ops whose shapes it cannot infer.
    batch = next(iter(dataset))
    spec = tf.nest.map_structure(lambda t: tf.TensorSpec(t.shape, t.dtype), batch)
    graph = tf.function(model.train_step).get_concrete_function(spec).graph
    options = (option_builder.ProfileOptionBuilder(option_builder.ProfileOptionBuilder.float_operation())
               .with_empty_output().build())
    flops = model_analyzer.profile(graph, options=options).total_float_ops
    lower_bound = any(op.type in CONTROL_FLOW_OPS for op in graph.get_operations())
    return int(flops), lower_bound


def _clear():
    import gc

    import keras

    keras.backend.clear_session()
    gc.collect()


def measure_model(model_name, entry, args, peaks, flops_cache):
    """One row per precision (and one with XLA under ``--jit``) for ``model_name``."""
    config, batch_size, data = entry_setup(entry, args.batch_size)
    settings = [(p, False) for p in args.precisions]
    if args.jit:
        settings.append(("float32", True))
    rows = []
    for precision, jit in settings:
        _clear()
        label = precision + (" + XLA" if jit else "")
        rss_before = _proc_status("VmRSS")
        hwm_reset = reset_peak_memory()
        row = {"model": model_name, "entry": entry, "precision": precision, "jit_compile": jit,
               "batch_size": batch_size, "dataset": data}
        try:
            model = build_model(model_name, config, precision, jit)
            dataset = training_batches(model, data, batch_size, args.steps)
            seconds, steps, times = time_fit(model, dataset, args.steps, args.repeats, args.warmup_steps,
                                             args.max_cell_seconds)
        except Exception as err:  # a setting a model does not support is a row, not the end of the run
            row["error"] = f"{type(err).__name__}: {str(err).splitlines()[0][:200]}"
            print(f"  {model_name} {label}: failed: {row['error']}", flush=True)
            rows.append(row)
            continue
        if model_name not in flops_cache:
            flops_cache[model_name] = train_step_flops(model, dataset)
        flops, lower_bound = flops_cache[model_name]
        peak = peaks[COMPUTE_DTYPES[precision]]
        hwm = _proc_status("VmHWM")
        row.update({
            "parameters": int(sum(int(np.prod(w.shape)) for w in model.trainable_weights)),
            "seconds_per_step": seconds, "steps_timed": steps, "repeat_seconds_per_step": times,
            "samples_per_second": batch_size / seconds,
            "flops_per_step": flops, "flops_lower_bound": lower_bound,
            "flops_per_second": flops / seconds, "peak_fraction": flops / seconds / peak,
            "peak_rss_mib": hwm, "peak_rss_reset": hwm_reset,
            "rss_growth_mib": None if hwm is None or rss_before is None or not hwm_reset else hwm - rss_before,
        })
        print(f"  {model_name} {label}: {1e3 * seconds:.1f} ms/step, {row['samples_per_second']:.0f} samples/s, "
              f"{'>=' if lower_bound else ''}{flops / 1e9:.2f} GFLOP/step, {100 * row['peak_fraction']:.1f}% of "
              f"peak, RSS {hwm:.0f} MiB", flush=True)
        rows.append(row)
        del model, dataset
    return rows


# ---------------------------------------------------------------- baselines
def measure_baseline(model_name, entry, args):
    """kzoo model vs its plain-Keras baseline at float32 (both without weight averaging), same pipeline."""
    from throughput_baselines import KZOO_OVERRIDES, make_baseline

    config, batch_size, data = entry_setup(entry, args.batch_size)
    config.update(KZOO_OVERRIDES[model_name])
    _clear()
    kzoo_model = build_model(model_name, config, "float32")
    dataset = training_batches(kzoo_model, data, batch_size, args.steps)
    baseline = make_baseline(model_name, kzoo_model)
    row = {"model": model_name, "entry": entry, "batch_size": batch_size, "kzoo_overrides": KZOO_OVERRIDES[model_name]}
    # Interleaved, so that a change of machine load hits both alike.
    kzoo_times, baseline_times = [], []
    for _ in range(args.repeats):
        kzoo_times.append(time_fit(kzoo_model, dataset, args.steps, 1, args.warmup_steps, args.max_cell_seconds)[0])
        baseline_times.append(time_fit(baseline, dataset, args.steps, 1, args.warmup_steps,
                                       args.max_cell_seconds)[0])
    row.update({"kzoo_seconds_per_step": statistics.median(kzoo_times),
                "baseline_seconds_per_step": statistics.median(baseline_times),
                "kzoo_repeats": kzoo_times, "baseline_repeats": baseline_times})
    row["speedup_float32"] = row["baseline_seconds_per_step"] / row["kzoo_seconds_per_step"]
    print(f"  {model_name}: kzoo {1e3 * row['kzoo_seconds_per_step']:.1f} ms/step, baseline "
          f"{1e3 * row['baseline_seconds_per_step']:.1f} ms/step: kzoo {row['speedup_float32']:.2f}x", flush=True)
    if args.pipeline:
        row["pipeline"] = measure_pipeline(kzoo_model, dataset, data, batch_size, args)
    return row


def measure_pipeline(model, dataset, data, batch_size, args):
    """Step time on the real pipeline, on one in-memory batch and on a PNG folder of the same images."""
    from PIL import Image

    from kzoo import data as kdata

    result = {"kzoo_data": time_fit(model, dataset, args.steps, args.repeats, 1, args.max_cell_seconds)[0],
              "in_memory": time_fit(model, in_memory_batches(dataset), args.steps, args.repeats, 1,
                                    args.max_cell_seconds)[0]}
    if not model.is_conditional:
        images = kdata.load_numpy(data, split="train")
        with tempfile.TemporaryDirectory() as folder:
            for index, image in enumerate(np.round(255.0 * images[..., 0]).astype(np.uint8)):
                Image.fromarray(image).save(os.path.join(folder, f"{index:05d}.png"))
            folder_batches = training_batches(model, folder, batch_size, args.steps, color_mode="grayscale")
            result["png_folder"] = time_fit(model, folder_batches, args.steps, args.repeats, 1,
                                            args.max_cell_seconds)[0]
    print("    input pipeline: " + ", ".join(f"{k} {1e3 * v:.1f} ms/step" for k, v in result.items()), flush=True)
    return result


def best_settings(rows, baselines):
    """Adds to each baseline row kzoo's fastest measured setting (from the main rows) and its speed ratio."""
    for base in baselines:
        timed = [r for r in rows if r["model"] == base["model"] and "seconds_per_step" in r]
        if not timed:
            continue
        best = min(timed, key=lambda r: r["seconds_per_step"])
        # The main rows include weight averaging where the entry has it; scale them to the baseline's work.
        default = next((r for r in timed if r["precision"] == "float32" and not r["jit_compile"]), None)
        scale = base["kzoo_seconds_per_step"] / default["seconds_per_step"] if default else 1.0
        base["best_setting"] = best["precision"] + (" + XLA" if best["jit_compile"] else "")
        base["best_seconds_per_step"] = best["seconds_per_step"] * scale
        base["speedup_best"] = base["baseline_seconds_per_step"] / base["best_seconds_per_step"]


# -------------------------------------------------------------------- tables
def _setting(row):
    return row["precision"] + (" + XLA" if row["jit_compile"] else "")


def throughput_table(rows):
    from kzoo.evaluation.compare import to_markdown

    columns = [("model", "model"), ("setting", "setting"), ("batch", "batch"), ("ms", "ms/step"),
               ("sps", "samples/s"), ("gflop", "GFLOP/step"), ("gflops", "GFLOP/s"), ("peak", "% of matmul peak"),
               ("rss", "peak RSS (MiB)")]
    shown = []
    for r in rows:
        if "error" in r:
            shown.append({"model": r["model"], "setting": _setting(r), "batch": str(r["batch_size"]), "ms": r["error"]})
            continue
        mark = ">=" if r["flops_lower_bound"] else ""
        shown.append({"model": r["model"], "setting": _setting(r), "batch": str(r["batch_size"]),
                      "ms": f"{1e3 * r['seconds_per_step']:.1f}", "sps": f"{r['samples_per_second']:,.0f}",
                      "gflop": f"{mark}{r['flops_per_step'] / 1e9:.2f}",
                      "gflops": f"{mark}{r['flops_per_second'] / 1e9:.1f}",
                      "peak": f"{mark}{100 * r['peak_fraction']:.1f}",
                      "rss": "" if r["peak_rss_mib"] is None else f"{r['peak_rss_mib']:.0f}"})
    return to_markdown(shown, columns, note=False)


def baseline_table(baselines):
    from kzoo.evaluation.compare import to_markdown

    columns = [("model", "model"), ("batch", "batch"), ("kzoo", "kzoo float32 ms/step"),
               ("base", "plain Keras ms/step"), ("ratio", "kzoo speed / baseline"), ("best", "kzoo best setting"),
               ("best_ms", "best ms/step"), ("best_ratio", "best speed / baseline")]
    shown = []
    for b in baselines:
        shown.append({"model": b["model"], "batch": str(b["batch_size"]),
                      "kzoo": f"{1e3 * b['kzoo_seconds_per_step']:.1f}",
                      "base": f"{1e3 * b['baseline_seconds_per_step']:.1f}", "ratio": f"{b['speedup_float32']:.2f}x",
                      "best": b.get("best_setting", ""),
                      "best_ms": f"{1e3 * b['best_seconds_per_step']:.1f}" if "best_seconds_per_step" in b else "",
                      "best_ratio": f"{b['speedup_best']:.2f}x" if "speedup_best" in b else ""})
    return to_markdown(shown, columns, note=False)


def pipeline_table(baselines):
    from kzoo.evaluation.compare import to_markdown

    columns = [("model", "model"), ("mem", "in-memory batch ms/step"), ("kd", "kzoo.data ms/step"),
               ("kd_ratio", "kzoo.data / in-memory"), ("png", "PNG folder ms/step"), ("png_ratio", "PNG / in-memory")]
    shown = []
    for b in baselines:
        p = b.get("pipeline")
        if not p:
            continue
        row = {"model": b["model"], "mem": f"{1e3 * p['in_memory']:.1f}", "kd": f"{1e3 * p['kzoo_data']:.1f}",
               "kd_ratio": f"{p['kzoo_data'] / p['in_memory']:.2f}"}
        if "png_folder" in p:
            row.update(png=f"{1e3 * p['png_folder']:.1f}", png_ratio=f"{p['png_folder'] / p['in_memory']:.2f}")
        shown.append(row)
    return to_markdown(shown, columns, note=False)


def main(argv=None):
    args = parse_args(argv)
    import tensorflow as tf

    plan = targets(args.models, "throughput.py")
    print(f"{len(plan)} models, precisions {', '.join(args.precisions)}{' + XLA' if args.jit else ''}; TF "
          f"{tf.__version__}, {platform.processor() or platform.machine()}, {os.cpu_count()} CPUs", flush=True)
    start = time.perf_counter()
    dtypes = sorted({COMPUTE_DTYPES[p] for p in args.precisions} | {"float32"})
    peaks = {d: matmul_peak(d, args.matmul_size) for d in dtypes}
    print("matmul peak: " + ", ".join(f"{d} {v / 1e9:.1f} GFLOP/s" for d, v in peaks.items()), flush=True)
    document = {"argv": sys.argv[1:], "cpus": os.cpu_count(), "tensorflow": tf.__version__,
                "matmul_size": args.matmul_size, "steps": args.steps, "repeats": args.repeats,
                "flops_source": "tensorflow profiler, float_operation over the traced train_step graph",
                "rows": [], "baselines": []}
    flops_cache = {}
    for index, (model_name, entry) in enumerate(plan, 1):
        print(f"[{index}/{len(plan)}] {model_name} ({entry or 'no entry: defaults'})", flush=True)
        document["rows"] += measure_model(model_name, entry, args, peaks, flops_cache)
        if args.out:
            write_json(args.out, document)
    if args.baselines:
        from throughput_baselines import KZOO_OVERRIDES

        for model_name, entry in plan:
            if model_name in KZOO_OVERRIDES:
                print(f"[baseline] {model_name}", flush=True)
                document["baselines"].append(measure_baseline(model_name, entry, args))
                if args.out:
                    write_json(args.out, document)
        best_settings(document["rows"], document["baselines"])
    end_peaks = {d: matmul_peak(d, args.matmul_size) for d in dtypes}
    document["matmul_peak_flops"] = {d: max(peaks[d], end_peaks[d]) for d in dtypes}
    document["matmul_peak_flops_start_end"] = {d: [peaks[d], end_peaks[d]] for d in dtypes}
    for row in document["rows"]:  # against the higher of the two peak measurements
        if "flops_per_second" in row:
            peak = document["matmul_peak_flops"][COMPUTE_DTYPES[row["precision"]]]
            row["peak_fraction"] = row["flops_per_second"] / peak
    document["seconds"] = round(time.perf_counter() - start, 1)
    print("\n" + throughput_table(document["rows"]))
    print("\nmatmul peak (best of start and end): " + ", ".join(
        f"{d} {v / 1e9:.1f} GFLOP/s" for d, v in document["matmul_peak_flops"].items()))
    if document["baselines"]:
        print("\n" + baseline_table(document["baselines"]))
        if args.pipeline:
            print("\n" + pipeline_table(document["baselines"]))
    print(f"\nMedian of {args.repeats} fits of up to {args.steps} steps after a warm-up fit; FLOPs from the "
          f"TensorFlow profiler (>=: a lower bound, loop bodies not counted). Total {document['seconds']:.0f} s.")
    if args.out:
        write_json(args.out, document)
        print(f"Wrote {args.out}")
    return document


if __name__ == "__main__":
    main()
