"""Each card's headline numbers, re-measured (slow: ``python -m pytest -m slow tests/entries/test_card_numbers.py``).

Needs the official MNIST test set in ``../shared/data/mnist`` (evaluation
only); skipped without it. The measurement settings (sample count, seed,
sampling batch, ``k``, ``--limit``, ``--option``) are read from the card's own
``eval_command`` with the ``kzoo`` parser, so the test measures what that
command measures. Where that is too slow for a test, a subset is used:

* likelihood (mean NLL, bits/dim) of a seeded random 500 of the 10,000 test
  images. Random, not the first 500: MNIST's first 5,000 test digits come
  from other writers than the last 5,000 and are easier. The tolerance is a
  sampling bound from the card's own spread (see :func:`subset_tolerance`);
* sample quality with the card's sample count and seed, replayed exactly,
  when it takes under ``REPLAY_BUDGET_S`` seconds at the card's sampling
  speed; else 1,000 samples (the first 1,000 of the card's run: samples are
  drawn per batch with a seed derived from the batch index) compared on KID
  only, the one of these metrics that is unbiased in the sample count.

Set ``KZOO_CARD_NUMBERS_OUT=path.json`` to write every comparison (card value,
re-measured value, tolerance, reason) to a file; they are printed too.
"""

import json
import math
import os
import shlex
import time
from pathlib import Path

import numpy as np
import pytest

pytestmark = pytest.mark.slow

REPO = Path(__file__).resolve().parents[2]
SAVED = REPO / "saved_models"
DATA_DIR = REPO / ".." / "shared" / "data" / "mnist"  # the cards' ../shared/data/mnist
ENTRIES = sorted(p.name for p in SAVED.iterdir() if (p / "card.json").is_file())
SUBSET = 500
SUBSET_SEED = 0
Z = 4.0  # sampling bounds at 4 standard deviations: a correct entry fails one with probability ~6e-5
REPLAY_BUDGET_S = 150.0
SUBSET_SAMPLES = 1000
RESULTS = []

needs_data = pytest.mark.skipif(not (DATA_DIR / "t10k-images-idx3-ubyte.gz").is_file()
                                and not (DATA_DIR / "t10k-images-idx3-ubyte").is_file(),
                                reason=f"no MNIST test set in {DATA_DIR}")


def card_of(entry):
    with open(SAVED / entry / "card.json") as handle:
        return json.load(handle)


def eval_args(card):
    """The card's ``eval_command`` parsed by the ``kzoo`` CLI (None if it has none)."""
    from kzoo.cli import build_parser

    command = card.get("eval_command")
    if not command:
        return None
    argv = shlex.split(command)
    assert argv[:2] == ["kzoo", "eval"], f"eval_command is not a kzoo eval line: {command!r}"
    return build_parser().parse_args(argv[1:])


class Checks:
    """Collects (metric, card value, re-measured, tolerance, reason) rows of one entry; fails at the end."""

    def __init__(self, entry):
        self.entry = entry
        self.rows = []

    def near(self, metric, card_value, measured, tolerance, reason):
        ok = bool(abs(float(measured) - float(card_value)) <= tolerance)
        self.rows.append({"entry": self.entry, "metric": metric, "card": float(card_value),
                          "measured": float(measured), "tolerance": float(tolerance), "reason": reason, "ok": ok})

    def within(self, metric, card_value, low, high, measured, reason):
        low, high = float(low), float(high)
        ok = bool(low <= float(card_value) <= high)
        self.rows.append({"entry": self.entry, "metric": metric, "card": float(card_value),
                          "measured": float(measured), "tolerance": f"[{low:.4g}, {high:.4g}]", "reason": reason,
                          "ok": ok})

    def report(self, seconds):
        for row in self.rows:
            row["seconds_for_entry"] = round(seconds, 1)
            tol = row["tolerance"]
            print(f"{row['entry']:<22} {row['metric']:<34} card {row['card']:<12.6g} measured {row['measured']:<12.6g} "
                  f"tol {tol if isinstance(tol, str) else f'{tol:.3g}'}  {'ok' if row['ok'] else 'FAIL'}")
        RESULTS.extend(self.rows)
        out = os.environ.get("KZOO_CARD_NUMBERS_OUT")
        if out:
            Path(out).write_text(json.dumps(RESULTS, indent=1) + "\n")
        failed = [r for r in self.rows if not r["ok"]]
        assert not failed, f"{self.entry}: numbers off the card: {failed}"


