"""/system/metrics: real samples, merged across processes, not public."""
import subprocess
import sys
from pathlib import Path

from rest_framework.test import APIClient

from monitoring.metrics import quantile

ROOT = Path(__file__).resolve().parents[2]
WORKER = """
import sys
from monitoring import metrics
for i in range(int(sys.argv[1])):
    metrics.observe_request(endpoint="api-verify-messages", method="GET", status=200, seconds=0.02)
metrics.observe_request(endpoint="api-verify-messages", method="GET", status=503, seconds=0.3)
"""


def run_worker(directory: Path, count: int) -> None:
    env = {"PATH": "/usr/bin:/bin", "PROMETHEUS_MULTIPROC_DIR": str(directory)}
    subprocess.run([sys.executable, "-c", WORKER, str(count)], cwd=ROOT, env=env, check=True, timeout=60)


def test_two_worker_processes_report_one_truth(tmp_path, monkeypatch, staff):
    run_worker(tmp_path, 40)
    run_worker(tmp_path, 59)
    monkeypatch.setenv("PROMETHEUS_MULTIPROC_DIR", str(tmp_path))
    client = APIClient()
    client.force_login(staff)
    body = client.get("/system/metrics").json()
    row = body["http"]["api-verify-messages"]
    assert (row["requests"], row["errors"]) == (101, 2)
    assert row["error_rate"] == round(2 / 101, 4)
    assert 0 < row["p50_ms"] <= 25 and row["p99_ms"] > 25
    text = client.get("/system/metrics?format=prometheus").content.decode()
    assert 'namaskah_http_requests_total{endpoint="api-verify-messages",method="GET",status="200"} 99.0' in text


def test_metrics_refuse_anonymous_and_customers(db, alice, settings):
    settings.METRICS_TOKEN = "s3cret-metrics-token"
    assert APIClient().get("/system/metrics").status_code == 401
    customer = APIClient()
    customer.force_login(alice)
    assert customer.get("/system/metrics").status_code == 401
    wrong = APIClient()
    wrong.credentials(HTTP_AUTHORIZATION="Bearer nope")
    assert wrong.get("/system/metrics").status_code == 401
    ok = APIClient()
    ok.credentials(HTTP_AUTHORIZATION="Bearer s3cret-metrics-token")
    assert ok.get("/system/metrics").status_code == 200


def test_requests_to_the_site_are_counted(db, staff, client):
    client.force_login(staff)
    client.get("/services")
    client.get("/services")
    body = client.get("/system/metrics").json()
    assert body["http"]["api-services"]["requests"] >= 2


def test_business_figures_come_from_the_ledger(db, staff, alice):
    from verifications.tests.lifecycle import api_for, fund, make_shop

    make_shop()
    fund(alice, "5.00")
    api = api_for(alice)
    api.post("/verify/create", {"service": "telegram", "country": "US", "capability": "sms"}, format="json")
    vid = api.post("/verify/create", {"service": "whatsapp", "country": "US", "capability": "sms"}, format="json").json()["id"]
    api.delete(f"/verify/{vid}")
    client = APIClient()
    client.force_login(staff)
    business = client.get("/system/metrics").json()["business"]
    assert business["verifications"]["pending"] + business["verifications"]["completed"] == 1
    assert business["verifications"]["cancelled"] == 1
    assert business["revenue_usd"] == {"1h": "1.00", "24h": "1.00"}
    assert business["refunds"] == {"1h": 1, "24h": 1}


def test_quantiles_interpolate_within_buckets():
    buckets = [(0.1, 50.0), (0.2, 90.0), (0.5, 100.0), (float("inf"), 100.0)]
    assert quantile(buckets, 0.5) == 0.1
    assert abs(quantile(buckets, 0.7) - 0.15) < 1e-9
    assert quantile([], 0.5) is None


def test_info_is_public_and_has_no_secrets(db, client, settings):
    settings.METRICS_TOKEN = "s3cret-metrics-token"
    body = client.get("/system/info").json()
    assert body["provider"] == "mock" and body["capabilities"] == ["sms", "voice"]
    assert {"countries", "services", "limits", "version"} <= set(body)
    text = str(body)
    for secret in (settings.SECRET_KEY, settings.JWT_SECRET_KEY, "s3cret-metrics-token"):
        assert secret not in text


def test_sql_queries_per_request_are_measured(db, staff, alice):
    from verifications.tests.lifecycle import api_for, fund, make_shop

    make_shop()
    fund(alice, "5.00")
    client = APIClient()
    client.force_login(staff)

    def totals():
        from monitoring.metrics import DB_QUERIES

        row = client.get("/system/metrics").json()["http"].get("api-account") or {"requests": 0}
        return row["requests"], DB_QUERIES.labels("api-account")._value.get()

    # Counters live for the whole process (other tests add to them): compare before and after.
    requests_before, queries_before = totals()
    api_for(alice).get("/account")
    requests_after, queries_after = totals()
    assert requests_after - requests_before == 1
    assert queries_after - queries_before >= 1


def test_provider_calls_and_breaker_transitions_are_measured(db, staff, alice, settings):
    from providers.breaker import breaker_for
    from verifications.tests.lifecycle import api_for, fund, make_shop, run_checks

    settings.MOCK_SMS_DELAY = 0
    make_shop()
    fund(alice, "5.00")
    staff_client = APIClient()
    staff_client.force_login(staff)
    before = staff_client.get("/system/metrics").json()["providers"].get("mock", {}).get("by_outcome", {})
    api = api_for(alice)
    vid = api.post("/verify/create", {"service": "telegram", "country": "US", "capability": "sms"}, format="json").json()["id"]
    run_checks()  # the background check: an upstream call of its own (through its own circuit)
    api.get(f"/verify/{vid}/messages")
    api.post("/verify/create", {"service": "test-unavailable", "country": "US", "capability": "sms"}, format="json")
    breaker_for("mock").trip()
    client = APIClient()
    client.force_login(staff)
    body = client.get("/system/metrics").json()
    after = body["providers"]["mock"]["by_outcome"]
    assert after.get("ok", 0) - before.get("ok", 0) >= 2
    assert after.get("unavailable", 0) - before.get("unavailable", 0) == 1
    assert body["providers"]["mock"]["p50_ms"] is not None
    assert body["breakers"] == {"mock": "open", "mock-checks": "closed"}  # the checks have their own circuit
    assert {"provider": "mock", "transition": "closed->open", "count": 1} in body["breaker_transitions"]
    text = client.get("/system/metrics?format=prometheus").content.decode()
    assert 'namaskah_breaker_state{provider="mock",state="open"} 1.0' in text


def test_webhook_attempts_are_shown_by_outcome(db, staff, client):
    from namaskah import taskstats

    taskstats.add({"webhook:delivered": 3, "webhook:failed": 1})
    client.force_login(staff)
    assert client.get("/system/metrics").json()["background"]["webhook_attempts"] == {"delivered": 3, "failed": 1}
    text = client.get("/system/metrics", HTTP_ACCEPT="text/plain").content.decode()
    assert 'namaskah_webhook_attempts_total{outcome="delivered"} 3.0' in text
