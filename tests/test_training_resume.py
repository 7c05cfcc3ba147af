"""Exact resume after SIGKILL, the non-finite guard, early-stopping keys, validation splits and the output lock.

The kill test runs the commands of ``benchmarks/resume_kill_points.py`` (one
small model per family) at one kill point each; the benchmark tries many.
"""

import csv
import json
import importlib.util
import signal
from pathlib import Path

import keras
import numpy as np
import pytest

from kzoo import cli
from kzoo import data as kdata
from kzoo.callbacks.guards import GANDivergenceMonitor, NonFiniteGuard, NonFiniteLossError
from kzoo.callbacks.resume import TrainingBackup
from kzoo.core.imaging import save_png
from kzoo.data.epochs import epoch_batches
from kzoo.training import OutputLock, OutputLockedError, heldout_split, train

ROOT = Path(__file__).resolve().parents[1]
_spec = importlib.util.spec_from_file_location("resume_kill_points", ROOT / "benchmarks" / "resume_kill_points.py")
kill_points = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(kill_points)

#: One kill point per family (23 steps per epoch): mid-epoch, right after an epoch boundary, and in the first
#: epoch (no backup yet).
KILL_AT_STEP = {"latent": 32, "gan": 40, "flow": 24, "diffusion": 29, "autoregressive": 9}


def run_cli(*args):
    return cli.main([str(a) for a in args])


@pytest.mark.parametrize("family", sorted(kill_points.FAMILY_RUNS))
def test_sigkill_then_same_command_gives_the_uninterrupted_weights(family, tmp_path):
    train_args = kill_points.FAMILY_RUNS[family]
    assert run_cli("train", *train_args, "--out", tmp_path / "reference") == 0
    reference = kill_points.preset_weights(tmp_path / "reference" / "preset")

    out = tmp_path / "killed"
    log = tmp_path / "child.log"
    step = KILL_AT_STEP[family]
    assert kill_points.run(kill_points.child_command(out, train_args, step), log) == -signal.SIGKILL, log.read_text()
    assert not (out / "preset").exists()
    assert TrainingBackup.finished_epochs(out / "backup") == step // kill_points.STEPS_PER_EPOCH
    assert run_cli("train", *train_args, "--out", out) == 0
    assert kill_points.same_weights(kill_points.preset_weights(out / "preset"), reference)
    assert kill_points.leftovers(out) == []
    with open(out / "history.csv") as handle:  # one row per epoch: the cut-short epoch's row is not repeated
        epochs = [int(row["epoch"]) for row in csv.DictReader(handle)]
    with open(tmp_path / "reference" / "history.csv") as handle:
        assert epochs == [int(row["epoch"]) for row in csv.DictReader(handle)]


@pytest.mark.parametrize("precision", ["float32", "mixed_float16"])  # mixed_float16: the loss scale is restored
def test_an_exception_mid_epoch_resumes_exactly_in_process(precision, tmp_path):
    config = {"data_shape": (8, 8, 1), "filters": (8,), "hidden_units": 8, "latent_dim": 2}

    class Crash(Exception):
        pass

    class CrashAt(keras.callbacks.Callback):
        def on_train_batch_end(self, batch, logs=None):
            if int(self.model.step_counter()) == 30:
                raise Crash

    kwargs = dict(epochs=2, batch_size=64, config=config, eval_k=2, verbose=0, learning_rate=1e-3,
                  lr_schedule="cosine", precision=precision)
    reference, _ = train("vae", "digits", out=tmp_path / "reference", **kwargs)
    with pytest.raises(Crash):
        train("vae", "digits", out=tmp_path / "run", extra_callbacks=[CrashAt()], **kwargs)
    assert TrainingBackup.finished_epochs(tmp_path / "run" / "backup") == 1
    resumed, _ = train("vae", "digits", out=tmp_path / "run", **kwargs)
    # The optimizer's variables (iterations, moments, the loss scale of mixed_float16) and the weights match.
    assert kill_points.same_weights([v.numpy() for v in resumed.optimizer.variables],
                                    [v.numpy() for v in reference.optimizer.variables])
    assert kill_points.same_weights(resumed.get_weights(), reference.get_weights())


