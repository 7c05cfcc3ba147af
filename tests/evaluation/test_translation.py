"""Translation scored against exact targets: an oracle scores perfectly, the identity scores as the baseline."""

import numpy as np
import pytest

from kzoo import cli
from kzoo.data import domains
from kzoo.evaluation.translation import stack_translation_report, translation_report


class Oracle:
    """Translates with the very transforms that made the domains."""

    def translate(self, x, direction, batch_size=256):
        del batch_size
        return domains.set_slant(x, domains.RIGHT_SLANT if direction == "a_to_b" else domains.LEFT_SLANT)


class Identity:
    def translate(self, x, direction, batch_size=256):
        del direction, batch_size
        return np.asarray(x)


class StackOracle:
    """Knows every held-out stack: sends an image to its own digit's image of the target domain."""

    domain_names = domains.FIVE_DOMAINS

    def __init__(self, stacks):
        self.stacks = stacks
        self.index = {stack[..., k].tobytes(): i for i, stack in enumerate(stacks) for k in range(stacks.shape[-1])}

    def translate(self, x, target, batch_size=256):
        del batch_size
        return np.stack([self.stacks[self.index[image[..., 0].tobytes()], ..., target:target + 1] for image in x])


class StackIdentity(Identity):
    domain_names = domains.FIVE_DOMAINS


@pytest.fixture(scope="module")
def stack_reports():
    from kzoo import data as kdata

    stacks = kdata.load_numpy("domains-five", "validation")[:60]
    return {name: stack_translation_report(model, "domains-five", "validation", limit=60, verbose=False)
            for name, model in (("oracle", StackOracle(stacks)), ("identity", StackIdentity()))}


def test_every_pair_of_many_domains_is_scored_against_its_exact_target(stack_reports):
    oracle, identity = stack_reports["oracle"], stack_reports["identity"]
    pairs = [(s, t) for s in domains.FIVE_DOMAINS for t in domains.FIVE_DOMAINS if s != t]
    assert len(pairs) == 20 and oracle["n"] == 60
    for s, t in pairs:
        key = f"{s}_to_{t}"
        assert oracle[f"{key}_l1"] == 0.0 == oracle[f"{key}_cycle_l1"]
        assert oracle[f"{key}_domain_accuracy"] == oracle[f"{t}_target_domain_accuracy"]
        assert oracle[f"{key}_digit_accuracy"] == oracle[f"{t}_target_digit_accuracy"]
        assert abs(oracle[f"{key}_fid"]) < 1e-3 and oracle[f"{key}_slant_error"] == 0.0
        assert identity[f"{key}_l1"] == pytest.approx(identity[f"{key}_identity_l1"])
        assert identity[f"{key}_l1"] > 0.0
    assert oracle["mean_target_domain_accuracy"] > 0.8  # the independent judge knows the domains
    # the identity leaves each image in its own domain: the judge rarely puts it in the target
    assert identity["mean_domain_accuracy"] < 0.3 < oracle["min_domain_accuracy"]
    assert oracle["min_digit_accuracy"] <= oracle["mean_digit_accuracy"]


def test_a_stack_report_takes_chosen_pairs_and_rejects_others():
    report = stack_translation_report(StackIdentity(), "domains-five", "validation", limit=10, verbose=False,
                                      pairs=[("thin", "thick")])
    assert "thin_to_thick_l1" in report and "thick_to_thin_l1" not in report
    with pytest.raises(ValueError, match="pairs must be"):
        stack_translation_report(StackIdentity(), "domains-five", "validation", limit=10, pairs=[("thin", "thin")])
    with pytest.raises(ValueError, match="the model translates between"):
        stack_translation_report(Identity(), "domains-five", "validation", limit=10)
    with pytest.raises(ValueError, match="unpaired"):
        translation_report(StackIdentity(), "domains-five", "train")


@pytest.fixture(scope="module")
def reports():
    return {name: translation_report(model, "domains-slant", "validation", limit=120, verbose=False)
            for name, model in (("oracle", Oracle()), ("identity", Identity()))}


