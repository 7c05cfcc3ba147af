"""What the per-model benchmarks share: which entry stands for each model, and writing their JSON.

``sampling_speed.py`` and ``throughput.py`` measure every registered model
at its shipped entry; these helpers pick that entry and write the results
atomically (a killed benchmark never leaves half a JSON file).
"""

import json
import os
import sys


def shipped_entries():
    """Maps each registered model name to its shipped entry name (``<model>-mnist`` first, else the first one)."""
    from kzoo.core.catalog import list_presets

    by_model = {}
    for entry in list_presets():
        if entry.get("model"):
            by_model.setdefault(entry["model"], []).append(entry["name"])
    chosen = {}
    for model, names in by_model.items():
        preferred = f"{model.replace('_', '-')}-mnist"
        chosen[model] = preferred if preferred in names else sorted(names)[0]
    return chosen


def targets(requested, program):
    """``(model name, entry name or None)`` pairs to measure, in registry order.

    Args:
        requested: registered model names or entry names; empty or None for
            every registered model at its shipped entry.
        program: the benchmark's file name, for error messages.

    Raises:
        SystemExit: a name that is neither a registered model nor an entry.
    """
    from kzoo.core.catalog import list_presets, preset_names
    from kzoo.core.registry import import_all_models, model_names

    import_all_models()
    models = list(model_names())
    entries = shipped_entries()
    if not requested:
        return [(m, entries.get(m)) for m in models]
    known_entries = set(preset_names())
    out = []
    for name in requested:
        if name in models:
            out.append((name, entries.get(name)))
        elif name in known_entries:
            model = next((e["model"] for e in list_presets() if e["name"] == name), None)
            if model not in models:
                sys.exit(f"{program}: entry {name!r} is not of a registered generative model ({model!r}).")
            out.append((model, name))
        else:
            sys.exit(f"{program}: {name!r} is neither a registered model ({', '.join(models)}) nor an entry "
                     f"({', '.join(sorted(known_entries))}).")
    return out


def write_json(path, document):
    """Writes ``document`` as indented JSON to ``path`` atomically, creating its folder."""
    from kzoo.core.imaging import atomic_write

    os.makedirs(os.path.dirname(os.path.abspath(path)), exist_ok=True)

    def write(tmp):
        with open(tmp, "w") as handle:
            json.dump(document, handle, indent=2)

    atomic_write(path, write, suffix=".json")
