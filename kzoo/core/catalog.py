"""Finds pretrained entries on disk without importing TensorFlow.

An entry is a folder ``<root>/<name>/`` holding ``config.json``,
``model.weights.h5`` and ``card.json``. Roots are searched in this order: the
folders listed in the ``KZOO_PRESETS_DIR`` environment variable (``os.pathsep``
separated), then the ``saved_models/`` folder beside the ``kzoo`` package.
"""

import difflib
import json
import os
from pathlib import Path

CONFIG_FILE = "config.json"
WEIGHTS_FILE = "model.weights.h5"
CARD_FILE = "card.json"
PRESET_FILES = (CONFIG_FILE, WEIGHTS_FILE, CARD_FILE)


def preset_roots():
    """Returns the existing folders searched for named entries, in order."""
    roots = [Path(p) for p in os.environ.get("KZOO_PRESETS_DIR", "").split(os.pathsep) if p]
    roots.append(Path(__file__).resolve().parents[2] / "saved_models")
    return [r for r in roots if r.is_dir()]


def preset_names():
    """Returns the sorted names of every entry found in :func:`preset_roots`."""
    names = set()
    for root in preset_roots():
        for child in root.iterdir():
            if (child / CARD_FILE).is_file():
                names.add(child.name)
    return sorted(names)


def resolve_preset(name_or_path):
    """Finds the folder of an entry given by name or by path.

    Args:
        name_or_path: an entry name (``"vae-mnist"``) or a folder path.

    Returns:
        A ``pathlib.Path`` to the entry folder.

    Raises:
        ValueError: neither an existing folder nor a known entry name; the
            message lists close matches and every known entry.
    """
    path = Path(os.fspath(name_or_path)).expanduser()
    if path.is_dir():
        return path
    for root in preset_roots():
        candidate = root / str(name_or_path)
        if candidate.is_dir():
            return candidate
    known = preset_names()
    close = difflib.get_close_matches(str(name_or_path), known, n=3, cutoff=0.5)
    hint = f" Did you mean {', '.join(repr(c) for c in close)}?" if close else ""
    raise ValueError(
        f"Unknown pretrained entry {str(name_or_path)!r}: it is neither a folder nor a known "
        f"entry name.{hint} Known entries: {', '.join(known) or '(none)'}."
    )


def read_card(folder):
    """Reads and returns the ``card.json`` dict of an entry folder.

    Args:
        folder: the entry folder.

    Returns:
        The card as a dict.

    Raises:
        FileNotFoundError: the folder has no card.json.
        ValueError: card.json is not UTF-8 JSON text, or holds something
            other than a JSON object.
    """
    path = Path(folder) / CARD_FILE
    if not path.is_file():
        raise FileNotFoundError(f"{path} is missing: every entry needs a card.json.")
    try:
        card = json.loads(path.read_text(encoding="utf-8"))
    except (json.JSONDecodeError, UnicodeDecodeError) as err:
        raise ValueError(f"{path} is not valid JSON text ({err}); expected a JSON object of card fields.") from err
    if not isinstance(card, dict):
        raise ValueError(f"{path} holds a JSON {type(card).__name__}; expected a JSON object of card fields.")
    return card


def list_presets():
    """Lists every entry with its family, dataset and headline metrics.

    Returns:
        A list of dicts with keys ``name``, ``model``, ``family``, ``dataset``,
        ``metrics`` and ``path``, sorted by name.
    """
    entries = []
    for name in preset_names():
        folder = resolve_preset(name)
        card = read_card(folder)
        entries.append({
            "name": name,
            "model": card.get("model"),
            "family": card.get("family"),
            "dataset": card.get("dataset"),
            "metrics": card.get("metrics", {}),
            "path": str(folder),
        })
    return entries


def model_index():
    """Lists every registered model architecture by reading the model files, without importing them.

    Each model file registers its classes with ``@register("name",
    family="...")`` (:mod:`kzoo.core.registry`); this parses the files below
    ``kzoo/models`` with :mod:`ast` and reads those decorators, so ``kzoo list
    --models`` answers without importing TensorFlow. The test suite checks
    that it agrees with the registry that importing the models fills.

    Returns:
        A list of dicts with keys ``model``, ``family``, ``class`` and
        ``module``, sorted by model name.

    Raises:
        ValueError: a ``register`` decorator whose name or family is not a
            string literal (the index could not read it).
    """
    import ast

    package = Path(__file__).resolve().parents[1] / "models"
    rows = []
    for path in sorted(package.rglob("*.py")):
        module = ".".join(("kzoo",) + path.relative_to(package.parent).with_suffix("").parts)
        for node in ast.walk(ast.parse(path.read_text(), filename=str(path))):
            if not isinstance(node, ast.ClassDef):
                continue
            for decorator in node.decorator_list:
                if not (isinstance(decorator, ast.Call) and getattr(decorator.func, "id", None) == "register"):
                    continue
                arguments = list(decorator.args) + [k.value for k in decorator.keywords if k.arg == "family"]
                if len(arguments) != 2 or not all(isinstance(a, ast.Constant) and isinstance(a.value, str)
                                                  for a in arguments):
                    raise ValueError(f"{path}:{decorator.lineno}: cannot read the register decorator of "
                                     f"{node.name}; expected register(\"name\", family=\"family\") with "
                                     "string literals.")
                rows.append({"model": arguments[0].value, "family": arguments[1].value, "class": node.name,
                             "module": module})
    return sorted(rows, key=lambda row: row["model"])
