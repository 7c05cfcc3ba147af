"""Mode collapse as a number: modes of Stacked MNIST reached by each unconditional generator.

Trains every unconditional image generator of the zoo (GAN, DCGAN, WGAN-GP,
InfoGAN, DDPM) at its shipped entry's configuration, with three channels, on
``stacked-mnist`` (:mod:`kzoo.data.stacked`: three independent digits as the
RGB channels, 1,000 equally likely modes), with ``kzoo train``'s code path
and the same wall-time budget per model, then draws ``--samples`` images
(26,000, as in the VEEGAN and PacGAN papers) and counts, with
:func:`kzoo.analysis.modes.stacked_mode_coverage`, the modes that got at
least one sample and the KL divergence (nats) of the mode histogram from
uniform. A reference row scores the test stacks themselves (10,000 of them:
the ceiling a sample of that size reaches).

Anchors (26,000 samples, the full 60,000-image MNIST, a discriminator
made weak on purpose and far longer training): the VEEGAN paper's table
gives DCGAN 99 modes / KL 3.4 and VEEGAN 150 / 2.95, the PacGAN paper's
PacDCGAN2 1,000 / 0.06. The rows here are not comparable with theirs in
data or training length; they are comparable with each other (same data,
seed and budget).

Run from the repository root (``--minutes`` per model plus sampling; DDPM
samples with DDIM, ``--ddpm-steps`` steps, and is the slowest to sample)::

    python benchmarks/stacked_mnist.py [--models dcgan wgan_gp ...] [--minutes 8] [--samples 26000]
        [--json runs/stacked_mnist.json] [--data-dir DIR]

A rerun with the same ``--json`` skips the models it already holds.

References:
    Srivastava et al., "VEEGAN", NeurIPS 2017; Lin, Khetan, Fanti & Oh,
    "PacGAN", NeurIPS 2018 (Stacked MNIST: modes and KL of 26,000 samples).
"""

import argparse
import json
import os
import sys
import time

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

from common import write_json  # noqa: E402

MODELS = ("gan", "dcgan", "wgan_gp", "infogan", "ddpm")
UNCONDITIONAL_ENTRIES = {"gan": "gan-mnist", "dcgan": "dcgan-mnist", "wgan_gp": "wgan-gp-mnist",
                         "infogan": "infogan-mnist", "ddpm": "ddpm-mnist"}
REFERENCE = "test stacks (reference)"


def entry_config(entry):
    """The shipped entry's constructor arguments with three-channel data (no name, no dtype)."""
    from kzoo.core.catalog import resolve_preset

    with open(os.path.join(resolve_preset(entry), "config.json")) as handle:
        config = json.load(handle)["config"]
    config = {k: v for k, v in config.items() if k not in ("name", "dtype", "trainable")}
    config["data_shape"] = [28, 28, 3]
    return config


def train_model(model_name, minutes, out, seed, batch_size):
    """Trains one model on stacked-mnist through ``kzoo.training.train`` within ``minutes``."""
    from kzoo.training import train

    config = entry_config(UNCONDITIONAL_ENTRIES[model_name])
    model, _ = train(model_name, "stacked-mnist", epochs=1000, batch_size=batch_size, out=out,
                     config=config, max_minutes=minutes, seed=seed,
                     command=f"python benchmarks/stacked_mnist.py --models {model_name} --minutes {minutes}")
    return model, config


def run(args):
    from kzoo import data as kdata
    from kzoo.analysis.modes import stacked_mode_coverage

    results = {}
    if args.json and os.path.isfile(args.json):
        with open(args.json) as handle:
            results = json.load(handle).get("results", {})
    document = {"benchmark": "stacked_mnist", "minutes_per_model": args.minutes, "samples": args.samples,
                "seed": args.seed, "results": results}
    if REFERENCE not in results:
        stacks = kdata.load_numpy("stacked-mnist", "test", data_dir=args.data_dir)
        results[REFERENCE] = {**stacked_mode_coverage(stacks).as_dict(), "train_seconds": 0.0}
        print(f"{REFERENCE}: {results[REFERENCE]}", flush=True)
    for model_name in args.models:
        if model_name in results:
            print(f"{model_name}: in {args.json} already, skipped", flush=True)
            continue
        print(f"=== {model_name}: training on stacked-mnist for {args.minutes} min", flush=True)
        start = time.time()
        model, config = train_model(model_name, args.minutes, os.path.join(args.runs, model_name), args.seed,
                                    args.batch_size)
        train_seconds = time.time() - start
        options = {"sampler": "ddim", "steps": args.ddpm_steps} if model_name == "ddpm" else {}
        start = time.time()
        coverage = stacked_mode_coverage(model, num_samples=args.samples, seed=args.seed + 1, **options)
        results[model_name] = {**coverage.as_dict(), "train_seconds": round(train_seconds, 1),
                               "sample_seconds": round(time.time() - start, 1), "entry_config": config,
                               "sample_options": options}
        print(f"{model_name}: {coverage}", flush=True)
        if args.json:
            write_json(args.json, document)
    if args.json:
        write_json(args.json, document)
    print_table(results)
    return document


def print_table(results):
    print("\n| model | modes covered (of 1,000) | KL(modes \\|\\| uniform), nats | samples | mean classifier "
          "confidence | training (s) |")
    print("|---|---:|---:|---:|---:|---:|")
    for name, row in results.items():
        print(f"| {name} | {row['modes_covered']} | {row['kl_uniform']:.3f} | {row['num_samples']:,} | "
              f"{row['mean_confidence']:.3f} | {row['train_seconds']:.0f} |")


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--models", nargs="+", default=list(MODELS), choices=MODELS,
                        help="unconditional models to train (default: all)")
    parser.add_argument("--minutes", type=float, default=8.0, help="training budget per model (default 8)")
    parser.add_argument("--samples", type=int, default=26_000, help="samples per model (default 26,000)")
    parser.add_argument("--ddpm-steps", type=int, default=50, help="DDIM steps of the DDPM's samples (default 50)")
    parser.add_argument("--batch-size", type=int, default=64)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--data-dir", help="folder of the official MNIST test files (else $KZOO_DATA_DIR)")
    parser.add_argument("--runs", default="runs/stacked_mnist", help="folder of the training runs")
    parser.add_argument("--json", default="runs/stacked_mnist.json", help="results (resumable)")
    args = parser.parse_args(argv)
    if args.minutes <= 0 or args.samples <= 0 or args.ddpm_steps <= 0:
        parser.error(f"--minutes, --samples and --ddpm-steps must be positive, got {args.minutes}, {args.samples}, "
                     f"{args.ddpm_steps}.")
    run(args)


if __name__ == "__main__":
    main()