def test_a_resumed_run_takes_the_new_learning_rate(tmp_path):
    config = {"data_shape": (8, 8, 1), "hidden_units": [16]}

    class Crash(Exception):
        pass

    class CrashAtEpoch(keras.callbacks.Callback):
        def on_epoch_begin(self, epoch, logs=None):
            if epoch == 1:
                raise Crash

    with pytest.raises(Crash):
        train("made", "digits", out=tmp_path, epochs=2, config=config, learning_rate=1e-3, verbose=0,
              extra_callbacks=[CrashAtEpoch()])
    model, _ = train("made", "digits", out=tmp_path, epochs=2, config=config, learning_rate=2e-4, verbose=0)
    assert float(model.optimizer.learning_rate) == pytest.approx(2e-4)
    assert int(model.optimizer.iterations) == 2 * 23


class PoisonAt(keras.callbacks.Callback):
    """Sets every trainable weight to NaN after global step ``step``: the next step's losses are NaN."""

    def __init__(self, step):
        super().__init__()
        self.step = step

    def on_train_batch_end(self, batch, logs=None):
        if int(self.model.step_counter()) == self.step:
            for variable in self.model.trainable_variables:
                variable.assign(np.full(variable.shape, np.nan, variable.dtype))


@pytest.mark.parametrize("family", sorted(kill_points.FAMILY_RUNS))
def test_non_finite_loss_stops_at_once_and_keeps_the_last_good_state(family, tmp_path, monkeypatch):
    train_args = kill_points.FAMILY_RUNS[family]
    out = tmp_path / "run"
    poison = PoisonAt(step=kill_points.STEPS_PER_EPOCH + 2)
    original = train
    monkeypatch.setattr("kzoo.training.train", lambda *a, **k: original(*a, extra_callbacks=[poison], **k))
    assert run_cli("train", *train_args, "--out", out) == 3
    monkeypatch.undo()

    assert not (out / "preset").exists() and not (out / "train_summary.json").exists()
    assert TrainingBackup.finished_epochs(out / "backup") == 1
    with open(out / "history.csv") as handle:
        assert len(list(csv.DictReader(handle))) == 1
    assert not list(out.rglob("*.partial*"))
    if family == "latent":  # the way back: the same command with a lower rate resumes from the kept epoch
        assert run_cli("train", *train_args, "--out", out, "--learning-rate", "1e-4") == 0
        assert (out / "preset" / "card.json").is_file() and not (out / "backup").exists()


def test_non_finite_error_names_the_loss_epoch_step_and_the_way_back(tmp_path):
    config = {"data_shape": (8, 8, 1), "hidden_units": [16]}
    with pytest.raises(NonFiniteLossError) as caught:
        train("made", "digits", out=tmp_path, epochs=2, config=config, learning_rate=2e-4, verbose=0,
              extra_callbacks=[PoisonAt(step=23 + 4)])
    err = caught.value
    assert (err.key, err.epoch, err.step) == ("loss", 2, 5)
    message = str(err)
    assert "'loss' became nan at epoch 2, step 5" in message and "after epoch 1" in message
    assert str(tmp_path / "backup") in message and "--learning-rate (e.g. 0.0001, half of 0.0002)" in message
    with pytest.raises(NonFiniteLossError, match="diverged in its first epoch, so there is no earlier state"):
        train("made", "digits", out=tmp_path / "early", epochs=2, config=config, verbose=0,
              extra_callbacks=[PoisonAt(step=3)])


