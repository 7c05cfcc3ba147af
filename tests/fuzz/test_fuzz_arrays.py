"""Fuzzed arrays into model and metric APIs: every bad array ends in a ValueError that names it.

Bad arrays: NaN/Inf anywhere, strings (numeric ones too), bytes, complex,
dates, object arrays holding None/dicts/strings, ragged nested lists, None,
the wrong rank or shape, an empty batch, and values outside [0, 1] where the
API checks the range.
"""

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp

import fuzzkit
from kzoo import metrics
from kzoo.core.validation import as_features, as_real_array, check_data_batch

FAST = settings(deadline=None, max_examples=30, database=None,
                suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture])
SHAPE = (8, 8, 1)


@pytest.fixture(scope="module")
def models():
    from kzoo.models.autoregressive import MADE
    from kzoo.models.flows import RealNVP
    from kzoo.models.latent import VAE

    built = {
        "vae": VAE(data_shape=SHAPE, filters=(8,), hidden_units=8, latent_dim=2),
        "made": MADE(data_shape=SHAPE, hidden_units=(8,)),
        "realnvp": RealNVP(data_shape=SHAPE, num_scales=1, couplings_per_scale=2, hidden_units=4),
    }
    for model in built.values():
        model.build_for_data()
    return built


def calls(models):
    """API name -> function of one array."""
    return {
        "vae.log_prob": lambda x: models["vae"].log_prob(x, k=2),
        "vae.encode": models["vae"].encode,
        "made.log_prob": models["made"].log_prob,
        "realnvp.log_prob": models["realnvp"].log_prob,
        "realnvp.encode": models["realnvp"].encode,
    }


API = st.sampled_from(["vae.log_prob", "vae.encode", "made.log_prob", "realnvp.log_prob", "realnvp.encode"])
good_batches = hnp.arrays(np.float32, st.tuples(st.integers(1, 3), st.just(8), st.just(8), st.just(1)),
                          elements=st.floats(0, 1, width=32))


@st.composite
def with_non_finite(draw):
    x = draw(good_batches).copy()
    flat = x.reshape(-1)
    positions = draw(st.lists(st.integers(0, flat.size - 1), min_size=1, max_size=5, unique=True))
    for p in positions:
        flat[p] = draw(st.sampled_from([np.nan, np.inf, -np.inf]))
    return x


@FAST
@given(x=with_non_finite(), api=API)
def test_nan_and_inf_are_counted(models, x, api):
    bad = int(np.size(x) - np.isfinite(x).sum())
    fuzzkit.outcome(lambda: calls(models)[api](x), errors=ValueError,
                    contains=(f"x contains {bad} NaN or infinite values", "expected finite numbers"))


bad_dtype_arrays = st.one_of(
    hnp.arrays(hnp.unicode_string_dtypes(max_len=4), st.just((2,) + SHAPE)),
    hnp.arrays(hnp.byte_string_dtypes(max_len=4), st.just((2,) + SHAPE)),
    hnp.arrays(hnp.complex_number_dtypes(), st.just((2,) + SHAPE), elements=st.complex_numbers(max_magnitude=1)),
    hnp.arrays(hnp.datetime64_dtypes(), st.just((2,) + SHAPE)),
    hnp.arrays(hnp.timedelta64_dtypes(), st.just((2,) + SHAPE)),
    hnp.arrays(np.float32, st.just((2,) + SHAPE), elements=st.floats(0, 1, width=32)).map(lambda a: a.astype(str)),
)


@FAST
@given(x=bad_dtype_arrays, api=API)
def test_non_numeric_dtypes_are_refused(models, x, api):
    fuzzkit.outcome(lambda: calls(models)[api](x), errors=ValueError,
                    contains=("x must be a real-valued numeric array", str(x.dtype)))


@st.composite
def object_arrays(draw):
    x = np.zeros((2,) + SHAPE, dtype=object)
    x[...] = 0.5
    flat = x.reshape(-1)
    intruder = draw(st.one_of(st.none(), st.text(max_size=3), st.dictionaries(st.text(max_size=2), st.integers(),
                                                                               max_size=1),
                              st.complex_numbers(max_magnitude=2), st.lists(st.integers(), max_size=2)))
    flat[draw(st.integers(0, flat.size - 1))] = intruder
    return x, intruder


@FAST
@given(case=object_arrays(), api=API)
def test_object_arrays_with_non_numbers_are_refused(models, case, api):
    x, intruder = case
    fuzzkit.outcome(lambda: calls(models)[api](x), errors=ValueError,
                    contains=("x must hold real numbers", type(intruder).__name__))


def test_numeric_object_arrays_lists_bools_and_ints_still_work(models):
    x = np.random.default_rng(0).random((2,) + SHAPE)
    for variant in (x.astype(object), x.tolist(), x > 0.5, (x > 0.5).astype(np.uint8), x.astype(np.float16)):
        out = models["made"].log_prob(variant)
        assert out.shape == (2,) and np.isfinite(out).all()


@FAST
@given(shape=hnp.array_shapes(min_dims=0, max_dims=5, min_side=1, max_side=9).filter(lambda s: s[1:] != SHAPE),
       api=API)
def test_wrong_rank_or_shape(models, shape, api):
    x = np.zeros(shape, np.float32)
    fuzzkit.outcome(lambda: calls(models)[api](x), errors=ValueError,
                    contains=(f"x has shape {shape}", "expects a batch of shape (N, 8, 8, 1)"))


