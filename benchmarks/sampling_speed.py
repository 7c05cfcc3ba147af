"""Sampling speed of every registered model: images per second of ``generate`` at several batch sizes.

Each model runs at its shipped entry in saved_models/ (``<model>-mnist`` when
there are several, e.g. ``vae-mnist`` rather than ``beta-vae-4-mnist``) with the
entry's default ``generate`` options; a model without an entry is built with
its default constructor arguments and random weights (speed does not depend
on the weights) and the table says so. For each batch size ``b``:

* one warm-up call ``generate(b, batch_size=b)`` traces and compiles the
  sampler for that shape (its time is reported as ``first call``);
* then ``--repeats`` timed repeats, each of as many calls as fill
  ``--min-time`` seconds (fast models make one call in milliseconds), and the
  median over the repeats is reported as images per second.

A size whose call would take longer than ``--max-call-seconds`` is skipped
and the table says so (the estimate: a line through the two largest sizes
measured, a fixed cost per call plus a cost per image; after one size,
proportional to the batch size, an upper bound): the sequential samplers
(pixel-by-pixel autoregressive models, MAF's inverse, DDPM's denoising loop)
would otherwise take minutes per cell on a CPU.

This measures ``generate`` alone, across models. ``benchmarks/ar_sampling.py``
compares the three samplers of the convolutional autoregressive models, and
``benchmarks/diffusion_sampling.py`` DDPM/DDIM step counts against FID.

Usage (from the repository root)::

    python benchmarks/sampling_speed.py --out runs/sampling_speed.json
    python benchmarks/sampling_speed.py --models vae dcgan ddpm-cond-mnist --batch-sizes 1 64
"""

import argparse
import os
import platform
import statistics
import sys
import time

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

import numpy as np  # noqa: E402

from common import targets, write_json  # noqa: E402

DEFAULT_BATCH_SIZES = (1, 16, 64, 256)


def parse_args(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--models", nargs="+", metavar="NAME",
                        help="registered model names (see `kzoo list --models`) or entry names (default: every "
                             "registered model)")
    parser.add_argument("--batch-sizes", nargs="+", type=int, default=list(DEFAULT_BATCH_SIZES),
                        help=f"batch sizes, ascending (default {' '.join(map(str, DEFAULT_BATCH_SIZES))})")
    parser.add_argument("--repeats", type=int, default=3, help="timed repeats per batch size (default 3)")
    parser.add_argument("--min-time", type=float, default=0.3,
                        help="seconds each repeat lasts at least, by repeating calls (default 0.3)")
    parser.add_argument("--max-call-seconds", type=float, default=10.0,
                        help="skip a batch size whose one call is expected to take longer (default 10)")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--out", metavar="FILE", help="also write the rows as JSON to FILE")
    args = parser.parse_args(argv)
    sizes = args.batch_sizes
    if not sizes or any(b < 1 for b in sizes) or sizes != sorted(set(sizes)):
        parser.error(f"--batch-sizes must be distinct positive integers in ascending order, got {sizes}")
    for name in ("repeats",):
        if getattr(args, name) < 1:
            parser.error(f"--{name} must be a positive integer, got {getattr(args, name)}")
    for name in ("min_time", "max_call_seconds"):
        if not getattr(args, name) > 0:
            parser.error(f"--{name.replace('_', '-')} must be a positive number, got {getattr(args, name)}")
    return args


def build(model_name, entry):
    """The model to time: its entry, else the default configuration with random weights."""
    import keras

    import kzoo
    from kzoo.core.registry import get_model_class

    if entry is not None:
        return kzoo.load(entry), f"entry {entry}"
    keras.utils.set_random_seed(0)
    model_cls = get_model_class(model_name)
    model = model_cls()
    model.build_for_data()
    return model, "random weights (no entry)"


def time_batch(model, batch_size, args):
    """Warm-up call, then ``args.repeats`` timed repeats; returns the row cell dict."""
    tick = time.perf_counter()
    images = np.asarray(model.generate(batch_size, seed=args.seed, batch_size=batch_size))
    first = time.perf_counter() - tick
    if images.shape[0] != batch_size:
        raise RuntimeError(f"generate({batch_size}) returned {images.shape[0]} samples")
    # The first timed call sizes the repeats on a warm sampler (the warm-up call includes tracing): a slow
    # sampler's single call is already long enough and counts as the first repeat.
    seed = args.seed + 1
    tick = time.perf_counter()
    model.generate(batch_size, seed=seed, batch_size=batch_size)
    single = max(time.perf_counter() - tick, 1e-9)
    seed += 1
    calls = max(1, int(np.ceil(args.min_time / single)))
    rates = [batch_size / single] if calls == 1 else []
    while len(rates) < args.repeats:
        tick = time.perf_counter()
        for _ in range(calls):
            model.generate(batch_size, seed=seed, batch_size=batch_size)
            seed += 1
        rates.append(calls * batch_size / (time.perf_counter() - tick))
    rate = statistics.median(rates)
    return {"batch_size": batch_size, "images_per_second": rate, "seconds_per_call": batch_size / rate,
            "first_call_seconds": first, "calls_per_repeat": calls, "repeats": args.repeats,
            "rates": [round(r, 3) for r in rates]}


