"""Card top-ups: open a Checkout Session, credit it once when Stripe says it is paid, take back its
refunds and disputes, and give back the ones Stripe gave back (a refund that failed, a dispute won).
The dashboard, the API, the webhook, the mock checkout and reconcile_payments all call these
functions.

No network I/O inside a transaction: create_topup commits the row, asks the gateway, then stores
the session id with a conditional update. A credit or debit locks the account row first
(accounts.services.lock_account), the same order as a purchase, then changes the top-up with a
conditional update, so any number of concurrent redeliveries move money once. Every event leaves
a PaymentEvent row saying what it did; the ones a person must look at are flagged.
"""
from __future__ import annotations

import logging
import uuid
from dataclasses import dataclass
from decimal import Decimal

from django.conf import settings
from django.db import IntegrityError, transaction
from django.db.models import Sum
from django.urls import reverse
from django.utils import timezone

from accounts import services as accounts
from accounts.models import LedgerEntry, User
from accounts.money import InvalidAmount, money_str, parse_amount
from payments import gateway
from payments.gateway import Charge, Dispute, GatewayError, Refund, Session
from payments.models import PaymentEvent, TopUp, TopUpReinstatement, TopUpReversal

log = logging.getLogger(__name__)
CENT = Decimal("0.01")
Outcome = PaymentEvent.Outcome
Status = TopUp.Status
# Refunds that give (or are giving) the money back: a failed or cancelled one gave nothing.
REFUNDS_TO_DEBIT = {"succeeded", "pending", "requires_action"}
Reason = TopUpReinstatement.Reason
# Refund statuses that gave nothing back after all (both final): what their debit took is given back.
REFUND_GIVEN_BACK = {"failed": Reason.REFUND_FAILED, "canceled": Reason.REFUND_CANCELED}
# Dispute statuses of charge.dispute.closed that leave the money with us: won, or an inquiry closed
# without becoming a chargeback (Stripe never withdrew funds for it).
DISPUTE_GIVEN_BACK = {"won": Reason.DISPUTE_WON, "warning_closed": Reason.INQUIRY_CLOSED}
# Outcomes reconcile_payments meets on every run: counted, not written down each time.
ROUTINE_FOR_RECONCILE = {Outcome.ALREADY_CREDITED, Outcome.UNKNOWN_SESSION}


class InvalidTopUpAmount(ValueError):
    """The amount is malformed, has more than 2 decimal places, or is outside TOPUP_MIN..TOPUP_MAX."""


class PaymentsUnavailable(Exception):
    """The payment gateway could not be asked; nothing was charged."""

    code = "payments_unavailable"

    def __init__(self, message: str):
        self.message = message
        super().__init__(message)


@dataclass(frozen=True)
class Via:
    """Where a call comes from, for the PaymentEvent row it leaves."""

    source: str = PaymentEvent.Source.WEBHOOK
    event_id: str = ""
    event_type: str = ""


# --- opening a top-up ----------------------------------------------------------------------------

def parse_topup_amount(raw) -> Decimal:
    """The amount as an exact Decimal. Raises InvalidTopUpAmount."""
    message = (f"Enter an amount from ${settings.TOPUP_MIN} to ${settings.TOPUP_MAX}, "
               "with at most 2 decimal places (like 10 or 12.50).")
    try:
        amount = parse_amount(raw)
    except InvalidAmount:
        raise InvalidTopUpAmount(message) from None
    if not settings.TOPUP_MIN <= amount <= settings.TOPUP_MAX:
        raise InvalidTopUpAmount(message)
    return amount


