"""The dashboard in a real browser: Debian's Chromium, driven by Playwright, against live_server.

Every button a customer presses is pressed here, on the real mock provider, and the result is
checked both on the page and in the database. Screenshots of the main states are saved under
artifacts/screenshots/ (git-ignored). The README's picture, docs/dashboard.png, is made from the
demo catalogue by test_docs_screenshot.py, never from this shop's test-mode services.
"""
import os

# Playwright's sync API runs an event loop in this thread; the ORM calls made by the test itself
# (creating users, reading results) are synchronous and safe.
os.environ["DJANGO_ALLOW_ASYNC_UNSAFE"] = "true"

import hashlib  # noqa: E402
import re  # noqa: E402
from decimal import Decimal  # noqa: E402
from pathlib import Path  # noqa: E402

import pytest  # noqa: E402
from django.conf import settings as django_settings  # noqa: E402

from accounts import services as accounts  # noqa: E402
from accounts.models import ApiKey, LedgerEntry, User  # noqa: E402
from providers.simulation import HTML_SMS  # noqa: E402
from verifications import selectors  # noqa: E402
from verifications.models import Verification, VoiceCall  # noqa: E402
from verifications.tests.lifecycle import make_shop  # noqa: E402

CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update",
                 "--no-first-run", "--disable-sync"]
SCREENSHOTS = Path(django_settings.BASE_DIR) / "artifacts" / "screenshots"
PASSWORD = "a-long-and-unusual-passphrase"
SMS_WAIT = 15_000  # ms: the mock's SMS comes MOCK_SMS_DELAY (1 s) after purchase, read on the next poll

pytestmark = [
    pytest.mark.browser,
    pytest.mark.skipif(not Path(CHROMIUM).exists(),
                       reason="browser tests need Debian's Chromium at /usr/bin/chromium: apt-get install chromium"),
]


@pytest.fixture(scope="module")
def browser():
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, headless=True, args=CHROMIUM_ARGS)
        yield browser
        browser.close()


@pytest.fixture
def shop(transactional_db, settings):
    settings.MOCK_SMS_DELAY = 1
    settings.MESSAGE_REFRESH_INTERVAL = 1
    return make_shop()


@pytest.fixture
def page(browser, live_server, background_work):
    from playwright.sync_api import expect

    expect.set_options(timeout=10_000)
    context = browser.new_context(viewport={"width": 1280, "height": 900}, base_url=live_server.url,
                                  locale="en-US", timezone_id="Europe/Paris")
    context.grant_permissions(["clipboard-read", "clipboard-write"], origin=live_server.url)
    page = context.new_page()
    problems = []
    # A CSP violation or a script error shows up here: the page must run clean.
    page.on("console", lambda msg: problems.append(msg.text) if msg.type == "error" else None)
    page.on("pageerror", lambda exc: problems.append(str(exc)))
    page.problems = problems
    yield page
    context.close()


def shoot(page, name: str) -> None:
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(SCREENSHOTS / f"{name}.png"), full_page=True)


def customer(email: str, balance: str | None) -> User:
    user = accounts.register(email=email, password=PASSWORD)
    if balance:
        accounts.credit(user=user, amount=balance, memo="browser test funds")
    return user


def log_in(page, email: str) -> None:
    page.goto("/login")
    page.get_by_label("Email").fill(email)
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Log in").click()
    page.wait_for_url(re.compile(r"/dashboard$"))


def choose(page, *, search: str, service: str, country: str = "US", capability: str = "sms") -> None:
    page.get_by_label("Find a service").fill(search)
    page.get_by_label("Service", exact=True).select_option(service)
    page.get_by_label("Country").select_option(country)
    page.locator(f'input[name="capability"][value="{capability}"]').check()


def buy(page, **choice):
    """Create a verification; returns its card (new cards come first)."""
    before = page.locator(".card").count()
    choose(page, **choice)
    page.get_by_role("button", name="Create verification").click()
    from playwright.sync_api import expect

    expect(page.locator(".card")).to_have_count(before + 1)
    return page.locator(".card").first


def field(card, name):
    return card.locator(f'[data-field="{name}"]')


