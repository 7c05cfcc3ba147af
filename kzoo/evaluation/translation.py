"""Image-to-image translation measured against exact targets.

The paired splits of the ``domains-*`` datasets (:mod:`kzoo.data.domains`)
hold every held-out digit in both domains, the second the exact image the
translation should produce. :func:`translation_report` scores a translation
model (anything with ``translate(x, direction)``) in both directions on
them, each figure beside the figure of the identity mapping (returning the
input unchanged), which is what a model that learned nothing scores:

* ``l1``: mean absolute pixel error against the true target;
* ``digit_accuracy``: the MNIST classifier reads the input's digit in the
  output (identity kept), beside ``target_digit_accuracy``, the rate on the
  true targets (the ceiling: the classifier has its own errors);
* ``attribute_error``: mean absolute difference between the measured
  attribute of output and target (stroke thickness in pixels, or slant), for
  the datasets whose domains differ in one (:data:`DATASET_ATTRIBUTES`);
  ``attribute_median`` against ``target_attribute_median``;
* ``fid``: Frechet distance of the outputs to the true targets in kzoo's
  MNIST-classifier feature space;
* ``cycle_l1``: mean absolute error of there and back (``F(G(a))`` against
  ``a``).

On a stack dataset of many domains (``domains-five``, a model with
``translate(x, target)`` such as :class:`kzoo.models.gan.StarGAN`) every
one of the ``K (K - 1)`` source -> target pairs is scored the same way, plus
``domain_accuracy``: how often an independent domain classifier (the
shipped ``domain-classifier`` entry, trained once on the transforms, never
on a model's outputs) puts the output in the target domain, beside
``target_domain_accuracy``, its rate on the true targets; and both
attributes (``thickness_error``, ``slant_error``) against the target's.
The summary keys (``mean_*``, ``min_*``) aggregate the pairs.
"""

import time

import numpy as np

from kzoo.core.validation import check_positive_int

__all__ = ["DATASET_ATTRIBUTES", "translation_report", "stack_translation_report"]

#: Pair dataset -> the attribute its two domains differ in (None: resolution, no scalar attribute).
DATASET_ATTRIBUTES = {"domains-thickness": "thickness", "domains-slant": "slant", "domains-resolution": None}

DIRECTIONS = (("a_to_b", "b_to_a"), ("b_to_a", "a_to_b"))


def _dataset_name(data):
    from kzoo.data.registry import canonical_name

    return canonical_name(data) if isinstance(data, str) else None


def _held_out_split(data, split, data_dir, limit, known):
    from kzoo import data as kdata

    name = _dataset_name(data)
    if name not in known:
        raise ValueError(f"translation is scored on a pair or stack dataset ({', '.join(known)}), got {data!r}.")
    if split == "train":
        raise ValueError(f"the train split of {name!r} is unpaired (its images are different digits): score "
                         "the paired 'validation' or 'test' split.")
    x, labels = kdata.load_numpy(name, split, labels=True, data_dir=data_dir)
    if limit is not None:
        limit = check_positive_int(limit, "limit")
        x, labels = x[:limit], labels[:limit]
    return name, x, labels


def _known_datasets():
    from kzoo.data.domains import STACK_DATASETS

    return tuple(DATASET_ATTRIBUTES) + tuple(STACK_DATASETS)


