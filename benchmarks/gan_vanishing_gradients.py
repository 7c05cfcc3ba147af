"""The saturating (minimax) GAN generator loss and its vanishing gradient.

Goodfellow et al. (2014) note that the generator of the minimax game,
minimizing ``log(1 - D(G(z)))``, learns little early in training: the
discriminator soon rejects the poor samples with confidence, ``D(G(z))``
goes to 0 and so does the gradient, since ``d log(1 - sigmoid(l)) / dl =
-sigmoid(l) = -D(G(z))`` for the discriminator logit ``l``. The
non-saturating loss ``-log D(G(z))`` has the same fixed point but the
gradient ``-(1 - D(G(z)))``, largest exactly when the samples are bad.

This benchmark trains :class:`kzoo.models.gan.GAN` twice from the same seed
(same initial weights, same data order, same noise), once per generator
loss, and records for each of the first ``--steps`` generator updates the
global norm of the generator's gradient (the model's ``g_grad_norm``,
exact per step: the trackers are reset before each step) and the mean
``D(G(z))`` (``d_fake``). It prints medians over the first 100 steps and
over the rest, and writes a two-panel PNG (gradient norm on a log scale,
``D(G(z))``).

Run from the repository root (about 2 minutes on 2 CPU cores for MNIST)::

    python benchmarks/gan_vanishing_gradients.py [--data mnist5k|8gaussians] [--steps 500] [--d-steps 1]
        [--out runs/gan_vanishing_gradients.png] [--json results.json]

With ``--d-steps 5`` the discriminator gets five updates per generator
update: it rejects the samples sooner and harder, the regime in which the
minimax gradient vanishes.

References:
    Goodfellow et al., "Generative Adversarial Nets", NeurIPS 2014
    (Section 3: the saturating loss and the -log D(G(z)) alternative).
    Arjovsky and Bottou, "Towards Principled Methods for Training Generative
    Adversarial Networks", ICLR 2017 (the vanishing gradient, analysed).
"""

import argparse
import json
import os
import sys
import time

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

import numpy as np  # noqa: E402
import tensorflow as tf  # noqa: E402
import keras  # noqa: E402

from kzoo import data as kdata  # noqa: E402
from kzoo.models.gan import GAN  # noqa: E402

LOSSES = ("minimax", "non_saturating")
RECORDED = ("g_grad_norm", "d_grad_norm", "d_fake", "d_real", "g_loss", "d_loss")


class PerStepLogs(keras.callbacks.Callback):
    """Records the exact value of each tracked scalar at every training step.

    ``fit`` reports running means over the epoch; resetting the trackers
    before each step makes the reported value that step's own.
    """

    def __init__(self, keys=RECORDED, every=100, label=""):
        super().__init__()
        self.keys = keys
        self.every = every
        self.label = label
        self.values = {k: [] for k in keys}
        self.start = None

    def on_train_begin(self, logs=None):
        self.start = time.time()

    def on_train_batch_begin(self, batch, logs=None):
        self.model.reset_metrics()

    def on_train_batch_end(self, batch, logs=None):
        for key in self.keys:
            self.values[key].append(float(logs[key]))
        if (batch + 1) % self.every == 0:
            print(f"  [{self.label}] step {batch + 1}: g_grad_norm {self.values['g_grad_norm'][-1]:.3g}, "
                  f"D(G(z)) {self.values['d_fake'][-1]:.3f}, {time.time() - self.start:.0f}s", flush=True)


def training_data(name, seed, batch_size):
    x = kdata.load_numpy(name, "train")
    return x, tf.data.Dataset.from_tensor_slices(x).shuffle(len(x), seed=seed).repeat().batch(batch_size)


def run(loss, data, steps, batch_size, seed, learning_rate, d_steps=1):
    """Trains one GAN for ``steps`` generator updates; returns per-step arrays."""
    keras.utils.set_random_seed(seed)  # before the data: tf.data's shuffle uses the global seed too
    x, dataset = training_data(data, seed, batch_size)
    image = x.ndim == 4
    model = GAN(data_shape=x.shape[1:], latent_dim=64 if image else 16, adversarial_loss=loss, d_steps=d_steps,
                hidden_units=(256, 512) if image else (128, 128, 128))
    model.build_for_data()
    digest = float(sum(np.abs(w).sum() for w in model.get_weights()))
    model.compile(d_optimizer=keras.optimizers.Adam(learning_rate, beta_1=0.5),
                  g_optimizer=keras.optimizers.Adam(learning_rate, beta_1=0.5))
    logger = PerStepLogs(label=loss)
    start = time.time()
    model.fit(dataset, epochs=1, steps_per_epoch=steps, verbose=0, callbacks=[logger])
    values = {k: np.asarray(v) for k, v in logger.values.items()}
    values["wall_seconds"] = time.time() - start
    values["initial_weights_digest"] = digest
    return values


