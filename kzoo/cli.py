"""The ``kzoo`` command line: list, train, sample and evaluate models.

Every subcommand has ``--help``. TensorFlow is imported only by the
subcommands that need it, so ``kzoo list`` answers at once.
"""

import argparse
import contextlib
import difflib
import json
import os
import shlex
import sys
import time

PRECISIONS = ("float32", "mixed_float16", "mixed_bfloat16", "auto")
DISTRIBUTE = ("none", "mirrored", "multiworker", "tpu")


def _quiet_tensorflow():
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")


PYTHON_CONSTANTS = {"True": True, "False": False, "None": None}


def _parse_value(text, key="value", flag="--set"):
    """A ``--set`` value: JSON (``3``, ``0.5``, ``true``, ``[1, 2]``), Python's True/False/None, else the string.

    Args:
        text: the text after ``=``.
        key: the key, for the error message.
        flag: the flag, for the error message.

    Returns:
        The parsed value.

    Raises:
        ValueError: the text starts like a JSON list or object (``[`` or
            ``{``) but does not parse as one.
    """
    if text in PYTHON_CONSTANTS:
        return PYTHON_CONSTANTS[text]
    try:
        return json.loads(text)
    except json.JSONDecodeError as err:
        if text.lstrip().startswith(("[", "{")):
            raise ValueError(f"{flag} {key}={text}: the value looks like a JSON list or object but does not "
                             f"parse ({err.msg} at character {err.pos}); expected e.g. {key}=[8,16].") from None
        return text


def parse_overrides(pairs, flag="--set"):
    """``KEY=VALUE`` strings (of ``--set`` / ``--option``) as a dict, each value parsed as a ``--set`` value.

    Args:
        pairs: the strings, or None.
        flag: the flag they came from, for error messages.

    Returns:
        A dict from key to parsed value (see :func:`_parse_value`).

    Raises:
        ValueError: a pair has no ``=``, its key is not a Python identifier,
            the same key is given twice, or a value is malformed JSON.
    """
    config = {}
    for pair in pairs or ():
        if "=" not in pair:
            raise ValueError(f"{flag} expects KEY=VALUE, got {pair!r}.")
        key, value = pair.split("=", 1)
        if not key.isidentifier():
            raise ValueError(f"{flag} {pair!r}: the key {key!r} is not an argument name; expected KEY=VALUE with "
                             "KEY a name such as latent_dim.")
        if key in config:
            raise ValueError(f"{flag} {key} is given twice ({key}={config[key]!r} and {pair!r}); give it once.")
        config[key] = _parse_value(value, key, flag)
    return config


def _unknown_keys_error(what, unknown, accepted):
    """A ValueError naming unknown keys, a close accepted name for each, and every accepted name."""
    hints = []
    for key in unknown:
        close = difflib.get_close_matches(key, sorted(accepted), n=1, cutoff=0.6)
        hints.append(f"{key!r} (did you mean {close[0]!r}?)" if close else repr(key))
    return ValueError(f"{what} takes no option {', '.join(hints)}; its options are: "
                      f"{', '.join(sorted(accepted)) or 'none'}.")


def constructor_arguments(model_cls):
    """The keyword arguments a model class accepts: its and its bases' named ``__init__`` parameters.

    Args:
        model_cls: a :class:`kzoo.core.GenerativeModel` subclass.

    Returns:
        A set of names, including renamed arguments' old names and Keras'
        ``name``, ``dtype`` and ``trainable``.
    """
    import inspect

    accepted = {"name", "dtype", "trainable"}
    for klass in model_cls.__mro__:
        init = vars(klass).get("__init__")
        if init is None or klass.__module__.split(".")[0] != "kzoo":
            continue
        accepted |= {n for n, p in inspect.signature(init).parameters.items()
                     if n != "self" and p.kind not in (p.VAR_KEYWORD, p.VAR_POSITIONAL)}
    accepted |= set(getattr(model_cls, "renamed_argument_map", dict)())
    return accepted


def check_set_keys(model_name, pairs):
    """Refuses ``--set`` keys that the model's constructor does not take, suggesting close names.

    Args:
        model_name: registered model name.
        pairs: the ``--set`` strings.

    Raises:
        ValueError: an unknown model name, a malformed pair (see
            :func:`parse_overrides`) or an unknown key. An unknown key is
            reported before a malformed value: the key is the mistake to fix.
    """
    pairs = list(pairs or ())
    if not pairs:
        return
    if not all("=" in pair and pair.split("=", 1)[0].isidentifier() for pair in pairs):
        parse_overrides(pairs)  # raises the error naming the malformed pair
    _quiet_tensorflow()
    from kzoo.core.registry import get_model_class

    model_cls = get_model_class(model_name)
    accepted = constructor_arguments(model_cls)
    unknown = sorted({pair.split("=", 1)[0] for pair in pairs} - accepted)
    if unknown:
        raise _unknown_keys_error(f"--set: model {model_name!r} ({model_cls.__name__})", unknown, accepted)
    parse_overrides(pairs)  # a known key's malformed value or a repeated key


