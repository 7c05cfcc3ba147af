"""kzoo: a Keras 3 model zoo of generative models.

Every model is a subclassed ``keras.Model`` trained with ``fit()``; pretrained
entries live in ``saved_models/`` and load by name::

    import kzoo
    model = kzoo.load("vae-mnist")
    images = model.generate(16, seed=0)

Importing ``kzoo`` is cheap: TensorFlow is imported only when a model, dataset
or metric is first used (so ``kzoo list`` answers quickly).
"""

import importlib

from kzoo.core.version import __version__

_LAZY_SUBMODULES = ("analysis", "callbacks", "core", "data", "evaluation", "layers", "metrics", "models")


def load(name_or_path, **kwargs):
    """Loads a pretrained entry by name or from a preset folder.

    Args:
        name_or_path: an entry name from :func:`list_presets` (e.g.
            ``"vae-mnist"``) or the path of a folder holding ``config.json``,
            ``model.weights.h5`` and ``card.json``.
        **kwargs: passed to :func:`kzoo.core.presets.load_preset`.

    Returns:
        The built model with its trained weights.

    Raises:
        ValueError: the name is unknown (close matches are suggested).
        FileNotFoundError: a preset file is missing.
        kzoo.core.presets.ChecksumError: the weights do not match card.json.
    """
    from kzoo.core import presets

    return presets.load_preset(name_or_path, **kwargs)


def list_presets():
    """Lists the pretrained entries without importing TensorFlow.

    Returns:
        A list of dicts with ``name``, ``model``, ``family``, ``dataset`` and
        ``metrics`` (the headline numbers of each entry's card.json).
    """
    from kzoo.core import catalog

    return catalog.list_presets()


def __getattr__(name):
    if name in _LAZY_SUBMODULES:
        return importlib.import_module(f"kzoo.{name}")
    raise AttributeError(f"module 'kzoo' has no attribute {name!r}")


__all__ = ["__version__", "load", "list_presets", *_LAZY_SUBMODULES]
