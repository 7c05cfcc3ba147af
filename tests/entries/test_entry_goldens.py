"""Every shipped entry still loads and gives the outputs it gave when it was trained.

A refactor that changes what an entry computes (a renamed config key that is
silently dropped, a layer built in a different order, a changed default)
fails here. The golden values are summaries of a deterministic output of each
entry, stored in ``entry_goldens.json``:

* explicit models: ``log_prob`` of the first 100 ``mnist5k`` validation
  images (the model's own data options; stochastic bounds with ``seed=0``;
  class-conditional ones given the images' labels);
* implicit models (GANs) and diffusion models: ``generate(4, seed=0)``
  (diffusion: 10 deterministic DDIM steps, so the test stays fast);
* translation models: ``generate`` of the first 100 validation pairs of
  the entry's dataset (both translations of each pair);
* the evaluation classifier: its logits on the same 100 images.

Each summary is the mean, the standard deviation and the first five per-example
values; they must agree to a relative 1e-4 (float32 convolutions differ by
~1e-6 relative across CPUs, a changed model by far more).

Regenerate the file only when an entry is retrained on purpose, for the named
entries or (no names) for all of them::

    python tests/entries/test_entry_goldens.py [ENTRY ...]
"""

import json
import re
import sys
from pathlib import Path

import numpy as np
import pytest

GOLDEN_FILE = Path(__file__).with_name("entry_goldens.json")
NUM_EXAMPLES = 100
DIFFUSION_OPTIONS = {"sampler": "ddim", "steps": 10, "eta": 0.0}


def _summary(values):
    values = np.asarray(values, dtype=np.float64)
    per_example = values.reshape(len(values), -1).mean(axis=1)
    return {"mean": float(values.mean()), "std": float(values.std()),
            "first": [float(v) for v in per_example[:5]]}


def entry_output(name):
    """The golden summary of one entry (see the module docstring)."""
    import kzoo
    from kzoo.core.base import ExplicitModel

    model = kzoo.load(name)
    if not hasattr(model, "generate"):  # the evaluation classifier
        x = kzoo.data.load_numpy("mnist5k", split="validation")[:NUM_EXAMPLES]
        return {"kind": "logits", **_summary(model.predict(x, verbose=0))}
    if hasattr(model, "translate"):
        pairs = kzoo.data.load_numpy(model.card["dataset"], split="validation")[:NUM_EXAMPLES]
        return {"kind": "translate", **_summary(model.generate(NUM_EXAMPLES, source=pairs))}
    if model.family == "diffusion":
        return {"kind": "generate", **_summary(model.generate(4, seed=0, **DIFFUSION_OPTIONS))}
    if isinstance(model, ExplicitModel):
        options = model.data_options("validation")
        if model.is_conditional:  # log p(x | y) with the images' own labels
            x, y = kzoo.data.load_numpy("mnist5k", split="validation", labels=True, **options)
            return {"kind": "log_prob", **_summary(model.log_prob(x[:NUM_EXAMPLES], seed=0, labels=y[:NUM_EXAMPLES]))}
        x = kzoo.data.load_numpy("mnist5k", split="validation", **options)[:NUM_EXAMPLES]
        return {"kind": "log_prob", **_summary(model.log_prob(x, seed=0))}
    return {"kind": "generate", **_summary(model.generate(4, seed=0))}


def catalog_names():
    from kzoo.core import catalog

    return catalog.preset_names()


def _goldens():
    return json.loads(GOLDEN_FILE.read_text())


def test_every_golden_value_names_a_shipped_entry():
    from kzoo.core import catalog

    assert sorted(_goldens()) == catalog.preset_names()


def _strings(value):
    if isinstance(value, str):
        yield value
    elif isinstance(value, dict):
        for item in value.values():
            yield from _strings(item)
    elif isinstance(value, list):
        for item in value:
            yield from _strings(item)


@pytest.mark.parametrize("name", catalog_names())
def test_card_paths_are_relative_to_the_repository(name):
    from kzoo.core import catalog

    card = catalog.read_card(catalog.resolve_preset(name))
    absolute = [text for text in _strings(card) if re.search(r"(?<![\w.~])/[A-Za-z]", text)]
    assert not absolute, f"{name}/card.json names absolute paths: {absolute}"


@pytest.mark.parametrize("name", catalog_names())
def test_entry_reproduces_its_golden_value(name):
    goldens = _goldens()
    assert name in goldens, f"{name} has no golden value: run python tests/entries/test_entry_goldens.py"
    expected = goldens[name]
    actual = entry_output(name)
    assert actual["kind"] == expected["kind"]
    for key in ("mean", "std", "first"):
        np.testing.assert_allclose(actual[key], expected[key], rtol=1e-4, atol=1e-5, err_msg=f"{name}: {key}")


if __name__ == "__main__":
    names = sys.argv[1:] or catalog_names()
    unknown = sorted(set(names) - set(catalog_names()))
    if unknown:
        sys.exit(f"unknown entries {unknown}; expected names from {catalog_names()}")
    goldens = json.loads(GOLDEN_FILE.read_text()) if sys.argv[1:] else {}
    for index, entry_name in enumerate(names, 1):
        goldens[entry_name] = entry_output(entry_name)
        print(f"[{index}/{len(names)}] {entry_name}: {goldens[entry_name]}", file=sys.stderr)
    GOLDEN_FILE.write_text(json.dumps(goldens, indent=2, sort_keys=True) + "\n")
    print(f"wrote {GOLDEN_FILE}")
