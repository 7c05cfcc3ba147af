"""Every command a card records can be rerun from the repository root.

A card's ``command`` (and, for a warm-started entry, ``init_from.command``)
is the training run; its other ``*_command`` fields produce its numbers.
Each test here runs in seconds and trains nothing:

* each command is one exact command line: ``kzoo ...`` or ``python`` on a
  script in ``examples/`` or ``benchmarks/`` (no ``python -c``), with paths
  relative to the repository root, and it parses with its program's own
  argument parser;
* a training command is run through its program (``kzoo.cli.main`` for
  ``kzoo train``, the example script itself otherwise) up to the point where
  it constructs the model; the constructor arguments it passes must give the
  shipped ``config.json`` (ignoring ``name`` and ``dtype``, with renamed
  arguments mapped to today's names by ``upgrade_config``);
* every script named anywhere in a card exists.
"""

import contextlib
import json
import re
import runpy
import shlex
import shutil
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]
SAVED = REPO / "saved_models"
ENTRIES = sorted(p.name for p in SAVED.iterdir() if (p / "card.json").is_file())
SCRIPT_FOLDERS = ("examples", "benchmarks")
SCRIPT_MENTION = re.compile(r"\b(?:examples|benchmarks)/[\w./-]+\.py\b")
IGNORED_CONFIG_KEYS = ("name", "dtype")


def read_json(path):
    with open(path) as handle:
        return json.load(handle)


def card_of(entry):
    return read_json(SAVED / entry / "card.json")


def command_fields(card, prefix=""):
    """``(field path, command line)`` for every ``*command`` string in a card, nested ones included."""
    found = []
    for key, value in card.items():
        path = f"{prefix}{key}"
        if isinstance(value, dict):
            found += command_fields(value, prefix=path + ".")
        elif key.endswith("command"):
            found.append((path, value))
    return found


def training_stages(entry):
    """``(field, command, entry whose config it builds, arguments that differed then)`` per training stage.

    Earlier stages are nested ``init_from`` records. A stage warm-started into
    changed constructor arguments records them (``changed_arguments``:
    ``{name: [before, after]}``), so each earlier stage built the shipped
    config with the ``before`` values of every later change.
    """
    card = card_of(entry)
    stages = [("command", card["command"], entry, {})]
    field, stage, undone = "", card, {}
    while isinstance(stage.get("init_from"), dict) and stage["init_from"].get("command"):
        stage = stage["init_from"]
        field += "init_from."
        undone = {**undone, **{name: values[0] for name, values in stage.get("changed_arguments", {}).items()}}
        # A warm start from a shipped entry rebuilds that entry's config; from a
        # run that is not shipped, it needs the same architecture as this entry.
        source = stage.get("entry")
        stages.append((field + "command", stage["command"], *((source, {}) if source in ENTRIES else (entry, undone))))
    return stages


def stage_record(card, depth):
    """The card's record of the training stage ``depth`` warm starts back (0: the card itself)."""
    for _ in range(depth):
        card = card["init_from"]
    return card


ALL_COMMANDS = [(entry, field, command) for entry in ENTRIES for field, command in command_fields(card_of(entry))]
TRAINING = [(entry, *stage) for entry in ENTRIES for stage in training_stages(entry)]


def split_command(command):
    """The argument list of a recorded command, after checking it is one runnable line."""
    assert isinstance(command, str) and command.strip(), f"empty command {command!r}"
    argv = shlex.split(command)
    assert not any(token in argv for token in ("|", ";", "&&", ">", "<")), f"not a single command: {command!r}"
    for token in argv:
        value = token.split("=", 1)[-1]
        assert not value.startswith(("/", "~")), f"absolute path {token!r} in {command!r}"
    if argv[0] == "kzoo":
        return argv
    assert argv[0] == "python", f"a command runs `kzoo` or `python SCRIPT`, got {command!r}"
    assert len(argv) > 1 and argv[1] != "-c", f"`python -c` is not a recorded script: {command!r}"
    script = Path(argv[1])
    assert script.parts[0] in SCRIPT_FOLDERS, f"{command!r} runs {script}, which is not in examples/ or benchmarks/"
    assert (REPO / script).is_file(), f"{command!r} names {script}, which is not in the repository"
    return argv


