"""Exact resume: the whole training state, saved atomically after every epoch.

``keras.callbacks.BackupAndRestore`` restores the weights and the epoch
number. A run resumed from it still differs from the uninterrupted run: the
random-number state of dropout layers is not in the weights file, callbacks
such as early stopping start afresh, and the history file keeps rows of the
epoch that was cut short. :class:`TrainingBackup` saves, after every epoch,

* the model's weights with the state of every optimizer (a GAN's two, the
  loss scale of ``mixed_float16``), EMA copies and ActNorm's init flags;
* the states of the model's seed generators (dropout);
* the state of the callbacks it is given (:class:`ResumableEarlyStopping`);
* the number of rows of the history CSV, which a resumed run truncates to.

Each save goes to a temporary folder that is renamed into place when
complete, so a kill at any moment leaves the previous epoch's state intact.
Together with a data pipeline whose epoch ``e`` depends only on the seed and
``e`` (:func:`kzoo.data.epochs.epoch_batches`), a run killed at any step and
started again with the same command ends with the weights of the
uninterrupted run.
"""

import json
import os
import shutil
from pathlib import Path

import keras
import numpy as np

__all__ = ["TrainingBackup", "ResumableEarlyStopping", "model_optimizers"]

STATE_FILE = "state.json"
WEIGHTS_FILE = "model.weights.h5"
SEED_STATES_FILE = "seed_states.npz"
_PARTIAL_PREFIX = ".partial-"
_EPOCH_PREFIX = "epoch-"


def model_optimizers(model):
    """The ``(optimizer, variables)`` pairs of a compiled kzoo model.

    Args:
        model: a compiled kzoo model (one optimizer, or a GAN's
            ``d_optimizer`` and ``g_optimizer``).

    Returns:
        A list of pairs: each optimizer with the variables it updates.
    """
    if getattr(model, "d_optimizer", None) is not None:
        return [(model.d_optimizer, model.discriminator.trainable_variables),
                (model.g_optimizer, model.generator.trainable_variables)]
    if getattr(model, "optimizer", None) is not None:
        return [(model.optimizer, model.trainable_variables)]
    return []


def _learning_rate_variable(optimizer):
    inner = getattr(optimizer, "inner_optimizer", optimizer)  # LossScaleOptimizer
    rate = getattr(inner, "_learning_rate", None)
    return rate if isinstance(rate, keras.Variable) else None


def _seed_states(model):
    return [v for v in model.variables if v.path.endswith("seed_generator_state")]


def _history_rows(path):
    if path is None or not Path(path).is_file():
        return 0
    with open(path) as handle:
        return sum(1 for _ in handle)


