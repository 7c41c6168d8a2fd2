"""The tables on a 375 px phone, and long key names on a desktop: readable without sideways scrolling.

On a phone the API keys, history and transactions tables turn into one labelled card per row
(static/css/app.css, "stacked tables"): no page wider than the screen, no table scrolling inside
its own box, and the cells the issue named (Status and Revoke, Code, Balance after) on screen.
"""
# The Chromium fixture and the browser mark (and skip without Chromium) of the main browser tests.
from verifications.tests.test_browser import browser, customer, log_in, pytestmark  # noqa: F401

import uuid  # noqa: E402

import pytest  # noqa: E402
from django.utils import timezone  # noqa: E402

from accounts import services as accounts  # noqa: E402
from verifications import services  # noqa: E402
from verifications.models import Message, Verification  # noqa: E402
from verifications.tests.lifecycle import make_shop  # noqa: E402

PHONE = {"width": 375, "height": 800}
DESKTOPS = [{"width": 1280, "height": 800}, {"width": 1024, "height": 768}]
LONG_NAME = "billing-worker-eu-west-1-production-cluster-primary-2026-rotation"[:64]
assert len(LONG_NAME) == 64


@pytest.fixture
def shop(transactional_db, settings):
    settings.MOCK_SMS_DELAY = 600  # nothing arrives by itself: the test writes the one SMS it needs
    return make_shop()


@pytest.fixture
def open_page(browser, live_server):  # noqa: F811
    from playwright.sync_api import expect

    expect.set_options(timeout=10_000)
    contexts = []

    def open_page(viewport: dict):
        context = browser.new_context(viewport=viewport, base_url=live_server.url, locale="en-US",
                                      timezone_id="Europe/Paris")
        contexts.append(context)
        page = context.new_page()
        page.problems = []
        page.on("console", lambda msg: page.problems.append(msg.text) if msg.type == "error" else None)
        page.on("pageerror", lambda exc: page.problems.append(str(exc)))
        return page

    yield open_page
    for context in contexts:
        context.close()


@pytest.fixture
def busy_customer(shop):
    """A customer with keys (one with a 64-character name, one revoked), a code received, a refund."""
    user = customer("busy@example.com", "10.00")
    accounts.create_api_key(user=user, name="production")
    accounts.create_api_key(user=user, name=LONG_NAME)
    revoked, _ = accounts.create_api_key(user=user, name="old laptop")
    accounts.revoke_api_key(user=user, key_id=revoked.pk)
    done, _ = services.purchase(user=user, service=shop["telegram"], country=shop["gb"], capability="sms")
    Message.objects.create(verification=done, provider="mock", provider_message_id=uuid.uuid4().hex, sender="12345",
                           text="Your Telegram code is 482913", code="482913", received_at=timezone.now())
    Verification.objects.filter(pk=done.pk).update(status="completed", completed_at=timezone.now())
    cancelled, _ = services.purchase(user=user, service=shop["whatsapp"], country=shop["us"], capability="voice")
    services.cancel(verification=cancelled)
    return user


def width_problems(page) -> dict:
    """What scrolls sideways: the page itself, or any table inside its own box."""
    return page.evaluate("""() => ({
        page: document.documentElement.scrollWidth - window.innerWidth,
        tables: Array.from(document.querySelectorAll('.table-wrap, table'))
            .filter(el => el.scrollWidth > el.clientWidth + 1).map(el => el.className),
    })""")


def assert_on_screen(page, locator) -> None:
    from playwright.sync_api import expect

    expect(locator).to_be_visible()
    box = locator.bounding_box()
    width = page.viewport_size["width"]
    assert box["x"] >= 0 and box["x"] + box["width"] <= width, f"{box} is outside 0-{width} px"


def label_of(cell) -> str:
    """The label a stacked cell shows before its value (CSS ::before from data-label)."""
    return cell.evaluate("td => getComputedStyle(td, '::before').content").strip('"')