def test_an_oracle_reaches_the_targets_and_the_identity_scores_the_baseline(reports):
    oracle, identity = reports["oracle"], reports["identity"]
    assert oracle["n"] == 120 and oracle["attribute"] == "slant"
    for d in ("a_to_b", "b_to_a"):
        assert oracle[f"{d}_l1"] < 0.1 * oracle[f"{d}_identity_l1"]  # slanting back and forth is not lossless
        assert oracle[f"{d}_attribute_error"] < 0.02 < oracle[f"{d}_identity_attribute_error"]
        assert oracle[f"{d}_attribute_median"] == pytest.approx(oracle[f"{d}_target_attribute_median"], abs=0.01)
        assert oracle[f"{d}_fid"] < 0.2 * oracle[f"{d}_identity_fid"]
        assert oracle[f"{d}_digit_accuracy"] == pytest.approx(oracle[f"{d}_target_digit_accuracy"], abs=0.03)
        for key in ("l1", "fid", "digit_accuracy", "attribute_error"):
            assert identity[f"{d}_{key}"] == pytest.approx(identity[f"{d}_identity_{key}"])
        assert identity[f"{d}_cycle_l1"] == 0.0
    assert reports["identity"]["a_to_b_identity_l1"] == pytest.approx(oracle["a_to_b_identity_l1"])


def test_only_the_paired_splits_of_pair_datasets_are_scored():
    with pytest.raises(ValueError, match="pair or stack dataset"):
        translation_report(Identity(), "mnist5k", "validation")
    with pytest.raises(ValueError, match="unpaired"):
        translation_report(Identity(), "domains-thickness", "train")


def _check_cyclegan_row(row):
    assert row["attribute"] == "slant"
    assert 0.0 < row["a_to_b_l1"] < 1.0 and row["b_to_a_identity_l1"] > 0.0


def _check_stargan_row(row):
    assert row["domains"] == list(domains.FIVE_DOMAINS)
    assert 0.0 < row["mean_l1"] < 1.0 and 0.0 <= row["min_domain_accuracy"] <= row["mean_domain_accuracy"] <= 1.0


@pytest.mark.parametrize("name, dataset, check", [("CycleGAN", "domains-slant", _check_cyclegan_row),
                                                  ("StarGAN", "domains-five", _check_stargan_row)])
def test_kzoo_eval_scores_a_translation_preset_against_the_targets(name, dataset, check, tmp_path, capsys):
    import json

    from kzoo.core.presets import save_preset
    from kzoo.models import gan

    model = getattr(gan, name)(filters=4, residual_blocks=1, discriminator_filters=(4, 8))
    model.build_for_data()
    folder = save_preset(model, tmp_path / "entry", card={"dataset": dataset})
    assert cli.main(["eval", str(folder), "--split", "validation", "--limit", "20", "--json"]) == 0
    row = json.loads(capsys.readouterr().out)
    assert row["model"] == name.lower() and row["n"] == 20
    check(row)


def test_kzoo_sample_draws_the_translation_grid_of_held_out_stacks(tmp_path, capsys):
    from PIL import Image

    from kzoo.core.presets import save_preset
    from kzoo.models.gan import StarGAN

    model = StarGAN(filters=4, residual_blocks=1, discriminator_filters=(4, 8))
    model.build_for_data()
    folder = save_preset(model, tmp_path / "entry", card={"dataset": "domains-five"})
    out = tmp_path / "grid.png"
    assert cli.main(["sample", str(folder), "-n", "3", "-o", str(out), "--scale", "1"]) == 0
    assert "3 translated examples" in capsys.readouterr().out
    width, height = Image.open(out).size
    assert (width, height) == (6 * 28 + 5 * 2, 3 * 28 + 2 * 2)  # a row per stack: its image and five translations
    bare = save_preset(model, tmp_path / "bare")
    assert cli.main(["sample", str(bare), "-n", "3", "-o", str(tmp_path / "no.png")]) != 0
    assert "card names none" in capsys.readouterr().err and not (tmp_path / "no.png").exists()
