"""manage.py reconcile_payments: the paid sessions a lost webhook missed are credited, once."""
from datetime import timedelta
from decimal import Decimal
from io import StringIO

import pytest
from django.core.management import CommandError, call_command
from django.utils import timezone

from accounts.models import LedgerEntry
from payments.gateway import mock
from payments.models import MockCheckoutSession, PaymentEvent, TopUp
from payments.tests.support import balance, open_topup, post_event


def reconcile(*args: str) -> str:
    out = StringIO()
    call_command("reconcile_payments", *args, stdout=out)
    return out.getvalue().strip()


def test_it_credits_a_session_whose_webhook_was_lost_and_only_once(alice, fake_stripe):
    topup = open_topup(alice, "25.00")
    fake_stripe.pay(topup.stripe_session_id)  # Stripe's event never reaches us

    first = reconcile()
    second = reconcile()

    assert first == ("reconcile_payments: 1 paid sessions in the last 3 days: 1 credited now, 0 already credited, "
                     "0 not ours (skipped), 0 need attention (see Payment events in admin)")
    assert "0 credited now, 1 already credited" in second
    topup.refresh_from_db()
    assert (topup.status, balance(alice)) == ("paid", Decimal("25.00"))
    assert LedgerEntry.objects.filter(topup=topup, kind="topup").count() == 1
    assert PaymentEvent.objects.get().source == "reconcile"  # the second run wrote nothing


def test_it_leaves_what_the_webhook_credited_alone(alice, client, fake_stripe):
    topup = open_topup(alice)
    post_event(client, fake_stripe.pay(topup.stripe_session_id))

    assert "0 credited now, 1 already credited" in reconcile()
    assert balance(alice) == Decimal("10.00")


def test_it_skips_and_counts_sessions_that_are_not_ours(alice, fake_stripe):
    for amount in (700, 900):
        fake_stripe.pay(fake_stripe.add_session(amount_total=amount, client_reference_id="shop-order"))
    fake_stripe.add_session(amount_total=500)  # open, unpaid: not listed as paid at all
    ours = open_topup(alice)
    fake_stripe.pay(ours.stripe_session_id)

    summary = reconcile()

    assert "3 paid sessions" in summary and "1 credited now" in summary and "2 not ours (skipped)" in summary
    assert balance(alice) == Decimal("10.00")
    assert not PaymentEvent.objects.filter(outcome="unknown_session").exists()  # counted, not a row per run


def test_it_reads_every_page_of_sessions(alice, fake_stripe):
    for _ in range(120):
        fake_stripe.pay(fake_stripe.add_session(amount_total=500))
    ours = open_topup(alice)
    fake_stripe.pay(ours.stripe_session_id)

    summary = reconcile()

    assert "121 paid sessions" in summary and "1 credited now" in summary and "120 not ours" in summary
    assert fake_stripe.requests.count(("GET", "/v1/checkout/sessions")) == 2  # 100 + 21


def test_it_looks_back_only_the_days_it_is_asked_to(alice, fake_stripe):
    old = open_topup(alice)
    fake_stripe.pay(old.stripe_session_id)
    fake_stripe.sessions[old.stripe_session_id]["created"] -= 5 * 24 * 3600

    assert "0 paid sessions in the last 3 days" in reconcile()
    assert "1 credited now" in reconcile("--days", "7")


def test_it_flags_a_paid_session_with_the_wrong_amount_once(alice, fake_stripe):
    topup = open_topup(alice)
    fake_stripe.pay(topup.stripe_session_id)
    fake_stripe.sessions[topup.stripe_session_id]["amount_total"] = 1

    assert "1 need attention" in reconcile()
    assert "1 need attention" in reconcile()
    assert PaymentEvent.objects.filter(outcome="amount_mismatch", needs_attention=True).count() == 1
    assert balance(alice) == Decimal("0.00")


def test_it_exits_non_zero_when_stripe_cannot_be_asked(alice, fake_stripe):
    topup = open_topup(alice)
    fake_stripe.pay(topup.stripe_session_id)
    fake_stripe.down = True

    with pytest.raises(CommandError) as exc:
        reconcile()

    assert exc.value.returncode == 1
    assert str(exc.value).startswith("reconcile_payments: Stripe could not be asked (")
    assert TopUp.objects.get().status == "pending"


@pytest.mark.parametrize("days", ["0", "91", "three", "-1", "2.5"])
def test_it_refuses_a_bad_number_of_days(days, db):
    with pytest.raises(CommandError) as exc:
        reconcile("--days", days)
    assert exc.value.returncode == 2
    assert "--days must be a whole number from 1 to 90" in str(exc.value)


