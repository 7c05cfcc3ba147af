"""``kzoo probe``, end to end on tiny saved presets and mnist5k's validation split as the test set."""

import json

import pytest
from PIL import Image

from kzoo import cli
from kzoo.core import presets


def run_cli(*args):
    return cli.main([str(a) for a in args])


@pytest.fixture(scope="module")
def tiny_vae(tmp_path_factory):
    from kzoo.models.latent import VAE

    model = VAE(latent_dim=4, filters=(8, 16), hidden_units=32)
    model.build_for_data()
    return presets.save_preset(model, tmp_path_factory.mktemp("entries") / "tiny-vae")


QUICK = ("--test-data", "mnist5k", "--test-split", "validation", "--limit", "300")


def test_probe_help():
    with pytest.raises(SystemExit) as exit_info:
        run_cli("probe", "--help")
    assert exit_info.value.code == 0


def test_probe_prints_a_table_with_baselines_and_writes_a_scatter(tiny_vae, tmp_path, capsys):
    png = tmp_path / "codes.png"
    assert run_cli("probe", tiny_vae, *QUICK, "--scatter", png) == 0
    out = capsys.readouterr().out
    assert "| entry | kind | dim | logistic (all labels) | kNN (all labels) | logistic (100 labels)" in out
    assert f"| {tiny_vae} | latent | 4 |" in out and f"| {tiny_vae} | encoder_hidden | 32 |" in out
    assert "| pixels | raw | 784 |" in out and "| pixels | pca-4 | 4 |" in out and "| pixels | pca-32 | 32 |" in out
    assert "300 labels, or 100: 10 per class" in out
    scatters = sorted(tmp_path.glob("codes-*.png"))  # one per representation row
    assert [path.name.rsplit("-", 1)[-1] for path in scatters] == ["encoder_hidden.png", "latent.png"]
    assert all(Image.open(path).format == "PNG" for path in scatters)


def test_probe_json_is_the_only_stdout(tiny_vae, capsys):
    assert run_cli("probe", tiny_vae, *QUICK, "--json", "--kind", "latent", "--no-baselines") == 0
    captured = capsys.readouterr()
    result = json.loads(captured.out)
    assert [(row["entry"], row["kind"], row["dim"]) for row in result["rows"]] == [(str(tiny_vae), "latent", 4)]
    assert result["protocol"]["test"] == {"data": "mnist5k", "split": "validation", "n": 300}
    assert "encoding 300 training images" in captured.err


@pytest.fixture(scope="module")
def tiny_dcgan(tmp_path_factory):
    from kzoo.models.gan import DCGAN

    model = DCGAN(latent_dim=4, filters=(8, 4))
    model.build_for_data()
    return presets.save_preset(model, tmp_path_factory.mktemp("entries") / "tiny-dcgan")


def test_probe_errors_exit_with_status_2(tiny_vae, tiny_dcgan, tmp_path, capsys):
    assert run_cli("probe", "no-such-entry", *QUICK) == 2
    assert "kzoo probe: error:" in capsys.readouterr().err
    assert run_cli("probe", tiny_dcgan, *QUICK) == 2
    assert "DCGAN, which has no representation to probe" in capsys.readouterr().err
    assert run_cli("probe", tiny_vae, *QUICK, "--kind", "q_codes") == 2
    assert "no representation of kind 'q_codes'; its kinds are latent" in capsys.readouterr().err
    assert run_cli("probe", tiny_vae, *QUICK, "--scatter", tmp_path / "codes.jpg") == 2
    assert "must end in .png" in capsys.readouterr().err
    assert run_cli("probe", tiny_vae, "--test-data", "mnist5k", "--test-split", "validation", "--limit", "50") == 2
    assert "needs 10 examples of every class" in capsys.readouterr().err
    assert list(tmp_path.iterdir()) == []


@pytest.mark.parametrize("value", ["0", "-1", "big"])
def test_probe_rejects_a_bad_c(value, capsys):
    from kzoo import cli

    assert cli.main(["probe", "vae-mnist", "--C", value, "--limit", "20"]) == 2
    assert "--C must be 'auto' or a positive number" in capsys.readouterr().err
