"""The third chance of a call: cut at the pause between the code and its repetition, each part read alone."""
from dataclasses import replace

import numpy as np
import pytest

from voice import CONFIDENT, transcribe
from voice.audio import FRAME, SAMPLE_RATE, pause_in_the_middle, trim_silence
from voice.tests.conftest import MOCK_RECORDINGS, mock_recordings, needs_speech
from voice.transcription import Reading, again_decoding, agreed, primary_decoding


def speech_and_pauses(*pattern: tuple[str, float]) -> np.ndarray:
    """("s", seconds) of a tone, ("p", seconds) of silence, in turn."""
    t = np.arange(int(SAMPLE_RATE * 10)) / SAMPLE_RATE
    tone = (0.3 * np.sin(2 * np.pi * 440 * t)).astype(np.float32)
    return np.concatenate([tone[: int(SAMPLE_RATE * s)] if kind == "s" else np.zeros(int(SAMPLE_RATE * s), np.float32)
                           for kind, s in pattern])


def test_it_cuts_at_the_longest_pause_in_the_middle_of_the_speech():
    samples = speech_and_pauses(("p", 1.0), ("s", 2.0), ("p", 0.3), ("s", 1.0), ("p", 0.8), ("s", 1.0),
                                ("p", 0.2), ("s", 2.0), ("p", 1.0))
    cut = pause_in_the_middle(samples)
    # The 0.8 s pause runs from 4.3 s to 5.1 s.
    assert abs(cut / SAMPLE_RATE - 4.7) <= 2 * FRAME / SAMPLE_RATE


def test_it_never_cuts_in_the_silence_around_the_speech_or_near_its_edges():
    # The longest pauses are the lead-in, the tail and one near the start: none is in the middle.
    samples = speech_and_pauses(("p", 2.0), ("s", 0.5), ("p", 1.5), ("s", 3.0), ("p", 0.1), ("s", 3.0), ("p", 2.0))
    cut = pause_in_the_middle(samples)
    assert abs(cut / SAMPLE_RATE - 7.05) <= 2 * FRAME / SAMPLE_RATE
    assert pause_in_the_middle(speech_and_pauses(("p", 1.0), ("s", 3.0), ("p", 1.0))) is None
    assert pause_in_the_middle(np.zeros(SAMPLE_RATE, np.float32)) is None
    assert pause_in_the_middle(np.zeros(0, np.float32)) is None


def cut_short(first: int | None = None, check: int | None = None):
    """The product's decoding with its first pass and check stopped after so many tokens."""
    primary = primary_decoding()
    if first is not None:
        primary = replace(primary, max_new_tokens=first, temperatures=(0.0,))
    if check is not None:
        primary = replace(primary, check=replace(primary.check, max_new_tokens=check))
    return primary


@needs_speech
def test_a_code_the_first_pass_read_once_is_confident_when_the_check_says_it_twice():
    recording = mock_recordings()[0]
    # A first pass cut short after 18 tokens reads the code once ("… code 3 8 1 5 0 4 I repeat").
    result = transcribe(MOCK_RECORDINGS / recording["file"], decoding=cut_short(first=18))
    assert recording["code"] in result.text.replace(" ", "")
    assert result.check_text is not None
    assert (result.code, result.confidence) == (recording["code"], CONFIDENT)


@needs_speech
def test_a_code_no_whole_reading_says_twice_is_confident_when_both_halves_read_it():
    recording = mock_recordings()[0]
    # First pass and check both cut short after 18 tokens: each reads the code once.
    result = transcribe(MOCK_RECORDINGS / recording["file"], decoding=cut_short(first=18, check=18))
    assert result.check_text is not None and result.halves_text is not None
    first, second = result.halves_text.split(" | ")
    assert recording["code"] in first.replace(" ", "") and recording["code"] in second.replace(" ", "")
    assert (result.code, result.confidence) == (recording["code"], CONFIDENT)


@needs_speech
def test_a_code_the_check_did_not_hear_is_confident_when_both_halves_read_it():
    recording = mock_recordings()[0]
    # A check that cannot hear a code (it writes at most two tokens) leaves the first pass's code
    # unconfirmed; the halves are the third reading, and they hear it.
    result = transcribe(MOCK_RECORDINGS / recording["file"], decoding=cut_short(check=2))
    assert result.check_text is not None and result.halves_text is not None
    assert (result.code, result.confidence) == (recording["code"], CONFIDENT)


@needs_speech
def test_the_halves_alone_never_make_a_code_confident():
    recording = mock_recordings()[0]
    # First pass and check cut short after a few tokens have no code; the halves agree, but one
    # reading is not enough.
    result = transcribe(MOCK_RECORDINGS / recording["file"], decoding=cut_short(first=4, check=2))
    assert result.halves_text is not None and result.check_text is not None
    assert result.confidence != CONFIDENT


