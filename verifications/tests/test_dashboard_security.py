"""Security of the dashboard: SMS text is escaped everywhere (dashboard, history, admin), the JSON
API refuses a session request without the CSRF header, GET changes nothing, and the pages send a
strict Content-Security-Policy."""
import json
import re
from decimal import Decimal

import pytest
from django.test import Client

from accounts.models import LedgerEntry
from providers.simulation import HTML_SMS
from verifications import services
from verifications.models import Verification
from verifications.tests.lifecycle import balance, fund, make_shop

RAW = ["<script>window.__pwned=1</script>", '<img src=x onerror="window.__pwned=2">']
ESCAPED = "&lt;script&gt;window.__pwned=1&lt;/script&gt;&lt;img src=x onerror=&quot;window.__pwned=2&quot;&gt;"
PAGES = ["/", "/dashboard", "/history", "/transactions", "/api-keys", "/settings", "/login", "/register"]


@pytest.fixture
def shop(db):
    return make_shop()


@pytest.fixture
def html_sms(shop, alice, settings):
    """A verification that received the mock's hostile SMS, through the real purchase and poll."""
    settings.MOCK_SMS_DELAY = 0
    fund(alice, "5.00")
    verification, _ = services.purchase(user=alice, service=shop["test_html_sms"], country=shop["us"], capability="sms")
    services.refresh(verification=verification, force=True)
    assert verification.messages.get().text == HTML_SMS
    return verification


def strict_client(user) -> Client:
    client = Client(enforce_csrf_checks=True)
    client.force_login(user)
    return client


def page_token(client) -> str:
    """The token the dashboard script sends, read where it reads it: the csrf-token meta tag."""
    return re.search(r'<meta name="csrf-token" content="([^"]+)">', client.get("/dashboard").content.decode()).group(1)


def create(client, **headers):
    return client.post("/verify/create", {"service": "telegram", "country": "US", "capability": "sms"},
                       content_type="application/json", headers=headers)


# --- escaping --------------------------------------------------------------------------------

def test_the_history_shows_a_hostile_sms_as_text(alice_client, html_sms):
    html = alice_client.get("/history").content.decode()
    assert ESCAPED in html
    assert not any(raw in html for raw in RAW)


def test_the_dashboard_hands_a_hostile_sms_to_its_script_as_inert_json(alice_client, html_sms):
    html = alice_client.get("/dashboard").content.decode()
    assert not any(raw in html for raw in RAW)
    data = re.search(r'<script id="active-data" type="application/json">(.*?)</script>', html, re.S).group(1)
    assert "\\u003Cscript\\u003E" in data  # json_script escapes <, > and & inside the JSON
    [card] = json.loads(data)
    assert card["messages"][0]["text"] == HTML_SMS and card["code"] == "424242"


def test_the_admin_shows_a_hostile_sms_as_text(client, staff, html_sms):
    client.force_login(staff)
    for url in (f"/admin/verifications/verification/{html_sms.pk}/change/", "/admin/verifications/verification/"):
        response = client.get(url)
        assert response.status_code == 200, url
        assert not any(raw in response.content.decode() for raw in RAW), url
    assert "&lt;script&gt;window.__pwned=1&lt;/script&gt;" in client.get(
        f"/admin/verifications/verification/{html_sms.pk}/change/").content.decode()


# --- CSRF on the JSON API with a session ----------------------------------------------------------

def test_the_api_refuses_a_session_purchase_without_the_csrf_header(shop, alice):
    fund(alice, "5.00")
    client = strict_client(alice)
    response = create(client)
    assert response.status_code == 403 and "CSRF" in response.json()["error"]["message"]
    assert not Verification.objects.exists() and balance(alice) == Decimal("5.00")


def test_the_api_accepts_a_session_purchase_with_the_page_token(shop, alice):
    fund(alice, "5.00")
    client = strict_client(alice)
    response = create(client, **{"X-CSRFToken": page_token(client), "Idempotency-Key": "intent-1"})
    assert response.status_code == 201
    assert Verification.objects.get().user == alice and balance(alice) == Decimal("4.00")


def test_the_api_refuses_a_session_cancel_or_report_without_the_csrf_header(shop, alice, settings):
    settings.MOCK_SMS_DELAY = 600
    fund(alice, "5.00")
    verification, _ = services.purchase(user=alice, service=shop["telegram"], country=shop["us"], capability="sms")
    client = strict_client(alice)
    assert client.delete(f"/verify/{verification.pk}").status_code == 403
    assert client.post(f"/verify/{verification.pk}/report").status_code == 403
    verification.refresh_from_db()
    assert verification.status == "pending" and not LedgerEntry.objects.filter(kind="refund").exists()
    response = client.delete(f"/verify/{verification.pk}", headers={"X-CSRFToken": page_token(client)})
    assert response.json() == {"id": str(verification.pk), "status": "cancelled", "refunded": "1.00", "balance": "5.00"}


def test_reading_pages_changes_nothing(alice_client, alice, shop):
    fund(alice, "5.00")
    before = (Verification.objects.count(), LedgerEntry.objects.count(), alice.api_keys.count())
    for url in PAGES + ["/history?status=pending&page=2", "/api-keys/create", "/logout"]:
        alice_client.get(url)
    assert (Verification.objects.count(), LedgerEntry.objects.count(), alice.api_keys.count()) == before
    assert alice_client.get("/dashboard").status_code == 200  # still signed in after GET /logout


# --- headers ------------------------------------------------------------------------------------

@pytest.mark.parametrize("url", PAGES)
def test_every_page_sends_a_strict_content_security_policy(alice_client, shop, url):
    response = (Client() if url in ("/login", "/register") else alice_client).get(url)
    assert response.status_code == 200
    policy = response["Content-Security-Policy"]
    assert "script-src 'self';" in policy and "style-src 'self';" in policy and "object-src 'none'" in policy
    assert "unsafe-inline" not in policy and "unsafe-eval" not in policy
    assert "frame-ancestors 'none'" in policy and response["X-Frame-Options"] == "DENY"
