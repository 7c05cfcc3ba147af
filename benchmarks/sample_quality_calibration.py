"""What do MNIST-classifier FID/KID/IS/precision/recall values mean? Reference points.

Scores "generators" that replay known image sets against the held-out real
images, with the shipped MNIST classifier as feature extractor:

* real: real training images (the best a model can do at this sample size);
* five digits: real images of the digits 0-4 only (mode dropping: recall and
  IS fall, precision stays);
* binarized: real images with a fixed Bernoulli draw per pixel (what a
  Bernoulli model's sampled pixels look like);
* blurred: real images under a 3x3 box blur (lower fidelity);
* noise: uniform noise.

Usage (from the repository root)::

    python benchmarks/sample_quality_calibration.py                      # vs mnist5k validation
    python benchmarks/sample_quality_calibration.py --data mnist --split test \\
        --data-dir ../shared/data/mnist                                   # vs the official test set
"""

import argparse
import json
import os
import sys

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

import numpy as np  # noqa: E402

from kzoo import data as kdata  # noqa: E402
from kzoo.evaluation.compare import to_markdown  # noqa: E402
from kzoo.evaluation.features import get_feature_extractor  # noqa: E402
from kzoo.evaluation.sample_quality import reference_features, sample_quality  # noqa: E402


class Replay:
    """A stand-in generator: ``generate(n, seed)`` draws n images (with replacement) from a fixed set."""

    def __init__(self, images):
        self.images = np.asarray(images, dtype=np.float32)

    def generate(self, n, seed=None, **kwargs):
        rng = np.random.default_rng(seed)
        return self.images[rng.integers(0, len(self.images), size=n)]


def box_blur(images):
    padded = np.pad(images, ((0, 0), (1, 1), (1, 1), (0, 0)), mode="edge")
    return sum(padded[:, i : i + 28, j : j + 28] for i in range(3) for j in range(3)) / 9.0


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--data", default="mnist5k", help="real images: dataset name (default mnist5k)")
    parser.add_argument("--split", default="validation", help="split of the real images (default validation)")
    parser.add_argument("--data-dir", help="folder of the dataset files (for --data mnist)")
    parser.add_argument("--n-samples", type=int, default=2000)
    parser.add_argument("--extractor", default="mnist")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--json", help="also write the rows to this file")
    args = parser.parse_args(argv)

    extractor = get_feature_extractor(args.extractor)
    real = kdata.load_numpy(args.data, split=args.split, data_dir=args.data_dir)
    reference = reference_features(real, extractor)
    train, labels = kdata.load_numpy("mnist5k", split="train", labels=True)
    generators = {
        "real (mnist5k train)": train,
        "five digits (0-4)": train[labels < 5],
        "binarized": kdata.load_numpy("mnist5k", split="train", binarize="static", seed=args.seed),
        "blurred (3x3 box)": box_blur(train),
        "uniform noise": np.random.default_rng(args.seed).uniform(size=train.shape).astype(np.float32),
    }
    rows = []
    for name, images in generators.items():
        result = sample_quality(Replay(images), reference, n_samples=args.n_samples, extractor=extractor,
                                seed=args.seed, verbose=False)
        rows.append({"entry": name, **result, "dataset": args.data, "split": args.split})
        print(f"{name:<22} fid={result['fid']:.2f} kid={result['kid']:.4f} is={result['inception_score']:.2f} "
              f"precision={result['precision']:.3f} recall={result['recall']:.3f}", flush=True)
    columns = [("entry", "replayed images"), ("fid", "FID"), ("kid", "KID"), ("kid_std", "KID std"),
               ("inception_score", "IS"), ("precision", "precision"), ("recall", "recall")]
    print()
    print(to_markdown(rows, columns=columns))
    if args.json:
        with open(args.json, "w") as handle:
            json.dump(rows, handle, indent=2)
    return 0


if __name__ == "__main__":
    sys.exit(main())
