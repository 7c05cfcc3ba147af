"""Training a registered model end to end, as ``kzoo train`` does.

:func:`train` builds the model inside the requested precision policy and
``tf.distribute`` strategy, runs ``fit`` with TensorBoard logging, a sample
grid per epoch and an every-epoch backup (running the same call again resumes
from the last finished epoch), evaluates the result on the held-out split and
saves a loadable preset folder with its card.

Under a multi-worker strategy every worker runs the same ``fit`` on its part
of each global batch, and only the chief writes the output folder; the other
workers keep their files in a temporary folder they delete.
"""

import contextlib
import json
import os
import shutil
import tempfile
import time
import warnings
from pathlib import Path

import keras
import tensorflow as tf

from kzoo import data as kdata
from kzoo.callbacks import SampleGrid
from kzoo.data.epochs import epoch_batches
from kzoo.models.gan.base import AdversarialModel
from kzoo.core.base import LatentCodes
from kzoo.core.distribute import any_worker, is_chief, make_strategy, num_workers, workers_agree
from kzoo.core.precision import PRECISIONS, precision_scope, precision_warning, recommended_precision
from kzoo.core.presets import save_preset
from kzoo.core.registry import get_model_class
from kzoo.core.schedules import ConstantThenLinearDecay
from kzoo.core.validation import check_choice, check_number, check_optional, check_positive_int


