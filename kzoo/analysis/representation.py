"""How good are a generative model's features for classification? Linear and k-NN probes.

A model with an encoder-like map turns an image into a feature vector
(:func:`representations`). The probe protocol measures how much of the class
is readable from those features with simple classifiers fitted on a labeled
training set and scored on a held-out test set:

* :func:`linear_probe`: standardization, then multinomial logistic
  regression (scikit-learn, L-BFGS, fixed seed). ``C`` is fixed at 1.0 (the
  inverse L2 strength on standardized features) unless ``C="auto"``, which
  picks it from ``C_GRID`` on a stratified fifth of the *labeled training
  set* held out for it (never the test set).
* :func:`knn_probe`: a k-nearest-neighbour vote (k = 5, Euclidean distance
  on the features as they are: it measures the representation's own
  geometry, where the linear probe measures linear separability).
* each with all training labels and with few labels
  (:func:`few_label_subset`: 10 per class, 100 for digits).

:func:`probe` runs the whole protocol on models or pretrained entries:
codes of the ``mnist5k`` training split (4,500 images, 450 per class) train
the probes and the codes of the official MNIST test set (10,000 images, no
overlap) score them, next to two baselines under the same protocol: the raw
pixels and PCA (fit on the training images) with as many components as the
code has dimensions. :func:`probe_table` formats the result as Markdown and
:func:`latent_scatter` draws a 2-D picture of codes coloured by class.

References:
    Alain & Bengio, "Understanding intermediate layers using linear
    classifier probes", ICLR workshop 2017 (linear probes of features).
    Kingma, Rezende, Mohamed & Welling, "Semi-Supervised Learning with Deep
    Generative Models", NeurIPS 2014 (classifiers on VAE codes with 100
    MNIST labels).
    Chen et al., "InfoGAN", NeurIPS 2016 (the recognition network Q).
"""

import math
import os
import sys
from pathlib import Path

import numpy as np

from kzoo.core.validation import as_features, check_choice, check_positive_int, check_positive_number

#: The kind of models with ``encode`` (VAE, AE, AAE, WAE, flows ...): the latent code, flattened.
LATENT = "latent"
#: Models whose encoder has a hidden layer under the code head (the latent family): that layer's features.
ENCODER_HIDDEN = "encoder_hidden"
#: InfoGAN: the recognition network's predictions, categorical logits then continuous means.
Q_CODES = "q_codes"
#: InfoGAN: the discriminator trunk's flattened features (the layer under the D logit and Q's head).
D_FEATURES = "d_features"

#: The grid ``linear_probe(C="auto")`` chooses from.
C_GRID = (0.01, 0.1, 1.0, 10.0)
DEFAULT_C = 1.0
DEFAULT_K = 5
SCATTER_METHODS = ("auto", "pca", "tsne")


# ------------------------------------------------------------------ features
def _is_infogan(model):
    from kzoo.models.gan.infogan import InfoGAN

    return isinstance(model, InfoGAN)


def _has_encoder(model):
    from kzoo.core.base import LatentCodes

    return isinstance(model, LatentCodes) or (callable(getattr(model, "encode", None))
                                              and hasattr(model, "data_shape"))


def representation_kinds(model):
    """The representation kinds a model offers, its default first.

    Args:
        model: a kzoo model.

    Returns:
        A tuple of kind names: ``("latent", "encoder_hidden")`` for the
        latent family (VAE, IWAE, CVAE, AE, AAE, WAE), ``("latent",)`` for
        other models with ``encode`` (flows), ``("q_codes", "d_features")``
        for InfoGAN, ``()`` for a model without an encoder-like map.
    """
    if _is_infogan(model):
        return (Q_CODES, D_FEATURES)
    if _has_encoder(model):
        return (LATENT, ENCODER_HIDDEN) if getattr(model, "has_encoder_features", False) else (LATENT,)
    return ()