def create_topup(*, user: User, amount, site_url: str) -> TopUp:
    """Record a pending top-up and open its Checkout Session; the returned top-up has its checkout_url.

    `site_url` is our scheme and host, for Stripe's success and cancel redirects. Raises
    InvalidTopUpAmount (nothing recorded) and PaymentsUnavailable (the top-up is marked failed).
    """
    amount = parse_topup_amount(amount)
    topup = TopUp.objects.create(owner=user, amount=amount)
    site_url = site_url.rstrip("/")
    try:
        # The row above is committed: if this process stops during the call, the top-up stays
        # pending without a session; a session Stripe opened for it is adopted by its
        # client_reference_id if it is ever paid (see _topup_for).
        session = gateway.current().create_session(
            topup_id=str(topup.pk), amount_cents=topup.amount_cents, currency=topup.currency,
            description=f"Namaskah balance top-up (${money_str(amount)})", customer_email=user.email,
            success_url=site_url + reverse("topup-success", args=[topup.pk]),
            cancel_url=site_url + reverse("topup-cancelled", args=[topup.pk]),
        )
    except GatewayError as exc:
        log.warning("top-up %s: no checkout session: %s", topup.pk, exc)
        TopUp.objects.filter(pk=topup.pk, status=Status.PENDING).update(
            status=Status.FAILED, failure_reason=str(exc)[:255], updated_at=timezone.now())
        raise PaymentsUnavailable("Card payments are unavailable right now; nothing was charged. "
                                  "Please try again in a minute.") from exc
    TopUp.objects.filter(pk=topup.pk, stripe_session_id__isnull=True).update(
        stripe_session_id=session.id, checkout_url=session.url, updated_at=timezone.now())
    topup.refresh_from_db()
    return topup


def cancel_checkout(*, topup: TopUp) -> TopUp:
    """The customer left Stripe's page: close the session so it cannot be paid later, and mark the
    top-up expired. If Stripe refuses (the session was paid meanwhile) or cannot be asked, nothing
    changes here: a payment is still credited by its webhook, an open session expires by itself."""
    if topup.status != Status.PENDING or not topup.stripe_session_id:
        return topup
    try:
        session = gateway.current().expire_session(session_id=topup.stripe_session_id)
    except GatewayError as exc:
        log.info("top-up %s: session %s not expired: %s", topup.pk, topup.stripe_session_id, exc)
    else:
        if session.status == "expired":
            TopUp.objects.filter(pk=topup.pk, status=Status.PENDING).update(
                status=Status.EXPIRED, updated_at=timezone.now())
    topup.refresh_from_db()
    return topup


# --- settling a session --------------------------------------------------------------------------

def credit_paid_session(*, session: Session, via: Via = Via()) -> str:
    """Credit the top-up behind a paid Checkout Session exactly once; returns the outcome.

    The one credit path: checkout.session.completed, async_payment_succeeded and
    reconcile_payments all come here. The amount and currency are the session's (Stripe's word),
    checked against the top-up; an unknown session, an unpaid one, another currency or another
    amount credits nothing and is recorded.
    """
    topup = _topup_for(session)
    refusal = _refusal(session, topup)
    if refusal is not None:
        outcome, detail = refusal
        if outcome == Outcome.AWAITING_PAYMENT:
            _remember_payment_intent(topup.pk, session.payment_intent)
        return _note(via, session.id, outcome, detail, topup)
    before = topup.status
    now = timezone.now()
    entry = None
    try:
        with transaction.atomic():
            account = accounts.lock_account(user=topup.owner)
            # Under the account lock only one caller sees the top-up unpaid. Any state but paid is
            # credited: Stripe says the money arrived, whatever we had concluded (a session we
            # marked failed when its creation timed out, say).
            if TopUp.objects.filter(pk=topup.pk).exclude(status=Status.PAID).update(
                    status=Status.PAID, paid_at=now, updated_at=now,
                    stripe_payment_intent=session.payment_intent or topup.stripe_payment_intent):
                entry = accounts.credit_topup_locked(account=account, topup=topup, amount=topup.amount,
                                                     memo=f"card top-up ({session.id})")
    except IntegrityError as exc:
        # ledger_one_credit_per_topup, or a payment intent already on another top-up.
        topup.refresh_from_db()
        if topup.status != Status.PAID:
            return _note(via, session.id, Outcome.WRONG_STATE, f"not credited: {exc}"[:500], topup)
    if entry is None:
        return _note(via, session.id, Outcome.ALREADY_CREDITED, "", topup)
    if before != Status.PENDING:
        log.warning("top-up %s was %s and is now paid by session %s", topup.pk, before, session.id)
    return _note(via, session.id, Outcome.CREDITED,
                 f"${topup.amount} credited (was {before}); balance ${entry.balance_after}", topup)