def test_it_credits_a_lost_mock_payment_in_mock_mode(alice, settings):
    settings.PAYMENTS = "mock"
    topup = open_topup(alice, "5.00")
    # The mock's own state says paid (as Stripe's would) but no event was delivered.
    MockCheckoutSession.objects.filter(pk=topup.stripe_session_id).update(status="complete", payment_status="paid",
                                                                         payment_intent="pi_mock_lost")
    MockCheckoutSession.objects.create(id="cs_mock_elsewhere", amount_total=100, currency="usd", success_url="x",
                                       cancel_url="x", status="complete", payment_status="paid")
    MockCheckoutSession.objects.filter(pk="cs_mock_elsewhere").update(created_at=timezone.now() - timedelta(days=1))

    assert "2 paid sessions in the last 3 days: 1 credited now, 0 already credited, 1 not ours" in reconcile()
    topup.refresh_from_db()
    assert (topup.status, topup.stripe_payment_intent, balance(alice)) == ("paid", "pi_mock_lost", Decimal("5.00"))
    assert mock.checkout_session(topup.stripe_session_id).status == "complete"


@pytest.mark.parametrize("days", ["²", "٣", " ", "1e1", "007000"])
def test_it_refuses_days_that_only_look_like_numbers(days, db):
    with pytest.raises(CommandError) as exc:
        reconcile("--days", days)
    assert exc.value.returncode == 2 and "--days must be a whole number from 1 to 90" in str(exc.value)


def test_dry_run_lists_what_it_would_credit_and_changes_nothing(alice, bob, client, fake_stripe):
    lost = open_topup(alice, "25.00")
    fake_stripe.pay(lost.stripe_session_id)  # Stripe's event never reaches us
    delivered = open_topup(bob, "10.00")
    post_event(client, fake_stripe.pay(delivered.stripe_session_id))
    fake_stripe.pay(fake_stripe.add_session(amount_total=700, client_reference_id="shop-order"))
    events_before = PaymentEvent.objects.count()

    lines = reconcile("--dry-run").splitlines()

    assert lines == [
        f"would credit $25.00 to alice@example.com: top-up {lost.pk} (pending), session {lost.stripe_session_id}",
        "reconcile_payments --dry-run: 3 paid sessions in the last 3 days: 1 would be credited, 1 already credited, "
        "1 not ours (skipped), 0 need attention; nothing was changed",
    ]
    lost.refresh_from_db()
    assert (lost.status, balance(alice), balance(bob)) == ("pending", Decimal("0.00"), Decimal("10.00"))
    assert not LedgerEntry.objects.filter(topup=lost).exists()
    assert PaymentEvent.objects.count() == events_before  # not even a log row

    # The real run then credits exactly what the dry run listed.
    assert "1 credited now, 1 already credited, 1 not ours" in reconcile()
    assert balance(alice) == Decimal("25.00")


def test_dry_run_neither_adopts_a_session_nor_credits_it(alice, fake_stripe):
    topup = open_topup(alice, "10.00")
    session_id = topup.stripe_session_id
    TopUp.objects.filter(pk=topup.pk).update(stripe_session_id=None)  # stopped before storing the id
    fake_stripe.pay(session_id)

    assert reconcile("--dry-run").startswith(f"would credit $10.00 to alice@example.com: top-up {topup.pk}")
    topup.refresh_from_db()
    assert (topup.stripe_session_id, topup.status) == (None, "pending")

    assert "1 credited now" in reconcile()
    topup.refresh_from_db()
    assert (topup.stripe_session_id, topup.status, balance(alice)) == (session_id, "paid", Decimal("10.00"))


def test_dry_run_counts_a_mismatching_session_as_needing_attention_without_flagging_it(alice, fake_stripe):
    topup = open_topup(alice)
    fake_stripe.pay(topup.stripe_session_id)
    fake_stripe.sessions[topup.stripe_session_id]["amount_total"] = 1

    assert "0 would be credited, 0 already credited, 0 not ours (skipped), 1 need attention" in reconcile("--dry-run")
    assert not PaymentEvent.objects.exists()


def test_dry_run_still_exits_non_zero_when_stripe_cannot_be_asked(alice, fake_stripe):
    fake_stripe.down = True
    with pytest.raises(CommandError) as exc:
        reconcile("--dry-run")
    assert exc.value.returncode == 1
