"""Staff bulk refunds and cancels: a page shows what each selected verification will get, a reason is
required and recorded, and the same services as everywhere else do the work (once)."""
from decimal import Decimal

import pytest
from django.contrib.auth.models import Permission
from django.db import transaction
from django.urls import reverse
from django.utils import timezone

from accounts import services as accounts
from accounts.admin import BULK_LIMIT
from accounts.models import LedgerEntry
from verifications import services
from verifications.models import Message, Verification
from verifications.tests.factories import make_verification
from verifications.tests.lifecycle import balance, fund, make_shop

CHANGELIST = "admin:verifications_verification_changelist"


@pytest.fixture
def verification(alice, catalogue):
    accounts.credit(user=alice, amount="5.00", memo="topup")
    verification = make_verification(user=alice, catalogue=catalogue, price="1.30", status="completed")
    with transaction.atomic():
        accounts.charge_locked(account=accounts.lock_account(user=alice), verification=verification,
                               amount=Decimal("1.30"))
    return verification


@pytest.fixture
def shop(db, settings):
    settings.MOCK_SMS_DELAY = 600
    return make_shop()


def buy(user, shop):
    verification, _ = services.purchase(user=user, service=shop["telegram"], country=shop["us"], capability="sms")
    return verification


def select(client, action, *verifications, **extra):
    """The changelist's action button: the confirmation page."""
    return client.post(reverse(CHANGELIST), {"action": action, "index": "0",
                                             "_selected_action": [str(v.pk) for v in verifications], **extra})


def confirm(client, action, *verifications, reason="ticket 4711"):
    """The confirmation page's button, with what it carries."""
    return client.post(reverse(CHANGELIST), {"action": action, "confirm": "yes", "reason": reason,
                                             "_selected_action": [str(v.pk) for v in verifications]}, follow=True)


def refunds():
    return LedgerEntry.objects.filter(kind=LedgerEntry.Kind.REFUND)


def test_the_refund_page_lists_what_will_happen_and_writes_nothing(staff_client, alice, catalogue, verification,
                                                                   django_assert_max_num_queries):
    never_charged = make_verification(user=alice, catalogue=catalogue)
    more = [make_verification(user=alice, catalogue=catalogue) for _ in range(10)]
    with django_assert_max_num_queries(13):  # the same for 2 rows: nothing per row
        select(staff_client, "refund_selected", verification, never_charged, *more)
    with django_assert_max_num_queries(13):
        page = select(staff_client, "refund_selected", verification, never_charged)
    assert page.status_code == 200
    html = page.content.decode()
    assert "1 of 2 selected verification(s) will be refunded" in html and "<strong>$1.30</strong>" in html
    steps = {step.verification.pk: step for step in page.context["steps"]}
    assert (steps[verification.pk].acts, steps[verification.pk].refund) == (True, Decimal("1.30"))
    assert "stays completed" in steps[verification.pk].note
    assert (steps[never_charged.pk].acts, steps[never_charged.pk].note) == (False, "never charged: nothing to refund")
    assert "be skipped: never charged" in html
    # The Confirm form carries only the rows that will be refunded.
    assert f'value="{verification.pk}"' in html and f'name="_selected_action" value="{never_charged.pk}"' not in html
    assert not refunds().exists() and balance(alice) == Decimal("3.70")


def test_it_refunds_once_with_the_reason_and_the_staff_member(staff_client, staff, alice, verification):
    response = confirm(staff_client, "refund_selected", verification)
    assert "Refunded 1 verification(s), $1.30 refunded in total." in response.content.decode()
    entry = refunds().get()
    assert (entry.verification, entry.amount, entry.created_by, entry.memo) == (
        verification, Decimal("1.30"), staff, "refund by staff: ticket 4711")
    assert balance(alice) == Decimal("5.00")
    verification.refresh_from_db()
    assert verification.refunded and verification.status == "completed"

    again = confirm(staff_client, "refund_selected", verification)
    assert "1 verification(s) already refunded: nothing changed." in again.content.decode()
    assert refunds().count() == 1 and balance(alice) == Decimal("5.00")
    assert accounts.ledger_mismatches() == []


def test_a_confirmation_without_a_reason_shows_the_page_again_and_refunds_nothing(staff_client, alice, verification):
    for reason in ("", "   "):
        response = confirm(staff_client, "refund_selected", verification, reason=reason)
        assert response.status_code == 200 and "This field is required." in response.content.decode()
    no_confirm = staff_client.post(reverse(CHANGELIST), {"action": "refund_selected", "reason": "x",
                                                         "_selected_action": [str(verification.pk)]})
    assert no_confirm.status_code == 200 and "will be refunded" in no_confirm.content.decode()
    assert not refunds().exists() and balance(alice) == Decimal("3.70")


