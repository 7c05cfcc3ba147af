"""Training a registered model end to end, as ``kzoo train`` does.

:func:`train` builds the model inside the requested precision policy and
``tf.distribute`` strategy, runs ``fit`` with TensorBoard logging, a sample
grid per epoch and an every-epoch backup (running the same call again resumes
from the last finished epoch), evaluates the result on the held-out split and
saves a loadable preset folder with its card.
"""

import json
import time
from pathlib import Path

import tensorflow as tf
import keras

from kzoo import data as kdata
from kzoo.callbacks import SampleGrid
from kzoo.models.gan.base import AdversarialModel
from kzoo.core.distribute import make_strategy
from kzoo.core.precision import precision_scope
from kzoo.core.presets import save_preset
from kzoo.core.registry import get_model_class
from kzoo.core.validation import check_choice, check_number, check_optional, check_positive_int


class WallClock(keras.callbacks.Callback):
    """Accumulates training wall time across resumed runs; optionally a budget.

    Args:
        path: the file holding the seconds of earlier runs; it is read at
            construction and rewritten after every epoch.
        max_seconds: ``None``, or a budget of total wall time (this run plus
            the earlier ones): training stops at the end of the first epoch
            that ends past it.

    Raises:
        ValueError: ``max_seconds`` is not a positive number.
    """

    def __init__(self, path, max_seconds=None):
        super().__init__()
        self.path = Path(path)
        self.max_seconds = check_optional(check_number, max_seconds, "max_seconds", minimum=0,
                                          exclusive_minimum=True,
                                          description="None or a positive number of seconds")
        self.previous = float(self.path.read_text()) if self.path.is_file() else 0.0
        self.start = time.perf_counter()

    def total(self):
        return self.previous + time.perf_counter() - self.start

    def on_epoch_end(self, epoch, logs=None):
        total = self.total()
        self.path.write_text(f"{total:.1f}")
        if self.max_seconds is not None and total >= self.max_seconds:
            print(f"\nWall-time budget of {self.max_seconds / 60:.1f} min reached after epoch {epoch + 1} "
                  f"({total / 60:.1f} min); stopping.", flush=True)
            self.model.stop_training = True


def heldout_split(info):
    """Returns the split used for validation during training, or None."""
    for split in ("validation", "test"):
        if split in info.splits:
            return split
    return None


def make_dataset(name, split, options, batch_size, data_dir=None, shuffle_seed=None, labels=False):
    """Loads, optionally shuffles and batches a named dataset for ``fit``."""
    dataset = kdata.load(name, split=split, data_dir=data_dir, labels=labels, **options)
    if shuffle_seed is not None:
        dataset = dataset.shuffle(10_000, seed=shuffle_seed, reshuffle_each_iteration=True)
    return dataset.batch(batch_size).prefetch(tf.data.AUTOTUNE)


LR_SCHEDULES = ("constant", "cosine")


def compile_for_training(model, learning_rate=None, decay_steps=None):
    """Compiles ``model`` with its default optimizers or Adam at ``learning_rate``.

    Args:
        model: a kzoo model.
        learning_rate: None for ``model.compile()`` (the model's defaults),
            else a positive float: Adam for single-optimizer models, two Adam
            optimizers with ``beta_1=0.5`` (the DCGAN setting) for
            adversarial ones.
        decay_steps: None for a constant rate, else the number of optimizer
            steps over which the rate follows a cosine from
            ``learning_rate`` down to zero (needs ``learning_rate``).

    Raises:
        ValueError: ``learning_rate`` is not None and not a positive number,
            or ``decay_steps`` is given without a rate or is not a positive
            integer.
    """
    if learning_rate is None:
        if decay_steps is not None:
            raise ValueError("A cosine learning-rate decay needs an explicit learning_rate, got None.")
        model.compile()
        return
    check_number(learning_rate, "learning_rate", minimum=0, exclusive_minimum=True,
                 description="a positive number or None")

    def rate():
        if decay_steps is None:
            return learning_rate
        return keras.optimizers.schedules.CosineDecay(learning_rate, check_positive_int(decay_steps, "decay_steps"))

    if isinstance(model, AdversarialModel):
        model.compile(d_optimizer=keras.optimizers.Adam(rate(), beta_1=0.5),
                      g_optimizer=keras.optimizers.Adam(rate(), beta_1=0.5))
    else:
        model.compile(optimizer=keras.optimizers.Adam(rate()))


