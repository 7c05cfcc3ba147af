"""Translation scored against exact targets: an oracle scores perfectly, the identity scores as the baseline."""

import numpy as np
import pytest

from kzoo import cli
from kzoo.data import domains
from kzoo.evaluation.translation import translation_report


class Oracle:
    """Translates with the very transforms that made the domains."""

    def translate(self, x, direction, batch_size=256):
        del batch_size
        return domains.set_slant(x, domains.RIGHT_SLANT if direction == "a_to_b" else domains.LEFT_SLANT)


class Identity:
    def translate(self, x, direction, batch_size=256):
        del direction, batch_size
        return np.asarray(x)


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
    with pytest.raises(ValueError, match="pair dataset"):
        translation_report(Identity(), "mnist5k", "validation")
    with pytest.raises(ValueError, match="unpaired"):
        translation_report(Identity(), "domains-thickness", "train")


def test_kzoo_eval_scores_a_cyclegan_preset_against_the_targets(tmp_path, capsys):
    import json

    from kzoo.core.presets import save_preset
    from kzoo.models.gan import CycleGAN

    model = CycleGAN(filters=4, residual_blocks=1, discriminator_filters=(4, 8))
    model.build_for_data()
    folder = save_preset(model, tmp_path / "entry", card={"dataset": "domains-slant"})
    assert cli.main(["eval", str(folder), "--split", "validation", "--limit", "50", "--json"]) == 0
    row = json.loads(capsys.readouterr().out)
    assert row["model"] == "cyclegan" and row["n"] == 50 and row["attribute"] == "slant"
    assert 0.0 < row["a_to_b_l1"] < 1.0 and row["b_to_a_identity_l1"] > 0.0
