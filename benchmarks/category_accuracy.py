"""Unsupervised accuracy of an InfoGAN entry's categorical code on real digits.

The Q head's most probable category for each real image is matched to the
true classes by the best one-to-one map (Hungarian algorithm, see
:func:`kzoo.metrics.clustering_accuracy`); labels are used only for scoring.
Reports the ``mnist5k`` validation split and, when ``--data-dir`` holds the
official MNIST test set (evaluation only), the test split.

Usage (from the repository root)::

    python benchmarks/category_accuracy.py infogan-mnist --data-dir ../shared/data/mnist [--json out.json]
"""

import argparse
import json
import os
import sys

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("entry", help="InfoGAN entry name or preset folder")
    parser.add_argument("--data-dir", default=None, help="folder with the official MNIST test set (optional)")
    parser.add_argument("--json", default=None, help="also write the result to this JSON file")
    args = parser.parse_args(argv)

    import kzoo
    from kzoo import data as kdata

    model = kzoo.load(args.entry)
    if not hasattr(model, "category_accuracy"):
        raise SystemExit(f"{args.entry} is a {type(model).__name__}: it has no categorical code to score.")
    sets = [("validation", "mnist5k", None)]
    if args.data_dir and os.path.isdir(args.data_dir):
        sets.append(("test", "mnist", args.data_dir))
    else:
        print(f"no MNIST test set in {args.data_dir!r}: the test split is skipped", file=sys.stderr)
    result = {"entry": args.entry}
    for split, data, data_dir in sets:
        x, y = kdata.load_numpy(data, split=split, labels=True, data_dir=data_dir)
        accuracy, mapping = model.category_accuracy(x, y)
        result[f"{split}_category_accuracy"] = float(accuracy)
        result[f"{split}_n_examples"] = int(len(x))
        result[f"{split}_category_to_class"] = {str(k): int(v) for k, v in mapping.items()}
        print(f"{data} {split} ({len(x)} images): category accuracy {accuracy:.4f}", flush=True)
    print(json.dumps(result))
    if args.json:
        with open(args.json, "w") as handle:
            json.dump(result, handle, indent=1)
    return 0


if __name__ == "__main__":
    sys.exit(main())
