"""Train a CycleGAN between thin and thick digits, and score it against the exact targets.

Shows the loop of an image-to-image model: unpaired pairs from a
``domains-*`` dataset (each training pair holds two different digits),
``fit`` with the two optimizers and CycleGAN's linear decay, validation on
corresponding pairs (``val_l1_a_to_b``), a preview grid of translations, and
the translation report (L1 to the true targets, digit kept, stroke width
moved, FID) beside the identity mapping.

    python examples/train_cyclegan.py --epochs 4 --out runs/example-cyclegan
    tensorboard --logdir runs/example-cyclegan/logs --host 127.0.0.1
"""

import argparse

import keras

import kzoo
from kzoo.core.presets import save_preset
from kzoo.core.schedules import ConstantThenLinearDecay
from kzoo.evaluation.translation import translation_report
from kzoo.models.gan import CycleGAN


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--epochs", type=int, default=4)
    parser.add_argument("--data", default="domains-thickness", help="a pair dataset (domains-thickness, "
                        "domains-slant, domains-resolution)")
    parser.add_argument("--out", default="runs/example-cyclegan")
    args = parser.parse_args()

    batch_size = 32
    train = kzoo.data.load(args.data, split="train").shuffle(2250, seed=0).batch(batch_size)
    val = kzoo.data.load(args.data, split="validation").batch(250)
    steps = args.epochs * int(train.cardinality())
    model = CycleGAN(filters=16, residual_blocks=2, discriminator_filters=(16, 32, 64))

    def adam():  # the paper's optimizer: Adam(2e-4, beta_1=0.5), constant for half the steps, then linear to zero
        return keras.optimizers.Adam(ConstantThenLinearDecay(2e-4, steps // 2, steps - steps // 2), beta_1=0.5)

    model.compile(d_optimizer=adam(), g_optimizer=adam())
    log_dir = f"{args.out}/logs"
    preview = kzoo.data.load_numpy(args.data, split="validation", num_samples=8)
    model.fit(train, validation_data=val, epochs=args.epochs,
              callbacks=[keras.callbacks.TensorBoard(log_dir), kzoo.callbacks.SampleGrid(log_dir, source=preview)])
    report = translation_report(model, args.data, "validation")
    for direction in ("a_to_b", "b_to_a"):
        print(f"{direction}: L1 {report[direction + '_l1']:.4f} against {report[direction + '_identity_l1']:.4f} "
              f"for the identity")
    save_preset(model, f"{args.out}/preset", card={"dataset": args.data})
    print(f"Saved {args.out}/preset; kzoo.load('{args.out}/preset').translate(x, 'a_to_b') translates new digits.")


if __name__ == "__main__":
    main()
