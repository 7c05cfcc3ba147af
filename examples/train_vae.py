"""Train a VAE on the embedded MNIST subset with the Python API.

Shows the whole loop a user writes: data from ``kzoo.data``, ``fit`` with
TensorBoard and a sample grid per epoch, the held-out importance-weighted
NLL, a preset folder that ``kzoo.load`` reads, and a latent interpolation.

    python examples/train_vae.py --epochs 5 --out runs/example-vae
    tensorboard --logdir runs/example-vae/logs --host 127.0.0.1
"""

import argparse

import keras

import kzoo
from kzoo.core.imaging import save_png
from kzoo.core.presets import save_preset
from kzoo.models.latent import VAE


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--epochs", type=int, default=5)
    parser.add_argument("--out", default="runs/example-vae")
    args = parser.parse_args()

    model = VAE(latent_dim=32)
    model.compile(optimizer=keras.optimizers.Adam(1e-3))
    train = kzoo.data.load("mnist5k", split="train", **model.data_options("train")).shuffle(4500, seed=0)
    val = kzoo.data.load("mnist5k", split="validation", **model.data_options("validation"))
    log_dir = f"{args.out}/logs"
    model.fit(
        train.batch(128),
        validation_data=val.batch(128),
        epochs=args.epochs,
        callbacks=[keras.callbacks.TensorBoard(log_dir), kzoo.callbacks.SampleGrid(log_dir)],
    )

    x_val = kzoo.data.load_numpy("mnist5k", split="validation", **model.data_options("validation"))
    nll = -model.log_prob(x_val, k=100, seed=0)
    print(f"validation NLL (IWAE bound, k=100): {nll.mean():.2f} nats")

    folder = save_preset(model, f"{args.out}/preset", card={"dataset": "mnist5k", "epochs": args.epochs},
                         overwrite=True)
    restored = kzoo.load(folder)
    save_png(restored.generate(64, seed=0), f"{args.out}/samples.png", scale=2)
    save_png(restored.interpolate(x_val[0], x_val[1], steps=10), f"{args.out}/interpolation.png", ncols=10,
             scale=2)
    print(f"preset in {folder}; samples and interpolation PNGs in {args.out}/")


if __name__ == "__main__":
    main()