# ------------------------------------------------------------------ list
def _headline(metrics):
    """The held-out numbers worth a table column: test split first, else validation (no baselines or references;
    the means and minima alone where a report has them)."""
    for prefix in ("test_", "validation_"):
        shown = {k[len(prefix):]: v for k, v in metrics.items() if k.startswith(prefix)
                 and isinstance(v, (int, float)) and not k.endswith(("_sem", "_k", "n_examples", "n_samples", "_std"))
                 and not any(part in k for part in ("_identity_", "_target_", "_median")) and k != f"{prefix}n"}
        summaries = {k: v for k, v in shown.items() if k.startswith(("mean_", "min_"))}
        shown = summaries or shown  # a report over many parts (StarGAN's 20 pairs): its summaries only
        if shown:
            return f"({prefix[:-1]}) " + ", ".join(f"{k}={v:.4g}" for k, v in shown.items())
    return "-"


def cmd_list(args):
    import kzoo

    if args.models:
        from kzoo.core.catalog import model_index

        rows = [{key: row[key] for key in ("model", "family", "class")} for row in model_index()]
        if args.json:
            print(json.dumps(rows, indent=2))
        else:
            for row in rows:
                print(f"{row['model']:<16} {row['family']:<16} {row['class']}")
        return 0
    entries = kzoo.list_presets()
    if args.json:
        print(json.dumps(entries, indent=2))
        return 0
    if not entries:
        print("No pretrained entries found.")
        return 0
    print(f"{'entry':<20} {'model':<16} {'family':<16} {'dataset':<10} headline metrics")
    for entry in entries:
        print(f"{entry['name']:<20} {entry['model'] or '-':<16} {entry['family'] or '-':<16} "
              f"{entry['dataset'] or '-':<10} {_headline(entry['metrics'])}")
    return 0


# ----------------------------------------------------------------- train
def cmd_train(args):
    _quiet_tensorflow()
    if args.distribute == "mirrored":
        from kzoo.core.distribute import split_cpu, split_gpu

        import tensorflow as tf

        gpus = tf.config.list_physical_devices("GPU")  # lists without initializing the devices
        if not gpus:
            split_cpu(args.replicas or 2)
        elif len(gpus) == 1 and (args.replicas or 1) > 1:
            split_gpu(args.replicas)
    from kzoo.callbacks.guards import NonFiniteLossError
    from kzoo.training import OutputLockedError, train

    try:
        _run_train(train, args)
    except OutputLockedError as err:
        print(f"kzoo train: error: {err}", file=sys.stderr)
        return 2
    except NonFiniteLossError as err:
        print(f"kzoo train: training diverged: {err}", file=sys.stderr)
        return 3
    return 0


def _run_train(train, args):
    train(
        model_name=args.model,
        data=args.data,
        data_dir=args.data_dir,
        epochs=args.epochs,
        batch_size=args.batch_size,
        out=args.out,
        precision=args.precision,
        jit_compile="auto" if args.jit_compile is None else args.jit_compile,
        distribute=args.distribute,
        num_replicas=args.replicas,
        tpu=args.tpu,
        seed=args.seed,
        learning_rate=args.learning_rate,
        d_learning_rate=args.d_learning_rate,
        lr_schedule=args.lr_schedule,
        config=parse_overrides(args.set),
        early_stopping=args.early_stopping,
        monitor=args.monitor,
        validation_fraction=args.validation_fraction,
        max_minutes=args.max_minutes,
        init_from=args.init_from,
        eval_k=args.eval_k,
        command="kzoo " + " ".join(shlex.quote(a) for a in args.argv),
    )


# ---------------------------------------------------------------- sample
def cmd_sample(args):
    _quiet_tensorflow()
    from kzoo.core.validation import check_positive_int

    check_positive_int(args.n, "-n")
    if args.out_dir is not None:
        return _sample_to_folder(args)
    for flag, value in (("--format", args.format), ("--chunk-size", args.chunk_size)):
        if value is not None:
            raise ValueError(f"{flag} {value} applies to --out-dir DIR (a folder of samples); -o {args.output} "
                             "writes one PNG grid.")
    import kzoo
    from kzoo.core.imaging import save_png

    scale = 2 if args.scale is None else args.scale
    check_positive_int(scale, "--scale")
    model = kzoo.load(args.entry)
    if not hasattr(model, "generate"):
        raise ValueError(f"{args.entry!r} is a {type(model).__name__}, not a generative model: it cannot sample.")
    start = time.perf_counter()
    if args.growth:
        if not hasattr(model, "growth_grid"):
            raise ValueError(f"--growth needs a progressively grown entry (a ProGAN); {args.entry!r} is a "
                             f"{type(model).__name__}.")
        grid = model.growth_grid(args.n, seed=args.seed)
        samples, ncols = grid.reshape((-1,) + grid.shape[2:]), args.n
    elif hasattr(model, "translation_grid"):  # image-to-image: held-out examples, a row each, with their translations
        from kzoo import data as kdata

        dataset = (getattr(model, "card", None) or {}).get("dataset")
        if not dataset:
            raise ValueError(f"{args.entry!r} translates the images of its dataset, but its card names none: "
                             "pass an entry trained on a domains-* dataset.")
        source = kdata.load_numpy(dataset, split="validation", num_samples=args.n)
        samples, ncols = model.translation_grid(source)
    else:
        samples = model.generate(args.n, seed=args.seed, **_generate_options(model, args.option))
        ncols = None
    seconds = time.perf_counter() - start
    try:
        path = save_png(samples, args.output, scale=scale, ncols=ncols)
    except OSError as err:
        message = f"could not write {args.output}: {err.strerror or err}; no file was written."
        raise (OSError(err.errno, message) if err.errno is not None else OSError(message)) from err
    what = ("samples at every resolution level" if args.growth else "translated examples" if ncols else "samples")
    print(f"Wrote {args.n} {what} of {args.entry} to {path} ({seconds:.2f} s).")
    return 0


