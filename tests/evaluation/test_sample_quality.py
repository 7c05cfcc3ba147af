import json
import math

import numpy as np
import pytest
import tensorflow as tf

from kzoo import data
from kzoo.core.base import ExplicitModel, GenerativeModel
from kzoo.metrics import fid_from_features, kernel_inception_distance
from kzoo.evaluation.compare import DEFAULT_COLUMNS, compare, measure, save_sample_figure, to_markdown
from kzoo.evaluation.features import KerasModelFeatureExtractor
from kzoo.evaluation.sample_quality import (METRICS, ReferenceFeatures, _batch_seed, reference_features,
                                         sample_quality)
from random_features import random_extractor

RESULT_KEYS = {"fid", "kid", "kid_std", "inception_score", "inception_score_std", "precision", "recall",
               "n_samples", "n_real", "feature_extractor", "sample_seconds_per_image", "seconds"}


class ReplayModel(GenerativeModel):
    """Returns random images from a pool ("real"), uniform noise ("noise") or blank images ("blank")."""

    family = "gan"

    def __init__(self, pool, mode="real", **kwargs):
        super().__init__(data_shape=pool.shape[1:], **kwargs)
        self.pool = tf.constant(pool)
        self.mode = mode
        self.gain = self.add_weight(shape=(), initializer="ones", name="gain")

    def call(self, x, training=False):
        return x * self.gain

    def sample_batch(self, n, seed, **kwargs):
        if self.mode == "real":
            index = tf.random.stateless_uniform((n,), seed, 0, self.pool.shape[0], dtype=tf.int32)
            return tf.gather(self.pool, index)
        if self.mode == "blank":
            return tf.zeros((n,) + self.data_shape)
        return tf.random.stateless_uniform((n,) + self.data_shape, seed)


class GaussianPixels(ExplicitModel):
    """Independent Gaussian pixels N(0.5, 0.3^2): an explicit density with exact log_prob."""

    family = "flow"

    def __init__(self, **kwargs):
        super().__init__(data_shape=(28, 28, 1), **kwargs)
        self.shift = self.add_weight(shape=(), initializer="zeros", name="shift")

    def call(self, x, training=False):
        return x + self.shift

    def log_prob_batch(self, x, **kwargs):
        z = (tf.cast(x, tf.float32) - 0.5 - self.shift) / 0.3
        return tf.reduce_sum(-0.5 * z * z - math.log(0.3) - 0.5 * math.log(2 * math.pi), axis=[1, 2, 3])

    def sample_batch(self, n, seed, **kwargs):
        return tf.clip_by_value(0.5 + 0.3 * tf.random.stateless_normal((n, 28, 28, 1), seed), 0.0, 1.0)


@pytest.fixture(scope="module")
def mnist():
    reference = data.load_numpy("mnist5k", split="validation")
    pool = data.load_numpy("mnist5k", split="train")[:600]
    return reference, pool


def test_real_samples_score_better_than_noise(mnist):
    reference, pool = mnist
    extractor = random_extractor()
    ref = reference_features(reference, extractor)
    kwargs = dict(n_samples=300, extractor=extractor, batch_size=128, kid_subsets=10, verbose=False)
    real = sample_quality(ReplayModel(pool, "real"), ref, **kwargs)
    noise = sample_quality(ReplayModel(pool, "noise"), ref, **kwargs)
    assert set(real) == RESULT_KEYS
    assert real["fid"] * 20 < noise["fid"]
    assert abs(real["kid"]) < 0.05 * noise["kid"]
    assert real["precision"] > 0.8 > 0.1 > noise["precision"]
    assert real["recall"] > 0.8 > 0.1 > noise["recall"]
    for result in (real, noise):
        assert 1.0 <= result["inception_score"] <= 10.0
        assert result["n_samples"] == 300 and result["n_real"] == 500
        assert result["feature_extractor"] == "keras:random_cnn/features"
        assert result["sample_seconds_per_image"] > 0
    json.dumps(real)  # JSON-ready


