"""``kzoo sample --out-dir`` and ``kzoo eval --samples-dir`` end to end, on the shipped ``vae-mnist`` entry."""

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest

from kzoo import cli
from kzoo.evaluation import sample_folder as sf
from kzoo.evaluation.sample_quality import to_uint8

REPO = Path(__file__).resolve().parents[1]
ENTRY = "vae-mnist"
#: Keeps the likelihood part of ``kzoo eval`` short: the quality metrics are what these tests compare.
QUICK_NLL = ("--data", "mnist5k", "--limit", "10", "--k", "2")


def run_cli(*args):
    return cli.main([str(a) for a in args])


def eval_json(capsys, *args):
    capsys.readouterr()
    assert run_cli("eval", *args, "--json") == 0, capsys.readouterr().err
    return json.loads(capsys.readouterr().out)


def folder_pixels(folder):
    return to_uint8(np.concatenate(list(sf.open_sample_folder(folder).batches(100))))


def test_folder_scores_equal_kzoo_eval_drawing_the_same_samples(tmp_path, capsys):
    drawn = eval_json(capsys, ENTRY, *QUICK_NLL, "--n-samples", 200, "--seed", 4)
    assert drawn["samples_source"] == "model" and drawn["n_samples"] == 200
    for fmt in ("png", "npz"):
        out = tmp_path / fmt
        assert run_cli("sample", ENTRY, "-n", 200, "--seed", 4, "--out-dir", out, "--format", fmt) == 0
        printed = capsys.readouterr().out
        assert f"Wrote 200 samples of {ENTRY} to {out} ({fmt}, 2 chunks of up to 100" in printed
        assert "200/200" in printed  # the progress bar
        scored = eval_json(capsys, ENTRY, *QUICK_NLL, "--samples-dir", out, "--seed", 4)
        for key in ("fid", "kid", "kid_std", "inception_score", "precision", "recall", "nll_nats"):
            assert scored[key] == pytest.approx(drawn[key], rel=1e-6), (fmt, key)
        assert scored["samples_source"] == "folder" and scored["samples_dir"] == str(out.resolve())
        assert scored["samples_format"] == fmt and scored["n_samples"] == 200
        assert scored["samples_manifest"]["entry"] == ENTRY and scored["samples_manifest"]["seed"] == 4
    # Without an entry: the sample metrics alone, against the dataset the manifest names (mnist5k).
    alone = eval_json(capsys, "--samples-dir", tmp_path / "png", "--seed", 4)
    assert alone["fid"] == pytest.approx(drawn["fid"], rel=1e-6) and "nll_nats" not in alone
    assert alone["dataset"] == "mnist5k" and alone["split"] == "validation" and alone["entry"] == ENTRY
    first = eval_json(capsys, "--samples-dir", tmp_path / "npz", "--n-samples", 100, "--seed", 4)
    assert first["n_samples"] == 100
    assert first["fid"] == pytest.approx(
        eval_json(capsys, ENTRY, *QUICK_NLL, "--n-samples", 100, "--seed", 4)["fid"], rel=1e-6)


