"""Fuzzed command lines: bad input ends in exit status 2 and one line on stderr, never a traceback."""

import contextlib
import errno
import io
import json
import os
import string
import tempfile
from pathlib import Path
from unittest import mock

import pytest
from hypothesis import HealthCheck, assume, example, given, settings
from hypothesis import strategies as st

import fuzzkit
from kzoo import cli

FAST = settings(deadline=None, max_examples=25, database=None,
                suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture])
TINY_VAE = ["--set", "data_shape=[8,8,1]", "--set", "filters=[8]", "--set", "hidden_units=8"]


class CliFailure(Exception):
    """A non-zero exit: ``str()`` is what went to stderr, ``status`` the exit status."""

    def __init__(self, status, stderr):
        super().__init__(stderr)
        self.status = status


def run(*argv):
    """Runs ``kzoo ARGV`` in-process; raises CliFailure on a non-zero status, returns stdout otherwise."""
    out, err = io.StringIO(), io.StringIO()
    with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
        try:
            status = cli.main([str(a) for a in argv])
        except SystemExit as stop:
            status = stop.code
    if status:
        raise CliFailure(status, err.getvalue())
    return out.getvalue()


def fails_clearly(argv, contains, watch=None):
    """Asserts exit status 2, a single stderr line holding ``contains``, nothing left in ``watch``."""
    failure = fuzzkit.outcome(lambda: run(*argv), errors=CliFailure, contains=contains, watch=watch)
    text = str(failure)
    assert failure.status == 2, f"exit status {failure.status}: {text}"
    assert len(text.strip().splitlines()) == 1, f"more than one line on stderr: {text}"
    assert "Traceback" not in text and " error: " in text
    return text


def train(*extra, out):
    return ["train", "vae", "--data", "digits", "--epochs", "1", "--out", out, *extra]


def no_files_in(out):
    """Asserts that a refused run left nothing behind: not a file, not even the empty output folder."""
    assert not out.exists(), f"a refused run left {out} behind: {fuzzkit.listing(out)}"


# ------------------------------------------------------------------ --set
VAE_KEYS = None


def vae_keys():
    global VAE_KEYS
    if VAE_KEYS is None:
        from kzoo.core.registry import get_model_class

        VAE_KEYS = cli.constructor_arguments(get_model_class("vae"))
    return VAE_KEYS


@FAST
@given(key=st.from_regex(r"[A-Za-z_][A-Za-z0-9_]{0,14}", fullmatch=True), value=st.text(max_size=6))
@example(key="A", value="[")  # the unknown key is reported before the malformed value
def test_unknown_set_keys(key, value):
    assume(key not in vae_keys())
    with tempfile.TemporaryDirectory() as parent:
        fails_clearly(train("--set", f"{key}={value}", out=Path(parent) / "run"),
                      contains=("kzoo train: error:", f"takes no option {key!r}", "its options are:", "latent_dim"),
                      watch=parent)


@st.composite
def typos(draw, word="latent_dim"):
    position = draw(st.integers(0, len(word) - 1))
    kind = draw(st.sampled_from(["drop", "swap", "replace", "insert"]))
    letter = draw(st.sampled_from(string.ascii_lowercase))
    if kind == "drop":
        return word[:position] + word[position + 1:]
    if kind == "swap" and position < len(word) - 1:
        return word[:position] + word[position + 1] + word[position] + word[position + 2:]
    if kind == "insert":
        return word[:position] + letter + word[position:]
    return word[:position] + letter + word[position + 1:]


@FAST
@given(key=typos())
def test_misspelt_set_keys_get_a_suggestion(key):
    assume(key not in vae_keys() and key.isidentifier())
    with tempfile.TemporaryDirectory() as parent:
        fails_clearly(train("--set", f"{key}=3", out=Path(parent) / "run"),
                      contains=(f"{key!r} (did you mean 'latent_dim'?)",), watch=parent)


