"""UK and Indian purchases end to end through the real SMS-Activate-protocol client against the fake
provider: the number in that country's format, the SMS code, cancel given back upstream (setStatus 8)
and refunded once."""
import re
from decimal import Decimal

import pytest

from accounts.models import LedgerEntry
from verifications.models import Country, ProviderOffer, Verification
from verifications.tests.lifecycle import api_for, balance, fund, make_shop
from verifications.tests.routing_support import activation, fake_smsactivate, sync_smsactivate

# The fake's ranges: UK mobiles in Ofcom's drama range 07700 900xxx, Indian mobiles 90000 xxxxx.
FORMATS = {"GB": r"\+447700900\d{3}", "IN": r"\+9190000\d{5}"}


@pytest.fixture
def fake(settings, db):
    settings.PROVIDER = "textverified"  # the primary sells no UK or Indian numbers: these go to the second
    settings.TEXTVERIFIED_API_KEY, settings.TEXTVERIFIED_EMAIL = "unused", "unused@example.com"
    with fake_smsactivate(settings) as server:
        yield server


@pytest.fixture
def shop(fake):
    shop = make_shop()
    sync_smsactivate()
    return shop


def create(api, *, country, service="whatsapp"):
    return api.post("/verify/create", {"service": service, "country": country, "capability": "sms"}, format="json")


@pytest.mark.parametrize("country", ["GB", "IN"])
def test_a_purchase_gets_a_number_of_that_country_and_its_code(fake, shop, alice, country):
    fund(alice, "5.00")
    api = api_for(alice)
    body = create(api, country=country).json()
    assert body["status"] == "pending" and re.fullmatch(FORMATS[country], body["phone_number"]), body
    verification = Verification.objects.get(pk=body["id"])
    assert verification.provider == "smsactivate" and verification.country.code == country
    upstream = activation(fake, verification)
    assert "+" + upstream.phone == body["phone_number"] and upstream.service == "wa"
    assert upstream.country == Country.objects.get(code=country).protocol_id

    fake.fake.deliver_sms(upstream.id, text="Your WhatsApp code is 482-913", code="482913")
    messages = api.get(f"/verify/{body['id']}/messages?refresh=1").json()
    assert messages["status"] == "completed" and messages["code"] == "482913"
    assert messages["messages"][0]["text"] == "Your WhatsApp code is 482-913"
    assert balance(alice) == Decimal("5.00") - Decimal(body["price"])


@pytest.mark.parametrize("country", ["GB", "IN"])
def test_cancel_gives_the_number_back_upstream_and_refunds_once(fake, shop, alice, country):
    fund(alice, "5.00")
    api = api_for(alice)
    body = create(api, country=country, service="telegram").json()
    verification = Verification.objects.get(pk=body["id"])
    before = fake.fake.balance
    answer = api.delete(f"/verify/{body['id']}")
    assert answer.status_code == 200 and answer.json()["refunded"] == body["price"]
    upstream = activation(fake, verification)
    assert upstream.status == "cancelled" and fake.fake.balance == before + upstream.cost  # setStatus 8 upstream
    assert any(seen.action == "setStatus" for seen in fake.fake.seen)
    assert api.delete(f"/verify/{body['id']}").status_code == 409
    assert balance(alice) == Decimal("5.00")
    assert LedgerEntry.objects.filter(verification=verification, kind="refund").count() == 1