def warm_start(model, init_from):
    """Copies every weight of a trained entry of the same architecture into ``model``.

    Args:
        model: a built kzoo model.
        init_from: entry name or preset folder.

    Raises:
        ValueError: the entry is another model class or has other
            constructor arguments (``name`` and ``dtype`` may differ).
    """
    from kzoo.core.presets import load_preset

    source = load_preset(init_from)
    ignored = ("name", "dtype", "trainable")
    mine = {k: v for k, v in model.get_config().items() if k not in ignored}
    theirs = {k: v for k, v in source.get_config().items() if k not in ignored}
    if type(source) is not type(model) or mine != theirs:
        differing = sorted(k for k in set(mine) | set(theirs) if mine.get(k) != theirs.get(k))
        raise ValueError(f"Cannot warm-start {type(model).__name__} from {init_from!r}: it is a "
                         f"{type(source).__name__} with different arguments {differing} "
                         f"(pass the same --set options as its card's command: {source.card.get('command')!r}).")
    model.set_weights(source.get_weights())


def warm_start_card_fields(init_from, wall_seconds):
    """The card fields of a warm-started run: ``init_from`` and ``total_wall_time_seconds``.

    Args:
        init_from: entry name or preset folder the run started from.
        wall_seconds: wall time of the run itself.

    Returns:
        A dict with ``init_from`` (the entry as given, its command, epochs
        and wall time, itself a total if it was warm-started too) and
        ``total_wall_time_seconds``.
    """
    from kzoo.core.catalog import read_card, resolve_preset

    source = read_card(resolve_preset(init_from))
    source_wall = float(source.get("total_wall_time_seconds", source.get("wall_time_seconds")) or 0.0)
    return {"init_from": {"entry": str(init_from), "command": source.get("command"), "epochs": source.get("epochs"),
                          "wall_time_seconds": round(source_wall, 1)},
            "total_wall_time_seconds": round(wall_seconds + source_wall, 1)}


def _needs_labels(model, info, data):
    """True if ``model`` is class-conditional; checks the dataset has labels."""
    if not model.is_conditional:
        return False
    if not info.num_classes:
        raise ValueError(f"{type(model).__name__} is class-conditional (num_classes={model.num_classes}) but dataset "
                         f"{data!r} has no class labels.")
    if info.num_classes != model.num_classes:
        raise ValueError(f"{type(model).__name__} has num_classes={model.num_classes} but dataset {data!r} has "
                         f"{info.num_classes} classes; pass --set num_classes={info.num_classes}.")
    return True


