"""Fuzzed presets: tampered or broken entries are refused clearly; failed saves leave nothing behind."""

import errno
import json
import os
import shutil
import tempfile
from pathlib import Path
from unittest import mock

import keras
import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import fuzzkit
from kzoo.core import catalog, presets

FAST = settings(deadline=None, max_examples=25, database=None,
                suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture])


def small_vae():
    from kzoo.models.latent import VAE

    model = VAE(data_shape=(8, 8, 1), filters=(8,), hidden_units=8, latent_dim=2)
    model.build_for_data()
    return model


@pytest.fixture(scope="module")
def model():
    return small_vae()


@pytest.fixture(scope="module")
def good_preset(model, tmp_path_factory):
    return presets.save_preset(model, tmp_path_factory.mktemp("presets") / "good")


def copy_of(preset, parent):
    return Path(shutil.copytree(preset, Path(parent) / "entry"))


def edit_json(path, change):
    content = json.loads(path.read_text())
    change(content)
    path.write_text(json.dumps(content))


# ----------------------------------------------------------- config.json
FOREIGN = [("keras.layers", "Dense", None), ("os", "system", None), ("builtins", "eval", None),
           ("subprocess", "Popen", None), ("keras.src.models.sequential", "Sequential", None),
           ("kzoo.models.latent.vae", "__lambda__", "kzoo>VAE"), ("kzoo.models.latent.vae", "NoSuchModel", None),
           ("kzoo.models.latent.vae", "VAE", "kzoo>NoSuchModel"), ("os", "VAE", "kzoo>VAE"),
           ("keras.layers", "Lambda", None), ("kzoo.layers", "MaskedConv2D", None)]


@FAST
@given(target=st.one_of(st.sampled_from(FOREIGN),
                        st.tuples(st.one_of(st.none(), st.text(max_size=12)), st.text(max_size=12),
                                  st.one_of(st.none(), st.text(max_size=12)))),
       inner=st.sampled_from([{"command": "touch PWNED"}, {"units": 2}, {"function": {"class_name": "__lambda__"}}]))
def test_config_naming_a_foreign_class_is_refused_before_building(good_preset, target, inner):
    module, class_name, registered = target
    if class_name == "VAE" and registered in (None, "kzoo>VAE") and (module or "kzoo").split(".")[0] == "kzoo":
        return  # that is the real class
    with tempfile.TemporaryDirectory() as parent:
        folder = copy_of(good_preset, parent)
        edit_json(folder / "config.json", lambda c: c.update(module=module, class_name=class_name,
                                                             registered_name=registered, config=inner))
        built = []
        with mock.patch.object(keras.saving, "deserialize_keras_object", side_effect=lambda *a, **k: built.append(a)):
            fuzzkit.outcome(lambda: presets.load_preset(folder), errors=ValueError,
                            contains=(str(folder / "config.json"), "does not describe a kzoo model",
                                      "expected one of", "VAE"), watch=parent)
        assert not built, "nothing may be deserialized from a config that names a foreign class"
        assert not (Path.cwd() / "PWNED").exists()


json_values = st.recursive(st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(max_size=5),
                           lambda children: st.lists(children, max_size=3)
                           | st.dictionaries(st.text(max_size=5), children, max_size=3), max_leaves=8)


@FAST
@given(content=st.one_of(st.binary(max_size=60), json_values.map(lambda v: json.dumps(v).encode())))
def test_config_that_is_not_a_model_description(good_preset, content):
    with tempfile.TemporaryDirectory() as parent:
        folder = copy_of(good_preset, parent)
        (folder / "config.json").write_bytes(content)
        fuzzkit.outcome(lambda: presets.load_preset(folder), errors=ValueError,
                        contains=(str(folder / "config.json"),
                                  ("is not valid JSON text", "holds a JSON", "does not describe a kzoo model")),
                        watch=parent)


@FAST
@given(key=st.sampled_from(["latent_dim", "filters", "hidden_units", "beta", "likelihood", "data_shape", "bogus"]),
       value=st.one_of(st.integers(-3, 12), st.text(max_size=4), st.lists(st.integers(-2, 9), max_size=3),
                       st.floats(allow_nan=True), st.none(), st.booleans()))
