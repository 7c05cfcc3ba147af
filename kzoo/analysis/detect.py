"""Novelty detection of a dataset or an image folder with a trained explicit model: ``kzoo detect``.

:func:`detect` loads the inputs in the model's data space (a folder of the
user's own images is resized and converted to the model's image size and
channels, then binarized or dequantized as the model's held-out data is),
calibrates an :class:`~kzoo.analysis.anomaly.AnomalyDetector` threshold on
held-out normal data at a false-positive rate, scores and flags every input,
writes one CSV row per input, and, when labels say which inputs are
outliers (``normal_classes``), adds the ROC / PR summary of
:func:`~kzoo.analysis.anomaly.report`.
"""

import csv
import os
import tempfile
from dataclasses import dataclass
from typing import Optional, Sequence, Tuple

import numpy as np

from kzoo.analysis.anomaly import AnomalyDetector, CodeDensity, report


@dataclass
class DetectionInputs:
    """Inputs of one source in a model's data space.

    Attributes:
        x: array ``(N,) + model.data_shape``.
        labels: int class labels ``(N,)``, or None when the source has none.
        class_names: the names of the label values (folder subfolders, or
            the dataset's class names), or None.
        names: one name per input for the CSV: the file path relative to
            the folder, or the index within the dataset split.
        source: what the inputs are, for messages (``"mnist/test"`` or
            the folder path).
    """

    x: np.ndarray
    labels: Optional[np.ndarray]
    class_names: Optional[Tuple[str, ...]]
    names: Sequence[str]
    source: str


def _is_folder(data):
    """Whether ``data`` (already known to :func:`kzoo.data.info`) is an image folder rather than a dataset name."""
    from kzoo.data.registry import canonical_name

    return not (isinstance(data, str) and canonical_name(data) is not None)


def load_inputs(model, data, split=None, *, data_dir=None, limit=None, seed=0):
    """Loads a dataset split or a whole image folder in ``model``'s data space.

    Args:
        model: a kzoo explicit model (``data_shape``, ``data_options``).
        data: a dataset name or a folder of images (directly in it, or one
            subfolder per class); folder images are resized to the model's
            image size and converted to its channels.
        split: a named dataset's split (default: test if it has one, else
            validation); a folder is read whole, so it takes none.
        data_dir: folder of dataset files for file-based datasets (a
            folder ``data`` ignores it).
        limit: keep only the first ``limit`` inputs.
        seed: seed of static binarization or dequantization.

    Returns:
        A :class:`DetectionInputs`.

    Raises:
        ValueError: unknown dataset or split, a split given with a folder,
            a dataset whose examples differ from the model's shape, or a bad
            ``limit``.
        FileNotFoundError, NotADirectoryError: a folder path that does not
            exist.
        kzoo.data.DataFormatError: a file of the folder that is not a
            readable image.
    """
    from kzoo import data as kdata
    from kzoo.core.validation import check_positive_int
    from kzoo.data import folder as kfolder
    from kzoo.evaluation.evaluate import default_split

    data_shape = tuple(model.data_shape)
    info = kdata.info(data)
    folder = _is_folder(data)
    options = dict(model.data_options("test"))
    if folder:
        if split is not None:
            raise ValueError(f"a folder is scored whole: --split {split} applies to named datasets only, not to "
                             f"{os.fspath(data)!r}.")
        if len(data_shape) != 3 or data_shape[-1] not in (1, 3):
            raise ValueError(f"{type(model).__name__} models examples of shape {data_shape}, not images: score a "
                             "named dataset of that shape instead of a folder.")
        files, labels, class_names = kfolder.index_folder(data)
        options.update(image_size=data_shape[:2], color_mode="grayscale" if data_shape[-1] == 1 else "rgb")
        split_name, load_split = None, "train"  # a folder without validation_split: "train" is every image
        root = os.fspath(data)
        names = [os.path.relpath(path, root) for path in files]
    else:
        split_name = load_split = split or default_split(info)
        labels, class_names, names = None, getattr(info, "class_names", None), None
    labeled = bool(info.num_classes) if not folder else labels is not None
    loaded = kdata.load_numpy(data, load_split, data_dir=None if folder else data_dir, labels=labeled, seed=seed,
                              **options)
    x, labels = loaded if labeled else (loaded, None)
    if names is None:
        names = [str(i) for i in range(len(x))]
    if limit is not None:
        limit = check_positive_int(limit, "limit")
        x, names = x[:limit], names[:limit]
        labels = None if labels is None else labels[:limit]
    if tuple(x.shape[1:]) != data_shape:
        raise ValueError(f"{data!r} has examples of shape {tuple(x.shape[1:])}, but {type(model).__name__} expects "
                         f"{data_shape}.")
    source = os.fspath(data) if folder else f"{info.name}/{split_name}"
    return DetectionInputs(x, labels, None if class_names is None else tuple(class_names), names, source)


