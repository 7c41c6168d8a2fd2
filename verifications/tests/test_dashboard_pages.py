"""The dashboard's HTML pages: landing, dashboard, history, transactions (the Django test client).

The buttons themselves are exercised in a real browser by test_browser.py.
"""
import json
import re
import uuid
from datetime import timedelta
from decimal import Decimal

import pytest
from django.utils import timezone

from accounts import services as accounts
from verifications import selectors, services
from verifications.models import Message, PricingSettings, Verification, VoiceCall
from verifications.tests.lifecycle import make_shop


@pytest.fixture
def shop(db):
    return make_shop()


def verification(user, shop, *, service="telegram", country="us", status="pending", capability="sms",
                 minutes_left=15, **fields) -> Verification:
    """A verification row as the purchase leaves it (charging is the money tests' business)."""
    return Verification.objects.create(
        user=user, service=shop[service], country=shop[country], capability=capability, provider="mock",
        provider_ref=f"mock-{uuid.uuid4().hex}", phone_number="+12125550123", status=status,
        price=selectors.price(service=shop[service], country=shop[country], capability=capability),
        expires_at=timezone.now() + timedelta(minutes=minutes_left), **fields,
    )


def sms(v: Verification, text: str, code: str = "") -> Message:
    return Message.objects.create(verification=v, provider="mock", provider_message_id=uuid.uuid4().hex,
                                  sender="12345", text=text, code=code, received_at=timezone.now())


def active_cards(response) -> list[dict]:
    html = response.content.decode()
    match = re.search(r'<script id="active-data" type="application/json">(.*?)</script>', html, re.S)
    return json.loads(match.group(1))


def rows(response) -> int:
    return response.content.decode().count('<tr>\n        <td><time')


# --- landing --------------------------------------------------------------------------------------

def test_the_landing_page_says_what_it_is_and_shows_the_catalogue_prices(client, shop):
    response = client.get("/")
    html = response.content.decode()
    assert response.status_code == 200
    assert "Receive verification codes on a temporary number" in html
    assert 'href="/register"' in html and "Create a free account" in html
    for row in selectors.service_catalogue():
        assert f"<th scope=\"row\">{row['name']}</th>" in html
    # WhatsApp is Premium: $1.50 by SMS, $1.80 by voice; PayPal is voice only.
    assert re.search(r"WhatsApp</th>\s*<td>\$1\.50</td>\s*<td>\$1\.80</td>", html)
    assert re.search(r"PayPal</th>\s*<td><span class=\"muted\">—</span></td>\s*<td>\$1\.80</td>", html)
    assert html.index(">Standard</th>") < html.index(">Premium</th>")


def test_the_landing_page_offers_the_dashboard_to_a_signed_in_customer(alice_client, shop):
    html = alice_client.get("/").content.decode()
    assert "Open your dashboard" in html and "Create a free account" not in html


def test_the_landing_page_has_an_empty_state(client, db):
    assert "No services are on sale right now." in client.get("/").content.decode()


# --- dashboard ------------------------------------------------------------------------------------

def test_the_dashboard_offers_enabled_services_by_tier_with_the_one_price(alice_client, shop):
    shop["telegram"].enabled = False
    shop["telegram"].save()
    html = alice_client.get("/dashboard").content.decode()
    groups = re.findall(r'<optgroup label="([^"]+)">', html)
    assert groups == ["Standard", "Premium"]
    assert 'value="telegram"' not in html
    whatsapp = re.search(r'<option value="whatsapp"[^>]*>[^<]*</option>', html).group(0)
    sms_price = selectors.price(service=shop["whatsapp"], country=shop["us"], capability="sms")
    voice_price = selectors.price(service=shop["whatsapp"], country=shop["us"], capability="voice")
    assert f'data-sms="{sms_price}"' in whatsapp and f'data-voice="{voice_price}"' in whatsapp
    assert whatsapp.endswith(f"WhatsApp — ${sms_price}</option>")
    paypal = re.search(r'<option value="paypal"[^>]*>[^<]*</option>', html).group(0)
    assert 'data-sms=""' in paypal and "voice only, $1.80" in paypal
    assert "(+$0.30)" in html  # the voice premium next to the radio