def _unsupported(model):
    return ValueError(
        f"{type(model).__name__} has no encoder-like map to take representations from. Supported: models with "
        f"encode() (VAE, IWAE, AE, AAE, WAE and the flows RealNVP, Glow, MAF: kind {LATENT!r}; the latent family "
        f"also {ENCODER_HIDDEN!r}, its encoder's hidden layer) and InfoGAN "
        f"(kinds {Q_CODES!r}: its recognition network's code predictions, {D_FEATURES!r}: the discriminator's "
        "penultimate features).")


def _resolve_kind(model, kind):
    kinds = representation_kinds(model)
    if not kinds:
        raise _unsupported(model)
    if kind is None:
        return kinds[0]
    if kind not in kinds:
        raise ValueError(f"{type(model).__name__} has no representation of kind {kind!r}; its kinds are "
                         f"{', '.join(repr(k) for k in kinds)}.")
    return kind


def _feature_fn(model, kind, labels):
    """``fn(x_chunk, label_chunk) -> (n, d) float32`` for one kind."""
    if kind == LATENT:
        def encode(chunk, chunk_labels):
            codes = model.encode(chunk, labels=chunk_labels) if chunk_labels is not None else model.encode(chunk)
            return np.asarray(codes, np.float32).reshape(len(chunk), -1)
        return encode
    if kind == ENCODER_HIDDEN:
        def hidden(chunk, chunk_labels):
            return model.encoder_features(chunk, labels=chunk_labels, batch_size=len(chunk))
        return hidden

    import tensorflow as tf

    trunk = model.discriminator

    @tf.function(reduce_retracing=True)
    def infogan_features(x):
        inputs = model.to_network_space(x)
        if kind == D_FEATURES:
            return tf.cast(tf.reshape(trunk.body(inputs, training=False), [tf.shape(x)[0], -1]), tf.float32)
        return tf.cast(trunk(inputs, training=False)[1], tf.float32)

    del labels
    return lambda chunk, chunk_labels: np.asarray(infogan_features(tf.constant(chunk)), np.float32)


def representations(model, x, labels=None, batch_size=256, kind=None, verbose=False):
    """Features of images from a model's encoder-like map.

    Kinds (see :func:`representation_kinds`):

    * ``"latent"``: models with ``encode`` (LatentCodes subclasses: VAE,
      IWAE, AE, AAE, WAE; flows, whose code is the full-size ``z``,
      flattened): the code, i.e. the posterior mean for a VAE.
    * ``"encoder_hidden"`` (the latent family: VAE, IWAE, CVAE, AE, AAE,
      WAE): the encoder's hidden layer, of which the code is a linear map
      (``model.encoder_features``); the layer a linear probe reads under a
      model's output head.
    * ``"q_codes"`` (InfoGAN's default): the recognition network Q's
      predictions, ``num_categories`` categorical logits then the
      ``num_continuous`` means.
    * ``"d_features"`` (InfoGAN): the flattened output of the convolutional
      trunk that the discriminator logit and Q's head share (its penultimate
      features).

    Args:
        model: a kzoo model.
        x: images ``(N,) + model.data_shape`` in the model's data space
            (use ``model.data_options(split)`` when loading them).
        labels: int labels ``(N,)``, for encoders that take them only
            (``model.codes_take_labels``, e.g. a conditional VAE).
        batch_size: images per network call.
        kind: None (the model's default kind) or one of its kinds.
        verbose: show a progress bar (``keras.utils.Progbar``).

    Returns:
        float32 numpy array ``(N, D)``.

    Raises:
        ValueError: a model without an encoder-like map (naming its type and
            what is supported), a kind the model lacks, or bad images/labels.
    """
    from kzoo.core.validation import check_data_batch

    kind = _resolve_kind(model, kind)
    batch_size = check_positive_int(batch_size, "batch_size")
    x = check_data_batch(x, model.data_shape, what="x", value_range=model.data_range)
    if getattr(model, "codes_take_labels", False):
        labels = model.check_labels(labels, len(x), cycle_missing=False)
    elif labels is not None:
        raise ValueError(f"{type(model).__name__}'s representation takes no labels.")
    fn = _feature_fn(model, kind, labels)
    progress = None
    if verbose:
        import keras

        progress = keras.utils.Progbar(len(x), unit_name="image")
    out = []
    for start in range(0, len(x), batch_size):
        chunk_labels = None if labels is None else labels[start:start + batch_size]
        out.append(fn(x[start:start + batch_size], chunk_labels))
        if progress is not None:
            progress.update(min(start + batch_size, len(x)))
    features = np.concatenate(out, axis=0).astype(np.float32, copy=False)
    bad = ~np.isfinite(features)
    if bad.any():
        raise ValueError(f"{type(model).__name__}'s {kind!r} representation holds {int(bad.sum())} NaN or infinite "
                         f"values (out of {features.size}); the model may be untrained or diverged.")
    return features