@pytest.mark.parametrize("x, fragment", [
    (None, "got None"), ([[1.0, 2.0], [3.0]], "rectangular numeric array"), ("0.5", "got the string"),
    (np.zeros((0,) + SHAPE), "is empty"), ({"x": 1}, "must hold real numbers"),
], ids=["none", "ragged", "string", "empty", "dict"])
def test_odd_inputs(models, x, fragment):
    for api, call in calls(models).items():
        fuzzkit.outcome(lambda: call(x), errors=ValueError, contains=(fragment,))


@FAST
@given(x=hnp.arrays(np.float32, (2,) + SHAPE, elements=st.floats(-1e6, 1e6, width=32)).filter(
    lambda a: a.min() < 0 or a.max() > 1))
def test_out_of_range_images_are_refused_where_the_range_is_checked(models, x):
    from kzoo.models.autoregressive import IndependentBernoulli

    model = IndependentBernoulli(data_shape=SHAPE)
    fuzzkit.outcome(lambda: model.estimate(x), errors=ValueError, contains=("values span", "expected values in [0"))
    fuzzkit.outcome(lambda: check_data_batch(x, SHAPE, value_range=(0.0, 1.0)), errors=ValueError,
                    contains=("values span", "expected values in [0.0, 1.0]"))


@FAST
@given(scale=st.floats(3.5e38, 1e300))
def test_values_beyond_float32_are_refused_not_turned_into_inf(scale):
    x = np.full((1,) + SHAPE, scale, np.float64)
    fuzzkit.outcome(lambda: check_data_batch(x, SHAPE), errors=ValueError,
                    contains=("beyond the largest float32",))


def test_vae_log_prob_refuses_uint8_scale_images(models):
    x = np.full((2,) + SHAPE, 255.0)
    with pytest.raises(ValueError, match="expected values in"):
        models["vae"].log_prob(x, k=2)


# ------------------------------------------------------------------ fit
@FAST
@given(shape=hnp.array_shapes(min_dims=1, max_dims=5, min_side=1, max_side=9).filter(lambda s: s[1:] != SHAPE))
def test_fit_refuses_wrong_shapes(models, shape):
    model = models["made"]
    fuzzkit.outcome(lambda: model.fit(x=np.zeros(shape, np.float32), epochs=1, verbose=0), errors=ValueError,
                    contains=("expects examples of shape (8, 8, 1)", str(shape[1:]) if len(shape) > 1 else "()"))


def test_fit_refuses_empty_data(models):
    fuzzkit.outcome(lambda: models["made"].fit(x=np.zeros((0,) + SHAPE, np.float32), epochs=1, verbose=0),
                    errors=ValueError, contains=("empty", "(0, 8, 8, 1)"))


def test_fit_refuses_nan_data_up_front(models):
    model = models["made"]
    model.compile()
    x = np.full((4,) + SHAPE, np.nan, np.float32)
    with pytest.raises(ValueError, match="NaN"):
        model.fit(x=x, epochs=1, verbose=0)


# -------------------------------------------------------------- metrics
METRIC_CALLS = {
    "fid": lambda real, fake: metrics.fid_from_features(real, fake),
    "kid": lambda real, fake: metrics.kernel_inception_distance(real, fake, num_subsets=2, subset_size=2),
    "precision_recall": lambda real, fake: metrics.precision_recall(real, fake, k=1),
}


@st.composite
def bad_features(draw):
    kind = draw(st.sampled_from(["nan", "dtype", "rank", "object"]))
    good = np.random.default_rng(draw(st.integers(0, 9))).random((6, 3))
    if kind == "nan":
        good[draw(st.integers(0, 5)), draw(st.integers(0, 2))] = draw(st.sampled_from([np.nan, np.inf]))
        return kind, good, "contain"
    if kind == "dtype":
        return kind, draw(bad_dtype_arrays.map(lambda a: a.reshape(2, -1)[:, :3])), "real-valued numeric array"
    if kind == "object":
        obj = good.astype(object)
        obj[0, 0] = draw(st.one_of(st.none(), st.text(max_size=2)))
        return kind, obj, "must hold real numbers"
    shape = draw(hnp.array_shapes(min_dims=0, max_dims=4, min_side=1, max_side=4).filter(lambda s: len(s) != 2))
    return kind, np.zeros(shape), "must have shape (num_samples, num_features)"


@FAST
@given(case=bad_features(), which=st.sampled_from(["real", "fake"]), metric=st.sampled_from(sorted(METRIC_CALLS)))
def test_metrics_name_the_bad_features(case, which, metric):
    kind, bad, fragment = case
    good = np.random.default_rng(1).random((6, 3))
    real, fake = (bad, good) if which == "real" else (good, bad)
    fuzzkit.event(f"input: {kind}")
    fuzzkit.outcome(lambda: METRIC_CALLS[metric](real, fake), errors=ValueError,
                    contains=(f"{which} features", fragment))


@FAST
@given(values=st.one_of(st.none(), st.text(max_size=3), st.lists(st.lists(st.floats(), max_size=3), min_size=2,
                                                                   max_size=3)))
def test_as_real_array_never_passes_junk_through(values):
    def call():
        out = as_features(values, "features")
        assert out.dtype == np.float64 and out.ndim == 2 and np.isfinite(out).all()
        return out

    fuzzkit.outcome(call, errors=ValueError, contains=("features",), allow_success=True)


def test_as_real_array_keeps_numbers():
    assert as_real_array([True, 2, 3.5], "v").tolist() == [1.0, 2.0, 3.5]
    assert as_real_array(np.array([1, 2], dtype=object), "v", np.float64).dtype == np.float64