def subset_tolerance(sem, n_card, n_subset):
    """Z standard deviations of the mean of ``n_subset`` of the card's ``n_card`` per-image values.

    The card's SEM gives the per-image spread, sigma = sem * sqrt(n_card); the
    mean of a simple random sample without replacement of ``n_subset`` of them
    has standard deviation sigma * sqrt((1 / n_subset) * (n_card - n_subset) / (n_card - 1)).
    """
    sigma = sem * math.sqrt(n_card)
    return Z * sigma * math.sqrt((n_card - n_subset) / (n_subset * (n_card - 1)))


@pytest.fixture(scope="module")
def reference():
    """Features of the 10,000 test images, shared by all entries."""
    from kzoo import data as kdata
    from kzoo.evaluation.sample_quality import reference_features

    return reference_features(kdata.load_numpy("mnist", split="test", data_dir=str(DATA_DIR)), "mnist")


def heldout_images(model):
    """The test split as ``kzoo eval`` prepares it (static binarization / dequantization with seed 0).

    Returns ``(x, labels)``; labels only for a class-conditional model (its NLL is -log p(x | y)), else None.
    """
    from kzoo import data as kdata

    loaded = kdata.load_numpy("mnist", split="test", data_dir=str(DATA_DIR), labels=model.is_conditional,
                              **model.data_options("test"))
    return loaded if model.is_conditional else (loaded, None)


def per_image_nll(model, x, k, labels=None, batch_size=100):
    from kzoo.core.base import LatentModel

    latent = isinstance(model, LatentModel) and model.stochastic_log_prob
    out = []
    for index, start in enumerate(range(0, len(x), batch_size)):
        kwargs = {"k": k} if latent else {}
        if labels is not None:
            kwargs["labels"] = labels[start : start + batch_size]
        out.append(-np.asarray(model.log_prob(x[start : start + batch_size], batch_size=batch_size, seed=index,
                                              **kwargs), dtype=np.float64))
    return np.concatenate(out)