def predicted_call_seconds(measured, batch_size):
    """Expected seconds of one ``generate(batch_size)`` call from the sizes measured so far, or None.

    With two or more sizes: the line through the two largest (a fixed cost
    per call plus a cost per image), never below the largest one's time;
    with one: proportional to the batch size (an upper bound, since the cost
    per image only falls with the batch size).
    """
    if not measured:
        return None
    b1, t1 = measured[-1]
    if len(measured) == 1:
        return t1 * batch_size / b1
    b0, t0 = measured[-2]
    slope = max((t1 - t0) / (b1 - b0), 0.0)
    return max(t1 + slope * (batch_size - b1), t1)


def measure(model_name, entry, args):
    model, weights = build(model_name, entry)
    row = {"model": model_name, "family": getattr(model, "family", None), "weights": weights,
           "parameters": int(sum(int(np.prod(w.shape)) for w in model.weights)), "cells": []}
    measured = []  # (batch size, seconds per call)
    for batch_size in args.batch_sizes:
        expected = predicted_call_seconds(measured, batch_size)
        if expected is not None and expected > args.max_call_seconds:
            cell = {"batch_size": batch_size, "skipped": True, "expected_seconds_per_call": expected,
                    "reason": f"one call would take ~{expected:.0f} s (> --max-call-seconds {args.max_call_seconds:g})"}
            print(f"  {model_name} b={batch_size}: skipped, {cell['reason']}", flush=True)
        else:
            cell = time_batch(model, batch_size, args)
            measured.append((batch_size, cell["seconds_per_call"]))
            print(f"  {model_name} b={batch_size}: {cell['images_per_second']:.1f} images/s "
                  f"(first call {cell['first_call_seconds']:.1f} s, {cell['calls_per_repeat']} calls x "
                  f"{cell['repeats']} repeats)", flush=True)
        row["cells"].append(cell)
    return row


def _rate_text(cell):
    if cell.get("skipped"):
        return f"skipped (~{cell['expected_seconds_per_call']:.0f} s/call)"
    rate = cell["images_per_second"]
    return f"{rate:,.0f}" if rate >= 100 else f"{rate:.3g}"


def markdown(rows, batch_sizes):
    """The rows as a Markdown table: one column of images/s per batch size."""
    from kzoo.evaluation.compare import to_markdown

    columns = [("model", "model"), ("family", "family"), ("weights", "weights"), ("parameters", "parameters")]
    columns += [(f"b{b}", f"images/s, b={b}") for b in batch_sizes]
    columns += [("first_call", "first call (s), largest b")]
    table_rows = []
    for row in rows:
        cells = {cell["batch_size"]: cell for cell in row["cells"]}
        measured = [c for c in row["cells"] if not c.get("skipped")]
        shown = {"model": row["model"], "family": row["family"], "weights": row["weights"],
                 "parameters": row["parameters"],
                 "first_call": f"{measured[-1]['first_call_seconds']:.2f} (b={measured[-1]['batch_size']})"}
        shown.update({f"b{b}": _rate_text(cells[b]) for b in batch_sizes})
        table_rows.append(shown)
    return to_markdown(table_rows, columns, note=False)


def main(argv=None):
    args = parse_args(argv)
    import tensorflow as tf

    plan = targets(args.models, "sampling_speed.py")
    print(f"{len(plan)} models, batch sizes {args.batch_sizes}; TF {tf.__version__}, "
          f"{platform.processor() or platform.machine()}, {os.cpu_count()} CPUs", flush=True)
    rows = []
    start = time.perf_counter()
    for index, (model_name, entry) in enumerate(plan, 1):
        print(f"[{index}/{len(plan)}] {model_name} ({entry or 'no entry'})", flush=True)
        rows.append(measure(model_name, entry, args))
        if args.out:
            _write(args, rows, time.perf_counter() - start)
    table = markdown(rows, args.batch_sizes)
    print()
    print(table)
    print(f"\nMedian of {args.repeats} repeats of >= {args.min_time:g} s each after a warm-up call per batch size; "
          f"default generate options; skipped: a call expected to exceed {args.max_call_seconds:g} s. "
          f"Total {time.perf_counter() - start:.0f} s.")
    if args.out:
        _write(args, rows, time.perf_counter() - start)
        print(f"Wrote {args.out}")
    return rows


def _write(args, rows, seconds):
    write_json(args.out, {"argv": sys.argv[1:], "batch_sizes": args.batch_sizes, "repeats": args.repeats,
                          "min_time": args.min_time, "max_call_seconds": args.max_call_seconds,
                          "cpus": os.cpu_count(), "seconds": round(seconds, 1), "rows": rows})


if __name__ == "__main__":
    main()
