"""Thresholds: Clopper-Pearson bounds and fixed-sequence testing over the threshold grid."""

from __future__ import annotations

from pathlib import Path

import pytest

from bot.routing.calibration import (
    NEVER,
    Calibration,
    CalibrationError,
    RouteCalibration,
    choose_threshold,
)
from bot.textclass.bounds import clopper_pearson_upper, smallest_sample


def test_clopper_pearson_matches_the_closed_form_without_errors() -> None:
    # With no errors the one-sided bound is 1 - (1 - confidence) ** (1 / n).
    assert clopper_pearson_upper(0, 45, 0.9) == pytest.approx(1 - 0.1 ** (1 / 45))
    assert clopper_pearson_upper(5, 100, 0.9) > 0.05  # the observed rate is below its bound
    assert clopper_pearson_upper(0, 0, 0.9) == 1.0


def test_smallest_sample_is_where_one_error_first_passes() -> None:
    n = smallest_sample(0.1, 0.9)
    assert clopper_pearson_upper(1, n, 0.9) <= 0.1 < clopper_pearson_upper(1, n - 1, 0.9)


def test_clean_predictions_get_a_low_threshold() -> None:
    predictions = [(0.3 + 0.007 * i, True) for i in range(100)]
    chosen = choose_threshold(predictions, 0.1, 0.9)
    assert chosen.threshold == 0.3
    assert (chosen.decided, chosen.errors) == (100, 0)


def test_errors_among_confident_predictions_keep_the_threshold_high() -> None:
    confident = [(0.96, True)] * 60
    shaky = [(0.6, i % 3 != 0) for i in range(60)]  # a third wrong
    chosen = choose_threshold(confident + shaky, 0.1, 0.9)
    assert chosen.threshold == 0.95
    assert chosen.error_bound <= 0.1


def test_a_route_that_cannot_meet_its_target_never_decides_locally() -> None:
    chosen = choose_threshold([(0.99, i % 2 == 0) for i in range(200)], 0.1, 0.9)
    assert chosen.threshold == NEVER


def test_a_calibration_file_round_trips_and_garbage_is_refused(tmp_path: Path) -> None:
    calibration = Calibration(
        digest="abc", confidence=0.9, folds=5, routes={"code": RouteCalibration(0.5, 9, 8, 1, 0.2)}
    )
    path = tmp_path / "calibration.json"
    calibration.save(path)
    loaded = Calibration.load(path)
    assert loaded.threshold("code") == 0.5
    assert loaded.threshold("missing") == NEVER
    path.write_text('{"digest": 1}', encoding="utf-8")
    with pytest.raises(CalibrationError, match="run `python -m bot routes calibrate`"):
        Calibration.load(path)
