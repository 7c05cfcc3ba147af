"""Presets: save, find, verify and load pretrained entries."""

import json

import numpy as np
import pytest

import kzoo
from kzoo.core import catalog, presets
from kzoo.models.latent import VAE


def small_vae():
    model = VAE(data_shape=(8, 8, 1), filters=(8,), hidden_units=8, latent_dim=2)
    model.build_for_data()
    return model


def test_entries_are_found_by_name_through_kzoo_presets_dir(tmp_path, monkeypatch):
    presets.save_preset(small_vae(), tmp_path / "tiny-vae", card={"dataset": "digits", "metrics": {"nll_nats": 1.5}})
    monkeypatch.setenv("KZOO_PRESETS_DIR", str(tmp_path))
    assert "tiny-vae" in catalog.preset_names()
    listed = {e["name"]: e for e in kzoo.list_presets()}
    assert listed["tiny-vae"]["family"] == "latent" and listed["tiny-vae"]["metrics"] == {"nll_nats": 1.5}
    model = kzoo.load("tiny-vae")
    assert model.card["dataset"] == "digits"
    assert model.generate(2, seed=0).shape == (2, 8, 8, 1)


def test_unknown_entry_suggests_close_matches(tmp_path, monkeypatch):
    presets.save_preset(small_vae(), tmp_path / "tiny-vae")
    monkeypatch.setenv("KZOO_PRESETS_DIR", str(tmp_path))
    with pytest.raises(ValueError, match="Did you mean 'tiny-vae'"):
        kzoo.load("tiny-vea")


def test_missing_file_is_named(tmp_path):
    folder = presets.save_preset(small_vae(), tmp_path / "entry")
    (folder / "config.json").unlink()
    with pytest.raises(FileNotFoundError, match="missing config.json"):
        kzoo.load(folder)


def test_card_without_checksum_is_refused(tmp_path):
    folder = presets.save_preset(small_vae(), tmp_path / "entry")
    card = json.loads((folder / "card.json").read_text())
    del card["sha256"]
    (folder / "card.json").write_text(json.dumps(card))
    with pytest.raises(presets.ChecksumError, match="no sha256"):
        kzoo.load(folder)


def test_config_of_a_foreign_class_is_refused(tmp_path):
    folder = presets.save_preset(small_vae(), tmp_path / "entry")
    config = json.loads((folder / "config.json").read_text())
    config.update(class_name="NotAModel", registered_name="kzoo>NotAModel")
    (folder / "config.json").write_text(json.dumps(config))
    with pytest.raises(ValueError, match="does not describe a kzoo model"):
        kzoo.load(folder)
    config.update(class_name="Dense", registered_name=None, module="keras.layers",
                  config={"units": 2}, build_config=None)
    (folder / "config.json").write_text(json.dumps(config))
    with pytest.raises(ValueError, match="builds a Dense"):
        kzoo.load(folder)


def test_save_refuses_to_overwrite_and_leaves_nothing_on_failure(tmp_path):
    model = small_vae()
    folder = presets.save_preset(model, tmp_path / "entry")
    with pytest.raises(FileExistsError):
        presets.save_preset(model, folder)
    with pytest.raises(TypeError):
        presets.save_preset(model, tmp_path / "broken", card={"bad": object()})
    assert sorted(p.name for p in tmp_path.iterdir()) == ["entry"]


def test_unbuilt_model_is_refused(tmp_path):
    with pytest.raises(ValueError, match="not built"):
        presets.save_preset(VAE(), tmp_path / "entry")


def test_update_card_merges_metrics(tmp_path):
    folder = presets.save_preset(small_vae(), tmp_path / "entry", card={"metrics": {"a": 1.0}})
    presets.update_card(folder, metrics={"b": 2.0}, eval_command="kzoo eval entry")
    card = catalog.read_card(folder)
    assert card["metrics"] == {"a": 1.0, "b": 2.0} and card["eval_command"] == "kzoo eval entry"
    presets.verify_preset(folder)


def test_shipped_vae_entry_loads_offline_and_meets_its_card():
    if "vae-mnist" not in catalog.preset_names():
        pytest.fail("saved_models/vae-mnist is missing")
    model = kzoo.load("vae-mnist")
    images = model.generate(4, seed=0)
    assert images.shape == (4, 28, 28, 1) and images.dtype == np.float32
    np.testing.assert_array_equal(images, model.generate(4, seed=0))
    x = kzoo.data.load_numpy("mnist5k", split="validation", binarize="static")[:100]
    nll = float(-model.log_prob(x, k=10, seed=0).mean())
    assert nll < 110, f"validation NLL bound {nll:.1f} nats is far from the card's"


def test_model_trained_with_fit_alone_can_be_saved(tmp_path):
    model = VAE(data_shape=(8, 8, 1), filters=(8,), hidden_units=8, latent_dim=2)
    model.compile()
    model.fit(np.zeros((4, 8, 8, 1), np.float32), epochs=1, verbose=0)
    assert presets.load_preset(presets.save_preset(model, tmp_path / "entry")).built
