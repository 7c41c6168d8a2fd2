"""From a transcript to a verification code, and how sure we are of it.

An IVR says the code digit by digit, and says it twice. The decoder writes digits as numerals or
words, sometimes with punctuation between them ("4. 8. 2", "4-8-2", "482,913"), sometimes as a
homophone ("four eight to nine", "for"), and sometimes runs the two repetitions together
("4 8 2 9 4 8 2 9"). So:

- digit words and numerals become digits; words that only sound like digits ("to", "for", "oh",
  "won", "ate") count only *between* two digits, where nothing else is plausible;
- any other word ends a run of digits; punctuation does not (the decoder puts periods and commas
  where the voice pauses, and IVRs pause between digits);
- a run of 4-8 digits is one occurrence of a code; a longer run made of one 4-8 digit unit repeated
  is that many occurrences; any other longer run (a phone number, two repetitions that disagree) is
  not a code, though its parts may feed the best guess;
- **confident** needs two equal occurrences, no rival code said twice, and no more than
  MAX_SAID occurrences (a decoder in a loop writes one sentence over and over); the decoder hears the
  same audio the same way, so agreement of the two repetitions is the evidence, and anything less
  (one occurrence, two that differ, a run ragged at an edge with a homophone) is **uncertain** with
  the best guess; no 4-8 digit candidate at all is **none**.
"""
from __future__ import annotations

import re
from collections import Counter
from dataclasses import dataclass, field

CONFIDENT, UNCERTAIN, NONE = "confident", "uncertain", "none"
MIN_DIGITS, MAX_DIGITS = 4, 8
MAX_REPEATS = 3
# An IVR says a code two or three times, four with a "press 1 to repeat"; more is a decoder that
# looped on one sentence ("Your security code is 0 10 1 9 3 3." six times for 070199).
MAX_SAID = 4

DIGITS = {"zero": "0", "one": "1", "two": "2", "three": "3", "four": "4", "five": "5", "six": "6",
          "seven": "7", "eight": "8", "nine": "9"}
# "Once again", "once more" come out as "1s again", "1 more", "1 small": a one followed at once
# (no pause) by one of these is the word "once", and ends the run.
ONCE_FOLLOWERS = {"s", "so", "more", "small", "smaller", "smore", "again", "agin"}
# Homophones the decoder writes for a spoken digit. Never a digit at the edge of a run: "code for",
# "press 1 to repeat", "oh, hello" must not add a digit to a code.
SOUNDALIKES = {"oh": "0", "o": "0", "won": "1", "to": "2", "too": "2", "for": "4", "fore": "4", "ate": "8"}
TEENS = {"ten": "10", "eleven": "11", "twelve": "12", "thirteen": "13", "fourteen": "14", "fifteen": "15",
         "sixteen": "16", "seventeen": "17", "eighteen": "18", "nineteen": "19"}
TENS = {"twenty": "2", "thirty": "3", "forty": "4", "fifty": "5", "sixty": "6", "seventy": "7", "eighty": "8",
        "ninety": "9"}
REPEATS = {"double": 2, "triple": 3}
# Words the decoder writes for a digit it did not recognise ("nine" as "i" or "near", "four" as
# "or"): never a digit, but a run they touch may be missing one, so it is never confident.
MISHEARD = {"i", "eye", "nein", "near", "nigh", "or"}
SENTENCE_END = {".", "!", "?", ";", ":"}
TOKEN = re.compile(r"\d+|[a-z]+|[^\s\da-z]")


@dataclass
class Run:
    digits: str = ""
    # A soundalike touched this run from outside: it may be one digit longer than it looks.
    ragged: bool = False
    # A word the decoder writes for an unclear digit ("i", "or") touched it: a digit may be lost.
    misheard: bool = False
    lead: str = ""
    tail: str = ""
    # Digit positions where the decoder wrote a pause (punctuation) or started or ended a numeral
    # of several digits ("4829 4829", "482,913"): where one group of digits ends and another starts.
    breaks: set[int] = field(default_factory=set)


def _tokens(text: str) -> list[str]:
    return TOKEN.findall(text.lower().replace("’", "'"))


def _is_digitish(token: str | None) -> bool:
    return token is not None and (token.isdigit() or token in DIGITS or token in TEENS or token in TENS
                                  or token in REPEATS)


def _next_word(tokens: list[str], i: int) -> tuple[str | None, bool]:
    """The next word or numeral after i, and whether a sentence ends before it."""
    paused = False
    for token in tokens[i + 1:]:
        if token[0].isalnum():
            return token, paused
        paused = paused or token in SENTENCE_END
    return None, paused


