"""Attribute scores, latent directions and interpolation grids.

The attribute measures are checked on rendered bars of known width and
shear and on real digits (topology of the skeleton); the latent tools on a
generator whose first code coordinate sets the stroke width and whose second
sets the slant, so the right directions are known."""

import numpy as np
import pytest
from scipy import ndimage

from kzoo import data as kdata
from kzoo.analysis import arithmetic as ar
from kzoo.data import measures
from kzoo.core import interpolation as interp

SIZE = 28


def bar(width, shear=0.0, length=18):
    """A vertical bar of the given width, sheared so that its top moves right by ``shear`` per row."""
    rows = np.arange(SIZE, dtype=np.float64)[:, None]
    cols = np.arange(SIZE, dtype=np.float64)[None, :]
    centre = 13.5 + shear * (13.5 - rows)
    image = np.clip(width / 2.0 - np.abs(cols - centre) + 0.5, 0.0, 1.0)
    outside = (np.arange(SIZE) < 14 - length / 2) | (np.arange(SIZE) >= 14 + length / 2)
    image[outside] = 0.0
    return image[..., None].astype(np.float32)


class BarGenerator:
    """z[0] sets the stroke width (2 to 5 px), z[1] the slant; z[2:] are ignored."""

    latent_dim = 4

    def __init__(self):
        self.calls = 0

    def decode(self, z):
        self.calls += 1
        z = np.asarray(z)
        widths = 3.5 + 1.5 * np.tanh(z[:, 0] / 1.5)
        shears = 0.5 * np.tanh(z[:, 1] / 1.5)
        return np.stack([bar(w, s) for w, s in zip(widths, shears)])


def test_thickness_reads_the_width_of_bars():
    widths = [1.5, 2.0, 3.0, 4.0, 5.0, 6.0]
    upright = measures.stroke_thickness(np.stack([bar(w) for w in widths]))
    np.testing.assert_allclose(upright, widths, rtol=0.1)
    assert np.all(np.diff(upright) > 0)
    for shear in (-0.4, 0.3, 0.5, 1.0):  # perpendicular width 3 / sqrt(1 + shear^2)
        assert measures.stroke_thickness(bar(3.0, shear)[None])[0] == pytest.approx(3 / np.hypot(1, shear), rel=0.15)
    assert measures.stroke_thickness(bar(3.0, length=10)[None])[0] == pytest.approx(3.0, rel=0.05)
    assert measures.stroke_thickness(np.zeros((1, SIZE, SIZE, 1)))[0] == 0.0
    blob = np.zeros((1, SIZE, SIZE))
    blob[0, 10:13, 10:13] = 1.0
    assert measures.stroke_thickness(blob)[0] == pytest.approx(3.0)  # a 3x3 blob thins to one pixel: sqrt(9)


def test_slant_is_the_shear_and_flips_with_a_mirror():
    shears = np.array([-0.4, 0.0, 0.25, 0.5, 1.0])
    images = np.stack([bar(3.0, s) for s in shears])
    np.testing.assert_allclose(measures.slant(images), shears, atol=1e-6)
    digits = kdata.load_numpy("mnist5k", "validation")[:100]
    np.testing.assert_allclose(measures.slant(digits[:, :, ::-1]), -measures.slant(digits), atol=1e-9)
    np.testing.assert_allclose(measures.slant(digits[:, ::-1]), -measures.slant(digits), atol=1e-9)
    assert measures.slant(np.zeros((1, SIZE, SIZE)))[0] == 0.0


def test_skeleton_keeps_the_topology_of_real_digits():
    binary = kdata.load_numpy("mnist5k", "validation")[..., 0] > 0.5
    skeleton = measures.skeletonize(binary)
    assert not np.any(skeleton & ~binary)
    eight = np.ones((3, 3))
    for image, thin in zip(binary, skeleton):
        assert ndimage.label(image, eight)[1] == ndimage.label(thin, eight)[1]  # components
        assert ndimage.label(~image)[1] == ndimage.label(~thin)[1]  # holes (4-connected background)
    # One pixel wide: 2x2 blocks survive only where strokes cross (1 in 500 digits here).
    blocks = skeleton[:, :-1, :-1] & skeleton[:, 1:, :-1] & skeleton[:, :-1, 1:] & skeleton[:, 1:, 1:]
    assert blocks.sum() <= 0.001 * skeleton.sum()
    line = np.zeros((1, 9, 9), bool)
    line[0, 1:8, 4] = True
    np.testing.assert_array_equal(measures.skeletonize(line), line)
    length, ends = measures.skeleton_length(line)
    assert (length[0], ends[0]) == (6.0, 2)


