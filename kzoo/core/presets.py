"""Pretrained entries: save a trained model as a folder, load it by name.

A preset folder holds ``config.json`` (the Keras serialization of the model:
registered class + constructor arguments), ``model.weights.h5`` and
``card.json`` (dataset, exact training command, epochs, wall time, kzoo
version, measured metrics, and the weights' sha256). Loading verifies the
checksum first, rebuilds the model in Keras safe mode and loads the weights.
"""

import datetime
import hashlib
import json
import os
import shutil
import tempfile
from pathlib import Path

import keras

from kzoo.core import catalog
from kzoo.core.catalog import CARD_FILE, CONFIG_FILE, WEIGHTS_FILE
from kzoo.core.imaging import current_umask
from kzoo.core.registry import import_all_models
from kzoo.core.version import __version__


class ChecksumError(ValueError):
    """The weights file does not match the sha256 recorded in card.json."""


def sha256_of(path, chunk_size=1 << 20):
    """Returns the hex sha256 digest of a file."""
    digest = hashlib.sha256()
    with open(path, "rb") as handle:
        for block in iter(lambda: handle.read(chunk_size), b""):
            digest.update(block)
    return digest.hexdigest()


def _versions():
    import tensorflow as tf
    import tensorflow_probability as tfp

    return {"kzoo": __version__, "keras": keras.__version__, "tensorflow": tf.__version__,
            "tensorflow_probability": tfp.__version__}


def _inference_copy(model):
    """A built, uncompiled copy of ``model`` with the same weights.

    A compiled model's config carries its optimizer and ``save_weights``
    stores the optimizer state, which triples an Adam-trained entry and is
    not needed to use it; entries hold the model alone.
    """
    if getattr(model, "optimizer", None) is None and getattr(model, "d_optimizer", None) is None:
        return model
    copy = type(model).from_config(model.get_config())
    copy.build_for_data()
    copy.set_weights(model.get_weights())
    return copy


def save_preset(model, folder, card=None, overwrite=False):
    """Saves a built model as a preset folder, atomically.

    Everything is written to a temporary folder beside ``folder`` and moved
    into place at the end, so a failure never leaves a half-written preset.

    Args:
        model: a built :class:`kzoo.core.GenerativeModel`.
        folder: destination folder.
        card: dict of card fields (``dataset``, ``command``, ``epochs``,
            ``wall_time_seconds``, ``metrics`` ...). ``name``, ``model``,
            ``family``, ``versions``, ``created`` and ``sha256`` are filled in.
        overwrite: replace an existing folder.

    Returns:
        The ``pathlib.Path`` of the preset folder.

    Raises:
        FileExistsError: the folder exists and ``overwrite`` is False.
        ValueError: the model is not built or not a registered kzoo model.
    """
    folder = Path(folder)
    if folder.exists() and not overwrite:
        raise FileExistsError(f"{folder} already exists; pass overwrite=True to replace it.")
    if not model.built:
        raise ValueError("The model is not built: call it on one batch (or model.build_for_data()) first.")
    if getattr(model, "registered_name", None) is None:
        raise ValueError(f"{type(model).__name__} is not a registered kzoo model (use @kzoo.core.register).")
    folder.parent.mkdir(parents=True, exist_ok=True)
    staging = Path(tempfile.mkdtemp(prefix=f".{folder.name}-", dir=folder.parent))
    try:
        inference_model = _inference_copy(model)
        config = keras.saving.serialize_keras_object(inference_model)
        (staging / CONFIG_FILE).write_text(json.dumps(config, indent=2, sort_keys=True))
        inference_model.save_weights(staging / WEIGHTS_FILE)
        full_card = {
            "name": folder.name,
            "model": model.registered_name,
            "family": model.family,
            "parameters": int(model.count_params()),
            **(card or {}),
            "versions": _versions(),
            "created": datetime.datetime.now(datetime.timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ"),
            "sha256": sha256_of(staging / WEIGHTS_FILE),
        }
        (staging / CARD_FILE).write_text(json.dumps(full_card, indent=2) + "\n")
        os.chmod(staging, 0o777 & ~current_umask())
        if folder.exists():
            shutil.rmtree(folder)
        os.replace(staging, folder)
    except BaseException:
        shutil.rmtree(staging, ignore_errors=True)
        raise
    return folder


def update_card(folder, **fields):
    """Merges ``fields`` into an existing card.json (``metrics`` dicts are merged)."""
    card = catalog.read_card(folder)
    for key, value in fields.items():
        if key == "metrics" and isinstance(value, dict):
            card.setdefault("metrics", {}).update(value)
        else:
            card[key] = value
    path = Path(folder) / CARD_FILE
    tmp = path.with_suffix(".json.tmp")
    tmp.write_text(json.dumps(card, indent=2) + "\n")
    os.replace(tmp, path)
    return card


def verify_preset(name_or_path):
    """Checks that an entry's files exist and the weights match card.json.

    Args:
        name_or_path: entry name or folder.

    Returns:
        ``(folder, card)``.

    Raises:
        ValueError: unknown entry name.
        FileNotFoundError: a file is missing.
        ChecksumError: the weights' sha256 differs from the card's.
    """
    folder = catalog.resolve_preset(name_or_path)
    missing = [f for f in catalog.PRESET_FILES if not (folder / f).is_file()]
    if missing:
        raise FileNotFoundError(f"Preset folder {folder} is missing {', '.join(missing)}.")
    card = catalog.read_card(folder)
    expected = card.get("sha256")
    if not expected:
        raise ChecksumError(f"{folder / CARD_FILE} records no sha256 for {WEIGHTS_FILE}.")
    actual = sha256_of(folder / WEIGHTS_FILE)
    if actual != expected:
        raise ChecksumError(
            f"{folder / WEIGHTS_FILE} has sha256 {actual}, but card.json records {expected}: "
            "the file is corrupt or was replaced."
        )
    return folder, card


def load_preset(name_or_path, compile=False):
    """Loads a pretrained entry, verified and rebuilt in Keras safe mode.

    Args:
        name_or_path: entry name (see ``kzoo.list_presets()``) or folder.
        compile: compile the model with its default optimizer(s) so that it
            can be fine-tuned with ``fit`` right away.

    Returns:
        The built model with the entry's weights (a generative model, or the
        evaluation classifier for ``mnist-classifier``); its card is in
        ``model.card``.

    Raises:
        ValueError: unknown entry or an invalid config.
        FileNotFoundError: a file is missing.
        ChecksumError: the weights do not match card.json.
    """
    import_all_models()  # every model class (the evaluation classifier too) is known to Keras

    folder, card = verify_preset(name_or_path)
    try:
        config = json.loads((folder / CONFIG_FILE).read_text())
        model = keras.saving.deserialize_keras_object(config, safe_mode=True)
    except (json.JSONDecodeError, TypeError, ValueError) as err:
        raise ValueError(f"{folder / CONFIG_FILE} does not describe a kzoo model: {err}") from err
    if not (isinstance(model, keras.Model) and hasattr(model, "build_for_data")):
        raise ValueError(f"{folder / CONFIG_FILE} does not describe a kzoo model: it builds a "
                         f"{type(model).__name__}.")
    model.build_for_data()
    try:
        model.load_weights(folder / WEIGHTS_FILE)
    except (OSError, ValueError) as err:
        raise ValueError(f"Could not load {folder / WEIGHTS_FILE} into {type(model).__name__}: {err}") from err
    if compile:
        model.compile()
    model.card = card
    return model