# ------------------------------------------------------------------- probes
def _check_labels(labels, n, name):
    labels = np.asarray(labels)
    if labels.ndim != 1 or len(labels) != n:
        raise ValueError(f"{name} must be a 1-D array of {n} class labels, got shape {labels.shape}.")
    if labels.dtype.kind not in "iub":
        if labels.dtype.kind == "f" and np.all(np.isfinite(labels)) and np.all(labels == np.round(labels)):
            labels = labels.astype(np.int64)
        else:
            raise ValueError(f"{name} must be integer class labels, got dtype {labels.dtype}.")
    return labels.astype(np.int64)


def _probe_inputs(train_features, train_labels, test_features, test_labels):
    train = as_features(train_features, "train features", min_samples=2)
    test = as_features(test_features, "test features")
    if train.shape[1] != test.shape[1]:
        raise ValueError(f"train features have dim {train.shape[1]} but test features have dim {test.shape[1]}.")
    y_train = _check_labels(train_labels, len(train), "train_labels")
    y_test = _check_labels(test_labels, len(test), "test_labels")
    if len(np.unique(y_train)) < 2:
        raise ValueError("train_labels hold a single class; a probe needs at least two.")
    return train, y_train, test, y_test


def _fit_logistic(train, y_train, C, seed, max_iter):
    from sklearn.linear_model import LogisticRegression
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import StandardScaler

    classifier = LogisticRegression(C=C, max_iter=max_iter, random_state=seed)
    return make_pipeline(StandardScaler(), classifier).fit(train, y_train)