class Parsed(Exception):
    """Raised by the patched ``parse_args``: the command parsed, nothing ran."""

    def __init__(self, namespace):
        super().__init__("parsed")
        self.namespace = namespace


class Built(Exception):
    """Raised where a program would construct its model, carrying the constructor arguments."""

    def __init__(self, model_cls, config):
        super().__init__("built")
        self.model_cls = model_cls
        self.config = dict(config)


class Capture:
    """Stands in for a model class: construction raises :class:`Built` instead of building."""

    def __init__(self, model_cls):
        self.model_cls = model_cls

    def __call__(self, **config):
        raise Built(self.model_cls, config)

    def from_config(self, config):
        raise Built(self.model_cls, config)

    def __getattr__(self, name):
        return getattr(self.model_cls, name)


@contextlib.contextmanager
def script_run(argv, tmp_path, monkeypatch):
    """Runs ``python SCRIPT ARGS`` in-process from a copy of the script under ``tmp_path``.

    The copy keeps the script's relative location, so paths the script
    derives from ``__file__`` or the working directory land in ``tmp_path``,
    never in the repository; the helpers its folder shares (``common.py`` of
    ``benchmarks/``) are copied beside it.
    """
    script = tmp_path / argv[1]
    script.parent.mkdir(parents=True, exist_ok=True)
    shutil.copyfile(REPO / argv[1], script)
    shared = (REPO / argv[1]).parent / "common.py"
    if shared.is_file():
        shutil.copyfile(shared, script.parent / "common.py")
    monkeypatch.chdir(tmp_path)
    monkeypatch.setattr(sys, "argv", [str(script), *argv[2:]])
    yield lambda: runpy.run_path(str(script), run_name="__main__")


def parse_only(argv, tmp_path, monkeypatch):
    """The namespace the command's own parser gives (SystemExit on a bad command line)."""
    import argparse

    original = argparse.ArgumentParser.parse_args

    def parse_then_stop(self, args=None, namespace=None):
        raise Parsed(original(self, args, namespace))

    monkeypatch.setattr(argparse.ArgumentParser, "parse_args", parse_then_stop)
    if argv[0] == "kzoo":
        from kzoo.cli import main

        runner = lambda: main(argv[1:])  # noqa: E731
        context = contextlib.nullcontext(runner)
    else:
        context = script_run(argv, tmp_path, monkeypatch)
    with context as run, pytest.raises(Parsed) as parsed:
        run()
    return parsed.value.namespace


def built_config(argv, tmp_path, monkeypatch):
    """``(model class, constructor arguments)`` the training command would build its model with."""
    import kzoo.training
    from kzoo.core import registry

    if argv[:2] == ["kzoo", "train"]:
        from kzoo.cli import main

        real = registry.get_model_class
        monkeypatch.setattr(kzoo.training, "get_model_class", lambda name: Capture(real(name)))
        with pytest.raises(Built) as built:
            main(argv[1:])
        return built.value.model_cls, built.value.config
    script = argv[1]
    if script == "examples/train_gan.py":
        real = registry.model_classes
        monkeypatch.setattr(registry, "model_classes",
                            lambda family=None: {n: Capture(c) for n, c in real(family).items()})
    elif script == "examples/train_ddpm.py":
        import kzoo.models.diffusion as diffusion

        monkeypatch.setattr(diffusion, "DDPM", Capture(diffusion.DDPM))
    elif script == "examples/train_mnist_classifier.py":
        import kzoo.models.classifier.mnist_classifier as classifier

        monkeypatch.setattr(classifier, "MnistClassifier", Capture(classifier.MnistClassifier))
    else:
        pytest.fail(f"no known way to see the model {script} builds; teach built_config() about it")
    with script_run(argv, tmp_path, monkeypatch) as run, pytest.raises(Built) as built:
        run()
    return built.value.model_cls, built.value.config


