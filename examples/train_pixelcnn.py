"""Train a (Gated) PixelCNN on the embedded MNIST subset with the Python API.

Shows the loop a user writes for an autoregressive image model: binarized
data from ``kzoo.data`` (dynamic binarization to train, the fixed static
binarization to evaluate, as ``model.data_options`` asks), ``fit`` with
TensorBoard and a sample grid per epoch, the exact held-out NLL in nats and
bits/dim, a preset folder that ``kzoo.load`` reads, and sampling with the
fast cached sampler. With ``--conditional`` the model is class-conditional:
labels go to ``fit`` as ``y`` and ``generate`` draws one row per digit.

    python examples/train_pixelcnn.py --epochs 5 --out runs/example-pixelcnn
    python examples/train_pixelcnn.py --model gated_pixelcnn --conditional --epochs 5
    tensorboard --logdir runs/example-pixelcnn/logs --host 127.0.0.1
"""

import argparse
import time

import numpy as np
import keras

import kzoo
from kzoo.core.imaging import save_png
from kzoo.core.presets import save_preset
from kzoo.core.registry import get_model_class
from kzoo.metrics.likelihood import bits_per_dim

SMALL_CONFIGS = {
    "pixelcnn": {"filters": 32, "num_blocks": 4, "head_units": 32},
    "gated_pixelcnn": {"filters": 16, "num_layers": 4, "head_units": 32},
}


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--model", choices=sorted(SMALL_CONFIGS), default="pixelcnn")
    parser.add_argument("--conditional", action="store_true", help="condition on the digit class")
    parser.add_argument("--epochs", type=int, default=5)
    parser.add_argument("--batch-size", type=int, default=64)
    parser.add_argument("--out", default="runs/example-pixelcnn")
    args = parser.parse_args()

    config = dict(SMALL_CONFIGS[args.model], num_classes=10 if args.conditional else None)
    model = get_model_class(args.model)(**config)
    model.compile(optimizer=keras.optimizers.Adam(1e-3))

    labels = args.conditional
    train = kzoo.data.load("mnist5k", split="train", labels=labels, **model.data_options("train"))
    val = kzoo.data.load("mnist5k", split="validation", labels=labels, **model.data_options("validation"))
    log_dir = f"{args.out}/logs"
    model.fit(
        train.shuffle(4500, seed=0).batch(args.batch_size),
        validation_data=val.batch(250),
        epochs=args.epochs,
        callbacks=[keras.callbacks.TensorBoard(log_dir), kzoo.callbacks.SampleGrid(log_dir)],
    )

    # Exact NLL of the statically binarized validation images.
    options = model.data_options("validation")
    if labels:
        x_val, y_val = kzoo.data.load_numpy("mnist5k", split="validation", labels=True, **options)
    else:
        x_val, y_val = kzoo.data.load_numpy("mnist5k", split="validation", **options), None
    nll = -model.log_prob(x_val, labels=y_val)
    print(f"validation NLL: {nll.mean():.2f} nats ({bits_per_dim(nll.mean(), model.num_dims):.4f} bits/dim)")

    folder = save_preset(model, f"{args.out}/preset", overwrite=True,
                         card={"dataset": "mnist5k", "epochs": args.epochs,
                               "metrics": {"validation_nll_nats": float(nll.mean())}})
    restored = kzoo.load(folder)

    # The cached sampler is the default; the compiled full recomputation gives the same images, slower.
    digits = np.repeat(np.arange(10), 8) if labels else None
    n = 80 if labels else 64
    start = time.perf_counter()
    samples = restored.generate(n, seed=0, labels=digits)
    print(f"{n} samples with the cached sampler in {time.perf_counter() - start:.1f} s")
    save_png(samples, f"{args.out}/samples.png", ncols=8, scale=2)
    print(f"preset in {folder}; samples in {args.out}/samples.png")


if __name__ == "__main__":
    main()
