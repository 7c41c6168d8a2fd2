"""charge.dispute.closed (won, or an inquiry closed) and charge.refund.updated (failed, canceled)
give back what a refund or dispute debit took, once per refund or dispute; nothing is given back
that was not taken, and a refund or dispute settled for the customer is never debited later."""
from decimal import Decimal

import pytest

from accounts.models import LedgerEntry
from accounts.services import ledger_mismatches
from payments.models import PaymentEvent, TopUpReinstatement, TopUpReversal
from payments.tests.support import balance, open_topup, post_event


@pytest.fixture
def credited(alice, client, fake_stripe):
    """A $10.00 top-up, paid and credited."""
    topup = open_topup(alice, "10.00")
    assert post_event(client, fake_stripe.pay(topup.stripe_session_id)).json()["outcome"] == "credited"
    return topup


def outcome(client, event) -> str:
    response = post_event(client, event)
    assert response.status_code == 200, response.content
    return response.json()["outcome"]


def entries(topup):
    return sorted(LedgerEntry.objects.filter(topup=topup).exclude(kind="topup").values_list("kind", "amount"))


def dispute_id(event) -> str:
    return event.data["data"]["object"]["id"]


def test_a_won_dispute_gives_the_debit_back_once(alice, client, fake_stripe, credited):
    opened = fake_stripe.dispute(credited.stripe_session_id)
    assert outcome(client, opened) == "debited"
    assert balance(alice) == Decimal("0.00")
    won = fake_stripe.close_dispute(dispute_id(opened), status="won")

    outcomes = [outcome(client, won) for _ in range(3)]

    assert outcomes == ["reinstated", "already_reinstated", "already_reinstated"]
    assert balance(alice) == Decimal("10.00")
    assert entries(credited) == [("dispute", Decimal("-10.00")), ("reinstated", Decimal("10.00"))]
    reinstatement = TopUpReinstatement.objects.get()
    assert (reinstatement.reason, reinstatement.amount, reinstatement.stripe_id) == (
        "dispute_won", Decimal("10.00"), dispute_id(opened))
    assert reinstatement.reversal == TopUpReversal.objects.get()
    assert (reinstatement.ledger_entry.topup_id, reinstatement.ledger_entry.memo) == (
        credited.pk, f"card top-up reinstated: dispute won ({dispute_id(opened)})")
    assert ledger_mismatches() == []
    # The dispute's own redelivery after that still takes nothing.
    assert outcome(client, opened) == "already_debited" and balance(alice) == Decimal("10.00")


def test_an_inquiry_closed_without_a_chargeback_gives_the_debit_back(alice, client, fake_stripe, credited):
    opened = fake_stripe.dispute(credited.stripe_session_id)
    outcome(client, opened)

    assert outcome(client, fake_stripe.close_dispute(dispute_id(opened), status="warning_closed")) == "reinstated"
    assert balance(alice) == Decimal("10.00")
    assert TopUpReinstatement.objects.get().reason == "inquiry_closed"


def test_a_lost_dispute_changes_nothing_more(alice, client, fake_stripe, credited):
    opened = fake_stripe.dispute(credited.stripe_session_id)
    outcome(client, opened)

    assert outcome(client, fake_stripe.close_dispute(dispute_id(opened), status="lost")) == "already_debited"
    assert balance(alice) == Decimal("0.00") and not TopUpReinstatement.objects.exists()


def test_a_lost_dispute_whose_opening_was_missed_is_debited_once(alice, client, fake_stripe, credited):
    opened = fake_stripe.dispute(credited.stripe_session_id)  # charge.dispute.created never reaches us
    lost = fake_stripe.close_dispute(dispute_id(opened), status="lost")

    assert [outcome(client, lost), outcome(client, lost), outcome(client, opened)] == [
        "debited", "already_debited", "already_debited"]
    assert entries(credited) == [("dispute", Decimal("-10.00"))]


def test_a_won_dispute_that_was_never_debited_gives_nothing_and_blocks_a_late_debit(alice, client, fake_stripe,
                                                                                     credited):
    opened = fake_stripe.dispute(credited.stripe_session_id)
    won = fake_stripe.close_dispute(dispute_id(opened), status="won")

    # Stripe does not promise order: the closing arrives before the opening.
    assert outcome(client, won) == "nothing_to_reinstate"
    assert outcome(client, opened) == "ignored"
    assert outcome(client, won) == "already_reinstated"

    assert balance(alice) == Decimal("10.00") and entries(credited) == []
    marker = TopUpReinstatement.objects.get()
    assert (marker.amount, marker.reversal, marker.ledger_entry) == (Decimal("0.00"), None, None)
    assert "nothing taken back" in PaymentEvent.objects.get(outcome="ignored").detail


