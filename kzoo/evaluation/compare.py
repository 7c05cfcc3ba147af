"""Side-by-side comparison of zoo entries: density, generation, quality, diversity, speed.

:func:`compare` measures each entry on the same data and the same sample
budget and returns one row per entry:

=========================  ==================================================
column                     meaning
=========================  ==================================================
``entry``                  entry name (or model name)
``model`` / ``family``     registered model name and family
``density``                ``explicit (exact)``, ``explicit (bound)`` (ELBO /
                           importance-weighted bound) or ``implicit`` (no
                           likelihood: GANs)
``likelihood_data``        what the NLL is a density of, so that only like
                           numbers are compared: ``binary pixels`` (Bernoulli
                           models on binarized images), ``dequantized 8-bit
                           pixels`` (continuous densities: flows, Gaussian
                           decoders), ``8-bit levels`` (discrete decoders:
                           diffusion bounds, categorical autoregressive
                           models), ``continuous values`` (2-D toy data);
                           ``None`` for implicit models
``generation``             how a sample is drawn (one network pass, pixel by
                           pixel, iterative denoising ...)
``parameters``             number of weights
``nll_nats``,              held-out negative log-likelihood (or its bound)
``bits_per_dim``           via :func:`kzoo.evaluation.evaluate.evaluate`;
                           ``None`` for implicit models
``fid``, ``kid``,          sample quality against the real images of the
``inception_score``        held-out split (:mod:`~kzoo.evaluation.sample_quality`)
``precision``, ``recall``  fidelity and diversity (coverage)
``reconstruction_*``      models with an encoder: error of
                           ``decode(encode(x))`` on the held-out images
                           (:mod:`~kzoo.evaluation.reconstruction`)
``classification_error``   models with their own classifier
                           (``can_classify``: a semi-supervised AAE) on
                           the held-out labels
``sample_seconds_per_image``  generation time per image on this machine
=========================  ==================================================

:func:`measure` computes one row (what ``kzoo eval`` reports for one
entry), :func:`to_markdown` renders rows as a Markdown table and
:func:`save_sample_figure` draws one sample grid per entry side by side.

The quality columns depend on the feature extractor (kzoo's MNIST classifier
by default) and on ``n_samples``: compare rows of one table, not with numbers
from papers.
"""

import json
import math
import os
import time
from pathlib import Path

import numpy as np

from kzoo.core.validation import check_positive_int

#: How each family draws one sample.
GENERATION_METHODS = {
    "autoregressive": "sequential, one pixel per network pass",
    "flows": "base sample, one inverse pass of the flow",
    "latent": "prior sample, one decoder pass",
    "gan": "noise, one generator pass",
    "diffusion": "iterative denoising, one network pass per step",
}

#: Columns of :func:`to_markdown` by default, with their headers.
DEFAULT_COLUMNS = (
    ("entry", "entry"),
    ("family", "family"),
    ("density", "density"),
    ("likelihood_data", "NLL of"),
    ("generation", "generation"),
    ("parameters", "parameters"),
    ("nll_nats", "NLL (nats)"),
    ("bits_per_dim", "bits/dim"),
    ("fid", "FID"),
    ("kid", "KID"),
    ("inception_score", "IS"),
    ("precision", "precision"),
    ("recall", "recall"),
    ("reconstruction_bce_nats", "recon. (nats)"),
    ("sample_seconds_per_image", "s/image"),
)


def _load(entry):
    """Returns ``(name, model)`` for an entry name, preset folder or model object."""
    if isinstance(entry, (str, os.PathLike)):
        from kzoo.core.presets import load_preset

        model = load_preset(entry)
        return Path(os.fspath(entry)).name if os.path.isdir(os.fspath(entry)) else str(entry), model
    if hasattr(entry, "generate"):
        card = getattr(entry, "card", None) or {}
        return card.get("name") or getattr(entry, "name", type(entry).__name__), entry
    raise TypeError(f"entries must be entry names, preset folders or kzoo models; got {type(entry).__name__}.")


