"""Calibration: the one home of the certification statistics behind every threshold."""

from escalade.calibration._thresholds import (
    CalibrationResult,
    binomial_p_value,
    certify_cascade,
    certify_quality,
    certify_selective_error,
    clopper_pearson_lower,
    clopper_pearson_upper,
    min_certifiable_items,
    threshold_for_share,
)

__all__ = [
    "CalibrationResult",
    "binomial_p_value",
    "certify_cascade",
    "certify_quality",
    "certify_selective_error",
    "clopper_pearson_lower",
    "clopper_pearson_upper",
    "min_certifiable_items",
    "threshold_for_share",
]