def _sample_to_folder(args):
    """``kzoo sample ENTRY -n N --out-dir DIR``: samples streamed to files in chunks, resumable."""
    from kzoo.core.validation import check_non_negative_int, check_positive_int

    chunk_size = check_positive_int(_DEFAULT_CHUNK_SIZE if args.chunk_size is None else args.chunk_size,
                                    "--chunk-size")
    check_non_negative_int(args.seed, "--seed")
    if args.scale is not None:
        raise ValueError(f"--scale {args.scale} applies to the -o grid; the files of --out-dir keep the model's "
                         "image size, which kzoo eval --samples-dir reads.")
    if args.growth:
        raise ValueError("--growth draws one -o grid of every resolution level; --out-dir streams samples of the "
                         "entry's final level.")
    if os.path.exists(args.out_dir) and not os.path.isdir(args.out_dir):
        raise ValueError(f"--out-dir {args.out_dir!r} is a file; expected a folder (new, empty, or holding samples "
                         "of this same command).")
    import kzoo
    from kzoo.evaluation.sample_folder import write_samples

    model = kzoo.load(args.entry)
    if not hasattr(model, "generate"):
        raise ValueError(f"{args.entry!r} is a {type(model).__name__}, not a generative model: it cannot sample.")
    options = _generate_options(model, args.option)
    command = "kzoo " + " ".join(shlex.quote(a) for a in args.argv)
    try:
        done = write_samples(model, args.out_dir, args.n, seed=args.seed, chunk_size=chunk_size,
                             fmt=args.format or "png", options=options, entry=args.entry, command=command)
    except OSError as err:
        message = f"could not write to {args.out_dir}: {err.strerror or err}; complete chunks are kept."
        raise (OSError(err.errno, message) if err.errno is not None else OSError(message)) from err
    resumed = f", resumed after {done['resumed_after']} samples" if done["resumed_after"] else ""
    if not done["written"]:
        print(f"{done['path']} already holds the {done['n']} samples of {args.entry}; nothing to draw.")
    else:
        print(f"Wrote {done['written']} samples of {args.entry} to {done['path']} ({done['format']}, "
              f"{done['chunks']} chunks of up to {chunk_size}{resumed}; {done['seconds']:.2f} s).")
    return 0


#: ``--chunk-size`` default: ``kzoo eval``'s ``--batch-size`` default, so a folder holds the samples eval draws.
_DEFAULT_CHUNK_SIZE = 100


# ------------------------------------------------------------------ eval
def _extractor(args):
    if args.extractor == "inception_v3":
        from kzoo.evaluation.features import get_feature_extractor

        return get_feature_extractor("inception_v3", weights_path=args.inception_weights)
    return args.extractor


class _Default(int):
    """An int option's default, told apart from the same value given on the command line."""


def cmd_eval(args):
    _quiet_tensorflow()
    if args.samples_dir is not None:
        return _eval_folder(args)
    if args.entry is None:
        raise ValueError("kzoo eval needs ENTRY_OR_DIR (an entry name or preset folder), or --samples-dir DIR to "
                         "score a folder of samples.")
    from kzoo.evaluation.compare import measure

    model, data = _load_generative_entry(args)
    # With --json, stdout carries only the JSON object; progress goes to stderr.
    with contextlib.redirect_stdout(sys.stderr) if args.json else contextlib.nullcontext():
        row = measure(model, data, args.split, data_dir=args.data_dir, n_samples=int(args.n_samples), k=args.k,
                      nll_limit=args.limit, extractor=_extractor(args), seed=args.seed,
                      batch_size=args.batch_size, name=args.entry,
                      sample_kwargs=_generate_options(model, args.option))
    if args.write_card:
        _write_eval_to_card(args, row)
    _print_eval_row(args, row)
    return 0


def _load_generative_entry(args):
    """``kzoo eval``'s model (``args.entry``) and the data it is scored on (``--data`` or the card's dataset)."""
    import kzoo

    model = kzoo.load(args.entry)
    if not hasattr(model, "generate"):
        raise ValueError(f"{args.entry!r} is a {type(model).__name__}, not a generative model.")
    data = args.data or getattr(model, "card", {}).get("dataset")
    if not data:
        raise ValueError("this entry names no dataset; pass --data NAME_OR_PATH")
    return model, data


def _print_eval_row(args, row):
    if args.json:
        print(json.dumps(row))
    else:
        for key, value in row.items():
            print(f"{key:<26} {value}")


