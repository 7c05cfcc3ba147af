"""Analysis tools: image measures, latent interpolation and arithmetic, mode coverage, anomaly detection."""

from kzoo.analysis.anomaly import AnomalyDetector, anomaly_scores, calibrate_threshold, pr_auc, report, roc_auc
from kzoo.analysis.arithmetic import attribute_direction, vector_arithmetic
from kzoo.analysis.image_measures import attribute_scores, slant, stroke_thickness
from kzoo.core.interpolation import interpolate, interpolate_pairs, interpolation_grid, lerp, slerp
from kzoo.analysis.modes import ClassHistogram, ModeCoverage, class_histogram, kl_from_uniform, mode_coverage

__all__ = [
    "AnomalyDetector",
    "ClassHistogram",
    "ModeCoverage",
    "anomaly_scores",
    "attribute_direction",
    "attribute_scores",
    "calibrate_threshold",
    "class_histogram",
    "interpolate",
    "interpolate_pairs",
    "interpolation_grid",
    "kl_from_uniform",
    "lerp",
    "mode_coverage",
    "pr_auc",
    "report",
    "roc_auc",
    "slant",
    "slerp",
    "stroke_thickness",
    "vector_arithmetic",
]
