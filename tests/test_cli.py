"""The ``kzoo`` command line, end to end on the small ``digits`` set."""

import json
import subprocess
import sys

import keras
import numpy as np
import pytest

from kzoo import cli
from kzoo.core import presets


def run_cli(*args):
    return cli.main([str(a) for a in args])


def run_without_tensorflow(argv):
    """Runs ``kzoo.cli.main(argv)`` in a fresh process; fails if it imported TensorFlow. Returns its stdout."""
    code = (f"import sys, kzoo.cli\ntry:\n    kzoo.cli.main({argv!r})\nexcept SystemExit as end:\n"
            "    assert end.code in (0, None), end.code\n"
            f"assert 'tensorflow' not in sys.modules, 'kzoo {' '.join(argv)} imported tensorflow'")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120)
    assert out.returncode == 0, out.stderr
    return out.stdout


def test_list_does_not_import_tensorflow():
    entries = json.loads(run_without_tensorflow(["list", "--json"]))
    assert isinstance(entries, list)
    for entry in entries:
        assert {"name", "model", "family", "dataset", "metrics"} <= set(entry)


def test_list_models_does_not_import_tensorflow_and_agrees_with_the_registry():
    from kzoo.core.registry import get_model_class, model_names

    listed = json.loads(run_without_tensorflow(["list", "--models", "--json"]))
    registered = [{"model": n, "family": get_model_class(n).family, "class": get_model_class(n).__name__}
                  for n in model_names() if get_model_class(n).__module__.startswith("kzoo.models.")]
    assert listed == registered  # models that other tests register from test files are not in kzoo/models


@pytest.mark.parametrize("argv", [["--help"], ["train", "--help"], ["eval", "--help"], ["sample", "--help"],
                                  ["detect", "--help"]],
                         ids=" ".join)
def test_help_does_not_import_tensorflow(argv):
    assert "usage: kzoo" in run_without_tensorflow(argv)


@pytest.mark.parametrize("pair, expected", [
    ("split_prior=true", {"split_prior": True}), ("split_prior=True", {"split_prior": True}),
    ("actnorm=False", {"actnorm": False}), ("ema_decay=None", {"ema_decay": None}),
    ("filters=[8,16]", {"filters": [8, 16]}), ("logit_alpha=1e-6", {"logit_alpha": 1e-6}),
    ("transform=spline", {"transform": "spline"}), ("name=a=b", {"name": "a=b"}),
])
def test_set_values_parse_as_json_or_python_constants(pair, expected):
    assert cli.parse_overrides([pair]) == expected


@pytest.mark.parametrize("command", ["list", "train", "sample", "eval", "compare", "probe", "detect"])
def test_every_subcommand_has_help(command, capsys):
    with pytest.raises(SystemExit) as exit_info:
        run_cli(command, "--help")
    assert exit_info.value.code == 0
    assert "usage: kzoo " + command in capsys.readouterr().out


def test_train_sample_eval_round_trip(tmp_path, capsys):
    out = tmp_path / "run"
    status = run_cli("train", "vae", "--data", "digits", "--epochs", "2", "--batch-size", "32", "--out", out,
                     "--set", "data_shape=[8,8,1]", "--set", "filters=[8,16]", "--set", "hidden_units=32",
                     "--set", "latent_dim=4", "--eval-k", "4", "--seed", "3")
    assert status == 0
    assert (out / "logs" / "train").is_dir() and (out / "logs" / "validation").is_dir()
    projector = (out / "logs" / "projector_config.pbtxt").read_text()  # the codes of the validation images
    assert "metadata.tsv" in projector and len((out / "logs" / "metadata.tsv").read_text().split()) == 179
    assert sorted(p.name for p in (out / "samples").iterdir()) == ["samples_epoch_0001.png",
                                                                   "samples_epoch_0002.png"]
    card = json.loads((out / "preset" / "card.json").read_text())
    assert card["epochs"] == 2 and card["model"] == "vae" and card["dataset"] == "digits"
    assert card["command"].startswith("kzoo train vae --data digits")
    assert np.isfinite(card["metrics"]["validation_nll_nats"])
    assert not (out / "backup").exists(), "the backup is removed once training finishes"

    png = tmp_path / "grid.png"
    assert run_cli("sample", out / "preset", "-n", "9", "-o", png, "--seed", "1") == 0
    assert png.stat().st_size > 0
    capsys.readouterr()
    assert run_cli("eval", out / "preset", "--split", "test", "--k", "3", "--n-samples", "40", "--json") == 0
    stdout = capsys.readouterr().out
    result = json.loads(stdout)  # stdout holds the JSON object alone
    assert result["split"] == "test" and result["n_examples"] == 179
    assert result["nll_nats"] <= result["neg_elbo_nats"] + 1e-3
    assert result["bits_per_dim"] == pytest.approx(result["nll_nats"] / (64 * np.log(2)))
    assert "28x28x1" in result["quality_skipped"] and result["fid"] is None
    assert result["sample_seconds_per_image"] > 0

    report = tmp_path / "report"
    assert run_cli("compare", out / "preset", out / "preset", "--data", "digits", "--n-samples", "20",
                   "--k", "2", "--out", report) == 0
    table = capsys.readouterr().out
    assert "| entry |" in table and "bits/dim" in table and table.count("| preset |") == 2
    assert {p.name for p in report.iterdir()} == {"comparison.md", "comparison.json", "samples.png"}


