"""The rules added for the two-pass decoding, on what tiny.en really wrote for benchmark calls.

Each transcript below is the decoder's output for a call of bench/voice's tuning set (seed 1,
telephone band): the first pass (speech normalised, ten-digit prompt, timestamp tokens) and the
check pass (plain prompt, no timestamp tokens) on the same audio.
"""
import pytest

from voice import CONFIDENT, UNCERTAIN, code_from_text
from voice.codes import _occurrences as occurrences
from voice.codes import hears, runs
from voice.transcription import CHECK_PROMPT, PROMPT, PROMPT_CODES


@pytest.mark.parametrize(("said", "first", "check"), [
    # espeak-ng: the first prompt's "0 5 7 6" leaked into both repetitions; the check heard the code.
    ("0763", "Your code is 0 5 6 3. Your code is 0 5 6 3. Your code is 0 5 6 3.",
     "Your code is 0 7 6 3. Your code is 0 7 6 3."),
    ("0981", "Your code is 0 5 8 1. Your code is 0 5 8 1.", "Your code is 0 8 1. Your code is 0 8 1."),
    # The first digit lost in both repetitions of the first pass; the check heard another digit there.
    ("90837344", "Please do not share this code with anyone. Your code is 0 8 3 7 3 4 4. up here with a can, "
     "press one, your code is higher, zero, eight, three, seven, three, four, four.",
     "Please do not share this code with anyone. Your code is 5 8 3 7 3 4 4."),
])
def test_a_wrong_code_read_twice_by_the_first_pass_is_not_heard_by_the_check(said, first, check):
    code, confidence = code_from_text(first)
    assert confidence == CONFIDENT and code != said  # what the check is for
    assert not hears(code, check)


@pytest.mark.parametrize(("said", "first", "check"), [
    ("70316174", "Your code is 7 0 3 1 6 1 7 4. Your code is 7 0 3 1 6 1 7 4.", "Your code is 7 0 3 1 6 1 7 4."),
    ("0763", "Your code is 0 7 6 3. Your code is 0 7 6 3.", "Your code is 0 7 6 3. Your code is 0 7 6 3."),
    # flite: the check wrote the last "two" as "to", at the edge of the run.
    ("6162", "This is an automated call from Amazon. Your security code is 6 1 6 2. Repeat 6 1 6 2. If you did not "
     "request this code 1 8 0 0 5 5 0 1 9 9.",
     "This is an automated call from Amazon your security code is 616 to repeat 616 to if you did not request this "
     "code 1 8 0 0 5 5 0 1 9 9."),
])
def test_a_right_code_is_heard_by_the_check_even_said_once_there(said, first, check):
    assert code_from_text(first) == (said, CONFIDENT)
    assert hears(said, check)


def test_the_check_hears_a_code_only_within_one_run_of_digits():
    assert hears("4829", "code 1 4 8 2 9 7")
    assert hears("4829", "Your code is four eight two nine.")
    # The digits of the code, but split by a word or in another order, are not the code heard.
    assert not hears("4829", "code 4 8, I repeat 2 9")
    assert not hears("4829", "code 4 8 9 2")
    assert not hears("4829", "")


def test_a_sentence_the_decoder_looped_on_is_not_a_confident_code():
    # espeak-ng said 070199; the first pass looped on its own mishearing until the token cap.
    looped = ("This is an automated code from telegram. Your security code is 0 10 1 9 3 3. Your security code is "
              "0 10 1 9 3 3. Your security code is 0 10 1 9 3 3. Your security code is 0 10 1 9 3 3. Your security "
              "code is 0 10 1 9 3 3. Your security code is 0 10 1 9 3 3. Your security code is 0 10 1 9")
    assert code_from_text(looped) == ("0101933", UNCERTAIN)


def test_an_ivr_may_say_the_code_four_times():
    text = ("Your code is 5 2 7 1. Again, 5 2 7 1. To hear it again, press 1. Your code is 5 2 7 1. "
            "Once more, 5 2 7 1.")
    assert code_from_text(text) == ("5271", CONFIDENT)


def test_the_guarded_prompt_codes_are_the_codes_the_prompts_say():
    # transcribe() never reports a prompt's code as confident (a decoder that heard nothing may
    # recite its prompt): the guard must cover every code either prompt says.
    said = {occurrence for prompt in (PROMPT, CHECK_PROMPT) for run in runs(prompt) for occurrence in occurrences(run)}
    assert said == PROMPT_CODES