class TrainingBackup(keras.callbacks.Callback):
    """Saves the full training state after every epoch; restores it at the start of ``fit``.

    Put it last in the callback list: it must see the epoch's end after every
    other callback (so their states and the history row are final), and its
    ``on_train_begin`` must run after theirs (which reset their states).
    Pass ``initial_epoch=TrainingBackup.finished_epochs(folder)`` to ``fit``
    and feed epoch ``e`` the same batches in every process.

    Args:
        folder: backup folder; created on the first save. A run stopped by
            an exception keeps it; see ``remove_on_train_end``.
        history_file: the CSV history a ``CSVLogger(append=True)`` writes,
            truncated on resume to the rows of the finished epochs; or None.
        stateful_callbacks: callbacks whose state is saved and restored;
            each has ``get_backup_state(folder) -> dict`` and
            ``set_backup_state(state, folder)``.
        learning_rates: ``"current"`` (default): optimizers keep the learning
            rate they were compiled with (so a resumed run can lower it);
            ``"restored"``: the saved rate wins.
        remove_on_train_end: remove the folder when ``fit`` ends normally
            (default); pass False to remove it yourself (:meth:`remove`)
            once what follows training (evaluation, saving) has succeeded.

    Raises:
        ValueError: ``learning_rates`` is neither ``"current"`` nor ``"restored"``.
    """

    def __init__(self, folder, history_file=None, stateful_callbacks=(), learning_rates="current",
                 remove_on_train_end=True):
        super().__init__()
        if learning_rates not in ("current", "restored"):
            raise ValueError(f"learning_rates must be 'current' or 'restored', got {learning_rates!r}.")
        self.folder = Path(folder)
        self.history_file = None if history_file is None else Path(history_file)
        self.learning_rates = learning_rates
        self.remove_on_train_end = remove_on_train_end
        self.stateful_callbacks = list(stateful_callbacks)
        for callback in self.stateful_callbacks:
            if not (hasattr(callback, "get_backup_state") and hasattr(callback, "set_backup_state")):
                raise ValueError(f"{type(callback).__name__} has no get_backup_state/set_backup_state methods, "
                                 "so its state cannot be backed up.")
        self.restored_epoch = 0
        self.last_saved = None

    # ------------------------------------------------------------ reading
    @classmethod
    def latest(cls, folder):
        """The newest complete state in ``folder``: ``(path, state dict)``, or None."""
        folder = Path(folder)
        if not folder.is_dir():
            return None
        for path in sorted(folder.glob(_EPOCH_PREFIX + "*"), reverse=True):
            state_file = path / STATE_FILE
            if state_file.is_file():
                return path, json.loads(state_file.read_text())
        return None

    @classmethod
    def finished_epochs(cls, folder):
        """Epochs finished by the run that left ``folder`` (0 if it holds no state)."""
        latest = cls.latest(folder)
        return 0 if latest is None else int(latest[1]["epoch"])

    def restore(self, path, state):
        """Loads the state saved in ``path`` into the model and the callbacks."""
        rates = [(v, v.numpy()) for opt, _ in model_optimizers(self.model)
                 if (v := _learning_rate_variable(opt)) is not None]
        for optimizer, variables in model_optimizers(self.model):
            if not optimizer.built:
                optimizer.build(variables)
        self.model.load_weights(str(path / WEIGHTS_FILE))
        if self.learning_rates == "current":
            for variable, value in rates:
                variable.assign(value)
        seeds = _seed_states(self.model)
        if seeds:
            with np.load(path / SEED_STATES_FILE) as saved:
                for index, variable in enumerate(seeds):
                    variable.assign(saved[f"state_{index}"])
        for callback in self.stateful_callbacks:
            key = type(callback).__name__
            if key in state.get("callbacks", {}):
                callback.set_backup_state(state["callbacks"][key], path)
        self.restored_epoch = int(state["epoch"])

    def restore_latest(self):
        """Loads the newest saved state into the model; returns its epoch count, or None if there is none."""
        latest = self.latest(self.folder)
        if latest is None:
            return None
        self.restore(*latest)
        return self.restored_epoch

    # ------------------------------------------------------------ writing
    def save(self, epochs_done):
        """Writes the state after ``epochs_done`` epochs to a temporary folder, then renames it into place."""
        final = self.folder / f"{_EPOCH_PREFIX}{epochs_done:06d}"
        partial = self.folder / f"{_PARTIAL_PREFIX}{epochs_done:06d}-{os.getpid()}"
        try:
            self.folder.mkdir(parents=True, exist_ok=True)
            shutil.rmtree(partial, ignore_errors=True)
            partial.mkdir()
            self.model.save_weights(str(partial / WEIGHTS_FILE))
            seeds = _seed_states(self.model)
            if seeds:
                np.savez(partial / SEED_STATES_FILE, **{f"state_{i}": v.numpy() for i, v in enumerate(seeds)})
            state = {"epoch": epochs_done, "history_rows": _history_rows(self.history_file), "callbacks": {}}
            for callback in self.stateful_callbacks:
                state["callbacks"][type(callback).__name__] = callback.get_backup_state(partial)
            (partial / STATE_FILE).write_text(json.dumps(state, indent=1) + "\n")
            shutil.rmtree(final, ignore_errors=True)
            os.replace(partial, final)
        except OSError as err:
            shutil.rmtree(partial, ignore_errors=True)
            previous = self.latest(self.folder)
            kept = (f"the backup of epoch {previous[1]['epoch']} is intact" if previous else "there is no earlier backup")
            raise OSError(err.errno, f"Cannot write the backup of epoch {epochs_done} into {self.folder} "
                                     f"({err.strerror or err}); {kept}.") from err
        for old in self.folder.iterdir():
            if old == final:
                continue
            if old.is_dir():
                shutil.rmtree(old, ignore_errors=True)
            else:
                old.unlink(missing_ok=True)
        self.last_saved = final

    # ---------------------------------------------------------- callbacks
    def on_train_begin(self, logs=None):
        latest = self.latest(self.folder)
        if latest is None:
            return
        self.restore(*latest)
        if self.history_file is not None and self.history_file.is_file():
            rows = int(latest[1]["history_rows"])
            with open(self.history_file) as handle:
                lines = handle.readlines()
            if len(lines) > rows:
                self.history_file.write_text("".join(lines[:rows]))

    def on_epoch_end(self, epoch, logs=None):
        self.save(epoch + 1)

    def remove(self):
        """Deletes the backup folder."""
        shutil.rmtree(self.folder, ignore_errors=True)

    def on_train_end(self, logs=None):
        if self.remove_on_train_end:
            self.remove()


class ResumableEarlyStopping(keras.callbacks.EarlyStopping):
    """``keras.callbacks.EarlyStopping`` whose state survives a resume.

    The best value, its epoch, the epochs waited and the best weights are
    saved with every :class:`TrainingBackup` and restored from it, so a
    resumed run stops at the epoch the uninterrupted run stops at and keeps
    the same best weights. Arguments are those of
    ``keras.callbacks.EarlyStopping``.
    """

    BEST_WEIGHTS_FILE = "early_stopping_best.npz"

    def get_backup_state(self, folder):
        """Returns the JSON state and writes the best weights into ``folder``."""
        if self.best_weights is not None:
            np.savez(Path(folder) / self.BEST_WEIGHTS_FILE,
                     **{f"w_{i}": w for i, w in enumerate(self.best_weights)})
        best = None if self.best is None else float(self.best)
        return {"wait": int(self.wait), "best": best, "best_epoch": int(self.best_epoch),
                "stopped_epoch": int(self.stopped_epoch), "has_best_weights": self.best_weights is not None}

    def set_backup_state(self, state, folder):
        """Restores what :meth:`get_backup_state` saved."""
        self.wait = state["wait"]
        self.best = state["best"]
        self.best_epoch = state["best_epoch"]
        self.stopped_epoch = state["stopped_epoch"]
        self.best_weights = None
        if state["has_best_weights"]:
            with np.load(Path(folder) / self.BEST_WEIGHTS_FILE) as saved:
                self.best_weights = [saved[f"w_{i}"] for i in range(len(saved.files))]