def comparable(config, model_cls):
    """A config with today's argument names, JSON types and without the keys that do not define the model."""
    config = {k: v for k, v in config.items() if k not in IGNORED_CONFIG_KEYS}
    upgrade = getattr(model_cls, "upgrade_config", None)
    if upgrade is not None:
        config = upgrade(config)
    return json.loads(json.dumps(config))


def differences(a, b):
    return {k: (a.get(k, "<absent>"), b.get(k, "<absent>")) for k in sorted(set(a) | set(b))
            if a.get(k, "<absent>") != b.get(k, "<absent>")}


def test_every_entry_has_a_training_command():
    assert ENTRIES, "no entries in saved_models/"
    for entry in ENTRIES:
        assert card_of(entry).get("command"), f"{entry}: card has no training command"


@pytest.mark.parametrize("entry,field,command", ALL_COMMANDS, ids=[f"{e}:{f}" for e, f, _ in ALL_COMMANDS])
def test_command_is_runnable_from_the_repository(entry, field, command, tmp_path, monkeypatch):
    argv = split_command(command)
    namespace = parse_only(argv, tmp_path, monkeypatch)
    if argv[:2] in (["kzoo", "eval"], ["kzoo", "sample"]):
        expected = entry
        depth = field.count("init_from.")
        if depth:  # a measurement of a warm start's source: the stage above names it
            main_argv = shlex.split(stage_record(card_of(entry), depth - 1)["command"])
            expected = main_argv[main_argv.index("--init-from") + 1]
        assert namespace.entry == expected, f"{entry}.{field} measures {namespace.entry!r}, not {expected!r}"


@pytest.mark.parametrize("entry,field,command,target,undone", TRAINING, ids=[f"{e}:{f}" for e, f, *_ in TRAINING])
def test_training_command_builds_the_shipped_config(entry, field, command, target, undone, tmp_path, monkeypatch):
    from kzoo.core.precision import precision_scope

    argv = split_command(command)
    model_cls, config = built_config(argv, tmp_path, monkeypatch)
    shipped = read_json(SAVED / target / "config.json")
    precision = card_of(target).get("precision", "float32")
    assert shipped["config"]["dtype"]["config"]["name"] == precision, f"{target}: config dtype is not {precision}"
    assert model_cls.__name__ == shipped["class_name"], f"{entry}.{field} builds a {model_cls.__name__}"
    with precision_scope(precision):
        model = model_cls.from_config(config)
    diff = differences(comparable(model.get_config(), model_cls),
                       comparable({**shipped["config"], **undone}, model_cls))
    assert not diff, f"{entry}.{field} builds a config unlike {target}/config.json (built, shipped): {diff}"


@pytest.mark.parametrize("entry", ENTRIES)
def test_warm_start_comes_from_a_recorded_stage(entry):
    """``--init-from runs/X/preset`` of every stage must be the output of the stage recorded under it."""
    stage = card_of(entry)
    while True:
        argv = shlex.split(stage["command"])
        if "--init-from" not in argv:
            return
        source = argv[argv.index("--init-from") + 1]
        if source in ENTRIES:
            return
        init = stage.get("init_from") or {}
        assert init.get("command"), f"{entry} warm-starts from {source!r} but records no init_from.command"
        earlier = shlex.split(init["command"])
        out = earlier[earlier.index("--out") + 1] if "--out" in earlier else None
        assert out is not None and Path(source) in (Path(out), Path(out) / "preset"), (
            f"{entry} warm-starts from {source!r}, which init_from.command (--out {out}) does not write")
        stage = init


@pytest.mark.parametrize("entry", ENTRIES)
def test_every_script_a_card_names_exists(entry):
    text = (SAVED / entry / "card.json").read_text()
    missing = sorted({m for m in SCRIPT_MENTION.findall(text) if not (REPO / m).is_file()})
    assert not missing, f"{entry}/card.json names scripts that are not in the repository: {missing}"
