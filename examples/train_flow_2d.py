"""Train a normalizing flow on a 2-D toy density and plot what it learned.

Trains a flow (a neural spline flow by default: RealNVP with rational-
quadratic spline couplings) on one of kzoo's toy sets and writes

* ``OUT/density.png``: data histogram | learned density exp(log p) on a grid |
  samples from the flow (matplotlib);
* TensorBoard logs in ``OUT/logs`` with the learned density as an image after
  every epoch (Images tab: ``tensorboard --logdir OUT/logs``);

and prints the test NLL in nats (compare with the entropies printed by
``benchmarks/flows_2d.py``).

Run from the repository root (a minute or two on a CPU)::

    python examples/train_flow_2d.py --data two_moons --flow nsf --epochs 15 --out runs/flow2d
"""

import argparse
import os

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

import numpy as np  # noqa: E402
import tensorflow as tf  # noqa: E402
import keras  # noqa: E402

from kzoo import data as kdata  # noqa: E402
from kzoo.models.flows import MAF, Glow, RealNVP  # noqa: E402

FLOWS = {
    "nsf": lambda: RealNVP(data_shape=(2,), num_couplings=6, hidden_units=128, transform="spline", num_bins=16),
    "realnvp": lambda: RealNVP(data_shape=(2,), num_couplings=10, hidden_units=128),
    "glow": lambda: Glow(data_shape=(2,), steps_per_level=10, hidden_units=128),
    "maf": lambda: MAF(data_shape=(2,), num_steps=10, hidden_units=(128, 128)),
}
LIMIT = 4.5


def density_grid(model, size=200):
    """exp(log p) on a size x size grid over [-LIMIT, LIMIT]^2 (rows = y from top)."""
    axis = np.linspace(-LIMIT, LIMIT, size, dtype=np.float32)
    xx, yy = np.meshgrid(axis, axis[::-1])
    points = np.stack([xx.ravel(), yy.ravel()], 1)
    return np.exp(model.log_prob(points, batch_size=10_000)).reshape(size, size)


class DensityImage(keras.callbacks.Callback):
    """Writes the learned density as a TensorBoard image at the end of every epoch."""

    def __init__(self, log_dir, size=128):
        super().__init__()
        self.writer = tf.summary.create_file_writer(os.path.join(log_dir, "density"))
        self.size = size

    def on_epoch_end(self, epoch, logs=None):
        density = density_grid(self.model, self.size)
        image = density / max(density.max(), 1e-12)
        with self.writer.as_default():
            tf.summary.image("learned_density", image[None, :, :, None], step=epoch)
        self.writer.flush()


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--data", default="two_moons",
                        choices=["two_moons", "8gaussians", "25gaussians", "checkerboard", "swiss_roll", "rings"])
    parser.add_argument("--flow", default="nsf", choices=sorted(FLOWS))
    parser.add_argument("--epochs", type=int, default=15)
    parser.add_argument("--batch-size", type=int, default=512)
    parser.add_argument("--out", default="runs/flow2d")
    args = parser.parse_args()
    os.makedirs(args.out, exist_ok=True)
    keras.utils.set_random_seed(0)

    train = kdata.load_numpy(args.data, split="train")
    val = kdata.load_numpy(args.data, split="validation")
    test = kdata.load_numpy(args.data, split="test")
    model = FLOWS[args.flow]()
    steps = args.epochs * int(np.ceil(len(train) / args.batch_size))
    model.compile(optimizer=keras.optimizers.Adam(keras.optimizers.schedules.CosineDecay(2e-3, steps, alpha=0.02),
                                                  clipnorm=5.0))
    log_dir = os.path.join(args.out, "logs")
    model.fit(train, batch_size=args.batch_size, epochs=args.epochs, validation_data=(val,), verbose=2,
              callbacks=[keras.callbacks.TensorBoard(log_dir), DensityImage(log_dir)])
    nll = -model.log_prob(test, batch_size=5000)
    print(f"{args.flow} on {args.data}: test NLL {nll.mean():.3f} +- {nll.std(ddof=1) / np.sqrt(len(nll)):.3f} nats")

    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    samples = model.generate(20_000, seed=0, batch_size=5000)
    extent = (-LIMIT, LIMIT, -LIMIT, LIMIT)
    fig, axes = plt.subplots(1, 3, figsize=(12, 4))
    axes[0].hist2d(train[:20_000, 0], train[:20_000, 1], bins=150, range=[extent[:2], extent[2:]], cmap="viridis")
    axes[0].set_title(f"data: {args.data}")
    axes[1].imshow(density_grid(model), extent=extent, cmap="viridis")
    axes[1].set_title(f"{args.flow}: exp(log p), test NLL {nll.mean():.3f}")
    axes[2].hist2d(samples[:, 0], samples[:, 1], bins=150, range=[extent[:2], extent[2:]], cmap="viridis")
    axes[2].set_title("samples")
    for ax in axes:
        ax.set_aspect("equal")
        ax.set_xticks([])
        ax.set_yticks([])
    fig.tight_layout()
    path = os.path.join(args.out, "density.png")
    fig.savefig(path, dpi=100)
    print(f"wrote {path} and TensorBoard logs in {log_dir}")


if __name__ == "__main__":
    main()
