"""Analysis tools: latent interpolation and likelihood-based anomaly detection."""

from kzoo.analysis.anomaly import AnomalyDetector, anomaly_scores, calibrate_threshold, pr_auc, report, roc_auc
from kzoo.analysis.interpolation import interpolate, lerp, slerp

__all__ = [
    "AnomalyDetector",
    "anomaly_scores",
    "calibrate_threshold",
    "interpolate",
    "lerp",
    "pr_auc",
    "report",
    "roc_auc",
    "slerp",
]