def train(model_name, data, *, data_dir=None, epochs=10, batch_size=64, out="runs/kzoo", precision="float32",
          distribute="none", num_replicas=2, seed=0, learning_rate=None, lr_schedule="constant", config=None,
          early_stopping=None, max_minutes=None, init_from=None, eval_k=100, command=None, verbose="auto",
          extra_callbacks=()):
    """Trains ``model_name`` on ``data`` and saves a preset in ``out/preset``.

    Args:
        model_name: registered model name (``"vae"``).
        data: dataset name or image folder.
        data_dir: folder of dataset files for file-based datasets.
        epochs: number of epochs.
        batch_size: global batch size.
        out: output folder: ``logs/`` (TensorBoard), ``samples/`` (PNG
            grids), ``backup/`` (resume state), ``preset/`` (the entry).
        precision: ``"float32"``, ``"mixed_float16"`` or ``"mixed_bfloat16"``.
        distribute: ``"none"`` or ``"mirrored"``.
        num_replicas: logical CPUs for a mirrored strategy without GPUs.
        seed: seed of weights initialization and data order.
        learning_rate: Adam learning rate, or None for the model's own
            default optimizers (``model.compile()`` with no arguments).
            Adversarial models get two Adam optimizers with this rate and
            ``beta_1=0.5``.
        lr_schedule: ``"constant"``, or ``"cosine"``: the rate decays to zero
            along a cosine over all ``epochs`` (needs ``learning_rate``;
            a wall-time budget that stops training early stops the decay
            early too).
        config: dict of constructor arguments overriding the defaults.
        early_stopping: patience in epochs on the validation loss, or None.
        max_minutes: wall-time budget in minutes (resumed runs count their
            earlier time): training stops after the first epoch ending past
            it. None: no budget.
        init_from: entry name or preset folder of the same architecture
            whose weights the run starts from (a warm start; ignored when
            resuming from a backup). The card records the entry and the
            total wall time of both runs.
        eval_k: importance samples for the final NLL bound of latent models.
        command: the command line recorded in the card.
        verbose: passed to ``fit``.
        extra_callbacks: more Keras callbacks for ``fit``.

    Returns:
        ``(model, preset_folder)``.

    Raises:
        ValueError: unknown model or dataset, bad numbers, or a dataset whose
            shape the model cannot take.
    """
    epochs = check_positive_int(epochs, "epochs")
    batch_size = check_positive_int(batch_size, "batch_size")
    model_cls = get_model_class(model_name)
    info = kdata.info(data)
    out = Path(out)
    keras.utils.set_random_seed(seed)

    lr_schedule = check_choice(lr_schedule, "lr_schedule", LR_SCHEDULES)
    if lr_schedule != "constant" and learning_rate is None:
        raise ValueError(f"lr_schedule={lr_schedule!r} needs an explicit learning_rate, got None.")
    strategy = make_strategy(distribute, num_replicas=num_replicas)
    with precision_scope(precision), strategy.scope():
        model_config = dict(config or {})
        if info.kind == "image":
            model_config.setdefault("data_shape", tuple(info.shape))
        model = model_cls.from_config(model_config)  # from_config accepts renamed arguments' old names

    labels = _needs_labels(model, info, data)
    train_ds = make_dataset(data, "train", model.data_options("train"), batch_size, data_dir, shuffle_seed=seed,
                            labels=labels)
    decay_steps = None
    if lr_schedule == "cosine":
        steps_per_epoch = int(train_ds.cardinality())
        if steps_per_epoch < 1:
            raise ValueError(f"lr_schedule='cosine' needs a dataset of known length; {data!r} has cardinality "
                             f"{steps_per_epoch}.")
        decay_steps = epochs * steps_per_epoch
    with precision_scope(precision), strategy.scope():
        compile_for_training(model, learning_rate, decay_steps)
        model.build_for_data()
        if init_from and not (out / "backup").is_dir():  # a resumed run already holds the warm start
            warm_start(model, init_from)
    val_split = heldout_split(info)
    val_ds = (make_dataset(data, val_split, model.data_options(val_split), batch_size, data_dir, labels=labels)
              if val_split else None)

    log_dir = out / "logs"
    callbacks = [
        keras.callbacks.BackupAndRestore(str(out / "backup")),
        keras.callbacks.TensorBoard(str(log_dir)),
        SampleGrid(str(log_dir), png_dir=str(out / "samples")),
        keras.callbacks.TerminateOnNaN(),
        keras.callbacks.CSVLogger(str(out / "history.csv"), append=True),
    ]
    if early_stopping and val_ds is not None:
        callbacks.append(keras.callbacks.EarlyStopping(monitor="val_loss", patience=early_stopping,
                                                       restore_best_weights=True))
    out.mkdir(parents=True, exist_ok=True)
    resuming = (out / "backup").is_dir()
    clock_file = out / "wall_time_seconds.txt"
    if not resuming:
        for stale in (out / "history.csv", clock_file):
            stale.unlink(missing_ok=True)
    clock = WallClock(clock_file, None if max_minutes is None else 60.0 * max_minutes)
    history = model.fit(train_ds, validation_data=val_ds, epochs=epochs, shuffle=False, verbose=verbose,
                        callbacks=callbacks + [clock, *extra_callbacks])
    wall = clock.total()
    with open(out / "history.csv") as handle:
        epochs_run = max(sum(1 for _ in handle) - 1, 0)

    metrics = {}
    if val_split and hasattr(model, "log_prob"):
        from kzoo.evaluation.evaluate import evaluate

        metrics = evaluate(model, data, split=val_split, data_dir=data_dir, k=eval_k)
    card = {
        "dataset": data,
        "command": command,
        "epochs": epochs_run,
        "batch_size": batch_size,
        "precision": precision,
        "distribute": distribute,
        "seed": seed,
        "wall_time_seconds": round(wall, 1),
        "metrics": {f"{val_split}_{k}": v for k, v in metrics.items()
                    if isinstance(v, (int, float)) and k != "seconds"},
        "last_epoch_logs": {k: float(v[-1]) for k, v in history.history.items()},
    }
    if init_from:
        card.update(warm_start_card_fields(init_from, wall))
    preset = save_preset(model, out / "preset", card=card, overwrite=True)
    (out / "train_summary.json").write_text(json.dumps(card, indent=2) + "\n")
    return model, preset
