"""Sampling speed of the convolutional autoregressive models, three ways.

Times one batch of images (64 MNIST-sized images by default) drawn by:

(a) ``naive``: a Python loop calling ``model.predict`` on the whole batch once
    per sub-pixel (the loop of the keras.io PixelCNN example);
(b) ``compiled``: the same full recomputation, with the loop over sub-pixels
    inside one compiled ``tf.function`` (``tf.while_loop``);
(c) ``cached``: the model's incremental sampler (one compiled loop that
    evaluates each layer only where the new pixel matters).

and prints the ratios a/b, a/c and b/c. Weights are random (speed does not
depend on them); the model has the size of the zoo entry. Graph tracing
is done (and timed) before the runs, so the figures are steady-state
sampling times. The three samplers draw the same images for the same seed;
the script checks it.

A full recomputation costs the same for every sub-pixel, so ``--quick`` (or
``--steps N``) times (a) and (b) on the first sub-pixels only and
extrapolates linearly to the whole image; (c) always runs in full.

Usage::

    python benchmarks/ar_sampling.py            # full run (about 15 minutes on 2 CPU cores)
    python benchmarks/ar_sampling.py --quick    # (a) and (b) on 2 rows, extrapolated
    python benchmarks/ar_sampling.py --model gated_pixelcnn --set filters=32 --set num_layers=6
"""

import argparse
import json
import os
import platform
import time

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

import numpy as np  # noqa: E402
import tensorflow as tf  # noqa: E402
import keras  # noqa: E402

from kzoo.core.base import seed_pair  # noqa: E402
from kzoo.core.registry import get_model_class  # noqa: E402

#: The size of the pretrained entries (saved_models/<model>-mnist).
ZOO_CONFIGS = {
    "pixelcnn": {"filters": 64, "num_blocks": 7},
    "gated_pixelcnn": {"filters": 32, "num_layers": 6},
    "pixelrnn": {"filters": 64, "hidden_units": 32, "num_layers": 2},
}


def parse_args(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--model", default="pixelcnn", choices=sorted(ZOO_CONFIGS))
    parser.add_argument("--set", action="append", metavar="KEY=VALUE", default=[],
                        help="override a constructor argument (JSON value), e.g. --set filters=32")
    parser.add_argument("-n", type=int, default=64, help="images per batch (default 64)")
    parser.add_argument("--size", type=int, default=28, help="image height and width (default 28)")
    parser.add_argument("--steps", type=int, default=None,
                        help="time (a) and (b) on the first STEPS sub-pixels and extrapolate")
    parser.add_argument("--quick", action="store_true", help="same as --steps 2*size (two rows)")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--json", metavar="FILE", help="also write the figures to FILE")
    return parser.parse_args(argv)


def build_model(args):
    config = dict(ZOO_CONFIGS[args.model])
    for pair in args.set:
        key, value = pair.split("=", 1)
        try:
            config[key] = json.loads(value)
        except json.JSONDecodeError:
            config[key] = value
    config["data_shape"] = (args.size, args.size, 1)
    keras.utils.set_random_seed(args.seed)
    model = get_model_class(args.model)(**config)
    model.build_for_data()
    return model, config


def timed(fn):
    start = time.perf_counter()
    out = fn()
    return time.perf_counter() - start, np.asarray(out)


def main(argv=None):
    args = parse_args(argv)
    model, config = build_model(args)
    n = args.n
    total = model.num_dims
    steps = args.steps or (2 * args.size if args.quick else None)
    steps = total if steps is None else max(1, min(steps, total))
    scale = total / steps
    seed = seed_pair(args.seed)
    temperature = tf.constant(1.0)
    x0 = tf.zeros((n,) + model.data_shape)
    step_tensor = tf.constant(steps)

    print(f"{type(model).__name__} {config}: {model.count_params():,} parameters, random weights")
    print(f"batch of {n} images of {args.size}x{args.size}x1 ({total} sub-pixels); TF {tf.__version__}, "
          f"{platform.processor() or platform.machine()}, {os.cpu_count()} CPUs")

    # Tracing, timed apart from sampling.
    trace_compiled, _ = timed(lambda: model._compiled_loop.get_concrete_function(x0, None, seed, temperature,
                                                                                 step_tensor))
    trace_cached, _ = timed(lambda: model._cached_loop.get_concrete_function(n, None, seed, temperature))
    warm_naive, _ = timed(lambda: model.predict(np.zeros((n,) + model.data_shape, np.float32), batch_size=n,
                                                verbose=0))
    print(f"tracing: compiled loop {trace_compiled:.1f} s, cached loop {trace_cached:.1f} s; "
          f"first predict {warm_naive:.1f} s")

    partial = "" if steps == total else f" (timed on {steps} of {total} sub-pixels, extrapolated)"
    t_naive, naive = timed(lambda: model._sample_naive(n, seed, None, temperature, num_steps=steps))
    t_naive *= scale
    print(f"(a) naive    {t_naive:10.2f} s per batch{partial}", flush=True)
    t_compiled, compiled = timed(lambda: model._compiled_loop(x0, None, seed, temperature, step_tensor))
    t_compiled *= scale
    print(f"(b) compiled {t_compiled:10.2f} s per batch{partial}", flush=True)
    t_cached, cached = timed(lambda: model._cached_loop(n, None, seed, temperature))
    print(f"(c) cached   {t_cached:10.2f} s per batch", flush=True)
    print(f"ratios: a/b = {t_naive / t_compiled:.1f}x, a/c = {t_naive / t_cached:.1f}x, "
          f"b/c = {t_compiled / t_cached:.1f}x")

    prefix = np.zeros(total, bool)
    prefix[:steps] = True
    prefix = prefix.reshape(model.data_shape)
    same_ab = np.array_equal(naive, compiled)
    same_bc = np.array_equal(compiled[:, prefix], cached[:, prefix])
    what = "all sub-pixels" if steps == total else f"the first {steps} sub-pixels"
    print(f"identical samples on {what}: naive == compiled: {same_ab}, compiled == cached: {same_bc}")

    result = {
        "model": args.model, "config": config, "parameters": int(model.count_params()), "n": n,
        "image_size": args.size, "timed_steps": steps, "total_steps": total,
        "seconds": {"naive": t_naive, "compiled": t_compiled, "cached": t_cached},
        "ratios": {"a/b": t_naive / t_compiled, "a/c": t_naive / t_cached, "b/c": t_compiled / t_cached},
        "tracing_seconds": {"compiled": trace_compiled, "cached": trace_cached},
        "identical": {"naive_compiled": bool(same_ab), "compiled_cached": bool(same_bc)},
    }
    if args.json:
        with open(args.json, "w") as handle:
            json.dump(result, handle, indent=2)
    return result


if __name__ == "__main__":
    main()
