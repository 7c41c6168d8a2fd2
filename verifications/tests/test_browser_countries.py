"""The dashboard in a real browser with DEBUG off against both fakes: each country's own price (never
below the serving provider's cost plus the margin), what is not sold there, and a UK number bought."""
import os

os.environ["DJANGO_ALLOW_ASYNC_UNSAFE"] = "true"  # as test_browser.py: Playwright's loop in this thread
from decimal import Decimal  # noqa: E402

import pytest  # noqa: E402

from verifications.models import Verification  # noqa: E402
from verifications.tests.lifecycle import fake_textverified, make_shop  # noqa: E402
from verifications.tests.routing_support import fake_smsactivate, sync_smsactivate  # noqa: E402
from verifications.tests.test_browser import browser, buy, choose, customer, field, log_in, page, pytestmark  # noqa: E402,F401


@pytest.fixture
def shop(transactional_db, settings):
    settings.DEBUG = False
    settings.MIN_MARGIN = Decimal("0.25")
    with fake_textverified(settings, sms_delay=0), fake_smsactivate(settings) as smsactivate:
        smsactivate.fake.set_offer(country=16, service="wa", price=Decimal("1.40"))  # dear in the UK
        shop = make_shop()
        sync_smsactivate()
        yield shop


def test_each_country_shows_its_own_price_and_sells_real_numbers(shop, page):  # noqa: F811 (the fixture)
    from playwright.sync_api import expect

    customer("uk@example.com", "10.00")
    log_in(page, "uk@example.com")
    choose(page, search="whats", service="whatsapp", country="US")
    expect(page.locator("#price")).to_have_text("$1.50")
    page.get_by_label("Country").select_option("GB")
    expect(page.locator("#price")).to_have_text("$1.65")  # 1.40 there, plus the margin
    expect(page.locator("#country-note")).to_be_hidden()  # a real provider: not simulated
    page.get_by_label("Voice call").check()
    expect(page.locator("#price")).to_have_text("not sold in GB now")
    expect(page.get_by_role("button", name="Create verification")).to_be_disabled()
    page.get_by_label("SMS", exact=True).check()
    card = buy(page, search="whats", service="whatsapp", country="GB")
    expect(field(card, "price")).to_contain_text("1.65")
    verification = Verification.objects.get()
    assert verification.provider == "smsactivate" and verification.phone_number.startswith("+447700900")
    assert verification.price == Decimal("1.65")
    assert not page.problems