def test_it_registers_logs_in_buys_copies_reads_codes_and_cancels(shop, page, live_server):
    from playwright.sync_api import expect

    email = "walter@example.com"
    page.goto("/")
    expect(page.get_by_role("heading", level=1)).to_contain_text("verification codes")
    shoot(page, "01-landing")
    page.get_by_role("link", name="Create a free account").click()
    page.get_by_label("Email").fill(email)
    page.get_by_label("Password", exact=True).fill(PASSWORD)
    page.get_by_label("Password (again)").fill(PASSWORD)
    page.get_by_role("button", name="Sign up").click()
    page.wait_for_url(re.compile(r"/dashboard$"))
    user = User.objects.get(email=email)
    accounts.credit(user=user, amount="10.00", memo="browser test funds")

    page.get_by_role("button", name="Log out").click()
    page.wait_for_url(live_server.url + "/")
    expect(page.get_by_text("You are signed out.")).to_be_visible()
    expect(page.locator("#balance")).to_have_count(0)
    log_in(page, email)
    expect(page.locator("#balance")).to_have_text("$10.00")

    # Service by typing, grouped by tier; country with its flag; voice: the price is the catalogue's.
    page.get_by_label("Find a service").fill("tele")
    expect(page.get_by_label("Service", exact=True)).to_have_value("telegram")
    page.get_by_label("Country").select_option("GB")
    expect(page.locator("#country-note")).to_be_visible()  # the mock's countries say they are simulated
    expect(page.locator("#country option[value=GB]")).to_contain_text("🇬🇧 GB · United Kingdom (+44)")
    page.get_by_label("Voice call").check()
    voice_price = selectors.price(service=shop["telegram"], country=shop["gb"], capability="voice")
    expect(page.locator("#price")).to_have_text(f"${voice_price}")
    page.get_by_label("SMS", exact=True).check()
    sms_price = selectors.price(service=shop["telegram"], country=shop["gb"], capability="sms")
    expect(page.locator("#price")).to_have_text(f"${sms_price}")
    page.get_by_label("Voice call").check()
    expect(page.locator("#price")).to_have_text("$1.30")
    shoot(page, "02-new-verification")

    page.evaluate("window.__sameDocument = true")  # gone if anything reloads the page
    page.get_by_role("button", name="Create verification").click()
    voice_card = page.locator(".card").first
    expect(field(voice_card, "e164")).to_have_text(re.compile(r"^\+447700900\d{3}$"))  # Ofcom's drama range
    voice = Verification.objects.get(user=user)
    assert (voice.capability, voice.price, voice.country_id) == ("voice", voice_price, shop["gb"].pk)
    number = voice.phone_number
    expect(field(voice_card, "e164")).to_have_text(number)
    expect(field(voice_card, "national")).to_have_text(f"0{number[3:7]} {number[7:]}")  # 07700 900123
    expect(page.locator("#balance")).to_have_text("$8.70")
    expect(field(voice_card, "countdown")).to_contain_text("Expires in")

    copy = voice_card.get_by_role("button", name="Copy the number in international (E.164) format")
    copy.click()
    expect(copy).to_have_text("Copied")
    assert page.evaluate("navigator.clipboard.readText()") == number

    # The call arrives by itself with the mock's real recording, which we fetch and transcribe: the
    # player plays our copy, and nothing offers a refund of a delivered call. No reload.
    call = voice_card.locator('[data-field="calls"] li').first
    expect(call.locator("audio")).to_have_attribute("src", re.compile(r"^/verify/[0-9a-f-]{36}/calls/\d+/recording$"),
                                                    timeout=SMS_WAIT)
    expect(field(voice_card, "status")).to_have_text("Code received", timeout=SMS_WAIT)
    expect(call.locator(".call-state")).not_to_contain_text("transcribing", timeout=SMS_WAIT)
    expect(call).to_contain_text("from ")
    expect(voice_card.get_by_role("button", name="Cancel & refund")).to_be_hidden()
    expect(voice_card.get_by_role("button", name="Report number")).to_be_enabled()  # stays after delivery
    expect(field(voice_card, "waiting")).to_be_hidden()
    heard = VoiceCall.objects.get(verification=voice)
    if heard.code_confidence == "confident":
        expect(field(voice_card, "code")).to_have_text(heard.code)
        voice_card.get_by_role("button", name="Copy the code").click()
        assert page.evaluate("navigator.clipboard.readText()") == heard.code
    elif heard.code_confidence == "uncertain":
        expect(call).to_contain_text("We're not sure — listen to the recording")
        expect(call.locator(".call-guess")).to_have_text(f"Our best guess: {heard.code}")
    else:
        expect(call.locator(".call-state")).to_contain_text("listen to the recording")

    # An SMS verification: the mock's SMS arrives and its code shows without a reload.
    sms_card = buy(page, search="", service="telegram", country="US", capability="sms")
    expect(field(sms_card, "status")).to_have_text("Waiting for the code")
    expect(field(sms_card, "waiting")).to_be_visible()
    shoot(page, "03-waiting-for-sms")
    expect(field(sms_card, "code")).to_have_text(re.compile(r"^\d{6}$"), timeout=SMS_WAIT)
    sms = Verification.objects.filter(user=user, capability="sms").get()
    assert field(sms_card, "code").inner_text() == sms.messages.get().code
    expect(sms_card.locator('[data-field="messages"] .sms-text')).to_contain_text(sms.messages.get().code)
    assert page.evaluate("window.__sameDocument") is True
    expect(page.locator("#balance")).to_have_text("$7.70")
    polls = []
    page.on("request", lambda request: polls.append(request.url) if "/messages" in request.url else None)
    page.wait_for_timeout(2500)  # 2.5 poll intervals: a final card asks nothing more
    assert polls == []
    shoot(page, "04-code-received")

    # Cancel a second one that never gets an SMS: confirm, refunded amount and the new balance.
    pending_card = buy(page, search="pending", service="test-pending")
    expect(page.locator("#balance")).to_have_text("$6.70")
    dialogs = []
    page.once("dialog", lambda dialog: (dialogs.append(dialog.message), dialog.accept()))
    pending_card.get_by_role("button", name="Cancel & refund").click()
    expect(field(pending_card, "result")).to_have_text("Cancelled: $1.00 refunded. New balance $7.70.")
    expect(page.locator("#balance")).to_have_text("$7.70")
    expect(field(pending_card, "status")).to_have_text("Cancelled")
    assert "refund $1.00" in dialogs[0]
    cancelled = Verification.objects.get(user=user, service=shop["test_pending"])
    assert cancelled.status == "cancelled" and cancelled.refunded_at is not None
    assert LedgerEntry.objects.filter(verification=cancelled, kind="refund").get().amount == Decimal("1.00")
    user.account.refresh_from_db()
    assert user.account.balance == Decimal("7.70")

    page.get_by_label("Find a service").fill("")
    page.get_by_label("Service", exact=True).select_option("whatsapp")
    shoot(page, "05-dashboard")
    assert page.problems == []


