"""Normalizing flows on the 2-D toy densities: test NLL against the true entropy.

For every toy set of :mod:`kzoo.data.toy` this script

1. computes the true density of *our* definition (closed form for the
   Gaussian mixtures and the checkerboard; one-dimensional quadrature over
   the latent angle / curve parameter for two moons, swiss roll and rings),
   and from it the entropy ``H = -E log p(x)`` by Monte Carlo on 50,000 fresh
   points (the best achievable expected NLL), and the true density's NLL on
   the 10,000-point test split;
2. trains each requested flow on the 50,000-point train split (Adam, best
   validation epoch kept) and reports its test NLL in nats.

The printed table is ``dataset | entropy (MC, +- s.e.) | true-density test
NLL | <flow> test NLL ...``; a flow can do no better than the true density's
test NLL except by chance.

Run from the repository root::

    python benchmarks/flows_2d.py                       # all sets, default flows
    python benchmarks/flows_2d.py --data checkerboard --models nsf --epochs 30
    python benchmarks/flows_2d.py --entropy-only
"""

import argparse
import json
import os
import time

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

import numpy as np  # noqa: E402
from scipy.special import logsumexp  # noqa: E402

from kzoo.data import toy  # noqa: E402

TOYS = ("two_moons", "8gaussians", "checkerboard", "swiss_roll", "rings", "25gaussians")
LOG_2PI = np.log(2.0 * np.pi)


def _log_normal_2d(x, centres, std):
    """log N(x; c, std^2 I) for every point (rows of x) and centre: shape (N, K)."""
    d2 = ((x[:, None, :] - centres[None, :, :]) ** 2).sum(-1)
    return -0.5 * d2 / std ** 2 - LOG_2PI - 2.0 * np.log(std)


def _curve_mixture(x, curve, std, num=4000):
    """log of the average over a uniform curve parameter of N(x; curve(t), std^2 I).

    ``curve`` may return several branches (moons, rings) stacked: all centres are averaged.
    """
    t = (np.arange(num) + 0.5) / num
    centres = curve(t)
    out = np.empty(len(x))
    for start in range(0, len(x), 2000):
        out[start : start + 2000] = logsumexp(_log_normal_2d(x[start : start + 2000], centres, std), 1) - np.log(len(centres))
    return out


def true_log_density(name, x):
    """The exact (to quadrature accuracy) log-density of toy set ``name`` at points ``x`` (N, 2)."""
    x = np.asarray(x, np.float64)
    if name in ("8gaussians", "25gaussians"):
        modes = toy.EIGHT_GAUSSIANS_MODES if name == "8gaussians" else toy.TWENTY_FIVE_GAUSSIANS_MODES
        std = toy.EIGHT_GAUSSIANS_STD if name == "8gaussians" else toy.TWENTY_FIVE_GAUSSIANS_STD
        return logsumexp(_log_normal_2d(x, np.asarray(modes, np.float64), std), 1) - np.log(len(modes))
    if name == "checkerboard":
        # Uniform on the dark cells: in column floor(x1 / 2), rows of parity (column parity) are dark.
        u1, u2 = x[:, 0] / 2.0, x[:, 1] / 2.0
        inside = (np.abs(u1) <= 2) & (np.abs(u2) <= 2)
        dark = np.mod(np.floor(u1) + np.floor(u2), 2) == 0
        return np.where(inside & dark, -np.log(32.0), -np.inf)
    if name == "two_moons":
        def curve(t):
            a = np.pi * t
            upper = np.stack([np.cos(a), np.sin(a)], 1)
            lower = np.stack([1.0 - np.cos(a), 0.5 - np.sin(a)], 1)
            return 2.0 * np.concatenate([upper, lower]) + np.array([-1.0, -0.2])
        return _curve_mixture(x, curve, 0.2, num=1000)
    if name == "swiss_roll":
        def curve(t):
            s = 1.5 * np.pi * (1.0 + 2.0 * t)
            return np.stack([s * np.cos(s), s * np.sin(s)], 1) / 5.0
        return _curve_mixture(x, curve, 0.2, num=2000)
    if name == "rings":
        def curve(t):
            a = 2.0 * np.pi * t
            circle = np.stack([np.cos(a), np.sin(a)], 1)
            return np.concatenate([r * circle for r in toy.RING_RADII])
        return _curve_mixture(x, curve, toy.RING_NOISE, num=1000)
    raise ValueError(f"Unknown toy density {name!r}; expected one of {', '.join(TOYS)}.")


