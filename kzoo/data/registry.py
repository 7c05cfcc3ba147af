"""Dataset descriptions and the table of named datasets.

Every named dataset is described by a :class:`DatasetInfo` and backed by a
loader function that returns the raw arrays of one split. Source modules
(:mod:`kzoo.data.builtin`, :mod:`kzoo.data.files`, :mod:`kzoo.data.toy`) add
their datasets to the table with :func:`register_dataset` when imported.
"""

from __future__ import annotations

import dataclasses
import difflib
from typing import Any, Callable, Dict, Mapping, Optional, Tuple

import numpy as np

__all__ = ["DatasetInfo", "register_dataset", "names", "get_spec", "canonical_name"]


@dataclasses.dataclass(frozen=True)
class DatasetInfo:
    """Static description of a dataset.

    Attributes:
        name: Registered name (or the folder path for image folders).
        shape: Shape of one example, ``(H, W, C)`` for images, ``(2,)`` for toy sets.
        num_classes: Number of label classes, or ``None`` when the set has no labels.
        splits: Mapping split name -> number of examples, for the sizes known without
            loading or downloading anything.
        bit_depth: Bits per stored pixel value (8 for 8-bit images), ``None`` for toy
            sets and for sets whose pixel levels are not a power of two.
        kind: ``"image"`` or ``"toy2d"``.
        description: One paragraph on the source, the split rule and the scale.
        modes: For Gaussian-mixture toy sets, the ``(K, 2)`` array of mode centres in
            data space; ``None`` otherwise.
        mode_std: For Gaussian-mixture toy sets, the per-coordinate standard deviation
            of every mode; ``None`` otherwise.
        num_levels: Number of distinct stored pixel values (256 for 8-bit data, 17 for
            ``digits``); ``None`` for toy sets. Uniform dequantization uses it.
        class_names: Names of the classes in label order, or ``None``.
    """

    name: str
    shape: Tuple[int, ...]
    num_classes: Optional[int]
    splits: Mapping[str, int]
    bit_depth: Optional[int]
    kind: str
    description: str
    modes: Optional[np.ndarray] = dataclasses.field(default=None, compare=False)
    mode_std: Optional[float] = None
    num_levels: Optional[int] = None
    class_names: Optional[Tuple[str, ...]] = None

    @property
    def has_labels(self) -> bool:
        """Whether the dataset carries integer class labels."""
        return self.num_classes is not None


@dataclasses.dataclass(frozen=True)
class _Spec:
    info: DatasetInfo
    # loader(split, **options) -> (x, y). x is either an integer array of stored
    # pixel levels (N, H, W, C) in [0, num_levels - 1], or float32 already in its
    # final space; y is an int32 array (N,) or None.
    loader: Callable[..., Tuple[np.ndarray, Optional[np.ndarray]]]
    # Extra message for splits that are deliberately absent (split -> message).
    missing_split_help: Mapping[str, str] = dataclasses.field(default_factory=dict)


_SPECS: Dict[str, _Spec] = {}
_ALIASES: Dict[str, str] = {}


def register_dataset(
    info: DatasetInfo,
    loader: Callable[..., Tuple[np.ndarray, Optional[np.ndarray]]],
    *,
    aliases: Tuple[str, ...] = (),
    missing_split_help: Optional[Mapping[str, str]] = None,
) -> None:
    """Adds a named dataset to the table.

    Args:
        info: The dataset description; ``info.name`` becomes the registered name.
        loader: ``loader(split, **options) -> (x, y)`` returning one split.
        aliases: Other spellings that resolve to this dataset.
        missing_split_help: Optional messages for splits the dataset deliberately
            lacks, shown when such a split is requested.

    Raises:
        ValueError: If the name or an alias is already registered.
    """
    key = info.name.lower()
    if key in _SPECS or key in _ALIASES:
        raise ValueError(f"Dataset name {info.name!r} is already registered.")
    _SPECS[key] = _Spec(info=info, loader=loader, missing_split_help=dict(missing_split_help or {}))
    for alias in aliases:
        alias = alias.lower()
        if alias in _SPECS or alias in _ALIASES:
            raise ValueError(f"Dataset alias {alias!r} is already registered.")
        _ALIASES[alias] = key


def names() -> list:
    """Lists the registered dataset names.

    Returns:
        A list of names in registration order (image sets first, then toy sets).
    """
    return [spec.info.name for spec in _SPECS.values()]


def canonical_name(name: str) -> Optional[str]:
    """Resolves a name or alias (case-insensitive, ``-`` same as ``_``).

    Args:
        name: A dataset name as typed by a user.

    Returns:
        The registered name, or ``None`` if the name is unknown.
    """
    key = str(name).strip().lower()
    for candidate in (key, key.replace("-", "_")):
        if candidate in _SPECS:
            return _SPECS[candidate].info.name
        if candidate in _ALIASES:
            return _SPECS[_ALIASES[candidate]].info.name
    return None


def unknown_name_error(name: Any) -> ValueError:
    """Builds the error for a name that is neither registered nor an existing folder.

    Args:
        name: The name received.

    Returns:
        A ``ValueError`` whose message suggests close matches and lists the known names.
    """
    known = names()
    pool = known + sorted(_ALIASES)
    close = difflib.get_close_matches(str(name).lower(), pool, n=3, cutoff=0.6)
    close = list(dict.fromkeys(canonical_name(c) for c in close))
    hint = ""
    if close:
        hint = " Did you mean " + " or ".join(repr(c) for c in close) + "?"
    return ValueError(
        f"Unknown dataset {name!r}.{hint} Known datasets: {', '.join(known)}. "
        "A path to an existing folder of images is also accepted."
    )


def get_spec(name: str) -> _Spec:
    """Returns the registry entry for a name.

    Args:
        name: A registered name or alias.

    Returns:
        The entry holding the dataset's info and loader.

    Raises:
        ValueError: If the name is unknown (with close-match suggestions).
    """
    canonical = canonical_name(name)
    if canonical is None:
        raise unknown_name_error(name)
    return _SPECS[canonical.lower()]


def check_split(spec: _Spec, split: str) -> str:
    """Validates a split name against a registry entry.

    Args:
        spec: The registry entry.
        split: The split requested.

    Returns:
        The split name.

    Raises:
        ValueError: If the dataset has no such split; the message names the split
            received and the valid ones.
    """
    valid = list(spec.info.splits)
    if split in valid:
        return split
    message = (
        f"Dataset {spec.info.name!r} has no split {split!r}. "
        f"Valid splits: {', '.join(repr(s) for s in valid)}."
    )
    if split in spec.missing_split_help:
        message += " " + spec.missing_split_help[split]
    raise ValueError(message)