@pytest.mark.parametrize("args, message", [
    (["train", "vea", "--data", "digits"], "Did you mean 'vae'"),
    (["train", "vae", "--data", "mnst"], "Did you mean 'mnist'"),
    (["sample", "vae-mnits", "-o", "x.png"], "Did you mean 'vae-mnist'"),
    (["train", "vae", "--data", "digits", "--epochs", "0"], "epochs must be a positive integer"),
    (["train", "vae", "--data", "mnist5k", "--set", "data_shape=[8,8,1]"], "shape"),
])
def test_bad_input_gives_a_clear_error(args, message, capsys, tmp_path):
    assert run_cli(*args, *(["--out", tmp_path / "o"] if args[0] == "train" else [])) == 2
    assert message in capsys.readouterr().err


def test_sample_rejects_non_png(tmp_path, capsys):
    folder = tmp_path / "entry"
    from kzoo.models.latent import VAE

    model = VAE(data_shape=(8, 8, 1), filters=(8,), hidden_units=8, latent_dim=2)
    model.build_for_data()
    presets.save_preset(model, folder)
    assert run_cli("sample", folder, "-n", "4", "-o", tmp_path / "grid.jpg") == 2
    assert "must end in .png" in capsys.readouterr().err
    assert not (tmp_path / "grid.jpg").exists()


def test_train_with_mirrored_strategy_and_mixed_precision(tmp_path):
    out = tmp_path / "run"
    status = run_cli("train", "vae", "--data", "digits", "--epochs", "1", "--batch-size", "64", "--out", out,
                     "--distribute", "mirrored", "--precision", "mixed_bfloat16",
                     "--set", "data_shape=[8,8,1]", "--set", "filters=[8]", "--set", "hidden_units=16",
                     "--set", "latent_dim=2", "--eval-k", "2")
    assert status == 0
    card = json.loads((out / "preset" / "card.json").read_text())
    assert card["distribute"] == "mirrored" and card["precision"] == "mixed_bfloat16"
    assert np.isfinite(card["last_epoch_logs"]["loss"])
    # The entry loads back under the default float32 policy.
    assert presets.load_preset(out / "preset").generate(2, seed=0).dtype == np.float32


TINY_VAE = ("--set", "data_shape=[8,8,1]", "--set", "filters=[8]", "--set", "hidden_units=16", "--set",
            "latent_dim=2", "--eval-k", "2")


def _machine(monkeypatch, flags):
    from kzoo.core import precision

    monkeypatch.setattr(precision, "accelerators", lambda: ("cpu", []))
    monkeypatch.setattr(precision, "cpu_flags", lambda: set(flags))


def test_train_warns_when_the_precision_is_emulated(tmp_path, monkeypatch):
    _machine(monkeypatch, {"avx2"})
    with pytest.warns(RuntimeWarning, match="mixed_bfloat16.*no native arithmetic on this machine"):
        run_cli("train", "vae", "--data", "digits", "--epochs", "1", "--out", tmp_path / "run", "--precision",
                "mixed_bfloat16", *TINY_VAE)


