"""Offline transcription of a call recording, and the code it says.

faster-whisper (CTranslate2, int8 on the CPU) with the pinned Whisper tiny.en weights. The decoding
was tuned with bench/voice on its tuning set only (see results.md): the speech brought to one level
(voice.audio), beam search, English only, no VAD (it cut digits), a short temperature fallback
capped in tokens so a looping decode ends, and a digit prompt.

Up to three readings, and two must agree. The decoder reads the code said twice as two equal runs
of digits, but those are not two independent hearings: the second copies the first within one
window, and the prompt's own digits leak into codes ("0 7 6 3" heard as "0 5 6 3" after a prompt
saying "0 5 7 6"). So every call is read again by a check (the plain prompt, which lacks the
ten-digit prompt's "0 5 7 6", and no timestamp tokens), and cut at the pause in its middle with
each repetition read alone (the halves, with the check's decoding: the decoder cannot copy one
repetition into the other). A code is confident when one reading says it twice, another reading
hears it, no reading says another code twice, and no half says it with one digit changed
(agreed()). A call with no pause to cut at gets two readings; a first pass that fell back to a
warmer decoding gets no second one (it heard the call badly, and it is the slowest path). On the
tuning sets (seeds 1-4, telephone band) this made about as many calls confident as round 3's rules
with half the wrong codes left once the service's code length is known; three readings of a
15-second call took about 2 s on 2 cores (bench/voice/results.md).
"""
from __future__ import annotations

import logging
import os
import time
from dataclasses import dataclass, replace
from pathlib import Path

from django.conf import settings

from voice.audio import SAMPLE_RATE, UndecodableAudio, decode, normalise, pause_in_the_middle, trim_silence
from voice.codes import CONFIDENT, NONE, UNCERTAIN, code_from_text, doubts, hears
from voice.weights import TranscriptionUnavailable, default_directory, load

log = logging.getLogger("voice")

# The digit prompts show the decoder what an IVR sounds like and that digits are written as
# numerals. The first pass's prompt holds all ten digits (with only "4 8 2 9 1 3" the decoder bent
# 5, 6, 7 and 0 towards the prompt's digits); the check's prompt is the plain one, so a digit
# copied from one prompt is not copied from the other. A prompt's own codes never come back
# confident: a decoder that heard nothing may recite its prompt.
PROMPT = "Your verification code is 4 8 2 9 1 3. Again, your code is 4 8 2 9 1 3. Your PIN is 0 5 7 6. Once more: 0 5 7 6."
CHECK_PROMPT = "Your verification code is 4 8 2 9 1 3. Again, your code is 4 8 2 9 1 3."
PROMPT_CODES = frozenset({"482913", "0576"})


@dataclass(frozen=True)
class Decoding:
    """How the decoder reads a call (faster-whisper's transcribe() options we set)."""

    name: str
    beam_size: int
    prompt: str | None = PROMPT
    # Silero VAD cut digits out of telephone-band TTS in the benchmark (58 % of calls confident
    # without it, 42 % with it); the no-speech threshold and PROMPT_CODES guard silence instead.
    vad: bool = False
    temperatures: tuple[float, ...] = (0.0, 0.2, 0.4)
    # A decoder stuck in a loop ("9 9 9 9 …") compresses well: above this, decode again warmer.
    compression_ratio_threshold: float | None = 2.4
    log_prob_threshold: float | None = -1.0
    no_speech_threshold: float | None = 0.6
    patience: float = 1.0
    # With the ten-digit prompt, timestamp tokens read more calls confidently (77 % against 72 %
    # of the tuning set's telephone calls); the check decodes without them, which errs elsewhere.
    timestamps: bool = True
    # A 15-second call says ~60 tokens; a decoder that loops stops here instead of using 448.
    max_new_tokens: int = 128
    normalise: bool = True
    # Read the call with its leading and trailing silence cut ("Transcribe again": other frames).
    trim: bool = False
    # The second reading of the whole call (None: none).
    check: Decoding | None = None
    # The third: the call cut at the pause in its middle (between the code and its repetition) and
    # each part read alone by this decoding (None: never). With neither check nor halves, the
    # first pass's own word stands (benchmark variants).
    halves: Decoding | None = None


def primary_decoding() -> Decoding:
    # No temperature fallback for the check: a check that needs one heard nothing clearly, and the
    # call stays within its time budget.
    check = Decoding(name="check", beam_size=settings.VOICE_BEAM_SIZE, prompt=CHECK_PROMPT, timestamps=False,
                     temperatures=(0.0,))
    return Decoding(name="primary", beam_size=settings.VOICE_BEAM_SIZE, check=check, halves=replace(check, name="halves"))