def density_kind(model):
    """``"explicit (exact)"``, ``"explicit (bound)"`` or ``"implicit"`` for a model."""
    from kzoo.core.base import ExplicitModel, LatentModel

    if not isinstance(model, ExplicitModel):
        return "implicit"
    if (isinstance(model, LatentModel) and model.stochastic_log_prob) or getattr(model, "log_prob_is_bound", False):
        return "explicit (bound)"
    return "explicit (exact)"


def likelihood_data(model, info):
    """What a model's NLL is a density of (see the module docstring); None for implicit models.

    Args:
        model: a kzoo model.
        info: the ``kzoo.data.DatasetInfo`` of the data it is measured on.
    """
    from kzoo.core.base import ExplicitModel

    if not isinstance(model, ExplicitModel):
        return None
    if info.kind != "image":
        return "continuous values"
    options = model.data_options("test")
    if options.get("binarize"):
        return "binary pixels"
    if options.get("dequantize"):
        return "dequantized 8-bit pixels"
    return "8-bit levels"


def generation_method(model):
    """How the model draws a sample: its ``generation_method`` attribute, else its family's."""
    method = getattr(model, "generation_method", None)
    if method:
        return str(method)
    return GENERATION_METHODS.get(getattr(model, "family", None), "model.generate")


def _quality_skip_reason(info, extractor):
    """Why the sample-quality metrics cannot run on this data, or None."""
    if isinstance(extractor, str) and extractor == "mnist" and tuple(info.shape or ()) != (28, 28, 1):
        return (f"the default MNIST feature extractor takes 28x28x1 images, not {tuple(info.shape)}; "
                "pass another extractor for FID/KID/IS")
    return None


def _real_images(data, split, data_dir):
    from kzoo import data as kdata

    return kdata.load_numpy(data, split=split, data_dir=data_dir)


def _reconstruction(model, data, split, data_dir, limit):
    """Reconstruction error on the held-out images as the model sees them (binarized for Bernoulli models)."""
    from kzoo import data as kdata
    from kzoo.evaluation.reconstruction import reconstruction_error

    conditional = getattr(model, "codes_take_labels", False)
    loaded = kdata.load_numpy(data, split=split, data_dir=data_dir, labels=conditional, **model.data_options(split))
    x, labels = loaded if conditional else (loaded, None)
    if limit is not None:
        x = x[:limit]
        labels = None if labels is None else labels[:limit]
    return reconstruction_error(model, x, labels=labels)


def _classification(model, data, split, data_dir, limit):
    """Test error of a model's own classifier (a semi-supervised AAE's class head) on the held-out labels."""
    from kzoo import data as kdata

    x, labels = kdata.load_numpy(data, split=split, data_dir=data_dir, labels=True, **model.data_options(split))
    if limit is not None:
        x, labels = x[:limit], labels[:limit]
    predicted = model.classify(x)
    return {"classification_error": float(np.mean(predicted != labels)), "classification_n_examples": int(len(x))}