@dataclass(frozen=True)
class Preview:
    """What credit_paid_session would do with a session, read without writing anything."""

    outcome: str
    topup: TopUp | None
    detail: str = ""


def preview_paid_session(*, session: Session) -> Preview:
    """The outcome credit_paid_session would have now (credited, already_credited, unknown_session or
    a mismatch), from the same checks, changing nothing: for reconcile_payments --dry-run."""
    topup = _topup_for(session, adopt=False)
    refusal = _refusal(session, topup)
    if refusal is not None:
        return Preview(refusal[0], topup, refusal[1])
    if topup.status == Status.PAID:
        return Preview(Outcome.ALREADY_CREDITED, topup)
    return Preview(Outcome.CREDITED, topup, f"${topup.amount} would be credited (top-up is {topup.status})")


def _refusal(session: Session, topup: TopUp | None) -> tuple[str, str] | None:
    """Why a session credits nothing (outcome, detail), or None when it may be credited. The amount
    and currency are the session's (Stripe's word), checked against the top-up."""
    if topup is None:
        return Outcome.UNKNOWN_SESSION, f"paid session not opened by us (client_reference_id={session.client_reference_id!r})"
    if session.payment_status != "paid":
        return Outcome.AWAITING_PAYMENT, f"payment_status={session.payment_status!r}"
    if session.currency != topup.currency:
        return (Outcome.CURRENCY_MISMATCH,
                f"paid {session.amount_total} in {session.currency!r}; the top-up is {topup.currency}")
    if session.amount_total != topup.amount_cents:
        return Outcome.AMOUNT_MISMATCH, f"paid {session.amount_total} cents; the top-up is {topup.amount_cents} cents"
    return None


def close_session(*, session: Session, status: str, via: Via = Via()) -> str:
    """An expired session (status expired) or a failed delayed payment (status failed): the pending
    top-up takes that status. Returns the outcome; a paid top-up is never reopened."""
    outcome = Outcome.EXPIRED if status == Status.EXPIRED else Outcome.FAILED
    topup = _topup_for(session)
    if topup is None:
        # No money moved: worth a log line, not a person's time.
        return _note(via, session.id, Outcome.UNKNOWN_SESSION, "", attention=False)
    TopUp.objects.filter(pk=topup.pk, status=Status.PENDING).update(status=status, updated_at=timezone.now())
    topup.refresh_from_db()
    if topup.status != status:
        return _note(via, session.id, Outcome.WRONG_STATE, f"the top-up is {topup.status}; {via.event_type} ignored",
                     topup)
    return _note(via, session.id, outcome, "", topup)


# --- money taken back ----------------------------------------------------------------------------

def record_refunds(*, charge: Charge, via: Via = Via()) -> list[str]:
    """Debit each refund of a top-up's charge not debited before (once per Stripe refund id).

    Stripe's charge.refunded event does not list the refunds, so they are asked for. Raises
    GatewayError if Stripe cannot be asked (the webhook answers 503 and Stripe redelivers).
    """
    topup = _topup_for_payment(charge.payment_intent)
    if topup is None:
        return [_note(via, charge.id, Outcome.UNKNOWN_PAYMENT, f"refund of payment_intent={charge.payment_intent!r}")]
    refunds = gateway.current().refunds_for_charge(charge_id=charge.id)
    # Stripe lists the newest first: the ledger takes them in the order they happened.
    outcomes = [record_refund(topup=topup, refund=refund, via=via)
                for refund in reversed(refunds) if refund.status in REFUNDS_TO_DEBIT]
    return outcomes or [_note(via, charge.id, Outcome.IGNORED, "no refund that gave money back", topup)]


def record_refund(*, topup: TopUp, refund: Refund, via: Via = Via()) -> str:
    """Debit one Stripe refund of a top-up, once. Returns the outcome."""
    return _take_back(topup=topup, kind=TopUpReversal.Kind.REFUND, stripe_id=refund.id, cents=refund.amount,
                      currency=refund.currency, via=via)


