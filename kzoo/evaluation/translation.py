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
"""

import time

import numpy as np

from kzoo.core.validation import check_positive_int

__all__ = ["DATASET_ATTRIBUTES", "translation_report"]

#: Pair dataset -> the attribute its two domains differ in (None: resolution, no scalar attribute).
DATASET_ATTRIBUTES = {"domains-thickness": "thickness", "domains-slant": "slant", "domains-resolution": None}

DIRECTIONS = (("a_to_b", "b_to_a"), ("b_to_a", "a_to_b"))


def translation_report(model, data, split="test", *, data_dir=None, limit=None, extractor="mnist", batch_size=256,
                       verbose=True):
    """Scores a translation model in both directions on the paired split of a pair dataset.

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
    from kzoo import data as kdata
    from kzoo.data.measures import ATTRIBUTES
    from kzoo.data.registry import canonical_name
    from kzoo.evaluation.features import get_feature_extractor
    from kzoo.metrics.fid import fid_from_features

    start = time.perf_counter()
    name = canonical_name(data) if isinstance(data, str) else None
    if name not in DATASET_ATTRIBUTES:
        raise ValueError(f"translation is scored on a pair dataset ({', '.join(DATASET_ATTRIBUTES)}), got {data!r}.")
    if split == "train":
        raise ValueError(f"the train split of {name!r} is unpaired (its two images are different digits): score "
                         "the paired 'validation' or 'test' split.")
    x, labels = kdata.load_numpy(name, split, labels=True, data_dir=data_dir)
    if limit is not None:
        limit = check_positive_int(limit, "limit")
        x, labels = x[:limit], labels[:limit]
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