def test_it_reports_a_number_and_a_reload_keeps_the_active_cards(shop, page):
    from playwright.sync_api import expect

    user = customer("rosa@example.com", "5.00")
    log_in(page, user.email)
    card = buy(page, search="pending", service="test-pending")
    page.once("dialog", lambda dialog: dialog.dismiss())  # "no" to the confirm: nothing happens
    card.get_by_role("button", name="Report number").click()
    expect(field(card, "status")).to_have_text("Waiting for the code")
    assert Verification.objects.get(user=user).status == "pending"

    page.reload()  # the dashboard lists the pending verification on load
    card = page.locator(".card").first
    expect(field(card, "e164")).to_have_text(Verification.objects.get(user=user).phone_number)
    with page.expect_request(re.compile(r"/verify/[0-9a-f-]+/messages\?refresh=1$")):
        card.get_by_role("button", name="Check messages").click()
    page.once("dialog", lambda dialog: dialog.accept())
    card.get_by_role("button", name="Report number").click()
    expect(field(card, "result")).to_have_text("Reported: $1.00 refunded. New balance $5.00.")
    expect(page.locator("#balance")).to_have_text("$5.00")
    assert Verification.objects.get(user=user).status == "failed"
    card.get_by_role("button", name="Dismiss").click()
    expect(page.locator(".card")).to_have_count(0)
    expect(page.locator("#cards-empty")).to_be_visible()
    assert page.problems == []


def test_the_countdown_runs_out_and_the_card_shows_the_refund(shop, page, settings):
    from playwright.sync_api import expect

    settings.MOCK_VERIFICATION_LIFETIME = 4  # seconds
    user = customer("late@example.com", "5.00")
    log_in(page, user.email)
    card = buy(page, search="pending", service="test-pending")
    expect(field(card, "countdown")).to_have_text(re.compile(r"^Expires in 0:0[1-4] \(at "))
    expect(page.locator("#balance")).to_have_text("$4.00")
    expect(field(card, "status")).to_have_text("Expired", timeout=SMS_WAIT)
    expect(field(card, "result")).to_have_text("Expired without a code: the $1.00 was refunded.")
    expect(page.locator("#balance")).to_have_text("$5.00")
    expect(card.get_by_role("button", name="Cancel & refund")).to_be_disabled()
    expect(card.get_by_role("button", name="Check messages")).to_be_disabled()
    verification = Verification.objects.get(user=user)
    assert verification.status == "expired" and verification.refunded_at is not None
    assert page.problems == []


