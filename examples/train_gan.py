"""Train any model of the GAN family on mnist5k (or a 2-D toy set) with fit.

One script for GAN, DCGAN, conditional GAN, InfoGAN and WGAN-GP: two Adam
optimizers (``compile(d_optimizer=..., g_optimizer=...)``), TensorBoard
scalars (D/G losses, mean D(x) and D(G(z)), gradient norms) and a
fixed-noise sample grid per epoch, an every-epoch backup (rerun the same
command to resume), and a preset folder ``OUT/preset`` that ``kzoo.load``
reads, with the exact command, epochs and wall time in its card.

    python examples/train_gan.py gan --epochs 5 --out runs/example-gan
    python examples/train_gan.py cgan --epochs 5 --out runs/example-cgan
    python examples/train_gan.py wgan_gp --data 8gaussians --set latent_dim=8 --out runs/example-wgan-2d
    tensorboard --logdir runs/example-gan/logs --host 127.0.0.1
"""

import argparse
import shlex
import sys
from pathlib import Path

import numpy as np
import tensorflow as tf
import keras

import kzoo
from kzoo.callbacks import SampleGrid
from kzoo.core.imaging import save_png
from kzoo.core.presets import save_preset
from kzoo.cli import parse_overrides
from kzoo.core.registry import model_classes
from kzoo.data.epochs import shuffled_batches
from kzoo.training import WallClock, heldout_split


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    gan_models = model_classes("gan")
    parser.add_argument("model", choices=sorted(gan_models))
    parser.add_argument("--data", default="mnist5k", help="dataset name (default mnist5k)")
    parser.add_argument("--epochs", type=int, default=20)
    parser.add_argument("--batch-size", type=int, default=64)
    parser.add_argument("--d-lr", type=float, default=2e-4, help="discriminator Adam learning rate")
    parser.add_argument("--g-lr", type=float, default=2e-4, help="generator Adam learning rate")
    parser.add_argument("--beta1", type=float, default=0.5)
    parser.add_argument("--beta2", type=float, default=0.999)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--set", action="append", metavar="KEY=VALUE", help="constructor argument (JSON value)")
    parser.add_argument("--max-minutes", type=float, help="stop after the epoch that exceeds this wall time")
    parser.add_argument("--out", default="runs/example-gan")
    args = parser.parse_args(argv)
    command = "python examples/train_gan.py " + " ".join(shlex.quote(a) for a in (argv or sys.argv[1:]))

    keras.utils.set_random_seed(args.seed)
    info = kzoo.data.info(args.data)
    try:
        config = parse_overrides(args.set)
    except ValueError as err:
        parser.error(str(err))
    config.setdefault("data_shape", tuple(info.shape))
    model = gan_models[args.model].from_config(config)
    model.compile(
        d_optimizer=keras.optimizers.Adam(args.d_lr, beta_1=args.beta1, beta_2=args.beta2),
        g_optimizer=keras.optimizers.Adam(args.g_lr, beta_1=args.beta1, beta_2=args.beta2),
    )
    model.build_for_data()
    labels = model.is_conditional
    val_split, split_options = heldout_split(info)
    train = shuffled_batches(args.data, "train", {**model.data_options("train"), **split_options}, args.batch_size,
                         shuffle_seed=args.seed, labels=labels)
    # Full batches only: every generator update sees the same batch size.
    train = train.unbatch().batch(args.batch_size, drop_remainder=True).prefetch(tf.data.AUTOTUNE)
    val = (shuffled_batches(args.data, val_split, {**model.data_options(val_split), **split_options}, args.batch_size,
                        labels=labels)
           if val_split else None)

    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    clock = WallClock(out / "wall_time_seconds.txt", 60.0 * args.max_minutes if args.max_minutes else None)
    callbacks = [
        keras.callbacks.BackupAndRestore(str(out / "backup")),
        keras.callbacks.TensorBoard(str(out / "logs"), update_freq=50),
        keras.callbacks.TerminateOnNaN(),
        keras.callbacks.CSVLogger(str(out / "history.csv"), append=True),
        clock,
    ]
    if info.kind == "image":
        callbacks.append(SampleGrid(str(out / "logs"), n=100, png_dir=str(out / "samples")))
    history = model.fit(train, validation_data=val, epochs=args.epochs, callbacks=callbacks)
    with open(out / "history.csv") as handle:
        epochs_run = max(sum(1 for _ in handle) - 1, 0)

    card = {
        "dataset": args.data,
        "command": command,
        "epochs": epochs_run,
        "batch_size": args.batch_size,
        "optimizers": {"d": f"Adam({args.d_lr}, beta_1={args.beta1}, beta_2={args.beta2})",
                       "g": f"Adam({args.g_lr}, beta_1={args.beta1}, beta_2={args.beta2})"},
        "precision": "float32",
        "distribute": "none",
        "seed": args.seed,
        "wall_time_seconds": round(clock.total(), 1),
        "last_epoch_logs": {k: float(v[-1]) for k, v in history.history.items()},
    }
    if hasattr(model, "category_accuracy") and val_split:
        # InfoGAN: does the categorical code capture the classes? (labels used only to score)
        x_val, y_val = kzoo.data.load_numpy(args.data, split=val_split, labels=True)
        accuracy, mapping = model.category_accuracy(x_val, y_val)
        card["metrics"] = {f"{val_split}_category_accuracy": accuracy}
        card["category_to_class"] = {str(k): v for k, v in mapping.items()}
        print(f"{val_split} clustering accuracy of the categorical code: {accuracy:.4f}")
    folder = save_preset(model, out / "preset", card=card, overwrite=True)
    restored = kzoo.load(folder)
    if info.kind == "image":
        save_png(restored.generate(100, seed=0), out / "samples.png", scale=2)
        z = restored.sample_latents(2, seed=1)
        path = z[:1] + (z[1:] - z[:1]) * tf.linspace(0.0, 1.0, 10)[:, None].numpy()
        save_png(restored.decode(path), out / "interpolation.png", ncols=10, scale=2)
        if hasattr(restored, "make_latents"):
            # One row per categorical code, same noise along each column.
            k = restored.num_categories
            rows = [restored.make_latents(c, n=10, seed=2) for c in range(k)]
            save_png(restored.decode(np.concatenate(rows)), out / "categories.png", ncols=10, scale=2)
    print(f"preset in {folder}; wall time {card['wall_time_seconds']} s")


if __name__ == "__main__":
    main()