def entropy(name, n=50_000, seed=123):
    """Monte Carlo entropy (nats) of toy set ``name`` and its standard error."""
    x = toy.sample(name, n, seed=seed, split="train")
    log_p = true_log_density(name, x)
    return float(-log_p.mean()), float(log_p.std(ddof=1) / np.sqrt(n))


def make_flow(kind):
    from kzoo.models.flows import MAF, Glow, RealNVP

    if kind == "nsf":
        return RealNVP(data_shape=(2,), num_couplings=6, hidden_units=128, transform="spline", num_bins=16,
                       spline_bound=4.0)
    if kind == "realnvp":
        return RealNVP(data_shape=(2,), num_couplings=10, hidden_units=128)
    if kind == "glow":
        return Glow(data_shape=(2,), steps_per_level=10, hidden_units=128)
    if kind == "maf":
        return MAF(data_shape=(2,), num_steps=10, hidden_units=(128, 128))
    raise ValueError(f"Unknown flow {kind!r}; expected nsf, realnvp, glow or maf.")


def train_flow(kind, name, epochs, batch_size, learning_rate, seed):
    """Trains one flow on toy set ``name``; returns (test NLL, its s.e., seconds)."""
    import keras

    from kzoo import data as kdata

    keras.utils.set_random_seed(seed)
    train = kdata.load_numpy(name, split="train")
    val = kdata.load_numpy(name, split="validation")
    test = kdata.load_numpy(name, split="test")
    model = make_flow(kind)
    steps = epochs * int(np.ceil(len(train) / batch_size))
    schedule = keras.optimizers.schedules.CosineDecay(learning_rate, steps, alpha=0.02)
    model.compile(optimizer=keras.optimizers.Adam(schedule, clipnorm=5.0))
    start = time.perf_counter()
    model.fit(train, batch_size=batch_size, epochs=epochs, validation_data=(val,), verbose=2,
              callbacks=[keras.callbacks.EarlyStopping(monitor="val_loss", patience=epochs,
                                                       restore_best_weights=True)])
    seconds = time.perf_counter() - start
    nll = -model.log_prob(test, batch_size=2000)
    return float(nll.mean()), float(nll.std(ddof=1) / np.sqrt(len(nll))), seconds, model


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--data", nargs="+", default=list(TOYS[:5]), choices=TOYS)
    parser.add_argument("--models", nargs="+", default=["nsf", "realnvp", "maf"],
                        choices=("nsf", "realnvp", "glow", "maf"))
    parser.add_argument("--epochs", type=int, default=20)
    parser.add_argument("--batch-size", type=int, default=512)
    parser.add_argument("--learning-rate", type=float, default=2e-3)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--entropy-only", action="store_true")
    parser.add_argument("--json", help="also write the results to this JSON file")
    args = parser.parse_args(argv)

    rows = []
    for name in args.data:
        h, h_se = entropy(name)
        test = toy.sample(name, 10_000, seed=0, split="test")
        true_nll = float(-true_log_density(name, test).mean())
        row = {"dataset": name, "entropy": h, "entropy_se": h_se, "true_density_test_nll": true_nll}
        print(f"{name}: entropy {h:.3f} +- {h_se:.3f}, true density test NLL {true_nll:.3f}", flush=True)
        if not args.entropy_only:
            for kind in args.models:
                nll, se, seconds, _ = train_flow(kind, name, args.epochs, args.batch_size, args.learning_rate,
                                                 args.seed)
                row[kind] = {"test_nll": nll, "se": se, "seconds": round(seconds, 1)}
                print(f"  {kind}: test NLL {nll:.3f} +- {se:.3f} (gap {nll - true_nll:+.3f}) in {seconds:.0f} s",
                      flush=True)
        rows.append(row)

    header = "| dataset | entropy (MC) | true density test NLL |" + "".join(f" {k} |" for k in
                                                                            ([] if args.entropy_only else args.models))
    print("\n" + header)
    print("|" + "---|" * (header.count("|") - 1))
    for row in rows:
        cells = [row["dataset"], f"{row['entropy']:.3f} +- {row['entropy_se']:.3f}",
                 f"{row['true_density_test_nll']:.3f}"]
        if not args.entropy_only:
            cells += [f"{row[k]['test_nll']:.3f} ({row[k]['test_nll'] - row['true_density_test_nll']:+.3f})"
                      for k in args.models]
        print("| " + " | ".join(cells) + " |")
    if args.json:
        with open(args.json, "w") as handle:
            json.dump(rows, handle, indent=2)


if __name__ == "__main__":
    main()
