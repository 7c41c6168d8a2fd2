"""From $0.00 to a received code, by paying: "Add funds" through the mock checkout in Chromium.

The same live server, browser and fixtures as verifications/tests/test_browser.py (Debian's
Chromium through Playwright); PAYMENTS=mock, so the checkout page is ours and each button sends a
signed Stripe-shaped event through the real webhook path.
"""
import re
from decimal import Decimal
from pathlib import Path

import pytest

from accounts.models import LedgerEntry, User
from payments.models import TopUp
from verifications.models import Verification
from verifications.tests import test_browser as dashboard_browser
from verifications.tests.test_browser import CHROMIUM, PASSWORD, SMS_WAIT, buy, choose, field, shoot

# The dashboard browser tests' fixtures: one Chromium, one live server, the same shop.
browser, page, shop = dashboard_browser.browser, dashboard_browser.page, dashboard_browser.shop

pytestmark = [
    pytest.mark.browser,
    pytest.mark.skipif(not Path(CHROMIUM).exists(),
                       reason="browser tests need Debian's Chromium at /usr/bin/chromium: apt-get install chromium"),
]


def sign_up(page, email: str) -> None:
    page.goto("/register")
    page.get_by_label("Email").fill(email)
    page.get_by_label("Password", exact=True).fill(PASSWORD)
    page.get_by_label("Password (again)").fill(PASSWORD)
    page.get_by_role("button", name="Sign up").click()
    page.wait_for_url(re.compile(r"/dashboard$"))


def test_a_new_customer_adds_funds_by_card_and_receives_a_code(shop, page):
    from playwright.sync_api import expect

    sign_up(page, "newcomer@example.com")
    expect(page.locator("#balance")).to_have_text("$0.00")
    choose(page, search="telegram", service="telegram")
    page.get_by_role("button", name="Create verification").click()
    error = page.locator("#create-error")
    expect(error).to_contain_text("You are missing $1.00.")
    expect(error.get_by_role("link", name="Add funds")).to_be_visible()

    page.locator(".header-account").get_by_role("link", name="Add funds").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Add funds")
    page.get_by_label("$10", exact=True).check()
    shoot(page, "20-add-funds")
    page.get_by_role("button", name="Continue to payment").click()
    page.wait_for_url(re.compile(r"/add-funds/mock-checkout/cs_mock_\w+$"))
    shoot(page, "21-mock-checkout")
    page.get_by_role("button", name="Pay $10.00").click()

    page.wait_for_url(re.compile(r"/add-funds/[0-9a-f-]{36}/paid$"))
    expect(page.locator("#topup-message")).to_have_text(
        "Your top-up of $10.00 is credited. Your new balance is $10.00.")
    expect(page.locator("#balance")).to_have_text("$10.00")
    shoot(page, "22-topup-credited")
    user = User.objects.get(email="newcomer@example.com")
    topup = TopUp.objects.get(owner=user)
    assert topup.status == "paid"
    assert LedgerEntry.objects.get(account__user=user).topup_id == topup.pk

    page.get_by_role("link", name="Go to the dashboard").click()
    card = buy(page, search="telegram", service="telegram", country="US", capability="sms")
    expect(field(card, "code")).to_have_text(re.compile(r"^\d{6}$"), timeout=SMS_WAIT)
    assert field(card, "code").inner_text() == Verification.objects.get(user=user).messages.get().code
    expect(page.locator("#balance")).to_have_text("$9.00")
    user.account.refresh_from_db()
    assert user.account.balance == Decimal("9.00")
    # Chromium logs the refused purchase's 402 itself; nothing else may have gone wrong.
    assert [p for p in page.problems if "status of 402" not in p] == []


def test_the_success_page_turns_into_the_new_balance_when_a_delayed_payment_lands(shop, page):
    from playwright.sync_api import expect

    sign_up(page, "patient@example.com")
    page.goto("/add-funds")
    page.get_by_label("Another amount (USD)").fill("12.50")
    page.get_by_role("button", name="Continue to payment").click()
    page.wait_for_url(re.compile(r"/add-funds/mock-checkout/"))
    checkout = page.url
    page.get_by_role("button", name="Pay later (bank debit)").click()

    page.wait_for_url(re.compile(r"/paid$"))
    message = page.locator("#topup-message")
    expect(message).to_have_text("Payment received, crediting…")
    page.evaluate("window.__sameDocument = true")  # gone if anything reloads the page
    shoot(page, "23-topup-crediting")

    bank = page.context.new_page()  # the bank answers elsewhere, while the customer watches
    bank.goto(checkout)
    bank.get_by_role("button", name="The bank confirms the payment").click()
    bank.close()

    expect(message).to_have_text("Your top-up of $12.50 is credited. Your new balance is $12.50.")
    expect(page.locator("#balance")).to_have_text("$12.50")
    assert page.evaluate("window.__sameDocument") is True
    assert page.problems == []