def measure(model, data="mnist5k", split=None, *, data_dir=None, n_samples=2000, k=100, nll_limit=None,
            extractor="mnist", seed=0, batch_size=250, reference=None, reference_cache=None, name=None,
            sample_kwargs=None, samples_dir=None, verbose=True):
    """Measures one model: held-out likelihood (if it has one) and sample quality.

    This is one row of :func:`compare`, and what ``kzoo eval`` prints: the
    NLL comes from :func:`kzoo.evaluation.evaluate.evaluate` (explicit models
    only), the quality metrics from
    :func:`kzoo.evaluation.sample_quality.sample_quality` against the real
    images of the same split (image datasets only).

    Args:
        model: a kzoo model.
        data: dataset name or image folder.
        split: held-out split (default: test if the dataset has one, else
            validation).
        data_dir: folder of dataset files for file-based datasets.
        n_samples: generated samples for the quality metrics (with
            ``samples_dir``: the first ``n_samples`` of the folder, None for
            all).
        k: importance samples of the likelihood bound of latent models.
        nll_limit: evaluate the likelihood on the first ``nll_limit``
            examples only.
        extractor: feature extractor name or object.
        seed: seed of sampling and of stochastic likelihood estimates.
        batch_size: samples generated and featurized per step.
        reference: :class:`~kzoo.evaluation.sample_quality.ReferenceFeatures` of
            the real images, to share them between models (computed from
            ``data``/``split`` when ``None``).
        reference_cache: optional ``.npz`` path caching the real features.
        name: the entry name for the row (default: the card's or the
            model's name).
        sample_kwargs: keyword arguments of ``model.generate`` (e.g. a
            sampler and step count), recorded in the row as
            ``sample_options``.
        samples_dir: a folder of samples (``kzoo sample --out-dir``, or PNG
            files) to score instead of drawing samples; a folder whose
            manifest names other weights than the model's is refused.
        verbose: progress bars.

    Returns:
        A dict with ``entry``, ``model``, ``family``, ``density``,
        ``generation``, ``parameters``, ``dataset``, ``split``; ``nll_nats``,
        ``bits_per_dim``, ``nll_estimator`` (``None`` for implicit models)
        plus the other keys of ``evaluate`` (``nll_nats_sem``,
        ``n_examples``, ``neg_elbo_nats`` ...); ``fid``, ``kid``,
        ``kid_std``, ``inception_score``, ``inception_score_std``,
        ``precision``, ``recall``, ``n_samples``, ``n_real``,
        ``feature_extractor``, ``sample_seconds_per_image``,
        ``samples_source`` (``"model"``, or ``"folder"`` with the keys of
        :meth:`~kzoo.evaluation.sample_folder.SampleFolder.describe`); for models
        with an encoder the keys of
        :func:`~kzoo.evaluation.reconstruction.reconstruction_error` (on the
        first ``nll_limit`` held-out images); for models that classify
        (``can_classify``) ``classification_error`` and
        ``classification_n_examples``; for translation models (``translate``)
        the keys of :func:`kzoo.evaluation.translation.translation_report`
        instead of likelihood and sample quality; and ``seconds``.
        Every value is JSON-serializable.

    Raises:
        ValueError: unknown dataset or split, a model whose sample shape
            differs from the dataset's images, or a bad ``samples_dir`` (see
            :func:`~kzoo.evaluation.sample_folder.open_sample_folder`).
    """
    from kzoo import data as kdata
    from kzoo.core.base import ExplicitModel, LatentCodes
    from kzoo.evaluation.evaluate import default_split, evaluate
    from kzoo.evaluation.features import get_feature_extractor
    from kzoo.evaluation.sample_quality import METRIC_KEYS, reference_features, sample_quality

    start = time.perf_counter()
    if samples_dir is None or n_samples is not None:
        n_samples = check_positive_int(n_samples, "n_samples")
    info = kdata.info(data)
    split = split or default_split(info)
    card = getattr(model, "card", None) or {}
    folder = None
    if samples_dir is not None:
        folder = _open_model_folder(samples_dir, model, name or card.get("name"), info)
    row = {
        "entry": name or card.get("name") or getattr(model, "name", type(model).__name__),
        "model": getattr(model, "registered_name", None) or type(model).__name__,
        "family": getattr(model, "family", None),
        "density": density_kind(model),
        "likelihood_data": likelihood_data(model, info),
        "generation": generation_method(model),
        "parameters": sum(int(np.prod(w.shape)) for w in model.weights),
        "dataset": str(data),
        "split": split,
        "nll_nats": None,
        "bits_per_dim": None,
        "nll_estimator": None,
        "sample_options": dict(sample_kwargs or {}),
        "samples_source": "model" if folder is None else "folder",
    }
    if hasattr(model, "translate"):  # image-to-image: scored against the exact targets of a paired split
        from kzoo.evaluation.translation import translation_report

        report = translation_report(model, data, split, data_dir=data_dir, limit=nll_limit, extractor=extractor,
                                    batch_size=batch_size, verbose=verbose)
        row.update({key: value for key, value in report.items() if key not in ("dataset", "split", "seconds")})
        row["seconds"] = round(time.perf_counter() - start, 1)
        return row
    sample_kwargs = row["sample_options"]
    row.update({key: None for keys in METRIC_KEYS.values() for key in keys})
    images = info.kind == "image"
    if images and info.shape is not None and tuple(model.data_shape) != tuple(info.shape):
        raise ValueError(f"{row['entry']!r} generates samples of shape {tuple(model.data_shape)}, but {data!r} has "
                         f"images of shape {tuple(info.shape)}.")
    if isinstance(model, ExplicitModel):
        nll = evaluate(model, data, split, data_dir=data_dir, k=k, limit=nll_limit, seed=seed, verbose=verbose)
        row.update({key: value for key, value in nll.items() if key not in ("dataset", "split", "seconds")})
        row["nll_seconds"] = nll.get("seconds")
    if isinstance(model, LatentCodes) and images:
        row.update(_reconstruction(model, data, split, data_dir, nll_limit))
    if getattr(model, "can_classify", False) and info.num_classes:
        row.update(_classification(model, data, split, data_dir, nll_limit))
    skip_reason = _quality_skip_reason(info, extractor) if images else None
    if skip_reason and folder is not None:
        raise ValueError(f"--samples-dir {samples_dir}: {skip_reason}.")
    if skip_reason:
        row["quality_skipped"] = skip_reason
        images = False
    if images:
        extractor = get_feature_extractor(extractor)
        if reference is None:
            reference = reference_features(_real_images(data, split, data_dir), extractor, cache=reference_cache)
        if folder is not None:
            from kzoo.evaluation.sample_folder import folder_sample_quality

            quality = folder_sample_quality(folder, reference, n_samples=n_samples, extractor=extractor, seed=seed,
                                            batch_size=batch_size, verbose=verbose)
        else:
            quality = sample_quality(model, reference, n_samples=n_samples, extractor=extractor, seed=seed,
                                     batch_size=batch_size, sample_kwargs=sample_kwargs, verbose=verbose)
        row.update({key: value for key, value in quality.items() if key != "seconds"})
    else:
        count = min(n_samples, 1000)
        model.generate(min(count, 8), seed=seed, **sample_kwargs)  # warm-up: tracing is not sampling time
        tick = time.perf_counter()
        model.generate(count, seed=seed, **sample_kwargs)
        row.update({"n_samples": count, "sample_seconds_per_image": (time.perf_counter() - tick) / count})
    row["seconds"] = round(time.perf_counter() - start, 1)
    return row


