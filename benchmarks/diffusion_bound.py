"""The variational bound of a diffusion entry in bits/dim on a whole test set.

``kzoo eval`` estimates the bound with 50 strata of ``t`` per image (51
network passes per image). Over 10,000 images the mean is precise with far
fewer passes: every stratum count gives an unbiased estimate of the same
bound, only the per-image spread grows. This script exposes that count.

Usage:
    python benchmarks/diffusion_bound.py ddpm-mnist --data mnist --split test \
        --data-dir ../shared/data/mnist --t-samples 10 --out runs/ddpm-mnist-test-bound.json

A class-conditional entry is scored on log p(x | y) with the split's labels.
"""

import argparse
import json
import sys
import time

import numpy as np


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("entry", help="diffusion entry name or preset folder")
    parser.add_argument("--data", default="mnist")
    parser.add_argument("--split", default="test")
    parser.add_argument("--data-dir", default=None)
    parser.add_argument("--limit", type=int, default=None, help="first LIMIT images only")
    parser.add_argument("--t-samples", type=int, default=10, help="strata of t per image (network passes - 1)")
    parser.add_argument("--batch-size", type=int, default=250)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--out", help="JSON file for the result")
    args = parser.parse_args(argv)

    import kzoo
    from kzoo import data as kdata
    from kzoo.metrics.likelihood import summarize_nll

    model = kzoo.load(args.entry)
    if not hasattr(model, "nll_estimator") or not getattr(model, "log_prob_is_bound", False):
        raise SystemExit(f"{args.entry} is not a diffusion model with a variational bound.")
    x, y = kdata.load_numpy(args.data, split=args.split, data_dir=args.data_dir, labels=True)
    if args.limit:
        x, y = x[: args.limit], y[: args.limit]
    print(f"{args.entry}: bound on {len(x)} images of {args.data}/{args.split}, {args.t_samples} strata of t",
          flush=True)
    tick = time.perf_counter()
    nll = -model.log_prob(x, batch_size=args.batch_size, seed=args.seed, t_samples=args.t_samples,
                          labels=y if model.num_classes else None)
    summary = summarize_nll(nll, model.num_dims)
    result = {
        "entry": args.entry, "data": args.data, "split": args.split, "n_examples": int(len(x)),
        "conditional": model.num_classes is not None, "t_samples": args.t_samples,
        "nll_bound_nats": summary["nll_nats"], "nll_bound_nats_sem": summary["nll_nats_sem"],
        "bits_per_dim_bound": summary["bits_per_dim"],
        "bits_per_dim_bound_sem": summary["nll_nats_sem"] / (model.num_dims * np.log(2)),
        "seconds": round(time.perf_counter() - tick, 1),
        "argv": argv if argv is not None else sys.argv[1:],
    }
    print(json.dumps(result, indent=2), flush=True)
    if args.out:
        with open(args.out, "w") as handle:
            json.dump(result, handle, indent=2)
    return result


if __name__ == "__main__":
    main()
