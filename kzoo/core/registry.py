"""The model registry: maps a model name (``"vae"``) to its class.

Model files register themselves with the :func:`register` decorator, which
also registers the class with Keras serialization under the ``kzoo`` package,
so no central table has to grow when a family adds a model.
"""

import difflib

import keras

_MODELS = {}


def register(name, family):
    """Class decorator that registers a model under ``name``.

    Args:
        name: the short, unique model name used by the CLI and presets.
        family: one of ``"autoregressive"``, ``"flow"``, ``"latent"``,
            ``"gan"``, ``"diffusion"``.

    Returns:
        The decorator, which returns the class unchanged.

    Raises:
        ValueError: ``name`` is already registered to another class.
    """

    def decorator(cls):
        existing = _MODELS.get(name)
        if existing is not None and existing.__qualname__ != cls.__qualname__:
            raise ValueError(f"Model name {name!r} is already registered to {existing.__qualname__}.")
        cls.registered_name = name
        cls.family = family
        keras.saving.register_keras_serializable(package="kzoo", name=cls.__name__)(cls)
        _MODELS[name] = cls
        return cls

    return decorator


def _import_all_models():
    import kzoo.models  # noqa: F401  (importing registers every model)


def model_names():
    """Returns the sorted names of all registered models."""
    _import_all_models()
    return sorted(_MODELS)


def get_model_class(name):
    """Returns the class registered under ``name``.

    Raises:
        ValueError: unknown name; the message suggests close matches.
    """
    _import_all_models()
    if name not in _MODELS:
        close = difflib.get_close_matches(name, list(_MODELS), n=3, cutoff=0.5)
        hint = f" Did you mean {', '.join(repr(c) for c in close)}?" if close else ""
        raise ValueError(f"Unknown model {name!r}.{hint} Known models: {', '.join(sorted(_MODELS))}.")
    return _MODELS[name]