def _open_model_folder(samples_dir, model, name, info):
    """Opens a sample folder to score as ``model``'s samples; refuses one drawn from other weights."""
    from kzoo.evaluation.sample_folder import model_identity, open_sample_folder

    if info.kind != "image":
        raise ValueError(f"--samples-dir {samples_dir}: the dataset {info.name!r} holds {info.kind} data, not "
                         "images; sample folders are scored against image datasets.")
    folder = open_sample_folder(samples_dir, image_shape=tuple(model.data_shape))
    if folder.manifest is not None:
        ours = model_identity(model, name)
        theirs = folder.manifest
        same = (theirs.get("weights_sha256") == ours["weights_sha256"] if theirs.get("weights_sha256")
                and ours["weights_sha256"] else theirs.get("model") == ours["model"])
        if not same:
            raise ValueError(f"--samples-dir {samples_dir} holds samples of {theirs.get('entry')!r} (model "
                             f"{theirs.get('model')!r}, weights sha256 {theirs.get('weights_sha256')}), not of "
                             f"{ours['entry']!r} (model {ours['model']!r}, weights sha256 "
                             f"{ours['weights_sha256']}); expected the folder kzoo sample wrote for this entry.")
    return folder


def measure_folder(samples_dir, data="mnist5k", split=None, *, data_dir=None, n_samples=None, extractor="mnist",
                   seed=0, batch_size=250, reference=None, verbose=True):
    """The sample-quality part of :func:`measure` for a folder of samples alone (no model).

    Args:
        samples_dir: a folder written by ``kzoo sample --out-dir`` or a folder
            of PNG files (see
            :func:`~kzoo.evaluation.sample_folder.open_sample_folder`).
        data: dataset name or image folder of the real images.
        split: held-out split (default: test if the dataset has one, else
            validation).
        data_dir: folder of dataset files for file-based datasets.
        n_samples: score the first ``n_samples`` samples (default: all).
        extractor: feature extractor name or object.
        seed: seed of the KID subsets.
        batch_size: images read and featurized per step.
        reference: :class:`~kzoo.evaluation.sample_quality.ReferenceFeatures`
            of the real images (computed from ``data``/``split`` when None).
        verbose: progress bars.

    Returns:
        A dict with ``entry`` and ``model`` (the manifest's, or None),
        ``dataset``, ``split``, the quality keys of :func:`measure`
        (``sample_seconds_per_image`` is None), ``samples_source``
        (``"folder"``), ``samples_dir``, ``samples_format``,
        ``samples_manifest`` and ``seconds``. Every value is
        JSON-serializable.

    Raises:
        ValueError: a dataset that is not of images, images the extractor
            does not take, or a bad folder (see
            :func:`~kzoo.evaluation.sample_folder.open_sample_folder`).
    """
    from kzoo import data as kdata
    from kzoo.evaluation.evaluate import default_split
    from kzoo.evaluation.features import get_feature_extractor
    from kzoo.evaluation.sample_folder import folder_sample_quality, open_sample_folder
    from kzoo.evaluation.sample_quality import reference_features

    start = time.perf_counter()
    info = kdata.info(data)
    split = split or default_split(info)
    if info.kind != "image":
        raise ValueError(f"--samples-dir {samples_dir}: the dataset {data!r} holds {info.kind} data, not images; "
                         "sample folders are scored against image datasets.")
    skip_reason = _quality_skip_reason(info, extractor)
    if skip_reason:
        raise ValueError(f"--samples-dir {samples_dir}: {skip_reason}.")
    folder = open_sample_folder(samples_dir, image_shape=tuple(info.shape) if info.shape else None)
    manifest = folder.manifest or {}
    row = {"entry": manifest.get("entry"), "model": manifest.get("model"), "dataset": str(data), "split": split,
           "samples_source": "folder"}
    extractor = get_feature_extractor(extractor)
    if reference is None:
        reference = reference_features(_real_images(data, split, data_dir), extractor)
    quality = folder_sample_quality(folder, reference, n_samples=n_samples, extractor=extractor, seed=seed,
                                    batch_size=batch_size, verbose=verbose)
    row.update({key: value for key, value in quality.items() if key != "seconds"})
    row["seconds"] = round(time.perf_counter() - start, 1)
    return row