def record_dispute(*, dispute: Dispute, via: Via = Via()) -> str:
    """Debit a dispute (chargeback) opened on a top-up's payment, once per dispute id."""
    topup = _topup_for_payment(dispute.payment_intent)
    if topup is None:
        return _note(via, dispute.id, Outcome.UNKNOWN_PAYMENT, f"dispute of payment_intent={dispute.payment_intent!r}")
    return _take_back(topup=topup, kind=TopUpReversal.Kind.DISPUTE, stripe_id=dispute.id, cents=dispute.amount,
                      currency=dispute.currency, via=via)


def record_refund_update(*, refund: Refund, via: Via = Via()) -> str:
    """charge.refund.updated: a refund that failed or was cancelled gives back what its debit took,
    once; one still giving money back is debited once, like charge.refunded (if that was missed)."""
    topup = _topup_for_payment(refund.payment_intent)
    if topup is None:
        return _note(via, refund.id, Outcome.UNKNOWN_PAYMENT, f"refund of payment_intent={refund.payment_intent!r}")
    if refund.status in REFUND_GIVEN_BACK:
        return _give_back(topup=topup, stripe_id=refund.id, reason=REFUND_GIVEN_BACK[refund.status], via=via)
    if refund.status in REFUNDS_TO_DEBIT:
        return record_refund(topup=topup, refund=refund, via=via)
    return _note(via, refund.id, Outcome.IGNORED, f"refund status {refund.status!r}", topup)


def record_dispute_closed(*, dispute: Dispute, via: Via = Via()) -> str:
    """charge.dispute.closed: won (or an inquiry closed) gives back what the dispute's debit took,
    once; lost debits it if charge.dispute.created never arrived (still once per dispute)."""
    topup = _topup_for_payment(dispute.payment_intent)
    if topup is None:
        return _note(via, dispute.id, Outcome.UNKNOWN_PAYMENT, f"dispute of payment_intent={dispute.payment_intent!r}")
    if dispute.status in DISPUTE_GIVEN_BACK:
        return _give_back(topup=topup, stripe_id=dispute.id, reason=DISPUTE_GIVEN_BACK[dispute.status], via=via)
    if dispute.status == "lost":
        return record_dispute(dispute=dispute, via=via)
    return _note(via, dispute.id, Outcome.IGNORED, f"dispute closed with status {dispute.status!r}", topup)


def note_ignored(*, via: Via, object_id: str) -> str:
    """An event we receive but do not use: acknowledged and written down."""
    return _note(via, object_id, Outcome.IGNORED)


class _AlreadyTakenBack(Exception):
    pass


class _GivenBackBeforeDebit(Exception):
    pass


