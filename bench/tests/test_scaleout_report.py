"""The scale-out benchmark's arithmetic (bench/scaleout_report.py). No timing assertions."""
import pytest

from bench.scaleout_report import analyse, verdicts


def test_it_counts_checks_inside_the_window_and_the_longest_time_each_number_went_unchecked():
    reads = [(95.0, "a"), (104.0, "a"), (114.0, "a"), (124.0, "a"),  # every 10 s, across the start
             (100.5, "b"), (113.0, "b"), (125.0, "b"),                # once 12.5 s apart
             (90.0, "c")]                                             # checked before the window only
    result = analyse(reads, refs=["a", "b", "c"], window=(100.0, 130.0), interval=10.0)
    assert result["checks"] == 6
    assert result["checks_per_s"] == pytest.approx(0.2)
    # a: at most 10 s (95 -> 104 is 9; 124 -> the end 6); b: 12.5 s; c: 40 s since its last check.
    assert result["worst_gap_s"] == 40.0
    assert result["share_within"] == pytest.approx(1 / 3)
    assert result["never_checked"] == 1
    assert result["demand_per_s"] == 0.3


def test_it_counts_a_number_checked_on_time_only_if_the_gap_across_the_windows_start_was_too():
    # Checked 11.5 s before its first check in the window: over 10 + 1, though the window saw only 10.
    result = analyse([(89.0, "a"), (100.5, "a"), (110.5, "a")], refs=["a"], window=(100.0, 111.0), interval=10.0)
    assert result["share_within"] == 0.0
    assert result["worst_gap_s"] == 11.5


def test_it_judges_the_targets_against_the_most_workers_and_the_ratio_of_two_to_one():
    phases = [{"workers": 1, "checks_per_s": 50.0, "share_within": 0.2, "interval_s": 55.0},
              {"workers": 2, "checks_per_s": 90.0, "share_within": 1.0, "interval_s": 55.0}]
    assert [(v["value"], v["met"]) for v in verdicts(phases)] == [("100.00%", True), ("1.80 ×", True)]
    phases[1].update(checks_per_s=80.0, share_within=0.99)
    assert [(v["value"], v["met"]) for v in verdicts(phases)] == [("99.00%", False), ("1.60 ×", False)]