def compare(entries, *, data="mnist5k", split=None, data_dir=None, n_samples=2000, k=100, nll_limit=None,
            extractor="mnist", seed=0, batch_size=250, out_dir=None, figure_samples=36, reference_cache=None,
            verbose=True):
    """Measures several entries on the same data and sample budget.

    Each row is :func:`measure` of one entry; the real images' features are
    computed once and shared.

    Args:
        entries: entry names, preset folders or kzoo model objects.
        data: dataset name (or image folder) for the held-out likelihood and
            the real images of the quality metrics.
        split: held-out split (default: test if the dataset has one, else
            validation; see :func:`kzoo.evaluation.evaluate.default_split`).
        data_dir: folder of dataset files for file-based datasets.
        n_samples: generated samples per entry for the quality metrics.
        k: importance samples of the likelihood bound of latent models.
        nll_limit: evaluate the likelihood on the first ``nll_limit``
            examples only (default: the whole split).
        extractor: feature extractor name or object (``"mnist"``,
            ``"inception_v3"``, a ``keras.Model``).
        seed: seed of sampling and of stochastic likelihood estimates.
        batch_size: samples generated and featurized per step.
        out_dir: if given, writes ``comparison.md``, ``comparison.json`` and
            ``samples.png`` (one grid per entry) there.
        figure_samples: samples per grid in ``samples.png``.
        reference_cache: optional ``.npz`` path caching the real features.
        verbose: progress bars and one line per entry.

    Returns:
        A list of row dicts (see :func:`measure`), one per entry.

    Raises:
        ValueError: no entries, unknown entries or datasets, or a model whose
            sample shape differs from the dataset's images.
    """
    from kzoo import data as kdata
    from kzoo.evaluation.evaluate import default_split
    from kzoo.evaluation.features import get_feature_extractor
    from kzoo.evaluation.sample_quality import reference_features

    entries = list(entries)
    if not entries:
        raise ValueError("entries is empty; pass at least one entry name or model.")
    n_samples = check_positive_int(n_samples, "n_samples")
    figure_samples = check_positive_int(figure_samples, "figure_samples")
    info = kdata.info(data)
    split = split or default_split(info)
    images = info.kind == "image"
    reference = None
    if images and not _quality_skip_reason(info, extractor):
        extractor = get_feature_extractor(extractor)
        reference = reference_features(_real_images(data, split, data_dir), extractor, cache=reference_cache)
    rows, panels = [], {}
    for entry in entries:
        name, model = _load(entry)
        if verbose:
            print(f"== {name}")
        row = measure(model, data, split, data_dir=data_dir, n_samples=n_samples, k=k, nll_limit=nll_limit,
                      extractor=extractor, seed=seed, batch_size=batch_size, reference=reference, name=name,
                      verbose=verbose)
        rows.append(row)
        if verbose:
            print(_summary_line(row))
        if out_dir is not None and images:
            panels[_panel_title(name, model)] = model.generate(figure_samples, seed=seed)
    if out_dir is not None:
        out = Path(out_dir)
        out.mkdir(parents=True, exist_ok=True)
        (out / "comparison.md").write_text(to_markdown(rows) + "\n")
        (out / "comparison.json").write_text(json.dumps(rows, indent=2) + "\n")
        if images:
            save_sample_figure(panels, out / "samples.png", n=figure_samples)
    return rows