def test_train_precision_auto_and_jit_compile(tmp_path, monkeypatch, recwarn):
    from kzoo import training

    _machine(monkeypatch, {"avx2", "avx512_bf16"})
    compiled = {}
    real_compile = training.compile_for_training

    def spy(model, *args, **kwargs):
        real_compile(model, *args, **kwargs)
        compiled.update(jit_compile=model.jit_compile, policy=model.dtype_policy.name)

    monkeypatch.setattr(training, "compile_for_training", spy)
    out = tmp_path / "run"
    assert run_cli("train", "vae", "--data", "digits", "--epochs", "1", "--out", out, "--precision", "auto",
                   "--jit-compile", *TINY_VAE) == 0
    assert not [w for w in recwarn if issubclass(w.category, RuntimeWarning)]
    card = json.loads((out / "preset" / "card.json").read_text())
    assert compiled == {"jit_compile": True, "policy": "mixed_bfloat16"}
    assert card["precision"] == "mixed_bfloat16" and card["jit_compile"] is True
    assert np.isfinite(card["last_epoch_logs"]["loss"])


def test_train_and_eval_feed_labels_to_a_conditional_model(tmp_path, capsys):
    out = tmp_path / "run"
    status = run_cli("train", "pixelcnn", "--data", "digits", "--epochs", "1", "--batch-size", "64", "--out", out,
                     "--set", "data_shape=[8,8,1]", "--set", "filters=8", "--set", "num_blocks=1",
                     "--set", "head_units=8", "--set", "num_classes=10")
    assert status == 0
    card = json.loads((out / "preset" / "card.json").read_text())
    assert np.isfinite(card["metrics"]["validation_nll_nats"])
    model = presets.load_preset(out / "preset")
    assert model.is_conditional and model.num_classes == 10
    capsys.readouterr()
    assert run_cli("eval", out / "preset", "--split", "test", "--limit", "50", "--n-samples", "20", "--json") == 0
    result = json.loads(capsys.readouterr().out)
    assert result["n_examples"] == 50 and np.isfinite(result["nll_nats"])


def test_train_rejects_a_class_count_the_data_lacks(tmp_path, capsys):
    status = run_cli("train", "pixelcnn", "--data", "digits", "--epochs", "1", "--out", tmp_path / "run",
                     "--set", "data_shape=[8,8,1]", "--set", "filters=8", "--set", "num_blocks=1",
                     "--set", "num_classes=3")
    assert status != 0
    assert "num_classes=10" in capsys.readouterr().err
    assert not (tmp_path / "run" / "preset").exists()


def test_sample_and_eval_pass_generate_options(tmp_path, capsys):
    png = tmp_path / "cold.png"
    assert run_cli("sample", "vae-mnist", "-n", "4", "-o", png, "--option", "temperature=0.5") == 0
    assert png.is_file()
    capsys.readouterr()
    assert run_cli("eval", "vae-mnist", "--data", "digits", "--limit", "10", "--k", "2", "--n-samples", "8",
                   "--option", "temperature=0.5", "--json") != 0  # 8x8 digits do not fit a 28x28 model
    assert "28, 28, 1" in capsys.readouterr().err
    status = run_cli("sample", "vae-mnist", "-n", "4", "-o", tmp_path / "bad.png", "--option", "steps=50")
    assert status != 0
    err = capsys.readouterr().err
    assert "'steps'" in err and "temperature" in err
    assert not (tmp_path / "bad.png").exists()


def test_train_an_adversarial_model_from_the_command_line(tmp_path):
    out = tmp_path / "gan"
    status = run_cli("train", "gan", "--data", "digits", "--epochs", "1", "--batch-size", "64", "--out", out,
                     "--set", "hidden_units=[16]", "--set", "latent_dim=4")
    assert status == 0
    card = json.loads((out / "preset" / "card.json").read_text())
    logs = card["last_epoch_logs"]
    assert card["family"] == "gan" and card["metrics"] == {}
    assert all(np.isfinite(logs[key]) for key in ("d_loss", "g_loss", "d_real", "d_fake", "g_grad_norm"))
    samples = presets.load_preset(out / "preset").generate(4, seed=0)
    assert samples.shape == (4, 8, 8, 1) and 0.0 <= samples.min() and samples.max() <= 1.0