def test_matches_the_batch_metrics_on_the_same_samples(mnist):
    reference, pool = mnist
    extractor = random_extractor()
    model = ReplayModel(pool, "real")
    result = sample_quality(model, reference, n_samples=250, batch_size=100, extractor=extractor,
                            metrics=("fid", "kid"), kid_subsets=5, seed=7, verbose=False)
    samples = np.concatenate([model.generate(size, seed=_batch_seed(7, i)) for i, size in enumerate((100, 100, 50))])
    # Same samples; float32 features may differ in the last bits (kernels vary with the traced batch shape).
    fake = extractor.features(samples, batch_size=100)
    real = extractor.features(reference)
    assert result["fid"] == pytest.approx(fid_from_features(real, fake), rel=1e-3)
    kid, kid_std = kernel_inception_distance(real, fake, num_subsets=5, seed=7)
    assert result["kid"] == pytest.approx(kid, rel=1e-3, abs=1e-12)
    assert result["kid_std"] == pytest.approx(kid_std, rel=1e-3, abs=1e-12)
    again = sample_quality(model, reference, n_samples=250, batch_size=100, extractor=extractor,
                           metrics=("fid", "kid"), kid_subsets=5, seed=7, verbose=False)
    assert again["fid"] == result["fid"]
    assert result["inception_score"] is None and result["precision"] is None


def test_inception_score_separates_blank_from_varied_samples(mnist):
    _, pool = mnist
    extractor = random_extractor()
    blank = sample_quality(ReplayModel(pool, "blank"), None, metrics="inception_score", n_samples=50,
                           extractor=extractor, verbose=False)
    assert blank["inception_score"] == pytest.approx(1.0, abs=1e-5)
    assert blank["n_real"] is None and blank["fid"] is None


def test_reference_cache_round_trip(mnist, tmp_path):
    reference, _ = mnist
    extractor = random_extractor()
    cache = tmp_path / "ref.npz"
    first = reference_features(reference[:100], extractor, cache=cache)
    assert cache.is_file()
    loaded = ReferenceFeatures.load(cache)
    np.testing.assert_array_equal(loaded.features, first.features)
    assert loaded.extractor == extractor.name and loaded.fingerprint == first.fingerprint
    # Same images: read from the cache (identical object contents); other images: recomputed.
    np.testing.assert_array_equal(reference_features(reference[:100], extractor, cache=cache).features,
                                  first.features)
    other = reference_features(reference[100:150], extractor, cache=cache)
    assert len(other) == 50 and len(ReferenceFeatures.load(cache)) == 50


def test_errors(mnist):
    reference, pool = mnist
    extractor = random_extractor()
    model = ReplayModel(pool, "real")
    with pytest.raises(ValueError, match="pass real_images"):
        sample_quality(model, None, extractor=extractor, verbose=False)
    with pytest.raises(ValueError, match="Unknown metric 'lpips'"):
        sample_quality(model, reference, metrics=("fid", "lpips"), extractor=extractor)
    no_head = KerasModelFeatureExtractor(extractor.model)
    with pytest.raises(ValueError, match="no class probabilities"):
        sample_quality(model, reference, extractor=no_head, verbose=False)
    ref = reference_features(reference, no_head)
    with pytest.raises(ValueError, match="features of extractor 'keras:random_cnn'"):
        sample_quality(model, ref, extractor=extractor, metrics="fid", verbose=False)
    with pytest.raises(ValueError, match=r"\(14, 14, 1\) per image"):
        sample_quality(ReplayModel(pool[:, ::2, ::2], "real"), ref, extractor=no_head, metrics="fid",
                       n_samples=10, verbose=False)
    with pytest.raises(ValueError, match="n_samples must be a positive integer, got 0"):
        sample_quality(model, ref, n_samples=0, extractor=no_head, metrics="fid")