def choose_C(train_features, train_labels, grid=C_GRID, seed=0, max_iter=1000):
    """The ``C`` of the grid with the best accuracy on a held-out fifth of the labeled training set.

    The split is stratified and seeded (at least one example per class
    stays on each side); ties go to the smaller ``C`` (stronger
    regularization). The test set is never looked at.

    Returns:
        A float from ``grid``.
    """
    train = as_features(train_features, "train features", min_samples=2)
    y = _check_labels(train_labels, len(train), "train_labels")
    rng = np.random.default_rng(seed)
    held = np.zeros(len(y), bool)
    for label in np.unique(y):
        members = rng.permutation(np.flatnonzero(y == label))
        if len(members) >= 2:
            held[members[:max(1, len(members) // 5)]] = True
    if not held.any() or len(np.unique(y[~held])) < 2:
        return float(DEFAULT_C)
    scores = []
    for C in grid:
        pipeline = _fit_logistic(train[~held], y[~held], float(C), seed, max_iter)
        scores.append(float(np.mean(pipeline.predict(train[held]) == y[held])))
    return float(grid[int(np.argmax(scores))])


def linear_probe(train_features, train_labels, test_features, test_labels, C=DEFAULT_C, seed=0, max_iter=1000,
                 return_C=False):
    """Test accuracy of a linear classifier on features.

    Features are standardized (mean and scale of the training features),
    then a multinomial logistic regression with an L2 penalty (scikit-learn's
    L-BFGS solver, ``random_state=seed``) is fit on the training features.

    Args:
        train_features: ``(n, d)`` features of the labeled training examples.
        train_labels: int labels ``(n,)``.
        test_features: ``(m, d)`` features of the test examples.
        test_labels: int labels ``(m,)``.
        C: inverse regularization strength; default 1.0 (fixed). ``"auto"``
            picks it from ``C_GRID`` with :func:`choose_C` on the training
            set only.
        seed: seed of the solver and of the ``"auto"`` split.
        max_iter: L-BFGS iterations.
        return_C: also return the ``C`` used.

    Returns:
        The accuracy (a float in [0, 1]), or ``(accuracy, C)``.

    Raises:
        ValueError: features that are not finite ``(n, d)`` matrices of one
            dim, labels of the wrong length or type, a single training class,
            or a bad ``C``.
    """
    train, y_train, test, y_test = _probe_inputs(train_features, train_labels, test_features, test_labels)
    if isinstance(C, str):
        check_choice(C, "C", ("auto",))
        C = choose_C(train, y_train, seed=seed, max_iter=max_iter)
    C = float(check_positive_number(C, "C"))
    pipeline = _fit_logistic(train, y_train, C, seed, check_positive_int(max_iter, "max_iter"))
    accuracy = float(np.mean(pipeline.predict(test) == y_test))
    return (accuracy, C) if return_C else accuracy


def knn_probe(train_features, train_labels, test_features, test_labels, k=DEFAULT_K, standardize=False):
    """Test accuracy of a k-nearest-neighbour vote on features.

    Euclidean distance, uniform weights (scikit-learn's
    ``KNeighborsClassifier``; ties go to the smaller label). ``k`` is fixed
    at 5 by default, a good value for both 4,500 and 100 MNIST labels; it
    is lowered to the number of training examples if there are fewer.

    Args:
        train_features: ``(n, d)`` features of the labeled training examples.
        train_labels: int labels ``(n,)``.
        test_features: ``(m, d)``.
        test_labels: int labels ``(m,)``.
        k: number of neighbours.
        standardize: standardize the features first (default False: the
            distance of the representation as it is).

    Returns:
        The accuracy (a float in [0, 1]).
    """
    from sklearn.neighbors import KNeighborsClassifier

    train, y_train, test, y_test = _probe_inputs(train_features, train_labels, test_features, test_labels)
    k = min(check_positive_int(k, "k"), len(train))
    if standardize:
        mean, scale = train.mean(0), train.std(0)
        scale[scale == 0] = 1.0
        train, test = (train - mean) / scale, (test - mean) / scale
    classifier = KNeighborsClassifier(n_neighbors=k).fit(train, y_train)
    return float(np.mean(classifier.predict(test) == y_test))


def few_label_subset(labels, per_class=10, seed=0):
    """Indices of ``per_class`` labeled examples of every class, drawn deterministically.

    Each class's examples are shuffled by ``numpy.random.default_rng(seed)``
    (classes in ascending order) and the first ``per_class`` kept; the same
    labels and seed always give the same subset.

    Args:
        labels: int labels ``(n,)``.
        per_class: examples kept per class.
        seed: non-negative int.

    Returns:
        Sorted int64 indices, ``per_class * num_classes`` of them.

    Raises:
        ValueError: a class with fewer than ``per_class`` examples, or bad
            labels.
    """
    per_class = check_positive_int(per_class, "per_class")
    labels = _check_labels(labels, len(np.asarray(labels).reshape(-1)), "labels")
    classes, counts = np.unique(labels, return_counts=True)
    short = {int(c): int(n) for c, n in zip(classes, counts) if n < per_class}
    if short:
        raise ValueError(f"few_label_subset needs {per_class} examples of every class; classes with fewer: "
                         f"{short} (class: count).")
    rng = np.random.default_rng(seed)
    picked = [rng.permutation(np.flatnonzero(labels == c))[:per_class] for c in classes]
    return np.sort(np.concatenate(picked)).astype(np.int64)


def _probe_row(name, kind, train, y_train, test, y_test, few, C, k, seed):
    logistic_full, c_full = linear_probe(train, y_train, test, y_test, C=C, seed=seed, return_C=True)
    logistic_few, c_few = linear_probe(train[few], y_train[few], test, y_test, C=C, seed=seed, return_C=True)
    return {
        "entry": name, "kind": kind, "dim": int(train.shape[1]),
        "logistic_full": logistic_full, "knn_full": knn_probe(train, y_train, test, y_test, k=k),
        "logistic_few": logistic_few, "knn_few": knn_probe(train[few], y_train[few], test, y_test, k=k),
        "C_full": c_full, "C_few": c_few,
    }


# ----------------------------------------------------------- the protocol
def _say(verbose, message):
    if verbose:
        print(message, flush=True)
        sys.stdout.flush()


def _load_split(data, split, data_dir, limit, options):
    from kzoo import data as kdata

    x, y = kdata.load_numpy(data, split=split, data_dir=data_dir, labels=True, **options)
    if limit is not None:
        x, y = x[:limit], y[:limit]
    return x, np.asarray(y, np.int64)


def _scatter_path(scatter, name, kind, several):
    path = Path(scatter)
    if not several:
        return path
    safe = "".join(ch if ch.isalnum() or ch in "-_." else "_" for ch in f"{name}-{kind}")
    return path.with_name(f"{path.stem}-{safe}{path.suffix}")


def probe(model_or_features, train_labels=None, test_features=None, test_labels=None, *, kind=None,
          baselines=True, train_data="mnist5k", train_split="train", test_data="mnist", test_split="test",
          data_dir=None, limit=None, per_class=10, C=DEFAULT_C, k=DEFAULT_K, seed=0, batch_size=256,
          scatter=None, name=None, verbose=True):
    """The probe protocol: linear and k-NN accuracy with all labels and with few.

    For models (or entry names, loaded with ``kzoo.core.presets.load_preset``):
    the codes of ``train_data``/``train_split`` (default the 4,500 images of
    ``mnist5k``'s training split) train a logistic-regression and a k-NN
    probe, (a) with every label and (b) with ``per_class`` labels per class
    (:func:`few_label_subset`, 100 for digits), and the accuracy on the codes
    of ``test_data``/``test_split`` (default the official MNIST test set,
    10,000 images; it needs the IDX files in ``data_dir`` or
    ``$KZOO_DATA_DIR``) is reported. Images are loaded with the model's own
    evaluation-time options, ``model.data_options(test_split)``, on both
    splits (static binarization for Bernoulli models, one fixed
    dequantization draw for flows): the codes are computed, not trained on.
    A label-conditioned encoder (a conditional VAE) is given each image's own
    label, so its row measures how much class information the code keeps
    beyond the label it was given (little, if the model leaves the class to
    the label).

    Baselines under the same protocol and labels: the raw pixels (the plain
    images in [0, 1]) and PCA of them (fit on the training images,
    ``random_state=seed``) with as many components as each model's code has
    dimensions (at most the number of pixels), once per distinct dimension.

    Precomputed features work too: ``probe(train_features, train_labels,
    test_features, test_labels)`` gives one row (no baselines: there are no
    images).

    Args:
        model_or_features: a kzoo model, an entry name or preset folder, a
            list of those, a dict ``{row name: model or entry}``, or an
            ``(n, d)`` training feature matrix.
        train_labels, test_features, test_labels: the rest of the features
            form; must be None for models.
        kind: None (every kind each model has, one row each) or one kind
            (see :func:`representations`).
        baselines: add the raw-pixel and PCA rows.
        train_data, train_split: the labeled training set.
        test_data, test_split: the test set.
        data_dir: folder of dataset files (the MNIST IDX files).
        limit: use only the first ``limit`` images of each split (quick
            checks; the splits are stored in a fixed shuffled order).
        per_class: labels per class of the few-label probes.
        C: the logistic regression's ``C`` (see :func:`linear_probe`).
        k: the k-NN probe's neighbours.
        seed: seed of the few-label draw, the solver and PCA.
        batch_size: images per network call.
        scatter: optional ``.png`` path: a :func:`latent_scatter` of the test
            codes of each model row (several rows: ``<stem>-<entry>-<kind>.png``).
        name: the row name of a single model or of features (default: the
            entry name, else the model's class name).
        verbose: progress bars and one line per step on stdout.

    Returns:
        A dict ready for JSON: ``protocol`` (datasets, splits, sizes,
        ``few_labels``, ``C``, ``k``, ``seed``, ``data_options`` per entry) and
        ``rows``, one dict per representation and baseline with ``entry``,
        ``kind``, ``dim``, ``logistic_full``, ``knn_full``, ``logistic_few``,
        ``knn_few`` (accuracies on the test set), ``C_full``, ``C_few`` (the
        ``C`` used) and, with ``scatter``, the PNG's path.

    Raises:
        ValueError: a model without a representation, a kind a model
            lacks, a dataset of another image shape, too few examples of a
            class for the few-label subset, or bad arguments.
        kzoo.data.DataNotAvailableError: the test set's files are missing.
    """
    per_class = check_positive_int(per_class, "per_class")
    if limit is not None:
        limit = check_positive_int(limit, "limit")
    if isinstance(C, str):
        check_choice(C, "C", ("auto",))
    else:
        check_positive_number(C, "C")
    if isinstance(model_or_features, np.ndarray) or hasattr(model_or_features, "numpy"):
        if train_labels is None or test_features is None or test_labels is None:
            raise ValueError("probe(features, ...) needs train_labels, test_features and test_labels.")
        train, y_train, test, y_test = _probe_inputs(model_or_features, train_labels, test_features, test_labels)
        few = few_label_subset(y_train, per_class, seed)
        row = _probe_row(name or "features", kind or "features", train, y_train, test, y_test, few, C, k, seed)
        protocol = {"n_train": int(len(train)), "n_test": int(len(test)), "few_labels": int(len(few)),
                    "per_class": per_class, "C": C, "k": int(k), "seed": int(seed)}
        return {"protocol": protocol, "rows": [row]}
    if not (train_labels is None and test_features is None and test_labels is None):
        raise ValueError("train_labels, test_features and test_labels are for precomputed features; with models "
                         "the datasets are loaded from train_data/test_data.")

    if isinstance(model_or_features, dict):
        models = list(model_or_features.items())
    elif isinstance(model_or_features, (list, tuple)):
        models = [(None, item) for item in model_or_features]
    else:
        models = [(name, model_or_features)]
    if not models:
        raise ValueError("probe needs at least one model or entry name.")
    loaded = []
    for entry, item in models:
        if isinstance(item, (str, os.PathLike)):
            from kzoo.core.presets import load_preset

            loaded.append((str(entry or os.fspath(item)), load_preset(item)))
        else:
            loaded.append((str(entry or type(item).__name__), item))
    plan = []
    for entry, model in loaded:
        kinds = representation_kinds(model)
        if not kinds:
            raise _unsupported(model)
        plan.append((entry, model, kinds if kind is None else (_resolve_kind(model, kind),)))

    cache = {}

    def load(options):
        key = tuple(sorted(options.items()))
        if key not in cache:
            x_train, labels_train = _load_split(train_data, train_split, data_dir, limit, options)
            x_test, labels_test = _load_split(test_data, test_split, data_dir, limit, options)
            if cache:
                first = next(iter(cache.values()))
                if not (np.array_equal(first[1], labels_train) and np.array_equal(first[3], labels_test)):
                    raise ValueError("The splits' labels differ between data options; cannot compare entries.")
            cache[key] = (x_train, labels_train, x_test, labels_test)
        return cache[key]

    rows, options_used = [], {}
    model_rows = sum(len(kinds) for _, _, kinds in plan)
    for entry, model, kinds in plan:
        options = dict(model.data_options(test_split))
        options_used[entry] = options
        x_train, y_train, x_test, y_test = load(options)
        few = few_label_subset(y_train, per_class, seed)
        if tuple(x_train.shape[1:]) != tuple(model.data_shape):
            raise ValueError(f"{train_data!r} has images of shape {tuple(x_train.shape[1:])}, but {entry} expects "
                             f"{tuple(model.data_shape)}.")
        for rep_kind in kinds:
            _say(verbose, f"{entry} [{rep_kind}]: encoding {len(x_train)} training images")
            # A label-conditioned encoder (CVAE) is given each image's own label: its code is what the label leaves.
            given = getattr(model, "codes_take_labels", False)
            f_train = representations(model, x_train, labels=y_train if given else None, batch_size=batch_size,
                                      kind=rep_kind, verbose=verbose)
            _say(verbose, f"{entry} [{rep_kind}]: encoding {len(x_test)} test images")
            f_test = representations(model, x_test, labels=y_test if given else None, batch_size=batch_size,
                                     kind=rep_kind, verbose=verbose)
            _say(verbose, f"{entry} [{rep_kind}]: fitting probes on {f_train.shape[1]}-d codes")
            row = _probe_row(entry, rep_kind, f_train, y_train, f_test, y_test, few, C, k, seed)
            if scatter is not None:
                path = _scatter_path(scatter, entry, rep_kind, model_rows > 1)
                row["scatter"] = str(latent_scatter(f_test, y_test, path,
                                                    title=f"{entry} [{rep_kind}], {len(f_test)} test images"))
            rows.append(row)

    if baselines:
        from sklearn.decomposition import PCA

        x_train, y_train, x_test, y_test = load({})
        few = few_label_subset(y_train, per_class, seed)
        p_train = x_train.reshape(len(x_train), -1).astype(np.float64)
        p_test = x_test.reshape(len(x_test), -1).astype(np.float64)
        _say(verbose, f"baseline: raw pixels ({p_train.shape[1]}-d)")
        model_dims = sorted({row["dim"] for row in rows})
        rows.append(_probe_row("pixels", "raw", p_train, y_train, p_test, y_test, few, C, k, seed))
        max_dim = min(p_train.shape[1], len(p_train))
        for dim in sorted({min(d, max_dim) for d in model_dims}):
            _say(verbose, f"baseline: PCA to {dim} dimensions")
            pca = PCA(n_components=dim, random_state=seed).fit(p_train)
            rows.append(_probe_row("pixels", f"pca-{dim}", pca.transform(p_train), y_train, pca.transform(p_test),
                                   y_test, few, C, k, seed))
    protocol = {
        "train": {"data": str(train_data), "split": train_split, "n": int(len(y_train))},
        "test": {"data": str(test_data), "split": test_split, "n": int(len(y_test))},
        "few_labels": int(len(few)), "per_class": per_class, "C": C, "k": int(k), "seed": int(seed),
        "limit": limit, "data_options": options_used,
    }
    return {"protocol": protocol, "rows": rows}


def probe_table(result):
    """A Markdown table of :func:`probe`'s rows (accuracies in percent).

    Args:
        result: the dict :func:`probe` returns, or its list of rows.

    Returns:
        The table as a string.
    """
    rows = result["rows"] if isinstance(result, dict) else list(result)
    few = result.get("protocol", {}).get("few_labels", "few") if isinstance(result, dict) else "few"
    header = ["entry", "kind", "dim", "logistic (all labels)", "kNN (all labels)", f"logistic ({few} labels)",
              f"kNN ({few} labels)"]
    lines = ["| " + " | ".join(header) + " |", "|" + "|".join(["---"] * 3 + ["---:"] * 4) + "|"]
    for row in rows:
        cells = [str(row["entry"]), str(row["kind"]), str(row["dim"])]
        cells += [f"{100 * row[key]:.2f}" for key in ("logistic_full", "knn_full", "logistic_few", "knn_few")]
        lines.append("| " + " | ".join(cells) + " |")
    return "\n".join(lines)


# ------------------------------------------------------------------ scatter
def latent_scatter(codes, labels, path, method="auto", title=None, max_points=None, seed=0):
    """Draws codes in 2-D, coloured by class, into a PNG (written atomically).

    Args:
        codes: ``(n, d)`` features, ``d >= 2``.
        labels: int labels ``(n,)``.
        path: output ``.png`` file; its folder is created if needed.
        method: ``"auto"`` (2-D codes as they are, else PCA), ``"pca"`` or
            ``"tsne"`` (scikit-learn's t-SNE, PCA initialization; slow
            beyond a few thousand points: see ``max_points``).
        title: optional figure title.
        max_points: draw at most this many points (a seeded random subset).
        seed: seed of the subset, PCA and t-SNE.

    Returns:
        The ``pathlib.Path`` written. The image is written to a temporary
        file beside ``path`` and renamed, so an error leaves no file behind.

    Raises:
        ValueError: a path not ending in .png, codes that are not a finite
            ``(n, d >= 2)`` matrix, labels of the wrong length or type, a
            bad method or ``max_points``.
    """
    path = Path(path)
    if path.suffix.lower() != ".png":
        raise ValueError(f"output file must end in .png, got {str(path)!r}.")
    method = check_choice(method, "method", SCATTER_METHODS)
    codes = as_features(codes, "codes")
    labels = _check_labels(labels, len(codes), "labels")
    if codes.shape[1] < 2:
        raise ValueError(f"codes have dim {codes.shape[1]}; a 2-D scatter needs at least 2 dimensions.")
    if max_points is not None and check_positive_int(max_points, "max_points") < len(codes):
        keep = np.sort(np.random.default_rng(seed).choice(len(codes), max_points, replace=False))
        codes, labels = codes[keep], labels[keep]
    if method == "auto" and codes.shape[1] == 2:
        points, axes_names = codes, ("dim 1", "dim 2")
    elif method == "tsne":
        from sklearn.manifold import TSNE

        perplexity = float(min(30.0, max(1.0, (len(codes) - 1) / 3.0)))
        points = TSNE(n_components=2, init="pca", random_state=seed, perplexity=perplexity).fit_transform(codes)
        axes_names = ("t-SNE 1", "t-SNE 2")
    else:
        if len(codes) < 2:
            raise ValueError("PCA needs at least 2 codes.")
        from sklearn.decomposition import PCA

        points = PCA(n_components=2, random_state=seed).fit_transform(codes)
        axes_names = ("PC 1", "PC 2")

    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    figure = Figure(figsize=(6.4, 5.6), dpi=100)
    FigureCanvasAgg(figure)
    ax = figure.add_subplot(1, 1, 1)
    classes = np.unique(labels)
    palette = "tab10" if len(classes) <= 10 else "tab20"
    import matplotlib

    cmap = matplotlib.colormaps[palette]
    size = 4 if len(points) > 2000 else 10
    for i, label in enumerate(classes):
        mask = labels == label
        ax.scatter(points[mask, 0], points[mask, 1], s=size, color=cmap(i % cmap.N), label=str(label), alpha=0.7,
                   linewidths=0)
    ax.set_xlabel(axes_names[0])
    ax.set_ylabel(axes_names[1])
    if title:
        ax.set_title(title, fontsize=10)
    ncol = 1 if len(classes) <= 12 else int(math.ceil(len(classes) / 12))
    ax.legend(title="class", markerscale=2.5 if size < 10 else 1.5, fontsize=8, loc="center left",
              bbox_to_anchor=(1.01, 0.5), ncol=ncol, frameon=False)
    figure.tight_layout()

    from kzoo.core.imaging import atomic_write

    path.parent.mkdir(parents=True, exist_ok=True)
    return atomic_write(path, lambda tmp: figure.savefig(tmp, format="png"), suffix=".png")