def check_likelihood(checks, model, card, args):
    """Mean NLL / bits-per-dim of a random 500 test images against the card's full-test values."""
    from kzoo import data as kdata
    from kzoo.core.base import LatentModel
    from kzoo.metrics.likelihood import bits_per_dim

    m = card["metrics"]
    x, labels = heldout_images(model)
    n_card = int(m.get("test_n_examples", len(x)))
    assert n_card == len(x), f"the card's test_n_examples {n_card} is not the test set's {len(x)}"
    rows = np.sort(np.random.default_rng(SUBSET_SEED).choice(len(x), SUBSET, replace=False))
    subset, subset_labels = x[rows], (None if labels is None else labels[rows])
    k = args.k if args is not None else 100
    nll = per_image_nll(model, subset, k, labels=subset_labels)
    info = kdata.info("mnist")
    num_bins = (info.num_levels or 256) if model.data_options("test").get("dequantize") else None

    def to_bits(nats):  # kzoo's own conversion (the num_bins term for dequantized data)
        return bits_per_dim(np.asarray(nats, dtype=np.float64), model.num_dims, num_bins=num_bins)

    if "test_median_bits_per_dim" in m:
        # MAF: the mean is dominated by 8 of 10,000 images (bits/dim > 100): a 500-subset holds ~0.4 of them,
        # so its mean says nothing about the card's. The median and the tail fraction are checked instead.
        per_bpd = np.array([to_bits(v) for v in nll])
        order = np.sort(per_bpd)
        half = Z * math.sqrt(SUBSET) / 2.0  # distribution-free: the rank of the median is Binomial(n, 1/2)
        low, high = order[int(math.floor(SUBSET / 2 - half))], order[int(math.ceil(SUBSET / 2 + half))]
        checks.within("test_median_bits_per_dim", m["test_median_bits_per_dim"], low, high, np.median(per_bpd),
                      f"card's full-test median inside the {Z:.0f}-sigma order-statistic interval of the subset "
                      f"median ({SUBSET} random test images)")
        p = m["test_fraction_over_10_bits_per_dim"]
        checks.near("test_fraction_over_10_bits_per_dim", p, np.mean(per_bpd > 10), Z * math.sqrt(p * (1 - p) / SUBSET),
                    f"binomial: {Z:.0f} sd of a fraction over {SUBSET} random test images")
        return
    tol_nats = subset_tolerance(m["test_nll_nats_sem"], n_card, SUBSET)
    reason = (f"mean of {SUBSET} random test images vs the card's {n_card}: {Z:.0f} sd of a subset mean, sd from "
              f"the card's SEM ({m['test_nll_nats_sem']:.3g} nats)")
    checks.near("test_nll_nats", m["test_nll_nats"], nll.mean(), tol_nats, reason)
    checks.near("test_bits_per_dim", m["test_bits_per_dim"], to_bits(nll.mean()),
                tol_nats / (model.num_dims * math.log(2.0)), reason)
    if isinstance(model, LatentModel) and model.stochastic_log_prob and "test_neg_elbo_nats" in m:
        elbo = per_image_nll(model, subset, 1, labels=subset_labels)
        checks.near("test_neg_elbo_nats", m["test_neg_elbo_nats"], elbo.mean(), tol_nats,
                    reason + " (the IWAE bound's spread stands in for the ELBO's, which the card does not give)")


def check_diffusion_bound(checks, model, card, args):
    """The card's bound is itself on the first ``--limit`` images with seed 0: replayed exactly."""
    from kzoo.evaluation.evaluate import evaluate

    m = card["metrics"]
    assert args.limit == m["test_nll_n_examples"]
    result = evaluate(model, args.data, args.split, data_dir=str(DATA_DIR), k=args.k, limit=args.limit,
                      seed=args.seed, verbose=False)
    reason = (f"exact replay of eval_command's bound (first {args.limit} images, seed {args.seed}): "
              "1e-3 relative covers float summation order across CPUs and thread counts")
    checks.near("test_nll_nats", m["test_nll_nats"], result["nll_nats"], 1e-3 * abs(m["test_nll_nats"]), reason)
    checks.near("test_bits_per_dim", m["test_bits_per_dim"], result["bits_per_dim"],
                1e-3 * abs(m["test_bits_per_dim"]), reason)


def card_samples(m):
    for key in ("test_n_samples", "test_fid_n_samples"):
        if key in m:
            return int(m[key])
    return None