def test_attribute_scores_and_errors():
    images = np.stack([bar(2.0), bar(4.0, 0.5)])
    scores = measures.attribute_scores(images, ("thickness", "slant", "ink"))
    assert set(scores) == {"thickness", "slant", "ink"}
    np.testing.assert_allclose(scores["ink"], images.sum(axis=(1, 2, 3)), rtol=1e-6)
    with pytest.raises(ValueError, match="Unknown attributes.*stroke"):
        measures.attribute_scores(images, ("stroke",))
    with pytest.raises(ValueError, match=r"expected images in \[0, 1\]"):
        measures.stroke_thickness(images * 255)
    with pytest.raises(ValueError, match="grayscale"):
        measures.slant(np.zeros((2, 8, 8, 3)))
    with pytest.raises(ValueError, match="threshold"):
        measures.stroke_thickness(images, threshold=1.5)


def test_attribute_directions_find_the_generating_coordinates():
    model = BarGenerator()
    latents, images = ar.sample_with_latents(model, 600, seed=3)
    assert latents.shape == (600, 4) and images.shape == (600, SIZE, SIZE, 1)
    scores = measures.attribute_scores(images)
    thick = ar.attribute_direction(latents, scores["thickness"], fraction=0.2, name="thickness")
    lean = ar.attribute_direction(latents, scores["slant"], fraction=0.2, name="slant")
    assert thick.group_size == 120 and thick.high_score > thick.low_score + 1.5
    assert abs(thick.unit[0]) > 0.95 and thick.unit[0] > 0
    assert abs(lean.unit[1]) > 0.95 and lean.unit[1] > 0
    # Walking along the direction moves the measured attribute monotonically, and only that one.
    walk = ar.traverse(model, latents[:5], thick, alphas=np.linspace(-1.0, 1.0, 5))
    assert walk.shape == (5, 5, SIZE, SIZE, 1)
    widths = measures.stroke_thickness(walk.reshape(-1, SIZE, SIZE, 1)).reshape(5, 5)
    assert np.all(np.diff(widths, axis=1) > 0)
    # Arithmetic on group means: thick slanted - thin slanted + thin upright = thick upright.
    s, t = scores["slant"], scores["thickness"]
    groups = {
        "thick_slanted": (t > np.median(t)) & (s > np.quantile(s, 0.75)),
        "thin_slanted": (t < np.median(t)) & (s > np.quantile(s, 0.75)),
        "thin_upright": (t < np.median(t)) & (np.abs(s) < np.quantile(np.abs(s), 0.25)),
    }
    means = ar.group_means(latents, groups)
    code = ar.vector_arithmetic([means["thick_slanted"], means["thin_upright"]], [means["thin_slanted"]])
    result = ar.decode(model, code[None])
    assert measures.stroke_thickness(result)[0] > np.median(t)
    assert abs(measures.slant(result)[0]) < np.quantile(np.abs(s), 0.5)


def test_latent_helpers_validate_inputs():
    with pytest.raises(ValueError, match="no method mapping latent codes"):
        ar.latent_decoder(object())
    assert ar.latent_decoder(lambda z: z) is not None
    with pytest.raises(ValueError, match="latent_dim"):
        ar.sample_with_latents(lambda z: z, 4)
    latents, out = ar.sample_with_latents(lambda z: z * 2, 4, latent_dim=3, prior="uniform")
    np.testing.assert_allclose(out, latents * 2)
    assert np.all(np.abs(latents) <= 1)
    with pytest.raises(ValueError, match="prior"):
        ar.sample_with_latents(BarGenerator(), 4, prior="laplace")
    with pytest.raises(ValueError, match="fraction"):
        ar.split_by_attribute(np.arange(10.0), fraction=0.7)
    low, high = ar.split_by_attribute(np.array([5.0, 1.0, 3.0, 9.0, 7.0]), fraction=0.4)
    np.testing.assert_array_equal(low, [False, True, True, False, False])
    np.testing.assert_array_equal(high, [False, False, False, True, True])
    with pytest.raises(ValueError, match="empty"):
        ar.group_means(np.zeros((3, 2)), {"none": np.zeros(3, bool)})
    with pytest.raises(ValueError, match="same shape"):
        ar.vector_arithmetic([np.zeros(2)], [np.zeros(3)])
    with pytest.raises(ValueError, match="NaN"):
        ar.decode(BarGenerator(), np.full((1, 4), np.nan))
    model = BarGenerator()
    ar.decode(model, np.zeros((10, 4)), batch_size=4)
    assert model.calls == 3