def summarize(results, steps):
    early = slice(0, min(100, steps))
    late = slice(min(100, steps), steps)
    summary = {}
    for loss, values in results.items():
        g = values["g_grad_norm"]
        summary[loss] = {
            "median_g_grad_norm_first_100": float(np.median(g[early])),
            "median_g_grad_norm_after_100": float(np.median(g[late])) if steps > 100 else float("nan"),
            "min_g_grad_norm": float(g.min()),
            "median_d_fake_first_100": float(np.median(values["d_fake"][early])),
            "median_d_grad_norm_first_100": float(np.median(values["d_grad_norm"][early])),
            "final_d_fake": float(values["d_fake"][-1]),
            "wall_seconds": float(values["wall_seconds"]),
        }
    return summary


def plot(results, path, title):
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    colors = {"minimax": "tab:red", "non_saturating": "tab:blue"}
    labels = {"minimax": "minimax: min log(1 - D(G(z)))", "non_saturating": "non-saturating: min -log D(G(z))"}
    fig, (top, bottom) = plt.subplots(2, 1, figsize=(8, 6.5), sharex=True)
    for loss, values in results.items():
        steps = np.arange(1, len(values["g_grad_norm"]) + 1)
        top.semilogy(steps, np.maximum(values["g_grad_norm"], 1e-12), color=colors[loss], lw=0.8,
                     label=labels[loss])
        bottom.plot(steps, values["d_fake"], color=colors[loss], lw=0.8, label=labels[loss])
    top.set_ylabel("generator gradient norm")
    top.set_title(title)
    top.legend(loc="best", fontsize=8)
    top.grid(True, which="both", alpha=0.3)
    bottom.set_ylabel("mean D(G(z))")
    bottom.set_xlabel("generator step")
    bottom.set_ylim(0, 1)
    bottom.grid(True, alpha=0.3)
    fig.tight_layout()
    os.makedirs(os.path.dirname(os.path.abspath(path)), exist_ok=True)
    fig.savefig(path, dpi=120)
    plt.close(fig)


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--data", default="mnist5k", help="mnist5k (default) or a 2-D toy set such as 8gaussians")
    parser.add_argument("--steps", type=int, default=500, help="generator updates per run")
    parser.add_argument("--batch-size", type=int, default=64)
    parser.add_argument("--learning-rate", type=float, default=2e-4)
    parser.add_argument("--d-steps", type=int, default=1,
                        help="discriminator updates per generator update (more: a stronger D, earlier saturation)")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--out", default="runs/gan_vanishing_gradients.png", help="PNG figure path")
    parser.add_argument("--json", default=None, help="also write per-step values and the summary here")
    args = parser.parse_args(argv)
    if args.steps < 1:
        parser.error(f"--steps must be positive, got {args.steps}")

    print(f"GAN generator gradient norms on {args.data}: {args.steps} steps, batch {args.batch_size}, "
          f"Adam({args.learning_rate:g}, beta_1=0.5), d_steps {args.d_steps}, seed {args.seed}", flush=True)
    results = {}
    for loss in LOSSES:
        results[loss] = run(loss, args.data, args.steps, args.batch_size, args.seed, args.learning_rate,
                            args.d_steps)
    same_start = results["minimax"]["initial_weights_digest"] == results["non_saturating"]["initial_weights_digest"]
    same_first_d = results["minimax"]["d_loss"][0] == results["non_saturating"]["d_loss"][0]
    summary = summarize(results, args.steps)

    print(f"\nSame seed: identical initial weights {same_start}, identical first discriminator loss {same_first_d}")
    print("\n| generator loss | median g grad norm, steps 1-100 | median, steps 101-"
          f"{args.steps} | min | median D(G(z)), steps 1-100 | final D(G(z)) |")
    print("|---|---|---|---|---|---|")
    for loss, s in summary.items():
        print(f"| {loss} | {s['median_g_grad_norm_first_100']:.3g} | {s['median_g_grad_norm_after_100']:.3g} | "
              f"{s['min_g_grad_norm']:.3g} | {s['median_d_fake_first_100']:.3f} | {s['final_d_fake']:.3f} |")
    ratio = summary["non_saturating"]["median_g_grad_norm_first_100"] / max(
        summary["minimax"]["median_g_grad_norm_first_100"], 1e-30)
    print(f"\nNon-saturating / minimax median gradient norm over the first 100 steps: {ratio:.1f}x")

    plot(results, args.out, f"GAN on {args.data} (d_steps={args.d_steps}): generator gradient norm, "
         f"same seed ({args.seed})")
    print(f"Figure: {args.out}")
    if args.json:
        payload = {"args": vars(args), "summary": summary, "same_first_d_loss": bool(same_first_d),
                   "same_initial_weights": bool(same_start),
                   "per_step": {loss: {k: np.asarray(v).tolist() for k, v in values.items()
                                       if k in RECORDED} for loss, values in results.items()}}
        with open(args.json, "w") as f:
            json.dump(payload, f)
    return summary


if __name__ == "__main__":
    sys.exit(0 if main() else 1)