def _panel_title(name, model):
    family = getattr(model, "family", None)
    return f"{name}\n({family})" if family else str(name)


def _summary_line(row):
    keys = ("nll_nats", "bits_per_dim", "fid", "kid", "inception_score", "precision", "recall",
            "sample_seconds_per_image")
    return "   " + ", ".join(f"{key}={_format(key, row.get(key))}" for key in keys if row.get(key) is not None)


def _format(key, value):
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return "-"
    if isinstance(value, bool) or not isinstance(value, (int, float, np.integer, np.floating)):
        return str(value)
    if key == "parameters":
        return f"{int(value):,}"
    if key in ("n_samples", "n_real"):
        return str(int(value))
    if key == "sample_seconds_per_image":
        return f"{value:.2g}"
    if key in ("kid", "kid_std"):
        return f"{value:.4f}"
    if key in ("precision", "recall"):
        return f"{value:.3f}"
    return f"{value:.2f}"


def to_markdown(rows, columns=DEFAULT_COLUMNS, note=True):
    """Renders comparison rows as a Markdown table.

    Args:
        rows: row dicts from :func:`compare`.
        columns: ``(key, header)`` pairs (or plain keys) to show, in order.
        note: append a line saying which extractor, sample count and real
            images the quality columns come from.

    Returns:
        The Markdown text (no trailing newline).

    Raises:
        ValueError: ``rows`` is empty.
    """
    rows = list(rows)
    if not rows:
        raise ValueError("rows is empty; nothing to render.")
    columns = [(c, c) if isinstance(c, str) else tuple(c) for c in columns]
    numeric = {key for key, _ in columns
               if any(isinstance(r.get(key), (int, float)) and not isinstance(r.get(key), bool) for r in rows)}
    lines = [
        "| " + " | ".join(header for _, header in columns) + " |",
        "| " + " | ".join("---:" if key in numeric else "---" for key, _ in columns) + " |",
    ]
    for row in rows:
        cells = [_format(key, row.get(key)).replace("|", "\\|") for key, _ in columns]
        lines.append("| " + " | ".join(cells) + " |")
    if note:
        first = rows[0]
        parts = [f"Held-out data: {first.get('dataset')} / {first.get('split')}."]
        if first.get("feature_extractor"):
            parts.append(
                f"FID/KID/IS/precision/recall: {first.get('feature_extractor')} features of "
                f"{first.get('n_samples')} samples vs {first.get('n_real')} real images; comparable within this "
                "table only (not with Inception-based numbers from papers)."
            )
        if any(r.get("nll_estimator") and r.get("nll_estimator") != "exact" for r in rows):
            parts.append("Latent models report an upper bound on the NLL (importance-weighted).")
        lines += ["", " ".join(parts)]
    return "\n".join(lines)