def test_interpolation_pairs_and_grids():
    rng = np.random.default_rng(0)
    a, b = rng.standard_normal((2, 3, 16))
    paths = interp.interpolate_pairs(a, b, steps=6, method="slerp")
    assert paths.shape == (3, 6, 16)
    np.testing.assert_allclose(paths[:, 0], a, rtol=1e-5)
    np.testing.assert_allclose(paths[:, -1], b, rtol=1e-5)
    linear = interp.interpolate_pairs(a, b, steps=3, method="lerp")
    np.testing.assert_allclose(linear[:, 1], (a + b) / 2, rtol=1e-5)
    corners = rng.standard_normal((4, 8))
    sheet = interp.interpolation_grid(*corners, rows=4, cols=5, method="lerp")
    assert sheet.shape == (4, 5, 8)
    np.testing.assert_allclose([sheet[0, 0], sheet[0, -1], sheet[-1, 0], sheet[-1, -1]], corners, rtol=1e-5)
    np.testing.assert_allclose(sheet[1:-1, 2], (sheet[1:-1, 0] + sheet[1:-1, -1]) / 2, rtol=1e-4, atol=1e-6)
    with pytest.raises(ValueError, match="same shape"):
        interp.interpolate_pairs(a, b[:2])
    with pytest.raises(ValueError, match="corner codes"):
        interp.interpolation_grid(np.zeros(3), np.zeros(3), np.zeros(3), np.zeros(4))
    model = BarGenerator()
    rows = ar.interpolation_images(model, a[:, :4], b[:, :4], steps=5)
    assert rows.shape == (3, 5, SIZE, SIZE, 1)
    grid = ar.grid_images(model, corners[:, :4], rows=3, cols=4)
    assert grid.shape == (3, 4, SIZE, SIZE, 1)
    with pytest.raises(ValueError, match=r"\(4, D\)"):
        ar.grid_images(model, corners[:3, :4])


def test_works_with_a_latent_variable_model():
    from kzoo.models.latent import VAE

    model = VAE(data_shape=(8, 8, 1), latent_dim=3, filters=(4,), hidden_units=8)
    model.build_for_data()
    latents, images = ar.sample_with_latents(model, 6, seed=1)
    assert latents.shape == (6, 3) and images.shape == (6, 8, 8, 1)
    np.testing.assert_allclose(images, model.decode(latents), atol=1e-6)
    walk = ar.traverse(model, latents[:2], np.ones(3), alphas=(0.0, 1.0))
    assert walk.shape == (2, 2, 8, 8, 1)


class LabelledGenerator:
    """A conditional decoder: the image is filled with label / 10 (+ z[0] / 100)."""

    latent_dim = 2

    def decode(self, z, labels=None):
        z = np.asarray(z)
        labels = np.arange(len(z)) % 10 if labels is None else np.asarray(labels)
        return np.broadcast_to((labels / 10.0 + z[:, 0] / 100.0)[:, None, None, None], (len(z), 4, 4, 1)).copy()


def test_labels_follow_their_codes_in_walks_and_paths():
    model = LabelledGenerator()
    base = np.zeros((3, 2), np.float32)
    walk = ar.traverse(model, base, np.array([1.0, 0.0]), alphas=(0.0, 1.0, 2.0), labels=np.array([7, 2, 5]),
                       batch_size=4)
    np.testing.assert_allclose(walk[:, :, 0, 0, 0], [[0.7, 0.71, 0.72], [0.2, 0.21, 0.22], [0.5, 0.51, 0.52]],
                               atol=1e-6)
    rows = ar.interpolation_images(model, base, base, steps=4, labels=np.array([1, 3, 9]))
    np.testing.assert_allclose(rows[:, :, 0, 0, 0], np.repeat([[0.1], [0.3], [0.9]], 4, axis=1), atol=1e-6)
    sheet = ar.grid_images(model, np.zeros((4, 2)), rows=2, cols=3, labels=4)
    np.testing.assert_allclose(sheet[..., 0, 0, 0], 0.4, atol=1e-6)
    _, images = ar.sample_with_latents(model, 5, labels=np.full(5, 6))
    np.testing.assert_allclose(images[:, 0, 0, 0], 0.6 + _[:, 0] / 100, atol=1e-6)
    with pytest.raises(ValueError, match="one entry per row"):
        ar.traverse(model, base, np.ones(2), labels=np.array([1, 2]))
    with pytest.raises(ValueError, match="one per code"):
        ar.decode(model, base, labels=np.array([1, 2]))