def test_train_stops_at_the_wall_time_budget(tmp_path):
    out = tmp_path / "run"
    status = run_cli("train", "vae", "--data", "digits", "--epochs", "5", "--batch-size", "256", "--out", out,
                     "--max-minutes", "0.0001", "--set", "data_shape=[8,8,1]", "--set", "filters=[8]",
                     "--set", "hidden_units=16", "--set", "latent_dim=2", "--eval-k", "2")
    assert status == 0
    card = json.loads((out / "preset" / "card.json").read_text())
    assert card["epochs"] == 1, "the first epoch already ends past a 6 ms budget"
    assert card["wall_time_seconds"] > 0


@pytest.mark.parametrize("budget", [0, -1.0, True, "10"])
def test_wall_clock_rejects_a_bad_budget(budget, tmp_path):
    from kzoo.training import WallClock

    with pytest.raises(ValueError, match="max_seconds"):
        WallClock(tmp_path / "clock.txt", max_seconds=budget)


def test_train_with_a_cosine_schedule_decays_the_rate_to_zero_over_the_epochs(tmp_path):
    from kzoo.training import train

    model, _ = train("vae", "digits", epochs=2, batch_size=256, out=tmp_path / "run", learning_rate=0.01,
                     lr_schedule="cosine", config=dict(data_shape=(8, 8, 1), filters=[8], hidden_units=16,
                                                       latent_dim=2), eval_k=2, verbose=0)
    schedule = model.optimizer._learning_rate
    steps = int(model.optimizer.iterations)
    assert steps > 0 and schedule.decay_steps == steps, "decay spans exactly the steps of the epochs"
    assert float(schedule(0)) == pytest.approx(0.01)
    assert float(schedule(steps // 2)) == pytest.approx(0.005, rel=0.05)
    assert float(schedule(steps)) == pytest.approx(0.0, abs=1e-9)
    assert float(model.optimizer.learning_rate) == pytest.approx(0.0, abs=1e-9)


def test_the_linear_schedule_holds_the_rate_for_half_the_steps_then_falls_to_zero():
    from kzoo.core.schedules import ConstantThenLinearDecay
    from kzoo.models.latent.vae import VAE
    from kzoo.training import compile_for_training

    model = VAE(data_shape=(8, 8, 1), filters=[8], hidden_units=16, latent_dim=2)
    compile_for_training(model, 0.01, 100, schedule="linear")
    schedule = model.optimizer._learning_rate
    assert isinstance(schedule, ConstantThenLinearDecay)
    assert [float(schedule(step)) for step in (0, 50, 75, 100, 150)] == pytest.approx([0.01, 0.01, 0.005, 0.0, 0.0])
    restored = keras.saving.deserialize_keras_object(keras.saving.serialize_keras_object(schedule))
    assert restored.get_config() == schedule.get_config()
    with pytest.raises(ValueError, match="decay_steps"):
        ConstantThenLinearDecay(0.01, 10, 0)


def test_cosine_schedule_needs_a_learning_rate(tmp_path):
    from kzoo.training import compile_for_training, train

    with pytest.raises(ValueError, match="learning_rate"):
        train("vae", "digits", epochs=1, out=tmp_path / "run", lr_schedule="cosine")
    with pytest.raises(ValueError, match="lr_schedule"):
        train("vae", "digits", epochs=1, out=tmp_path / "run", learning_rate=1e-3, lr_schedule="step")
    with pytest.raises(ValueError, match="'vae' has one optimizer"):
        train("vae", "digits", epochs=1, out=tmp_path / "run", learning_rate=1e-3, d_learning_rate=4e-4)
    with pytest.raises(ValueError, match="needs learning_rate"):
        train("dcgan", "digits", epochs=1, out=tmp_path / "run", d_learning_rate=4e-4)
    assert not (tmp_path / "run").exists(), "bad options leave no run folder behind"
    from kzoo.models.latent.vae import VAE

    with pytest.raises(ValueError, match="decay_steps"):
        compile_for_training(VAE(data_shape=(8, 8, 1), filters=[8], hidden_units=16, latent_dim=2), 1e-3, 0)


def test_warm_start_copies_every_weight_and_the_card_adds_up_the_wall_time(tmp_path):
    from kzoo.models.latent.vae import VAE
    from kzoo.training import warm_start

    config = ["--set", "data_shape=[8,8,1]", "--set", "filters=[8]", "--set", "hidden_units=16",
              "--set", "latent_dim=2", "--eval-k", "2"]
    first = tmp_path / "first"
    assert run_cli("train", "vae", "--data", "digits", "--epochs", "1", "--batch-size", "256", "--out", first,
                   *config) == 0
    source = presets.load_preset(first / "preset")
    fresh = VAE(data_shape=(8, 8, 1), filters=[8], hidden_units=16, latent_dim=2)
    fresh.build_for_data()
    assert warm_start(fresh, first / "preset") == {}
    for mine, theirs in zip(fresh.get_weights(), source.get_weights(), strict=True):
        np.testing.assert_array_equal(mine, theirs)
    other = VAE(data_shape=(8, 8, 1), filters=[8], hidden_units=16, latent_dim=3)
    other.build_for_data()
    with pytest.raises(ValueError, match=r"different arguments \['latent_dim'\] change the weights"):
        warm_start(other, first / "preset")
    # A training-only argument may change between stages: the weights keep their shapes.
    recipe = VAE(data_shape=(8, 8, 1), filters=[8], hidden_units=16, latent_dim=2, beta=2.0)
    recipe.build_for_data()
    assert warm_start(recipe, first / "preset") == {"beta": [1.0, 2.0]}
    np.testing.assert_array_equal(recipe.get_weights()[0], source.get_weights()[0])

    second = tmp_path / "second"
    assert run_cli("train", "vae", "--data", "digits", "--epochs", "1", "--batch-size", "256", "--out", second,
                   "--init-from", first / "preset", *config) == 0
    card = json.loads((second / "preset" / "card.json").read_text())
    assert card["init_from"]["entry"] == str(first / "preset") and card["init_from"]["epochs"] == 1
    assert "changed_arguments" not in card["init_from"] and "init_from" not in card["init_from"]
    third = tmp_path / "third"
    assert run_cli("train", "vae", "--data", "digits", "--epochs", "1", "--batch-size", "256", "--out", third,
                   "--init-from", second / "preset", *config, "--set", "beta=2.0") == 0
    stage = json.loads((third / "preset" / "card.json").read_text())["init_from"]
    assert stage["changed_arguments"] == {"beta": [1.0, 2.0]}
    assert stage["init_from"] == card["init_from"]  # every earlier stage stays on the card
    assert "--out" in card["init_from"]["command"]
    assert card["total_wall_time_seconds"] == pytest.approx(
        card["wall_time_seconds"] + card["init_from"]["wall_time_seconds"], abs=0.2)


def test_autoencoder_train_fits_code_densities_and_eval_writes_the_card(tmp_path, capsys):
    out = tmp_path / "run"
    assert run_cli("train", "ae", "--data", "digits", "--epochs", "1", "--batch-size", "64", "--out", out,
                   "--set", "data_shape=[8,8,1]", "--set", "filters=[8]", "--set", "hidden_units=16",
                   "--set", "latent_dim=3", "--set", "code_components=2") == 0
    entry = out / "preset"
    assert presets.load_preset(entry).generate(4, seed=0, code_sampler="gmm").shape == (4, 8, 8, 1)
    capsys.readouterr()
    assert run_cli("eval", entry, "--split", "test", "--n-samples", "20", "--option", "code_sampler=gmm",
                   "--write-card") == 0
    card = json.loads((entry / "card.json").read_text())
    assert card["eval_command"].startswith("kzoo eval ") and card["eval_command"].endswith("--write-card")
    metrics = card["metrics"]
    assert metrics["test_reconstruction_n_examples"] == 179 and metrics["test_reconstruction_bce_nats"] > 0
    assert metrics["sample_seconds_per_image"] > 0 and "test_parameters" not in metrics
    presets.load_preset(entry)  # the card rewrite keeps the checksum valid


def test_list_headline_skips_baselines_and_shows_only_the_summaries_of_a_many_part_report():
    from kzoo.cli import _headline

    pairs = {"test_n": 2000, "test_a_to_b_l1": 0.2, "test_a_to_b_identity_l1": 0.3, "test_mean_l1": 0.1,
             "test_min_digit_accuracy": 0.4}
    assert _headline(pairs) == "(test) mean_l1=0.1, min_digit_accuracy=0.4"
    assert _headline({"test_a_to_b_l1": 0.2, "test_a_to_b_identity_l1": 0.3}) == "(test) a_to_b_l1=0.2"
