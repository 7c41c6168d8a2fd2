"""Finding the code in an SMS text: digits, prefixed and mixed codes; links are never read for one."""
import pytest

from providers.base import extract_code


@pytest.mark.parametrize("text, code", [
    ("Your Discord code is 293701", "293701"),
    ("G-482913 is your Google verification code.", "G-482913"),
    ("Your code is AB12CD. Don't share it.", "AB12CD"),
    ("Login code K7Q2ZP for Acme", "K7Q2ZP"),
    ("Your PIN is 7X9Q", "7X9Q"),
    ("Use 123-456 to sign in", "123456"),
    ("1234 is your code; ref 99887766", "1234"),
    ("Your code: 4829-13", "4829"),
])
def test_it_finds_the_code(text, code):
    assert extract_code(text) == code


@pytest.mark.parametrize("text", [
    "Tap https://example.com/v/AB12CD9 to confirm your account",
    "Open www.example.com/confirm/123456 to continue",
    "Your code is hello",
    "Welcome to COVID19 alerts",  # a mixed word, but nothing announces a code
    "code: ab12cd",  # lower case: a word, not a code
    "Your code is four eight two nine",
    "",
    None,
])
def test_it_finds_none_where_there_is_none(text):
    assert extract_code(text) is None