def normal_mask(inputs, normal_classes):
    """Which inputs belong to the given classes.

    Args:
        inputs: a :class:`DetectionInputs` with labels.
        normal_classes: class names (folder subfolders, or the dataset's
            class names) or integer labels, as strings or ints.

    Returns:
        Boolean array ``(N,)``: True for normal inputs.

    Raises:
        ValueError: the inputs have no labels, or a class that is not one of
            theirs.
    """
    if inputs.labels is None:
        raise ValueError(f"choosing classes needs labelled inputs, but {inputs.source} has none (a folder needs one "
                         "subfolder per class).")
    names = inputs.class_names or ()
    num_classes = len(names) or int(inputs.labels.max()) + 1
    chosen = set()
    for item in normal_classes:
        text = str(item).strip()
        if text in names:
            chosen.add(names.index(text))
        elif text.isdigit() and int(text) < num_classes:
            chosen.add(int(text))
        else:
            offered = ", ".join(names) if names else f"0 to {num_classes - 1}"
            raise ValueError(f"class {text!r} is not a class of {inputs.source}; its classes are {offered}.")
    return np.isin(inputs.labels, sorted(chosen))


def _check_output(path):
    """Fails before any scoring when the CSV cannot be written."""
    path = os.fspath(path)
    if not path.lower().endswith(".csv"):
        raise ValueError(f"--out: the scores file must end in .csv, got {path!r}.")
    parent = os.path.dirname(os.path.abspath(path))
    if not os.path.isdir(parent):
        raise FileNotFoundError(f"--out {path}: the folder {parent} does not exist.")
    if not os.access(parent, os.W_OK):
        raise PermissionError(f"--out {path}: the folder {parent} is not writable.")
    if os.path.isdir(path):
        raise IsADirectoryError(f"--out {path} is a folder; give the path of a .csv file.")
    return path


def write_scores_csv(path, inputs, scores, flags, normal=None):
    """Writes one row per input (``input``, ``label``, ``outlier``, ``score``, ``flagged``) atomically.

    The file appears complete or not at all: rows go to a temporary file in
    the same folder, renamed over ``path`` at the end.

    Args:
        path: output ``.csv`` path.
        inputs: the scored :class:`DetectionInputs`.
        scores: float scores ``(N,)``.
        flags: booleans ``(N,)``, True for inputs above the threshold.
        normal: optional booleans ``(N,)``, True for inputs of the normal
            classes (adds the ``outlier`` column).
    """
    path = _check_output(path)
    header = ["input"]
    if inputs.labels is not None:
        header.append("label")
    if normal is not None:
        header.append("outlier")
    header += ["score", "flagged"]
    descriptor, temporary = tempfile.mkstemp(prefix=".scores-", suffix=".csv.tmp",
                                             dir=os.path.dirname(os.path.abspath(path)))
    try:
        with os.fdopen(descriptor, "w", newline="") as handle:
            writer = csv.writer(handle)
            writer.writerow(header)
            for i, name in enumerate(inputs.names):
                row = [name]
                if inputs.labels is not None:
                    label = int(inputs.labels[i])
                    row.append(inputs.class_names[label] if inputs.class_names else label)
                if normal is not None:
                    row.append(int(not normal[i]))
                row += [f"{scores[i]:.6g}", int(flags[i])]
                writer.writerow(row)
        os.replace(temporary, path)
    except BaseException:
        if os.path.exists(temporary):
            os.remove(temporary)
        raise


