"""The Webhooks page on a 375 px phone: long URLs and webhook-ids wrap, each delivery's status,
attempts, response and next retry are on screen, and the add form works (post/redirect/get)."""
# The Chromium fixture and the browser mark (and skip without Chromium) of the main browser tests.
from verifications.tests.test_browser import browser, customer, log_in, pytestmark  # noqa: F401
from verifications.tests.test_browser_mobile import PHONE, assert_on_screen, label_of, open_page, width_problems  # noqa: F401

import pytest  # noqa: E402
from django.utils import timezone  # noqa: E402

from hooks import services  # noqa: E402
from hooks.models import Delivery, Endpoint  # noqa: E402

LONG_URL = "https://127.0.0.1:8443/" + "integrations/namaskah/webhooks/receiver-endpoint-for-production-cluster" * 2


@pytest.fixture
def integrator(transactional_db, settings):
    settings.WEBHOOK_ALLOW_PRIVATE = True
    user = customer("integrator@example.com", "10.00")
    endpoint = services.create_endpoint(owner=user, url=LONG_URL)
    delivery = services.send_test(owner=user, endpoint_id=endpoint.pk)
    Delivery.objects.filter(pk=delivery.pk).update(attempts=3, response_code=503, next_attempt_at=timezone.now(),
                                                   last_error="HTTP 503: upstream busy")
    return user


def test_the_webhooks_page_fits_a_phone(integrator, open_page):  # noqa: F811
    page = open_page(PHONE)
    log_in(page, integrator.email)
    page.goto("/settings/webhooks")
    problems = width_problems(page)
    assert problems["page"] <= 0 and problems["tables"] == [], problems
    row = page.locator("table.deliveries tbody tr").first
    for label in ("Status", "Attempts", "Response", "Next retry"):
        cell = row.locator(f'td[data-label="{label}"]')
        assert_on_screen(page, cell)
        assert label_of(cell) == label
    assert row.locator('td[data-label="Attempts"]').inner_text().strip() == "3"
    assert_on_screen(page, page.get_by_role("button", name="Send a test event"))
    assert_on_screen(page, page.get_by_role("button", name="Delete"))
    assert page.problems == []


def test_an_endpoint_is_added_from_a_phone_and_its_secret_shown_once(integrator, open_page):  # noqa: F811
    page = open_page(PHONE)
    log_in(page, integrator.email)
    page.goto("/settings/webhooks")
    page.get_by_label("URL").fill("http://127.0.0.1:9000/hooks")
    page.get_by_label("verification.refunded").check()
    page.get_by_role("button", name="Add endpoint").click()
    page.wait_for_url("**/settings/webhooks")
    secret = page.locator("#new-secret").inner_text()
    endpoint = Endpoint.objects.get(url="http://127.0.0.1:9000/hooks")
    assert secret == endpoint.secret and endpoint.events == ["verification.refunded"]
    assert_on_screen(page, page.locator("#new-secret"))
    assert width_problems(page)["page"] <= 0
    page.reload()
    assert page.locator("#new-secret").count() == 0