def again_decoding() -> Decoding:
    """"Transcribe again" with the same weights: the whole-call readings see the call with its
    silences trimmed, so the decoder's 30-second window and frames fall elsewhere and it errs
    elsewhere; the halves are the primary's, so a doubt stays a doubt. On the tuning sets (seeds
    1-4, telephone, offline) this pass alone was as good as the primary (72.5 % confident, 259/261
    right with the code length), and reading again the calls the primary left uncertain made 75 %
    of them confident, 268/270 right."""
    primary = primary_decoding()
    return replace(primary, name="again", trim=True, check=replace(primary.check, trim=True))


@dataclass(frozen=True)
class Transcript:
    text: str
    code: str | None
    confidence: str  # voice.codes.CONFIDENT | UNCERTAIN | NONE
    model: str  # the manifest's name of the weights
    decoding: str  # "primary" or "again"
    audio_seconds: float
    seconds: float  # wall time to decode and transcribe
    # What the check wrote (None: it did not run: the first pass fell back, or no check), for the
    # benchmark and logs.
    check_text: str | None = None
    # What the two halves wrote, " | " between them (None: not run, or no pause to cut at).
    halves_text: str | None = None


def model_directory(model: str) -> tuple[Path, Decoding]:
    """Which weights and decoding a pass uses: "primary", or "second" for "Transcribe again"."""
    if model == "primary":
        directory = settings.VOICE_MODEL_DIR or default_directory()
        decoding = primary_decoding()
    elif model == "second":
        if settings.VOICE_SECOND_MODEL:
            return Path(settings.VOICE_SECOND_MODEL), primary_decoding()
        directory = settings.VOICE_MODEL_DIR or default_directory()
        decoding = again_decoding()
    else:
        raise ValueError(f"model must be 'primary' or 'second', not {model!r}")
    if directory is None:
        raise TranscriptionUnavailable("the speech model is not installed (pip install -r requirements.txt)")
    return Path(directory), decoding


def transcribe(audio: bytes | str | os.PathLike, *, model: str = "primary", decoding: Decoding | None = None,
               code_length: int | None = None) -> Transcript:
    """Transcribe a recording (its bytes or a path) and find its code.

    code_length: the digits the service's codes have, when known (a reading of another length is
    never confident; see voice.code_from_text).

    Raises TranscriptionUnavailable when the speech packages or the model are missing or refused,
    or the recording cannot be decoded; never anything else for bad audio.
    """
    directory, default = model_directory(model)
    decoding = decoding or default
    name, whisper = load(directory, cpu_threads=settings.VOICE_CPU_THREADS)
    started = time.perf_counter()
    try:
        samples = decode(audio)
    except UndecodableAudio as exc:
        raise TranscriptionUnavailable(f"the recording could not be decoded: {exc}") from exc
    # A verification call lasts seconds; a long recording is cut rather than tying up a worker.
    samples = samples[: settings.VOICE_MAX_SECONDS * SAMPLE_RATE]
    levelled = normalise(samples)

    def audio_for(reading: Decoding):
        audio = levelled if reading.normalise else samples
        return trim_silence(audio) if reading.trim else audio

    text, fell_back = _decode(whisper, audio_for(decoding), decoding)
    readings = [Reading("first", (text,))]
    check_text = halves_text = code = None
    # A first pass that needed a warmer decoding (it looped, or read nothing likely) heard the call
    # badly; another reading rescued none of them on the tuning set, and it is the slowest path.
    if not fell_back:
        if decoding.check is not None:
            check = decoding.check
            check_text = _read(whisper, audio_for(check), check)
            readings.append(Reading("check", (check_text,)))
        # The halves for every call, also one the first two readings agree on: they may doubt it.
        if decoding.halves is not None:
            parts = _read_halves(whisper, audio_for(decoding.halves), decoding.halves)
            if parts is not None:
                halves_text = " | ".join(parts)
                readings.append(Reading("halves", tuple(parts)))
        code = agreed(readings, code_length)
    if code is not None:
        confidence = CONFIDENT
    elif decoding.check is None and decoding.halves is None:
        # A one-pass decoding (benchmark variants): the first reading's own word.
        code, confidence = readings[0].says(code_length)
    else:
        code, confidence = best_guess(readings, code_length)
    return Transcript(text=text, code=code, confidence=confidence, model=name, decoding=decoding.name,
                      audio_seconds=round(len(samples) / SAMPLE_RATE, 2),
                      seconds=round(time.perf_counter() - started, 3), check_text=check_text,
                      halves_text=halves_text)


