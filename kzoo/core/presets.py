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
import re
import shutil
import tempfile
import uuid
from pathlib import Path

import keras

from kzoo.core import catalog
from kzoo.core.catalog import CARD_FILE, CONFIG_FILE, WEIGHTS_FILE
from kzoo.core.imaging import current_umask
from kzoo.core.registry import import_all_models
from kzoo.core.version import __version__


class ChecksumError(ValueError):
    """The weights file does not match the sha256 recorded in card.json."""


_SHA256_HEX = re.compile(r"[0-9a-f]{64}")


def _write_error(err, folder, step):
    """An OSError of the same errno that says what failed and that nothing was left behind."""
    reason = err.strerror or str(err)
    message = (f"Could not save the preset to {folder}: {reason} while {step}. Nothing was written there; "
               "the temporary files were removed.")
    return OSError(err.errno, message) if err.errno is not None else OSError(message)


def _remove(path):
    if path is not None:
        shutil.rmtree(path, ignore_errors=True)


def _move_into_place(staging, folder):
    """Renames ``staging`` to ``folder``, replacing an existing ``folder`` only once the new one is in place."""
    if not folder.exists():
        os.replace(staging, folder)
        return
    previous = folder.parent / f".{folder.name}-previous-{uuid.uuid4().hex[:8]}"
    os.replace(folder, previous)
    try:
        os.replace(staging, folder)
    except BaseException:
        os.replace(previous, folder)
        raise
    shutil.rmtree(previous, ignore_errors=True)


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
        OSError: the files cannot be written (``PermissionError`` for a
            read-only folder, errno ``ENOSPC`` for a full disk ...); the
            message names the folder and the step that failed, and no
            temporary or partial files are left behind (an existing preset
            being overwritten is kept).
    """
    folder = Path(folder)
    if folder.exists() and not overwrite:
        raise FileExistsError(f"{folder} already exists; pass overwrite=True to replace it.")
    if not model.built:
        raise ValueError("The model is not built: call it on one batch (or model.build_for_data()) first.")
    if getattr(model, "registered_name", None) is None:
        raise ValueError(f"{type(model).__name__} is not a registered kzoo model (use @kzoo.core.register).")
    staging = None
    step = f"creating the folder {folder.parent}"
    try:
        folder.parent.mkdir(parents=True, exist_ok=True)
        step = f"creating a temporary folder in {folder.parent}"
        staging = Path(tempfile.mkdtemp(prefix=f".{folder.name}-", dir=folder.parent))
        inference_model = _inference_copy(model)
        config = keras.saving.serialize_keras_object(inference_model)
        step = f"writing {CONFIG_FILE}"
        (staging / CONFIG_FILE).write_text(json.dumps(config, indent=2, sort_keys=True))
        step = f"writing {WEIGHTS_FILE}"
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
        step = f"writing {CARD_FILE}"
        (staging / CARD_FILE).write_text(json.dumps(full_card, indent=2) + "\n")
        os.chmod(staging, 0o777 & ~current_umask())
        step = f"moving the new preset into place as {folder}"
        _move_into_place(staging, folder)
    except OSError as err:
        _remove(staging)
        raise _write_error(err, folder, step) from err
    except BaseException:
        _remove(staging)
        raise
    return folder


def update_card(folder, **fields):
    """Merges ``fields`` into an existing card.json (``metrics`` dicts are merged), atomically.

    Args:
        folder: the entry folder.
        **fields: card fields to set.

    Returns:
        The updated card dict.

    Raises:
        FileNotFoundError: the folder has no card.json.
        ValueError: card.json is not a JSON object.
        OSError: card.json cannot be rewritten; the old card is kept and no
            temporary file is left behind.
    """
    card = catalog.read_card(folder)
    for key, value in fields.items():
        if key == "metrics" and isinstance(value, dict):
            card.setdefault("metrics", {}).update(value)
        else:
            card[key] = value
    path = Path(folder) / CARD_FILE
    tmp = path.with_name(f".{CARD_FILE}.{uuid.uuid4().hex[:8]}.tmp")
    try:
        tmp.write_text(json.dumps(card, indent=2) + "\n")
        os.replace(tmp, path)
    except OSError as err:
        tmp.unlink(missing_ok=True)
        reason = err.strerror or str(err)
        message = f"Could not update {path}: {reason}. The previous card was kept."
        raise (OSError(err.errno, message) if err.errno is not None else OSError(message)) from err
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise
    return card


def verify_preset(name_or_path):
    """Checks that an entry's files exist and the weights match card.json.

    Args:
        name_or_path: entry name or folder.

    Returns:
        ``(folder, card)``.

    Raises:
        ValueError: unknown entry name, or card.json is not a JSON object.
        FileNotFoundError: a file is missing.
        ChecksumError: the card records no valid sha256, or the weights'
            sha256 differs from the card's.
    """
    folder = catalog.resolve_preset(name_or_path)
    missing = [f for f in catalog.PRESET_FILES if not (folder / f).is_file()]
    if missing:
        raise FileNotFoundError(f"Preset folder {folder} is missing {', '.join(missing)}.")
    card = catalog.read_card(folder)
    expected = card.get("sha256")
    if not expected:
        raise ChecksumError(f"{folder / CARD_FILE} records no sha256 for {WEIGHTS_FILE}; expected a 'sha256' "
                            "field with the 64 hex digits of its checksum.")
    if not isinstance(expected, str) or not _SHA256_HEX.fullmatch(expected):
        raise ChecksumError(f"{folder / CARD_FILE} field 'sha256' is {expected!r}; expected the 64 lowercase hex "
                            f"digits of the sha256 of {WEIGHTS_FILE}.")
    actual = sha256_of(folder / WEIGHTS_FILE)
    if actual != expected:
        raise ChecksumError(
            f"{folder / WEIGHTS_FILE} has sha256 {actual}, but card.json records {expected}: "
            "the file is corrupt or was replaced."
        )
    return folder, card


def _kzoo_model_classes():
    """Registered name (``"kzoo>VAE"``) -> class, for every registered kzoo model class."""
    found = {}
    for key, obj in keras.saving.get_custom_objects().items():
        if (key.startswith("kzoo>") and isinstance(obj, type) and issubclass(obj, keras.Model)
                and hasattr(obj, "build_for_data")):
            found[key] = obj
    return found


def _check_config(config, path):
    """Refuses a config that does not name a registered kzoo model, before Keras builds anything.

    Args:
        config: the parsed config.json.
        path: its path, for messages.

    Raises:
        ValueError: not a JSON object, no ``config`` object, or a class that
            is not a registered kzoo model (another package's class, a
            function, a lambda, or a name that is not registered).
    """
    expected_keys = "class_name, module, registered_name, config"
    if not isinstance(config, dict):
        raise ValueError(f"{path} holds a JSON {type(config).__name__}; expected a JSON object with the keys "
                         f"{expected_keys} describing a kzoo model.")
    class_name, module = config.get("class_name"), config.get("module")
    registered = config.get("registered_name")
    known = _kzoo_model_classes()
    wanted = f"kzoo>{class_name}" if isinstance(class_name, str) else None
    # The module may have moved within its package since the file was written (old configs still load), but
    # not to another package: the registered class's top-level package must match.
    ok = (wanted in known and registered in (None, wanted)
          and (module is None or (isinstance(module, str)
                                  and module.split(".")[0] == known[wanted].__module__.split(".")[0])))
    if not ok:
        source = f" from {module!r}" if module is not None else ""
        if registered not in (None, wanted):
            source += f" under the registered name {registered!r}"
        raise ValueError(
            f"{path} does not describe a kzoo model: it builds a {class_name}{source}, which is not a registered "
            f"kzoo model; expected one of {', '.join(sorted(k.split('>', 1)[1] for k in known))} from its "
            "own package. The file was edited or was not written by kzoo; it was refused before anything was built."
        )
    if not isinstance(config.get("config"), dict):
        raise ValueError(f"{path}: 'config' is {_short(config.get('config'))}; expected a JSON object of "
                         f"{class_name} constructor arguments.")


def _short(value, limit=80):
    text = repr(value)
    return text if len(text) <= limit else text[: limit - 3] + "..."


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
        ValueError: unknown entry; a config.json that is not JSON, names a
            class that is not a registered kzoo model (checked before anything
            is built) or has invalid arguments; weights that do not load.
        FileNotFoundError: a file is missing.
        ChecksumError: the weights do not match card.json.
    """
    import_all_models()  # every model class (the evaluation classifier too) is known to Keras

    folder, card = verify_preset(name_or_path)
    config_path = folder / CONFIG_FILE
    try:
        config = json.loads(config_path.read_text(encoding="utf-8"))
    except (json.JSONDecodeError, UnicodeDecodeError) as err:
        raise ValueError(f"{config_path} is not valid JSON text ({err}); expected the JSON object that "
                         "save_preset writes.") from err
    _check_config(config, config_path)
    try:
        model = keras.saving.deserialize_keras_object(config, safe_mode=True)
    except Exception as err:  # noqa: BLE001 - constructors and Keras raise many types on a bad config
        raise ValueError(f"{config_path} does not describe a valid kzoo model {config['class_name']}: "
                         f"{type(err).__name__}: {err}") from err
    if not (isinstance(model, keras.Model) and hasattr(model, "build_for_data")):
        raise ValueError(f"{config_path} does not describe a kzoo model: it builds a "
                         f"{type(model).__name__}.")
    model.build_for_data()
    try:
        model.load_weights(folder / WEIGHTS_FILE)
    except Exception as err:  # noqa: BLE001 - h5py and Keras raise many types on a bad file
        raise ValueError(f"Could not load {folder / WEIGHTS_FILE} into {type(model).__name__}: "
                         f"{type(err).__name__}: {err} (expected the weights file that save_preset wrote for "
                         f"this {CONFIG_FILE}).") from err
    if compile:
        model.compile()
    model.card = card
    return model
