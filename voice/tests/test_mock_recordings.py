"""voice/mock_recordings: small real recordings whose transcription is their code, confidently."""
from pathlib import Path

import pytest

from voice import CONFIDENT, transcribe
from voice.tests.conftest import MOCK_RECORDINGS, mock_recordings, needs_speech



def looks_like(content_type: str, head: bytes) -> bool:
    if content_type == "audio/mpeg":  # an ID3 tag, or an MPEG audio frame's 11-bit sync word
        return head.startswith(b"ID3") or (head[0] == 0xFF and head[1] & 0xE0 == 0xE0)
    return head.startswith({"audio/ogg": b"OggS", "audio/wav": b"RIFF"}[content_type])


def test_it_keeps_the_recordings_small_and_listed_in_the_manifest():
    files = sorted(path.name for path in MOCK_RECORDINGS.glob("call-*"))
    assert files == sorted(entry["file"] for entry in mock_recordings())
    assert len(files) >= 5
    assert sum((MOCK_RECORDINGS / name).stat().st_size for name in files) < 500_000
    for entry in mock_recordings():
        assert entry["code"].isdigit() and 4 <= len(entry["code"]) <= 8
        head = (MOCK_RECORDINGS / entry["file"]).read_bytes()[:4]
        assert looks_like(entry["content_type"], head), entry["file"]


@needs_speech
@pytest.mark.parametrize("entry", mock_recordings(), ids=lambda entry: entry["file"])
def test_it_transcribes_each_recording_to_its_code_confidently(entry):
    transcript = transcribe(Path(MOCK_RECORDINGS / entry["file"]))
    assert (transcript.code, transcript.confidence) == (entry["code"], CONFIDENT), transcript.text
