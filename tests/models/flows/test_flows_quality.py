"""Train-to-quality checks for the flows (``-m slow``; minutes each)."""

import sys
from pathlib import Path

import numpy as np
import pytest
import keras

sys.path.insert(0, str(Path(__file__).resolve().parents[3] / "benchmarks"))
from flows_2d import true_log_density  # noqa: E402

from kzoo import data as kdata  # noqa: E402
from kzoo.models.flows import RealNVP  # noqa: E402


@pytest.mark.slow
@pytest.mark.parametrize("name, tolerance", [("two_moons", 0.1), ("8gaussians", 0.1)])
def test_neural_spline_flow_reaches_the_true_density_nll(name, tolerance):
    keras.utils.set_random_seed(0)
    train = kdata.load_numpy(name, split="train")
    test = kdata.load_numpy(name, split="test")
    model = RealNVP(data_shape=(2,), num_couplings=6, hidden_units=128, transform="spline", num_bins=16)
    epochs, batch = 15, 512
    steps = epochs * int(np.ceil(len(train) / batch))
    model.compile(optimizer=keras.optimizers.Adam(keras.optimizers.schedules.CosineDecay(2e-3, steps, alpha=0.02),
                                                  clipnorm=5.0))
    model.fit(train, batch_size=batch, epochs=epochs, verbose=0)
    nll = -model.log_prob(test, batch_size=5000).mean()
    best = -true_log_density(name, test).mean()
    assert nll < best + tolerance, (nll, best)
