"""Train a DDPM on MNIST (unconditional or class-conditional) and save a zoo entry.

Usage:
    python examples/train_ddpm.py --out runs/ddpm-mnist --minutes 25 --base-filters 32 \
        --learning-rate 1.5e-3 --ema-decay 0.999
    python examples/train_ddpm.py --conditional --out runs/ddpm-cond-mnist --minutes 30 --base-filters 32 \
        --learning-rate 1e-3 --ema-decay 0.999 --init-from runs/ddpm-mnist/preset
    python examples/train_ddpm.py --guidance-grid runs/ddpm-cond-mnist/preset --png guidance.png

Training runs ``fit`` on the 4,500 ``mnist5k`` training images with the simple
loss on the network's target (by default the velocity ``v`` with the cosine
schedule: an epsilon network must be very precise at high noise before its
implied ``x0`` is usable, which a short CPU run does not reach; with the
linear schedule and epsilon targets, 2,100 steps still drew worm-like
strokes where v drew digits after 1,400), an every-epoch backup (re-running
the same command resumes), a sample grid per epoch under ``OUT/samples``
and a wall-clock budget (``--minutes``: training stops after the first
epoch that ends past it). The preset (config, weights, card with the
command and wall time) goes to ``OUT/preset``; its card holds the
validation loss and the variational bound in bits/dim on the ``mnist5k``
validation split.

``--guidance-grid PRESET`` instead draws one row per class for guidance
scales 0, 1 and 3 (same noise in every panel) from a class-conditional entry.
"""

import argparse
import json
import shlex
import sys
import time
from pathlib import Path

import numpy as np
import keras


def warm_start(model, preset):
    """Copies the U-Net weights of a trained entry into ``model`` (matched by path).

    Weights the entry lacks (the class embedding of a conditional model
    started from an unconditional one) keep their initialization; both the
    trained and the averaged U-Net start from the entry's averaged weights.
    """
    from kzoo.core.ema import copy_variables
    from kzoo.core.presets import load_preset

    source = load_preset(preset)
    net = source.ema_unet if source.ema_unet is not None else source.unet
    by_path = {v.path.split("unet/", 1)[-1]: v for v in net.weights}
    copied = 0
    for variable in model.unet.weights:
        match = by_path.get(variable.path.split("unet/", 1)[-1])
        if match is not None and tuple(match.shape) == tuple(variable.shape):
            variable.assign(match)
            copied += 1
    if model.ema_unet is not None:
        copy_variables(model.ema_unet.weights, model.unet.weights)
    print(f"warm start from {preset}: {copied} of {len(model.unet.weights)} U-Net weights copied", flush=True)


def train(args):
    from kzoo.callbacks import SampleGrid
    from kzoo.core.presets import save_preset
    from kzoo.metrics.likelihood import summarize_nll
    from kzoo.models.diffusion import DDPM
    from kzoo.data.epochs import shuffled_batches
    from kzoo.training import WallClock, warm_start_card_fields
    from kzoo import data as kdata

    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    keras.utils.set_random_seed(args.seed)
    config = dict(base_filters=args.base_filters, channel_multipliers=args.channel_multipliers,
                  patch_size=args.patch_size, num_train_timesteps=args.timesteps, beta_schedule=args.schedule,
                  prediction_type=args.prediction,
                  ema_decay=args.ema_decay, sampler="ddim", sampling_steps=50, dropout=args.dropout)
    if args.conditional:
        config.update(num_classes=10, label_dropout=0.1, guidance_scale=args.guidance)
    model = DDPM(**config)
    model.compile(optimizer=keras.optimizers.Adam(args.learning_rate))
    model.build_for_data()
    if args.init_from and not (out / "backup").is_dir():
        warm_start(model, args.init_from)
    print(f"DDPM with {model.count_params():,} weights (U-Net {model.unet.count_params():,})", flush=True)
    train_ds = shuffled_batches("mnist5k", "train", {}, args.batch_size, shuffle_seed=args.seed, labels=args.conditional)
    val_ds = shuffled_batches("mnist5k", "validation", {}, args.batch_size, labels=args.conditional)
    clock_file = out / "wall_time_seconds.txt"
    if not (out / "backup").is_dir():
        clock_file.unlink(missing_ok=True)
        (out / "history.csv").unlink(missing_ok=True)
    budget = WallClock(clock_file, args.minutes * 60)
    callbacks = [
        keras.callbacks.BackupAndRestore(str(out / "backup")),
        keras.callbacks.TensorBoard(str(out / "logs")),
        SampleGrid(str(out / "logs"), png_dir=str(out / "samples"), every=args.grid_every),
        keras.callbacks.TerminateOnNaN(),
        keras.callbacks.CSVLogger(str(out / "history.csv"), append=True),
        budget,
    ]
    history = model.fit(train_ds, validation_data=val_ds, epochs=args.epochs, shuffle=False, verbose=2,
                        callbacks=callbacks)
    wall = budget.total()
    with open(out / "history.csv") as handle:
        epochs_run = max(sum(1 for _ in handle) - 1, 0)

    x_val, y_val = kdata.load_numpy("mnist5k", split="validation", labels=True)
    tick = time.perf_counter()
    nll = -model.log_prob(x_val, batch_size=250, seed=0, t_samples=args.bound_t_samples,
                          labels=y_val if args.conditional else None)
    summary = summarize_nll(nll, model.num_dims)
    print(f"validation bound: {summary['nll_nats']:.2f} nats ({summary['bits_per_dim']:.4f} bits/dim) in "
          f"{time.perf_counter() - tick:.0f} s", flush=True)
    name = "ddpm-cond-mnist" if args.conditional else "ddpm-mnist"
    card = {
        "name": name,
        "dataset": "mnist5k",
        "command": "python examples/train_ddpm.py " + " ".join(shlex.quote(a) for a in sys.argv[1:]),
        "epochs": epochs_run,
        "batch_size": args.batch_size,
        "learning_rate": args.learning_rate,
        "precision": "float32",
        "distribute": "none",
        "seed": args.seed,
        "wall_time_seconds": round(wall, 1),
        "metrics": {
            "validation_n_examples": int(len(x_val)),
            "validation_nll_nats": float(summary["nll_nats"]),
            "validation_nll_nats_sem": float(summary["nll_nats_sem"]),
            "validation_bits_per_dim": float(summary["bits_per_dim"]),
            "validation_bound_t_samples": args.bound_t_samples,
        },
        "last_epoch_logs": {k: float(v[-1]) for k, v in history.history.items()},
    }
    if args.init_from:
        card.update(warm_start_card_fields(args.init_from, wall))
    preset = save_preset(model, out / "preset", card=card, overwrite=True)
    (out / "train_summary.json").write_text(json.dumps(card, indent=2) + "\n")
    print(f"saved {preset}", flush=True)


