"""Train the MNIST classifier that kzoo uses as its offline feature extractor.

The classifier (:class:`kzoo.models.classifier.mnist_classifier.MnistClassifier`) is
trained on the 4,500 ``mnist5k`` training images with random shifts,
rotations and zooms, and the epoch with the best accuracy on the 500
``mnist5k`` validation images is kept. The result is written as the entry
``saved_models/mnist-classifier/`` (config.json, model.weights.h5, card.json
with the weights' sha256, the validation accuracy, the exact command and the
wall time). If ``--test-data-dir`` points at the official MNIST IDX files,
the accuracy on the 10,000 official test images is measured once at the end
and recorded too (never used for selection).

Run from the repository root::

    python examples/train_mnist_classifier.py --epochs 30 \\
        --test-data-dir /work/shared/data/mnist

Rerunning the same command after an interruption resumes from the last
finished epoch (``keras.callbacks.BackupAndRestore`` in ``--work-dir``).
"""

import argparse
import csv
import os
import shlex
import sys
from pathlib import Path

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

import numpy as np  # noqa: E402
import tensorflow as tf  # noqa: E402
import keras  # noqa: E402

from kzoo import data as kdata  # noqa: E402
from kzoo.core.presets import save_preset, update_card  # noqa: E402
from kzoo.models.classifier.mnist_classifier import MnistClassifier, load_mnist_classifier  # noqa: E402
from kzoo.training import WallClock  # noqa: E402

REPO = Path(__file__).resolve().parents[1]


def augmenter(seed):
    """Random shifts (up to 10%), rotations (up to ~14 degrees) and zooms (up to 10%)."""
    return keras.Sequential([
        keras.layers.RandomTranslation(0.1, 0.1, fill_mode="constant", seed=seed),
        keras.layers.RandomRotation(0.04, fill_mode="constant", seed=seed + 1),
        keras.layers.RandomZoom(0.1, fill_mode="constant", seed=seed + 2),
    ], name="augment")


def datasets(batch_size, seed):
    train = kdata.load("mnist5k", split="train", labels=True)
    augment = augmenter(seed)
    train = (train.shuffle(4500, seed=seed, reshuffle_each_iteration=True)
             .batch(batch_size)
             .map(lambda x, y: (tf.clip_by_value(augment(x, training=True), 0.0, 1.0), y),
                  num_parallel_calls=tf.data.AUTOTUNE)
             .prefetch(tf.data.AUTOTUNE))
    val = kdata.load("mnist5k", split="validation", labels=True).batch(250)
    return train, val


def accuracy(model, x, y, batch_size=500):
    predictions = np.concatenate([
        np.argmax(model.predict_on_batch(x[i : i + batch_size]), axis=-1) for i in range(0, len(x), batch_size)
    ])
    return float(np.mean(predictions == y))


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--epochs", type=int, default=30)
    parser.add_argument("--batch-size", type=int, default=64)
    parser.add_argument("--learning-rate", type=float, default=2e-3, help="peak Adam learning rate (cosine decay)")
    parser.add_argument("--feature-dim", type=int, default=128)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--out", default=str(REPO / "saved_models" / "mnist-classifier"), help="entry folder")
    parser.add_argument("--work-dir", default=str(REPO / "runs" / "mnist-classifier"),
                        help="backup, best checkpoint and logs")
    parser.add_argument("--test-data-dir", help="folder of the official MNIST IDX files (evaluation only)")
    args = parser.parse_args(argv)
    command = "python " + " ".join(shlex.quote(a) for a in [os.path.relpath(__file__, REPO), *sys.argv[1:]])

    keras.utils.set_random_seed(args.seed)
    work = Path(args.work_dir)
    work.mkdir(parents=True, exist_ok=True)
    train_ds, val_ds = datasets(args.batch_size, args.seed)
    steps = args.epochs * int(np.ceil(4500 / args.batch_size))
    model = MnistClassifier(feature_dim=args.feature_dim)
    model.compile(
        optimizer=keras.optimizers.Adam(keras.optimizers.schedules.CosineDecay(args.learning_rate, steps)),
        loss=keras.losses.SparseCategoricalCrossentropy(from_logits=True),
        metrics=[keras.metrics.SparseCategoricalAccuracy(name="accuracy")],
    )
    model.build_for_data()
    best = work / "best.weights.h5"
    if not (work / "backup").is_dir():
        for stale in (work / "wall_time_seconds.txt", work / "history.csv", best):
            stale.unlink(missing_ok=True)
    clock = WallClock(work / "wall_time_seconds.txt")
    model.fit(train_ds, validation_data=val_ds, epochs=args.epochs, verbose=2, callbacks=[
        keras.callbacks.BackupAndRestore(str(work / "backup")),
        keras.callbacks.ModelCheckpoint(str(best), monitor="val_accuracy", mode="max", save_best_only=True,
                                        save_weights_only=True),
        keras.callbacks.CSVLogger(str(work / "history.csv"), append=True),
        clock,
    ])
    wall = clock.total()
    # Export the best epoch into a fresh, uncompiled model: the entry then holds no optimizer state.
    model.load_weights(best)
    export = MnistClassifier.from_config(model.get_config())
    export.build_for_data()
    export.set_weights(model.get_weights())
    model = export

    x_val, y_val = kdata.load_numpy("mnist5k", split="validation", labels=True)
    metrics = {"validation_accuracy": accuracy(model, x_val, y_val)}
    with open(work / "history.csv") as handle:
        rows = list(csv.DictReader(handle))
    selected = max(range(len(rows)), key=lambda i: (float(rows[i]["val_accuracy"]), -i))
    card = {
        "dataset": "mnist5k",
        "command": command,
        "epochs": len(rows),
        "selected_epoch": selected + 1,
        "batch_size": args.batch_size,
        "seed": args.seed,
        "wall_time_seconds": round(wall, 1),
        "selection": "epoch with the best mnist5k validation accuracy",
        "augmentation": "random translation 10%, rotation 0.04 turn (~14 deg), zoom 10%, constant fill",
        "feature_layer": f"backbone/features ({args.feature_dim}-d, ReLU)",
        "note": "FID/KID/IS computed with these features are comparable only with each other, "
                "not with Inception-v3 based numbers.",
    }
    folder = save_preset(model, args.out, card=card, overwrite=True)
    if args.test_data_dir:
        x_test, y_test = kdata.load_numpy("mnist", split="test", labels=True, data_dir=args.test_data_dir,
                                          download=False)
        metrics["test_accuracy"] = accuracy(model, x_test, y_test)
        metrics["test_set"] = f"official MNIST test ({len(x_test)} images)"
    update_card(folder, metrics=metrics)
    reloaded = load_mnist_classifier(folder)
    check = accuracy(reloaded, x_val, y_val)
    if abs(check - metrics["validation_accuracy"]) > 1e-9:
        raise RuntimeError(f"reloaded entry gives validation accuracy {check}, expected "
                           f"{metrics['validation_accuracy']}")
    print(f"Wrote {folder}: {metrics} in {wall:.0f} s")
    return 0


if __name__ == "__main__":
    sys.exit(main())