def test_an_sms_made_of_html_is_shown_as_text_and_runs_nothing(shop, page):
    from playwright.sync_api import expect

    user = customer("mallory@example.com", "5.00")
    log_in(page, user.email)
    card = buy(page, search="html", service="test-html-sms")
    text = card.locator('[data-field="messages"] .sms-text')
    expect(text).to_have_text(HTML_SMS, timeout=SMS_WAIT)
    expect(field(card, "code")).to_have_text("424242")
    assert card.locator("[data-field=messages] img, [data-field=messages] script").count() == 0
    page.wait_for_timeout(300)  # an onerror would have fired by now
    assert page.evaluate("typeof window.__pwned") == "undefined"
    shoot(page, "06-html-sms-as-text")

    page.reload()  # first paint from the server's JSON, then the history page's HTML
    expect(page.locator(".card .sms-text").first).to_contain_text("<script>window.__pwned=1</script>")
    page.goto("/history")
    page.get_by_text("1 SMS").click()
    expect(page.locator(".sms-text").first).to_contain_text('<img src=x onerror="window.__pwned=2">')
    page.wait_for_timeout(300)
    assert page.evaluate("typeof window.__pwned") == "undefined"
    assert page.problems == []


def test_it_shows_clear_inline_errors(shop, page, settings):
    from playwright.sync_api import expect

    user = customer("poor@example.com", "0.50")
    log_in(page, user.email)
    error = page.locator("#create-error")

    choose(page, search="telegram", service="telegram")
    page.get_by_role("button", name="Create verification").click()
    expect(error).to_have_text("Insufficient balance: this verification costs $1.00 and your balance is $0.50. "
                               "You are missing $0.50. Add funds")
    expect(error.get_by_role("link", name="Add funds")).to_have_attribute("href", re.compile(r"^http://.+/add-funds$"))
    shoot(page, "07-insufficient-balance")
    accounts.credit(user=user, amount="9.50", memo="top-up")

    choose(page, search="unavailable", service="test-unavailable")
    page.get_by_role("button", name="Create verification").click()
    expect(error).to_contain_text("The number provider is unavailable right now; nothing was charged. "
                                  "Try again in 30 s.")

    shop["whatsapp"].enabled = False  # switched off after the page was drawn
    shop["whatsapp"].save()
    choose(page, search="whats", service="whatsapp")
    page.get_by_role("button", name="Create verification").click()
    expect(error).to_contain_text("This service is not available")

    settings.RATE_PURCHASE = "1/h"  # an hour-long window: no boundary to cross mid-test
    buy(page, search="tele", service="telegram")
    expect(error).to_be_hidden()
    choose(page, search="tele", service="telegram")
    page.get_by_role("button", name="Create verification").click()
    expect(error).to_contain_text(re.compile(r"Too many purchases in a short time\. Try again in \d+ s\."))

    # One purchase went through (its SMS may already have arrived: MOCK_SMS_DELAY is 1 s); the 429 bought nothing.
    assert Verification.objects.filter(user=user, status__in=["pending", "completed"]).count() == 1
    user.account.refresh_from_db()
    assert user.account.balance == Decimal("9.00")


def test_a_second_click_or_a_lost_answer_never_buys_twice(shop, page, settings):
    from playwright.sync_api import expect

    settings.MOCK_LATENCY = 0.5  # the purchase stays in flight long enough to look at the button
    user = customer("double@example.com", "5.00")
    log_in(page, user.email)
    choose(page, search="tele", service="telegram")
    page.evaluate("() => { const form = document.getElementById('new-verification');"
                  " form.requestSubmit(); form.requestSubmit(); }")
    create = page.locator("#create")
    expect(create).to_be_disabled()
    expect(create.locator(".spinner")).to_be_visible()
    expect(create).to_have_attribute("aria-busy", "true")
    expect(page.locator(".card")).to_have_count(1)
    expect(create).to_be_enabled()
    assert Verification.objects.filter(user=user).count() == 1

    # The answer to the next purchase is lost on the way back: pressing again replays it.
    keys = []

    def lose_first_answer(route):
        keys.append(route.request.headers.get("idempotency-key"))
        if len(keys) == 1:
            route.fetch()  # the server buys the number...
            route.abort()  # ...and the browser never hears about it
        else:
            route.continue_()

    page.route("**/verify/create", lose_first_answer)
    choose(page, search="pending", service="test-pending")
    create.click()
    expect(page.locator("#create-error")).to_contain_text("it will not buy twice")
    create.click()
    expect(page.locator(".card")).to_have_count(2)
    assert len(keys) == 2 and keys[0] == keys[1] and len(keys[0]) == 36
    assert Verification.objects.filter(user=user, service=shop["test_pending"]).count() == 1
    expect(page.locator("#balance")).to_have_text("$3.00")

    create.click()  # the same choice again is a new intent: a new key, a second number
    expect(page.locator(".card")).to_have_count(3)
    assert len(set(keys)) == 2
    assert Verification.objects.filter(user=user, service=shop["test_pending"]).count() == 2


