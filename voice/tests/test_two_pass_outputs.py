"""The two-pass rule on what the decoder really wrote for the benchmark's round-2 report set.

voice/tests/fixtures/two_pass_transcripts.json holds (call id, code said, first pass, check pass) for
every call of bench/voice's report set (seed 3) in every condition, as transcribe() decoded them
(written from `python3 bench/voice/run.py`'s rows; "check" is absent when the first pass was not
confident, so the check never ran). The decoder errs; these tests hold the rules to what is theirs:
a rule change may make more codes confident and right, never more of them confident and wrong.
"""
import json
from collections import Counter
from pathlib import Path

from voice import CONFIDENT, code_from_text
from voice.codes import hears
from voice.transcription import PROMPT_CODES

FIXTURE = Path(__file__).with_name("fixtures") / "two_pass_transcripts.json"
# Counted when the fixture was recorded (bench/voice/results.md, commit 1265fb3).
MIN_CONFIDENT_RIGHT = {"clean": 71, "telephone": 52, "noisy": 43}
MAX_CONFIDENT_WRONG = {"clean": 3, "telephone": 6, "noisy": 5}


def decided(entry: dict) -> tuple[str | None, bool]:
    """What transcribe() concludes from the two transcripts: the code, and whether it is confident."""
    code, confidence = code_from_text(entry["transcript"])
    confident = confidence == CONFIDENT and code not in PROMPT_CODES
    if confident:
        # The check ran for every first pass confident by the rules of the recording; one that a later
        # rule reads confidently ("1 smaller" as "once more") has no check to pass: unconfirmed.
        confident = "check" in entry and hears(code, entry["check"])
    return code, confident


def test_the_two_pass_rule_finds_as_many_right_and_no_more_wrong_confident_codes_than_when_recorded():
    right, wrong = Counter(), Counter()
    for entry in json.loads(FIXTURE.read_text()):
        code, confident = decided(entry)
        if confident:
            (right if code == entry["expected"] else wrong)[entry["id"].rsplit(".", 1)[1]] += 1
    for condition in MIN_CONFIDENT_RIGHT:
        assert right[condition] >= MIN_CONFIDENT_RIGHT[condition], (condition, right)
        assert wrong[condition] <= MAX_CONFIDENT_WRONG[condition], (condition, wrong)


def test_the_check_never_rejects_a_right_code_it_heard():
    # A confident first pass whose check wrote the same code in a row must stay confident.
    for entry in json.loads(FIXTURE.read_text()):
        code, confidence = code_from_text(entry["transcript"])
        if (confidence == CONFIDENT and code == entry["expected"] and "check" in entry
                and entry["expected"] in entry["check"].replace(" ", "")):
            assert decided(entry) == (code, True), entry
