"""Staff read top-ups (with their ledger entries, refunds, disputes and Stripe ids) and the payment
events that need a person; nothing about them can be added, changed or deleted in admin."""
import pytest
from django.urls import reverse

from payments.models import PaymentEvent, TopUp
from payments.tests.support import open_topup, post_event


@pytest.fixture
def refunded(alice, client, fake_stripe):
    """A $10.00 top-up, paid, then $3.00 of it refunded."""
    topup = open_topup(alice, "10.00")
    post_event(client, fake_stripe.pay(topup.stripe_session_id))
    post_event(client, fake_stripe.refund(topup.stripe_session_id, amount=300))
    topup.refresh_from_db()
    return topup


def test_it_shows_a_topup_with_its_ledger_entries_reversals_and_stripe_ids(staff_client, refunded):
    page = staff_client.get(reverse("admin:payments_topup_change", args=[refunded.pk])).content.decode()

    assert refunded.stripe_session_id in page and refunded.stripe_payment_intent in page
    assert "card top-up (" in page and "card top-up refunded (re_" in page  # the two ledger entries' memos
    assert "-3.00" in page and "10.00" in page
    assert page.count(refunded.reversals.get().stripe_id) >= 2  # the reversal row and the ledger memo
    assert 'name="amount"' not in page and 'name="status"' not in page


@pytest.mark.parametrize("query", ["alice@", "stripe_session_id", "stripe_payment_intent", "refund_id"])
def test_it_finds_a_topup_by_email_or_any_stripe_id(staff_client, refunded, bob, fake_stripe, query):
    other = open_topup(bob, "50.00")
    term = {"alice@": "alice@", "stripe_session_id": refunded.stripe_session_id,
            "stripe_payment_intent": refunded.stripe_payment_intent,
            "refund_id": refunded.reversals.get().stripe_id}[query]

    page = staff_client.get(reverse("admin:payments_topup_changelist"), {"q": term}).content.decode()

    assert refunded.stripe_session_id in page and other.stripe_session_id not in page


def test_it_filters_topups_by_status(staff_client, refunded, bob, fake_stripe):
    pending = open_topup(bob)
    page = staff_client.get(reverse("admin:payments_topup_changelist"), {"status__exact": "pending"}).content.decode()
    assert pending.stripe_session_id in page and refunded.stripe_session_id not in page


def test_it_lists_topups_without_a_query_per_row(staff_client, make_user, fake_stripe, django_assert_max_num_queries):
    for i in range(5):
        open_topup(make_user(f"buyer{i}@example.com"))
    with django_assert_max_num_queries(9):
        assert staff_client.get(reverse("admin:payments_topup_changelist")).status_code == 200


def test_it_lists_the_events_that_need_attention(staff_client, client, fake_stripe, refunded):
    foreign = fake_stripe.add_session(amount_total=999)
    post_event(client, fake_stripe.pay(foreign))

    page = staff_client.get(reverse("admin:payments_paymentevent_changelist"),
                            {"needs_attention__exact": "1"}).content.decode()

    assert foreign in page and "Unknown session" in page
    assert refunded.stripe_session_id not in page


def test_nothing_can_be_added_changed_or_deleted(staff_client, refunded):
    for model in ("topup", "paymentevent"):
        assert staff_client.get(reverse(f"admin:payments_{model}_add")).status_code == 403
    response = staff_client.post(reverse("admin:payments_topup_change", args=[refunded.pk]), {"status": "pending"})
    assert response.status_code == 403
    delete = staff_client.post(reverse("admin:payments_topup_delete", args=[refunded.pk]), {"post": "yes"})
    assert delete.status_code == 403
    event = PaymentEvent.objects.first()
    assert staff_client.post(reverse("admin:payments_paymentevent_delete", args=[event.pk]),
                             {"post": "yes"}).status_code == 403
    assert TopUp.objects.get().status == "paid" and PaymentEvent.objects.count() == 2  # credit, refund


def test_customers_do_not_see_the_payments_admin(alice_client, refunded):
    response = alice_client.get(reverse("admin:payments_topup_changelist"))
    assert response.status_code == 302 and "/admin/login" in response["Location"]


def test_it_shows_a_reinstatement_beside_the_reversal_it_gave_back(staff_client, alice, client, fake_stripe):
    topup = open_topup(alice, "10.00")
    post_event(client, fake_stripe.pay(topup.stripe_session_id))
    opened = fake_stripe.dispute(topup.stripe_session_id)
    post_event(client, opened)
    post_event(client, fake_stripe.close_dispute(opened.data["data"]["object"]["id"], status="won"))

    page = staff_client.get(reverse("admin:payments_topup_change", args=[topup.pk])).content.decode()

    assert "reinstatements (refund failed, dispute won)" in page.lower()
    assert "Dispute won" in page and "card top-up reinstated: dispute won (du_" in page