def translation_report(model, data, split="test", *, data_dir=None, limit=None, extractor="mnist", batch_size=256,
                       verbose=True, domain_classifier=None):
    """Scores a translation model in both directions on the paired split of a pair dataset.

    On a stack dataset (``domains-five``) it hands over to
    :func:`stack_translation_report`, which scores every source -> target
    pair.

    Args:
        model: a model with ``translate(x, direction, batch_size)`` for
            ``direction`` in ``"a_to_b"``, ``"b_to_a"`` (e.g.
            :class:`kzoo.models.gan.CycleGAN`).
        data: a pair dataset name (``domains-thickness``, ``domains-slant``,
            ``domains-resolution``).
        split: a paired split: ``"validation"`` or ``"test"`` (the official
            MNIST test set, needs ``data_dir`` or ``$KZOO_DATA_DIR``).
        data_dir: folder of the MNIST test files.
        limit: score only the first ``limit`` pairs.
        extractor: feature extractor (name or object) for the classifier and
            the FID features.
        batch_size: images per call.
        verbose: print one line per direction.
        domain_classifier: for a stack dataset, see
            :func:`stack_translation_report`.

    Returns:
        A flat, JSON-serializable dict: ``dataset``, ``split``, ``n``,
        ``attribute`` and, for each direction ``d`` in ``a_to_b`` and
        ``b_to_a``, ``d_l1``, ``d_identity_l1``, ``d_digit_accuracy``,
        ``d_identity_digit_accuracy``, ``d_target_digit_accuracy``,
        ``d_fid``, ``d_identity_fid``, ``d_cycle_l1`` and, where the dataset
        has an attribute, ``d_attribute_error``,
        ``d_identity_attribute_error``, ``d_attribute_median``,
        ``d_target_attribute_median``; and ``seconds``.

    Raises:
        ValueError: a dataset that is not a pair dataset, the unpaired train
            split, or a bad ``limit``.
    """
    from kzoo.data.measures import ATTRIBUTES
    from kzoo.evaluation.features import get_feature_extractor
    from kzoo.metrics.fid import fid_from_features

    from kzoo.data.domains import STACK_DATASETS

    if _dataset_name(data) in STACK_DATASETS:
        return stack_translation_report(model, data, split, data_dir=data_dir, limit=limit, extractor=extractor,
                                        batch_size=batch_size, verbose=verbose, domain_classifier=domain_classifier)
    start = time.perf_counter()
    name, x, labels = _held_out_split(data, split, data_dir, limit, _known_datasets())
    a, b = np.split(x, 2, axis=-1)
    extractor = get_feature_extractor(extractor)
    attribute = DATASET_ATTRIBUTES[name]
    measure = ATTRIBUTES[attribute] if attribute else None
    report = {"dataset": name, "split": split, "n": int(len(x)), "attribute": attribute}
    images = {"a_to_b": (a, b), "b_to_a": (b, a)}
    for direction, back in DIRECTIONS:
        source, target = images[direction]
        output = model.translate(source, direction, batch_size=batch_size)
        cycled = model.translate(output, back, batch_size=batch_size)
        features = {}
        digits = {}
        for key, batch in (("output", output), ("source", source), ("target", target)):
            features[key], probabilities = extractor.features_and_probabilities(batch)
            digits[key] = float(np.mean(np.argmax(probabilities, axis=-1) == labels))
        row = {
            "l1": float(np.mean(np.abs(output - target))),
            "identity_l1": float(np.mean(np.abs(source - target))),
            "digit_accuracy": digits["output"],
            "identity_digit_accuracy": digits["source"],
            "target_digit_accuracy": digits["target"],
            "fid": float(fid_from_features(features["target"], features["output"])),
            "identity_fid": float(fid_from_features(features["target"], features["source"])),
            "cycle_l1": float(np.mean(np.abs(cycled - source))),
        }
        if measure is not None:
            measured = {key: measure(batch) for key, batch in (("output", output), ("source", source),
                                                                ("target", target))}
            row.update({
                "attribute_error": float(np.mean(np.abs(measured["output"] - measured["target"]))),
                "identity_attribute_error": float(np.mean(np.abs(measured["source"] - measured["target"]))),
                "attribute_median": float(np.median(measured["output"])),
                "target_attribute_median": float(np.median(measured["target"])),
            })
        if verbose:
            print(f"{direction}: L1 {row['l1']:.4f} (identity {row['identity_l1']:.4f}), digit kept "
                  f"{row['digit_accuracy']:.1%} (targets {row['target_digit_accuracy']:.1%}), FID {row['fid']:.1f} "
                  f"(identity {row['identity_fid']:.1f}), cycle L1 {row['cycle_l1']:.4f}")
        report.update({f"{direction}_{key}": value for key, value in row.items()})
    report["seconds"] = round(time.perf_counter() - start, 1)
    return report