def test_the_dashboard_offers_enabled_countries_with_flag_dialling_code_and_simulated_mark(alice_client, shop):
    shop["gb"].enabled = False
    shop["gb"].save()
    html = alice_client.get("/dashboard").content.decode()
    assert re.findall(r'<option value="([A-Z]{2})"', html) == ["US"]
    assert "🇺🇸 US · United States (+1) · simulated</option>" in html  # every country is the mock's in tests
    assert 'data-simulated="1"' in html


def test_the_dashboard_lists_the_verifications_still_in_use(alice_client, alice, bob, shop):
    pending = verification(alice, shop)
    receiving = verification(alice, shop, status="completed", service="whatsapp", capability="voice")
    VoiceCall.objects.create(verification=receiving, provider="mock", provider_call_id="c1", caller="+14045550100",
                             recording_uri="https://recordings.example/c1.mp3", recording_state="available",
                             recording="recordings/c1.mp3", transcription="Your code is 1 2 3 4 5 6",
                             transcription_state="done", code="123456", code_confidence="confident",
                             received_at=timezone.now())
    verification(alice, shop, status="completed", minutes_left=-1)  # number no longer receives
    verification(alice, shop, status="cancelled")
    verification(bob, shop)
    cards = active_cards(alice_client.get("/dashboard"))
    assert [c["id"] for c in cards] == [str(receiving.pk), str(pending.pk)]
    voice = cards[0]
    assert (voice["service_name"], voice["country_label"], voice["capability"], voice["price"], voice["code"]) == (
        "WhatsApp", "🇺🇸 US · United States", "voice", "1.80", "123456")
    call = VoiceCall.objects.get(verification=receiving)
    assert voice["calls"][0]["recording_url"] == f"/verify/{receiving.pk}/calls/{call.pk}/recording"
    assert cards[1]["messages"] == [] and cards[1]["code"] is None and cards[1]["phone_number"] == "+12125550123"


def test_the_card_shows_the_latest_code(alice_client, alice, shop):
    v = verification(alice, shop, status="completed")
    sms(v, "Your code is 111111", "111111")
    sms(v, "Your code is 222222", "222222")
    [card] = active_cards(alice_client.get("/dashboard"))
    assert card["code"] == "222222" and [m["code"] for m in card["messages"]] == ["111111", "222222"]


def test_the_dashboard_has_empty_states(alice_client, db):
    html = alice_client.get("/dashboard").content.decode()
    assert "No services or countries are on sale right now." in html
    assert '<p id="cards-empty" class="empty">No active verification.' in html


def test_the_dashboard_costs_the_same_queries_for_one_card_or_twenty(alice_client, alice, shop,
                                                                     django_assert_max_num_queries):
    PricingSettings.current()  # the singleton exists in any real database (created by the first price)
    for n in range(20):
        sms(verification(alice, shop, status="completed" if n % 2 else "pending"), f"Code {n:06d}", f"{n:06d}")
    # Five of them price every service in every country (routes, offers, the premium, the rows), once.
    with django_assert_max_num_queries(15):
        response = alice_client.get("/dashboard")
    assert len(active_cards(response)) == 20


def test_the_dashboard_loads_only_its_own_static_files(alice_client, shop):
    response = alice_client.get("/dashboard")
    html = response.content.decode()
    assert re.findall(r'<script src="([^"]+)"', html) == [
        "/static/js/app.js", "/static/js/inbox.js", "/static/js/dashboard.js"]
    assert re.findall(r"<script(?![^>]*(?:src=|application/json))", html) == []  # no inline script
    assert 'style="' not in html and "http://" not in html and "https://" not in html  # works offline


# --- history --------------------------------------------------------------------------------------

def test_the_history_lists_my_verifications_newest_first_with_their_codes(alice_client, alice, bob, shop):
    old = verification(alice, shop, status="completed", created_at=timezone.now() - timedelta(hours=1))
    sms(old, "Telegram code 123456", "123456")
    verification(alice, shop, service="whatsapp", status="cancelled", refunded_at=timezone.now())
    verification(bob, shop, service="paypal", capability="voice")
    html = alice_client.get("/history").content.decode()
    assert html.index("WhatsApp") < html.index("Telegram<br>")
    assert "123456" in html and "Telegram code 123456" in html and "refunded" in html
    assert "PayPal<br>" not in html
    assert "2 verifications." in html


