"""Builders for the lifecycle and API tests: a small shop on the real mock provider."""
from __future__ import annotations

from decimal import Decimal

from contextlib import contextmanager

from django.db.models import F
from rest_framework.test import APIClient

from accounts import services as accounts
from verifications import polling
from verifications.models import Country, PricingTier, Service, Verification

SCENARIOS = ["test_pending", "test_no_numbers", "test_unavailable", "test_timeout", "test_two_codes", "test_html_sms",
             "test_insufficient_balance"]


def make_shop() -> dict:
    """Tiers at the seed's prices, WhatsApp (Premium) and Telegram (Standard), test-mode services, US + GB."""
    standard = PricingTier.objects.create(name="Standard", sms_price=Decimal("1.00"), order=2)
    premium = PricingTier.objects.create(name="Premium", sms_price=Decimal("1.50"), order=3)
    shop = {
        "telegram": Service.objects.create(slug="telegram", name="Telegram", provider_service_name="telegram", tier=standard),
        "whatsapp": Service.objects.create(slug="whatsapp", name="WhatsApp", provider_service_name="whatsapp", tier=premium),
        "paypal": Service.objects.create(slug="paypal", name="PayPal", provider_service_name="paypal", tier=premium,
                                         supports_sms=False),
        "us": Country.objects.create(code="US", name="United States", dialling_code="+1", provider="textverified", order=0),
        "gb": Country.objects.create(code="GB", name="United Kingdom", dialling_code="+44", provider="mock", order=1),
    }
    for name in SCENARIOS:
        shop[name] = Service.objects.create(slug=name.replace("_", "-"), name=name, provider_service_name=name, tier=standard)
    return shop


def rewrite(verification, **fields) -> None:
    """Put a verification in a state no service reaches in a test's time (past its expiry, say) the
    way the services write: the version bumped in the UPDATE, the cached poll answer replaced."""
    Verification.objects.filter(pk=verification.pk).update(**fields, version=F("version") + 1)
    polling.changed(verification.pk, capability=verification.capability)


def fund(user, amount: str) -> None:
    accounts.credit(user=user, amount=amount, memo="test funds")


def api_for(user) -> APIClient:
    client = APIClient()
    client.force_authenticate(user)
    return client


def balance(user) -> Decimal:
    user.account.refresh_from_db()
    return user.account.balance


FAKE_KEY, FAKE_EMAIL = "lifecycle-key", "ops@example.com"


@contextmanager
def fake_textverified(settings, **options):
    """The fake TextVerified over HTTP, with the settings pointing the real client at it."""
    from fakes.textverified import start_fake_server

    settings.PROVIDER = "textverified"
    settings.TEXTVERIFIED_API_KEY, settings.TEXTVERIFIED_EMAIL = FAKE_KEY, FAKE_EMAIL
    server = start_fake_server(api_key=FAKE_KEY, username=FAKE_EMAIL, **options)
    settings.TEXTVERIFIED_BASE_URL = server.base_url
    try:
        yield server
    finally:
        server.stop()


def run_checks(*verifications) -> dict:
    """What the workers do each interval, now: the given verifications (all open ones when none is
    given) fall due, and the dispatcher claims and checks them (tasks run eagerly in unit tests).
    Returns the dispatched count."""
    from django.utils import timezone

    from verifications.tasks import dispatch_checks

    due = Verification.objects.exclude(next_check_at=None)
    if verifications:
        due = due.filter(pk__in=[v.pk for v in verifications])
    due.update(next_check_at=timezone.now())
    return dispatch_checks()