# ------------------------------------------------------------------ compare
def test_compare_table_and_figure(tmp_path):
    extractor = random_extractor()
    pool = data.load_numpy("mnist5k", split="train")[:200]
    real = ReplayModel(pool, "real", name="replay")
    explicit = GaussianPixels(name="gauss")
    for model in (real, explicit):
        model.build_for_data()
    rows = compare([real, explicit], data="mnist5k", split="validation", n_samples=60, extractor=extractor,
                   nll_limit=50, out_dir=tmp_path, figure_samples=9, verbose=False)
    assert [row["entry"] for row in rows] == ["replay", "gauss"]
    assert rows[0]["density"] == "implicit" and rows[0]["nll_nats"] is None
    assert rows[1]["density"] == "explicit (exact)" and rows[1]["nll_estimator"] == "exact"
    assert np.isfinite(rows[1]["nll_nats"]) and rows[1]["bits_per_dim"] == pytest.approx(
        rows[1]["nll_nats"] / (784 * math.log(2)))
    assert rows[0]["fid"] < rows[1]["fid"]
    assert rows[0]["generation"] == "noise, one generator pass" and rows[1]["parameters"] == 1
    assert rows[0]["likelihood_data"] is None and rows[1]["likelihood_data"] == "8-bit levels"
    markdown = to_markdown(rows)
    header, rule, *body = markdown.splitlines()
    assert header == "| " + " | ".join(h for _, h in DEFAULT_COLUMNS) + " |"
    assert len(body[0].split("|")) == len(DEFAULT_COLUMNS) + 2
    assert body[0].startswith("| replay | gan | implicit |") and body[1].startswith("| gauss | flow |")
    assert "keras:random_cnn/features features of 60 samples vs 500 real images" in markdown
    assert (tmp_path / "comparison.md").read_text().strip() == markdown
    assert json.loads((tmp_path / "comparison.json").read_text())[1]["entry"] == "gauss"
    from PIL import Image

    with Image.open(tmp_path / "samples.png") as image:
        assert image.width > image.height > 50


def test_measure_gives_the_kzoo_eval_json_keys():
    model = GaussianPixels(name="gauss")
    model.build_for_data()
    row = measure(model, "mnist5k", "validation", n_samples=40, nll_limit=20, extractor=random_extractor(),
                  verbose=False)
    required = {"nll_nats", "bits_per_dim", "fid", "kid", "kid_std", "inception_score", "precision", "recall",
                "n_samples", "feature_extractor", "sample_seconds_per_image"}
    assert required <= set(row)
    assert all(row[key] is not None for key in required)
    assert row["n_examples"] == 20 and row["n_samples"] == 40 and row["n_real"] == 500
    assert json.loads(json.dumps(row)) == row
    implicit = measure(ReplayModel(np.zeros((4, 28, 28, 1), np.float32), "noise"), "mnist5k", "validation",
                       n_samples=20, extractor=random_extractor(), verbose=False)
    assert implicit["nll_nats"] is None and implicit["fid"] > 0
    with pytest.raises(ValueError, match=r"shape \(14, 14, 1\).*\(28, 28, 1\)"):
        measure(ReplayModel(np.zeros((4, 14, 14, 1), np.float32)), "mnist5k", "validation", verbose=False)


def test_save_sample_figure_from_arrays_and_errors(tmp_path):
    panels = {"a": np.zeros((4, 8, 8, 1)), "b": np.ones((4, 8, 8, 3))}
    path = save_sample_figure(panels, tmp_path / "fig.png")
    assert path.is_file()
    with pytest.raises(ValueError, match="end in .png"):
        save_sample_figure(panels, tmp_path / "fig.jpg")
    with pytest.raises(ValueError, match="rows is empty"):
        to_markdown([])


def test_metric_names_are_the_documented_ones():
    assert METRICS == ("fid", "kid", "inception_score", "precision", "recall")
