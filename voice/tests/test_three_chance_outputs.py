"""The rules (voice.transcription.agreed) on what the decoder really wrote for the benchmark's round-3 report set.

voice/tests/fixtures/three_chance_transcripts.json holds, for every call of bench/voice's report set
(seed 4) in every condition, the code said and what transcribe() decoded (any code length): the
first pass, the check when it ran ("" when the first pass fell back to a warmer decoding and got no
second reading) and the two halves when they ran (written by `python3 bench/voice/run.py
--fixtures …`). The decoder errs; these tests hold the rules to what is theirs: a rule change may
make more codes confident and right, never more of them confident and wrong.
"""
import json
from collections import Counter
from pathlib import Path

from voice.transcription import Reading, agreed, best_guess

FIXTURE = Path(__file__).with_name("fixtures") / "three_chance_transcripts.json"
# Counted when the fixture was recorded (bench/voice/results.md, round 3).
MIN_CONFIDENT_RIGHT = {"clean": 80, "telephone": 66, "noisy": 47}
MAX_CONFIDENT_WRONG = {"clean": 3, "telephone": 5, "noisy": 4}


def decided(entry: dict, *, length: int | None = None) -> tuple[str | None, bool]:
    """What transcribe() concludes from the recorded readings: the code, and whether it is confident."""
    readings = [Reading("first", (entry["transcript"],))]
    if entry.get("check"):
        readings.append(Reading("check", (entry["check"],)))
    if "halves" in entry:
        readings.append(Reading("halves", tuple(entry["halves"].split(" | "))))
    code = agreed(readings, length)
    return (code, True) if code is not None else (best_guess(readings, length)[0], False)


def counts(*, with_length: bool) -> tuple[Counter, Counter]:
    right, wrong = Counter(), Counter()
    for entry in json.loads(FIXTURE.read_text()):
        code, confident = decided(entry, length=len(entry["expected"]) if with_length else None)
        if confident:
            (right if code == entry["expected"] else wrong)[entry["id"].rsplit(".", 1)[1]] += 1
    return right, wrong


def test_the_rules_find_as_many_right_and_no_more_wrong_confident_codes_than_when_recorded():
    right, wrong = counts(with_length=False)
    for condition in MIN_CONFIDENT_RIGHT:
        assert right[condition] >= MIN_CONFIDENT_RIGHT[condition], (condition, right)
        assert wrong[condition] <= MAX_CONFIDENT_WRONG[condition], (condition, wrong)


def test_the_services_code_length_never_adds_a_wrong_code_here():
    # The same readings with each call's length known: never a wrong code more; a right one more
    # only where a soundalike completes a run one digit short ("to 1 7 3 8 0" for 217380).
    right, wrong = counts(with_length=False)
    right_known, wrong_known = counts(with_length=True)
    for condition in MIN_CONFIDENT_RIGHT:
        assert wrong_known[condition] <= wrong[condition]
        assert right_known[condition] >= right[condition]
