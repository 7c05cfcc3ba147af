"""The spread of an explicit entry's per-image bits/dim on a held-out split.

``kzoo eval`` reports the mean NLL. When a few images are astronomically
unlikely (a flow whose per-dimension scales never saw ink where they have
some) the mean says little about the typical image; this script reports the
median, the mean over the best ``--keep`` fraction and the fraction of images
above ``--threshold`` bits/dim, from the same per-image values ``kzoo eval``
averages (same data preparation, batches of 100, batch ``i`` seeded ``seed + i``).

Usage (from the repository root)::

    python benchmarks/likelihood_distribution.py maf-mnist --data mnist --split test \
        --data-dir ../shared/data/mnist [--json out.json]
"""

import argparse
import json
import os
import sys

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

import numpy as np  # noqa: E402


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("entry", help="entry name or preset folder of a model with log_prob")
    parser.add_argument("--data", default="mnist")
    parser.add_argument("--split", default="test")
    parser.add_argument("--data-dir", default=None)
    parser.add_argument("--keep", type=float, default=0.99, help="fraction of best images in the trimmed mean")
    parser.add_argument("--threshold", type=float, default=10.0, help="bits/dim counted as an outlier")
    parser.add_argument("--k", type=int, default=100, help="importance samples of latent models")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--json", default=None, help="also write the result to this JSON file")
    args = parser.parse_args(argv)

    import kzoo
    from kzoo import data as kdata
    from kzoo.core.base import ExplicitModel, LatentModel
    from kzoo.metrics.likelihood import bits_per_dim

    model = kzoo.load(args.entry)
    if not isinstance(model, ExplicitModel):
        raise SystemExit(f"{args.entry} is a {type(model).__name__}: it has no likelihood.")
    info = kdata.info(args.data)
    options = model.data_options(args.split)
    x = kdata.load_numpy(args.data, split=args.split, data_dir=args.data_dir, **options)
    num_bins = (info.num_levels or 256) if options.get("dequantize") else None
    extra = {"k": args.k} if isinstance(model, LatentModel) and model.stochastic_log_prob else {}
    nll = np.concatenate([
        -np.asarray(model.log_prob(x[start : start + 100], batch_size=100, seed=args.seed + index, **extra),
                    dtype=np.float64)
        for index, start in enumerate(range(0, len(x), 100))
    ])
    bpd = np.sort(np.array([bits_per_dim(v, model.num_dims, num_bins=num_bins) for v in nll]))
    kept = max(1, int(round(args.keep * len(bpd))))
    result = {
        "entry": args.entry,
        "split": args.split,
        "n_examples": int(len(bpd)),
        "mean_bits_per_dim": float(bits_per_dim(nll.mean(), model.num_dims, num_bins=num_bins)),
        "median_bits_per_dim": float(np.median(bpd)),
        f"bits_per_dim_best_{round(100 * args.keep)}pct_mean": float(bpd[:kept].mean()),
        f"fraction_over_{args.threshold:g}_bits_per_dim": float(np.mean(bpd > args.threshold)),
        "max_bits_per_dim": float(bpd[-1]),
    }
    print(json.dumps(result))
    if args.json:
        with open(args.json, "w") as handle:
            json.dump(result, handle, indent=1)
    return 0


if __name__ == "__main__":
    sys.exit(main())
