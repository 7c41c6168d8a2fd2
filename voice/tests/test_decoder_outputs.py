"""code_from_text on what the decoder really wrote for the benchmark's synthetic calls.

voice/tests/fixtures/transcripts.json holds (call id, code said, transcript) for every call of the
benchmark's first report set (seed 2) in every condition, as tiny.en transcribed them with round
1's one-pass decoding (written by `python3 bench/voice/run.py --fixtures …`); the two-pass decoding's
outputs are in test_two_pass_outputs.py. The decoder errs; these tests hold the rules
to what is theirs: never a confident wrong code when the transcript has the right one, and no fewer
confident right codes than when the fixture was recorded.
"""
import json
import re
from pathlib import Path

import pytest

from voice import CONFIDENT, code_from_text

FIXTURE = Path(__file__).with_name("fixtures") / "transcripts.json"
# Counted when the fixture was recorded (bench/voice/results.md): a rule change may raise them.
MIN_CONFIDENT_RIGHT = {"clean": 60, "telephone": 50, "noisy": 40}


def observed() -> list[dict]:
    return json.loads(FIXTURE.read_text())


def digit_stream(text: str) -> str:
    return "".join(re.findall(r"\d", text))


@pytest.mark.parametrize("entry", observed(), ids=lambda entry: entry["id"])
def test_it_is_never_confidently_wrong_when_the_transcript_has_the_code(entry):
    code, confidence = code_from_text(entry["transcript"])
    if confidence == CONFIDENT and code != entry["expected"]:
        # Only the decoder's own mishearing (the code as said is not in what it wrote) is excused.
        assert entry["expected"] not in digit_stream(entry["transcript"]), entry["transcript"]


def test_it_finds_as_many_confident_right_codes_as_when_recorded():
    counts = dict.fromkeys(MIN_CONFIDENT_RIGHT, 0)
    for entry in observed():
        code, confidence = code_from_text(entry["transcript"])
        if confidence == CONFIDENT and code == entry["expected"]:
            counts[entry["id"].rsplit(".", 1)[1]] += 1
    for condition, floor in MIN_CONFIDENT_RIGHT.items():
        assert counts[condition] >= floor, (condition, counts)