def test_config_arguments_fuzzed(good_preset, key, value):
    original = json.loads((good_preset / "config.json").read_text())["config"]
    if original.get(key, object()) == value:
        return
    with tempfile.TemporaryDirectory() as parent:
        folder = copy_of(good_preset, parent)
        edit_json(folder / "config.json", lambda c: c["config"].update({key: value}))
        # A changed but valid argument builds a different model, whose weights then do not fit.
        fuzzkit.outcome(lambda: presets.load_preset(folder), errors=ValueError,
                        contains=((str(folder / "config.json"), str(folder / "model.weights.h5")),),
                        allow_success=key == "beta" or (key == "likelihood" and value == "bernoulli"), watch=parent)


# ------------------------------------------------------------ weights and card
@FAST
@given(cut=st.integers(0, 4000), garbage=st.binary(max_size=64), mode=st.sampled_from(["truncate", "garbage"]),
       rehash=st.booleans())
def test_broken_weights(good_preset, cut, garbage, mode, rehash):
    with tempfile.TemporaryDirectory() as parent:
        folder = copy_of(good_preset, parent)
        weights = folder / "model.weights.h5"
        content = weights.read_bytes()
        weights.write_bytes(content[: min(cut, len(content) - 1)] if mode == "truncate" else garbage)
        if rehash:  # a card rewritten to match: the checksum passes, the file still cannot load
            edit_json(folder / "card.json", lambda c: c.update(sha256=presets.sha256_of(weights)))
            fuzzkit.outcome(lambda: presets.load_preset(folder), errors=ValueError,
                            contains=(f"Could not load {weights} into VAE", "expected the weights file"),
                            watch=parent)
        else:
            err = fuzzkit.outcome(lambda: presets.load_preset(folder), errors=presets.ChecksumError,
                                  contains=(str(weights), presets.sha256_of(weights), "corrupt or was replaced"),
                                  watch=parent)
            assert isinstance(err, ValueError)


@FAST
@given(sha=st.one_of(st.none(), st.integers(), st.text(max_size=70), st.lists(st.integers(), max_size=2),
                     st.text("0123456789abcdef", min_size=64, max_size=64)))
def test_card_sha256_fuzzed(good_preset, sha):
    with tempfile.TemporaryDirectory() as parent:
        folder = copy_of(good_preset, parent)
        edit_json(folder / "card.json", lambda c: c.update(sha256=sha) if sha is not None else c.pop("sha256"))
        fuzzkit.outcome(lambda: presets.load_preset(folder), errors=presets.ChecksumError,
                        contains=(str(folder), ("no sha256", "field 'sha256' is", "corrupt or was replaced")),
                        watch=parent)


@FAST
@given(content=st.one_of(st.binary(max_size=40), json_values.filter(lambda v: not isinstance(v, dict))
                         .map(lambda v: json.dumps(v).encode())))
def test_card_that_is_not_an_object(good_preset, content):
    with tempfile.TemporaryDirectory() as parent:
        folder = copy_of(good_preset, parent)
        (folder / "card.json").write_bytes(content)
        fuzzkit.outcome(lambda: presets.load_preset(folder), errors=ValueError,
                        contains=(str(folder / "card.json"), "expected a JSON object of card fields"), watch=parent)


@FAST
@given(drop=st.sets(st.sampled_from(["name", "model", "family", "parameters", "versions", "created"])))
def test_card_with_missing_descriptive_fields_still_loads(good_preset, drop):
    with tempfile.TemporaryDirectory() as parent:
        folder = copy_of(good_preset, parent)
        edit_json(folder / "card.json", lambda c: [c.pop(k) for k in drop])
        loaded = fuzzkit.outcome(lambda: presets.load_preset(folder), errors=(), allow_success=True, watch=parent)
        assert loaded.card.get("sha256") and not set(drop) & set(loaded.card)


@pytest.mark.parametrize("missing", catalog.PRESET_FILES)
def test_missing_file_is_named(good_preset, tmp_path, missing):
    folder = copy_of(good_preset, tmp_path)
    (folder / missing).unlink()
    fuzzkit.outcome(lambda: presets.load_preset(folder), errors=FileNotFoundError, contains=(missing, str(folder)),
                    watch=tmp_path)


