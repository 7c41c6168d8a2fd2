"""What the dashboard pages remember, in Chromium on a 375 px phone: a reload after creating an API
key creates no second key, the SMS/voice choice is the customer's and not a voice-only service's,
and a dismissed card stays dismissed after a reload and on another device."""
# The Chromium fixture and the browser mark (and skip without Chromium) of the main browser tests.
from verifications.tests.test_browser import browser, buy, customer, field, log_in, pytestmark  # noqa: F401

import re  # noqa: E402

import pytest  # noqa: E402

from accounts.models import ApiKey  # noqa: E402
from verifications import selectors  # noqa: E402
from verifications.models import Verification  # noqa: E402
from verifications.tests.lifecycle import make_shop  # noqa: E402

PHONE = {"width": 375, "height": 800}


@pytest.fixture
def shop(transactional_db, settings):
    settings.MOCK_SMS_DELAY = 0
    settings.MESSAGE_REFRESH_INTERVAL = 1
    return make_shop()


@pytest.fixture
def new_phone(browser, live_server, background_work):  # noqa: F811
    """Opens a page in a fresh browser context (another device, with its own cookies)."""
    from playwright.sync_api import expect

    expect.set_options(timeout=10_000)
    contexts = []

    def new_phone():
        context = browser.new_context(viewport=PHONE, base_url=live_server.url, locale="en-US",
                                      timezone_id="Europe/Paris")
        contexts.append(context)
        page = context.new_page()
        page.problems = []
        page.on("console", lambda msg: page.problems.append(msg.text) if msg.type == "error" else None)
        page.on("pageerror", lambda exc: page.problems.append(str(exc)))
        return page

    yield new_phone
    for context in contexts:
        context.close()


def test_a_reload_after_creating_a_key_creates_no_second_key(shop, new_phone):
    from playwright.sync_api import expect

    user = customer("reloader@example.com", None)
    page = new_phone()
    log_in(page, user.email)
    page.goto("/api-keys")
    page.get_by_label("Key name").fill("laptop")
    with page.expect_response(lambda r: r.url.endswith("/api-keys") and r.request.method == "GET") as shown:
        page.get_by_role("button", name="Create key").click()
    assert shown.value.status == 200 and shown.value.headers["cache-control"] == "no-store"
    assert page.url.endswith("/api-keys")  # the browser is on a GET, not on the POST
    key = page.locator("#new-key").inner_text()
    assert key.startswith("nmk_")
    page.reload()
    expect(page.locator("table.keys tbody tr")).to_have_count(1)
    expect(page.locator("#new-key")).to_have_count(0)  # shown once
    assert key not in page.content()
    page.go_back()
    expect(page.locator("#new-key")).to_have_count(0)  # not from the history either
    assert ApiKey.objects.filter(user=user).count() == 1
    assert page.problems == []


def test_a_voice_only_service_does_not_leave_later_purchases_on_voice(shop, new_phone):
    from playwright.sync_api import expect

    user = customer("switcher@example.com", "5.00")
    page = new_phone()
    log_in(page, user.email)
    sms, voice = page.get_by_label("SMS", exact=True), page.get_by_label("Voice call")
    page.get_by_label("Service", exact=True).select_option("paypal")  # sold for voice calls only
    expect(voice).to_be_checked()
    expect(sms).to_be_disabled()
    page.get_by_label("Service", exact=True).select_option("telegram")
    expect(sms).to_be_checked()  # back to the customer's choice
    sms_price = selectors.price(service=shop["telegram"], country=shop["us"], capability="sms")
    expect(page.locator("#price")).to_have_text(f"${sms_price}")
    page.get_by_role("button", name="Create verification").click()
    expect(page.locator(".card")).to_have_count(1)
    bought = Verification.objects.get(user=user)
    assert (bought.capability, bought.price) == ("sms", sms_price)

    # A customer who chose voice keeps voice across a voice-only service too.
    voice.check()
    page.get_by_label("Service", exact=True).select_option("paypal")
    page.get_by_label("Service", exact=True).select_option("whatsapp")
    expect(voice).to_be_checked()
    assert page.problems == []


def test_a_dismissed_card_stays_dismissed_after_a_reload_and_on_another_device(shop, new_phone):
    from playwright.sync_api import expect

    user = customer("tidy@example.com", "5.00")
    page = new_phone()
    log_in(page, user.email)
    done = buy(page, search="tele", service="telegram", country="GB")
    expect(field(done, "country")).to_have_text("🇬🇧 GB · United Kingdom")  # the code beside the flag
    expect(field(done, "code")).to_have_text(re.compile(r"^\d{6}$"), timeout=15_000)
    waiting = buy(page, search="pending", service="test-pending")
    expect(page.locator(".card")).to_have_count(2)
    expect(waiting.get_by_role("button", name="Dismiss")).to_be_hidden()  # still charged and waiting

    done = page.locator(".card").filter(has_text="Telegram")
    done.get_by_role("button", name="Dismiss").click()
    expect(page.locator(".card")).to_have_count(1)
    telegram = Verification.objects.get(user=user, service=shop["telegram"])
    assert telegram.dismissed_at is not None and telegram.status == "completed"

    page.reload()  # the completed number still receives SMS, but its card was dismissed
    expect(page.locator(".card")).to_have_count(1)
    expect(page.locator(".card").first).to_contain_text("test_pending")
    other = new_phone()
    log_in(other, user.email)
    expect(other.locator(".card")).to_have_count(1)
    other.goto("/history")
    expect(other.locator("table.history tbody tr").filter(has_text="Telegram")).to_have_count(1)
    assert page.problems == [] and other.problems == []