def detect(model, data, split=None, *, calibrate=None, calibrate_split=None, calibrate_classes=None, threshold=None,
           fpr=0.05, unit="nats", reference=None, complexity=None, code_density=None, code_fit=None,
           code_fit_split="train", two_sided=False, typicality_guard=False, normal_classes=None, out=None,
           data_dir=None, limit=None, batch_size=256, seed=0, verbose=True, **log_prob_kwargs):
    """Scores and flags every input of a dataset split or an image folder.

    Args:
        model: a trained, unconditional kzoo explicit model of the normal data.
        data: dataset name or image folder to score (see :func:`load_inputs`).
        split: its split (named datasets only).
        calibrate: dataset name or folder of held-out normal data that sets
            the threshold at ``fpr``. Needed unless ``threshold``.
        calibrate_split: its split (default: validation if it has one).
        calibrate_classes: optional classes of ``calibrate`` to calibrate on
            (e.g. the digits a model was trained on); default all.
        threshold: a known threshold instead of a calibration.
        fpr: false-positive rate of the calibrated threshold, in (0, 1).
        unit: ``"nats"``, ``"bits"`` or ``"bits_per_dim"``.
        reference: optional background model (likelihood-ratio score).
        complexity: optional ``"png"`` / ``"zlib"`` complexity correction.
        code_density: optional number of mixture components: score the
            density of the inputs' codes instead of their likelihood (a
            :class:`~kzoo.analysis.anomaly.CodeDensity` fitted to the codes
            of ``code_fit``; latent models only).
        code_fit: dataset name or folder of normal training images the code
            density is fitted to (needed with ``code_density``); restricted
            to ``calibrate_classes`` when those are given.
        code_fit_split: its split (named datasets only; default train).
        two_sided: score the distance from the calibration median in either
            direction (see :class:`~kzoo.analysis.anomaly.AnomalyDetector`).
        typicality_guard: keep the one-sided score and flag too-likely or
            too-unlikely raw NLLs as well (see ``AnomalyDetector``).
        normal_classes: optional classes of the inputs that are normal; the
            others are outliers, and the result adds the detection summary.
        out: optional ``.csv`` path of the per-input scores.
        data_dir: folder of dataset files for the named datasets among
            ``data``, ``calibrate`` and ``code_fit`` (folders ignore it).
        limit: score only the first ``limit`` inputs (and calibration inputs).
        batch_size: examples per ``log_prob`` batch.
        seed: seed of binarization, dequantization and stochastic bounds.
        verbose: progress bars.
        **log_prob_kwargs: passed to ``model.log_prob`` (e.g. ``k``).

    Returns:
        A dict: ``entry``, ``source``, ``n``, ``unit``, ``score`` (raw, png,
        zlib or ratio, then ", two-sided" or " + typicality guard"),
        ``threshold``, ``median`` (the calibration median of the two-sided
        score or the guard's raw NLL, else None), ``calibration`` (source, n, fpr; None with a
        given threshold), ``flagged`` and ``flagged_fraction``; with
        ``normal_classes`` also ``n_normal``, ``n_outliers`` and the keys of
        :func:`~kzoo.analysis.anomaly.report` (``auroc``, ``auprc``,
        ``fpr_at_95_tpr``, ``detection_rate``, ``false_positive_rate`` ...);
        and ``out`` when a CSV was written.

    Raises:
        ValueError: a model without a likelihood or a class-conditional one,
            neither ``calibrate`` nor ``threshold`` (or both), calibration or
            a code-density fit on the very inputs it scores, bad classes,
            options or inputs (see :func:`load_inputs`).
        OSError: ``out`` cannot be written (checked before scoring).
    """
    from kzoo.core.base import ExplicitModel

    name = getattr(model, "card", {}).get("name") or type(model).__name__
    if not isinstance(model, ExplicitModel):
        raise ValueError(f"{name!r} is a {type(model).__name__}, which has no likelihood to score inputs with: use "
                         "an explicit model (autoregressive, flow, VAE family or DDPM).")
    if getattr(model, "is_conditional", False):
        raise ValueError(f"{name!r} is class-conditional: its likelihood needs the class of every input, which "
                         "novelty detection does not know. Use an unconditional entry.")
    if (calibrate is None) == (threshold is None):
        raise ValueError("give exactly one of a calibration set (--calibrate NAME_OR_FOLDER, held-out normal data) "
                         "and a known --threshold.")
    if code_density is not None and code_fit is None:
        raise ValueError("code_density needs code_fit: the normal training images whose codes the mixture is "
                         "fitted to (kzoo detect --code-fit, default the entry's training dataset).")
    if out is not None:
        out = _check_output(out)
    inputs = load_inputs(model, data, split, data_dir=data_dir, limit=limit, seed=seed)
    normal = None if normal_classes is None else normal_mask(inputs, normal_classes)
    density = None
    if code_density is not None:
        density = CodeDensity(model, components=code_density, seed=seed, batch_size=batch_size)
        fit_on = load_inputs(model, code_fit, None if _is_folder(code_fit) else code_fit_split, data_dir=data_dir,
                             seed=seed + 2)
        if fit_on.source == inputs.source:
            raise ValueError(f"the code density would be fitted to {fit_on.source}, the set being scored: fit it "
                             "to the normal training images (e.g. the training dataset's train split).")
        if calibrate_classes is not None:
            fit_on.x = fit_on.x[normal_mask(fit_on, calibrate_classes)]
        if verbose:
            print(f"Fitting a {code_density}-component code density to {len(fit_on.x)} inputs of {fit_on.source}")
        density.fit(fit_on.x)
    detector = AnomalyDetector(model, fpr=fpr, unit=unit, reference=reference, complexity=complexity,
                               code_density=density, batch_size=batch_size, threshold=threshold,
                               two_sided=two_sided, typicality_guard=typicality_guard, verbose=verbose, seed=seed,
                               **log_prob_kwargs)
    calibration = None
    if calibrate is not None:
        calibrate_split = _calibration_split(calibrate, calibrate_split)
        held_out = load_inputs(model, calibrate, calibrate_split, data_dir=data_dir, limit=limit, seed=seed + 1)
        if held_out.source == inputs.source:
            raise ValueError(f"the calibration set {held_out.source} is the set being scored: calibrate on other "
                             "held-out normal data (e.g. the training dataset's validation split).")
        if calibrate_classes is not None:
            held_out.x = held_out.x[normal_mask(held_out, calibrate_classes)]
        if not len(held_out.x):
            raise ValueError(f"the calibration set {held_out.source} holds no normal input.")
        if verbose:
            print(f"Calibrating the threshold on {len(held_out.x)} inputs of {held_out.source} (fpr {fpr})")
        detector.fit(held_out.x)
        calibration = {"source": held_out.source, "n": int(len(held_out.x)), "fpr": detector.fpr}
    if verbose:
        print(f"Scoring {len(inputs.x)} inputs of {inputs.source}")
    scores = detector.score(inputs.x)
    flags = scores > detector.threshold_
    result = {
        "entry": name,
        "source": inputs.source,
        "n": int(len(scores)),
        "unit": unit,
        "score": (("ratio" if reference is not None else "code" if density is not None else (complexity or "raw"))
                  + (", two-sided" if two_sided else "")
                  + (" + typicality guard" if typicality_guard else "")),
        "threshold": float(detector.threshold_),
        "median": detector.median_,
        "calibration": calibration,
        "flagged": int(flags.sum()),
        "flagged_fraction": float(flags.mean()),
    }
    if normal is not None:
        result.update({"normal_classes": [str(c) for c in normal_classes], "n_normal": int(normal.sum()),
                       "n_outliers": int((~normal).sum())})
        if normal.all() or not normal.any():
            result["summary_skipped"] = "the inputs hold only normal inputs or only outliers"
        else:
            result.update(report(scores[normal], scores[~normal], threshold=detector.threshold_))
    if out is not None:
        write_scores_csv(out, inputs, scores, flags, normal)
        result["out"] = out
    return result


def _calibration_split(calibrate, split):
    from kzoo import data as kdata

    info = kdata.info(calibrate)
    if split is not None or _is_folder(calibrate):
        return split
    splits = info.splits
    return "validation" if "validation" in splits else None
