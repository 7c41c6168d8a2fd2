"""The back-office in a real browser: a staff user changes a tier price, credits a customer and
refunds a verification (each through its confirmation page), each checked in the database."""
import os

os.environ["DJANGO_ALLOW_ASYNC_UNSAFE"] = "true"  # the test's own ORM calls are synchronous and safe

from decimal import Decimal  # noqa: E402

import pytest  # noqa: E402

from accounts import services as accounts  # noqa: E402
from accounts.models import LedgerEntry, User  # noqa: E402
from verifications import services  # noqa: E402
from verifications.models import PricingTier  # noqa: E402
from verifications.tests.lifecycle import make_shop  # noqa: E402
from verifications.tests.test_browser import CHROMIUM, CHROMIUM_ARGS, shoot  # noqa: E402

pytestmark = pytest.mark.browser


@pytest.fixture(scope="module")
def browser():
    if not os.path.exists(CHROMIUM):
        pytest.skip("browser tests need Debian's Chromium at /usr/bin/chromium: apt-get install chromium")
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, headless=True, args=CHROMIUM_ARGS)
        yield browser
        browser.close()


@pytest.fixture
def staff_page(browser, live_server, transactional_db, settings):
    settings.MOCK_SMS_DELAY = 600
    User.objects.create_user("boss@example.com", "staff-pass-123456", is_staff=True, is_superuser=True)
    context = browser.new_context(base_url=live_server.url, viewport={"width": 1280, "height": 900})
    page = context.new_page()
    page.goto("/admin/login/")
    page.fill("#id_username", "boss@example.com")
    page.fill("#id_password", "staff-pass-123456")
    page.click("input[type=submit]")
    page.wait_for_url("**/admin/")
    yield page
    context.close()


def test_staff_change_a_price_credit_a_customer_and_refund_a_verification(staff_page):
    page = staff_page
    shop = make_shop()
    carol = accounts.register(email="carol@example.com", password="a-long-enough-passphrase")
    accounts.credit(user=carol, amount="2.00", memo="seed")
    verification, _ = services.purchase(user=carol, service=shop["telegram"], country=shop["us"], capability="sms")

    tier = PricingTier.objects.get(name="Standard")
    page.goto(f"/admin/verifications/pricingtier/{tier.pk}/change/")
    page.fill("#id_sms_price", "1.10")
    page.click("input[name=_save]")
    page.wait_for_url("**/admin/verifications/pricingtier/")
    tier.refresh_from_db()
    assert tier.sms_price == Decimal("1.10")

    page.goto(f"/admin/accounts/user/{carol.pk}/balance/")
    page.fill("#id_amount", "5.00")
    page.fill("#id_memo", "bank transfer 2026-11-25")
    page.click("input[type=submit]")
    page.wait_for_selector("#balance-confirmation")
    assert "$6.00" in page.inner_text("#balance-confirmation")  # 1.00 left after the purchase, + 5.00
    assert not LedgerEntry.objects.filter(account__user=carol, memo="bank transfer 2026-11-25").exists()
    shoot(page, "admin-credit-confirm")
    page.click("button[name=confirm]")
    page.wait_for_selector("text=new balance $6.00")
    entry = LedgerEntry.objects.filter(account__user=carol, kind="topup", memo="bank transfer 2026-11-25").get()
    assert entry.amount == Decimal("5.00") and entry.created_by.email == "boss@example.com"

    page.goto("/admin/verifications/verification/")
    page.check(f"input[name=_selected_action][value='{verification.pk}']")
    page.select_option("select[name=action]", "refund_selected")
    page.click("button[name=index]")
    page.wait_for_selector("#bulk-plan")
    assert "be refunded; pending, so also cancelled" in page.inner_text("#bulk-plan")
    shoot(page, "admin-refund-confirm")
    page.fill("#id_reason", "ticket 77")
    page.click("button[name=confirm]")
    page.wait_for_selector("text=Refunded 1 verification")
    shoot(page, "admin-refund")
    verification.refresh_from_db()
    assert verification.status == "cancelled" and verification.refunded
    assert verification.status_reason == "refunded by staff: ticket 77"
    carol.account.refresh_from_db()
    assert carol.account.balance == Decimal("7.00")  # 2.00 - 1.00 + 5.00 + 1.00 refunded
