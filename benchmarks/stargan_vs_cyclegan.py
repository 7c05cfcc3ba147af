"""One StarGAN against one CycleGAN per pair, on the pairs both learn, on the same test images.

``stargan-mnist`` translates between all five domains of ``domains-five``
with one generator; ``cyclegan-mnist-thickness`` (thin <-> thick) and
``cyclegan-mnist-slant`` (slant left <-> right) each learn one pair with
two. The held-out stacks of ``domains-five`` and the held-out pairs of
``domains-thickness`` / ``domains-slant`` are the same digits through the same
transforms, so both models translate the same source images towards the
same exact targets. For each of the four directions, prints the L1 to the
target (and the identity's), the digit kept (MNIST classifier), the share of
outputs the independent domain classifier puts in the target domain and the
FID to the targets, and StarGAN's L1 as a ratio of CycleGAN's.

Run from the repository root (about 3 minutes on 2 CPU cores for the full
official test set)::

    python benchmarks/stargan_vs_cyclegan.py --data-dir ../shared/data/mnist [--limit N] [--json runs/star.json]

Without ``--data-dir`` it uses the 500 ``mnist5k`` validation digits.
"""

import argparse
import os
import sys

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

import numpy as np  # noqa: E402

import kzoo  # noqa: E402
from kzoo import data as kdata  # noqa: E402
from kzoo.evaluation.features import get_feature_extractor  # noqa: E402
from kzoo.metrics.fid import fid_from_features  # noqa: E402
from kzoo.models.classifier.mnist_classifier import DOMAIN_ENTRY, load_mnist_classifier  # noqa: E402

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from common import write_json  # noqa: E402

#: CycleGAN entry -> (domain A, domain B) of its pair.
CYCLEGANS = {"cyclegan-mnist-thickness": ("thin", "thick"), "cyclegan-mnist-slant": ("slant_left", "slant_right")}


def figures(output, target, source, labels, target_index, extractor, domain_classifier, target_features):
    features, probabilities = extractor.features_and_probabilities(output)
    domains = np.argmax(domain_classifier.predict(output, batch_size=500, verbose=0), -1)
    return {
        "l1": float(np.mean(np.abs(output - target))),
        "identity_l1": float(np.mean(np.abs(source - target))),
        "digit_accuracy": float(np.mean(np.argmax(probabilities, -1) == labels)),
        "domain_accuracy": float(np.mean(domains == target_index)),
        "fid": float(fid_from_features(target_features, features)),
    }


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--stargan", default="stargan-mnist", help="StarGAN entry or folder")
    parser.add_argument("--data-dir", help="folder of the official MNIST test files (default: mnist5k validation)")
    parser.add_argument("--limit", type=int, help="use the first N digits only")
    parser.add_argument("--json", help="write the rows to this file")
    args = parser.parse_args(argv)
    split = "test" if args.data_dir else "validation"
    stacks, labels = kdata.load_numpy("domains-five", split, labels=True, data_dir=args.data_dir)
    if args.limit:
        stacks, labels = stacks[:args.limit], labels[:args.limit]
    stargan = kzoo.load(args.stargan)
    names = list(stargan.domain_names)
    images = dict(zip(names, np.split(stacks, len(names), axis=-1)))
    extractor = get_feature_extractor("mnist")
    domain_classifier = load_mnist_classifier(DOMAIN_ENTRY)
    target_features = {name: extractor.features(images[name]) for name in images}
    print(f"{len(labels)} digits of the {split} split")
    print(f"{'pair':26s} {'model':26s} {'L1 (identity)':>16s} {'digit kept':>10s} {'in target':>9s} "
          f"{'FID':>7s} {'L1 ratio':>8s}")
    rows = []
    for entry, (domain_a, domain_b) in CYCLEGANS.items():
        cyclegan = kzoo.load(entry)
        for source, target, direction in ((domain_a, domain_b, "a_to_b"), (domain_b, domain_a, "b_to_a")):
            args_common = (images[target], images[source], labels, names.index(target), extractor,
                           domain_classifier, target_features[target])
            star = figures(stargan.translate(images[source], target), *args_common)
            cycle = figures(cyclegan.translate(images[source], direction), *args_common)
            ratio = star["l1"] / cycle["l1"]
            for model, row in ((args.stargan, star), (entry, cycle)):
                rows.append({"pair": f"{source}_to_{target}", "model": model, **row,
                             **({"l1_ratio_to_cyclegan": ratio} if model == args.stargan else {})})
                print(f"{source + ' -> ' + target:26s} {model:26s} {row['l1']:7.4f} ({row['identity_l1']:.4f}) "
                      f"{row['digit_accuracy']:10.1%} {row['domain_accuracy']:9.1%} {row['fid']:7.1f} "
                      f"{(f'{ratio:8.2f}' if model == args.stargan else ''):>8s}", flush=True)
    if args.json:
        write_json(args.json, {"split": split, "n": int(len(labels)), "rows": rows})
    return 0


if __name__ == "__main__":
    sys.exit(main())
