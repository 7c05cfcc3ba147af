"""Analysis tools: interpolation and latent arithmetic."""

from kzoo.analysis.interpolation import interpolate, lerp, slerp
from kzoo.analysis.anomaly import AnomalyDetector, anomaly_scores, calibrate_threshold, pr_auc, report, roc_auc

__all__ = ["interpolate", "lerp", "slerp"]
__all__ += ["AnomalyDetector", "anomaly_scores", "calibrate_threshold", "pr_auc", "report", "roc_auc"]