@dataclass(frozen=True)
class Reading:
    """One decoding of the call: its whole length (one text), or its two halves (two texts)."""

    name: str
    parts: tuple[str, ...]

    def says(self, length: int | None) -> tuple[str | None, str]:
        """The code this reading says, and how surely (the halves read together: each says it once)."""
        code, confidence = code_from_text(". ".join(self.parts), length=length)
        # A prompt's own codes never come back confident: a decoder that heard nothing may recite its prompt.
        if confidence == CONFIDENT and code in PROMPT_CODES:
            confidence = UNCERTAIN
        return code, confidence

    def hears(self, code: str, length: int | None = None) -> bool:
        # Halves hear a code only if each part has it (each holds one repetition, read alone), or
        # if read together they say it twice (the cut fell inside the code: "8 7 3 8 0 6." | "9 5
        # again, your code is 8 7 3 8 0 6 9 5"); one part alone is one hearing, not two.
        if len(self.parts) > 1 and self.says(length) == (code, CONFIDENT):
            return True
        return all(hears(code, part) for part in self.parts)

    def doubts(self, code: str) -> bool:
        # A half read alone that says the code with one digit changed ("4 9 1 3" for 4813): the
        # decoder was unsure of that digit, and the whole-call readings may share its mistake (on
        # the tuning sets, half of the wrong codes left with the code length known). Whole-call
        # readings often garble one repetition of a right code, so only the halves doubt.
        return len(self.parts) > 1 and any(doubts(code, part) for part in self.parts)


def agreed(readings: list[Reading], length: int | None = None) -> str | None:
    """The code that two readings of the call agree on, or None.

    A reading is *sure* of a code it says twice (voice.code_from_text's confident); the code is
    agreed when one reading is sure of it, another hears it too (the same digits in a row), no
    reading is sure of another code, and no half says it with one digit changed. Two repetitions
    within one reading are not two hearings (the decoder copies its first reading, a prompt's digits
    leak into both); readings with another prompt, without timestamp tokens or over another window
    of the audio err apart more often.
    """
    sure = {code for code, confidence in (reading.says(length) for reading in readings) if confidence == CONFIDENT}
    if len(sure) != 1:
        return None
    code = sure.pop()
    if any(reading.doubts(code) for reading in readings):
        return None
    return code if sum(reading.hears(code, length) for reading in readings) >= 2 else None


def best_guess(readings: list[Reading], length: int | None = None) -> tuple[str | None, str]:
    """An unconfirmed call's guess: the first reading's code, else the next one's (never confident)."""
    for reading in readings:
        code, confidence = reading.says(length)
        if code is not None:
            return code, UNCERTAIN
    return None, NONE


def _read_halves(whisper, samples, decoding: Decoding) -> list[str] | None:
    """What the two parts of the call said, or None when it has no pause to cut at."""
    cut = pause_in_the_middle(samples)
    if cut is None:
        return None
    return [_read(whisper, samples[:cut], decoding), _read(whisper, samples[cut:], decoding)]


def _read(whisper, samples, decoding: Decoding) -> str:
    return _decode(whisper, samples, decoding)[0]


def _decode(whisper, samples, decoding: Decoding) -> tuple[str, bool]:
    """(the text, whether the decoder had to fall back to a higher temperature for some of it)."""
    try:
        segments, _info = whisper.transcribe(
            samples,
            language="en",
            beam_size=decoding.beam_size,
            patience=decoding.patience,
            initial_prompt=decoding.prompt,
            vad_filter=decoding.vad,
            temperature=list(decoding.temperatures),
            compression_ratio_threshold=decoding.compression_ratio_threshold,
            log_prob_threshold=decoding.log_prob_threshold,
            no_speech_threshold=decoding.no_speech_threshold,
            condition_on_previous_text=False,
            without_timestamps=not decoding.timestamps,
            max_new_tokens=decoding.max_new_tokens,
        )
        # The segments are a generator: the decoding happens here, inside the try.
        segments = list(segments)
        return (" ".join(segment.text.strip() for segment in segments).strip(),
                any(segment.temperature > 0 for segment in segments))
    except Exception as exc:
        log.exception("voice transcription failed")
        raise TranscriptionUnavailable(f"the transcription failed: {exc}") from exc