class WallClock(keras.callbacks.Callback):
    """Accumulates training wall time across resumed runs; optionally a budget.

    Args:
        path: the file holding the seconds of earlier runs; it is read at
            construction and rewritten after every epoch.
        max_seconds: ``None``, or a budget of total wall time (this run plus
            the earlier ones): training stops at the end of the first epoch
            that ends past it. The workers of a multi-worker run stop
            together, after the epoch that ends past it on any of them.

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
        if self.max_seconds is not None and any_worker(total >= self.max_seconds, self.model.distribute_strategy):
            print(f"\nWall-time budget of {self.max_seconds / 60:.1f} min reached after epoch {epoch + 1} "
                  f"({total / 60:.1f} min); stopping.", flush=True)
            self.model.stop_training = True


def heldout_split(info, validation_fraction=None):
    """The split that validates training (early stopping, the card's metrics), or None.

    Never the test split: a dataset with a ``validation`` split uses it; an
    image folder (which has none) gets a fixed-seed ``validation_fraction``
    of its images carved out of training; otherwise there is no validation.

    Args:
        info: the dataset's :class:`kzoo.data.DatasetInfo`.
        validation_fraction: None, or the fraction of an image folder's
            images held out (see :func:`kzoo.data.epochs.epoch_batches`).

    Returns:
        ``(split, load_options)``: ``split`` is ``"validation"`` or None;
        ``load_options`` holds ``validation_split`` for a carved folder
        split (pass it when loading either split).

    Raises:
        ValueError: ``validation_fraction`` is given for a dataset that has a
            validation split of its own, or is not in (0, 1).
    """
    if "validation" in info.splits:
        if validation_fraction is not None:
            raise ValueError(f"Dataset {info.name!r} has a validation split of its own "
                             f"({info.splits['validation']} examples); validation_fraction={validation_fraction!r} "
                             "applies to image folders only.")
        return "validation", {}
    if validation_fraction is None:
        return None, {}
    if info.kind != "image" or set(info.splits) != {"train"}:
        raise ValueError(f"validation_fraction applies to image folders; dataset {info.name!r} has splits "
                         f"{sorted(info.splits)}.")
    check_number(validation_fraction, "validation_fraction", minimum=0, maximum=1, exclusive_minimum=True,
                 exclusive_maximum=True, description="a fraction strictly between 0 and 1")
    return "validation", {"validation_split": float(validation_fraction)}


class OutputLockedError(RuntimeError):
    """Another ``kzoo train`` run is writing to the same output folder."""


class OutputLock:
    """An exclusive lock on a run's output folder, held while ``kzoo train`` writes it.

    An ``fcntl`` lock on ``folder/.lock``: the operating system releases it
    when the process ends, even by SIGKILL, so a killed run never leaves a
    stale lock, and a second run into the same folder is refused at once.
    A folder the lock created is removed again if nothing was written to it.

    Args:
        folder: the output folder (created if missing).

    Raises:
        OutputLockedError: on ``__enter__``, when another process holds the lock.
        OSError: on ``__enter__``, when the folder cannot be created or written.
    """

    FILE = ".lock"

    def __init__(self, folder):
        self.path = Path(folder) / self.FILE
        self._handle = None

    def __enter__(self):
        import fcntl

        self._created_folder = not self.path.parent.exists()
        try:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            handle = open(self.path, "a+")
        except OSError as err:
            raise OSError(err.errno, f"Cannot write the output folder {self.path.parent} ({err.strerror or err}); "
                                     "pass an --out folder you can write to.") from err
        try:
            fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            handle.seek(0)
            holder = handle.read().strip() or "another process"
            handle.close()
            raise OutputLockedError(f"{self.path.parent} is in use by another kzoo train run ({holder}); wait for it "
                               "to finish or pass another --out.") from None
        handle.seek(0)
        handle.truncate()
        handle.write(f"pid {os.getpid()}")
        handle.flush()
        self._handle = handle
        return self

    def __exit__(self, *exc):
        self.path.unlink(missing_ok=True)
        self._handle.close()
        self._handle = None
        if self._created_folder and not any(self.path.parent.iterdir()):
            self.path.parent.rmdir()  # a run refused before writing anything leaves no empty folder
        return False


LR_SCHEDULES = ("constant", "cosine", "linear")


def compile_for_training(model, learning_rate=None, decay_steps=None, jit_compile="auto", schedule="cosine",
                         d_learning_rate=None):
    """Compiles ``model`` with its default optimizers or Adam at ``learning_rate``.

    Args:
        model: a kzoo model.
        learning_rate: None for ``model.compile()`` (the model's defaults),
            else a positive float: Adam for single-optimizer models, two Adam
            optimizers with ``beta_1=0.5`` (the DCGAN setting) for
            adversarial ones.
        decay_steps: None for a constant rate, else the number of optimizer
            steps over which the rate decays from ``learning_rate`` down to
            zero (needs ``learning_rate``).
        jit_compile: ``True``/``False`` to compile the training step with
            XLA or not; ``"auto"``: Keras' choice (XLA on machines with a
            GPU or TPU and no distribution strategy, off on CPU-only ones).
        schedule: one of :data:`LR_SCHEDULES`, the shape of the decay:
            ``"cosine"``, or ``"linear"``: constant for the first half of
            ``decay_steps``, then linearly down to zero (CycleGAN's
            schedule); ``"constant"`` (or no ``decay_steps``) keeps the rate.
        d_learning_rate: adversarial models only: the discriminator's rate
            (two time-scale updates, Heusel et al. 2017), decayed like the
            generator's; None uses ``learning_rate`` for both.

    Raises:
        ValueError: ``learning_rate`` is not None and not a positive number,
            ``decay_steps`` is given without a rate or is not a positive
            integer, or ``d_learning_rate`` is given without
            ``learning_rate``, for a model with one optimizer, or is not a
            positive number.
    """
    if d_learning_rate is not None:
        if learning_rate is None:
            raise ValueError(f"d_learning_rate={d_learning_rate!r} needs learning_rate (the generator's rate) too.")
        if not isinstance(model, AdversarialModel):
            raise ValueError(f"d_learning_rate applies to adversarial models with a discriminator optimizer; "
                             f"{type(model).__name__} has one optimizer.")
        check_number(d_learning_rate, "d_learning_rate", minimum=0, exclusive_minimum=True,
                     description="a positive number or None")
    if learning_rate is None:
        if decay_steps is not None:
            raise ValueError("A cosine learning-rate decay needs an explicit learning_rate, got None.")
        model.compile(jit_compile=jit_compile)
        return
    check_number(learning_rate, "learning_rate", minimum=0, exclusive_minimum=True,
                 description="a positive number or None")

    schedule = check_choice(schedule, "schedule", LR_SCHEDULES)

    def rate(initial=learning_rate):
        if decay_steps is None or schedule == "constant":
            return initial
        steps = check_positive_int(decay_steps, "decay_steps")
        if schedule == "linear":
            return ConstantThenLinearDecay(initial, steps // 2, max(steps - steps // 2, 1))
        return keras.optimizers.schedules.CosineDecay(initial, steps)

    if isinstance(model, AdversarialModel):
        d_rate = rate(learning_rate if d_learning_rate is None else float(d_learning_rate))
        model.compile(d_optimizer=keras.optimizers.Adam(d_rate, beta_1=0.5),
                      g_optimizer=keras.optimizers.Adam(rate(), beta_1=0.5), jit_compile=jit_compile)
    else:
        model.compile(optimizer=keras.optimizers.Adam(rate()), jit_compile=jit_compile)


def warm_start(model, init_from):
    """Copies every weight of a trained entry of the same architecture into ``model``.

    Constructor arguments may differ where no weight changes shape (a
    training-only option such as ``augment`` or a loss weight, for a stage
    that changes the recipe); :func:`warm_start_card_fields` records them.

    Args:
        model: a built kzoo model.
        init_from: entry name or preset folder.

    Returns:
        ``{argument: [entry's value, model's value]}`` for every constructor
        argument that differs (``name``, ``dtype`` and ``trainable`` are not
        compared); empty for the same configuration.

    Raises:
        ValueError: the entry is another model class, or differing arguments
            change the weights' number or shapes (the message names both).
    """
    from kzoo.core.presets import load_preset

    source = load_preset(init_from)
    changed = changed_arguments(source, model)
    if type(source) is not type(model):
        raise ValueError(f"Cannot warm-start {type(model).__name__} from {init_from!r}: it is a "
                         f"{type(source).__name__}.")
    mine = [tuple(w.shape) for w in model.weights]
    theirs = [tuple(w.shape) for w in source.weights]
    if mine != theirs:
        raise ValueError(f"Cannot warm-start {type(model).__name__} from {init_from!r}: its different arguments "
                         f"{sorted(changed)} change the weights ({len(theirs)} tensors there, {len(mine)} here, or "
                         f"other shapes); pass the same --set options as its card's command: "
                         f"{source.card.get('command')!r}.")
    model.set_weights(source.get_weights())
    return changed


def changed_arguments(source, model):
    """``{argument: [source's value, model's value]}`` of the constructor arguments that differ.

    ``name``, ``dtype`` and ``trainable`` are not compared.
    """
    ignored = ("name", "dtype", "trainable")
    theirs = {k: v for k, v in source.get_config().items() if k not in ignored}
    mine = {k: v for k, v in model.get_config().items() if k not in ignored}
    return {k: [theirs.get(k), mine.get(k)] for k in sorted(set(mine) | set(theirs)) if mine.get(k) != theirs.get(k)}


def warm_start_card_fields(init_from, wall_seconds, model=None):
    """The card fields of a warm-started run: ``init_from`` and ``total_wall_time_seconds``.

    Args:
        init_from: entry name or preset folder the run started from.
        wall_seconds: wall time of the run itself.
        model: the warm-started model; when given, the constructor arguments
            it changed against the entry are recorded.

    Returns:
        A dict with ``init_from`` (the entry as given, its command, epochs
        and wall time, itself a total if it was warm-started too; the
        entry's own ``init_from`` when it has one, so every stage's command
        stays on the card; ``changed_arguments`` as :func:`warm_start` gives
        them, when any differ) and ``total_wall_time_seconds``.
    """
    from kzoo.core.catalog import read_card, resolve_preset

    source = read_card(resolve_preset(init_from))
    source_wall = float(source.get("total_wall_time_seconds", source.get("wall_time_seconds")) or 0.0)
    stage = {"entry": str(init_from), "command": source.get("command"), "epochs": source.get("epochs"),
             "wall_time_seconds": round(source_wall, 1)}
    if source.get("init_from"):
        stage["init_from"] = source["init_from"]
    if model is not None:
        from kzoo.core.presets import load_preset

        changed = changed_arguments(load_preset(init_from), model)
        if changed:
            stage["changed_arguments"] = changed
    return {"init_from": stage, "total_wall_time_seconds": round(wall_seconds + source_wall, 1)}


def needs_labels(model, info, data):
    """Whether ``model`` trains on class labels, checked against the dataset.

    Args:
        model: a kzoo model.
        info: ``kzoo.data.info(data)``.
        data: the dataset name or folder (for messages).

    Returns:
        ``model.needs_labels``.

    Raises:
        ValueError: the model needs labels and the dataset has none, or a
            different number of classes.
    """
    if not model.needs_labels:
        return False
    if not info.num_classes:
        raise ValueError(f"{type(model).__name__} trains on class labels (num_classes={model.num_classes}) but "
                         f"dataset {data!r} has none.")
    if info.num_classes != model.num_classes:
        raise ValueError(f"{type(model).__name__} has num_classes={model.num_classes} but dataset {data!r} has "
                         f"{info.num_classes} classes; pass --set num_classes={info.num_classes}.")
    return True


def _early_stopping(model, patience, monitor, validation_images, log_dir):
    """Early stopping on a key the model logs, and the callback that logs it (or None).

    Returns:
        ``(ResumableEarlyStopping, quality_callback_or_None)``.

    Raises:
        ValueError: ``monitor`` is a key the model does not log, or a GAN
            without a default key (images other than 28x28x1).
    """
    from kzoo.callbacks import KIDCallback
    from kzoo.callbacks.resume import ResumableEarlyStopping

    patience = check_positive_int(patience, "early_stopping")
    adversarial = isinstance(model, AdversarialModel)
    validation_keys = [f"val_{name}" for name in model.trackers
                       if not (adversarial and name.endswith("grad_norm"))]  # gradient norms: train steps only
    quality = None
    kid_possible = adversarial and tuple(model.data_shape) == (28, 28, 1)
    if kid_possible:
        validation_keys += ["val_kid", "val_kid_std"]
    if monitor is None:
        if adversarial and not kid_possible:
            raise ValueError(f"Early stopping a {type(model).__name__} on {tuple(model.data_shape)} data needs a "
                             f"key to monitor (the default, val_kid, needs 28x28x1 images); pass one of "
                             f"{', '.join(validation_keys)}.")
        monitor = "val_kid" if adversarial else "val_loss"
    available = validation_keys + [key[len("val_"):] for key in validation_keys]
    if monitor not in available:
        raise ValueError(f"Early stopping cannot monitor {monitor!r}: {type(model).__name__} does not log it. "
                         f"It logs: {', '.join(available)}.")
    if monitor.startswith("val_kid"):
        n = min(1000, len(validation_images))
        quality = KIDCallback(validation_images[:n], every=1, n_samples=n, prefix="val_", log_dir=log_dir,
                              kid_subset_size=min(100, n))
    higher_is_better = monitor.endswith(("accuracy", "precision", "recall", "inception_score"))
    return ResumableEarlyStopping(monitor=monitor, patience=patience, mode="max" if higher_is_better else "min",
                                  restore_best_weights=True), quality


def _projector(model, data, split, data_dir, load_options, info, log_dir, count=1000):
    """TensorBoard's Projector setup of the codes of the first ``count`` held-out images, written at the end."""
    from kzoo.callbacks.projector import EmbeddingProjector

    labeled = bool(info.num_classes)
    loaded = kdata.load_numpy(data, split=split, data_dir=data_dir, labels=labeled, **model.data_options(split),
                              **load_options)
    x, labels = loaded if labeled else (loaded, None)
    return EmbeddingProjector(str(log_dir), x[:count], labels=None if labels is None else labels[:count])


def shard_by_data(dataset):
    """``dataset`` with the ``DATA`` auto-shard policy, as ``fit`` splits it over workers.

    ``fit`` under a multi-worker strategy splits every global batch into one
    slice per replica and each worker keeps its own replicas' slices, so a
    step over two workers sees exactly the examples (in the same order) of
    the single-process step on the same global batch. kzoo's batches are
    gathered from arrays in memory, so there are no files to shard by; the
    policy is set explicitly rather than left to ``AUTO``'s fallback and
    its warning.

    Args:
        dataset: a batched ``tf.data.Dataset``.

    Returns:
        The dataset with the policy in its options.
    """
    options = tf.data.Options()
    options.experimental_distribute.auto_shard_policy = tf.data.experimental.AutoShardPolicy.DATA
    return dataset.with_options(options)


def _copy_resume_state(out, scratch):
    """Copies what a resumed run reads from ``out`` (the newest backup, the history and wall time) into ``scratch``."""
    from kzoo.callbacks.resume import TrainingBackup

    latest = TrainingBackup.latest(out / "backup")
    if latest is not None:
        shutil.copytree(latest[0], scratch / "backup" / latest[0].name)
    for name in ("history.csv", "wall_time_seconds.txt"):
        if (out / name).is_file():
            shutil.copy2(out / name, scratch / name)


@contextlib.contextmanager
def _run_folder(out, strategy):
    """The folder this process writes: ``out`` (locked) on the chief, a temporary copy elsewhere.

    The workers of a multi-worker run check together that the chief holds the
    lock on ``out`` and that all of them resume from the same epoch, so a
    refusal stops every worker instead of leaving the others waiting.
    """
    from kzoo.callbacks.resume import TrainingBackup

    chief = is_chief(strategy)
    with contextlib.ExitStack() as stack:
        folder = out if chief else Path(stack.enter_context(tempfile.TemporaryDirectory(prefix="kzoo-worker-")))
        if not chief:
            _copy_resume_state(out, folder)
        try:
            stack.enter_context(OutputLock(folder))
            refused = None
        except OutputLockedError as err:
            refused = err
        if num_workers(strategy) > 1:
            if any_worker(refused is not None, strategy):
                raise refused or OutputLockedError(f"The chief worker could not lock its --out folder (here {out}): "
                                                   "another kzoo train run is writing it; wait for it to finish or "
                                                   "pass another --out.")
            finished = TrainingBackup.finished_epochs(folder / "backup")
            agree, mean = workers_agree(finished, strategy)
            if not agree:
                raise ValueError(f"The workers would resume from different epochs (this one from epoch {finished}, "
                                 f"the mean over all workers is {mean:g}): every worker resumes from the chief's "
                                 f"backup in {out / 'backup'}, so --out must be one folder shared by all workers "
                                 "(the same path on every machine).")
        elif refused is not None:
            raise refused
        yield folder, chief


def _current_learning_rate(model):
    """The learning rate now in effect (a schedule's current value), or None without an optimizer."""
    from kzoo.callbacks.resume import model_optimizers

    optimizers = model_optimizers(model)
    return float(optimizers[0][0].learning_rate) if optimizers else None


def train(model_name, data, *, data_dir=None, epochs=10, batch_size=64, out="runs/kzoo", precision="float32",
          jit_compile="auto", distribute="none", num_replicas=None, tpu=None, seed=0, learning_rate=None,
          d_learning_rate=None, lr_schedule="constant", config=None, early_stopping=None, monitor=None, validation_fraction=None,
          max_minutes=None, init_from=None, eval_k=100, command=None, verbose="auto", extra_callbacks=()):
    """Trains ``model_name`` on ``data`` and saves a preset in ``out/preset``.

    A run killed at any moment (SIGKILL included) and started again with the
    same arguments resumes from its last finished epoch and ends with the
    weights of the uninterrupted run: the backup holds the full training
    state (:class:`kzoo.callbacks.resume.TrainingBackup`) and epoch ``e``'s
    batches depend only on ``seed`` and ``e``
    (:func:`kzoo.data.epochs.epoch_batches`).

    Args:
        model_name: registered model name (``"vae"``).
        data: dataset name or image folder.
        data_dir: folder of dataset files for file-based datasets.
        epochs: number of epochs.
        batch_size: global batch size.
        out: output folder: ``logs/`` (TensorBoard), ``samples/`` (PNG
            grids), ``backup/`` (resume state), ``preset/`` (the entry),
            ``history.csv``. Locked while a run writes it.
        precision: ``"float32"``, ``"mixed_float16"``, ``"mixed_bfloat16"``
            or ``"auto"`` (:func:`kzoo.core.precision.recommended_precision`:
            the fastest policy this machine computes natively; the card
            records the one chosen). A policy the machine only emulates
            gets a ``RuntimeWarning`` (:func:`kzoo.core.precision.precision_warning`).
            The default stays float32: on the 2-core CPU the benchmarks run
            on, every mixed policy is emulated and slower.
        jit_compile: ``True`` to compile the training step with XLA,
            ``False`` not to, ``"auto"`` (default) for Keras' choice: XLA on
            machines with a GPU or TPU and no distribution strategy, never
            on CPU-only ones (see README, Performance, for what XLA measured
            on CPU). The card records an explicit choice.
        distribute: ``"none"``, ``"mirrored"``, ``"multiworker"`` or ``"tpu"``
            (see :func:`kzoo.core.distribute.make_strategy`). Every worker of
            a ``"multiworker"`` run (``TF_CONFIG`` set per process) makes
            the same call; each trains on its slice of every global batch
            and only the chief writes ``out``: the others read the chief's
            backup from ``out`` to resume (so ``out`` must be a shared
            folder for a multi-machine run to resume) and write into a
            temporary folder they delete.
        num_replicas: replicas of a mirrored strategy: the first
            ``num_replicas`` GPUs (default all), or logical CPUs without GPUs
            (default 2); see :func:`kzoo.core.distribute.mirrored_devices`.
        tpu: TPU of ``distribute="tpu"``: ``"local"`` on a TPU VM, a Cloud
            TPU name or a ``grpc://host:port`` address; None resolves it
            from the environment.
        seed: seed of weights initialization and data order.
        learning_rate: Adam learning rate, or None for the model's own
            default optimizers (``model.compile()`` with no arguments).
            Adversarial models get two Adam optimizers with this rate and
            ``beta_1=0.5``. A resumed run uses the rate given now.
        d_learning_rate: adversarial models: the discriminator's own rate
            (two time-scale updates); None: ``learning_rate`` for both.
        lr_schedule: ``"constant"``; ``"cosine"``: the rate decays to zero
            along a cosine over all ``epochs``; or ``"linear"``: constant for
            the first half of the epochs, then linearly to zero (CycleGAN).
            Decays need ``learning_rate``; a wall-time budget that stops
            training early stops the decay early too.
        config: dict of constructor arguments overriding the defaults.
        early_stopping: patience in epochs, or None. Needs a validation split.
        monitor: the key early stopping watches; default ``val_loss``, or
            ``val_kid`` (KID of 1,000 samples against validation images,
            computed every epoch) for adversarial models on 28x28x1 images.
        validation_fraction: image folders only (they have no validation
            split): the fraction of images held out for validation and the
            card's metrics; without it a folder run has no validation. The
            test split is never used during training.
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
        ``(model, preset_folder)``; ``preset_folder`` is None on the
        workers of a multi-worker run other than the chief (they neither
        evaluate nor save).

    Raises:
        ValueError: unknown model or dataset, bad numbers, a dataset whose
            shape the model cannot take, early stopping without a validation
            split or on a key the model does not log, a missing or malformed
            ``TF_CONFIG`` for ``distribute="multiworker"``, workers that
            would resume from different epochs.
        OutputLockedError: another run holds the lock on ``out`` (on every
            worker of a multi-worker run, when the chief cannot lock it).
        kzoo.callbacks.guards.NonFiniteLossError: a logged value became NaN
            or infinite; the model holds the last good weights, the backup
            is kept and nothing else is written.
    """
    epochs = check_positive_int(epochs, "epochs")
    batch_size = check_positive_int(batch_size, "batch_size")
    precision = check_choice(precision, "precision", PRECISIONS + ("auto",))
    model_cls = get_model_class(model_name)
    info = kdata.info(data)
    lr_schedule = check_choice(lr_schedule, "lr_schedule", LR_SCHEDULES)
    if lr_schedule != "constant" and learning_rate is None:
        raise ValueError(f"lr_schedule={lr_schedule!r} needs an explicit learning_rate, got None.")
    if d_learning_rate is not None:
        if learning_rate is None:
            raise ValueError(f"d_learning_rate={d_learning_rate!r} needs learning_rate (the generator's rate) too.")
        if not issubclass(model_cls, AdversarialModel):
            raise ValueError(f"d_learning_rate applies to adversarial models; {model_name!r} has one optimizer.")
    # Before any TensorFlow op: a multi-worker strategy configures the collectives at startup.
    strategy = make_strategy(distribute, num_replicas=num_replicas, tpu=tpu)
    if precision == "auto":
        precision = recommended_precision()
    slow = precision_warning(precision)
    if slow:
        warnings.warn(slow, RuntimeWarning, stacklevel=2)
    val_split, load_options = heldout_split(info, validation_fraction)
    if early_stopping is not None and val_split is None:
        raise ValueError(f"Early stopping needs a validation split; {data!r} has none (splits: "
                         f"{', '.join(info.splits)}). Pass a validation fraction (--validation-fraction) to hold "
                         "out part of an image folder.")
    out = Path(out)
    with _run_folder(out, strategy) as (folder, chief):
        return _train_locked(
            model_cls, data, info, folder, chief=chief, shown_out=out, strategy=strategy, data_dir=data_dir,
            epochs=epochs, batch_size=batch_size, precision=precision, jit_compile=jit_compile,
            distribute=distribute, seed=seed,
            learning_rate=learning_rate, d_learning_rate=d_learning_rate, lr_schedule=lr_schedule, config=config,
            early_stopping=early_stopping, monitor=monitor, val_split=val_split, load_options=load_options, max_minutes=max_minutes,
            init_from=init_from, eval_k=eval_k, command=command, verbose=verbose,
            extra_callbacks=extra_callbacks)


def _train_locked(model_cls, data, info, out, *, chief, shown_out, strategy, data_dir, epochs, batch_size, precision,
                  jit_compile, distribute, seed, learning_rate, d_learning_rate, lr_schedule, config, early_stopping,
                  monitor,
                  val_split, load_options, max_minutes, init_from, eval_k, command, verbose, extra_callbacks):
    from kzoo.callbacks.guards import GANDivergenceMonitor, NonFiniteGuard, NonFiniteLossError
    from kzoo.callbacks.resume import TrainingBackup

    backup_dir = out / "backup"
    first_epoch = min(TrainingBackup.finished_epochs(backup_dir), epochs)
    resuming = backup_dir.is_dir()
    keras.utils.set_random_seed(seed)
    with precision_scope(precision), strategy.scope():
        model_config = dict(config or {})
        if info.kind == "image":
            model_config.setdefault("data_shape", tuple(info.shape))
        model = model_cls.from_config(model_config)  # from_config accepts renamed arguments' old names

    labels = needs_labels(model, info, data)
    train_ds, steps_per_epoch = epoch_batches(
        data, "train", batch_size=batch_size, epochs=epochs, first_epoch=min(first_epoch, epochs - 1),
        shuffle_seed=seed, labels=labels, data_dir=data_dir, **model.data_options("train"), **load_options)
    train_ds = shard_by_data(train_ds)
    decay_steps = epochs * steps_per_epoch if lr_schedule != "constant" else None
    with precision_scope(precision), strategy.scope():
        compile_for_training(model, learning_rate, decay_steps, jit_compile=jit_compile, schedule=lr_schedule,
                             d_learning_rate=d_learning_rate)
        model.build_for_data()
        if init_from and not resuming:  # a resumed run already holds the warm start
            changed = warm_start(model, init_from)
            if changed:
                print(f"kzoo train: warm start from {init_from} with changed arguments: {changed}", flush=True)
    val_ds = (shard_by_data(epoch_batches(data, val_split, batch_size=batch_size, epochs=1, shuffle_seed=None,
                                          labels=labels, data_dir=data_dir, **model.data_options(val_split),
                                          **load_options)[0])
              if val_split else None)

    log_dir = out / "logs"
    history_file = out / "history.csv"
    clock_file = out / "wall_time_seconds.txt"
    if not resuming:
        for stale in (history_file, clock_file):
            stale.unlink(missing_ok=True)
    callbacks = [NonFiniteGuard()]
    stateful = []  # callbacks whose state the every-epoch backup keeps
    if isinstance(model, AdversarialModel):
        callbacks.append(GANDivergenceMonitor())
    stage_fid = None
    if hasattr(model, "stage_end_images") and val_split and chief and tuple(model.data_shape) == (28, 28, 1):
        # progressive growing: FID of each resolution stage as it ends, against the validation images
        from kzoo.callbacks import StageEndFID

        stage_fid = StageEndFID(kdata.load_numpy(data, split=val_split, data_dir=data_dir, **load_options),
                                prefix="val_", verbose=1)
        callbacks.append(stage_fid)
        stateful.append(stage_fid)
    if chief:  # writers only: the other workers of a multi-worker run skip them
        # image-to-image models show translations of fixed held-out examples instead of samples
        source = (kdata.load_numpy(data, split=val_split or "train", data_dir=data_dir, num_samples=8,
                                   **load_options) if hasattr(model, "translation_grid") else None)
        callbacks += [
            keras.callbacks.TensorBoard(str(log_dir)),
            SampleGrid(str(log_dir), png_dir=str(out / "samples"), source=source),
        ]
    if early_stopping is not None:
        images = (kdata.load_numpy(data, split=val_split, data_dir=data_dir, **load_options)
                  if isinstance(model, AdversarialModel) else None)
        stopper, quality = _early_stopping(model, early_stopping, monitor, images, str(log_dir))
        callbacks += [quality] if quality is not None else []
        callbacks.append(stopper)
        stateful.append(stopper)
    if isinstance(model, LatentCodes) and val_split and chief:
        callbacks.append(_projector(model, data, val_split, data_dir, load_options, info, log_dir))
    csv_logger = keras.callbacks.CSVLogger(str(history_file), append=True)
    clock = WallClock(clock_file, None if max_minutes is None else 60.0 * max_minutes)
    # The backup outlives fit: it is removed once the preset is saved, so a failure in the evaluation keeps it.
    backup = TrainingBackup(backup_dir, history_file=history_file, stateful_callbacks=stateful,
                            remove_on_train_end=False)
    callbacks += [csv_logger, clock, *extra_callbacks, backup]
    try:
        history = model.fit(train_ds, validation_data=val_ds, epochs=epochs, initial_epoch=first_epoch,
                            steps_per_epoch=steps_per_epoch, shuffle=False, verbose=verbose, callbacks=callbacks)
    except NonFiniteLossError as err:
        if getattr(csv_logger, "csv_file", None) is not None:
            csv_logger.csv_file.close()
        restored = backup.restore_latest()
        rate = _current_learning_rate(model)
        hint = (f"rerun the same command with a lower --learning-rate (e.g. {rate / 2:.3g}, half of {rate:.3g})"
                if rate else "rerun the same command with a lower --learning-rate")
        if restored is None:
            where = "It diverged in its first epoch, so there is no earlier state to keep; "
        else:
            where = (f"The model holds the weights after epoch {restored}, kept in {shown_out / 'backup'}; to resume "
                     "from there, ")
        raise NonFiniteLossError(err.key, err.value, err.epoch, err.step, advice=where + hint + ".") from None
    wall = clock.total()
    if hasattr(model, "fit_code_density"):  # autoencoders: the ex-post code densities they sample from
        model.fit_code_density(kdata.load_numpy(data, split="train", data_dir=data_dir,
                                                **model.data_options(val_split or "test"), **load_options),
                               seed=seed)
    if not chief:
        return model, None
    with open(history_file) as handle:
        epochs_run = max(sum(1 for _ in handle) - 1, 0)

    metrics = {}
    if val_split and hasattr(model, "log_prob"):
        from kzoo.evaluation.evaluate import evaluate

        metrics = evaluate(model, data, split=val_split, data_dir=data_dir, k=eval_k, load_options=load_options)
    elif val_split and hasattr(model, "translate"):  # image-to-image: against the validation pairs' true targets
        from kzoo.evaluation.translation import translation_report

        metrics = translation_report(model, data, val_split, data_dir=data_dir)
    if stage_fid is not None:
        metrics.update({f"fid_{resolution}": fid for resolution, fid in stage_fid.stage_fids.items()})
    card = {
        "dataset": data,
        "command": command,
        "epochs": epochs_run,
        "batch_size": batch_size,
        "precision": precision,
        **({} if jit_compile == "auto" else {"jit_compile": bool(jit_compile)}),
        "distribute": distribute,
        "seed": seed,
        "wall_time_seconds": round(wall, 1),
        "validation": (None if val_split is None else
                       {"split": val_split, **({"carved_fraction": load_options["validation_split"]}
                                               if load_options else {})}),
        "metrics": {f"{val_split}_{k}": v for k, v in metrics.items()
                    if isinstance(v, (int, float)) and k != "seconds"},
        "last_epoch_logs": {k: float(v[-1]) for k, v in history.history.items()},
    }
    if init_from:
        card.update(warm_start_card_fields(init_from, wall, model))
    preset = save_preset(model, out / "preset", card=card, overwrite=True)
    summary = out / "train_summary.json"
    partial = summary.with_name(summary.name + ".partial")
    partial.write_text(json.dumps(card, indent=2) + "\n")
    os.replace(partial, summary)
    backup.remove()
    return model, preset