def _take_back(*, topup: TopUp, kind: str, stripe_id: str, cents: int | None, currency: str, via: Via) -> str:
    if not stripe_id or not cents or cents <= 0:
        return _note(via, stripe_id, Outcome.AMOUNT_MISMATCH, f"{kind} without an id or a positive amount", topup)
    if currency != topup.currency:
        return _note(via, stripe_id, Outcome.CURRENCY_MISMATCH,
                     f"{kind} in {currency!r}; the top-up is {topup.currency}", topup)
    if TopUpReversal.objects.filter(stripe_id=stripe_id).exists():
        return _note(via, stripe_id, Outcome.ALREADY_DEBITED, "", topup)
    wanted = (Decimal(cents) / 100).quantize(CENT)
    ledger_kind = LedgerEntry.Kind.TOPUP_REFUND if kind == TopUpReversal.Kind.REFUND else LedgerEntry.Kind.DISPUTE
    try:
        with transaction.atomic():
            account = accounts.lock_account(user=topup.owner)
            if TopUpReversal.objects.filter(stripe_id=stripe_id).exists():  # re-checked under the lock
                raise _AlreadyTakenBack
            if TopUpReinstatement.objects.filter(stripe_id=stripe_id).exists():
                # Its failure or the won dispute arrived first (Stripe does not promise order).
                raise _GivenBackBeforeDebit
            # Never take back more than the top-up brought: a dispute of an already refunded
            # payment must not charge the customer twice for the same dollars. What was given
            # back since (a failed refund) may be taken again.
            amount = min(wanted, topup.amount - _taken_back(topup))
            if amount <= 0:
                return _note(via, stripe_id, Outcome.WRONG_STATE,
                             f"{kind} of ${wanted}: the top-up's ${topup.amount} was already taken back", topup)
            entry = accounts.debit_topup_reversal_locked(
                account=account, topup=topup, kind=ledger_kind, amount=amount,
                memo=f"card top-up {'refunded' if kind == TopUpReversal.Kind.REFUND else 'disputed'} ({stripe_id})")
            TopUpReversal.objects.create(topup=topup, kind=kind, stripe_id=stripe_id, amount=amount, ledger_entry=entry)
            # Taken back before we credited it (a delayed payment still settling): the books are right
            # once it is credited, but a person should look.
            uncredited = not TopUp.objects.filter(pk=topup.pk, status=Status.PAID).exists()
    except _GivenBackBeforeDebit:
        return _note(via, stripe_id, Outcome.IGNORED, f"{kind} already settled for the customer: nothing taken back",
                     topup)
    except (_AlreadyTakenBack, IntegrityError):
        # IntegrityError: topup_reversal_once_per_stripe_id caught a twin the lock did not (SQLite).
        return _note(via, stripe_id, Outcome.ALREADY_DEBITED, "", topup)
    capped = f" (capped from ${wanted})" if amount != wanted else ""
    unpaid = " before the top-up was credited" if uncredited else ""
    return _note(via, stripe_id, Outcome.DEBITED,
                 f"${amount} taken back{capped}{unpaid}; balance ${entry.balance_after}", topup, attention=uncredited)


class _AlreadyGivenBack(Exception):
    pass


def _give_back(*, topup: TopUp, stripe_id: str, reason: str, via: Via) -> str:
    label = Reason(reason).label.lower()
    if not stripe_id:
        return _note(via, stripe_id, Outcome.IGNORED, f"{label} without an id", topup)
    if TopUpReinstatement.objects.filter(stripe_id=stripe_id).exists():
        return _note(via, stripe_id, Outcome.ALREADY_REINSTATED, "", topup)
    entry = None
    try:
        with transaction.atomic():
            # The same lock as the debit: a reversal and its reinstatement never pass each other.
            account = accounts.lock_account(user=topup.owner)
            if TopUpReinstatement.objects.filter(stripe_id=stripe_id).exists():  # re-checked under the lock
                raise _AlreadyGivenBack
            reversal = TopUpReversal.objects.filter(stripe_id=stripe_id, topup=topup).first()
            if reversal is None:
                # Nothing was taken back (the debit never came, or found nothing left to take): the
                # row alone stays, so a late delivery of the refund or dispute takes nothing either.
                TopUpReinstatement.objects.create(topup=topup, stripe_id=stripe_id, reason=reason, amount=Decimal("0"))
            else:
                # What the debit took, not what Stripe's object says: a capped debit gives back its cap.
                entry = accounts.credit_reinstated_locked(account=account, topup=topup, amount=reversal.amount,
                                                          memo=f"card top-up reinstated: {label} ({stripe_id})")
                TopUpReinstatement.objects.create(topup=topup, stripe_id=stripe_id, reason=reason, reversal=reversal,
                                                  amount=reversal.amount, ledger_entry=entry)
    except _AlreadyGivenBack:
        return _note(via, stripe_id, Outcome.ALREADY_REINSTATED, "", topup)
    except IntegrityError:
        # topup_reinstatement_once_per_stripe_id caught a twin the lock did not (SQLite); any other
        # constraint is a bug and must not pass for a redelivery.
        if not TopUpReinstatement.objects.filter(stripe_id=stripe_id).exists():
            raise
        return _note(via, stripe_id, Outcome.ALREADY_REINSTATED, "", topup)
    if entry is None:
        return _note(via, stripe_id, Outcome.NOTHING_TO_REINSTATE, f"{label}: nothing had been taken back", topup)
    return _note(via, stripe_id, Outcome.REINSTATED,
                 f"${entry.amount} given back ({label}); balance ${entry.balance_after}", topup)


