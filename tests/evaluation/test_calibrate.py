"""Dataset calibration: rows are fitted, calibrated and checked apart; bad shares are errors."""

from __future__ import annotations

import numpy as np
import pytest

from escalade.evaluation import CalibrationTarget, calibrate_rows, prepare_rows, split_rows
from escalade.exceptions import ConfigError
from escalade.replay import load_dataset
from tests.conftest import MakeDataset


def test_rows_are_split_without_overlap(make_dataset: MakeDataset) -> None:
    """Fit rows are never scored; calibration and check rows partition the scored rows."""
    rows = prepare_rows(load_dataset(make_dataset()), cascade=True, fit_share=0.25)
    assert rows.fit_rows == 1
    assert len(rows.scores) == 3
    calibration, check = split_rows(rows, calibration_share=0.5, seed=1)
    assert len(calibration.scores) + len(check.scores) == 3
    both = np.concatenate([calibration.scores, check.scores])
    assert sorted(both.tolist()) == sorted(rows.scores.tolist())


def test_share_target_accepts_the_asked_share(make_dataset: MakeDataset) -> None:
    """A strong-share target keeps about 1 - share of calibration rows on the cheap model."""
    rows = prepare_rows(load_dataset(make_dataset()), cascade=False, fit_share=0.25)
    calibration, check = split_rows(rows, calibration_share=0.5, seed=0)
    outcome = calibrate_rows(calibration, check, CalibrationTarget(strong_share=0.0))
    assert outcome.result.accepted_share == 1.0
    assert outcome.held is None


@pytest.mark.parametrize(
    ("call", "message"),
    [
        (lambda ds: prepare_rows(ds, cascade=True, fit_share=1.0), "fit_share must be in"),
        (lambda ds: split_rows(prepare_rows(ds, cascade=True), calibration_share=0.0), "calibration_share"),
        (lambda ds: split_rows(prepare_rows(ds, cascade=True, fit_share=0.7), calibration_share=0.5), "too few"),
        (lambda ds: CalibrationTarget(), "exactly one"),
    ],
)
def test_bad_calibration_settings(make_dataset: MakeDataset, call: object, message: str) -> None:
    """Shares outside (0, 1), too few rows and a missing target are errors naming the field."""
    with pytest.raises(ConfigError, match=message):
        call(load_dataset(make_dataset()))  # type: ignore[operator]
