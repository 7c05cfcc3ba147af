"""The digit domains of kzoo.data.domains, measured: does each transform keep the digit and hit its target?

For every domain, maps the 500 ``mnist5k`` validation digits (or the
official test set with ``--data-dir``) into it and prints the rate at which
the shipped ``mnist-classifier`` still reads the digit, the median and 5th-95th
percentiles of the measured stroke width and slant
(:mod:`kzoo.data.measures`), the ink kept, the mean absolute change from the
original, and the transform's time per image.

Run from the repository root (under a minute on 2 CPU cores)::

    python benchmarks/digit_domains.py [--data-dir ../shared/data/mnist] [--json runs/domains.json]
"""

import argparse
import os
import sys
import time

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

import numpy as np  # noqa: E402

import kzoo  # noqa: E402
from kzoo import data as kdata  # noqa: E402
from kzoo.data import domains  # noqa: E402
from kzoo.data.measures import slant, stroke_thickness  # noqa: E402

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from common import write_json  # noqa: E402


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--data-dir", help="folder of the official MNIST test files (default: mnist5k validation)")
    parser.add_argument("--json", help="write the rows to this file")
    args = parser.parse_args(argv)
    if args.data_dir:
        x, y = kdata.load_numpy("mnist", "test", labels=True, data_dir=args.data_dir)
        source = "official MNIST test set"
    else:
        x, y = kdata.load_numpy("mnist5k", "validation", labels=True)
        source = "mnist5k validation"
    classifier = kzoo.load("mnist-classifier")
    rows = []
    print(f"{len(x)} digits of the {source}")
    print(f"{'domain':16s} {'digit read':>10s} {'width p5/p50/p95 (px)':>24s} {'slant p5/p50/p95':>24s} "
          f"{'ink kept':>8s} {'mean |change|':>13s} {'ms/image':>8s}")
    for domain in domains.DOMAINS[:-1]:  # the last, real 8x8 digits, is other images, not a transform
        start = time.perf_counter()
        moved = domains.to_domain(x, domain)
        seconds = time.perf_counter() - start
        width, lean = stroke_thickness(moved), slant(moved)
        row = {
            "domain": domain,
            "digit_accuracy": float(np.mean(np.argmax(classifier.predict(moved, verbose=0), -1) == y)),
            "width_percentiles": [float(v) for v in np.percentile(width, [5, 50, 95])],
            "slant_percentiles": [float(v) for v in np.percentile(lean, [5, 50, 95])],
            "ink_kept": float(moved.sum() / x.sum()),
            "mean_abs_change": float(np.abs(moved - x).mean()),
            "ms_per_image": 1000.0 * seconds / len(x),
        }
        rows.append(row)
        print(f"{domain:16s} {row['digit_accuracy']:10.1%} {'/'.join(f'{v:.2f}' for v in row['width_percentiles']):>24s} "
              f"{'/'.join(f'{v:+.2f}' for v in row['slant_percentiles']):>24s} {row['ink_kept']:8.2f} "
              f"{row['mean_abs_change']:13.4f} {row['ms_per_image']:8.2f}")
    if args.json:
        write_json(args.json, {"source": source, "n": int(len(x)), "rows": rows})
        print(f"Wrote {args.json}")


if __name__ == "__main__":
    main()
