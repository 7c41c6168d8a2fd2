"""A call's recording as a provider hands it over, and what kind of audio it is.

Providers give a URI; `provider.recording(uri)` returns the bytes as a `Recording` whose format was
read from the file's first bytes, or from the Content-Type when those say nothing. Only the four
formats browsers play and the decoder reads are accepted (mp3, wav, ogg, m4a): whatever we store is
later served with one of these types, never with a type the upstream chose.
"""
from __future__ import annotations

from dataclasses import dataclass

from providers.base import ProviderRejected

# format -> (the Content-Type we serve it with, file extension)
FORMATS = {"mp3": ("audio/mpeg", "mp3"), "wav": ("audio/wav", "wav"), "ogg": ("audio/ogg", "ogg"),
           "m4a": ("audio/mp4", "m4a")}
CONTENT_TYPES = {
    "audio/mpeg": "mp3", "audio/mp3": "mp3", "audio/mpeg3": "mp3", "audio/x-mpeg": "mp3", "audio/x-mp3": "mp3",
    "audio/wav": "wav", "audio/x-wav": "wav", "audio/wave": "wav", "audio/vnd.wave": "wav",
    "audio/ogg": "ogg", "application/ogg": "ogg", "audio/opus": "ogg", "audio/x-ogg": "ogg",
    "audio/mp4": "m4a", "audio/m4a": "m4a", "audio/x-m4a": "m4a", "audio/aac": "m4a",
}


@dataclass(frozen=True)
class Recording:
    content: bytes
    format: str  # a FORMATS key

    @property
    def content_type(self) -> str:
        return FORMATS[self.format][0]

    @property
    def extension(self) -> str:
        return FORMATS[self.format][1]


def sniff(head: bytes) -> str | None:
    """The format the first bytes of a file show, or None."""
    if head.startswith(b"OggS"):
        return "ogg"
    if head[:4] == b"RIFF" and head[8:12] == b"WAVE":
        return "wav"
    if head[4:8] == b"ftyp":
        return "m4a"
    if head.startswith(b"ID3") or (len(head) > 1 and head[0] == 0xFF and head[1] & 0xE0 == 0xE0):
        return "mp3"  # an ID3 tag, or an MPEG audio frame sync
    return None


def identify(content: bytes, content_type: str | None) -> Recording:
    """The recording with its format: from its bytes, else its Content-Type. Raises
    ProviderRejected(unsupported_recording) for anything else (an HTML error page, say)."""
    found = sniff(content[:16])
    if found is None:
        declared = (content_type or "").split(";", 1)[0].strip().lower()
        found = CONTENT_TYPES.get(declared)
        # A declared audio type over bytes we do not recognise: trust it only for mp3, whose
        # frames may follow some junk (the decoder copes); the others all start with a signature.
        if found != "mp3":
            found = None
    if found is None or not content:
        raise ProviderRejected(f"The recording is not audio we can play (Content-Type {content_type or 'none'!r}).",
                               code="unsupported_recording")
    return Recording(content=content, format=found)