def test_it_works_with_the_keyboard_and_on_a_phone_screen(shop, page):
    from playwright.sync_api import expect

    user = customer("keys@example.com", "5.00")
    page.set_viewport_size({"width": 375, "height": 800})
    log_in(page, user.email)
    page.get_by_label("Find a service").focus()
    page.keyboard.type("whats")
    page.keyboard.press("Enter")  # moves to the list instead of buying
    assert page.evaluate("document.activeElement.id") == "service"
    expect(page.locator("#service")).to_have_value("whatsapp")
    page.keyboard.press("Tab")
    assert page.evaluate("document.activeElement.id") == "country"
    page.keyboard.press("Tab")
    page.keyboard.press("ArrowDown")  # SMS → Voice
    expect(page.locator("#price")).to_have_text("$1.80")
    page.keyboard.press("Tab")
    assert page.evaluate("document.activeElement.id") == "create"
    page.keyboard.press("Enter")
    card = page.locator(".card").first
    expect(card).to_be_focused()
    assert Verification.objects.get(user=user).capability == "voice"
    overflow = page.evaluate("document.documentElement.scrollWidth - window.innerWidth")
    assert overflow <= 0, f"the page scrolls sideways by {overflow}px on a phone"
    shoot(page, "08-phone")
    for path in ("/dashboard", "/history", "/transactions", "/api-keys", "/settings", "/"):
        page.goto(path)
        assert page.evaluate("document.documentElement.scrollWidth - window.innerWidth") <= 0, path
        assert page.evaluate(UNNAMED_CONTROLS) == [], path


# Every visible control has an accessible name: a <label>, aria-label or its own text.
UNNAMED_CONTROLS = """() => Array.from(document.querySelectorAll("input:not([type=hidden]), select, textarea, button"))
    .filter(el => el.offsetParent !== null)
    .filter(el => !(el.labels && el.labels.length) && !el.getAttribute("aria-label") && !el.textContent.trim())
    .map(el => el.outerHTML)"""


def test_it_creates_copies_and_revokes_an_api_key_and_filters_the_history(shop, page, settings):
    from playwright.sync_api import expect

    settings.MOCK_SMS_DELAY = 0
    user = customer("integrator@example.com", "5.00")
    log_in(page, user.email)
    buy(page, search="tele", service="telegram")
    buy(page, search="pending", service="test-pending")

    page.get_by_role("link", name="API keys").click()
    expect(page.get_by_text("No API keys yet.")).to_be_visible()
    page.get_by_label("Key name").fill("production")
    page.get_by_role("button", name="Create key").click()
    key = page.locator("#new-key").inner_text()
    row = ApiKey.objects.get(hashed_key=hashlib.sha256(key.encode()).hexdigest())
    assert key.startswith(f"nmk_{row.prefix}_") and row.user == user and row.active
    page.get_by_role("button", name="Copy the new API key").click()
    assert page.evaluate("navigator.clipboard.readText()") == key
    shoot(page, "09-api-key-created")
    page.goto("/api-keys")
    expect(page.locator("#new-key")).to_have_count(0)  # shown once
    page.once("dialog", lambda dialog: dialog.accept())
    page.get_by_role("button", name="Revoke the key production").click()
    expect(page.get_by_text("Revoked the key “production”")).to_be_visible()
    row.refresh_from_db()
    assert row.revoked_at is not None

    page.get_by_role("link", name="History").click()
    expect(page.locator("table.history tbody tr")).to_have_count(2)
    page.get_by_label("Status").select_option("pending")
    page.get_by_role("button", name="Filter").click()
    expect(page.locator("table.history tbody tr")).to_have_count(1)
    expect(page.locator("table.history tbody tr")).to_contain_text("test_pending")
    shoot(page, "10-history-filtered")
    created = page.locator("table.history time").first  # written in UTC by the server, shown in local time
    iso = created.get_attribute("datetime")
    expect(created).to_have_attribute("title", iso)
    expect(created).not_to_contain_text("UTC")
    assert created.inner_text() == page.evaluate("iso => new Date(iso).toLocaleString()", iso)
    page.get_by_role("link", name="Transactions").click()
    expect(page.locator("table.ledger tbody tr")).to_have_count(3)
    assert page.problems == []