def test_the_api_keys_page_fits_a_phone_with_status_and_revoke_on_screen(busy_customer, open_page):
    page = open_page(PHONE)
    log_in(page, busy_customer.email)
    page.goto("/api-keys")
    problems = width_problems(page)
    assert problems["page"] <= 0 and problems["tables"] == [], problems
    rows = page.locator("table.keys tbody tr")
    assert rows.count() == 3
    for index in range(3):
        row = rows.nth(index)
        status = row.locator("td.key-status")
        assert_on_screen(page, status)
        assert label_of(status) == "Status"
    for name in ("production", LONG_NAME):
        assert_on_screen(page, page.get_by_role("button", name=f"Revoke the key {name}"))
    long_row = rows.filter(has_text=LONG_NAME)
    assert_on_screen(page, long_row.locator("td.key-name"))
    assert page.problems == []


def test_the_history_shows_its_code_column_on_a_phone(busy_customer, open_page):
    page = open_page(PHONE)
    log_in(page, busy_customer.email)
    page.goto("/history")
    problems = width_problems(page)
    assert problems["page"] <= 0 and problems["tables"] == [], problems
    row = page.locator("table.history tbody tr").filter(has_text="Telegram")
    code = row.locator("td.code-cell")
    assert_on_screen(page, code)
    assert code.inner_text().strip() == "482913" and label_of(code) == "Code"
    for cell in ("td.phone", "td.price", "td.received"):
        assert_on_screen(page, row.locator(cell))
    assert_on_screen(page, row.get_by_text("GB", exact=False).first)  # the code beside the flag
    assert page.problems == []


def test_the_transactions_show_balance_after_on_a_phone(busy_customer, open_page):
    page = open_page(PHONE)
    log_in(page, busy_customer.email)
    page.goto("/transactions")
    problems = width_problems(page)
    assert problems["page"] <= 0 and problems["tables"] == [], problems
    rows = page.locator("table.ledger tbody tr")
    assert rows.count() == 4  # funds, charge, charge, refund
    busy_customer.account.refresh_from_db()
    newest = rows.first.locator("td.balance-after")
    assert_on_screen(page, newest)
    assert newest.inner_text().strip() == str(busy_customer.account.balance)
    assert label_of(newest) == "Balance after"
    for index in range(4):
        assert_on_screen(page, rows.nth(index).locator("td.balance-after"))
        assert_on_screen(page, rows.nth(index).locator("td.amount"))
    assert page.problems == []


@pytest.mark.parametrize("viewport", [*DESKTOPS, PHONE], ids=lambda v: f"{v['width']}px")
def test_a_64_character_key_name_leaves_revoke_in_view(busy_customer, open_page, viewport):
    page = open_page(viewport)
    log_in(page, busy_customer.email)
    page.goto("/api-keys")
    problems = width_problems(page)
    assert problems["page"] <= 0 and problems["tables"] == [], problems
    assert_on_screen(page, page.get_by_role("button", name=f"Revoke the key {LONG_NAME}"))
    row = page.locator("table.keys tbody tr").filter(has_text=LONG_NAME)
    assert_on_screen(page, row.locator("td.key-status"))
    # The whole name is there to read (wrapped), not cut off.
    assert row.locator("td.key-name").inner_text().strip() == LONG_NAME
    assert page.problems == []


def test_every_page_fits_a_phone_with_data_on_it(busy_customer, open_page):
    page = open_page(PHONE)
    log_in(page, busy_customer.email)
    for path in ("/dashboard", "/history", "/transactions", "/api-keys", "/settings", "/"):
        page.goto(path)
        problems = width_problems(page)
        assert problems["page"] <= 0 and problems["tables"] == [], (path, problems)
    assert page.problems == []


def test_the_tables_stay_tables_on_a_desktop(busy_customer, open_page):
    page = open_page(DESKTOPS[0])
    log_in(page, busy_customer.email)
    for path, table in (("/api-keys", "keys"), ("/history", "history"), ("/transactions", "ledger")):
        page.goto(path)
        head = page.locator(f"table.{table} thead")
        assert head.is_visible(), path
        assert page.locator(f"table.{table} tbody tr").first.evaluate("tr => getComputedStyle(tr).display") \
            == "table-row"