def check_quality(checks, model, card, args, reference):
    from kzoo.cli import _generate_options
    from kzoo.evaluation.sample_quality import sample_quality

    m = card["metrics"]
    n_card = card_samples(m)
    assert n_card == args.n_samples, f"card says {n_card} samples, eval_command draws {args.n_samples}"
    options = _generate_options(model, args.option)
    expected_seconds = n_card * m.get("sample_seconds_per_image", 0.0)
    replay = expected_seconds <= REPLAY_BUDGET_S
    n = n_card if replay else SUBSET_SAMPLES
    quality = sample_quality(model, reference, n_samples=n, seed=args.seed, batch_size=args.batch_size,
                             sample_kwargs=options, verbose=False)
    if replay:
        reason = (f"exact replay of eval_command ({n} samples, seed {args.seed}, batches of {args.batch_size}): "
                  "1% covers float summation order in sampling and features")
        for key in ("fid", "kid", "inception_score"):
            checks.near(f"test_{key}", m[f"test_{key}"], quality[key], 0.01 * abs(m[f"test_{key}"]), reason)
        for key in ("precision", "recall"):
            checks.near(f"test_{key}", m[f"test_{key}"], quality[key], 0.005,
                        reason + "; 0.005 is 25 of 5,000 (10 of 2,000) samples changing side")
    else:
        # KID: each of the subsets pairs 1,000 real and 1,000 fake rows, so the card's kid_std (spread of the
        # per-subset estimates at subset size 1,000) bounds the spread of a mean over 1,000 fixed samples too.
        checks.near("test_kid", m["test_kid"], quality["kid"], 3.0 * m["test_kid_std"],
                    f"{n} of the card's {n_card} samples: KID is unbiased in the sample count; 3 x the card's "
                    "kid_std (per-subset spread at 1,000 samples)")
        checks.rows.append({"entry": checks.entry, "metric": f"test_fid (report only, {n} samples)",
                            "card": float(m["test_fid"]), "measured": float(quality["fid"]), "tolerance": "-",
                            "reason": "FID is biased upward at fewer samples: reported, not compared", "ok": True})


@needs_data
@pytest.mark.parametrize("entry", ENTRIES)
def test_card_numbers(entry, reference):
    import kzoo
    from kzoo.core.base import ExplicitModel

    start = time.perf_counter()
    card = card_of(entry)
    m = card["metrics"]
    model = kzoo.load(entry)
    checks = Checks(entry)
    args = eval_args(card)
    if not hasattr(model, "generate"):  # an evaluation classifier: its test accuracy, exactly
        from kzoo import data as kdata

        if card["dataset"] == "domains-five":  # the domain classifier: every test digit in each of five domains
            stacks = kdata.load_numpy("domains-five", split="test", data_dir=str(DATA_DIR))
            x = np.concatenate(np.split(stacks, stacks.shape[-1], axis=-1))
            y = np.repeat(np.arange(stacks.shape[-1]), len(stacks))
        else:
            x, y = kdata.load_numpy("mnist", split="test", labels=True, data_dir=str(DATA_DIR))
        predicted = np.argmax(model.predict(x, batch_size=500, verbose=0), axis=-1)
        checks.near("test_accuracy", m["test_accuracy"], np.mean(predicted == y), 1.0 / len(y),
                    f"exact on the {len(y):,} test images; {1.0 / len(y):.0e} is one image")
        checks.report(time.perf_counter() - start)
        return
    if isinstance(model, ExplicitModel) and "test_nll_nats" in m:
        if model.family == "diffusion":
            check_diffusion_bound(checks, model, card, args)
        else:
            check_likelihood(checks, model, card, args)
    if "test_fid" in m:
        check_quality(checks, model, card, args, reference)
    if "sample_label_accuracy" in m:
        from kzoo.analysis.modes import class_histogram
        from kzoo.evaluation.features import MnistFeatureExtractor

        n = 5000
        result = class_histogram(model, MnistFeatureExtractor(), num_samples=n, seed=0,
                                 labels=np.arange(n) % int(model.num_classes))
        checks.near("sample_label_accuracy", m["sample_label_accuracy"], result.label_accuracy, 0.002,
                    "exact replay of sample_label_command (5,000 samples, seed 0); 0.002 is 10 samples")
    if "test_category_accuracy" in m:
        from kzoo import data as kdata

        for split, data, data_dir, tol in (("validation", "mnist5k", None, 0.002), ("test", "mnist", str(DATA_DIR), 1e-4)):
            x, y = kdata.load_numpy(data, split=split, labels=True, data_dir=data_dir)
            accuracy, _ = model.category_accuracy(x, y)
            checks.near(f"{split}_category_accuracy", m[f"{split}_category_accuracy"], accuracy, tol,
                        f"exact on {len(x)} real images (deterministic Q head); {tol} is one image")
    assert checks.rows, f"{entry}: nothing to compare"
    checks.report(time.perf_counter() - start)
