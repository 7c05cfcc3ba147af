"""Train the MNIST classifiers kzoo evaluates with: digits (the feature extractor) and digit domains.

The classifier (:class:`kzoo.models.classifier.mnist_classifier.MnistClassifier`) is
trained on the 4,500 ``mnist5k`` training images with random shifts,
rotations and zooms, and the epoch with the best accuracy on the 500
``mnist5k`` validation images is kept. The result is written as the entry
``saved_models/mnist-classifier/`` (config.json, model.weights.h5, card.json
with the weights' sha256, the validation accuracy, the exact command and the
wall time). If ``--test-data-dir`` points at the official MNIST IDX files,
the accuracy on the 10,000 official test images is measured once at the end
and recorded too (never used for selection).

With ``--task domains`` the same network learns the five domains of
``domains-five`` (:data:`kzoo.data.domains.FIVE_DOMAINS`: plain, thin,
thick, slant left, slant right) instead of the digit: every ``mnist5k``
training image in all five domains, random whole-pixel shifts only (rotations and zooms
would change slant and stroke width, the very attributes it tells apart),
the validation stacks of ``domains-five`` for selection and its test stacks
for the test accuracy per domain. It is the independent judge of
many-domain translation (:mod:`kzoo.evaluation.translation`), written as
``saved_models/domain-classifier/``.

Run from the repository root::

    python examples/train_mnist_classifier.py --epochs 30 \\
        --test-data-dir /work/shared/data/mnist
    python examples/train_mnist_classifier.py --task domains --epochs 15 \\
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
from kzoo.data.domains import FIVE_DOMAINS  # noqa: E402
from kzoo.models.classifier.mnist_classifier import DOMAIN_ENTRY, MnistClassifier, load_mnist_classifier  # noqa: E402
from kzoo.training import WallClock  # noqa: E402

REPO = Path(__file__).resolve().parents[1]


def augmenter(seed, task="digits"):
    """Random shifts (up to 10%), rotations (up to ~14 degrees) and zooms (up to 10%); shifts only for domains.

    Domains are told apart by stroke width and edge texture, which a bilinear
    shift by a fraction of a pixel blurs: their shifts are whole pixels.
    """
    interpolation = "bilinear" if task == "digits" else "nearest"
    layers = [keras.layers.RandomTranslation(0.1, 0.1, fill_mode="constant", interpolation=interpolation, seed=seed)]
    if task == "digits":
        layers += [keras.layers.RandomRotation(0.04, fill_mode="constant", seed=seed + 1),
                   keras.layers.RandomZoom(0.1, fill_mode="constant", seed=seed + 2)]
    return keras.Sequential(layers, name="augment")


def unstacked(split, data_dir=None):
    """The ``domains-five`` stacks of a split as single images with their domain index as the label."""
    x, _ = kdata.load_numpy("domains-five", split, labels=True, data_dir=data_dir)
    images = np.concatenate(np.split(x, x.shape[-1], axis=-1), axis=0)
    return images, np.repeat(np.arange(x.shape[-1], dtype=np.int32), len(x))


def arrays(task, split, data_dir=None):
    """Images and labels of a split: digits of ``mnist5k``/``mnist``, or domains of ``domains-five``."""
    if task == "digits":
        name = "mnist" if split == "test" else "mnist5k"
        return kdata.load_numpy(name, split=split, labels=True, data_dir=data_dir,
                                **({"download": False} if split == "test" else {}))
    if split == "train":  # every training image in every domain: the classifier sees each digit five ways
        from kzoo.data.domains import to_domain

        x, _ = kdata.load_numpy("mnist5k", split="train", labels=True)
        images = np.concatenate([to_domain(x, domain) for domain in FIVE_DOMAINS])
        return images, np.repeat(np.arange(len(FIVE_DOMAINS), dtype=np.int32), len(x))
    return unstacked(split, data_dir)


def datasets(task, batch_size, seed):
    x, y = arrays(task, "train")
    augment = augmenter(seed, task)
    train = (tf.data.Dataset.from_tensor_slices((x, y)).shuffle(len(x), seed=seed, reshuffle_each_iteration=True)
             .batch(batch_size)
             .map(lambda x, y: (tf.clip_by_value(augment(x, training=True), 0.0, 1.0), y),
                  num_parallel_calls=tf.data.AUTOTUNE)
             .prefetch(tf.data.AUTOTUNE))
    val = tf.data.Dataset.from_tensor_slices(arrays(task, "validation")).batch(250)
    return train, val, len(x)


def predict(model, x, batch_size=500):
    return np.concatenate([
        np.argmax(model.predict_on_batch(x[i : i + batch_size]), axis=-1) for i in range(0, len(x), batch_size)
    ])


def accuracy(model, x, y, batch_size=500):
    return float(np.mean(predict(model, x, batch_size) == y))


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--epochs", type=int, default=30)
    parser.add_argument("--batch-size", type=int, default=64)
    parser.add_argument("--learning-rate", type=float, default=2e-3, help="peak Adam learning rate (cosine decay)")
    parser.add_argument("--feature-dim", type=int, default=128)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--task", choices=("digits", "domains"), default="digits",
                        help="classify the digit (mnist5k) or the domain of domains-five")
    parser.add_argument("--out", help="entry folder (default saved_models/mnist-classifier or "
                                      "saved_models/domain-classifier)")
    parser.add_argument("--work-dir", help="backup, best checkpoint and logs (default runs/<entry name>)")
    parser.add_argument("--test-data-dir", help="folder of the official MNIST IDX files (evaluation only)")
    args = parser.parse_args(argv)
    command = "python " + " ".join(shlex.quote(a) for a in [os.path.relpath(__file__, REPO), *sys.argv[1:]])

    entry = "mnist-classifier" if args.task == "digits" else DOMAIN_ENTRY
    out = args.out or str(REPO / "saved_models" / entry)
    keras.utils.set_random_seed(args.seed)
    work = Path(args.work_dir or REPO / "runs" / entry)
    work.mkdir(parents=True, exist_ok=True)
    train_ds, val_ds, train_size = datasets(args.task, args.batch_size, args.seed)
    steps = args.epochs * int(np.ceil(train_size / args.batch_size))
    classes = 10 if args.task == "digits" else len(FIVE_DOMAINS)
    model = MnistClassifier(num_classes=classes, feature_dim=args.feature_dim)
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

    x_val, y_val = arrays(args.task, "validation")
    metrics = {"validation_accuracy": accuracy(model, x_val, y_val)}
    with open(work / "history.csv") as handle:
        rows = list(csv.DictReader(handle))
    selected = max(range(len(rows)), key=lambda i: (float(rows[i]["val_accuracy"]), -i))
    card_data = "mnist5k" if args.task == "digits" else "domains-five"
    card = {
        "dataset": "mnist5k" if args.task == "digits" else "domains-five",
        "command": command,
        "epochs": len(rows),
        "selected_epoch": selected + 1,
        "batch_size": args.batch_size,
        "seed": args.seed,
        "wall_time_seconds": round(wall, 1),
        "selection": f"epoch with the best {card_data} validation accuracy",
        "augmentation": ("random translation 10%, rotation 0.04 turn (~14 deg), zoom 10%, constant fill"
                         if args.task == "digits" else "random translation 10% in whole pixels, constant fill"),
        "feature_layer": f"backbone/features ({args.feature_dim}-d, ReLU)",
        "note": ("FID/KID/IS computed with these features are comparable only with each other, "
                 "not with Inception-v3 based numbers." if args.task == "digits" else
                 "Classes: " + ", ".join(f"{k} {domain}" for k, domain in enumerate(FIVE_DOMAINS))
                 + ". Trained on every mnist5k training image in all five domains."),
    }
    folder = save_preset(model, out, card=card, overwrite=True)
    if args.test_data_dir:
        x_test, y_test = arrays(args.task, "test", args.test_data_dir)
        predictions = predict(model, x_test)
        metrics["test_accuracy"] = float(np.mean(predictions == y_test))
        metrics["test_set"] = f"official MNIST test ({len(x_test) // (classes if args.task == 'domains' else 1)} " \
                              "images" + (" in each domain)" if args.task == "domains" else ")")
        if args.task == "domains":
            metrics["test_accuracy_per_domain"] = {
                domain: float(np.mean(predictions[y_test == k] == k)) for k, domain in enumerate(FIVE_DOMAINS)}
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
