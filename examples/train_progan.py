"""Grow a Progressive GAN from 4x4 to 32x32 on mnist5k in one run, then draw its growth grid.

One ``kzoo.training.train`` call runs the whole schedule (stable 4x4, fade in
8x8, stable 8x8, ... up to 32x32): the resolution level follows the images
seen, which the model saves with its weights, so rerunning the same command
after an interruption resumes in the phase it reached. The run logs each
step's ``level`` and the FID at the end of each resolution stage (TensorBoard
under ``OUT/logs``), and the card records those FIDs. The growth grid shows
the same latents at every resolution, a row each.

    python examples/train_progan.py --epochs 60 --phase-images 31500 --out runs/example-progan
    tensorboard --logdir runs/example-progan/logs --host 127.0.0.1
"""

import argparse
from pathlib import Path

from kzoo.core.imaging import save_png
from kzoo.training import train


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--epochs", type=int, default=60)
    parser.add_argument("--batch-size", type=int, default=64)
    parser.add_argument("--phase-images", type=int, default=31_500, help="images per fade-in or stable phase")
    parser.add_argument("--filters", default="64,64,32,16", help="channels per level, 4x4 first")
    parser.add_argument("--out", default="runs/example-progan")
    args = parser.parse_args(argv)
    config = {"filters": [int(f) for f in args.filters.split(",")], "phase_images": args.phase_images}
    model, preset = train("progan", "mnist5k", epochs=args.epochs, batch_size=args.batch_size, out=args.out,
                          config=config)
    grid = model.growth_grid(n=8, seed=0)
    path = save_png(grid.reshape((-1,) + grid.shape[2:]), Path(args.out) / "growth_grid.png", ncols=8, scale=2)
    print(f"Entry in {preset}; growth grid (rows 4x4 ... {model.resolution}x{model.resolution}) in {path}")


if __name__ == "__main__":
    main()