@FAST
@given(pair=st.one_of(st.text(max_size=10).filter(lambda t: "=" not in t),
                      # A key holding "=" would split elsewhere ("A=" + "=" is the pair A="="): not malformed.
                      st.tuples(st.text(max_size=6).filter(lambda k: not k.isidentifier() and "=" not in k),
                                st.text(max_size=4))
                      .map("=".join)))
@example(pair="a  b")  # whitespace inside the quoted value is kept as typed
@example(pair="1 =x")
def test_malformed_set_pairs(pair):
    assume(not pair.startswith("-"))  # argparse reads those as flags
    with tempfile.TemporaryDirectory() as parent:
        fails_clearly(train("--set", pair, out=Path(parent) / "run"),
                      contains=(("expects KEY=VALUE", "is not an argument name"), repr(pair)), watch=parent)


def not_json(text):
    try:
        json.loads(text)
    except ValueError:
        return True
    return False


@FAST
@given(value=st.tuples(st.sampled_from(["[", "{", " ["]), st.text(max_size=8)).map("".join).filter(not_json))
def test_malformed_json_values(value):
    with tempfile.TemporaryDirectory() as parent:
        fails_clearly(train("--set", f"filters={value}", out=Path(parent) / "run"),
                      contains=(f"filters={value.strip()}"[:8], "does not parse", "expected e.g."), watch=parent)


@FAST
@given(value=st.one_of(st.integers(max_value=0), st.floats().filter(lambda f: not float(f).is_integer()),
                       st.booleans(), st.text(max_size=5), st.lists(st.integers(1, 3), max_size=2), st.none()))
def test_wrongly_typed_set_values(value):
    text = value if isinstance(value, str) else json.dumps(value)
    try:
        parsed = cli._parse_value(text)
    except ValueError:
        parsed = None
    assume(not (isinstance(parsed, int) and not isinstance(parsed, bool) and parsed > 0))
    with tempfile.TemporaryDirectory() as parent:
        fails_clearly(train(*TINY_VAE, f"--set=latent_dim={text}", out=Path(parent) / "run"),
                      contains=("latent_dim",))
        no_files_in(Path(parent) / "run")


def test_repeated_set_key():
    fails_clearly(train("--set", "latent_dim=2", "--set", "latent_dim=3", out="unused"),
                  contains=("latent_dim is given twice",))


# ---------------------------------------------------------- names and numbers
@FAST
@given(name=st.from_regex(r"[a-z][a-z0-9_-]{0,10}", fullmatch=True))
def test_unknown_model_names(name):
    from kzoo.core.registry import model_names

    assume(name not in model_names())
    with tempfile.TemporaryDirectory() as parent:
        fails_clearly(["train", name, "--data", "digits", "--out", Path(parent) / "run"],
                      contains=(f"Unknown model {name!r}", "Known models"), watch=parent)


@FAST
@given(flag=st.sampled_from(["--epochs", "--batch-size"]), value=st.integers(max_value=0))
def test_non_positive_counts(flag, value):
    with tempfile.TemporaryDirectory() as parent:
        fails_clearly(train(*TINY_VAE, f"{flag}={value}", out=Path(parent) / "run"),
                      contains=(flag[2:].replace("-", "_"), "must be a positive integer", str(value)))
        no_files_in(Path(parent) / "run")


@FAST
@given(flag=st.sampled_from(["--epochs", "--batch-size", "--seed", "--learning-rate", "--eval-k"]),
       value=st.text(st.characters(blacklist_categories=("Cs", "Cc")), min_size=1, max_size=6))
def test_numbers_that_do_not_parse(flag, value):
    try:
        float(value)
        assume(False)
    except ValueError:
        pass
    assume(not value.startswith("-"))
    fails_clearly(["train", "vae", "--data", "digits", f"{flag}={value}"],
                  contains=(flag, "invalid", "see `kzoo train --help`"))


