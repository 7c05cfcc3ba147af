"""Plot the per-epoch curves of a training run's history.csv (what TensorBoard's Scalars tab shows) to one PNG.

Every ``kzoo train`` run writes ``OUT/history.csv`` (one row per epoch, one
column per logged value). This draws the chosen columns, one panel each,
against the epoch, and marks with vertical lines the epochs where the
``--phase-key`` column (e.g. a progressive GAN's ``level``) reaches a new
integer, so a loss spike at a fade-in shows where it happened.

    python benchmarks/plot_history.py runs/progan-mnist/history.csv --keys level wasserstein d_loss g_loss \\
        --phase-key level -o saved_models/progan-mnist/training_curves.png

Several files (``history.csv`` of consecutive warm-started stages) are
joined in the order given, epochs continuing.
"""

import argparse
import csv
import math
import os
import sys


def read_history(paths):
    """Rows of the history files, joined in order, as dicts of floats (``NA`` and blanks become NaN)."""
    rows = []
    for path in paths:
        with open(path, newline="") as handle:
            for row in csv.DictReader(handle):
                parsed = {}
                for key, value in row.items():
                    try:
                        parsed[key] = float(value)
                    except (TypeError, ValueError):
                        parsed[key] = math.nan
                rows.append(parsed)
    return rows


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("history", nargs="+", help="history.csv file(s) of kzoo train runs, in training order")
    parser.add_argument("--keys", nargs="+", required=True, help="columns to plot, one panel each")
    parser.add_argument("--phase-key", help="column whose new integer values are marked (e.g. level)")
    parser.add_argument("-o", "--output", required=True, help="output .png")
    args = parser.parse_args(argv)
    for path in args.history:
        if not os.path.isfile(path):
            parser.error(f"{path!r} is not a file; pass the history.csv of a kzoo train run.")
    if not args.output.endswith(".png"):
        parser.error(f"--output must be a .png file, got {args.output!r}.")
    rows = read_history(args.history)
    missing = [key for key in args.keys + ([args.phase_key] if args.phase_key else []) if key not in rows[0]]
    if not rows or missing:
        parser.error(f"columns {missing} are not in {args.history}; it has: {', '.join(rows[0]) if rows else 'no rows'}.")

    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    from kzoo.core.imaging import atomic_write

    epochs = list(range(1, len(rows) + 1))
    marks = []
    if args.phase_key:
        reached = 0
        for epoch, row in zip(epochs, rows):
            value = row[args.phase_key]
            if math.isfinite(value) and math.floor(value) > reached:
                reached = math.floor(value)
                marks.append((epoch, reached))
    fig, axes = plt.subplots(len(args.keys), 1, figsize=(7, 1.8 * len(args.keys)), sharex=True, squeeze=False)
    for ax, key in zip(axes[:, 0], args.keys):
        ax.plot(epochs, [row[key] for row in rows], lw=1.2)
        ax.set_ylabel(key, fontsize=8)
        for epoch, level in marks:
            ax.axvline(epoch, color="tab:red", lw=0.8, ls="--")
            if key == args.keys[0]:
                ax.text(epoch, ax.get_ylim()[1], f" {args.phase_key} {level}", fontsize=7, va="top", color="tab:red")
    axes[-1, 0].set_xlabel("epoch")
    fig.tight_layout()
    atomic_write(args.output, lambda tmp: fig.savefig(tmp, dpi=100, format="png"), suffix=".png")
    plt.close(fig)
    print(f"Wrote {len(args.keys)} curves over {len(rows)} epochs to {args.output}", file=sys.stderr)


if __name__ == "__main__":
    main()