def test_non_finite_guard_watches_every_logged_value():
    guard = NonFiniteGuard()
    guard.on_epoch_begin(2)
    guard.on_train_batch_end(0, {"d_loss": 0.5, "g_loss": 1.0})
    with pytest.raises(NonFiniteLossError, match="'g_grad_norm' became inf at epoch 3, step 8"):
        guard.on_train_batch_end(7, {"d_loss": 0.5, "g_grad_norm": float("inf")})
    with pytest.raises(NonFiniteLossError, match="'val_loss' became nan at the end of epoch 3"):
        guard.on_epoch_end(2, {"loss": 1.0, "val_loss": float("nan")})


def test_gan_divergence_monitor_warns_once_on_a_winning_discriminator():
    monitor = GANDivergenceMonitor(patience=5)
    monitor.on_train_begin()
    monitor.on_epoch_begin(0)
    running = 0.0
    with pytest.warns(RuntimeWarning, match="discriminator loss has been below 0.001"):
        for batch in range(12):
            step_value = 1.0 if batch < 2 else 1e-5  # the discriminator wins from step 3 on
            running = (running * batch + step_value) / (batch + 1)  # fit's logs hold running means
            monitor.on_train_batch_end(batch, {"d_loss": running, "g_grad_norm": 0.5})
    assert len(monitor.warnings) == 1 and "epoch 1, step 7" in monitor.warnings[0]


def test_gan_divergence_monitor_ignores_critic_losses_that_go_negative():
    monitor = GANDivergenceMonitor(patience=3)
    monitor.on_train_begin()
    monitor.on_epoch_begin(0)
    for batch, value in enumerate([-2.0, 0.0, 0.0, 0.0, 0.0, 0.0]):
        monitor.on_train_batch_end(batch, {"d_loss": value})
    assert monitor.warnings == []


def test_early_stopping_on_a_key_the_model_does_not_log_is_refused(tmp_path):
    config = {"data_shape": (8, 8, 1), "hidden_units": [16]}
    with pytest.raises(ValueError, match=r"cannot monitor 'val_acuracy'.*It logs: val_loss"):
        train("made", "digits", out=tmp_path, epochs=1, config=config, early_stopping=2, monitor="val_acuracy",
              verbose=0)
    gan = {"data_shape": (8, 8, 1), "latent_dim": 4, "filters": [8, 4]}
    with pytest.raises(ValueError, match=r"needs a key to monitor .*val_d_loss"):
        train("dcgan", "digits", out=tmp_path, epochs=1, config=gan, early_stopping=2, verbose=0)
    assert not (tmp_path / "preset").exists()


def test_gan_early_stopping_on_validation_kid(tmp_path):
    config = {"latent_dim": 8, "filters": [8, 4]}
    model, preset = train("dcgan", "mnist5k", out=tmp_path, epochs=1, batch_size=500, config=config,
                          early_stopping=1, verbose=0)
    logs = model.history.history
    assert len(logs["val_kid"]) == 1 and np.isfinite(logs["val_kid"][0])
    assert "val_kid" in json.loads((preset / "card.json").read_text())["last_epoch_logs"]


def _write_folder(folder, n):
    folder.mkdir()
    rng = np.random.default_rng(0)
    for i in range(n):
        save_png(rng.random((1, 8, 8, 1)).astype("float32"), folder / f"{i:03d}.png")


