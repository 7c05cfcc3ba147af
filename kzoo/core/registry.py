"""The model registry: maps a model name (``"vae"``) to its class.

Model files register themselves with the :func:`register` decorator, which
also registers the class with Keras serialization under the ``kzoo`` package.
The registry finds them by discovery: :func:`import_all_models` walks the
``kzoo.models`` packages at run time and imports every module, so a new model
is its file (plus its test, example and entry) and no table has to grow.
:func:`export_family` gives each family package its public names the same way.
"""

import difflib
import importlib
import pkgutil

import keras

MODELS_PACKAGE = "kzoo.models"

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


def import_all_models():
    """Imports every module below ``kzoo.models`` (which registers every model) once.

    Returns:
        The sorted names of the modules found.
    """
    package = importlib.import_module(MODELS_PACKAGE)
    names = sorted(info.name for info in pkgutil.walk_packages(package.__path__, prefix=f"{MODELS_PACKAGE}."))
    for name in names:
        importlib.import_module(name)
    return names


def export_family(package_name, namespace):
    """Fills a family package's namespace with the public names of its modules.

    A family's ``__init__.py`` calls ``__all__ = export_family(__name__,
    globals())``: every module of the package is imported and each name in
    its ``__all__`` becomes an attribute of the package, so ``from
    kzoo.models.gan import DCGAN`` works without a list that grows per model.

    Args:
        package_name: the family package (``__name__`` of its ``__init__``).
        namespace: the package's ``globals()``.

    Returns:
        The sorted exported names (the package's ``__all__``).

    Raises:
        ValueError: two modules of the package export the same name.
    """
    package = importlib.import_module(package_name)
    exported = {}
    for info in pkgutil.iter_modules(package.__path__, prefix=f"{package_name}."):
        module = importlib.import_module(info.name)
        for name in getattr(module, "__all__", ()):
            if name in exported and exported[name] is not module:
                raise ValueError(f"{package_name}: {name!r} is exported by both {exported[name].__name__} "
                                 f"and {module.__name__}.")
            exported[name] = module
            namespace[name] = getattr(module, name)
    return sorted(exported)


def model_names():
    """Returns the sorted names of all registered models."""
    import_all_models()
    return sorted(_MODELS)


def model_classes(family=None):
    """Registered model classes by name, optionally of one family.

    Args:
        family: None for all, or a family name (``"gan"``, ``"flows"`` ...).

    Returns:
        A dict name -> class, sorted by name.
    """
    import_all_models()
    return {name: cls for name, cls in sorted(_MODELS.items()) if family is None or cls.family == family}


def get_model_class(name):
    """Returns the class registered under ``name``.

    Raises:
        ValueError: unknown name; the message suggests close matches.
    """
    import_all_models()
    if name not in _MODELS:
        close = difflib.get_close_matches(name, list(_MODELS), n=3, cutoff=0.5)
        hint = f" Did you mean {', '.join(repr(c) for c in close)}?" if close else ""
        raise ValueError(f"Unknown model {name!r}.{hint} Known models: {', '.join(sorted(_MODELS))}.")
    return _MODELS[name]
