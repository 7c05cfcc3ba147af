"""Digit domains with ground truth (kzoo.data.domains): the transforms hit their targets and keep the digit."""

import numpy as np
import pytest

import kzoo
from kzoo import data as kdata
from kzoo.data import domains
from kzoo.data.measures import slant, stroke_thickness


@pytest.fixture(scope="module")
def digits():
    x, y = kdata.load_numpy("mnist5k", "validation", labels=True)
    return x[:200], y[:200]


@pytest.fixture(scope="module")
def classifier():
    return kzoo.load("mnist-classifier")


def _bar(width, size=28):
    image = np.zeros((size, size, 1), np.float32)
    image[4:24, 14 - width // 2:14 - width // 2 + width] = 1.0
    return image


def test_set_thickness_gives_bars_and_digits_the_width_asked_for(digits):
    targets = (1.5, 2.5, 5.0)
    bars = np.stack([_bar(3), _bar(4)])
    widths = np.array([stroke_thickness(domains.set_thickness(bars, width)) for width in targets])
    # within the step of the 4x canvas (a quarter pixel each side) and the rounded ends of a dilated bar
    np.testing.assert_allclose(widths, np.repeat(np.array(targets)[:, None], 2, axis=1), atol=0.75)
    assert (np.diff(widths, axis=0) > 0.5).all()
    for width in targets:
        assert abs(np.median(stroke_thickness(domains.set_thickness(digits[0], width))) - width) < 0.15


@pytest.mark.parametrize("domain", ["thin", "thick", "slant_left", "slant_right"])
def test_every_transform_keeps_the_digit_and_moves_only_its_own_attribute(domain, digits, classifier):
    x, y = digits
    moved = domains.to_domain(x, domain)
    assert moved.shape == x.shape and moved.dtype == np.float32 and 0.0 <= moved.min() <= moved.max() <= 1.0
    np.testing.assert_array_equal(np.rint(moved * 255) / 255, moved)  # 8-bit data, as MNIST is stored
    accuracy = np.mean(np.argmax(classifier.predict(moved, verbose=0), -1) == y)
    assert accuracy >= 0.95, f"{domain}: the classifier reads the digit in only {accuracy:.1%} of images"
    before_width, after_width = np.median(stroke_thickness(x)), np.median(stroke_thickness(moved))
    before_slant, after_slant = np.median(slant(x)), np.median(slant(moved))
    if domain in ("thin", "thick"):
        target = domains.THIN_WIDTH if domain == "thin" else domains.THICK_WIDTH
        assert abs(after_width - target) < 0.15 and abs(after_slant - before_slant) < 0.03
    else:
        target = domains.LEFT_SLANT if domain == "slant_left" else domains.RIGHT_SLANT
        np.testing.assert_allclose(np.median(slant(moved)), target, atol=0.01)
        assert np.mean(np.abs(slant(moved) - target) < 0.05) > 0.95  # every digit, not just the median
        assert abs(after_width - before_width) < 0.3
    np.testing.assert_array_equal(domains.to_domain(x[:20], domain), moved[:20])  # deterministic


def test_set_slant_shears_exactly_and_leaves_blank_images_blank(digits):
    x = digits[0][:50]
    for target in (-0.6, 0.0, 0.3):
        np.testing.assert_allclose(np.median(slant(domains.set_slant(x, target))), target, atol=0.01)
    blank = np.zeros((2, 28, 28, 1), np.float32)
    np.testing.assert_array_equal(domains.set_slant(blank, 0.4), blank)
    upright = domains.set_slant(x, 0.0)
    np.testing.assert_allclose(upright.sum(axis=(1, 2, 3)), x.sum(axis=(1, 2, 3)), rtol=0.03)  # ink moves, not lost


def test_low_resolution_is_the_exact_counterpart_of_rendered_8x8_digits(digits):
    small = kdata.load_numpy("digits", "test")[:30]
    rendered = domains.render_8x8(small)
    assert rendered.shape == (30, 28, 28, 1)
    assert rendered[:, :4].max() == 0.0 and rendered[:, 24:].max() == 0.0  # a 20x20 box in the middle
    # through the 8x8 bottleneck again, a rendered 8x8 digit comes back nearly unchanged ...
    assert np.abs(domains.to_low_resolution(rendered) - rendered).mean() < 0.03
    # ... while an MNIST digit loses its detail
    x = digits[0][:30]
    low = domains.to_low_resolution(x)
    assert np.abs(low - x).mean() > 0.05
    np.testing.assert_array_equal(domains.to_low_resolution(low), domains.to_low_resolution(low))


def test_unpaired_domains_come_from_disjoint_class_balanced_halves():
    x_a, y_a, x_b, y_b = domains.unpaired_domains("plain", "slant_right")
    assert x_a.shape == (2250, 28, 28, 1) and x_b.shape == (2250, 28, 28, 1)
    np.testing.assert_array_equal(np.bincount(y_a), np.full(10, 225))
    np.testing.assert_array_equal(np.bincount(y_b), np.full(10, 225))
    train, train_y = kdata.load_numpy("mnist5k", "train", labels=True)
    # domain A is untouched training images; domain B is the other half, sheared: re-shearing the training
    # images that are not in A gives B exactly
    keys = {image.tobytes() for image in train}
    in_a = {image.tobytes() for image in x_a}
    assert in_a <= keys and len(in_a) == 2250
    rest = np.array([image.tobytes() not in in_a for image in train])
    np.testing.assert_array_equal(domains.set_slant(train[rest], domains.RIGHT_SLANT), x_b)
    np.testing.assert_array_equal(train_y[rest], y_b)
    x_a, _, x_b, y_b = domains.unpaired_domains("plain", "digits8x8", split="validation")
    assert len(x_a) == 250 and x_b.shape == (179, 28, 28, 1) and set(y_b) == set(range(10))


def test_many_unpaired_domains_come_from_disjoint_class_balanced_parts():
    train = kdata.load_numpy("mnist5k", "validation")
    # where 'plain' stands decides which part of the split it gets: the parts share no image
    parts = [domains.unpaired_domain_sets(order, "validation")[order.index("plain")][0]
             for order in (("plain", "thin", "thick"), ("thin", "plain", "thick"), ("thin", "thick", "plain"))]
    keys = [{image.tobytes() for image in part} for part in parts]
    assert sum(len(k) for k in keys) == len(set().union(*keys)) == len(train)
    sets = domains.unpaired_domain_sets(domains.FIVE_DOMAINS, "validation")
    assert [len(x) for x, _ in sets] == [100] * 5
    for _, y in sets:
        np.testing.assert_array_equal(np.bincount(y, minlength=10), np.full(10, 10))
    # the two-domain case is unpaired_domains, unchanged
    x_a, y_a, x_b, y_b = domains.unpaired_domains("plain", "thin", "validation")
    (x_a2, y_a2), (x_b2, y_b2) = domains.unpaired_domain_sets(("plain", "thin"), "validation")
    np.testing.assert_array_equal(x_a, x_a2)
    np.testing.assert_array_equal(x_b, x_b2)
    with pytest.raises(ValueError, match="at least two domains"):
        domains.unpaired_domain_sets(("plain",))
    with pytest.raises(ValueError, match=r"domain_names\[2\] must be one of"):
        domains.unpaired_domain_sets(("plain", "thin", "bold"))


def test_the_five_domain_stacks_are_unpaired_in_train_and_one_digit_each_held_out():
    train, train_y = kdata.load_numpy("domains-five", "train", labels=True)
    assert train.shape == (900, 28, 28, 5) and train.dtype == np.float32
    np.testing.assert_array_equal(np.bincount(train_y), np.full(10, 90))
    plain = {image.tobytes() for image in kdata.load_numpy("mnist5k", "train")}
    assert all(image.tobytes() in plain for image in train[..., :1])  # channel 0 is untouched
    x, y = kdata.load_numpy("mnist5k", "validation", labels=True)
    held_out, held_out_y = kdata.load_numpy("domains-five", "validation", labels=True)
    assert held_out.shape == (500, 28, 28, 5)
    np.testing.assert_array_equal(held_out_y, y)
    for k, domain in enumerate(domains.FIVE_DOMAINS):
        np.testing.assert_array_equal(held_out[:20, ..., k:k + 1], domains.to_domain(x[:20], domain))


def test_paired_domains_give_the_targets_of_both_directions(digits):
    x = digits[0][:10]
    a, b = domains.paired_domains(x, "plain", "thick")
    np.testing.assert_array_equal(a, x)
    np.testing.assert_array_equal(b, domains.set_thickness(x, domains.THICK_WIDTH))
    _, low = domains.paired_domains(x, "plain", "digits8x8")
    np.testing.assert_array_equal(low, domains.to_low_resolution(x))


def test_key_patches_are_the_inkiest_windows_resized_to_the_canvas(digits):
    x = digits[0][:8]
    found = domains.key_patches(x, num_patches=3, size=10)
    assert found.patches.shape == (8, 3, 28, 28, 1) and found.masks.shape == (8, 3, 28, 28, 1)
    assert found.boxes.shape == (8, 3, 4) and found.mask.shape == (8, 28, 28, 1)
    for i in range(8):
        windows = np.array([[x[i, r:r + 10, c:c + 10].sum() for c in range(19)] for r in range(19)])
        top, left, bottom, right = found.boxes[i, 0]
        assert (bottom - top, right - left) == (10, 10)
        assert x[i, top:bottom, left:right].sum() == pytest.approx(windows.max(), rel=1e-5)
        corners = found.boxes[i, :, :2]
        for j in range(3):
            for k in range(j):
                assert np.abs(corners[j] - corners[k]).max() >= 5
            assert found.masks[i, j].sum() == 100
        np.testing.assert_array_equal(found.mask[i], found.masks[i].max(axis=0))
        # a patch is its window stretched to the canvas: shrunk back, it is the window again
        # a patch is its window stretched to the canvas: every third pixel of it is a pixel of the window
        np.testing.assert_allclose(found.patches[i, 0, ::3, ::3], x[i, top:bottom, left:right], atol=1e-5)
    whole = domains.key_patches(x[:2], num_patches=1, size=28)
    np.testing.assert_allclose(whole.patches[:, 0], x[:2], atol=1e-5)
    assert whole.mask.min() == 1.0


@pytest.mark.parametrize("call, message", [
    (lambda x: domains.to_domain(x, "bold"), "Unknown domain 'bold'"),
    (lambda x: domains.to_domain(x, "digits8x8"), "'low_resolution'"),
    (lambda x: domains.set_thickness(x, 0), "width must be > 0"),
    (lambda x: domains.set_thickness(x * 255, 2.0), "in [0, 1]"),
    (lambda x: domains.set_slant(x[..., 0][None], 0.1), "shape"),
    (lambda x: domains.unpaired_domains("thin", "thin"), "must differ"),
    (lambda x: domains.unpaired_domains("plain", "thick", split="test"), "paired_domains"),
    (lambda x: domains.paired_domains(x, "low_resolution", "digits8x8"), "must differ"),
    (lambda x: domains.key_patches(x, num_patches=0), "num_patches"),
    (lambda x: domains.key_patches(x, size=29), "size must be an int in [1, 28]"),
    (lambda x: domains.key_patches(x, num_patches=10, size=20, min_distance=5), "do not fit"),
], ids=["unknown", "real-8x8", "width", "range", "rank", "same", "test-split", "stand-in", "count", "size", "fit"])
def test_bad_arguments_name_the_value_and_what_was_expected(call, message, digits):
    with pytest.raises((ValueError, TypeError), match=message.replace("[", r"\[").replace("]", r"\]").replace(
            "(", r"\(").replace(")", r"\)")):
        call(digits[0][:2])