def _eval_folder(args):
    """``kzoo eval [ENTRY] --samples-dir DIR``: the quality metrics of samples on disk instead of drawn ones."""
    from kzoo.evaluation.sample_folder import open_sample_folder, read_manifest

    if args.write_card:
        raise ValueError(f"--write-card records numbers the card's eval_command reproduces from the entry alone; "
                         f"it does not take --samples-dir {args.samples_dir}.")
    if args.option:
        raise ValueError(f"--option {' '.join(args.option)} sets how samples are drawn; the samples of --samples-dir "
                         f"{args.samples_dir} are already drawn (kzoo sample --option sets them).")
    n_samples = None if isinstance(args.n_samples, _Default) else args.n_samples
    open_sample_folder(args.samples_dir)  # a missing, empty or mixed folder fails before any model loads
    manifest = read_manifest(args.samples_dir)
    with contextlib.redirect_stdout(sys.stderr) if args.json else contextlib.nullcontext():
        if args.entry is None:
            from kzoo.evaluation.compare import measure_folder

            data = args.data or (manifest or {}).get("dataset")
            if not data:
                raise ValueError(f"--samples-dir {args.samples_dir} names no dataset (it has no manifest that "
                                 "does); pass --data NAME_OR_PATH for the real images.")
            row = measure_folder(args.samples_dir, data, args.split, data_dir=args.data_dir, n_samples=n_samples,
                                 extractor=_extractor(args), seed=args.seed, batch_size=args.batch_size)
        else:
            from kzoo.evaluation.compare import measure

            model, data = _load_generative_entry(args)
            row = measure(model, data, args.split, data_dir=args.data_dir, n_samples=n_samples, k=args.k,
                          nll_limit=args.limit, extractor=_extractor(args), seed=args.seed,
                          batch_size=args.batch_size, name=args.entry, samples_dir=args.samples_dir)
    _print_eval_row(args, row)
    return 0


#: Row keys that describe the evaluation rather than measure the model.
_ROW_DESCRIPTION_KEYS = ("parameters", "seconds", "nll_seconds", "n_real")


def _write_eval_to_card(args, row):
    """Records an eval row in the entry's card: ``<split>_<key>`` metrics and the command as ``eval_command``."""
    from kzoo.core.catalog import resolve_preset
    from kzoo.core.presets import update_card

    split = row["split"]
    metrics = {}
    for key, value in row.items():
        if key in _ROW_DESCRIPTION_KEYS or isinstance(value, bool) or not isinstance(value, (int, float)):
            continue
        if key == "sample_seconds_per_image":
            metrics[key] = value
        elif key == "n_samples":
            metrics[f"{split}_fid_n_samples"] = value
        else:
            metrics[f"{split}_{key}"] = value
    command = "kzoo " + " ".join(shlex.quote(a) for a in args.argv)
    update_card(resolve_preset(args.entry), metrics=metrics, eval_command=command)
    print(f"kzoo eval: wrote {len(metrics)} {split} metrics to the card of {args.entry}", file=sys.stderr)


# --------------------------------------------------------------- compare
def cmd_compare(args):
    _quiet_tensorflow()
    from kzoo.evaluation.compare import compare, to_markdown

    rows = compare(args.entries, data=args.data, split=args.split, data_dir=args.data_dir,
                   n_samples=args.n_samples, k=args.k, nll_limit=args.limit, extractor=_extractor(args),
                   seed=args.seed, batch_size=args.batch_size, out_dir=args.out)
    print(to_markdown(rows))
    if args.out:
        print(f"\nWrote comparison.md, comparison.json and samples.png to {args.out}")
    return 0


# ----------------------------------------------------------------- probe
def _probe_c(value):
    """``--C``: ``auto`` or a positive number."""
    if value == "auto":
        return value
    try:
        number = float(value)
    except ValueError:
        number = None
    if number is None or not number > 0:
        raise ValueError(f"--C must be 'auto' or a positive number, got {value!r}.")
    return number


def cmd_probe(args):
    _quiet_tensorflow()
    import kzoo
    from kzoo.analysis.representation import probe, probe_table, representation_kinds

    if args.scatter and not args.scatter.lower().endswith(".png"):
        raise ValueError(f"--scatter: output file must end in .png, got {args.scatter!r}.")
    models = {}
    for entry in args.entries:
        model = models[entry] = kzoo.load(entry)
        kinds = representation_kinds(model)
        if not kinds:
            raise ValueError(f"{entry!r} is a {type(model).__name__}, which has no representation to probe: supported "
                             "are models with encode() (VAE, IWAE, AE, AAE, WAE, flows) and InfoGAN.")
        if args.kind and args.kind not in kinds:
            raise ValueError(f"{entry!r} ({type(model).__name__}) has no representation of kind {args.kind!r}; its "
                             f"kinds are {', '.join(kinds)}.")
    # With --json, stdout carries only the JSON object; progress goes to stderr.
    with contextlib.redirect_stdout(sys.stderr) if args.json else contextlib.nullcontext():
        result = probe(models, kind=args.kind, test_data=args.test_data, test_split=args.test_split,
                       data_dir=args.data_dir, limit=args.limit, seed=args.seed, batch_size=args.batch_size,
                       scatter=args.scatter, baselines=not args.no_baselines, C=_probe_c(args.C))
    if args.json:
        print(json.dumps(result))
        return 0
    protocol = result["protocol"]
    print(f"Probes trained on {protocol['train']['data']}/{protocol['train']['split']} "
          f"({protocol['train']['n']} labels, or {protocol['few_labels']}: {protocol['per_class']} per class), "
          f"accuracy (%) on {protocol['test']['data']}/{protocol['test']['split']} ({protocol['test']['n']} "
          f"images); logistic regression C={protocol['C']}, kNN k={protocol['k']}.")
    print(probe_table(result))
    for row in result["rows"]:
        if "scatter" in row:
            print(f"Wrote the scatter of {row['entry']} [{row['kind']}] to {row['scatter']}")
    return 0