def stack_translation_report(model, data="domains-five", split="test", *, data_dir=None, limit=None,
                             extractor="mnist", batch_size=256, verbose=True, domain_classifier=None, pairs=None):
    """Scores a many-domain translation model on every source -> target pair of a stack dataset.

    The held-out stacks show one digit in every domain, so the image of
    domain ``t`` is the exact target of translating the image of domain
    ``s`` into ``t``. For each of the ``K (K - 1)`` pairs ``s_to_t`` the
    report holds ``l1`` / ``identity_l1``, ``digit_accuracy`` (the MNIST
    classifier reads the input's digit in the output), ``domain_accuracy``
    (the independent domain classifier puts the output in domain ``t``),
    ``fid`` (to the true targets), ``cycle_l1`` (``G(G(x, t), s)`` against
    ``x``) and ``thickness_error`` / ``slant_error`` (mean absolute
    difference of the measured attribute of output and target); per domain
    ``t``, the classifiers' rates on the true targets
    (``t_target_domain_accuracy``, ``t_target_digit_accuracy``: the
    ceilings); and the summaries over pairs: ``mean_`` of each pair figure,
    ``min_digit_accuracy``, ``min_domain_accuracy`` and
    ``mean_target_domain_accuracy``.

    Args:
        model: a model with ``translate(x, target, batch_size)`` and
            ``domain_names`` in the dataset's channel order (e.g.
            :class:`kzoo.models.gan.StarGAN`).
        data: a stack dataset (``domains-five``).
        split: ``"validation"`` or ``"test"`` (needs ``data_dir`` or
            ``$KZOO_DATA_DIR``).
        data_dir: folder of the MNIST test files.
        limit: score only the first ``limit`` stacks.
        extractor: feature extractor (name or object) for the digit
            classifier and the FID features.
        batch_size: images per call.
        verbose: print one line per pair.
        domain_classifier: an ``MnistClassifier`` of the dataset's domains,
            or an entry name or folder (default ``"domain-classifier"``).
        pairs: ``(source, target)`` domain names to score, or None for all
            ``K (K - 1)`` pairs.

    Returns:
        A flat, JSON-serializable dict: ``dataset``, ``split``, ``n``,
        ``domains``, the per-pair keys ``{s}_to_{t}_{figure}``, the
        per-domain ceilings, the summaries and ``seconds``.

    Raises:
        ValueError: not a stack dataset, the unpaired train split, a bad
            ``limit`` or pair, or a model whose domains differ from the
            dataset's.
    """
    from kzoo.data.domains import STACK_DATASETS
    from kzoo.data.measures import slant, stroke_thickness
    from kzoo.evaluation.features import get_feature_extractor
    from kzoo.metrics.fid import fid_from_features
    from kzoo.models.classifier.mnist_classifier import DOMAIN_ENTRY, MnistClassifier, load_mnist_classifier

    start = time.perf_counter()
    name, x, labels = _held_out_split(data, split, data_dir, limit, tuple(STACK_DATASETS))
    domains = tuple(STACK_DATASETS[name])
    if tuple(getattr(model, "domain_names", ())) != domains:
        raise ValueError(f"{name!r} stacks the domains {domains}, but the model translates between "
                         f"{tuple(getattr(model, 'domain_names', ()))}.")
    if not isinstance(domain_classifier, MnistClassifier):
        domain_classifier = load_mnist_classifier(domain_classifier or DOMAIN_ENTRY)
    if domain_classifier.num_classes != len(domains):
        raise ValueError(f"domain_classifier has {domain_classifier.num_classes} classes, expected one per domain "
                         f"({len(domains)}).")
    everything = [(s, t) for s in domains for t in domains if s != t]
    pairs = everything if pairs is None else [tuple(pair) for pair in pairs]
    if not pairs or any(pair not in everything for pair in pairs):
        raise ValueError(f"pairs must be (source, target) names of two different domains of {domains}, got "
                         f"{pairs!r}.")
    extractor = get_feature_extractor(extractor)
    images = np.split(x, len(domains), axis=-1)

    def judge(batch):
        features, probabilities = extractor.features_and_probabilities(batch)
        domain = np.concatenate([np.argmax(domain_classifier.probabilities(batch[i:i + 500]), -1)
                                 for i in range(0, len(batch), 500)])
        return (features, float(np.mean(np.argmax(probabilities, -1) == labels)), domain,
                stroke_thickness(batch), slant(batch))

    report = {"dataset": name, "split": split, "n": int(len(x)), "domains": list(domains)}
    targets = [judge(image) for image in images]
    for t, domain in enumerate(domains):
        report[f"{domain}_target_domain_accuracy"] = float(np.mean(targets[t][2] == t))
        report[f"{domain}_target_digit_accuracy"] = targets[t][1]
    rows = []
    for source, target in pairs:
        s, t = domains.index(source), domains.index(target)
        output = model.translate(images[s], t, batch_size=batch_size)
        cycled = model.translate(output, s, batch_size=batch_size)
        features, digits, domain, thickness, slants = judge(output)
        row = {
            "l1": float(np.mean(np.abs(output - images[t]))),
            "identity_l1": float(np.mean(np.abs(images[s] - images[t]))),
            "digit_accuracy": digits,
            "domain_accuracy": float(np.mean(domain == t)),
            "fid": float(fid_from_features(targets[t][0], features)),
            "cycle_l1": float(np.mean(np.abs(cycled - images[s]))),
            "thickness_error": float(np.mean(np.abs(thickness - targets[t][3]))),
            "slant_error": float(np.mean(np.abs(slants - targets[t][4]))),
        }
        rows.append(row)
        report.update({f"{source}_to_{target}_{key}": value for key, value in row.items()})
        if verbose:
            print(f"{source} -> {target}: L1 {row['l1']:.4f} (identity {row['identity_l1']:.4f}), digit kept "
                  f"{row['digit_accuracy']:.1%}, in the target domain {row['domain_accuracy']:.1%} (true "
                  f"targets {report[f'{target}_target_domain_accuracy']:.1%}), FID {row['fid']:.1f}",
                  flush=True)
    for key in rows[0]:
        report[f"mean_{key}"] = float(np.mean([row[key] for row in rows]))
    report["min_digit_accuracy"] = float(min(row["digit_accuracy"] for row in rows))
    report["min_domain_accuracy"] = float(min(row["domain_accuracy"] for row in rows))
    report["mean_target_domain_accuracy"] = float(np.mean([report[f"{d}_target_domain_accuracy"] for d in domains]))
    report["seconds"] = round(time.perf_counter() - start, 1)
    return report