def test_a_killed_sample_run_resumes_with_the_samples_of_an_uninterrupted_run(tmp_path, capsys):
    out = tmp_path / "samples"
    command = [sys.executable, "-m", "kzoo.cli", "sample", ENTRY, "-n", "2000", "--chunk-size", "10", "--seed", "2",
               "--out-dir", str(out)]
    env = dict(os.environ, PYTHONPATH=os.pathsep.join([str(REPO), os.environ.get("PYTHONPATH", "")]))
    process = subprocess.Popen(command, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    manifest = None
    try:
        deadline = time.monotonic() + 600  # a guard against a hung child, not a timing assertion
        while time.monotonic() < deadline and process.poll() is None:
            manifest = sf.read_manifest(out)  # replaced atomically: never seen half-written
            if manifest and manifest["chunks_complete"] >= 3:
                break
            time.sleep(0.02)
        os.kill(process.pid, signal.SIGKILL)
    finally:
        process.wait()
    killed = sf.read_manifest(out)
    assert killed is not None and 3 <= killed["chunks_complete"] < 200, "the run was not killed midway"
    committed = killed["samples_complete"]
    names = sorted(p.name for p in out.iterdir() if not p.name.startswith("."))
    # Only complete chunks: the committed files, plus at most the files of the chunk being moved into place.
    assert names[0] == sf.MANIFEST and names[1:] == [f"sample-{i:08d}.png" for i in range(len(names) - 1)]
    assert committed <= len(names) - 1 <= committed + 10
    assert sf.open_sample_folder(out).n == committed

    assert run_cli("sample", ENTRY, "-n", 2000, "--chunk-size", 10, "--seed", 2, "--out-dir", out) == 0
    assert f"resumed after {committed} samples" in capsys.readouterr().out
    assert sorted(p.name for p in out.iterdir()) == [sf.MANIFEST] + [f"sample-{i:08d}.png" for i in range(2000)]
    import kzoo

    model = kzoo.load(ENTRY)
    expected = np.concatenate([to_uint8(model.generate(size, seed=sf.chunk_seed(2, i)))
                               for i, size in enumerate(sf.chunk_sizes(2000, 10))])
    np.testing.assert_array_equal(folder_pixels(out), expected)


def listing(folder):
    return {str(p.relative_to(folder)): p.read_bytes() for p in sorted(Path(folder).rglob("*")) if p.is_file()}


@pytest.fixture(scope="module")
def small_folder(tmp_path_factory):
    out = tmp_path_factory.mktemp("folder") / "samples"
    assert run_cli("sample", ENTRY, "-n", 30, "--chunk-size", 10, "--seed", 1, "--out-dir", out) == 0
    return out


SAME = ("-n", 30, "--chunk-size", 10, "--seed", 1)  # the command that wrote small_folder


@pytest.mark.parametrize("args, message", [
    (["-n", 0, "--chunk-size", 10, "--seed", 1], "-n must be a positive integer, got 0"),
    (["-n", -5], "-n must be a positive integer, got -5"),
    (["-n", 30, "--chunk-size", 0], "--chunk-size must be a positive integer, got 0"),
    (["-n", 30, "--chunk-size", 10, "--seed", 2], r"with seed \(--seed\) 1 .* asks for 2"),
    ([*SAME, "--option", "temperature=0.5"],
     r"generate options \(--option\) \{\} .* asks for \{'temperature': 0.5\}"),
    (["-n", 30, "--chunk-size", 5, "--seed", 1], r"chunk size \(--chunk-size\) 10 .* asks for 5"),
    ([*SAME, "--format", "npz"], r"format \(--format\) 'png' .* asks for 'npz'"),
    ([*SAME, "--scale", 3], "--scale 3 applies to the -o grid"),
    (["-n", 20, "--chunk-size", 10, "--seed", 1], r"holds 30 complete samples .*expected -n >= 30"),
])
def test_sample_to_a_folder_refuses_bad_input_and_changes_nothing(small_folder, args, message, capsys):
    import re

    before = listing(small_folder)
    capsys.readouterr()
    assert run_cli("sample", ENTRY, "--out-dir", small_folder, *args) == 2
    err = capsys.readouterr().err
    assert err.startswith("kzoo sample: error: ") and re.search(message, err), err
    assert listing(small_folder) == before


def test_sample_into_the_folder_of_another_entry_is_refused(small_folder, capsys):
    before = listing(small_folder)
    capsys.readouterr()
    # The same architecture with other weights: told apart by the weights' sha256.
    assert run_cli("sample", "beta-vae-4-mnist", "--out-dir", small_folder, *SAME) == 2
    err = capsys.readouterr().err
    assert f"holds samples of '{ENTRY}' with weights (sha256) " in err and "(entry 'beta-vae-4-mnist')" in err
    assert listing(small_folder) == before


def test_sample_to_a_file_or_a_foreign_folder_is_refused(tmp_path, capsys):
    a_file = tmp_path / "samples.txt"
    a_file.write_text("x")
    assert run_cli("sample", ENTRY, "-n", 5, "--out-dir", a_file) == 2
    assert f"--out-dir '{a_file}' is a file; expected a folder" in capsys.readouterr().err
    foreign = tmp_path / "photos"
    foreign.mkdir()
    (foreign / "cat.png").write_bytes(b"not really")
    assert run_cli("sample", ENTRY, "-n", 5, "--out-dir", foreign) == 2
    assert "holds 1 files (cat.png) but no kzoo-samples.json" in capsys.readouterr().err
    assert run_cli("sample", ENTRY, "-n", 5, "-o", tmp_path / "g.png", "--format", "npz") == 2
    assert "--format npz applies to --out-dir DIR" in capsys.readouterr().err
    assert run_cli("sample", ENTRY, "-n", 0, "--out-dir", tmp_path / "new") == 2
    assert "-n must be a positive integer, got 0" in capsys.readouterr().err
    assert not (tmp_path / "new").exists() and not (tmp_path / "g.png").exists()
    assert listing(foreign) == {"cat.png": b"not really"}


def test_eval_of_a_folder_refuses_bad_input(small_folder, tmp_path, capsys):
    def fails(*args):
        capsys.readouterr()
        assert run_cli("eval", *args) == 2
        return capsys.readouterr().err

    empty = tmp_path / "empty"
    empty.mkdir()
    assert "holds no samples" in fails(ENTRY, "--samples-dir", empty)
    assert "does not exist" in fails(ENTRY, "--samples-dir", tmp_path / "nowhere")
    assert "needs ENTRY_OR_DIR" in fails()
    assert "--write-card" in fails(ENTRY, "--samples-dir", small_folder, "--write-card")
    assert "are already drawn" in fails(ENTRY, "--samples-dir", small_folder, "--option", "temperature=0.5")
    assert "n_samples=31 but" in fails("--samples-dir", small_folder, "--n-samples", "31")
    err = fails("iwae-mnist", *QUICK_NLL, "--samples-dir", small_folder)
    assert f"holds samples of '{ENTRY}'" in err and "not of 'iwae-mnist'" in err
    own = tmp_path / "own"
    own.mkdir()
    from PIL import Image

    Image.fromarray(np.zeros((8, 8), np.uint8)).save(own / "a.png")
    assert "pass --data" in fails("--samples-dir", own)
    assert "a.png is 8x8 with 1 channel(s), but the samples must be 28x28" in fails("--samples-dir", own, "--data",
                                                                                   "mnist5k")
