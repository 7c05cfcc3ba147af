"""Sampling speed against quality of one trained diffusion model, across samplers.

For DDPM with all T ancestral steps and DDIM (eta = 0, or ``--eta``) with 250, 100, 50, 20
and 10 steps, this measures in one run (so the ratios are comparable on a
shared machine):

* the wall time to draw 64 samples (one compiled loop, traced beforehand so
  tracing is not counted), for all samplers back to back before any
  quality measurement, so the ratios see the same machine load;
* FID and KID against real images with kzoo's MNIST-classifier features, on
  the same number of samples for every sampler (FID is biased by n: compare
  numbers of one n only).

Usage:
    python benchmarks/diffusion_sampling.py ddpm-mnist --n-samples 500 \
        --data mnist --split test --data-dir ../shared/data/mnist --out runs/diffusion_sampling.json

``--samplers ddpm-1000 ddim-50`` restricts the list; ``--no-quality`` only
times. With ``--n-samples`` equal to ``--timing-samples`` the timed samples
themselves are scored (one draw per sampler, for a machine too slow for
more). The table goes to stdout (Markdown) and, with ``--out``, to JSON.
"""

import argparse
import json
import sys
import time

import numpy as np

DEFAULT_SAMPLERS = ("ddpm-1000", "ddim-250", "ddim-100", "ddim-50", "ddim-20", "ddim-10")


def parse_sampler(text):
    """``"ddim-50"`` -> ``("ddim", 50)``."""
    name, _, steps = text.partition("-")
    if name not in ("ddpm", "ddim") or not steps.isdigit():
        raise argparse.ArgumentTypeError(f"sampler must look like ddpm-1000 or ddim-50, got {text!r}.")
    return name, int(steps)


class _Drawn:
    """Hands out already drawn samples through ``generate`` (to score the timed samples)."""

    def __init__(self, samples):
        self.samples, self.used = samples, 0

    def generate(self, n, seed=None, **kwargs):
        del seed, kwargs
        out = self.samples[self.used : self.used + n]
        self.used += n
        return out


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("entry", help="diffusion entry name or preset folder")
    parser.add_argument("--samplers", nargs="+", default=list(DEFAULT_SAMPLERS))
    parser.add_argument("--timing-samples", type=int, default=64)
    parser.add_argument("--n-samples", type=int, default=500, help="samples per sampler for FID/KID")
    parser.add_argument("--batch-size", type=int, default=250)
    parser.add_argument("--data", default="mnist5k", help="real images: dataset name")
    parser.add_argument("--split", default=None)
    parser.add_argument("--data-dir", default=None)
    parser.add_argument("--guidance-scale", type=float, default=None)
    parser.add_argument("--eta", type=float, default=None,
                        help="DDIM stochasticity for the DDIM rows (default: the entry's, usually 0)")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--no-quality", action="store_true")
    parser.add_argument("--out", help="JSON file for the rows")
    args = parser.parse_args(argv)

    import kzoo
    from kzoo import data as kdata
    from kzoo.evaluation.evaluate import default_split
    from kzoo.evaluation.features import get_feature_extractor
    from kzoo.evaluation.sample_quality import reference_features, sample_quality

    model = kzoo.load(args.entry)
    samplers = [parse_sampler(s) for s in args.samplers]
    reference = None
    if not args.no_quality:
        split = args.split or default_split(kdata.info(args.data))
        real = kdata.load_numpy(args.data, split=split, data_dir=args.data_dir)
        extractor = get_feature_extractor("mnist")
        reference = reference_features(real, extractor)
        print(f"real images: {args.data}/{split}, n={len(real)}", flush=True)
    def sampler_options(name, steps):
        return dict(sampler=name, steps=steps, guidance_scale=args.guidance_scale,
                    eta=args.eta if name == "ddim" else None)

    # Timing first, all samplers back to back, so that they share the machine's load of the moment.
    rows, timed_samples = [], []
    for name, steps in samplers:
        options = sampler_options(name, steps)
        tick = time.perf_counter()
        model.prepare_sampler(**options)
        trace = time.perf_counter() - tick
        tick = time.perf_counter()
        timed = model.generate(args.timing_samples, seed=args.seed, batch_size=args.timing_samples, **options)
        seconds = time.perf_counter() - tick
        label = f"{name.upper()}-{steps}"
        if name == "ddim" and args.eta is not None:
            label += f" (eta {args.eta:g})"
        rows.append({"sampler": label, "steps": steps,
                     f"seconds_per_{args.timing_samples}": round(seconds, 2), "trace_seconds": round(trace, 1)})
        timed_samples.append(timed)
        print(f"{rows[-1]['sampler']}: {seconds:.1f} s per {args.timing_samples} samples", flush=True)
    for row, (name, steps), timed in zip(rows, samplers, timed_samples):
        if reference is None:
            break
        options = sampler_options(name, steps)
        source = model
        if args.n_samples == args.timing_samples:  # measure the timed samples themselves
            source = _Drawn(timed)
        quality = sample_quality(source, reference, n_samples=args.n_samples, metrics=("fid", "kid"),
                                 seed=args.seed, batch_size=args.batch_size, sample_kwargs=options)
        row.update({"fid": quality["fid"], "kid": quality["kid"], "kid_std": quality["kid_std"],
                    "n_samples": args.n_samples, "n_real": quality["n_real"],
                    "quality_seconds": quality["seconds"]})
        print(f"{row['sampler']}: FID {quality['fid']:.2f}, KID {quality['kid']:.4f} (n={args.n_samples})",
              flush=True)
        if args.out:
            with open(args.out, "w") as handle:
                json.dump({"entry": args.entry, "rows": rows, "argv": argv if argv is not None else sys.argv[1:]},
                          handle, indent=2)

    base = rows[0][f"seconds_per_{args.timing_samples}"]
    print(f"\n| sampler | s / {args.timing_samples} samples | speed-up vs {rows[0]['sampler']} | FID | KID | n |")
    print("|---|---|---|---|---|---|")
    for row in rows:
        sec = row[f"seconds_per_{args.timing_samples}"]
        fid = f"{row['fid']:.2f}" if "fid" in row else "-"
        kid = f"{row['kid']:.4f}" if "kid" in row else "-"
        print(f"| {row['sampler']} | {sec:.1f} | {base / sec:.1f}x | {fid} | {kid} | {row.get('n_samples', '-')} |")
    return rows


if __name__ == "__main__":
    np.set_printoptions(precision=4)
    main()
