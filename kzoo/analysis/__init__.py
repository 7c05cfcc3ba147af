"""Analysis tools: image measures, latent interpolation and arithmetic, mode coverage, anomaly detection,
representation probes."""

from kzoo.analysis.anomaly import AnomalyDetector, anomaly_scores, calibrate_threshold, pr_auc, report, roc_auc
from kzoo.analysis.arithmetic import attribute_direction, vector_arithmetic
from kzoo.data.measures import attribute_scores, slant, stroke_thickness
from kzoo.core.interpolation import interpolate, interpolate_pairs, interpolation_grid, lerp, slerp
from kzoo.analysis.modes import (ClassHistogram, ModeCoverage, StackedModes, class_histogram, kl_from_uniform,
                                 mode_coverage, stacked_mode_coverage)
from kzoo.analysis.representation import (few_label_subset, knn_probe, latent_scatter, linear_probe, probe, probe_table,
                                          representation_kinds, representations)

__all__ = [
    "AnomalyDetector",
    "ClassHistogram",
    "ModeCoverage",
    "anomaly_scores",
    "attribute_direction",
    "attribute_scores",
    "calibrate_threshold",
    "class_histogram",
    "few_label_subset",
    "interpolate",
    "interpolate_pairs",
    "interpolation_grid",
    "kl_from_uniform",
    "knn_probe",
    "latent_scatter",
    "lerp",
    "linear_probe",
    "mode_coverage",
    "pr_auc",
    "probe",
    "probe_table",
    "report",
    "representation_kinds",
    "representations",
    "roc_auc",
    "slant",
    "slerp",
    "StackedModes",
    "stacked_mode_coverage",
    "stroke_thickness",
    "vector_arithmetic",
]