@needs_speech
def test_a_first_pass_that_fell_back_gets_no_second_reading():
    recording = mock_recordings()[0]
    # A log-probability threshold no decoding meets makes every segment fall back to a warmer one.
    hopeless = replace(primary_decoding(), log_prob_threshold=0.0)
    result = transcribe(MOCK_RECORDINGS / recording["file"], decoding=hopeless)
    assert result.check_text is None and result.halves_text is None
    assert result.confidence != CONFIDENT


@needs_speech
def test_every_call_is_read_three_times_when_the_first_pass_did_not_fall_back():
    recording = mock_recordings()[0]
    result = transcribe(MOCK_RECORDINGS / recording["file"])
    assert (result.code, result.confidence) == (recording["code"], CONFIDENT)
    assert result.check_text is not None and result.halves_text is not None


@pytest.mark.parametrize(("said", "first", "parts", "length", "expected"), [
    # Real outputs (bench/voice tuning set, telephone band): the first pass, then the two parts.
    ("70316174", "Your code is 7 0 3 1 6 1 7 4. Your code is 7 0 3 1 6 1 7 4.",
     ["Your code is 7 0 3 1 6 1 7 4", "Your code is 7 0 3 1 6 1 7 4"], None, "70316174"),
    ("630838", "Hello, listen, your verification code 6 3.0 8 3 8. I repeat 6 3.0 8 3.0 8.",
     ["Hello, listen to your verification code 6 3.0 8 3 8.", "I repeat 6 3 0 8 3 8."], None, "630838"),
    # The cut fell inside the code: the join reads it whole again.
    ("87380695", "Your Google verification code is 8 7 3 8 0 6 9 5 7 3 8 0 6 9 5.",
     ["Your google verification code is 8 7 3 8 0 6.", "9 5 again, your code is 8 7 3 8 0 6 9 5"], None, "87380695"),
    # The parts disagree (the ten-digit prompt's 5 in one of them): nothing.
    ("0981", "Your code is 0 5 8 1. Your code is 0 5 8 1.", ["Your code is 0 9 8 1.", "Your code is 0 5 8 1."],
     None, None),
    # Both parts lost the same doubled digit: wrong at any length, refused when the service's length is known.
    ("22283459", "This is an automated call from Discord. Your security code is 2 2 8 3 4 5 9. Repeat 2 2 2 8 3 4 5 9.",
     ["This is an automated call from Discord. Your security code is 2 2 8 3 4 5 9. Repeat.",
      "2 2 8 3 4 5 9 If you did not request this code call 1 8 0 0 5 5 5 0 1 9 9"], None, "2283459"),
    ("22283459", "This is an automated call from Discord. Your security code is 2 2 8 3 4 5 9. Repeat 2 2 2 8 3 4 5 9.",
     ["This is an automated call from Discord. Your security code is 2 2 8 3 4 5 9. Repeat.",
      "2 2 8 3 4 5 9 If you did not request this code call 1 8 0 0 5 5 5 0 1 9 9"], 8, None),
    # The parts agree, but the first pass never wrote that code in a row.
    ("6601", "Your WhatsApp communication code is 6 6 0 1. Again, your code is 6 0 1.",
     ["Your code is 6 6 1 0.", "Again, your code is 6 6 1 0"], None, None),
])
def test_the_parts_agree_on_a_code_only_when_both_say_it_and_the_first_pass_heard_it(said, first, parts, length,
                                                                                      expected):
    assert agreed([Reading("first", (first,)), Reading("halves", tuple(parts))], length) == expected


def test_transcribe_again_reads_the_trimmed_call_and_keeps_the_primarys_halves():
    # The halves are the primary's, so a code a half doubted is doubted again; the whole-call
    # readings see the call without its leading and trailing silence (other frames).
    primary, again = primary_decoding(), again_decoding()
    assert again.halves == primary.halves and not again.halves.trim
    assert again.trim and again.check.trim
    assert replace(again, name="primary", trim=False, check=replace(again.check, trim=False)) == primary


@needs_speech
def test_transcribe_again_reads_all_three_and_finds_the_code():
    recording = mock_recordings()[0]
    result = transcribe(MOCK_RECORDINGS / recording["file"], model="second")
    assert result.decoding == "again" and result.check_text is not None and result.halves_text is not None
    assert (result.code, result.confidence) == (recording["code"], CONFIDENT)


def test_trimming_keeps_the_speech_and_a_little_around_it():
    samples = speech_and_pauses(("p", 2.0), ("s", 1.0), ("p", 0.5), ("s", 1.0), ("p", 3.0))
    trimmed = trim_silence(samples)
    assert abs(len(trimmed) / SAMPLE_RATE - (0.2 + 2.5 + 0.3)) <= 2 * FRAME / SAMPLE_RATE
    assert len(trim_silence(np.zeros(SAMPLE_RATE, np.float32))) == SAMPLE_RATE
