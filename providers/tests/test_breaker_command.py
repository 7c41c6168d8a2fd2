"""manage.py breaker show|reset|trip, with exit codes."""
import json

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError

from providers.breaker import OPEN, breaker_state


def test_show_exits_0_when_every_circuit_is_closed(capsys):
    call_command("breaker", "show")
    out = capsys.readouterr().out
    assert "breaker textverified: closed, 0 consecutive failure(s)" in out
    assert "breaker mock: closed" in out


def test_trip_then_show_exits_1_and_reset_closes_it(capsys):
    call_command("breaker", "trip", "--provider", "textverified")
    assert breaker_state("textverified").state == OPEN
    assert breaker_state("mock").state != OPEN
    with pytest.raises(SystemExit) as caught:
        call_command("breaker", "show", "--provider", "textverified")
    assert caught.value.code == 1
    assert "breaker textverified: open" in capsys.readouterr().out
    call_command("breaker", "reset")
    out = capsys.readouterr().out
    assert "breaker textverified: open -> closed" in out and out.strip().endswith("2 circuit(s) closed")
    call_command("breaker", "show")


def test_show_can_print_json_for_scripts(capsys):
    call_command("breaker", "show", "--provider", "mock", "--json")
    data = json.loads(capsys.readouterr().out)
    assert data["name"] == "mock" and data["state"] == "closed" and "closed->open" in data["transitions"]


def test_an_unknown_provider_is_a_usage_error():
    with pytest.raises(CommandError):
        call_command("breaker", "show", "--provider", "twilio")
