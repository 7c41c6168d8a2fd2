"""The SMSACTIVATE_* environment rules, each checked in a fresh interpreter as a process would start."""
import json

import pytest

from namaskah.tests.test_settings import start

PROBE = (
    "import json, namaskah.settings as s; "
    "print(json.dumps({k: getattr(s, k) for k in dir(s) if k.startswith('SMSACTIVATE_')}))"
)


def loaded(env: dict) -> dict:
    result = start(env, PROBE)
    assert result.returncode == 0, result.stderr
    return json.loads(result.stdout)


def refusal(env: dict) -> str:
    result = start(env, PROBE)
    assert result.returncode == 2, result.stdout + result.stderr
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1, result.stderr
    return lines[0]


def test_it_is_off_with_defaults_when_nothing_is_set():
    s = loaded({})
    assert s["SMSACTIVATE_BASE_URL"] is None and s["SMSACTIVATE_NAME"] == "SMS-Activate"
    timeouts = (s["SMSACTIVATE_CONNECT_TIMEOUT"], s["SMSACTIVATE_READ_TIMEOUT"], s["SMSACTIVATE_MAX_RETRIES"])
    assert timeouts == (5.0, 30.0, 3)
    assert s["SMSACTIVATE_ORDER_ID"] is True


def test_it_reads_a_configured_provider():
    s = loaded({"SMSACTIVATE_BASE_URL": "http://127.0.0.1:8766/", "SMSACTIVATE_API_KEY": "k",
                "SMSACTIVATE_NAME": "Acme Numbers", "SMSACTIVATE_READ_TIMEOUT": "12.5",
                "SMSACTIVATE_ORDER_ID": "false"})
    assert s["SMSACTIVATE_BASE_URL"] == "http://127.0.0.1:8766"
    assert s["SMSACTIVATE_NAME"] == "Acme Numbers"
    assert (s["SMSACTIVATE_READ_TIMEOUT"], s["SMSACTIVATE_ORDER_ID"]) == (12.5, False)


@pytest.mark.parametrize("env,message", [
    ({"SMSACTIVATE_BASE_URL": "api.example.com", "SMSACTIVATE_API_KEY": "k"}, "must start with http:// or https://"),
    ({"SMSACTIVATE_BASE_URL": "ftp://api.example.com", "SMSACTIVATE_API_KEY": "k"}, "must start with http://"),
    ({"SMSACTIVATE_BASE_URL": "https://api.example.com/stubs/handler_api.php", "SMSACTIVATE_API_KEY": "k"},
     "the client appends /stubs/handler_api.php"),
    ({"SMSACTIVATE_BASE_URL": "https://api.example.com/?api_key=x", "SMSACTIVATE_API_KEY": "k"}, "host only"),
    ({"SMSACTIVATE_BASE_URL": "https://api.example.com"}, "SMSACTIVATE_API_KEY must be set"),
    ({"SMSACTIVATE_READ_TIMEOUT": "30s"}, "SMSACTIVATE_READ_TIMEOUT='30s' is not a number"),
    ({"SMSACTIVATE_MAX_RETRIES": "11"}, "SMSACTIVATE_MAX_RETRIES=11 is above the maximum"),
    ({"SMSACTIVATE_ORDER_ID": "maybe"}, "SMSACTIVATE_ORDER_ID='maybe' is not a boolean"),
    ({"SMSACTIVATE_NAME": "x" * 65}, "SMSACTIVATE_NAME is 65 characters long"),
])
def test_it_refuses_bad_values_with_one_line(env, message):
    line = refusal(env)
    assert message in line and line.startswith("namaskah: configuration error:")


@pytest.mark.parametrize("url", ["https://api.example.com/stubs", "api.example.com?api_key=SECRET-KEY-1"])
def test_the_refusal_never_echoes_the_key(url):
    line = refusal({"SMSACTIVATE_BASE_URL": url, "SMSACTIVATE_API_KEY": "SECRET-KEY-1"})
    assert "SMSACTIVATE_BASE_URL" in line and "SECRET-KEY-1" not in line