def save_sample_figure(entries, path, *, n=36, seed=0, ncols=None, scale=2.0):
    """Draws one grid of samples per entry, side by side, into a PNG file.

    Args:
        entries: entry names, preset folders or kzoo models (as for
            :func:`compare`), or a dict mapping a title to an image array
            ``(N, H, W, C)`` in ``[0, 1]`` already drawn.
        path: output ``.png`` file (its folder is created).
        n: samples per entry.
        seed: sampling seed (the same for every entry).
        ncols: images per grid row (default: a square).
        scale: figure inches per 100 grid pixels.

    Returns:
        The ``pathlib.Path`` written.

    Raises:
        ValueError: ``path`` does not end in ``.png``, or no entries.
    """
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    from kzoo.core.imaging import make_grid

    path = Path(path)
    if path.suffix.lower() != ".png":
        raise ValueError(f"path must end in .png, got {str(path)!r}.")
    n = check_positive_int(n, "n")
    if isinstance(entries, dict):
        panels = [(str(title), np.asarray(images)) for title, images in entries.items()]
    else:
        panels = []
        for entry in entries:
            name, model = _load(entry)
            panels.append((_panel_title(name, model), model.generate(n, seed=seed)))
    if not panels:
        raise ValueError("entries is empty; nothing to draw.")
    grids = [make_grid(images[:n], ncols=ncols) for _, images in panels]
    height = max(g.shape[0] for g in grids)
    width = sum(g.shape[1] for g in grids)
    figure = Figure(figsize=(max(scale * width / 100.0, 2.0 * len(grids)), scale * height / 100.0 + 0.8))
    FigureCanvasAgg(figure)
    for index, ((title, _), grid) in enumerate(zip(panels, grids)):
        axis = figure.add_subplot(1, len(grids), index + 1)
        axis.imshow(grid[..., 0] if grid.shape[-1] == 1 else grid, cmap="gray", vmin=0.0, vmax=1.0,
                    interpolation="nearest")
        axis.set_title(title, fontsize=9)
        axis.axis("off")
    figure.tight_layout()
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.stem}.{os.getpid()}.tmp.png")
    try:
        figure.savefig(tmp, dpi=100)
        os.replace(tmp, path)
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise
    return path
