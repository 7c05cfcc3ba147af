"""``kzoo detect`` and :func:`kzoo.analysis.detect.detect` end to end, on folders of the user's own images."""

import csv
import json

import numpy as np
import pytest
from PIL import Image

import kzoo
from kzoo import cli
from kzoo import data as kdata
from kzoo.analysis.anomaly import AnomalyDetector, CodeDensity, anomaly_scores
from kzoo.analysis.detect import detect, load_inputs

ENTRY = "independent-mnist"  # 784 parameters: scoring is instant, and inverted digits are surely unlikely


def _save_pngs(folder, images, size=None, mode="L"):
    folder.mkdir(parents=True, exist_ok=True)
    for i, image in enumerate(images):
        picture = Image.fromarray(np.rint(image[..., 0] * 255).astype(np.uint8))
        if size is not None:
            picture = picture.resize(size)
        picture.convert(mode).save(folder / f"image-{i:03d}.png")


@pytest.fixture(scope="module")
def digits_0_to_4():
    x, y = kdata.load_numpy("mnist5k", "validation", labels=True)
    return x[y < 5][:24]


@pytest.fixture()
def labelled_folder(tmp_path, digits_0_to_4):
    """``normal/`` holds 24 real digits, ``odd/`` the same digits inverted."""
    _save_pngs(tmp_path / "inputs" / "normal", digits_0_to_4)
    _save_pngs(tmp_path / "inputs" / "odd", 1.0 - digits_0_to_4)
    return tmp_path / "inputs"


def _rows(path):
    with open(path, newline="") as handle:
        return list(csv.DictReader(handle))


def test_detect_scores_a_labelled_folder_and_writes_one_row_per_image(labelled_folder, tmp_path, capsys):
    out = tmp_path / "scores.csv"
    assert cli.main(["detect", ENTRY, "--data", str(labelled_folder), "--normal-classes", "normal",
                     "--out", str(out), "--json"]) == 0
    result = json.loads(capsys.readouterr().out)
    assert result["calibration"]["source"] == "mnist5k/validation"  # the card's dataset, by default
    assert result["n"] == 48 and result["n_normal"] == 24 and result["n_outliers"] == 24
    assert result["auroc"] > 0.99 and result["detection_rate"] > 0.9
    rows = _rows(out)
    assert list(rows[0]) == ["input", "label", "outlier", "score", "flagged"]
    assert len(rows) == 48 and rows[0]["input"].startswith("normal")
    for row in rows:
        assert row["outlier"] == str(int(row["label"] == "odd"))
        assert row["flagged"] == str(int(float(row["score"]) > result["threshold"]))
    assert sum(int(row["flagged"]) for row in rows) == result["flagged"]


def test_data_dir_serves_the_named_calibration_set_beside_a_folder_of_inputs(labelled_folder, tmp_path, capsys):
    # --data-dir locates the named datasets (here the calibration set); the folder of inputs is read as it is
    assert cli.main(["detect", ENTRY, "--data", str(labelled_folder), "--normal-classes", "normal",
                     "--data-dir", str(tmp_path), "--out", str(tmp_path / "scores.csv"), "--json"]) == 0
    result = json.loads(capsys.readouterr().out)
    assert result["n"] == 48 and result["calibration"]["source"] == "mnist5k/validation"


def test_detect_resizes_and_converts_a_folder_of_the_users_own_images(digits_0_to_4, tmp_path):
    _save_pngs(tmp_path / "mine", digits_0_to_4[:5], size=(56, 56), mode="RGB")
    model = kzoo.load(ENTRY)
    inputs = load_inputs(model, tmp_path / "mine")
    assert inputs.x.shape == (5, 28, 28, 1) and inputs.labels is None
    assert set(np.unique(inputs.x)) <= {0.0, 1.0}  # binarized like the Bernoulli model's held-out data
    result = detect(model, tmp_path / "mine", calibrate="mnist5k", fpr=0.1, out=tmp_path / "mine.csv",
                    verbose=False)
    assert result["n"] == 5 and "auroc" not in result
    assert [row["input"] for row in _rows(tmp_path / "mine.csv")] == [f"image-{i:03d}.png" for i in range(5)]


def test_detect_on_a_named_dataset_with_a_known_threshold_and_a_correction(capsys, tmp_path):
    out = tmp_path / "named.csv"
    assert cli.main(["detect", ENTRY, "--data", "mnist5k", "--split", "validation", "--threshold", "150",
                     "--normal-classes", "0,1,2,3,4", "--complexity", "png", "--limit", "60", "--out", str(out)]) == 0
    printed = capsys.readouterr().out
    assert "png score in nats, threshold 150 (given)" in printed and "AUROC" in printed
    rows = _rows(out)
    assert len(rows) == 60 and rows[0]["input"] == "0"
    assert all(row["outlier"] == str(int(int(row["label"]) >= 5)) for row in rows)


