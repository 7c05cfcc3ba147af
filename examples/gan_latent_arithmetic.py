"""Latent arithmetic and interpolation on MNIST, with attributes measured from pixels.

Draws codes from a generator's prior, decodes them and measures two
attributes of every digit (:mod:`kzoo.analysis.arithmetic`): stroke
thickness (ink mass / skeleton length, in pixels) and slant (the shear of
the second image moments, positive when the top leans right). Then:

1. the thickness and slant directions: mean code of the thickest (most
   slanted) 20% minus mean code of the thinnest (least slanted) 20%;
2. walks along each direction, with the attributes measured at each step
   (does the attribute move, and does the other one stay?);
3. arithmetic on group means, applied to individual codes: a thin upright
   digit + (mean of thick slanted digits - mean of thin slanted digits)
   should come out thick and still upright;
4. interpolation figures: slerp paths between random codes and a sheet
   spanned by four codes.

Works with any zoo entry whose model maps codes to images (``decode``):
the GAN entries (``dcgan-mnist``, ``gan-mnist``, ``infogan-mnist``, ...) or
``vae-mnist``; a class-conditional entry (``cgan-mnist``) draws balanced
classes and keeps each code's class along its walk. PNG figures go to
``--out-dir``.

Run from the repository root (under a minute)::

    python examples/gan_latent_arithmetic.py [--entry dcgan-mnist] [--samples 5000]
        [--out-dir runs/gan_latent_arithmetic]
"""

import argparse
import os

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

import numpy as np  # noqa: E402

import kzoo  # noqa: E402
from kzoo.analysis import arithmetic as ar  # noqa: E402
from kzoo.core.catalog import preset_names  # noqa: E402
from kzoo.core.imaging import save_png  # noqa: E402

PREFERRED = ("dcgan-mnist", "gan-mnist", "wgan-gp-mnist", "vae-mnist")


