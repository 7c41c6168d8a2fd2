"""transcribe(): real weights on real recordings, and one clear error whenever it cannot work."""
import logging
import socket
import subprocess
import sys
import threading
from pathlib import Path

import pytest

from voice import CONFIDENT, NONE, TranscriptionUnavailable, transcribe
from voice.tests.conftest import MOCK_RECORDINGS, mock_recordings, needs_speech
from voice.weights import REQUIRED, default_directory

ROOT = Path(__file__).resolve().parents[2]


def test_it_is_unavailable_with_an_empty_model_directory(settings, tmp_path):
    settings.VOICE_MODEL_DIR = str(tmp_path)
    with pytest.raises(TranscriptionUnavailable, match="incomplete|not installed"):
        transcribe(b"RIFF")


def test_it_is_unavailable_with_a_model_directory_that_does_not_exist(settings, tmp_path):
    settings.VOICE_MODEL_DIR = str(tmp_path / "nowhere")
    with pytest.raises(TranscriptionUnavailable, match="not a directory|not installed"):
        transcribe(b"RIFF")


@needs_speech
def test_it_refuses_weights_that_differ_from_the_manifest(settings, tmp_path):
    # The real model.bin beside a config.json with one value changed: every file is checked.
    for name in REQUIRED:
        if name != "config.json":
            (tmp_path / name).symlink_to(default_directory() / name)
    config = (default_directory() / "config.json").read_text()
    (tmp_path / "config.json").write_text(config.replace("50257", "50258", 1))
    settings.VOICE_MODEL_DIR = str(tmp_path)
    with pytest.raises(TranscriptionUnavailable, match=r"matches no entry of voice/models\.json \(differs in config\.json\)"):
        transcribe(MOCK_RECORDINGS / mock_recordings()[0]["file"])


@needs_speech
def test_it_refuses_a_truncated_model(settings, tmp_path):
    for name in REQUIRED:
        if name != "model.bin":
            (tmp_path / name).symlink_to(default_directory() / name)
    (tmp_path / "model.bin").write_bytes((default_directory() / "model.bin").read_bytes()[:1_000_000])
    settings.VOICE_MODEL_DIR = str(tmp_path)
    with pytest.raises(TranscriptionUnavailable, match="differs in model.bin"):
        transcribe(MOCK_RECORDINGS / mock_recordings()[0]["file"])


@needs_speech
@pytest.mark.parametrize("garbage", [b"", b"not audio at all" * 100, b"RIFF\x24\x00\x00\x00WAVEfmt " + bytes(64),
                                     b"OggS" + bytes(200)])
def test_it_is_unavailable_for_a_recording_it_cannot_decode(garbage):
    with pytest.raises(TranscriptionUnavailable, match="could not be decoded"):
        transcribe(garbage)


@needs_speech
def test_it_is_unavailable_for_a_missing_file(tmp_path):
    with pytest.raises(TranscriptionUnavailable, match="could not be decoded"):
        transcribe(tmp_path / "missing.ogg")


@needs_speech
def test_it_is_unavailable_when_the_speech_packages_are_missing():
    # A fresh interpreter in which faster_whisper cannot be imported, as on a host without it.
    script = (
        "import sys; sys.modules['faster_whisper'] = None\n"
        "import django; django.setup()\n"
        "from voice import transcribe, TranscriptionUnavailable\n"
        "try:\n    transcribe(b'RIFF')\nexcept TranscriptionUnavailable as exc:\n    print('unavailable:', exc)\n"
    )
    result = subprocess.run([sys.executable, "-c", script], cwd=ROOT, capture_output=True, text=True, timeout=120,
                            env={"DJANGO_SETTINGS_MODULE": "namaskah.settings", "PATH": "/usr/bin:/bin",
                                 "LOG_LEVEL": "error"})
    assert result.returncode == 0, result.stderr
    assert "unavailable: the speech packages are not installed or broken" in result.stdout


@needs_speech
def test_it_finds_no_code_in_silence_or_line_noise(silence, line_noise):
    # The decoder is prompted with a code: with nothing to hear it must not recite that one.
    for audio in (silence, line_noise):
        transcript = transcribe(audio)
        assert transcript.confidence != CONFIDENT
        assert transcript.code is None and transcript.confidence == NONE, transcript.text


@needs_speech
def test_it_reads_a_recording_given_as_bytes_or_as_a_path():
    entry = mock_recordings()[0]
    path = MOCK_RECORDINGS / entry["file"]
    from_path = transcribe(path)
    from_bytes = transcribe(path.read_bytes())
    assert (from_path.code, from_path.confidence) == (entry["code"], CONFIDENT)
    assert (from_bytes.text, from_bytes.code) == (from_path.text, from_path.code)
    assert from_path.model == "tiny.en" and from_path.decoding == "primary"
    assert from_path.audio_seconds == pytest.approx(entry["seconds"], abs=0.05)


@needs_speech
def test_it_cuts_a_long_recording_to_voice_max_seconds(settings):
    settings.VOICE_MAX_SECONDS = 5
    entry = max(mock_recordings(), key=lambda e: e["seconds"])
    assert transcribe(MOCK_RECORDINGS / entry["file"]).audio_seconds == 5.0


@needs_speech
def test_it_transcribes_again_with_a_second_decoding_when_no_second_model_is_set(settings):
    settings.VOICE_SECOND_MODEL = None
    entry = mock_recordings()[0]
    again = transcribe(MOCK_RECORDINGS / entry["file"], model="second")
    assert (again.model, again.decoding) == ("tiny.en", "again")
    assert (again.code, again.confidence) == (entry["code"], CONFIDENT)


@needs_speech
def test_it_transcribes_again_with_the_second_model_when_one_is_set(settings, model_copy):
    settings.VOICE_SECOND_MODEL = str(model_copy)
    entry = mock_recordings()[1]
    again = transcribe(MOCK_RECORDINGS / entry["file"], model="second")
    assert (again.model, again.decoding) == ("tiny.en", "primary")
    assert again.code == entry["code"]


def test_it_is_unavailable_when_the_second_model_is_missing(settings, tmp_path):
    settings.VOICE_SECOND_MODEL = str(tmp_path)
    with pytest.raises(TranscriptionUnavailable):
        transcribe(b"RIFF", model="second")


def test_it_rejects_an_unknown_model_name():
    with pytest.raises(ValueError, match="'primary' or 'second'"):
        transcribe(b"RIFF", model="large")


@needs_speech
def test_it_loads_the_weights_once_for_concurrent_first_calls_without_any_network(settings, model_copy, monkeypatch,
                                                                                  caplog):
    # The network edge is closed: loading and transcribing must not even try a model hub.
    def refuse(*args, **kwargs):
        raise AssertionError(f"network access attempted: {args!r}")

    monkeypatch.setattr(socket.socket, "connect", refuse)
    monkeypatch.setattr(socket, "create_connection", refuse)
    settings.VOICE_MODEL_DIR = str(model_copy)
    entry = mock_recordings()[2]
    results, errors = [], []

    def work():
        try:
            results.append(transcribe(MOCK_RECORDINGS / entry["file"]))
        except Exception as exc:  # noqa: BLE001 - reported below
            errors.append(exc)

    caplog.set_level(logging.INFO, logger="voice")
    threads = [threading.Thread(target=work) for _ in range(3)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert errors == []
    assert [(r.code, r.confidence) for r in results] == [(entry["code"], CONFIDENT)] * 3
    loads = [r for r in caplog.records if r.getMessage().startswith("voice model tiny.en loaded from")]
    assert len(loads) == 1 and str(model_copy) in loads[0].getMessage()