def test_the_history_filters_by_status_and_service(alice_client, alice, shop):
    verification(alice, shop, status="completed")
    verification(alice, shop, status="cancelled")
    verification(alice, shop, service="whatsapp", status="completed")
    assert rows(alice_client.get("/history?status=completed")) == 2
    assert rows(alice_client.get("/history?service=telegram")) == 2
    both = alice_client.get("/history?status=completed&service=whatsapp").content.decode()
    assert rows(alice_client.get("/history?status=completed&service=whatsapp")) == 1
    assert '<option value="completed" selected>' in both and '<option value="whatsapp" selected>' in both
    assert rows(alice_client.get("/history?status=nonsense")) == 3  # an unknown status is no filter
    assert "No verification matches these filters." in alice_client.get("/history?status=expired").content.decode()


def test_the_history_is_paginated_and_keeps_the_filters(alice_client, alice, shop):
    for n in range(25):
        verification(alice, shop, status="completed", created_at=timezone.now() - timedelta(minutes=n))
    verification(alice, shop, status="cancelled")
    first = alice_client.get("/history?status=completed")
    assert rows(first) == 20 and "Page 1 of 2" in first.content.decode()
    assert 'href="?status=completed&amp;page=2" rel="next"' in first.content.decode()
    second = alice_client.get("/history?status=completed&page=2")
    assert rows(second) == 5 and "Page 2 of 2" in second.content.decode()
    assert rows(alice_client.get("/history?status=completed&page=99")) == 5  # past the end: the last page


def test_the_history_has_an_empty_state(alice_client, db):
    assert "No verifications yet." in alice_client.get("/history").content.decode()


def test_the_history_costs_the_same_queries_for_a_full_page(alice_client, alice, shop, django_assert_max_num_queries):
    for n in range(30):
        v = verification(alice, shop, capability="voice" if n % 3 == 0 else "sms")
        sms(v, f"Code {n:06d}", f"{n:06d}")
    with django_assert_max_num_queries(10):
        assert rows(alice_client.get("/history")) == 20


# --- transactions ---------------------------------------------------------------------------------

def test_the_transactions_page_is_my_ledger_newest_first(alice_client, alice, bob):
    accounts.credit(user=alice, amount="10.00", memo="bank transfer 42")
    accounts.credit(user=alice, amount="2.50", memo="goodwill")
    accounts.credit(user=bob, amount="99.00", memo="bob's money")
    html = alice_client.get("/transactions").content.decode()
    assert html.index("goodwill") < html.index("bank transfer 42")
    assert "+2.50" in html and "12.50" in html and "bob&#x27;s money" not in html and "99.00" not in html


def test_the_transactions_page_names_the_verification_behind_a_charge_or_refund(alice_client, alice, shop, settings):
    settings.MOCK_SMS_DELAY = 600
    accounts.credit(user=alice, amount="5.00", memo="bank transfer")
    v, _ = services.purchase(user=alice, service=shop["whatsapp"], country=shop["us"], capability="voice")
    services.cancel(verification=v)
    html = alice_client.get("/transactions").content.decode()
    assert html.count(f'WhatsApp · Voice · <span class="mono">{v.phone_number}</span>') == 2
    assert "-1.80" in html and "+1.80" in html and "</span> — cancelled</td>" in html


def test_the_transactions_page_is_paginated_with_constant_queries(alice_client, alice, shop, settings,
                                                                   django_assert_max_num_queries):
    settings.MOCK_SMS_DELAY = 600
    for n in range(40):
        accounts.credit(user=alice, amount="1.00", memo=f"top-up {n}")
    for _ in range(5):  # charges name their verification: joined, not one query per row
        services.purchase(user=alice, service=shop["telegram"], country=shop["us"], capability="sms")
    with django_assert_max_num_queries(8):
        first = alice_client.get("/transactions")
    assert rows(first) == 20 and "Page 1 of 3" in first.content.decode()
    assert first.content.decode().count("Telegram · SMS") == 5
    assert rows(alice_client.get("/transactions?page=3")) == 5
    alice.account.refresh_from_db()
    assert alice.account.balance == Decimal("35.00")


def test_the_transactions_page_has_an_empty_state(alice_client, db):
    assert "No transactions yet." in alice_client.get("/transactions").content.decode()