def runs(text: str) -> list[Run]:
    """Maximal runs of digits: words end a run, punctuation does not."""
    tokens = _tokens(text)
    found: list[Run] = []
    current = Run()
    previous_word: str | None = None
    paused = False  # a sentence ended since the current run's last digit
    repeat = 1
    for i, token in enumerate(tokens):
        if not token[0].isalnum():
            # A hyphen joins ("forty-eight", "4-8-2-9"); other punctuation is a pause.
            if current.digits and token not in "-'":
                current.breaks.add(len(current.digits))
            paused = paused or token in SENTENCE_END
            continue
        following, pause_ahead = _next_word(tokens, i)
        digits = None
        if token in ("1", "one") and following in ONCE_FOLLOWERS and not pause_ahead and tokens[i + 1][0].isalnum():
            pass  # "once": a word, so the run ends here
        elif token.isdigit():
            digits = token
        elif token in DIGITS:
            digits = DIGITS[token]
        elif token in TEENS:
            digits = TEENS[token]
        elif token in TENS:
            # "forty eight" is 48; "forty" alone is 40 (the unit word is then skipped below).
            digits = TENS[token] + (DIGITS[following] if following in DIGITS and following != "zero" else "0")
        elif token in REPEATS and following in DIGITS:
            repeat = REPEATS[token]
            previous_word = token
            continue
        elif token in SOUNDALIKES or token in MISHEARD:
            touches_run = bool(current.digits) and not paused
            touches_next = _is_digitish(following) and not pause_ahead
            if touches_run and touches_next:
                if token in MISHEARD:
                    # "6 or 9 5": a lost digit or a word; both runs are ragged either way.
                    current.ragged = current.misheard = True
                    _close(found, current)
                    current = Run(ragged=True, misheard=True)
                    previous_word, paused = token, False
                    continue
                digits = SOUNDALIKES[token]
            elif touches_run and token in SOUNDALIKES:
                # Trailing soundalike ("4 8 2 9 to"): the run may be missing its last digit. (Not
                # a trailing "i" or "or": "4 8 2 9, I repeat" is an ordinary sentence.)
                current.ragged, current.tail = True, SOUNDALIKES[token]
            elif touches_next:
                # Leading soundalike ("is for 8 2 9"): the run that follows is ragged.
                _close(found, current)
                current = Run(ragged=True, misheard=token in MISHEARD, lead=SOUNDALIKES.get(token, ""))
                previous_word, paused = token, False
                continue
        if digits is None:
            _close(found, current)
            current = Run()
            previous_word, paused = token, False
            continue
        if previous_word in TENS and token in DIGITS and token != "zero":
            previous_word = token
            continue  # already folded into the tens word
        if token.isdigit() and len(token) > 1 and current.digits:
            current.breaks.add(len(current.digits))
        current.digits += digits * repeat
        if token.isdigit() and len(token) > 1:
            current.breaks.add(len(current.digits))
        repeat = 1
        previous_word, paused = token, False
    _close(found, current)
    return found


def _close(found: list[Run], run: Run) -> None:
    if run.digits:
        run.breaks.discard(len(run.digits))
        found.append(run)


def _repeated_unit(digits: str, length: int | None = None) -> tuple[str, int] | None:
    """'48294829' -> ('4829', 2): the run is one 4-8 digit unit (of length, when known) said 2 or 3
    times in a row.

    More than three is a decoder stuck in a loop ("9 9 9 9 9 9 9 9 9 9 9 9 …"), not a code.
    """
    for size in (length,) if length else range(MIN_DIGITS, MAX_DIGITS + 1):
        times = len(digits) // size
        if len(digits) % size == 0 and 2 <= times <= MAX_REPEATS and digits == digits[:size] * times:
            return digits[:size], times
    return None


def _occurrences(run: Run, length: int | None = None) -> list[str]:
    digits = run.digits
    if run.ragged:
        # Never confident (see code_from_text); as a guess, the soundalike was likelier a digit.
        extended = run.lead + digits + run.tail
        for candidate in (extended, run.lead + digits, digits + run.tail, digits):
            if MIN_DIGITS <= len(candidate) <= MAX_DIGITS:
                return [candidate]
        return []
    repeated = _repeated_unit(digits, length)
    if repeated:
        # "4 8 2 9 4 8 2 9" is read as 4829 said twice: an 8-digit code made of two equal halves
        # and said only once (1 in 10,000 of them) is the one case this misreads.
        unit, times = repeated
        return [unit] * times
    if MIN_DIGITS <= len(digits) <= MAX_DIGITS:
        return [digits]
    # Groups the decoder wrote apart ("5286301, 5286300"): occurrences only when every group is a
    # plausible code; "1-800-555-0199" is a phone number, not the code 0199.
    pieces = [digits[a:b] for a, b in zip([0, *sorted(run.breaks)], [*sorted(run.breaks), len(digits)])]
    if len(pieces) > 1 and all(MIN_DIGITS <= len(piece) <= MAX_DIGITS for piece in pieces):
        return pieces
    return []


