"""The README's picture, docs/dashboard.png: the dashboard on the demo catalogue (seed_demo), with a
voice call, an SMS code and a simulated country's number waiting, and no test-mode service in sight.

It always checks what the picture shows; it writes docs/dashboard.png only when that file is missing
or UPDATE_DOCS_SCREENSHOT=1 is set (a committed binary rewritten on every run would sit modified in
everyone's working tree):

    UPDATE_DOCS_SCREENSHOT=1 .venv/bin/python -m pytest verifications/tests/test_docs_screenshot.py
"""
# The Chromium fixture and the browser mark (and skip without Chromium) of the main browser tests.
from verifications.tests.test_browser import (  # noqa: F401
    PASSWORD, SCREENSHOTS, browser, buy, field, log_in, pytestmark,
)

import io  # noqa: E402
import os  # noqa: E402
import re  # noqa: E402
import shutil  # noqa: E402
from pathlib import Path  # noqa: E402

import pytest  # noqa: E402
from django.conf import settings as django_settings  # noqa: E402
from django.core.management import call_command  # noqa: E402

from accounts.models import User  # noqa: E402
from providers import simulation  # noqa: E402
from verifications import seed  # noqa: E402

DOCS_SCREENSHOT = Path(django_settings.BASE_DIR) / "docs" / "dashboard.png"
DEMO_CUSTOMER = "demo@namaskah.dev"


@pytest.fixture
def demo(transactional_db, settings):
    settings.MESSAGE_REFRESH_INTERVAL = 1
    call_command("seed_demo", stdout=io.StringIO())
    customer = User.objects.get(email=DEMO_CUSTOMER)
    customer.set_password(PASSWORD)  # seed_demo's password is random with DEBUG off, as in tests
    customer.save()
    return customer


@pytest.fixture
def page(browser, live_server, background_work):  # noqa: F811
    from playwright.sync_api import expect

    expect.set_options(timeout=10_000)
    context = browser.new_context(viewport={"width": 1280, "height": 900}, base_url=live_server.url,
                                  locale="en-US", timezone_id="Europe/Paris")
    page = context.new_page()
    yield page
    context.close()


def test_the_readme_screenshot_shows_the_demo_catalogue_only(demo, page, settings):
    from playwright.sync_api import expect

    log_in(page, DEMO_CUSTOMER)
    settings.MOCK_SMS_DELAY = 0  # the mock's rentals keep the delay they were bought with
    call = buy(page, search="google", service="google", country="US", capability="voice")
    # The mock's call brings one of the committed recordings; we fetch and transcribe it.
    expect(call.locator('[data-field="calls"] li .call-state')).to_have_text(
        re.compile(r"^(Code heard: \d{4,8}|We're not sure|No code heard|Transcription unavailable)"), timeout=30_000)
    sms = buy(page, search="whats", service="whatsapp", country="US", capability="sms")
    expect(field(sms, "code")).to_have_text(re.compile(r"^\d{6}$"), timeout=15_000)
    settings.MOCK_SMS_DELAY = 600
    waiting = buy(page, search="tele", service="telegram", country="GB", capability="sms")
    expect(field(waiting, "e164")).to_have_text(re.compile(r"^\+447700900\d{3}$"))
    page.get_by_label("Find a service").fill("")
    page.get_by_label("Service", exact=True).select_option("whatsapp")
    page.evaluate("document.activeElement.blur()")
    page.mouse.move(0, 0)  # no hover state on the last button pressed
    # The header balance flashes after each purchase: wait for the flash to end, not for a time.
    page.evaluate("Promise.all(document.getElementById('balance').getAnimations().map(a => a.finished))")

    demo_slugs = {row[0] for row in seed.SERVICES}
    offered = page.locator("#service option").evaluate_all("options => options.map(o => o.value)")
    assert set(offered) == demo_slugs
    text = page.locator("body").inner_text()
    for fixture in simulation.SCENARIOS:
        assert fixture not in text and fixture.replace("_", "-") not in text, fixture
    assert [c.inner_text() for c in page.locator(".card [data-field=service]").all()] == [
        "Telegram", "WhatsApp", "Google"]

    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    shot = SCREENSHOTS / "readme-dashboard.png"
    page.screenshot(path=str(shot), full_page=True)
    if os.environ.get("UPDATE_DOCS_SCREENSHOT") or not DOCS_SCREENSHOT.exists():
        DOCS_SCREENSHOT.parent.mkdir(exist_ok=True)
        shutil.copyfile(shot, DOCS_SCREENSHOT)