# ---------------------------------------------------------------- detect
def cmd_detect(args):
    _quiet_tensorflow()
    import kzoo
    from kzoo.analysis.detect import detect
    from kzoo.core.base import LatentModel

    model = kzoo.load(args.entry)
    calibrate = args.calibrate
    if calibrate is None and args.threshold is None:
        calibrate = getattr(model, "card", {}).get("dataset")
        if not calibrate:
            raise ValueError(f"{args.entry!r} names no training dataset to calibrate on: pass --calibrate "
                             "NAME_OR_FOLDER (held-out normal data) or --threshold.")
    normal_classes = _class_list(args.normal_classes, "--normal-classes")
    calibrate_classes = _class_list(args.calibrate_classes, "--calibrate-classes")
    reference = None if args.reference is None else kzoo.load(args.reference)
    code_fit = args.code_fit
    if args.code_density is not None and code_fit is None:
        code_fit = getattr(model, "card", {}).get("dataset")
        if not code_fit:
            raise ValueError(f"{args.entry!r} names no training dataset to fit the code density to: pass --code-fit "
                             "NAME_OR_FOLDER (normal training images).")
    log_prob_kwargs = {"k": args.k} if isinstance(model, LatentModel) and model.stochastic_log_prob else {}
    with contextlib.redirect_stdout(sys.stderr) if args.json else contextlib.nullcontext():
        result = detect(model, args.data, args.split, calibrate=calibrate, calibrate_split=args.calibrate_split,
                        calibrate_classes=calibrate_classes, threshold=args.threshold, fpr=args.fpr, unit=args.unit,
                        reference=reference, complexity=args.complexity, code_density=args.code_density,
                        code_fit=code_fit, code_fit_split=args.code_fit_split, two_sided=args.two_sided,
                        typicality_guard=args.typicality_guard, normal_classes=normal_classes, out=args.out,
                        data_dir=args.data_dir, limit=args.limit, batch_size=args.batch_size, seed=args.seed,
                        **log_prob_kwargs)
    if args.json:
        print(json.dumps(result))
        return 0
    calibration = result["calibration"]
    origin = (f"calibrated at fpr {calibration['fpr']} on {calibration['n']} inputs of {calibration['source']}"
              if calibration else "given")
    band = f" (two-sided median {result['median']:.6g})" if result["median"] is not None else ""
    print(f"{result['entry']}: {result['score']} score in {result['unit']}, threshold {result['threshold']:.6g}{band} "
          f"({origin})")
    print(f"flagged {result['flagged']} of {result['n']} inputs of {result['source']} "
          f"({100 * result['flagged_fraction']:.1f}%)")
    if "auroc" in result:
        print(f"{result['n_outliers']} outliers vs {result['n_normal']} normal inputs: AUROC {result['auroc']:.4f}, "
              f"AUPRC {result['auprc']:.4f}, FPR at 95% TPR {result['fpr_at_95_tpr']:.4f}, detection rate "
              f"{result['detection_rate']:.4f} at false-positive rate {result['false_positive_rate']:.4f}")
    elif "summary_skipped" in result:
        print(f"no AUROC: {result['summary_skipped']}")
    print(f"Wrote the scores and flags to {result['out']}")
    return 0


def _class_list(text, flag):
    """A comma-separated class list of ``kzoo detect``, or None."""
    if text is None:
        return None
    classes = [c.strip() for c in text.split(",") if c.strip()]
    if not classes:
        raise ValueError(f"{flag} must name at least one class, got {text!r}.")
    return classes


def _add_measure_flags(p, batch_default):
    p.add_argument("--data-dir", help="folder holding dataset files (else $KZOO_DATA_DIR)")
    p.add_argument("--split", help="held-out split (default: test if the dataset has one, else validation)")
    p.add_argument("--k", type=int, default=100, help="importance samples for latent models (default 100)")
    p.add_argument("--limit", type=int, help="likelihood on the first LIMIT examples only")
    p.add_argument("--n-samples", type=int, default=2000,
                   help="generated samples for FID/KID/IS/precision/recall (default 2000)")
    p.add_argument("--extractor", choices=("mnist", "inception_v3"), default="mnist",
                   help="feature extractor: kzoo's MNIST classifier (offline) or InceptionV3")
    p.add_argument("--inception-weights", metavar="PATH", help="InceptionV3 weights file (.h5) when offline")
    p.add_argument("--batch-size", type=int, default=batch_default,
                   help=f"examples per batch (default {batch_default})")
    p.add_argument("--seed", type=int, default=0, help="seed of sampling and stochastic estimates (default 0)")


def _generate_options(model, pairs):
    """``--option`` pairs as ``generate`` keyword arguments, checked against the model's signature."""
    import inspect

    options = parse_overrides(pairs, "--option")
    accepted = set()
    for method in (model.generate, getattr(model, "sample_batch", None)):
        if method is None:
            continue
        parameters = inspect.signature(method).parameters
        accepted |= {name for name, p in parameters.items() if p.kind is not p.VAR_KEYWORD}
    accepted -= {"n", "seed"}
    unknown = sorted(set(options) - accepted)
    if unknown:
        raise _unknown_keys_error(f"--option: {type(model).__name__}.generate()", unknown, accepted)
    return options


def _add_option_flag(p):
    p.add_argument("--option", action="append", metavar="KEY=VALUE",
                   help="keyword argument of the model's generate(), a JSON value or plain text (repeatable), "
                        "e.g. --option temperature=0.8, or --option sampler=ddim --option steps=50")


class _Parser(argparse.ArgumentParser):
    """An argument parser whose usage errors are one line on stderr (exit status 2)."""

    def error(self, message):
        self.exit(2, f"{self.prog}: error: {message} (see `{self.prog} --help`)\n")


