"""agreed(): a code is confident when one reading is sure of it, another hears it, and none is sure of another.

Real decoder outputs of bench/voice's tuning sets (telephone band): the first pass (ten-digit
prompt), the check (plain prompt, no timestamp tokens) and the two halves of the call.
"""
import pytest

from voice.transcription import Reading, agreed, best_guess


def readings(first, check=None, halves=None):
    found = [Reading("first", (first,))]
    if check is not None:
        found.append(Reading("check", (check,)))
    if halves is not None:
        found.append(Reading("halves", tuple(halves)))
    return found


@pytest.mark.parametrize(("said", "first", "check", "halves", "length", "expected"), [
    # The first pass sure, the check hears it.
    ("4829", "Your code is 4 8 2 9. Your code is 4 8 2 9.", "Your code is 4 8 2 9.", None, None, "4829"),
    # The first pass heard a doubled digit once in one repetition; the check is sure and the first pass heard it.
    ("13637762", "Welcome to PayPal. Over one time, pass code is 1 3 6 3 7 7 6 2. Once again, that is 1 3 6 3 7 6 2. "
     "Thank you.", "Welcome to PayPal. Our one time pass code is 1 3 6 3 7 7 6 2 1s again that is 1 3 6 3 7 7 6 2. "
     "Thank you.", None, None, "13637762"),
    # Both sure, of different codes (the prompt's 5 copied into both of the first pass's repetitions): nothing,
    # whatever the halves say.
    ("0763", "Your code is 0 5 6 3. Your code is 0 5 6 3. Your code is 0 5 6 3.",
     "Your code is 0 7 6 3. Your code is 0 7 6 3.", ["Your code is 0 5 6 3. Your code is", "0 7 6 3."], None, None),
    # The first pass sure of a wrong code, the check hears neither; one half hears it, the other a
    # different code: one hearing, not two.
    ("0981", "Your code is 0 5 8 1. Your code is 0 5 8 1.", "Your code is 0 8 1. Your code is 0 8 1.",
     ["Your code is 0 9 8 1.", "Your code is 0 5 8 1."], None, None),
    # The cut fell inside the code: the halves read together say it twice.
    ("87380695", "Your Google verification code is 8 7 3 8 0 6 9 5 7 3 8 0 6 9 5.", "Your Google code is 8 7 3 8.",
     ["Your google verification code is 8 7 3 8 0 6.", "9 5 again, your code is 8 7 3 8 0 6 9 5"], None, "87380695"),
    # Every reading lost the same doubled digit: wrong at any length, refused with the service's length.
    ("33663924", "Your PayPal limitation code is 3 3 6 3 9 2 4. Again, your code is 3 3 6 3 9 2 4.",
     "Your PayPal limitation code is 3 3 6 3 9 2 4. Again, your code is 3 3 6 3 9 2 4", None, None, "3363924"),
    ("33663924", "Your PayPal limitation code is 3 3 6 3 9 2 4. Again, your code is 3 3 6 3 9 2 4.",
     "Your PayPal limitation code is 3 3 6 3 9 2 4. Again, your code is 3 3 6 3 9 2 4",
     ["Your PayPal limitation code is 3 3 6 6", "3 9 2 4 Again, your code is 3 3 6 6 3 9 2 4"], 8, None),
    # A decoder that recites its prompt is never sure of the prompt's code.
    ("2914", "Your verification code is 4 8 2 9 1 3. Again, your code is 4 8 2 9 1 3.",
     "Your verification code is 4 8 2 9 1 3. Again, your code is 4 8 2 9 1 3.", None, None, None),
])
def test_two_readings_must_agree(said, first, check, halves, length, expected):
    assert agreed(readings(first, check, halves), length) == expected


def test_one_reading_is_never_enough():
    assert agreed(readings("Your code is 4 8 2 9. Your code is 4 8 2 9.")) is None


def test_an_unconfirmed_call_guesses_the_first_readings_code_then_the_next():
    assert best_guess(readings("Your code is 4 8 2 9.", "Your code is 4 8 2 7. Again 4 8 2 7.")) == ("4829", "uncertain")
    assert best_guess(readings("Hello.", "Your code is 4 8 2 7.")) == ("4827", "uncertain")
    assert best_guess(readings("Hello.", "Goodbye.")) == (None, "none")


@pytest.mark.parametrize(("said", "first", "check", "halves"), [
    # First pass and check agree on a code with a wrong digit (4813 for 4513; 8874 for 8974); one half,
    # read alone, heard that digit otherwise (4913; 8974): doubted, whether or not the half was right.
    ("4513", "Welcome to this code. Your 1 type pass code is 4 8 1 3. Once again, have it 4 8 1 3. Thank you.",
     "Welcome to this code. Your one type pass code is 4 8 1 3. Once again, have it 4 8 1 3. Thank you.",
     ["Welcome to this code. Your one time pass code is 4 9 1 3.", "Once again, have it for 8 1 3 and 2."]),
    ("8974", "Your verification code is 8 8 7 4. Again, your code is 8 8 7 4.",
     "Your verification code is 8 8 7 4. Again, your code is 8 8 7 4.",
     ["Your verification code is 8 9 7 4.", "Again, your code in 8 9 1 4."]),
])
def test_a_half_that_hears_one_digit_differently_doubts_the_code(said, first, check, halves):
    assert agreed(readings(first, check), 4) not in (None, said)  # wrong, and confident without the halves
    assert agreed(readings(first, check, halves), 4) is None


def test_only_the_halves_doubt_a_whole_reading_that_garbled_one_repetition_does_not():
    first = "Your code is 4 8 2 9. Your code is 4 8 2 9."
    check = "Your code is 4 8 2 9. Your code is 4 3 2 9."
    assert agreed(readings(first, check)) == "4829"
