"""Novelty detection with every explicit family: MNIST digits 0-4 against the rest.

Each model is built with the configuration of its shipped entry (float32),
trained on the digits 0-4 of the ``mnist5k`` train split (10% of those images
held out to calibrate a 5%-false-positive threshold) with the entry's data
transform (dynamic binarization for Bernoulli models, fresh dequantization
noise for flows, 8-bit pixels for the diffusion bound), for a wall-time
budget per model, then scores the held-out ``validation`` split: its digits
0-4 are normal, and the anomaly sets are

* digits 5-9 (a semantic shift: the hard case),
* uniform noise (8-bit gray levels drawn uniformly),
* inverted digits 0-4 (``1 - x``),
* blank (all-zero) images,
* scikit-learn's 8x8 digits 0-4, upsampled to 20x20 and centred in 28x28 as
  MNIST digits are (a near-OOD set: the same classes from other writers and
  another scanner).

Every set is made in gray [0, 1] space once and then mapped into each
model's data space as its held-out data is (static binarization with a fixed
seed, one dequantization draw, or the 8-bit values).

Three scores per model (four with a background model): the raw
negative log-likelihood (a bound for the VAE and the DDPM), the
input-complexity correction ``-log p(x) - L(x)`` with ``L`` the PNG length
of what the model scores (Serra et al. 2020), and the
likelihood ratio ``-log p(x) + log p_ref(x)`` against independent pixels fit
to the same training images (Bernoulli for Bernoulli models, 256-level
categorical on the 8-bit images otherwise; Ren et al. 2019 use a background
model, independent pixels are the simplest one). With
``--background-mutation RATE`` the background model is theirs: the same
architecture trained for the same budget on training images whose pixels
are replaced by random gray levels at RATE, and ``background`` is
``-log p(x) + log p_background(x)``. With ``--background-set KEY=VALUE`` the
background model is the same architecture with constructor arguments
changed, trained on the same images: ``num_blocks=0`` gives a PixelCNN that
sees only the 7x7 causal neighbourhood of each pixel, a model of local
stroke statistics, so that the ratio keeps what the full model knows about
whole digits (Schirrmeister et al. 2020 discount local features with a
general-domain model in the same way).

For the VAE a further score leaves the pixels: ``code``, ``-log q(E(x))``,
the density of the input's code (the encoder's posterior mean) under a
10-component Gaussian mixture fitted to the codes of the training images
(:class:`kzoo.analysis.anomaly.CodeDensity`). A model-free yardstick is
printed too: the mean distance of each input to its 5 nearest training images
in pixel space, which any density score for semantic novelty should beat.

Each score also comes two-sided (``raw2``, ``png2``, ``ratio2`` ...): the
distance from the calibration median in either direction, so inputs more
likely than normal data are flagged too; and fused with the two-sided raw
score (``png+raw2``, ``ratio+raw2`` ...: the larger of the two after
standardizing each on the calibration set), so one score can catch both
semantic novelty and too-likely inputs. The per-input scores are saved next
to ``--json`` (one ``.npz`` per model). The tables report AUROC,
AUPRC (anomalies positive), FPR at 95% TPR and the detection rate at the
calibrated threshold, and the script names every case where a raw
likelihood ranks an anomaly set as *more* normal than the normal data
(Nalisnick et al. 2019).

Run from the repository root (about 80 minutes on 2 CPU cores with the
default 5-minute budget per model; rerunning with the same ``--json``
resumes after the last measured model)::

    python benchmarks/novelty_detection.py --json runs/novelty.json [--models pixelcnn-mnist glow-mnist ...]
    python benchmarks/novelty_detection.py --quick      # smoke test: seconds per model, 40 images per set
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

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

from common import write_json  # noqa: E402

from kzoo import data as kdata  # noqa: E402
from kzoo.cli import parse_overrides  # noqa: E402
from kzoo.analysis import anomaly  # noqa: E402
from kzoo.core.base import LatentModel  # noqa: E402
from kzoo.core.catalog import resolve_preset  # noqa: E402
from kzoo.core.registry import get_model_class  # noqa: E402
from kzoo.data import domains, transforms  # noqa: E402
from kzoo.models.autoregressive import IndependentBernoulli  # noqa: E402
from kzoo.training import compile_for_training  # noqa: E402

NORMAL_DIGITS = 5  # digits 0..4 are normal
SCORES = ("raw", "png", "ratio")  # each also two-sided: |score - calibration median|
#: Entry -> (Adam learning rate, log_prob options). The rates are the entries' own where their command sets one.
MODELS = {
    "pixelcnn-mnist": (1e-3, {}),
    "gated-pixelcnn-mnist": (1e-3, {}),
    "nade-mnist": (2e-3, {}),
    "made-mnist": (1e-3, {}),
    "realnvp-mnist": (5e-4, {}),
    "glow-mnist": (1e-3, {}),
    "vae-mnist": (1e-3, {"k": 50}),
    "ddpm-mnist": (1.5e-3, {"t_samples": 10}),
}
#: Entries whose codes are scored too (``code``): latent models with a low-dimensional code (a flow's is the image).
CODE_SCORED = ("vae-mnist",)
CODE_COMPONENTS = 10
NEIGHBOURS = 5


def load_sets(seed=0, limit=None):
    """Training, calibration, normal test images and the anomaly sets, all 8-bit gray in [0, 1]."""
    gray, labels = kdata.load_numpy("mnist5k", "train", labels=True)
    normal = gray[labels < NORMAL_DIGITS]
    rng = np.random.default_rng(seed)
    normal = normal[rng.permutation(len(normal))]
    n_calib = len(normal) // 10
    calib, train = normal[:n_calib], normal[n_calib:]
    val, val_labels = kdata.load_numpy("mnist5k", "validation", labels=True)
    inliers = val[val_labels < NORMAL_DIGITS]
    count = len(inliers) if limit is None else min(limit, len(inliers))
    inliers, calib = inliers[:count], calib[: (None if limit is None else limit)]
    small, small_labels = kdata.load_numpy("digits", "test", labels=True)
    outliers = {
        "digits 5-9": val[val_labels >= NORMAL_DIGITS][:count],
        "uniform noise": np.floor(rng.random((count,) + inliers.shape[1:]) * 256).astype(np.float32) / 255,
        "inverted 0-4": 1.0 - inliers,
        "blank": np.zeros_like(inliers),
        "8x8 digits 0-4": domains.render_8x8(small[small_labels < NORMAL_DIGITS][:count]),
    }
    return train, calib, inliers, outliers


def to_model_space(model, x, seed):
    """Gray 8-bit images in the space ``model`` scores held-out data in."""
    options = model.data_options("test")
    if options.get("binarize") == "static":
        return transforms.binarize_static(x, seed)
    if options.get("dequantize"):
        return transforms.dequantize(x, seed, levels=256)
    return x


def mutate(x, rate):
    """Replaces each pixel with probability ``rate`` by a uniformly drawn 8-bit gray level (Ren et al. 2019)."""
    replace = tf.random.uniform(tf.shape(x)) < rate
    levels = tf.floor(tf.random.uniform(tf.shape(x)) * 256.0) / 255.0
    return tf.where(replace, levels, x)


def training_pipeline(model, train, seed, batch_size, mutation=0.0):
    dataset = tf.data.Dataset.from_tensor_slices(train)
    if mutation:
        dataset = dataset.map(lambda x: mutate(x, mutation), num_parallel_calls=tf.data.AUTOTUNE)
    options = model.data_options("train")
    if options.get("binarize") == "dynamic":
        dataset = transforms.dynamic_binarize(dataset, seed=seed)
    elif options.get("dequantize"):
        dataset = transforms.dynamic_dequantize(dataset, seed=seed, levels=256)
    return dataset.shuffle(len(train), seed=seed).batch(batch_size, drop_remainder=True).prefetch(tf.data.AUTOTUNE)


class Budget(keras.callbacks.Callback):
    """Prints one line per epoch and stops after the first epoch that ends past ``minutes``."""

    def __init__(self, name, minutes, epochs):
        super().__init__()
        self.name, self.seconds, self.epochs = name, 60.0 * minutes, epochs
        self.start, self.epochs_run = time.perf_counter(), 0

    def on_epoch_end(self, epoch, logs=None):
        self.epochs_run = epoch + 1
        elapsed = time.perf_counter() - self.start
        print(f"    {self.name}: epoch {epoch + 1}/{self.epochs}  loss {logs['loss']:.2f}  ({elapsed:.0f} s)",
              flush=True)
        if elapsed > self.seconds:
            self.model.stop_training = True


def build_like_entry(entry, overrides=None):
    """A fresh float32 model with the configuration of a shipped entry, ``overrides`` replacing arguments."""
    folder = resolve_preset(entry)
    with open(os.path.join(folder, "config.json")) as handle:
        saved = json.load(handle)
    with open(os.path.join(folder, "card.json")) as handle:
        card = json.load(handle)
    config = {key: value for key, value in saved["config"].items() if key not in ("dtype", "name", "trainable")}
    return get_model_class(card["model"]).from_config({**config, **(overrides or {})})


def train_model(entry, train, minutes, max_epochs, seed, batch_size=64, mutation=0.0, overrides=None):
    keras.utils.set_random_seed(seed)
    model = build_like_entry(entry, overrides)
    learning_rate, _ = MODELS[entry]
    compile_for_training(model, learning_rate=learning_rate)
    name = entry
    if mutation or overrides:
        changes = [f"mutation {mutation}"] * bool(mutation) + [f"{k}={v}" for k, v in (overrides or {}).items()]
        name = f"{entry} background ({', '.join(changes)})"
    budget = Budget(name, minutes, max_epochs)
    print(f"  training {name} ({minutes} min budget)", flush=True)
    start = time.perf_counter()
    model.fit(training_pipeline(model, train, seed, batch_size, mutation), epochs=max_epochs, verbose=0,
              shuffle=False, callbacks=[budget])
    return model, {"train_seconds": round(time.perf_counter() - start, 1), "epochs": budget.epochs_run,
                   "parameters": int(sum(np.prod(w.shape) for w in model.weights)), "learning_rate": learning_rate}


def references(train):
    """Independent-pixel background models of the training images: Bernoulli and 256-level categorical."""
    binary = IndependentBernoulli().estimate(train, pseudo_count=1.0)  # the ML fit under dynamic binarization
    categorical = IndependentBernoulli(likelihood="categorical").estimate(train, pseudo_count=1.0)
    return {"bernoulli": binary, "categorical": categorical}


def score_model(model, log_prob_options, gray_sets, refs, seed, batch_size=100, background=None, code_density=None):
    """``{score kind: {set name: scores (nats)}}`` for one model.

    ``background`` adds the ``background`` kind, a fitted ``code_density``
    (:class:`kzoo.analysis.anomaly.CodeDensity`) the ``code`` kind.
    """
    bernoulli = model.data_options("test").get("binarize") is not None
    reference = refs["bernoulli" if bernoulli else "categorical"]
    extra = (("background",) if background is not None else ()) + (("code",) if code_density is not None else ())
    out = {kind: {} for kind in SCORES + extra}
    for index, (name, gray) in enumerate(gray_sets.items()):
        x = to_model_space(model, gray, seed + index)
        raw = anomaly.anomaly_scores(model, x, batch_size=batch_size, seed=seed, verbose=True, **log_prob_options)
        out["raw"][name] = raw
        # The complexity of what the model scores: a binarized image as 1-bit PNG, else the 8-bit image.
        out["png"][name] = raw - anomaly.complexity_bits(x if bernoulli else gray, "png") * anomaly.LN2
        # The reference scores the same inputs: binarized ones for Bernoulli models, the 8-bit images otherwise
        # (a dequantized flow's density and the categorical one differ by a constant per image).
        out["ratio"][name] = raw + np.asarray(reference.log_prob(x if bernoulli else gray, batch_size=batch_size),
                                              dtype=np.float64)
        if background is not None:
            out["background"][name] = raw - anomaly.anomaly_scores(background, x, batch_size=batch_size, seed=seed,
                                                                   **log_prob_options)
        if code_density is not None:
            out["code"][name] = -code_density.log_prob(x)
    return out


def neighbour_scores(train, gray_sets):
    """``{"5-NN": {set name: mean pixel distance to the nearest training images}}``: the model-free yardstick."""
    from sklearn.neighbors import NearestNeighbors

    flat = lambda images: images.reshape(len(images), -1)  # noqa: E731
    index = NearestNeighbors(n_neighbors=NEIGHBOURS).fit(flat(train))
    return {f"{NEIGHBOURS}-NN": {name: index.kneighbors(flat(x))[0].mean(axis=1) for name, x in gray_sets.items()}}


def derived_scores(scores):
    """Adds the two-sided kinds (``raw2`` ...) and the fused ones (``ratio+raw2`` ...) to ``{kind: {set: scores}}``.

    A fused score is the typicality guard of ``kzoo detect --typicality-guard``
    (:func:`kzoo.analysis.anomaly.guarded_scores`): it flags what either the
    one-sided score or the two-sided raw NLL flags.
    """
    out = dict(scores)
    for kind, by_set in scores.items():
        median = np.median(by_set["calibration"])
        out[f"{kind}2"] = {name: np.abs(values - median) for name, values in by_set.items()}

    raw = scores["raw"]
    for kind, by_set in scores.items():
        if kind != "raw":
            calibration = anomaly.guard_calibration(raw["calibration"], by_set["calibration"])
            out[f"{kind}+raw2"] = {name: anomaly.guarded_scores(raw[name], values, calibration)
                                   for name, values in by_set.items()}
    return out


def summarize(scores, ood_names):
    """Reports per score kind and anomaly set, at the 5%-FPR threshold of the calibration set."""
    summary = {}
    for kind, by_set in scores.items():
        threshold = anomaly.calibrate_threshold(by_set["calibration"], 0.05)
        summary[kind] = {ood: anomaly.report(by_set["digits 0-4"], by_set[ood], threshold=threshold)
                         for ood in ood_names}
    return summary


def run(args):
    minutes = 0.05 if args.quick else args.minutes
    print("Loading mnist5k: train on digits 0-4, evaluate on the validation split.", flush=True)
    train, calib, inliers, outliers = load_sets(seed=args.seed, limit=40 if args.quick else None)
    print(f"  {len(train)} training images, {len(calib)} calibration images, {len(inliers)} normal test images; "
          f"anomaly sets: {', '.join(f'{k} ({len(v)})' for k, v in outliers.items())}", flush=True)
    refs = references(train)
    gray_sets = {"calibration": calib, "digits 0-4": inliers, **outliers}
    results = {"minutes_per_model": minutes, "seed": args.seed, "sets": {k: len(v) for k, v in gray_sets.items()},
               "models": {}, "yardstick": summarize(neighbour_scores(train, gray_sets), list(outliers))}
    if args.json and os.path.exists(args.json) and not args.quick:
        with open(args.json) as handle:
            previous = json.load(handle)
        results["models"] = {k: v for k, v in previous.get("models", {}).items() if k in args.models}
        if results["models"]:
            print(f"  resuming: {', '.join(results['models'])} already measured in {args.json}", flush=True)
    for entry in args.models:
        if entry in results["models"]:
            continue
        epochs = 1 if args.quick else args.max_epochs
        model, facts = train_model(entry, train, minutes, epochs, args.seed)
        background = None
        if args.background_mutation or args.background_set:
            background, background_facts = train_model(entry, train, minutes, epochs, args.seed + 1,
                                                       mutation=args.background_mutation,
                                                       overrides=args.background_set)
            facts["background"] = {"mutation": args.background_mutation, "overrides": args.background_set,
                                   **background_facts}
        code_density = None
        if entry in CODE_SCORED:
            code_density = anomaly.CodeDensity(model, components=CODE_COMPONENTS, seed=args.seed).fit(
                to_model_space(model, train, args.seed + len(gray_sets)))
        print(f"  scoring {entry}", flush=True)
        scores = score_model(model, MODELS[entry][1], gray_sets, refs, args.seed, background=background,
                             code_density=code_density)
        facts["bound"] = isinstance(model, LatentModel) or bool(getattr(model, "log_prob_is_bound", False))
        facts["mean_bits_per_dim"] = {k: float(np.mean(v)) / anomaly.LN2 / 784 for k, v in scores["raw"].items()}
        scores = derived_scores(scores)
        facts["scores"] = summarize(scores, list(outliers))
        results["models"][entry] = facts
        if args.json:
            write_json(args.json, results)  # after every model: a stopped run resumes with the rest
            arrays = {f"{kind}/{name}": values for kind, by_set in scores.items() for name, values in by_set.items()}
            np.savez_compressed(os.path.splitext(args.json)[0] + f"-{entry}-scores.npz", **arrays)
        keras.backend.clear_session()
    print_tables(results, list(outliers))
    if args.json:
        print(f"\nWrote {args.json}")
    return results


def print_tables(results, ood_names):
    print("\nMean NLL (bits/dim) per set; lower = the model finds it more likely")
    sets = ["digits 0-4"] + ood_names
    print(f"{'model':<22}" + "".join(f"{s:>16}" for s in sets))
    for name, entry in results["models"].items():
        print(f"{name:<22}" + "".join(f"{entry['mean_bits_per_dim'][s]:>16.3f}" for s in sets))

    print("\nAUROC / AUPRC / FPR at 95% TPR per anomaly set (anomalies positive)")
    print(f"{'model':<22}{'score':<16}" + "".join(f"{s:>20}" for s in ood_names))
    for name, entry in results["models"].items():
        for kind, by_ood in entry["scores"].items():
            cells = "".join(f"{r['auroc']:>8.3f}/{r['auprc']:.2f}/{r['fpr_at_95_tpr']:.2f}" for r in by_ood.values())
            print(f"{name:<22}{kind:<16}{cells}")

    for kind, by_ood in results["yardstick"].items():
        cells = "".join(f"{r['auroc']:>8.3f}/{r['auprc']:.2f}/{r['fpr_at_95_tpr']:.2f}" for r in by_ood.values())
        print(f"{'no model (pixels)':<22}{kind:<16}{cells}")

    print("\nBest score per model: the one with the highest smallest AUROC over the anomaly sets")
    for name, entry in results["models"].items():
        kind, by_ood = max(entry["scores"].items(), key=lambda item: min(r["auroc"] for r in item[1].values()))
        print(f"  {name}: {kind}, AUROC " + ", ".join(f"{ood} {r['auroc']:.3f}" for ood, r in by_ood.items()))

    print("\nFailure cases: anomaly sets the raw likelihood ranks as MORE normal than digits 0-4 (AUROC < 0.5)")
    found = False
    for name, entry in results["models"].items():
        for ood, raw in entry["scores"]["raw"].items():
            if raw["auroc"] < 0.5:
                found = True
                print(f"  {name}: {ood}: raw AUROC {raw['auroc']:.3f}, "
                      f"{100 * raw['fraction_out_below_median_in']:.0f}% score below the normal median; "
                      f"PNG-corrected AUROC {entry['scores']['png'][ood]['auroc']:.3f}, likelihood ratio AUROC "
                      f"{entry['scores']['ratio'][ood]['auroc']:.3f}")
    if not found:
        print("  none")


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--models", nargs="+", default=list(MODELS), choices=list(MODELS), metavar="ENTRY",
                        help=f"entries whose configuration is trained (default all: {', '.join(MODELS)})")
    parser.add_argument("--minutes", type=float, default=5.0, help="training budget per model (default 5)")
    parser.add_argument("--max-epochs", type=int, default=200, help="epoch cap per model (default 200)")
    parser.add_argument("--background-mutation", type=float, default=0.0, metavar="RATE",
                        help="also train each model's architecture on training images whose pixels are replaced by "
                             "random gray levels at RATE (e.g. 0.2), and score the likelihood ratio against it "
                             "(the 'background' score, Ren et al. 2019); doubles the training time")
    parser.add_argument("--background-set", action="append", default=[], metavar="KEY=VALUE",
                        help="train the background model with this constructor argument changed (JSON value, "
                             "repeatable), e.g. num_blocks=0: a PixelCNN that sees only the 7x7 causal "
                             "neighbourhood of each pixel, so the ratio discounts local stroke statistics "
                             "(with or without --background-mutation)")
    parser.add_argument("--json", help="write all results to this JSON file (rerunning resumes from it)")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--quick", action="store_true", help="one short epoch per model and 40 images per set")
    start = time.perf_counter()
    args = parser.parse_args(argv)
    args.background_set = parse_overrides(args.background_set, "--background-set")
    run(args)
    print(f"\nTotal time {time.perf_counter() - start:.0f} s")
    return 0


if __name__ == "__main__":
    sys.exit(main())