def guidance_grid(args):
    import kzoo
    from kzoo.core.imaging import make_grid, save_png

    model = kzoo.load(args.guidance_grid)
    if model.num_classes is None:
        raise SystemExit(f"{args.guidance_grid} is unconditional; the guidance grid needs a class-conditional entry.")
    per_class = args.per_class
    labels = np.repeat(np.arange(model.num_classes), per_class)
    x_T = np.random.default_rng(args.seed).standard_normal((len(labels),) + model.data_shape).astype(np.float32)
    panels = []
    for scale in args.scales:
        tick = time.perf_counter()
        samples = model.sample_from_noise(x_T, labels=labels, guidance_scale=scale, sampler=args.sampler,
                                          steps=args.steps)
        print(f"guidance {scale}: {len(labels)} samples in {time.perf_counter() - tick:.1f} s", flush=True)
        grid = make_grid(samples, ncols=per_class)
        panels.append(np.pad(grid, ((0, 0), (0, 4), (0, 0)), constant_values=1.0))
    save_png(np.concatenate(panels, axis=1)[None, :, :-4], args.png, ncols=1, scale=2)
    print(f"wrote {args.png}: panels left to right are guidance scales {args.scales}; row k is class k")


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--out", default="runs/ddpm-mnist")
    parser.add_argument("--conditional", action="store_true", help="class-conditional with label dropout 0.1")
    parser.add_argument("--epochs", type=int, default=1000, help="upper bound; --minutes usually stops first")
    parser.add_argument("--minutes", type=float, default=20.0, help="training wall-clock budget")
    parser.add_argument("--batch-size", type=int, default=64)
    parser.add_argument("--learning-rate", type=float, default=1e-3)
    parser.add_argument("--base-filters", type=int, default=48)
    parser.add_argument("--channel-multipliers", type=int, nargs="+", default=[1, 2])
    parser.add_argument("--patch-size", type=int, default=2)
    parser.add_argument("--dropout", type=float, default=0.0)
    parser.add_argument("--timesteps", type=int, default=1000)
    parser.add_argument("--schedule", choices=("linear", "cosine"), default="cosine")
    parser.add_argument("--prediction", choices=("epsilon", "v"), default="v",
                        help="network target: v predicts x0 well at high noise, which short training needs")
    parser.add_argument("--ema-decay", type=float, default=0.995)
    parser.add_argument("--guidance", type=float, default=1.0, help="default guidance scale of the entry")
    parser.add_argument("--bound-t-samples", type=int, default=50)
    parser.add_argument("--grid-every", type=int, default=5)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--init-from", metavar="PRESET", help="start from the U-Net weights of a trained entry")
    parser.add_argument("--guidance-grid", metavar="PRESET", help="draw the guidance grid of a conditional entry")
    parser.add_argument("--png", default="guidance_grid.png")
    parser.add_argument("--scales", type=float, nargs="+", default=[0.0, 1.0, 3.0])
    parser.add_argument("--per-class", type=int, default=8)
    parser.add_argument("--sampler", default="ddim")
    parser.add_argument("--steps", type=int, default=50)
    args = parser.parse_args(argv)
    if args.guidance_grid:
        guidance_grid(args)
    else:
        train(args)


if __name__ == "__main__":
    main()
