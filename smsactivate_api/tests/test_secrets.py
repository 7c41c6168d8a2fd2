"""The key arrives in the query string: it never reaches a log record, a metric label, an answer or
the OpenAPI schema (contract §7)."""
import logging

from rest_framework.test import APIClient

from monitoring.logging import ScrubSecrets
from smsactivate_api.tests.conftest import PATH, sms
from verifications.models import Verification
from verifications.tests.lifecycle import fund


def secret_part(key: str) -> str:
    return key.split("_", 2)[2]


def test_a_full_flow_logs_neither_the_key_nor_its_secret(shop, alice, key, client, caplog, settings):
    settings.RATELIMIT_ENABLE, settings.RATE_POLL = True, "6/m"
    fund(alice, "3.00")
    wrong = key[:-4] + "zzzz"
    with caplog.at_level(logging.DEBUG):
        client.get(PATH, {"api_key": key, "action": "getBalance"})
        number = client.get(PATH, {"api_key": key, "action": "getNumber", "service": "wa"}).content.decode()
        activation = number.split(":")[1]
        client.post(f"{PATH}?api_key={key}", {"action": "getStatus", "id": activation})
        sms(Verification.objects.get(), text="code 123456", code="123456")
        client.get(PATH, {"api_key": key, "action": "getStatusV2", "id": activation})
        client.get(PATH, {"api_key": key, "action": "setStatus", "id": activation, "status": "6"})
        client.get(PATH, {"api_key": key, "action": "getNumber", "service": "wa"})  # NO_BALANCE
        client.get(PATH, {"api_key": wrong, "action": "getBalance"})  # BAD_KEY
        client.get(PATH, {"api_key": key, "action": "noSuchAction"})
        client.put(f"{PATH}?api_key={key}&action=getBalance")  # 405, logged by Django as a warning
        for _ in range(4):
            client.get(PATH, {"api_key": key, "action": "getHistory"})  # over RATE_POLL: TOO_MANY_REQUESTS
        client.generic("POST", f"{PATH}?api_key={key}", b"--x\r\nbroken",
                       content_type="multipart/form-data; boundary=x")
    assert any(r.name == "namaskah.request" for r in caplog.records)  # the request log did run
    assert any("405" in r.getMessage() or "Method Not Allowed" in r.getMessage() for r in caplog.records)
    for record in caplog.records:
        for secret in (key, wrong, secret_part(key), secret_part(wrong)):
            assert secret not in record.getMessage()
            assert secret not in str(getattr(record, "path", ""))
            assert secret not in (record.exc_text or "")


def test_answers_never_echo_the_key(shop, alice, key, client):
    fund(alice, "1.00")
    for action in ("getBalance", "getNumber", "getStatus", "setStatus", "nope", "getPrices"):
        for api_key in (key, key + "x"):
            assert secret_part(key) not in client.get(PATH, {"api_key": api_key, "action": action}).content.decode()


def test_metrics_label_the_action_and_the_token_only(shop, alice, key, client, staff):
    fund(alice, "1.00")
    client.get(PATH, {"api_key": key, "action": "getBalance"})
    client.get(PATH, {"api_key": key + "x", "action": "getBalance"})
    client.get(PATH, {"api_key": key, "action": f"x{key}"})
    client.force_login(staff)
    metrics = client.get("/system/metrics", {"format": "prometheus"}).content.decode()
    metrics += client.get("/system/metrics").content.decode()
    assert 'namaskah_protocol_answers_total{action="getBalance",answer="ACCESS_BALANCE"}' in metrics
    assert 'namaskah_protocol_answers_total{action="getBalance",answer="BAD_KEY"}' in metrics
    assert 'namaskah_protocol_answers_total{action="other",answer="BAD_ACTION"}' in metrics
    assert 'endpoint="smsactivate-handler"' in metrics
    assert secret_part(key) not in metrics


def test_the_openapi_schema_carries_no_key_and_no_protocol_example(shop, key):
    schema = APIClient().get("/api/schema", HTTP_ACCEPT="application/json").content.decode()
    assert "handler_api" not in schema and secret_part(key) not in schema and "nmk_" not in schema


def test_printed_lines_mask_keys_in_urls_and_anywhere_else():
    scrub = ScrubSecrets()
    record = logging.LogRecord("django.server", logging.WARNING, __file__, 1, '"%s" %s %s',
                               ("GET /stubs/handler_api.php?action=getBalance&api_key=nmk_0a1b2c3d_s3cr-et_x HTTP/1.1",
                                "405", "0"), None)
    assert scrub.filter(record) is True
    assert record.getMessage() == '"GET /stubs/handler_api.php?action=getBalance&api_key=*** HTTP/1.1" 405 0'
    record = logging.LogRecord("x", logging.ERROR, __file__, 1, "failed for %s", ("nmk_0a1b2c3d_s3cr-et_x",), None)
    scrub.filter(record)
    assert record.getMessage() == "failed for nmk_***"


def test_runservers_request_lines_pass_through_the_scrubber(caplog):
    server = logging.getLogger("django.server")  # it does not propagate: listen on it directly
    server.addHandler(caplog.handler)
    try:
        server.warning('"%s" %s', "GET /stubs/handler_api.php?api_key=nmk_00000000_abc HTTP/1.1", "405")
    finally:
        server.removeHandler(caplog.handler)
    assert "nmk_00000000_abc" not in caplog.text and "api_key=***" in caplog.text
