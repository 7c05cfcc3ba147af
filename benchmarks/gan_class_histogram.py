"""Digit-class histograms of generated MNIST samples: mode dropping, measured.

For every available zoo entry (the GANs and, for comparison, the VAE),
draws 10,000 samples and labels each with the shipped ``mnist-classifier``
(:func:`kzoo.analysis.modes.class_histogram`). A sampler that covers the ten
digits evenly has a uniform histogram: KL from uniform 0 nats, entropy
``log 10 = 2.303`` nats. Dropping digits or favouring some raises the KL
(``log 10`` if only one digit is drawn). Class-conditional entries are
sampled with balanced labels (``np.arange(n) % 10``), so their histogram
shows how well they follow the label, and the label accuracy (samples
classified as the digit asked for) is reported too. The mean classifier
confidence flags samples the classifier cannot read.

The real MNIST test set (when ``--data-dir`` holds it; read for evaluation
only) gives the reference row: what a sampler of real digits scores. The
test set is not exactly balanced (digit 1 is 11.35% of it, digit 5 8.92%)
and the classifier makes errors, so its KL is not 0. (With 10,000 samples a
perfectly uniform sampler still shows a KL of about 9 / (2 * 10,000) =
0.0005 nats from counting noise.)

Run from the repository root (about a minute per entry on 2 CPU cores)::

    python benchmarks/gan_class_histogram.py [--entries gan-mnist,dcgan-mnist,...] [--samples 10000]
        [--data-dir ../shared/data/mnist] [--json results.json] [--option temperature=0.8]
"""

import argparse
import json
import os
import sys
import time

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

import numpy as np  # noqa: E402

import kzoo  # noqa: E402
from kzoo import data as kdata  # noqa: E402
from kzoo.analysis.modes import class_histogram  # noqa: E402
from kzoo.cli import parse_overrides  # noqa: E402
from kzoo.core.catalog import preset_names  # noqa: E402
from kzoo.evaluation.features import MnistFeatureExtractor  # noqa: E402

DEFAULT_ENTRIES = ("gan-mnist", "dcgan-mnist", "wgan-gp-mnist", "cgan-mnist", "infogan-mnist", "vae-mnist")


def row(label, model_name, result, seconds):
    freq = result.frequencies
    accuracy = "" if result.label_accuracy is None else f"{100 * result.label_accuracy:.1f}%"
    return (f"| {label} | {model_name} | {result.kl_uniform:.4f} | {result.entropy:.3f} | "
            f"{int(np.argmin(freq))}: {100 * freq.min():.1f}% | {int(np.argmax(freq))}: {100 * freq.max():.1f}% | "
            f"{result.mean_confidence:.3f} | {accuracy} | {seconds:.0f}s |")


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--entries", default=",".join(DEFAULT_ENTRIES), help="comma-separated zoo entries")
    parser.add_argument("--samples", type=int, default=10_000)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--data-dir", default=os.path.join("..", "shared", "data", "mnist"),
                        help="folder with the MNIST test set, for the real-data reference row")
    parser.add_argument("--json", default=None)
    parser.add_argument("--option", action="append", metavar="KEY=VALUE",
                        help="generate() option for every entry, JSON value (repeatable), e.g. temperature=0.8")
    args = parser.parse_args(argv)
    generate_options = parse_overrides(args.option)

    classifier = MnistFeatureExtractor()
    available = set(preset_names())
    lines, results = [], {}
    if os.path.isdir(args.data_dir):
        start = time.time()
        real, labels = kdata.load_numpy("mnist", "test", labels=True, data_dir=args.data_dir)
        result = class_histogram(real, classifier, labels=labels)
        lines.append(row("MNIST test set (real)", "-", result, time.time() - start))
        results["mnist-test"] = result.as_dict()
    else:
        print(f"No MNIST test set in {args.data_dir}: the real-data row is skipped.")
    for entry in [e.strip() for e in args.entries.split(",") if e.strip()]:
        if entry not in available:
            print(f"{entry}: not in saved_models/, skipped.", flush=True)
            continue
        start = time.time()
        model = kzoo.load(entry)
        options = dict(generate_options)
        if getattr(model, "num_classes", None):
            options["labels"] = np.arange(args.samples) % int(model.num_classes)
        result = class_histogram(model, classifier, num_samples=args.samples, seed=args.seed, **options)
        seconds = time.time() - start
        print(f"{entry}: {result} ({seconds:.0f}s)", flush=True)
        lines.append(row(entry, type(model).__name__, result, seconds))
        results[entry] = result.as_dict()

    sampled = f", generate options {generate_options}" if generate_options else ""
    print(f"\nClass histograms of {args.samples} samples (seed {args.seed}{sampled}) by the mnist-classifier "
          "entry:\n")
    print("| entry | model | KL(classes || uniform), nats | entropy, nats | rarest digit | commonest digit | "
          "mean confidence | label accuracy | time |")
    print("|---|---|---|---|---|---|---|---|---|")
    for line in lines:
        print(line)
    if args.json:
        with open(args.json, "w") as f:
            json.dump({"args": vars(args), "results": results}, f, indent=1)
    return results


if __name__ == "__main__":
    sys.exit(0 if main() is not None else 1)