def test_two_sided_scores_flag_inputs_more_likely_than_normal_data(digits_0_to_4, tmp_path, capsys):
    _save_pngs(tmp_path / "mixed" / "normal", digits_0_to_4)
    _save_pngs(tmp_path / "mixed" / "blank", np.zeros_like(digits_0_to_4))
    # NADE gives blank images ~9 nats against a median of ~98 for digits: far outside their typical band. (The
    # independent-pixel model's band is too wide: ink-heavy digits lie as far from its median as blank images.)
    argv = ["detect", "nade-mnist", "--data", str(tmp_path / "mixed"), "--normal-classes", "normal", "--json",
            "--out", str(tmp_path / "s.csv")]
    assert cli.main(argv) == 0
    one_sided = json.loads(capsys.readouterr().out)
    assert one_sided["auroc"] < 0.1 and one_sided["median"] is None  # a blank image is the likeliest input
    assert cli.main(argv + ["--two-sided"]) == 0
    two_sided = json.loads(capsys.readouterr().out)
    assert two_sided["auroc"] > 0.99 and two_sided["score"] == "raw, two-sided"
    assert two_sided["median"] is not None and two_sided["detection_rate"] == 1.0
    with pytest.raises(ValueError, match="calibrate with fit"):
        AnomalyDetector(kzoo.load(ENTRY), threshold=3.0, two_sided=True)


def test_the_typicality_guard_keeps_a_ratio_and_flags_blank_images_too(digits_0_to_4, tmp_path, capsys):
    _save_pngs(tmp_path / "mixed" / "normal", digits_0_to_4)
    _save_pngs(tmp_path / "mixed" / "blank", np.zeros_like(digits_0_to_4))
    argv = ["detect", "nade-mnist", "--data", str(tmp_path / "mixed"), "--normal-classes", "normal", "--json",
            "--reference", ENTRY, "--out", str(tmp_path / "s.csv")]
    assert cli.main(argv) == 0
    assert json.loads(capsys.readouterr().out)["auroc"] < 0.9  # the likelihood ratio alone misses many blank images
    assert cli.main(argv + ["--typicality-guard"]) == 0
    guarded = json.loads(capsys.readouterr().out)
    assert guarded["auroc"] > 0.99 and guarded["score"] == "ratio + typicality guard"
    model, reference = kzoo.load("nade-mnist"), kzoo.load(ENTRY)
    calibration = kdata.load_numpy("mnist5k", "validation", **model.data_options("test"), seed=1)
    detector = AnomalyDetector(model, reference=reference, typicality_guard=True).fit(calibration)
    # Standardized parts: the calibration's 5%-FPR points of both sit at 1, so the fused threshold is near 1.
    assert 0.9 < detector.threshold_ < 2.0 and detector.threshold_ == pytest.approx(guarded["threshold"])
    with pytest.raises(ValueError, match="exclude each other"):
        AnomalyDetector(model, two_sided=True, typicality_guard=True)
    with pytest.raises(SystemExit) as exit_info:
        cli.main(argv + ["--typicality-guard", "--two-sided"])
    assert exit_info.value.code == 2 and "not allowed with" in capsys.readouterr().err


def test_the_python_detector_gives_the_commands_threshold_and_scores(labelled_folder, tmp_path):
    model = kzoo.load(ENTRY)
    result = detect(model, labelled_folder, calibrate="mnist5k", normal_classes=["normal"], verbose=False)
    calibration = kdata.load_numpy("mnist5k", "validation", **model.data_options("test"), seed=1)
    detector = AnomalyDetector(model, fpr=0.05).fit(calibration)
    assert detector.threshold_ == pytest.approx(result["threshold"])
    inputs = load_inputs(model, labelled_folder)
    assert int(detector.predict(inputs.x).sum()) == result["flagged"]
    preset = AnomalyDetector(model, threshold=result["threshold"])
    np.testing.assert_allclose(preset.score(inputs.x), anomaly_scores(model, inputs.x))
    _, labels = kdata.load_numpy("mnist5k", "validation", labels=True)
    some = detect(model, labelled_folder, calibrate="mnist5k", calibrate_classes=["0", "1"], verbose=False)
    assert some["calibration"]["n"] == int(np.isin(labels, [0, 1]).sum())


