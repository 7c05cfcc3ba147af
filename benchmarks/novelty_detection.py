"""Novelty detection with likelihood models: MNIST digits 0-4 against the rest.

Each model (independent pixels, FVSBN, NADE, MADE) is trained on the digits
0-4 of the ``mnist5k`` train split (dynamic binarization; 10% of those
images held out to calibrate a 5%-false-positive threshold), then scores the
held-out ``validation`` split: digits 0-4 are normal, and the anomalies are

* digits 5-9 (a semantic shift: hard),
* uniform noise (each pixel 0 or 1 with probability 1/2),
* inverted digits 0-4 (``1 - x``),
* blank (all-zero) images.

Three scores per model: the raw negative log-likelihood, the input-complexity
correction ``-log p(x) - L(x)`` with ``L`` the PNG length (Serra et al.
2020), and the likelihood ratio against the independent-pixel model (Ren et
al. 2019 use a background model; independent pixels are the simplest one).
The table reports AUROC / AUPRC (anomalies positive) and the detection rate
at the calibrated threshold, and the script names every case where a model
gives an anomaly set *higher* likelihood than the normal data: the known
failure mode of likelihood-based detection (Nalisnick et al. 2019).

Run from the repository root (about 4 minutes on 2 CPU cores)::

    python benchmarks/novelty_detection.py [--json results.json] [--quick]
"""

import argparse
import json
import os
import sys
import time

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

import numpy as np  # noqa: E402
import tensorflow as tf  # noqa: E402
import keras  # noqa: E402

from kzoo import data as kdata  # noqa: E402
from kzoo.analysis import anomaly  # noqa: E402
from kzoo.data.transforms import binarize_static, dynamic_binarize  # noqa: E402
from kzoo.models.autoregressive import FVSBN, MADE, NADE, IndependentBernoulli  # noqa: E402

NORMAL_DIGITS = 5  # digits 0..4 are normal
SCORES = ("raw", "png", "ratio")


def load_sets(seed=0, limit=None):
    """Training images (gray), the calibration set and the evaluation sets (binary)."""
    gray, labels = kdata.load_numpy("mnist5k", "train", labels=True)
    normal = gray[labels < NORMAL_DIGITS]
    rng = np.random.default_rng(seed)
    normal = normal[rng.permutation(len(normal))]
    n_calib = len(normal) // 10
    calib_gray, train_gray = normal[:n_calib], normal[n_calib:]
    val, val_labels = kdata.load_numpy("mnist5k", "validation", labels=True, binarize="static", seed=seed)
    inliers = val[val_labels < NORMAL_DIGITS]
    count = len(inliers) if limit is None else min(limit, len(inliers))
    inliers = inliers[:count]
    outliers = {
        "digits 5-9": val[val_labels >= NORMAL_DIGITS][:count],
        "uniform noise": (rng.random((count,) + inliers.shape[1:]) < 0.5).astype(np.float32),
        "inverted 0-4": 1.0 - inliers,
        "blank": np.zeros_like(inliers),
    }
    calib = binarize_static(calib_gray, seed + 1)
    return train_gray, calib, inliers, outliers


class EpochPrinter(keras.callbacks.Callback):
    def __init__(self, name, epochs):
        super().__init__()
        self.name, self.epochs, self.start = name, epochs, time.perf_counter()

    def on_epoch_end(self, epoch, logs=None):
        print(f"    {self.name}: epoch {epoch + 1}/{self.epochs}  loss {logs['loss']:.2f} nats  "
              f"({time.perf_counter() - self.start:.0f} s)", flush=True)


def train_models(train_gray, epochs, seed=0, batch_size=64):
    """Fits the four models; returns ``{name: (model, seconds)}``."""
    keras.utils.set_random_seed(seed)
    dataset = dynamic_binarize(tf.data.Dataset.from_tensor_slices(train_gray), seed=seed)
    dataset = dataset.shuffle(len(train_gray), seed=seed).batch(batch_size).prefetch(tf.data.AUTOTUNE)
    models = {}
    start = time.perf_counter()
    # The independent model's maximum-likelihood fit under dynamic binarization is the mean gray level.
    models["independent"] = (IndependentBernoulli().estimate(train_gray, pseudo_count=1.0),
                             time.perf_counter() - start)
    specs = {
        "fvsbn": (lambda: FVSBN(), 3e-3),
        "nade": (lambda: NADE(hidden_units=500), 2e-3),
        "made": (lambda: MADE(hidden_units=(500,)), 1e-3),
    }
    for name, (factory, learning_rate) in specs.items():
        model = factory()
        model.compile(optimizer=keras.optimizers.Adam(learning_rate))
        start = time.perf_counter()
        print(f"  training {name} ({model.free_parameter_count():,} free parameters, {epochs[name]} epochs)",
              flush=True)
        model.fit(dataset, epochs=epochs[name], verbose=0, shuffle=False,  # the dataset is shuffled
                  callbacks=[EpochPrinter(name, epochs[name])])
        models[name] = (model, time.perf_counter() - start)
    return models


