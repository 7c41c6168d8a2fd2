"""Speech: transcribing a call recording offline and finding the code it says.

Layered below verifications and providers (it imports neither). The public interface:
    transcribe(audio, *, model="primary") -> Transcript     raises TranscriptionUnavailable
    code_from_text(text) -> (code | None, "confident" | "uncertain" | "none")
"""
from voice.codes import CONFIDENT, NONE, UNCERTAIN, code_from_text
from voice.transcription import Decoding, Transcript, transcribe
from voice.weights import TranscriptionUnavailable

__all__ = ["CONFIDENT", "NONE", "UNCERTAIN", "Decoding", "Transcript", "TranscriptionUnavailable",
           "code_from_text", "transcribe"]