def test_validation_is_never_the_test_split_and_folders_carve_it_only_when_asked(tmp_path):
    assert heldout_split(kdata.info("digits")) == ("validation", {})
    with pytest.raises(ValueError, match="has a validation split of its own"):
        heldout_split(kdata.info("digits"), 0.1)
    folder = tmp_path / "images"
    _write_folder(folder, 20)
    assert heldout_split(kdata.info(str(folder))) == (None, {})
    assert heldout_split(kdata.info(str(folder)), 0.25) == ("validation", {"validation_split": 0.25})
    with pytest.raises(ValueError, match="strictly between 0 and 1"):
        heldout_split(kdata.info(str(folder)), 1.5)
    with pytest.raises(ValueError, match="needs a validation split.*--validation-fraction"):
        train("made", str(folder), out=tmp_path / "run", epochs=1, early_stopping=1, config={"hidden_units": [8]},
              verbose=0)
    train_part, _ = epoch_batches(str(folder), batch_size=100, epochs=1, shuffle_seed=None, validation_split=0.25)
    val_part, _ = epoch_batches(str(folder), "validation", batch_size=100, epochs=1, shuffle_seed=None,
                                validation_split=0.25)
    train_x, val_x = next(iter(train_part)).numpy(), next(iter(val_part)).numpy()
    assert (len(train_x), len(val_x)) == (15, 5)
    assert not any(np.array_equal(a, b) for a in train_x for b in val_x)
    _, preset = train("made", str(folder), out=tmp_path / "run", epochs=1, validation_fraction=0.25,
                      config={"hidden_units": [8]}, verbose=0)
    card = json.loads((preset / "card.json").read_text())
    assert card["validation"] == {"split": "validation", "carved_fraction": 0.25}
    assert "validation_nll_nats" in card["metrics"]


def test_epoch_batches_depend_only_on_the_seed_and_the_epoch():
    options = dict(batch_size=100, epochs=3, shuffle_seed=4, binarize="dynamic", seed=2, labels=True)
    full, steps = epoch_batches("digits", **options)
    tail, _ = epoch_batches("digits", first_epoch=2, **options)
    batches = list(full.as_numpy_iterator())
    assert len(batches) == 3 * steps and steps == 15
    for (x, y), (x2, y2) in zip(batches[2 * steps:], tail.as_numpy_iterator()):
        np.testing.assert_array_equal(x, x2)
        np.testing.assert_array_equal(y, y2)
    first, second = batches[0], batches[steps]
    assert not np.array_equal(first[1], second[1])  # another order in another epoch
    assert set(np.unique(first[0])) <= {0.0, 1.0}
    labels = np.concatenate([b[1] for b in batches[:steps]])
    assert sorted(labels) == sorted(kdata.load_numpy("digits", labels=True)[1])  # every example once per epoch


def test_a_second_run_into_the_same_folder_is_refused(tmp_path, capsys):
    with OutputLock(tmp_path):
        with pytest.raises(OutputLockedError, match="in use by another kzoo train run"):
            train("made", "digits", out=tmp_path, epochs=1, config={"data_shape": (8, 8, 1)}, verbose=0)
        assert run_cli("train", "made", "--data", "digits", "--out", tmp_path) == 2
        assert "pid " in capsys.readouterr().err
    assert not (tmp_path / ".lock").exists() and not (tmp_path / "preset").exists()


def test_an_output_folder_that_cannot_be_written_is_a_clear_error(tmp_path, capsys):
    occupied = tmp_path / "a-file"  # a folder path below a regular file fails for every user, root included
    occupied.write_text("not a folder")
    assert run_cli("train", "made", "--data", "digits", "--out", occupied / "run") == 2
    assert f"Cannot write the output folder {occupied / 'run'}" in capsys.readouterr().err
    assert sorted(p.name for p in tmp_path.iterdir()) == ["a-file"]


def test_a_full_disk_during_a_backup_keeps_the_previous_one(tmp_path, monkeypatch):
    import errno

    config = {"data_shape": (8, 8, 1), "hidden_units": [16]}
    calls = {"n": 0}
    original = keras.Model.save_weights

    def save_weights_then_fill_the_disk(self, path, *args, **kwargs):
        calls["n"] += 1
        if calls["n"] == 2:
            raise OSError(errno.ENOSPC, "No space left on device")
        return original(self, path, *args, **kwargs)

    monkeypatch.setattr(keras.Model, "save_weights", save_weights_then_fill_the_disk)
    with pytest.raises(OSError, match=r"Cannot write the backup of epoch 2 .*No space left.*epoch 1 is intact"):
        train("made", "digits", out=tmp_path, epochs=3, config=config, verbose=0)
    assert sorted(p.name for p in (tmp_path / "backup").iterdir()) == ["epoch-000001"]
    assert not (tmp_path / "preset").exists()