@pytest.mark.parametrize("argv, message", [
    (["gan-mnist", "--data", "mnist5k"], "has no likelihood"),
    (["cvae-mnist", "--data", "mnist5k"], "class-conditional"),
    ([ENTRY, "--data", "mnist5k", "--split", "validation"], "is the set being scored"),
    ([ENTRY, "--data", "mnist5k", "--normal-classes", "0,12"], "class '12' is not a class of mnist5k/validation"),
    ([ENTRY, "--data", "./no/such/folder"], "does not exist"),
    ([ENTRY, "--data", "digits"], "shape (8, 8, 1)"),
    ([ENTRY, "--data", "mnist5k", "--fpr", "1.5"], "fpr"),
    ([ENTRY, "--data", "mnist5k", "--threshold", "3", "--calibrate", "mnist5k"], "exactly one of"),
    ([ENTRY, "--data", "mnist5k", "--out", "scores.txt"], "must end in .csv"),
    ([ENTRY, "--data", "mnist5k", "--code-density", "10"], "needs a model with codes"),
    (["vae-mnist", "--data", "mnist5k", "--split", "train", "--code-density", "10"], "the set being scored"),
], ids=["implicit", "conditional", "same-set", "bad-class", "missing-folder", "bad-shape", "bad-fpr",
        "threshold-and-calibrate", "bad-out", "code-density-without-codes", "code-fit-on-scored-set"])
def test_bad_input_is_one_line_and_writes_nothing(argv, message, tmp_path, monkeypatch, capsys):
    monkeypatch.chdir(tmp_path)
    assert cli.main(["detect", *argv]) == 2
    error = capsys.readouterr().err.strip().splitlines()[-1]
    assert error.startswith("kzoo detect: error:") and message in error
    assert list(tmp_path.iterdir()) == []


def test_a_folder_with_an_unreadable_file_or_a_missing_out_folder_fails_before_writing(labelled_folder, tmp_path,
                                                                                         capsys):
    missing = tmp_path / "nowhere" / "scores.csv"
    assert cli.main(["detect", ENTRY, "--data", str(labelled_folder), "--out", str(missing)]) == 2
    assert "does not exist" in capsys.readouterr().err and not missing.parent.exists()
    (labelled_folder / "normal" / "broken.png").write_bytes(b"not a png")
    out = tmp_path / "scores.csv"
    assert cli.main(["detect", ENTRY, "--data", str(labelled_folder), "--out", str(out)]) == 2
    assert "broken.png" in capsys.readouterr().err
    assert sorted(p.name for p in tmp_path.iterdir()) == ["inputs"]


def test_an_unlabelled_folder_cannot_say_which_inputs_are_normal(digits_0_to_4, tmp_path, capsys):
    _save_pngs(tmp_path / "flat", digits_0_to_4[:3])
    assert cli.main(["detect", ENTRY, "--data", str(tmp_path / "flat"), "--normal-classes", "normal",
                     "--out", str(tmp_path / "s.csv")]) == 2
    assert "needs labelled inputs" in capsys.readouterr().err
    assert not (tmp_path / "s.csv").exists()


def test_detect_scores_the_code_density_of_a_latent_entry(labelled_folder, tmp_path, capsys):
    out = tmp_path / "codes.csv"
    assert cli.main(["detect", "vae-mnist", "--data", str(labelled_folder), "--normal-classes", "normal",
                     "--code-density", "10", "--calibrate-classes", "0,1,2,3,4", "--typicality-guard", "--k", "2",
                     "--out", str(out), "--json"]) == 0
    result = json.loads(capsys.readouterr().out)
    assert result["score"] == "code + typicality guard" and result["auroc"] > 0.99
    _, labels = kdata.load_numpy("mnist5k", "validation", labels=True)
    assert result["calibration"]["n"] == int((labels < 5).sum())
    # The same from Python: the mixture is fitted to the train split's digits 0-4, the scores are -log q(E(x)).
    model = kzoo.load("vae-mnist")
    train, train_labels = kdata.load_numpy("mnist5k", "train", labels=True, **model.data_options("test"), seed=2)
    density = CodeDensity(model, components=10, seed=0).fit(train[train_labels < 5])
    inputs = load_inputs(model, labelled_folder)
    scores = detect(model, labelled_folder, calibrate="mnist5k", calibrate_classes=["0", "1", "2", "3", "4"],
                    code_density=10, code_fit="mnist5k", k=2, out=tmp_path / "again.csv", verbose=False)
    rows = _rows(tmp_path / "again.csv")
    np.testing.assert_allclose([float(row["score"]) for row in rows], -density.log_prob(inputs.x), rtol=1e-5)
    assert scores["score"] == "code"