def test_the_price_is_the_tier_price_or_the_cost_there_plus_the_margin(fake, shop, alice, settings, client):
    settings.MIN_MARGIN = Decimal("0.25")
    fake.fake.set_offer(country=16, service="wa", price=Decimal("1.40"))  # dearer than the tier's 1.50 allows
    sync_smsactivate()
    assert ProviderOffer.objects.get(provider="smsactivate", country__code="GB", service__slug="whatsapp").cost == \
        Decimal("1.40")
    api = api_for(alice)
    quote = api.get("/pricing/quote", {"service": "whatsapp", "country": "GB", "capability": "sms"}).json()
    assert quote["price"] == "1.65"
    assert api.get("/pricing/quote", {"service": "whatsapp", "country": "IN", "capability": "sms"}).json()["price"] \
        == "1.50"  # India's cost (0.27) leaves the tier price standing
    services = {row["slug"]: row for row in api.get("/services", {"country": "GB"}).json()}
    assert services["whatsapp"]["prices"]["sms"] == "1.65" and services["telegram"]["prices"]["sms"] == "1.00"
    assert services["whatsapp"]["prices"]["voice"] is None  # the second provider prices SMS only
    assert api.get("/services").json()[0]["prices"]["sms"]  # without a country: the tier prices, as before
    assert api.get("/services", {"country": "XX"}).status_code == 400
    table = client.get("/stubs/handler_api.php", {"action": "getPrices", "service": "whatsapp"}).json()
    gb = Country.objects.get(code="GB").protocol_id
    stock = fake.fake.offers[(16, "wa")][1]
    assert table[str(gb)]["whatsapp"] == {"cost": 1.65, "count": min(100, stock), "physicalCount": min(100, stock)}
    fake.fake.set_offer(country=16, service="wa", stock=0)
    sync_smsactivate()
    assert client.get("/stubs/handler_api.php", {"action": "getPrices", "service": "whatsapp",
                                                 "country": gb}).json()[str(gb)]["whatsapp"]["count"] == 0
    fake.fake.set_offer(country=16, service="wa", stock=5)
    sync_smsactivate()
    fund(alice, "5.00")
    body = create(api, country="GB").json()
    assert body["price"] == "1.65" and balance(alice) == Decimal("3.35")
    assert activation(fake, Verification.objects.get(pk=body["id"])).cost == Decimal("1.40")
    assert fake.fake.seen[-1].action == "getNumberV2"  # we offered to pay 1.40 (1.65 less the margin)


def test_a_lost_purchase_answer_is_not_passed_on_and_nothing_stays_charged(fake, shop, alice, settings):
    from fakes.smsactivate.faults import Fault

    fund(alice, "5.00")
    fake.fake.add_fault(Fault(action="getNumberV2", drop=True))  # bought upstream, the answer never came
    response = create(api_for(alice), country="GB")
    assert response.status_code == 503 and response.json()["error"]["code"] == "lost_answer"
    verification = Verification.objects.get()
    assert verification.status == "failed" and verification.provider == "smsactivate"
    assert balance(alice) == Decimal("5.00")


@pytest.mark.parametrize("order_id, found_by", [(True, "order_id"), (False, "active_activations")])
def test_a_lost_answers_number_is_found_and_given_back_once(fake, shop, alice, settings, order_id, found_by,
                                                           django_capture_on_commit_callbacks):
    from django.core.management import call_command

    from fakes.smsactivate.faults import Fault

    # Without orderId (a provider that ignores it) the open activations are searched: nothing is bought again.
    settings.SMSACTIVATE_ORDER_ID = order_id
    fund(alice, "5.00")
    fake.fake.add_fault(Fault(action="getNumberV2", drop=True))
    with django_capture_on_commit_callbacks(execute=True):  # the give-back task runs (eagerly)
        assert create(api_for(alice), country="IN").status_code == 503
    [rented] = fake.fake.activations.values()  # bought upstream, unknown to us
    assert fake.fake.activation(rented.id).status == "cancelled"  # the orphan task gave it back at once
    assert len(fake.fake.activations) == 1  # found among the open ones, not bought again
    verification = Verification.objects.get()
    assert verification.orphan_check_at is None
    assert f"orphan: {rented.id} given back upstream ({found_by})" in verification.status_reason
    call_command("reconcile")  # nothing waits any more: no second give-back, no second refund
    assert balance(alice) == Decimal("5.00")
    assert LedgerEntry.objects.filter(verification=verification, kind="refund").count() == 1
