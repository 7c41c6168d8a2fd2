"""One log line per request with request id, user id, status and duration — never secrets or SMS."""
import json
import logging

from rest_framework.test import APIClient

from monitoring.logging import JsonFormatter
from verifications.tests.lifecycle import api_for, fund, make_shop, run_checks


def test_each_request_logs_one_line_with_id_user_status_and_duration(db, alice, caplog):
    caplog.set_level(logging.INFO, logger="namaskah.request")
    response = api_for(alice).get("/account", HTTP_X_REQUEST_ID="client-req-12345")
    assert response["X-Request-ID"] == "client-req-12345"
    lines = [r for r in caplog.records if r.name == "namaskah.request"]
    assert len(lines) == 1
    record = lines[0]
    assert (record.request_id, record.user_id, record.status, record.path) == ("client-req-12345", alice.pk, 200, "/account")
    assert record.duration_ms >= 0


def test_a_hostile_request_id_is_replaced(db, client):
    response = client.get("/system/live", HTTP_X_REQUEST_ID="bad id\nwith newline")
    assert response["X-Request-ID"] != "bad id\nwith newline" and len(response["X-Request-ID"]) == 32


def test_json_format_has_the_request_fields():
    record = logging.LogRecord("namaskah.request", logging.INFO, __file__, 1, "GET /x 200", None, None)
    record.request_id, record.user_id, record.status, record.duration_ms = "abc", 7, 200, 1.5
    payload = json.loads(JsonFormatter().format(record))
    assert payload["request_id"] == "abc" and payload["user_id"] == 7 and payload["status"] == 200


def test_no_secret_token_or_sms_body_is_logged_at_info(db, alice, caplog, settings):
    settings.MOCK_SMS_DELAY = 0
    caplog.set_level(logging.INFO)
    make_shop()
    fund(alice, "5.00")
    login = APIClient().post("/auth/token", {"email": "alice@example.com", "password": "correct-horse-battery"},
                             format="json").json()
    owner = api_for(alice)
    key = owner.post("/auth/api-keys", {"name": "ci"}, format="json").json()["key"]
    integrator = APIClient()
    integrator.credentials(HTTP_AUTHORIZATION=f"Api-Key {key}")
    vid = integrator.post("/verify/create", {"service": "test-html-sms", "country": "US", "capability": "sms"},
                          format="json").json()["id"]
    run_checks()
    messages = integrator.get(f"/verify/{vid}/messages?token={login['access']}").json()
    assert messages["code"] == "424242"
    logged = "\n".join(f"{r.getMessage()} {r.__dict__}" for r in caplog.records if r.levelno >= logging.INFO)
    for secret in (key, login["access"], login["refresh"], "correct-horse-battery", "Your code is 424242",
                   settings.SECRET_KEY, settings.JWT_SECRET_KEY):
        assert secret not in logged
