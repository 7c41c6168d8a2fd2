"""Downloading a call's recording with the TextVerified client, at the `responses` network edge:
both URI forms, the token only to TextVerified's origin, redirects, bounds and formats."""
import pytest
import responses

from providers.base import ProviderRejected, ProviderUnavailable
from providers.tests.support import BASE, TOKEN, add_auth

OGG = b"OggS" + bytes(2000)
WAV = b"RIFF\x24\x08\x00\x00WAVEfmt " + bytes(2000)
M4A = b"\x00\x00\x00\x20ftypM4A " + bytes(2000)
MP3 = b"ID3\x04\x00" + bytes(2000)


def authorization(call) -> str | None:
    return call.request.headers.get("Authorization")


@pytest.mark.parametrize("uri", ["/api/pub/v2/recordings/c1", f"{BASE}/api/pub/v2/recordings/c1",
                                 "api/pub/v2/recordings/c1"])
def test_it_fetches_absolute_and_relative_uris_with_the_bearer_token(client, rsps, uri):
    add_auth(rsps)
    rsps.add(responses.GET, f"{BASE}/api/pub/v2/recordings/c1", body=OGG, content_type="audio/ogg")
    recording = client.recording(uri)
    assert (recording.format, recording.content_type, recording.content) == ("ogg", "audio/ogg", OGG)
    assert authorization(rsps.calls[-1]) == f"Bearer {TOKEN}"


def test_a_redirect_to_another_host_gets_no_token(client, rsps):
    add_auth(rsps)
    rsps.add(responses.GET, f"{BASE}/api/pub/v2/recordings/c1", status=302,
             headers={"Location": "https://cdn.example/signed/c1.wav?sig=abc"})
    rsps.add(responses.GET, "https://cdn.example/signed/c1.wav", body=WAV, content_type="application/octet-stream")
    recording = client.recording("/api/pub/v2/recordings/c1")
    assert recording.format == "wav" and recording.content_type == "audio/wav"  # from the bytes
    first, second = rsps.calls[-2:]
    assert authorization(first) == f"Bearer {TOKEN}" and authorization(second) is None


def test_a_redirect_back_on_the_same_origin_keeps_the_token_and_relative_locations_work(client, rsps):
    add_auth(rsps)
    rsps.add(responses.GET, f"{BASE}/api/pub/v2/recordings/c1", status=307, headers={"Location": "/files/c1"})
    rsps.add(responses.GET, f"{BASE}/files/c1", body=M4A, content_type="audio/mp4")
    assert client.recording(f"{BASE}/api/pub/v2/recordings/c1").format == "m4a"
    assert authorization(rsps.calls[-1]) == f"Bearer {TOKEN}"


def test_a_recording_on_another_host_is_fetched_without_the_token(client, rsps):
    rsps.add(responses.GET, "https://media.example/c1.mp3", body=MP3, content_type="audio/mpeg")
    assert client.recording("https://media.example/c1.mp3").format == "mp3"
    assert [authorization(c) for c in rsps.calls] == [None]  # not even an auth request was made


def test_endless_redirects_stop(client, rsps):
    add_auth(rsps)
    rsps.add(responses.GET, f"{BASE}/loop", status=302, headers={"Location": f"{BASE}/loop"})
    with pytest.raises(ProviderUnavailable) as caught:
        client.recording("/loop")
    assert caught.value.code == "bad_response" and len(rsps.calls) == 1 + 6


def test_a_missing_recording_is_not_found(client, rsps):
    add_auth(rsps)
    rsps.add(responses.GET, f"{BASE}/api/pub/v2/recordings/c1", status=404)
    with pytest.raises(ProviderRejected) as caught:
        client.recording("/api/pub/v2/recordings/c1")
    assert caught.value.code == "not_found"


def test_an_expired_token_is_replaced_once(client, rsps):
    add_auth(rsps)
    rsps.add(responses.GET, f"{BASE}/r/c1", status=401)
    rsps.add(responses.GET, f"{BASE}/r/c1", body=OGG, content_type="audio/ogg")
    assert client.recording("/r/c1").format == "ogg"
    assert [c.request.url.rsplit("/", 1)[-1] for c in rsps.calls] == ["auth", "c1", "auth", "c1"]


def test_a_recording_above_the_limit_is_refused_by_its_length_or_while_streaming(client, rsps, settings):
    settings.RECORDING_MAX_BYTES = 1024
    add_auth(rsps)
    rsps.add(responses.GET, f"{BASE}/r/declared", body=OGG, content_type="audio/ogg")
    rsps.add(responses.GET, f"{BASE}/r/streamed", body=OGG, content_type="audio/ogg", auto_calculate_content_length=False,
             stream=True)
    for uri in ("/r/declared", "/r/streamed"):
        with pytest.raises(ProviderRejected) as caught:
            client.recording(uri)
        assert caught.value.code == "recording_too_large"


def test_the_format_comes_from_the_content_type_only_for_mp3_without_a_tag(client, rsps):
    add_auth(rsps)
    rsps.add(responses.GET, f"{BASE}/r/mp3", body=b"\x00junk" + bytes(100), content_type="audio/mpeg")
    rsps.add(responses.GET, f"{BASE}/r/html", body=b"<html>login</html>", content_type="text/html")
    rsps.add(responses.GET, f"{BASE}/r/fake-ogg", body=b"<html>", content_type="audio/ogg")
    assert client.recording("/r/mp3").content_type == "audio/mpeg"
    for uri in ("/r/html", "/r/fake-ogg"):
        with pytest.raises(ProviderRejected) as caught:
            client.recording(uri)
        assert caught.value.code == "unsupported_recording"


@pytest.mark.parametrize("uri", ["", "javascript:alert(1)", "file:///etc/passwd", "ftp://tv.test/x"])
def test_it_refuses_uris_that_are_not_http(client, rsps, uri):
    with pytest.raises(ProviderRejected) as caught:
        client.recording(uri)
    assert caught.value.code == "bad_recording_uri" and len(rsps.calls) == 0


def test_a_slow_download_is_cut_at_the_time_limit(client, rsps, settings):
    settings.RECORDING_TIMEOUT = 0.05
    add_auth(rsps)

    def slow(request):
        import time

        time.sleep(0.1)
        return 200, {"Content-Type": "audio/ogg"}, OGG

    rsps.add_callback(responses.GET, f"{BASE}/r/slow", callback=slow)
    with pytest.raises(ProviderUnavailable) as caught:
        client.recording("/r/slow")
    assert caught.value.code == "timeout"