@FAST
@given(rate=st.one_of(st.floats(max_value=0), st.just(float("nan")), st.just(float("inf"))))
def test_bad_learning_rates(rate):
    with tempfile.TemporaryDirectory() as parent:
        fails_clearly(train(*TINY_VAE, f"--learning-rate={rate}", out=Path(parent) / "run"),
                      contains=("learning_rate must be a positive number",))
        no_files_in(Path(parent) / "run")


def test_unknown_subcommand():
    fails_clearly(["sampel"], contains=("invalid choice: 'sampel'",))


# ------------------------------------------------------------------ sample
@pytest.fixture(scope="module")
def preset(tmp_path_factory):
    from kzoo.core import presets
    from kzoo.models.latent import VAE

    model = VAE(data_shape=(8, 8, 1), filters=(8,), hidden_units=8, latent_dim=2)
    model.build_for_data()
    return presets.save_preset(model, tmp_path_factory.mktemp("cli") / "tiny")


@settings(FAST, max_examples=12)
@given(flag=st.sampled_from(["-n", "--scale", "--seed"]), value=st.integers(-10**6, 0))
def test_sample_bad_numbers(preset, flag, value):
    assume(not (flag == "--seed" and value == 0))
    with tempfile.TemporaryDirectory() as parent:
        output = Path(parent) / "grid.png"
        fails_clearly(["sample", preset, "-o", output, f"{flag}={value}"],
                      contains=(str(value), ("must be a positive integer", "non-negative")), watch=parent)


@settings(FAST, max_examples=12)
@given(key=st.one_of(typos("temperature"), st.from_regex(r"[a-z_]{1,10}", fullmatch=True)))
def test_sample_unknown_options(preset, key):
    assume(key not in ("temperature", "batch_size", "labels"))
    with tempfile.TemporaryDirectory() as parent:
        fails_clearly(["sample", preset, "-n", "2", "-o", Path(parent) / "g.png", "--option", f"{key}=1"],
                      contains=(f"takes no option {key!r}", "its options are: batch_size, labels, temperature"),
                      watch=parent)


def refuse_mkstemp(*args, **kwargs):
    raise PermissionError(errno.EACCES, os.strerror(errno.EACCES), kwargs.get("dir"))


def disk_full_save(self, fp, *args, **kwargs):
    with open(fp, "wb") as handle:
        handle.write(b"\x89PNG partial")
    raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))


@pytest.mark.parametrize("failure", ["read-only", "disk-full"])
def test_sample_output_that_cannot_be_written(preset, tmp_path, failure):
    from PIL import Image

    from kzoo.core import imaging

    output = tmp_path / "out" / "grid.png"
    output.parent.mkdir()
    patch = (mock.patch.object(imaging.tempfile, "mkstemp", side_effect=refuse_mkstemp) if failure == "read-only"
             else mock.patch.object(Image.Image, "save", autospec=True, side_effect=disk_full_save))
    with patch:
        fails_clearly(["sample", preset, "-n", "2", "-o", output],
                      contains=(f"could not write {output}", ("Permission denied", "No space left"),
                                "no file was written"), watch=tmp_path)
    assert run("sample", preset, "-n", "2", "-o", output).startswith("Wrote 2 samples")


@pytest.mark.skipif(os.geteuid() == 0, reason="root writes into read-only folders")
def test_sample_into_a_read_only_folder(preset, tmp_path):
    tmp_path.chmod(0o555)
    try:
        fails_clearly(["sample", preset, "-n", "2", "-o", tmp_path / "grid.png"],
                      contains=("could not write", "Permission denied"), watch=tmp_path)
    finally:
        tmp_path.chmod(0o755)


def test_sample_of_a_tampered_entry(preset, tmp_path):
    import shutil

    folder = Path(shutil.copytree(preset, tmp_path / "entry"))
    config = json.loads((folder / "config.json").read_text())
    config.update(module="os", class_name="system", registered_name=None)
    (folder / "config.json").write_text(json.dumps(config))
    fails_clearly(["sample", folder, "-o", tmp_path / "g.png"],
                  contains=("does not describe a kzoo model", "system"), watch=tmp_path)