def walk_table(model, base, direction, alphas, labels=None):
    """Mean thickness and slant of the decoded codes at each step along a direction."""
    images = ar.traverse(model, base, direction, alphas, labels=labels)
    flat = images.reshape((-1,) + images.shape[2:])
    scores = ar.attribute_scores(flat)
    shape = images.shape[:2]
    return images, {k: v.reshape(shape).mean(axis=0) for k, v in scores.items()}


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--entry", default=None, help=f"zoo entry (default: first of {', '.join(PREFERRED)})")
    parser.add_argument("--samples", type=int, default=5000, help="codes drawn to define the groups")
    parser.add_argument("--fraction", type=float, default=0.2, help="share of samples in each extreme group")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--out-dir", default="runs/gan_latent_arithmetic")
    args = parser.parse_args(argv)

    available = preset_names()
    entry = args.entry or next((e for e in PREFERRED if e in available), None)
    if entry is None:
        parser.error(f"none of {PREFERRED} is in saved_models/; pass --entry")
    model = kzoo.load(entry)
    os.makedirs(args.out_dir, exist_ok=True)
    print(f"{entry}: {type(model).__name__}, latent_dim {model.latent_dim}; {args.samples} samples")

    # 1. Attributes of generated digits and their latent directions. A class-conditional model draws
    # balanced classes, and every code keeps its class in the walks and paths below.
    num_classes = getattr(model, "num_classes", None)
    labels = None if num_classes is None else np.arange(args.samples) % num_classes
    latents, images = ar.sample_with_latents(model, args.samples, seed=args.seed, labels=labels)

    def labels_of(index):
        return None if labels is None else labels[index]

    scores = ar.attribute_scores(images)
    for name, values in scores.items():
        print(f"  {name}: 5/50/95th percentiles {np.percentile(values, [5, 50, 95]).round(3).tolist()}")
    directions = {name: ar.attribute_direction(latents, values, args.fraction, name=name)
                  for name, values in scores.items()}
    for d in directions.values():
        print(f"  {d.name} direction: |v| = {np.linalg.norm(d.vector):.3f}; groups of {d.group_size}: "
              f"mean {d.name} {d.low_score:.3f} (low) vs {d.high_score:.3f} (high)")
    cosine = float(np.dot(directions["thickness"].unit, directions["slant"].unit))
    print(f"  cosine(thickness direction, slant direction) = {cosine:.3f}")

    # 2. Walks: the attribute should follow alpha, the other one should not.
    alphas = np.linspace(-1.5, 1.5, 7)
    base, base_labels = latents[:200], labels_of(np.arange(200))
    print("\n| walk along | alpha | " + " | ".join(f"{a:+.1f}" for a in alphas) + " |")
    print("|---|---|" + "---|" * len(alphas))
    for name, direction in directions.items():
        walk, means = walk_table(model, base, direction, alphas, base_labels)
        for measured, values in means.items():
            print(f"| {name} | mean {measured} | " + " | ".join(f"{v:.3f}" for v in values) + " |")
        save_png(walk[:8].reshape((-1,) + walk.shape[2:]), os.path.join(args.out_dir, f"walk_{name}.png"),
                 ncols=len(alphas), scale=2)

    # 3. Arithmetic on group means, applied to individual codes.
    t, s = scores["thickness"], scores["slant"]
    groups = {
        "thick slanted": (t >= np.quantile(t, 0.7)) & (s >= np.quantile(s, 0.7)),
        "thin slanted": (t <= np.quantile(t, 0.3)) & (s >= np.quantile(s, 0.7)),
        "thin upright": (t <= np.quantile(t, 0.3)) & (np.abs(s) <= np.quantile(np.abs(s), 0.3)),
    }
    sizes = {k: int(v.sum()) for k, v in groups.items()}
    if min(sizes.values()) < 5:
        print(f"\nArithmetic skipped: a group is too small {sizes}")
    else:
        means = ar.group_means(latents, groups)
        offset = ar.vector_arithmetic([means["thick slanted"]], [means["thin slanted"]])
        chosen = np.flatnonzero(groups["thin upright"])[:100]
        start = latents[chosen]
        result = ar.decode(model, start + offset[None], labels=labels_of(chosen))
        before = ar.attribute_scores(images[groups["thin upright"]][:100])
        after = ar.attribute_scores(result)
        print(f"\nthin upright + (thick slanted - thin slanted), on {len(start)} codes (groups {sizes}):")
        print(f"  thickness {before['thickness'].mean():.3f} -> {after['thickness'].mean():.3f} "
              f"(thicker for {100 * np.mean(after['thickness'] > before['thickness']):.0f}% of codes); "
              f"|slant| {np.abs(before['slant']).mean():.3f} -> {np.abs(after['slant']).mean():.3f}")
        pairs = np.stack([images[groups["thin upright"]][:10], result[:10]], axis=1)
        save_png(pairs.reshape((-1,) + pairs.shape[2:]), os.path.join(args.out_dir, "arithmetic.png"), ncols=2,
                 scale=2)

    # 4. Interpolation figures.
    rng = np.random.default_rng(args.seed)
    picked = rng.choice(len(latents), size=16, replace=False)
    pairs = latents[picked]
    path_labels = labels_of(picked[:8])  # a conditional model keeps the class of the start code
    rows = ar.interpolation_images(model, pairs[:8], pairs[8:], steps=10, method="slerp", labels=path_labels)
    save_png(rows.reshape((-1,) + rows.shape[2:]), os.path.join(args.out_dir, "interpolation_slerp.png"), ncols=10,
             scale=2)
    sheet = ar.grid_images(model, pairs[:4], rows=8, cols=8, method="slerp",
                           labels=None if labels is None else int(labels[picked[0]]))
    save_png(sheet.reshape((-1,) + sheet.shape[2:]), os.path.join(args.out_dir, "interpolation_grid.png"), ncols=8,
             scale=2)
    print(f"\nFigures in {args.out_dir}: walk_thickness.png, walk_slant.png, arithmetic.png, "
          "interpolation_slerp.png, interpolation_grid.png")


if __name__ == "__main__":
    main()