def _guesses(found: list[Run]) -> list[str]:
    """Best guesses when nothing is confident, most plausible first."""
    guesses = []
    for run in found:
        digits = run.digits
        # Longer than three 8-digit repetitions: a decoder loop, whose prefixes mean nothing.
        if MAX_DIGITS < len(digits) <= MAX_DIGITS * MAX_REPEATS:
            # Two repetitions that disagree, or with a stray digit between: the longest prefix
            # that comes back later in the run.
            for size in range(MAX_DIGITS, MIN_DIGITS - 1, -1):
                if digits[:size] in digits[size:]:
                    guesses.append(digits[:size])
                    break
    return guesses


def _soundalike_completes(run: Run, occurrence: str, length: int | None) -> bool:
    """With the service's code length known, a soundalike at one edge of a run one digit short
    is that digit ("is to 1 7 3 8 0" for a 6-digit code is 217380): the run cannot be the code
    without it. Unknown length, or a run of the right length already: the soundalike is a word."""
    # Exactly one soundalike edge ("to 1 2 3 4 5 6 7 to" could be either digit), and no misheard word.
    return (length is not None and len(occurrence) == length and len(run.digits) == length - 1
            and not run.misheard and bool(run.lead) != bool(run.tail)
            and occurrence in (run.lead + run.digits, run.digits + run.tail))


def code_from_text(text: str, *, length: int | None = None) -> tuple[str | None, str]:
    """The code said in text, and CONFIDENT, UNCERTAIN or NONE (then the code is None).

    length: how many digits the service's codes have, when it is known (Service.voice_code_length).
    A code of another length is then never confident: most wrong readings of a code said twice are
    one digit short in both repetitions ("3 3 6 6 3 9 2 4" heard as "3 3 6 3 9 2 4" twice).
    """
    if length is not None and not MIN_DIGITS <= length <= MAX_DIGITS:
        raise ValueError(f"a code has {MIN_DIGITS}-{MAX_DIGITS} digits, not {length}")
    found = runs(text)
    counts: Counter[str] = Counter()
    ragged: set[str] = set()
    order: list[str] = []
    for run in found:
        for occurrence in _occurrences(run, length):
            counts[occurrence] += 1
            order.append(occurrence)
            if run.ragged and not _soundalike_completes(run, occurrence, length):
                ragged.add(occurrence)
    repeated = [code for code, n in counts.items() if n >= 2]
    # With a known length, a run of another length said twice is not a rival code (a phone number
    # read twice, a lost digit): only codes of that length compete.
    fitting = [code for code in repeated if length is None or len(code) == length]
    if len(fitting) == 1 and fitting[0] not in ragged and counts[fitting[0]] <= MAX_SAID:
        return fitting[0], CONFIDENT
    if repeated:
        best = max(repeated, key=lambda code: (code in fitting, counts[code], -order.index(code)))
        return best, UNCERTAIN
    if order:
        # A clean occurrence that another run also contains is the likeliest (the other run has
        # a stray digit); else the first clean one; a ragged one last; one of the known length first.
        clean = [code for code in order if code not in ragged] or order
        groups = [clean] if length is None else [[c for c in clean if len(c) == length],
                                                 [c for c in clean if len(c) != length]]
        for group in filter(None, groups):
            for code in group:
                if any(code in run.digits and run.digits != code for run in found):
                    return code, UNCERTAIN
            return group[0], UNCERTAIN
    guesses = _guesses(found)
    if guesses:
        return guesses[0], UNCERTAIN
    return None, NONE


def hears(code: str, text: str) -> bool:
    """Whether text has code within one run of digits: another pass heard the same digits in a row.

    A soundalike at the run's edge counts as its digit here ("616 to repeat" hears 6162): the run
    is only confirming a code the first pass read twice, not proposing one.
    """
    return any(code in run.lead + run.digits + run.tail for run in runs(text))


def doubts(code: str, text: str) -> bool:
    """Whether text says a code of the same length one digit away (4913 for 4813): a reading that
    heard one of the code's digits differently."""
    for run in runs(text):
        for occurrence in _occurrences(run, len(code)):
            if len(occurrence) == len(code) and sum(a != b for a, b in zip(occurrence, code)) == 1:
                return True
    return False