def test_a_capped_dispute_gives_back_only_what_it_took(alice, client, fake_stripe, credited):
    outcome(client, fake_stripe.refund(credited.stripe_session_id, amount=400))
    opened = fake_stripe.dispute(credited.stripe_session_id)  # $10.00 disputed, $6.00 left to take
    assert outcome(client, opened) == "debited" and balance(alice) == Decimal("0.00")

    assert outcome(client, fake_stripe.close_dispute(dispute_id(opened))) == "reinstated"

    assert balance(alice) == Decimal("6.00")
    assert TopUpReinstatement.objects.get().amount == Decimal("6.00")
    assert ledger_mismatches() == []


def test_a_failed_refund_gives_its_debit_back_once(alice, client, fake_stripe, credited):
    assert outcome(client, fake_stripe.refund(credited.stripe_session_id, amount=300)) == "debited"
    [refund_id] = fake_stripe.refund_ids(credited.stripe_session_id)
    failed = fake_stripe.update_refund(refund_id, status="failed")

    assert [outcome(client, failed) for _ in range(3)] == ["reinstated", "already_reinstated", "already_reinstated"]

    assert balance(alice) == Decimal("10.00")
    assert entries(credited) == [("reinstated", Decimal("3.00")), ("topup_refund", Decimal("-3.00"))]
    assert TopUpReinstatement.objects.get().reason == "refund_failed"
    assert ledger_mismatches() == []


def test_a_cancelled_refund_gives_its_debit_back(alice, client, fake_stripe, credited):
    outcome(client, fake_stripe.refund(credited.stripe_session_id))
    [refund_id] = fake_stripe.refund_ids(credited.stripe_session_id)

    assert outcome(client, fake_stripe.update_refund(refund_id, status="canceled")) == "reinstated"
    assert balance(alice) == Decimal("10.00") and TopUpReinstatement.objects.get().reason == "refund_canceled"


def test_a_refund_that_failed_before_it_was_debited_is_never_debited(alice, client, fake_stripe, credited):
    refunded = fake_stripe.refund(credited.stripe_session_id)
    [refund_id] = fake_stripe.refund_ids(credited.stripe_session_id)
    pending = fake_stripe.event("charge.refund.updated", {**fake_stripe.refunds[refund_id], "status": "pending"})
    failed = fake_stripe.update_refund(refund_id, status="failed")

    assert outcome(client, failed) == "nothing_to_reinstate"
    # Late and out of order: Stripe now lists the refund as failed, and the stale "pending" update
    # meets the reinstatement row.
    assert outcome(client, refunded) == "ignored"
    assert outcome(client, pending) == "ignored"

    assert balance(alice) == Decimal("10.00") and entries(credited) == []


def test_a_refund_update_debits_a_refund_whose_charge_refunded_was_missed(alice, client, fake_stripe, credited):
    refunded = fake_stripe.refund(credited.stripe_session_id, amount=250)  # never delivered at first
    [refund_id] = fake_stripe.refund_ids(credited.stripe_session_id)
    updated = fake_stripe.update_refund(refund_id, status="succeeded")

    assert [outcome(client, updated), outcome(client, refunded)] == ["debited", "already_debited"]
    assert entries(credited) == [("topup_refund", Decimal("-2.50"))]


def test_money_given_back_may_be_taken_again_by_a_new_refund(alice, client, fake_stripe, credited):
    outcome(client, fake_stripe.refund(credited.stripe_session_id))
    [first] = fake_stripe.refund_ids(credited.stripe_session_id)
    outcome(client, fake_stripe.update_refund(first, status="failed"))
    assert balance(alice) == Decimal("10.00")

    # The merchant refunds again, and this one goes through: the whole $10.00 may be taken once more.
    assert outcome(client, fake_stripe.refund(credited.stripe_session_id)) == "debited"  # the failed one is not listed as giving money back
    assert balance(alice) == Decimal("0.00")
    assert ledger_mismatches() == []


def test_updates_for_payments_that_are_not_ours_are_acknowledged_and_flagged(client, db, fake_stripe):
    session_id = fake_stripe.add_session(amount_total=2000)
    fake_stripe.pay(session_id)
    fake_stripe.refund(session_id)
    [refund_id] = fake_stripe.refund_ids(session_id)
    opened = fake_stripe.dispute(session_id)

    assert outcome(client, fake_stripe.update_refund(refund_id, status="failed")) == "unknown_payment"
    assert outcome(client, fake_stripe.close_dispute(dispute_id(opened))) == "unknown_payment"
    assert not LedgerEntry.objects.exists() and not TopUpReinstatement.objects.exists()


def test_a_dispute_closed_with_another_status_is_ignored(alice, client, fake_stripe, credited):
    opened = fake_stripe.dispute(credited.stripe_session_id)
    outcome(client, opened)
    odd = fake_stripe.event("charge.dispute.closed", {**fake_stripe.disputes[dispute_id(opened)], "status": "charge_refunded"})

    assert outcome(client, odd) == "ignored"
    assert balance(alice) == Decimal("0.00") and not TopUpReinstatement.objects.exists()