def test_refunding_a_pending_one_cancels_it_and_records_the_reason_on_it(staff_client, staff, alice, shop):
    fund(alice, "5.00")
    pending = buy(alice, shop)
    page = select(staff_client, "refund_selected", pending)
    assert "pending, so also cancelled" in page.content.decode()
    confirm(staff_client, "refund_selected", pending, reason="number never worked")
    pending.refresh_from_db()
    assert (pending.status, pending.status_reason) == ("cancelled", "refunded by staff: number never worked")
    assert refunds().get().created_by == staff and balance(alice) == Decimal("5.00")


def test_the_cancel_page_says_which_cannot_be_cancelled_and_why(staff_client, alice, shop):
    fund(alice, "5.00")
    pending = buy(alice, shop)
    coded = buy(alice, shop)
    # A code stored but the verification not yet completed (the moment between the two writes).
    Message.objects.create(verification=coded, provider=coded.provider, provider_message_id="m1", code="123456",
                           received_at=timezone.now())
    cancelled = buy(alice, shop)
    services.cancel(verification=cancelled)
    page = select(staff_client, "cancel_selected", pending, coded, cancelled)
    steps = {step.verification.pk: step for step in page.context["steps"]}
    assert (steps[pending.pk].acts, steps[pending.pk].refund) == (True, Decimal("1.00"))
    assert (steps[coded.pk].acts, steps[coded.pk].note) == (False, "a code has arrived (refund it instead if you must)")
    assert (steps[cancelled.pk].acts, steps[cancelled.pk].note) == (False, "already cancelled")
    html = page.content.decode()
    assert "1 of 3 selected verification(s) will be cancelled" in html and "Cancel 1 verification(s)" in html
    assert balance(alice) == Decimal("3.00")  # nothing ran


def test_it_cancels_and_refunds_through_the_customers_cancel_with_the_reason(staff_client, staff, alice, shop):
    fund(alice, "5.00")
    first, second = buy(alice, shop), buy(alice, shop)
    response = confirm(staff_client, "cancel_selected", first, second, reason="provider outage 12:00")
    assert "Cancelled 2 verification(s), $2.00 refunded in total." in response.content.decode()
    for verification in (first, second):
        verification.refresh_from_db()
        assert (verification.status, verification.status_reason) == ("cancelled",
                                                                     "cancelled by staff: provider outage 12:00")
        entry = refunds().get(verification=verification)
        assert (entry.created_by, entry.memo) == (staff, "cancelled by staff: provider outage 12:00")
    assert balance(alice) == Decimal("5.00")

    again = confirm(staff_client, "cancel_selected", first)
    assert "could not be cancelled (This verification is cancelled and cannot be cancelled)" in again.content.decode()
    assert refunds().count() == 2 and accounts.ledger_mismatches() == []


def test_a_customer_cannot_refund(alice_client, alice, verification):
    response = confirm(alice_client, "refund_selected", verification)
    assert response.redirect_chain[0][0].startswith(reverse("admin:login"))
    assert not refunds().exists()
    assert balance(alice) == Decimal("3.70")


def test_staff_without_the_money_permission_get_neither_action(client, make_user, verification):
    clerk = make_user("clerk@example.com", is_staff=True)
    clerk.user_permissions.add(Permission.objects.get(codename="view_verification"))
    client.force_login(clerk)
    html = client.get(reverse(CHANGELIST)).content.decode()
    assert "refund_selected" not in html and "cancel_selected" not in html
    for action in ("refund_selected", "cancel_selected"):
        assert confirm(client, action, verification).status_code == 200
    assert not refunds().exists()
    assert Verification.objects.get(pk=verification.pk).status == "completed"


def test_it_refuses_more_rows_than_one_page_can_review(staff_client, alice, catalogue):
    one = make_verification(user=alice, catalogue=catalogue)
    rows = Verification.objects.bulk_create([
        Verification(user=alice, service=one.service, country=one.country, capability="sms", provider=one.provider,
                     price=Decimal("1.00")) for _ in range(BULK_LIMIT)])
    response = staff_client.post(reverse(CHANGELIST), {"action": "refund_selected", "index": "0",
                                                       "_selected_action": [str(v.pk) for v in [one, *rows]]},
                                 follow=True)
    assert f"Select at most {BULK_LIMIT} verifications at a time." in response.content.decode()