def build_parser():
    """Returns the ``argparse`` parser of the ``kzoo`` command."""
    parser = _Parser(prog="kzoo", description="A Keras 3 model zoo of generative models.")
    parser.add_argument("--version", action="version", version=f"kzoo {__import__('kzoo').__version__}")
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")

    p = sub.add_parser("list", help="list pretrained entries (or model architectures with --models)",
                       description="List pretrained entries with family, dataset and headline metrics.")
    p.add_argument("--json", action="store_true", help="print JSON instead of a table")
    p.add_argument("--models", action="store_true", help="list registered model architectures instead")
    p.set_defaults(func=cmd_list)

    p = sub.add_parser("train", help="train a model with fit() and save a loadable entry",
                       description="Train MODEL on a dataset with Keras fit: progress bar, TensorBoard logs "
                                   "(scalars and a sample grid every epoch) in OUT/logs, an every-epoch backup "
                                   "in OUT/backup (rerun the same command to resume), and a loadable entry in "
                                   "OUT/preset at the end.")
    p.add_argument("model", help="registered model name (see `kzoo list --models`)")
    p.add_argument("--data", required=True, help="dataset name (mnist5k, digits, mnist, ...) or image folder")
    p.add_argument("--data-dir", help="folder holding dataset files (else $KZOO_DATA_DIR)")
    p.add_argument("--epochs", type=int, default=10, help="number of epochs (default 10)")
    p.add_argument("--batch-size", type=int, default=64, help="global batch size (default 64)")
    p.add_argument("--out", default="runs/kzoo", help="output folder (default runs/kzoo)")
    p.add_argument("--precision", choices=PRECISIONS, default="float32",
                   help="Keras dtype policy (default float32); auto: mixed_float16 on GPUs of compute capability "
                        ">= 7.0, mixed_bfloat16 on TPUs and CPUs with bfloat16 instructions, else float32")
    p.add_argument("--jit-compile", action=argparse.BooleanOptionalAction, default=None,
                   help="compile the training step with XLA, or not (--no-jit-compile); default: Keras' choice "
                        "(XLA with a GPU or TPU and no --distribute, off on CPU-only machines). "
                        "benchmarks/throughput.py --jit measures it")
    p.add_argument("--distribute", choices=DISTRIBUTE, default="none",
                   help="tf.distribute strategy: none; mirrored over local GPUs / logical CPUs; multiworker "
                        "(one process per worker, each with its TF_CONFIG; only the chief writes --out); tpu")
    p.add_argument("--replicas", type=int, default=None,
                   help="replicas of --distribute mirrored: the first N GPUs (default all; N logical GPUs on "
                        "a single GPU), or N logical CPUs without GPUs (default 2)")
    p.add_argument("--tpu", metavar="NAME_OR_ADDRESS",
                   help="TPU of --distribute tpu: local (a TPU VM), a Cloud TPU name or grpc://host:port "
                        "(default: found from the environment, e.g. TPU_NAME)")
    p.add_argument("--seed", type=int, default=0, help="random seed (default 0)")
    p.add_argument("--learning-rate", type=float, default=None,
                   help="Adam learning rate (default: the model's own optimizer settings)")
    p.add_argument("--d-learning-rate", type=float, default=None,
                   help="adversarial models: the discriminator's own Adam rate (two time-scale updates; needs "
                        "--learning-rate, the generator's; decayed alike)")
    p.add_argument("--lr-schedule", choices=("constant", "cosine", "linear"), default="constant",
                   help="constant rate; a cosine decay to zero over --epochs; or linear: constant for half the "
                        "epochs, then linearly to zero (CycleGAN's) (decays need --learning-rate)")
    p.add_argument("--set", action="append", metavar="KEY=VALUE",
                   help="model constructor argument, JSON value (repeatable), e.g. --set latent_dim=16")
    p.add_argument("--early-stopping", type=int, metavar="PATIENCE",
                   help="stop when the monitored validation value has not improved for PATIENCE epochs and "
                        "keep the best weights")
    p.add_argument("--monitor", metavar="KEY",
                   help="the key early stopping watches (default val_loss; GANs on 28x28x1 images: val_kid, "
                        "the KID of 1,000 samples against the validation images, every epoch)")
    p.add_argument("--validation-fraction", type=float, metavar="FRACTION",
                   help="image folders: hold out this fraction of the images (fixed seed) for validation and "
                        "the card's metrics; named datasets use their own validation split")
    p.add_argument("--max-minutes", type=float, metavar="MINUTES",
                   help="wall-time budget: stop after the first epoch ending past it (a resumed run counts "
                        "its earlier time)")
    p.add_argument("--init-from", metavar="ENTRY_OR_DIR",
                   help="warm start: begin with the weights of a trained entry of the same architecture (same "
                        "--set options); its card's wall time is added to the new card's total")
    p.add_argument("--eval-k", type=int, default=100,
                   help="importance samples for the final held-out NLL bound of latent models (default 100)")
    p.set_defaults(func=cmd_train)

    p = sub.add_parser("sample", help="draw samples from an entry into a PNG grid or a folder of files",
                       description="Draw N samples from a pretrained entry (name or folder) into a PNG grid "
                                   "(-o; for an image-to-image entry, the first N validation examples of its "
                                   "dataset, a row each with their translations), or stream them to a folder (--out-dir) in chunks with a progress bar: "
                                   "one PNG per sample or one .npz per chunk, and a manifest (kzoo-samples.json) "
                                   "with the entry, seed and options. Each chunk is written atomically; running "
                                   "the same command again resumes after the last complete chunk, with the "
                                   "samples an uninterrupted run draws. Chunk i is drawn with the seed of batch "
                                   "i of kzoo eval, so kzoo eval --samples-dir DIR scores what kzoo eval draws "
                                   "with the same --seed and --batch-size equal to --chunk-size.")
    p.add_argument("entry", metavar="ENTRY_OR_DIR", help="entry name or preset folder")
    p.add_argument("-n", type=int, default=64, help="number of samples (default 64)")
    target = p.add_mutually_exclusive_group(required=True)
    target.add_argument("-o", "--output", help="output .png file (one grid)")
    target.add_argument("--out-dir", metavar="DIR", help="folder of sample files (new, empty, or a run to resume)")
    p.add_argument("--format", choices=("png", "npz"),
                   help="--out-dir files: one 8-bit PNG per sample, sample-00000000.png ... (default), or one "
                        "chunk-000000.npz per chunk (uint8 images)")
    p.add_argument("--chunk-size", type=int, metavar="N",
                   help=f"--out-dir: samples per chunk, drawn and written at once (default {_DEFAULT_CHUNK_SIZE}, "
                        "the --batch-size of kzoo eval)")
    p.add_argument("--seed", type=int, default=0, help="sampling seed (default 0)")
    p.add_argument("--scale", type=int, help="pixel upscaling of the -o grid (default 2)")
    p.add_argument("--growth", action="store_true",
                   help="progressively grown entries (progan): the -o grid shows the same N latents at every "
                        "resolution level, a row each")
    _add_option_flag(p)
    p.set_defaults(func=cmd_sample)

    p = sub.add_parser("eval", help="measure an entry on held-out data",
                       description="Measure an entry on a held-out split: NLL in nats and bits/dim for models "
                                   "with a likelihood (latent models: negative ELBO and the importance-weighted "
                                   "bound), and FID, KID, Inception Score, precision and recall of its samples "
                                   "for image data. MNIST-classifier features give numbers comparable with each "
                                   "other, not with Inception-based ones.")
    p.add_argument("entry", metavar="ENTRY_OR_DIR", nargs="?",
                   help="entry name or preset folder (optional with --samples-dir)")
    p.add_argument("--data", help="dataset name or folder (default: the entry's training dataset)")
    _add_measure_flags(p, 100)
    p.set_defaults(n_samples=_Default(2000))
    p.add_argument("--samples-dir", metavar="DIR",
                   help="score the samples in DIR instead of drawing them: a folder of kzoo sample --out-dir "
                        "(PNG or npz) or of your own PNG files of the model's image size; --n-samples N takes "
                        "its first N (default: all). Without ENTRY_OR_DIR only the sample metrics are computed "
                        "(--data, or the dataset its manifest names)")
    _add_option_flag(p)
    p.add_argument("--json", action="store_true", help="print one JSON object (progress goes to stderr)")
    p.add_argument("--write-card", action="store_true",
                   help="also record the numbers in the entry's card.json (metrics named <split>_<key>) with this "
                        "command as its eval_command")
    p.set_defaults(func=cmd_eval)

    p = sub.add_parser("compare", help="compare entries in one table",
                       description="Measure several entries on the same data and sample budget and print one "
                                   "table: family, explicit/implicit density, generation method, parameters, "
                                   "NLL/bits-per-dim where defined, FID, KID, IS, precision, recall and sampling "
                                   "time per image. With --out, also writes Markdown, JSON and a PNG with one "
                                   "sample grid per entry.")
    p.add_argument("entries", nargs="+", metavar="ENTRY", help="entry names or preset folders")
    p.add_argument("--data", default="mnist5k", help="dataset name or folder (default mnist5k)")
    _add_measure_flags(p, 250)
    p.add_argument("--out", help="folder for comparison.md, comparison.json and samples.png")
    p.set_defaults(func=cmd_compare)

    p = sub.add_parser("probe", help="linear and k-NN probes of entries' representations",
                       description="Measure how much of the class the codes of each entry carry: logistic "
                                   "regression and 5-nearest-neighbour probes fitted on the codes of mnist5k's "
                                   "training split with all 4,500 labels and with 100 (10 per class), scored on "
                                   "the official MNIST test set (its IDX files in --data-dir or $KZOO_DATA_DIR), "
                                   "next to raw-pixel and PCA baselines with the same labels. Models with encode() "
                                   "give their latent code; InfoGAN gives q_codes (its recognition network) and "
                                   "d_features (the discriminator's penultimate features).")
    p.add_argument("entries", nargs="+", metavar="ENTRY", help="entry names or preset folders")
    p.add_argument("--kind", help="one representation kind only (latent, encoder_hidden, q_codes, d_features; "
                                  "default: every kind an entry has)")
    p.add_argument("--json", action="store_true", help="print one JSON object (progress goes to stderr)")
    p.add_argument("--scatter", metavar="PNG",
                   help="also draw the test codes in 2-D (PCA), coloured by class, into PNG (several entries or "
                        "kinds: PNG's stem + -ENTRY-KIND.png)")
    p.add_argument("--limit", type=int, help="use only the first LIMIT images of each split (quick checks)")
    p.add_argument("--data-dir", help="folder holding dataset files (else $KZOO_DATA_DIR)")
    p.add_argument("--test-data", default="mnist", help="dataset scored on (default mnist)")
    p.add_argument("--test-split", default="test", help="its split (default test)")
    p.add_argument("--batch-size", type=int, default=256, help="images per encoder call (default 256)")
    p.add_argument("--seed", type=int, default=0,
                   help="seed of the 10-per-class label draw, the solver and PCA (default 0)")
    p.add_argument("--no-baselines", action="store_true", help="leave out the raw-pixel and PCA rows")
    p.add_argument("--C", default="1.0",
                   help="inverse regularization of the logistic probes: a number (default 1.0) or 'auto' (chosen "
                        "from 0.01, 0.1, 1, 10 on a stratified fifth of the labeled training codes)")
    p.set_defaults(func=cmd_probe)

    p = sub.add_parser("detect", help="flag novel inputs with an explicit model's likelihood",
                       description="Score every input of a dataset split or an image folder by its negative "
                                   "log-likelihood under ENTRY (raw, complexity-corrected or a likelihood ratio "
                                   "against a reference entry), flag those above a threshold calibrated on "
                                   "held-out normal data at --fpr, and write one CSV row per input (input, label, "
                                   "outlier, score, flagged). A folder of your own images is resized and converted "
                                   "to the entry's image size and channels. With --normal-classes the other "
                                   "classes are outliers, and AUROC, AUPRC and FPR at 95%% TPR are printed.")
    p.add_argument("entry", metavar="ENTRY_OR_DIR", help="explicit-density entry name or preset folder")
    p.add_argument("--data", required=True, metavar="FOLDER_OR_NAME",
                   help="inputs: a folder of images (directly in it, or one subfolder per class) or a dataset name")
    p.add_argument("--split", help="split of a named --data (default: test if it has one, else validation)")
    p.add_argument("--calibrate", metavar="FOLDER_OR_NAME",
                   help="held-out normal data that sets the threshold (default: the entry's training dataset, "
                        "its validation split)")
    p.add_argument("--calibrate-split", help="split of a named --calibrate (default: validation)")
    p.add_argument("--calibrate-classes", metavar="CLASSES",
                   help="calibrate on these comma-separated classes of --calibrate only (e.g. the digits the entry "
                        "was trained on; default all)")
    p.add_argument("--threshold", type=float, help="a known score threshold instead of calibrating")
    p.add_argument("--fpr", type=float, default=0.05,
                   help="false-positive rate of the calibrated threshold on normal data (default 0.05)")
    p.add_argument("--normal-classes", metavar="CLASSES",
                   help="comma-separated classes of --data that are normal (labels, dataset class names or "
                        "subfolder names); the others are outliers")
    correction = p.add_mutually_exclusive_group()
    correction.add_argument("--complexity", choices=("png", "zlib"),
                            help="input-complexity correction: score minus the compressed length of the input")
    correction.add_argument("--reference", metavar="ENTRY_OR_DIR",
                            help="likelihood ratio against this background entry (e.g. independent-mnist)")
    correction.add_argument("--code-density", type=int, metavar="COMPONENTS",
                            help="latent models: score the density of each input's code under a Gaussian mixture of "
                                 "COMPONENTS components fitted to the codes of --code-fit, instead of its "
                                 "likelihood (e.g. 10)")
    p.add_argument("--code-fit", metavar="FOLDER_OR_NAME",
                   help="normal training images the --code-density mixture is fitted to, restricted to "
                        "--calibrate-classes if given (default: the entry's training dataset, --code-fit-split)")
    p.add_argument("--code-fit-split", default="train", help="split of a named --code-fit (default train)")
    sided = p.add_mutually_exclusive_group()
    sided.add_argument("--two-sided", action="store_true",
                       help="flag scores far from the calibration median in either direction, so inputs more likely "
                            "than normal data (blank images) are flagged too")
    sided.add_argument("--typicality-guard", action="store_true",
                       help="keep the one-sided score and also flag inputs whose raw NLL is atypically high or low: "
                            "the larger of the two, each standardized on the calibration set")
    p.add_argument("--unit", choices=("nats", "bits", "bits_per_dim"), default="nats",
                   help="score unit (default nats)")
    p.add_argument("--out", default="kzoo-detect.csv", help="scores file (default kzoo-detect.csv)")
    p.add_argument("--k", type=int, default=100, help="importance samples for latent models (default 100)")
    p.add_argument("--limit", type=int, help="score only the first LIMIT inputs (and calibration inputs)")
    p.add_argument("--data-dir", help="folder holding dataset files (else $KZOO_DATA_DIR)")
    p.add_argument("--batch-size", type=int, default=256, help="examples per likelihood batch (default 256)")
    p.add_argument("--seed", type=int, default=0,
                   help="seed of binarization, dequantization and stochastic bounds (default 0)")
    p.add_argument("--json", action="store_true", help="print one JSON object (progress goes to stderr)")
    p.set_defaults(func=cmd_detect)
    return parser


def main(argv=None):
    """Entry point of the ``kzoo`` command; returns the exit status.

    Bad input (values, names, files, a folder that cannot be written) ends in
    exit status 2 and a one-line message on stderr, without a traceback.
    """
    argv = sys.argv[1:] if argv is None else [str(a) for a in argv]
    args = build_parser().parse_args(argv)
    args.argv = argv
    try:
        if getattr(args, "set", None) and getattr(args, "model", None):
            check_set_keys(args.model, args.set)
        return args.func(args)
    except (ValueError, OSError) as err:
        message = " ".join(line.strip() for line in str(err).splitlines() if line.strip())
        print(f"kzoo {args.command}: error: {message}", file=sys.stderr)
        return 2


if __name__ == "__main__":
    sys.exit(main())