def _taken_back(topup: TopUp) -> Decimal:
    """What reversals took from the top-up, less what reinstatements gave back; call under the lock."""
    taken = TopUpReversal.objects.filter(topup=topup).aggregate(total=Sum("amount"))["total"] or Decimal("0")
    given = TopUpReinstatement.objects.filter(topup=topup).aggregate(total=Sum("amount"))["total"] or Decimal("0")
    return taken - given


# --- helpers -------------------------------------------------------------------------------------

def _topup_for(session: Session, *, adopt: bool = True) -> TopUp | None:
    if not session.id:
        return None
    topup = TopUp.objects.select_related("owner").filter(stripe_session_id=session.id).first()
    if topup is not None:
        return topup
    try:
        pk = uuid.UUID(session.topup_ref)
    except ValueError:
        return None
    if not adopt:
        return TopUp.objects.select_related("owner").filter(pk=pk, stripe_session_id__isnull=True).first()
    # A session we opened but never stored (the process stopped between Stripe's answer and our
    # write): adopted once, by the top-up id it carries.
    try:
        with transaction.atomic():
            adopted = TopUp.objects.filter(pk=pk, stripe_session_id__isnull=True).update(
                stripe_session_id=session.id, updated_at=timezone.now())
    except IntegrityError:
        adopted = 0  # a concurrent delivery of the same session adopted it first
    if adopted:
        log.warning("top-up %s adopted its session %s", pk, session.id)
    # Adopted now, or by a concurrent delivery of the same event a moment ago.
    return TopUp.objects.select_related("owner").filter(stripe_session_id=session.id).first()


def _topup_for_payment(payment_intent: str) -> TopUp | None:
    """The top-up a refund or dispute belongs to. Raises GatewayError if Stripe must be asked and cannot be.

    A payment intent we have not stored yet (its session's webhook is late or lost, and
    reconcile_payments has not run) is asked of Stripe: the intent carries our top-up id in its
    metadata. Acknowledging the refund as "not ours" instead would let the later credit stand
    with the refund never taken back.
    """
    if not payment_intent:
        return None
    topup = TopUp.objects.select_related("owner").filter(stripe_payment_intent=payment_intent).first()
    if topup is not None:
        return topup
    try:
        pk = uuid.UUID(gateway.current().topup_ref_for_payment(payment_intent=payment_intent))
    except ValueError:
        return None
    _remember_payment_intent(pk, payment_intent)
    return TopUp.objects.select_related("owner").filter(stripe_payment_intent=payment_intent).first()


def _remember_payment_intent(topup_id, payment_intent: str) -> None:
    # A delayed payment can be refunded or disputed before we hear it succeeded: keep its intent.
    if payment_intent:
        try:
            with transaction.atomic():
                TopUp.objects.filter(pk=topup_id, stripe_payment_intent="").update(stripe_payment_intent=payment_intent)
        except IntegrityError:
            log.warning("top-up %s: payment intent %s belongs to another top-up", topup_id, payment_intent)


def _note(via: Via, object_id: str, outcome: str, detail: str = "", topup: TopUp | None = None, *,
          attention: bool | None = None) -> str:
    needs_attention = outcome in PaymentEvent.ATTENTION if attention is None else attention
    (log.warning if needs_attention else log.info)(
        "stripe %s %s: %s %s", via.event_type or via.source, object_id, outcome, detail)
    if via.source == PaymentEvent.Source.RECONCILE and (
            outcome in ROUTINE_FOR_RECONCILE
            or PaymentEvent.objects.filter(object_id=object_id, outcome=outcome).exists()):
        return outcome  # every run meets these again: the row from the first time is enough
    PaymentEvent.objects.create(source=via.source, stripe_event_id=via.event_id, event_type=via.event_type,
                                object_id=object_id, topup=topup, outcome=outcome, needs_attention=needs_attention,
                                detail=detail[:500])
    return outcome
