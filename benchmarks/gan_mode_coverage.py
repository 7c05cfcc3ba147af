"""Mode coverage of GAN variants on the 2-D Gaussian mixtures.

Trains, with the same seed, data order and budget (``--steps`` generator
updates of batch ``--batch-size``), on ``8gaussians`` (a ring of 8 modes)
and ``25gaussians`` (a 5x5 grid):

* ``GAN (minimax)``: :class:`kzoo.models.gan.GAN`, ``adversarial_loss="minimax"``;
* ``GAN (non-saturating)``: the same with ``adversarial_loss="non_saturating"``;
* ``WGAN-GP``: :class:`kzoo.models.gan.WGANGP` (MLP critic, gradient
  penalty weight 0.1 and Adam(1e-4, 0.5, 0.9) as in Gulrajani et al.'s 2-D
  experiments, 5 critic updates per generator update, so 5x the
  discriminator updates of the others for the same generator budget);
* ``GAN + batch norm (DCGAN rules)``: for 2-D data a "DCGAN-style" model is
  an MLP that follows the DCGAN guidelines (Radford et al. 2016): batch
  normalization in every generator layer but the output and every
  discriminator layer but the input, ReLU in the generator, LeakyReLU(0.2)
  in the discriminator, Adam(2e-4, beta_1=0.5). :class:`kzoo.models.gan.DCGAN`
  is convolutional (images only) and :class:`~kzoo.models.gan.GAN` has no
  batch-norm option, so the benchmark defines this MLP variant as a small
  subclass of ``GAN`` (its networks only; losses and training step are
  GAN's, non-saturating).

Every model has the same generator widths, latent size and step budget.
After training, :func:`kzoo.analysis.modes.mode_coverage` scores 10,000
samples: modes covered (at least 20 samples within 3 standard deviations),
percentage of high-quality samples (within 3 standard deviations of the
nearest mode; 98.9% for a perfect sampler) and the KL divergence (nats) of
the mode histogram from uniform. The script prints one markdown table and
writes a scatter plot of the samples of every run.

A reference row scores uniform noise over the data's bounding box. On
``8gaussians`` (std 0.354, neighbouring centres 2.16 apart) the 3-sigma
discs cover about 44% of the box, so noise already "covers" all 8 modes
with ~40% high-quality samples: there, read the high-quality percentage
(98.9% for a perfect sampler) and the KL, not the mode count. The
``25gaussians`` discs are narrow (std 0.018) and the criteria strict.

Run from the repository root (about 15-25 minutes on 2 CPU cores)::

    python benchmarks/gan_mode_coverage.py [--steps 4000] [--datasets 8gaussians,25gaussians]
        [--out runs/gan_mode_coverage.png] [--json results.json]

References:
    Metz et al., "Unrolled Generative Adversarial Networks", ICLR 2017;
    Srivastava et al., "VEEGAN", NeurIPS 2017 (the mixture benchmark and
    its metrics).
    Gulrajani et al., "Improved Training of Wasserstein GANs", NeurIPS 2017.
    Radford, Metz and Chintala, "Unsupervised Representation Learning with
    Deep Convolutional Generative Adversarial Networks", ICLR 2016.
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
from kzoo.analysis.modes import mode_coverage  # noqa: E402
from kzoo.models import gan as gan_models  # noqa: E402
from kzoo.models.gan import GAN  # noqa: E402

LATENT_DIM = 16
HIDDEN = (128, 128, 128)
STEPS_PER_EXECUTION = 50  # train steps per compiled call: tiny networks are dominated by call overhead
WGAN_GP_WEIGHT = 0.1  # the penalty weight of Gulrajani et al.'s 2-D toy experiments (10 for images)
UNIFORM = "uniform noise on the data's bounding box (reference)"


class BatchNormMLPGAN(GAN):
    """GAN with MLP networks that follow the DCGAN rules, for vector data.

    Generator: (Dense -> BatchNorm -> ReLU) per hidden layer, linear output.
    Discriminator: Dense -> LeakyReLU(0.2) first, then (Dense -> BatchNorm ->
    LeakyReLU(0.2)) per hidden layer, one logit. Real and fake batches go
    through the discriminator separately (as in DCGAN), so each batch-norm
    call sees one kind of data.
    """

    def make_generator(self, name):
        layers = []
        for i, units in enumerate(self.hidden_units):
            layers += [keras.layers.Dense(units, use_bias=False, name=f"dense_{i}"),
                       keras.layers.BatchNormalization(name=f"bn_{i}"),
                       keras.layers.ReLU(name=f"act_{i}")]
        layers += [keras.layers.Dense(int(np.prod(self.data_shape)), name="output"),
                   keras.layers.Reshape(tuple(self.data_shape), name="reshape")]
        return keras.Sequential(layers, name=name)

    def make_discriminator(self, name):
        layers = [keras.layers.Flatten(name="flatten")]
        for i, units in enumerate(reversed(self.hidden_units)):
            layers.append(keras.layers.Dense(units, use_bias=i == 0, name=f"dense_{i}"))
            if i > 0:
                layers.append(keras.layers.BatchNormalization(name=f"bn_{i}"))
            layers.append(keras.layers.LeakyReLU(0.2, name=f"act_{i}"))
        layers.append(keras.layers.Dense(1, name="logit"))
        return keras.Sequential(layers, name=name)


def _adam(learning_rate, beta_2=0.999):
    return keras.optimizers.Adam(learning_rate, beta_1=0.5, beta_2=beta_2)


def make_models():
    """Name -> function returning a compiled model (called after the seed is set)."""

    def gan(loss):
        def build():
            model = GAN(data_shape=(2,), latent_dim=LATENT_DIM, adversarial_loss=loss, hidden_units=HIDDEN)
            model.compile(d_optimizer=_adam(2e-4), g_optimizer=_adam(2e-4), steps_per_execution=STEPS_PER_EXECUTION)
            return model
        return build

    def batch_norm():
        model = BatchNormMLPGAN(data_shape=(2,), latent_dim=LATENT_DIM, adversarial_loss="non_saturating", hidden_units=HIDDEN)
        model.compile(d_optimizer=_adam(2e-4), g_optimizer=_adam(2e-4), steps_per_execution=STEPS_PER_EXECUTION)
        return model

    models = {"GAN (minimax)": gan("minimax"), "GAN (non-saturating)": gan("non_saturating")}
    wgan = getattr(gan_models, "WGANGP", None)
    if wgan is not None:
        def wgan_gp():
            model = wgan(data_shape=(2,), latent_dim=LATENT_DIM, hidden_units=HIDDEN, d_steps=5,
                         gp_weight=WGAN_GP_WEIGHT)
            model.compile(d_optimizer=_adam(1e-4, 0.9), g_optimizer=_adam(1e-4, 0.9),
                          steps_per_execution=STEPS_PER_EXECUTION)
            return model
        models["WGAN-GP"] = wgan_gp
    else:
        print("kzoo.models.gan.WGANGP is not available: WGAN-GP is skipped.", flush=True)
    models["GAN + batch norm (DCGAN rules)"] = batch_norm
    return models


class Progress(keras.callbacks.Callback):
    def __init__(self, label, every):
        super().__init__()
        self.label, self.every, self.start, self.shown = label, every, time.time(), 0

    def on_train_batch_end(self, batch, logs=None):
        # With steps_per_execution > 1, ``batch`` advances in strides; print once per ``every`` steps.
        if (batch + 1) // self.every > self.shown:
            self.shown = (batch + 1) // self.every
            shown = ", ".join(f"{k} {float(v):.3g}" for k, v in logs.items() if k in ("d_loss", "g_loss"))
            print(f"  [{self.label}] step {batch + 1}: {shown} (running means), {time.time() - self.start:.0f}s",
                  flush=True)


def train_one(name, build, dataset_name, steps, batch_size, seed):
    keras.utils.set_random_seed(seed)
    x = kdata.load_numpy(dataset_name, "train")
    data = tf.data.Dataset.from_tensor_slices(x).shuffle(len(x), seed=seed).repeat().batch(batch_size)
    model = build()
    start = time.time()
    model.fit(data, epochs=1, steps_per_epoch=steps, verbose=0,
              callbacks=[Progress(f"{dataset_name} / {name}", max(steps // 4, 1))])
    wall = time.time() - start
    samples = model.generate(10_000, seed=seed + 1)
    result = mode_coverage(samples, dataset_name)
    return result, samples, wall


def plot(runs, datasets, names, path):
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, axes = plt.subplots(len(datasets), len(names) + 1, figsize=(3 * (len(names) + 1), 3 * len(datasets)),
                             squeeze=False)
    for row, dataset_name in enumerate(datasets):
        spec = kdata.info(dataset_name)
        real = kdata.load_numpy(dataset_name, "validation")[:2000]
        low, high = real.min() - 0.15 * np.ptp(real), real.max() + 0.15 * np.ptp(real)
        panels = [("data", real, None)] + [(n, runs[(dataset_name, n)][1][:2000], runs[(dataset_name, n)][0])
                                           for n in names]
        for col, (label, points, result) in enumerate(panels):
            ax = axes[row, col]
            ax.scatter(points[:, 0], points[:, 1], s=1, alpha=0.4, color="tab:blue")
            ax.scatter(spec.modes[:, 0], spec.modes[:, 1], s=8, color="tab:red", marker="x")
            ax.set_xlim(low, high)
            ax.set_ylim(low, high)
            ax.set_aspect("equal")
            ax.set_xticks([])
            ax.set_yticks([])
            subtitle = "" if result is None else (f"\n{result.modes_covered}/{result.num_modes} modes, "
                                                  f"{100 * result.high_quality_fraction:.0f}% HQ")
            label = "uniform noise" if label == UNIFORM else label
            ax.set_title(f"{dataset_name}: {label}{subtitle}", fontsize=7)
    fig.tight_layout()
    os.makedirs(os.path.dirname(os.path.abspath(path)), exist_ok=True)
    fig.savefig(path, dpi=110)
    plt.close(fig)


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--steps", type=int, default=4000, help="generator updates per model")
    parser.add_argument("--batch-size", type=int, default=256)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--datasets", default="8gaussians,25gaussians")
    parser.add_argument("--models", default=None, help="comma-separated subset of the model names")
    parser.add_argument("--out", default="runs/gan_mode_coverage.png", help="scatter-plot PNG")
    parser.add_argument("--json", default=None)
    args = parser.parse_args(argv)
    datasets = [d.strip() for d in args.datasets.split(",") if d.strip()]
    for name in datasets:
        if kdata.info(name).modes is None:
            parser.error(f"{name} has no known modes; use 8gaussians or 25gaussians")
    models = make_models()
    if args.models:
        wanted = [m.strip() for m in args.models.split(",")]
        unknown = [m for m in wanted if m not in models]
        if unknown:
            parser.error(f"unknown models {unknown}; known: {list(models)}")
        models = {m: models[m] for m in wanted}

    print(f"Mode coverage: {args.steps} generator steps, batch {args.batch_size}, seed {args.seed}, "
          f"latent {LATENT_DIM}, hidden {HIDDEN}", flush=True)
    runs = {}
    for dataset_name in datasets:
        # Reference row: uniform noise over the data's bounding box (how lenient the criteria are).
        real = kdata.load_numpy(dataset_name, "validation")
        noise = np.random.default_rng(args.seed).uniform(real.min(axis=0), real.max(axis=0), size=(10_000, 2))
        runs[(dataset_name, UNIFORM)] = (mode_coverage(noise, dataset_name), noise.astype(np.float32), 0.0)
        print(f"{dataset_name} / {UNIFORM}: {runs[(dataset_name, UNIFORM)][0]}", flush=True)
        for name, build in models.items():
            result, samples, wall = train_one(name, build, dataset_name, args.steps, args.batch_size, args.seed)
            runs[(dataset_name, name)] = (result, samples, wall)
            print(f"{dataset_name} / {name}: {result} ({wall:.0f}s)", flush=True)

    print("\n| data | model | modes covered | high-quality samples | KL(modes || uniform), nats | train time |")
    print("|---|---|---|---|---|---|")
    for (dataset_name, name), (result, _, wall) in runs.items():
        print(f"| {dataset_name} | {name} | {result.modes_covered}/{result.num_modes} | "
              f"{100 * result.high_quality_fraction:.1f}% | {result.kl_uniform:.3f} | {wall:.0f}s |")
    plot(runs, datasets, [UNIFORM] + list(models), args.out)
    print(f"\nSamples: {args.out}")
    if args.json:
        with open(args.json, "w") as f:
            json.dump({"args": vars(args), "results": [
                {"data": d, "model": n, "wall_seconds": w, **r.as_dict()} for (d, n), (r, _, w) in runs.items()]},
                f, indent=1)
    return runs


if __name__ == "__main__":
    sys.exit(0 if main() else 1)