def test_missing_folder_is_an_unknown_entry(tmp_path):
    fuzzkit.outcome(lambda: presets.load_preset(tmp_path / "nothing-here"), errors=ValueError,
                    contains=("Unknown pretrained entry", "nothing-here", "Known entries"), watch=tmp_path)


# ------------------------------------------------------------------ saving
def failing(err_no, after_bytes=0):
    """A side effect that writes ``after_bytes`` bytes of junk to the target (if a path is given), then fails."""

    def fail(self_or_path, *args, **kwargs):
        target = self_or_path if isinstance(self_or_path, (str, os.PathLike)) else (args[0] if args else None)
        if after_bytes and target is not None and isinstance(target, (str, os.PathLike)):
            with open(target, "wb") as handle:
                handle.write(b"\0" * after_bytes)
        raise OSError(err_no, os.strerror(err_no))

    return fail


STEPS = {
    # read-only parent folder: the temporary folder cannot be made
    "mkdtemp": lambda e: mock.patch.object(presets.tempfile, "mkdtemp", side_effect=OSError(e, os.strerror(e))),
    "config": lambda e: mock.patch.object(Path, "write_text", autospec=True, side_effect=failing(e, 10)),
    "weights": lambda e: mock.patch.object(keras.Model, "save_weights", autospec=True, side_effect=failing(e, 100)),
    "checksum": lambda e: mock.patch.object(presets, "sha256_of", side_effect=OSError(e, os.strerror(e))),
    "rename": lambda e: mock.patch.object(presets.os, "replace", side_effect=OSError(e, os.strerror(e))),
}


@FAST
@given(step=st.sampled_from(sorted(STEPS)), err_no=st.sampled_from([errno.ENOSPC, errno.EACCES, errno.EROFS,
                                                                     errno.EDQUOT, errno.EIO]),
       overwrite=st.booleans())
def test_failed_save_leaves_nothing_behind(model, good_preset, step, err_no, overwrite):
    with tempfile.TemporaryDirectory() as parent:
        target = Path(parent) / "entry"
        if overwrite:
            shutil.copytree(good_preset, target)
            old_sha = presets.sha256_of(target / "model.weights.h5")
        with STEPS[step](err_no):
            err = fuzzkit.outcome(lambda: presets.save_preset(model, target, overwrite=overwrite), errors=OSError,
                                  contains=(f"Could not save the preset to {target}", os.strerror(err_no),
                                            "Nothing was written there"), watch=parent)
        assert err.errno == err_no
        if err_no == errno.EACCES:
            assert isinstance(err, PermissionError)
        if overwrite:  # the existing preset is untouched
            assert presets.sha256_of(target / "model.weights.h5") == old_sha
            assert presets.verify_preset(target)[0] == target


@pytest.mark.skipif(os.geteuid() == 0, reason="root writes into read-only folders")
def test_save_into_a_read_only_folder(model, tmp_path):
    readonly = tmp_path / "ro"
    readonly.mkdir()
    readonly.chmod(0o555)
    try:
        with pytest.raises(PermissionError, match="Could not save the preset"):
            presets.save_preset(model, readonly / "entry")
        assert list(readonly.iterdir()) == []
    finally:
        readonly.chmod(0o755)


def test_failed_card_update_keeps_the_old_card(good_preset, tmp_path):
    folder = copy_of(good_preset, tmp_path)
    before = (folder / "card.json").read_text()
    with mock.patch.object(Path, "write_text", autospec=True, side_effect=failing(errno.ENOSPC, 5)):
        fuzzkit.outcome(lambda: presets.update_card(folder, epochs=3), errors=OSError,
                        contains=(str(folder / "card.json"), "No space left", "previous card was kept"),
                        watch=tmp_path)
    assert (folder / "card.json").read_text() == before
    presets.update_card(folder, epochs=3)
    assert json.loads((folder / "card.json").read_text())["epochs"] == 3
    assert sorted(os.listdir(folder)) == sorted(catalog.PRESET_FILES)


def test_a_good_preset_loads(good_preset, model):
    loaded = presets.load_preset(good_preset)
    x = np.random.default_rng(0).random((2, 8, 8, 1))
    np.testing.assert_allclose(loaded.encode(x), model.encode(x), atol=1e-6)