def score_all(model, reference, sets):
    """``{score kind: {set name: scores}}`` for one model."""
    out = {}
    for kind in SCORES:
        if kind == "ratio" and model is reference:
            continue
        options = {"complexity": "png"} if kind == "png" else {"reference": reference} if kind == "ratio" else {}
        out[kind] = {name: anomaly.anomaly_scores(model, x, **options) for name, x in sets.items()}
    return out


def run(args):
    epochs = {"fvsbn": 40, "nade": 12, "made": 40}
    if args.quick:
        epochs = {name: 1 for name in epochs}
    print("Loading mnist5k: train on digits 0-4, evaluate on the validation split.", flush=True)
    train_gray, calib, inliers, outliers = load_sets(seed=args.seed, limit=50 if args.quick else None)
    print(f"  {len(train_gray)} training images, {len(calib)} calibration images, {len(inliers)} normal test "
          f"images, anomaly sets: {', '.join(f'{k} ({len(v)})' for k, v in outliers.items())}", flush=True)
    models = train_models(train_gray, epochs, seed=args.seed)
    reference = models["independent"][0]
    sets = {"calibration": calib, "digits 0-4": inliers, **outliers}

    results = {"epochs": epochs, "models": {}}
    for name, (model, seconds) in models.items():
        print(f"  scoring {name}", flush=True)
        scores = score_all(model, reference, sets)
        entry = {"train_seconds": round(seconds, 1), "free_parameters": int(model.free_parameter_count()),
                 "mean_bits_per_dim": {k: float(np.mean(v)) / np.log(2) / 784 for k, v in scores["raw"].items()},
                 "scores": {}}
        for kind, by_set in scores.items():
            threshold = anomaly.calibrate_threshold(by_set["calibration"], 0.05)
            entry["scores"][kind] = {
                ood: anomaly.report(by_set["digits 0-4"], by_set[ood], threshold=threshold) for ood in outliers
            }
        results["models"][name] = entry
    print_tables(results, list(outliers))
    if args.json:
        with open(args.json, "w") as handle:
            json.dump(results, handle, indent=2)
        print(f"\nWrote {args.json}")
    return results


def print_tables(results, ood_names):
    print("\nMean NLL (bits/dim) per set; lower = the model finds it more likely")
    sets = ["digits 0-4"] + ood_names
    print(f"{'model':<12}" + "".join(f"{s:>15}" for s in sets))
    for name, entry in results["models"].items():
        print(f"{name:<12}" + "".join(f"{entry['mean_bits_per_dim'][s]:>15.3f}" for s in sets))

    print("\nAUROC / AUPRC (anomalies positive) and detection rate at the 5%-FPR threshold")
    print(f"{'model':<12}{'score':<7}" + "".join(f"{s:>22}" for s in ood_names))
    for name, entry in results["models"].items():
        for kind, by_ood in entry["scores"].items():
            cells = "".join(f"{r['auroc']:>9.3f}/{r['auprc']:.3f}/{r['detection_rate']:.2f}" for r in by_ood.values())
            print(f"{name:<12}{kind:<7}{cells}")

    print("\nFailure cases: anomaly sets the raw likelihood ranks as MORE normal than digits 0-4 (AUROC < 0.5)")
    found = False
    for name, entry in results["models"].items():
        for ood, raw in entry["scores"]["raw"].items():
            if raw["auroc"] < 0.5:
                found = True
                fixed = entry["scores"]["png"][ood]["auroc"]
                ratio = entry["scores"].get("ratio", {}).get(ood, {}).get("auroc")
                ratio_text = f", likelihood ratio AUROC {ratio:.3f}" if ratio is not None else ""
                print(f"  {name}: {ood}: raw AUROC {raw['auroc']:.3f}, "
                      f"{100 * raw['fraction_out_below_median_in']:.0f}% score below the normal median; "
                      f"PNG-complexity-corrected AUROC {fixed:.3f}{ratio_text}")
    if not found:
        print("  none")


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--json", help="write all results to this JSON file")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--quick", action="store_true", help="1 epoch per model and 50 images per set (smoke test)")
    start = time.perf_counter()
    run(parser.parse_args(argv))
    print(f"\nTotal time {time.perf_counter() - start:.0f} s")
    return 0


if __name__ == "__main__":
    sys.exit(main())
