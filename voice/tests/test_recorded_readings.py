"""The rules (voice.transcription.agreed) on what the decoder really wrote for the benchmark's report sets.

Each fixture holds, for every call of a bench/voice report set in every condition, the code said and
what transcribe() decoded with any code length (written by `python3 bench/voice/run.py --fixtures …`):
the first pass, the check when it ran, and the two halves when they ran. The decoder errs; these
tests hold the rules to what is theirs: a rule change may make more codes confident and right,
never more of them confident and wrong.

- three_chance_transcripts.json: round 3's report set (seed 4), recorded with round 3's decoding
  (the check only after a confident first pass, the halves only after none);
- four_round_transcripts.json: round 4's report set (seed 5), every reading of every call.
"""
import json
from collections import Counter
from pathlib import Path

import pytest

from voice.transcription import Reading, agreed, best_guess

FIXTURES = Path(__file__).with_name("fixtures")
# (right at any length, wrong at any length, right with the length known, wrong with it), per
# condition, counted when each fixture was recorded (bench/voice/results.md) or, for round 3's,
# when round 4's rules were first replayed on it.
RECORDED = {
    "three_chance_transcripts.json": {"clean": (80, 2, 81, 0), "telephone": (66, 4, 67, 1), "noisy": (47, 3, 47, 2)},
    "four_round_transcripts.json": {"clean": (80, 1, 81, 0), "telephone": (64, 2, 68, 0), "noisy": (50, 2, 51, 0)},
}


def decided(entry: dict, *, length: int | None = None) -> tuple[str | None, bool]:
    """What transcribe() concludes from the recorded readings: the code, and whether it is confident."""
    readings = [Reading("first", (entry["transcript"],))]
    if entry.get("check"):
        readings.append(Reading("check", (entry["check"],)))
    if "halves" in entry:
        readings.append(Reading("halves", tuple(entry["halves"].split(" | "))))
    code = agreed(readings, length)
    return (code, True) if code is not None else (best_guess(readings, length)[0], False)


def counts(fixture: str, *, with_length: bool) -> tuple[Counter, Counter]:
    right, wrong = Counter(), Counter()
    for entry in json.loads((FIXTURES / fixture).read_text()):
        code, confident = decided(entry, length=len(entry["expected"]) if with_length else None)
        if confident:
            (right if code == entry["expected"] else wrong)[entry["id"].rsplit(".", 1)[1]] += 1
    return right, wrong


@pytest.mark.parametrize("fixture", sorted(RECORDED))
def test_the_rules_find_as_many_right_and_no_more_wrong_confident_codes_than_when_recorded(fixture):
    right, wrong = counts(fixture, with_length=False)
    right_known, wrong_known = counts(fixture, with_length=True)
    for condition, (min_right, max_wrong, min_right_known, max_wrong_known) in RECORDED[fixture].items():
        assert right[condition] >= min_right, (condition, right)
        assert wrong[condition] <= max_wrong, (condition, wrong)
        assert right_known[condition] >= min_right_known, (condition, right_known)
        assert wrong_known[condition] <= max_wrong_known, (condition, wrong_known)


def test_round_4s_report_set_meets_the_targets_with_the_services_code_length():
    # The targets on the telephone band: confident codes 100 % right, >= 75 % of calls confident.
    right, wrong = counts("four_round_transcripts.json", with_length=True)
    assert wrong["telephone"] == 0 and right["telephone"] >= 0.75 * 90


@pytest.mark.parametrize("fixture", sorted(RECORDED))
def test_the_services_code_length_never_adds_a_wrong_code(fixture):
    right, wrong = counts(fixture, with_length=False)
    right_known, wrong_known = counts(fixture, with_length=True)
    for condition in RECORDED[fixture]:
        assert wrong_known[condition] <= wrong[condition]
        assert right_known[condition] >= right[condition]
