"""Card top-ups through Stripe Checkout: the top-up, what Stripe took back from it, and the events
we received about them.

A TopUp is credited once, by payments.services.credit_paid_session, with a ledger entry that points
at it (accounts.LedgerEntry.topup); refunds and disputes are TopUpReversal rows, each with the
ledger entry that debited it; a refund that failed or a dispute that was won is a
TopUpReinstatement, with the ledger entry that gave the money back. Money moves only in
accounts.services; these rows record why.
"""
from __future__ import annotations

import uuid

from django.conf import settings
from django.db import models
from django.db.models import Q
from django.utils import timezone


class TopUp(models.Model):
    class Status(models.TextChoices):
        PENDING = "pending", "Pending"
        PAID = "paid", "Paid"
        EXPIRED = "expired", "Expired"
        FAILED = "failed", "Failed"

    # A UUID: it travels to Stripe as client_reference_id and appears in URLs.
    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    owner = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="topups")
    amount = models.DecimalField(max_digits=12, decimal_places=2)
    currency = models.CharField(max_length=3, default="usd")
    status = models.CharField(max_length=16, choices=Status.choices, default=Status.PENDING)
    # Null until Stripe answered: the row exists before the network call (no I/O in a transaction).
    stripe_session_id = models.CharField(max_length=255, unique=True, null=True, blank=True)
    stripe_payment_intent = models.CharField(max_length=255, blank=True, default="")
    checkout_url = models.TextField(blank=True, default="")
    failure_reason = models.CharField(max_length=255, blank=True, default="")
    created_at = models.DateTimeField(default=timezone.now, db_index=True)
    updated_at = models.DateTimeField(default=timezone.now)
    paid_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at"]
        verbose_name = "top-up"
        constraints = [
            models.CheckConstraint(condition=Q(amount__gt=0), name="topup_amount_positive"),
            models.CheckConstraint(condition=~Q(status="paid") | Q(paid_at__isnull=False),
                                   name="topup_paid_has_paid_at"),
            # Refunds and disputes find their top-up by payment intent: it must name one top-up.
            models.UniqueConstraint(fields=["stripe_payment_intent"], condition=~Q(stripe_payment_intent=""),
                                    name="topup_one_per_payment_intent"),
        ]

    def __str__(self) -> str:
        return f"top-up ${self.amount} {self.status} ({self.owner_id})"

    @property
    def amount_cents(self) -> int:
        return int(self.amount * 100)


class TopUpReversal(models.Model):
    """Money Stripe took back from a paid top-up: one row per Stripe refund id or dispute id."""

    class Kind(models.TextChoices):
        REFUND = "refund", "Refund"
        DISPUTE = "dispute", "Dispute"

    topup = models.ForeignKey(TopUp, on_delete=models.PROTECT, related_name="reversals")
    kind = models.CharField(max_length=16, choices=Kind.choices)
    stripe_id = models.CharField(max_length=255)
    amount = models.DecimalField(max_digits=12, decimal_places=2)
    ledger_entry = models.OneToOneField("accounts.LedgerEntry", on_delete=models.PROTECT, related_name="topup_reversal")
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["-created_at"]
        constraints = [
            # Exactly once per refund or dispute, whatever redeliveries race: the debit's
            # transaction rolls back with a duplicate of this row.
            models.UniqueConstraint(fields=["stripe_id"], name="topup_reversal_once_per_stripe_id"),
            models.CheckConstraint(condition=Q(amount__gt=0), name="topup_reversal_amount_positive"),
        ]

    def __str__(self) -> str:
        return f"{self.kind} {self.stripe_id} ${self.amount}"


class TopUpReinstatement(models.Model):
    """A refund or dispute Stripe settled in the customer's favour: the refund failed or was
    cancelled, the dispute was won (or the inquiry closed without a chargeback). One row per Stripe
    refund or dispute id, whatever redeliveries race.

    With the reversal it gives back (and the ledger entry that did); without one when nothing had
    been taken back yet: the row then only stops a late debit of that refund or dispute.
    """

    class Reason(models.TextChoices):
        REFUND_FAILED = "refund_failed", "Refund failed"
        REFUND_CANCELED = "refund_canceled", "Refund cancelled"
        DISPUTE_WON = "dispute_won", "Dispute won"
        INQUIRY_CLOSED = "inquiry_closed", "Inquiry closed without a chargeback"

    topup = models.ForeignKey(TopUp, on_delete=models.PROTECT, related_name="reinstatements")
    stripe_id = models.CharField(max_length=255)
    reason = models.CharField(max_length=32, choices=Reason.choices)
    reversal = models.OneToOneField(TopUpReversal, on_delete=models.PROTECT, null=True, blank=True,
                                    related_name="reinstatement")
    amount = models.DecimalField(max_digits=12, decimal_places=2)
    ledger_entry = models.OneToOneField("accounts.LedgerEntry", on_delete=models.PROTECT, null=True, blank=True,
                                        related_name="topup_reinstatement")
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["-created_at"]
        constraints = [
            # Given back at most once per refund or dispute (and so per reversal).
            models.UniqueConstraint(fields=["stripe_id"], name="topup_reinstatement_once_per_stripe_id"),
            # Money moved exactly when something had been taken back: never a credit from nothing.
            models.CheckConstraint(
                condition=Q(reversal__isnull=False, ledger_entry__isnull=False, amount__gt=0)
                | Q(reversal__isnull=True, ledger_entry__isnull=True, amount=0),
                name="topup_reinstatement_money_iff_reversal"),
        ]

    def __str__(self) -> str:
        return f"{self.reason} {self.stripe_id} ${self.amount}"


class PaymentEvent(models.Model):
    """One Stripe event we received (or one session reconcile_payments settled), with what it did.

    Staff read the ones that need attention: money that arrived for a session we do not know, in
    another currency or for another amount is credited to nobody and must be looked at by a person.
    """

    class Source(models.TextChoices):
        WEBHOOK = "webhook", "Webhook"
        RECONCILE = "reconcile", "reconcile_payments"

    class Outcome(models.TextChoices):
        CREDITED = "credited", "Credited"
        ALREADY_CREDITED = "already_credited", "Already credited (no change)"
        AWAITING_PAYMENT = "awaiting_payment", "Completed, payment still pending"
        EXPIRED = "expired", "Marked expired"
        FAILED = "failed", "Marked failed"
        DEBITED = "debited", "Debited"
        ALREADY_DEBITED = "already_debited", "Already debited (no change)"
        REINSTATED = "reinstated", "Given back (refund failed, dispute won)"
        ALREADY_REINSTATED = "already_reinstated", "Already given back (no change)"
        NOTHING_TO_REINSTATE = "nothing_to_reinstate", "Nothing had been taken back"
        IGNORED = "ignored", "Ignored (event not used)"
        UNKNOWN_SESSION = "unknown_session", "Unknown session"
        UNKNOWN_PAYMENT = "unknown_payment", "Unknown payment"
        CURRENCY_MISMATCH = "currency_mismatch", "Other currency"
        AMOUNT_MISMATCH = "amount_mismatch", "Amount does not match"
        WRONG_STATE = "wrong_state", "Top-up in another state"

    ATTENTION = {Outcome.UNKNOWN_SESSION, Outcome.UNKNOWN_PAYMENT, Outcome.CURRENCY_MISMATCH,
                 Outcome.AMOUNT_MISMATCH, Outcome.WRONG_STATE}

    received_at = models.DateTimeField(default=timezone.now, db_index=True)
    source = models.CharField(max_length=16, choices=Source.choices, default=Source.WEBHOOK)
    stripe_event_id = models.CharField(max_length=255, blank=True, default="", db_index=True)
    event_type = models.CharField(max_length=100)
    object_id = models.CharField(max_length=255, blank=True, default="", db_index=True)
    topup = models.ForeignKey(TopUp, on_delete=models.PROTECT, null=True, blank=True, related_name="events")
    outcome = models.CharField(max_length=32, choices=Outcome.choices)
    needs_attention = models.BooleanField(default=False, db_index=True)
    detail = models.CharField(max_length=500, blank=True, default="")

    class Meta:
        ordering = ["-received_at", "-id"]

    def __str__(self) -> str:
        return f"{self.event_type} → {self.outcome}"


class MockCheckoutSession(models.Model):
    """Stripe's side of a Checkout Session when PAYMENTS=mock: the state the mock gateway keeps in
    place of Stripe's servers (empty with PAYMENTS=stripe). Only payments.gateway.mock writes it."""

    class Status(models.TextChoices):
        OPEN = "open", "Open"
        COMPLETE = "complete", "Complete"
        EXPIRED = "expired", "Expired"

    id = models.CharField(primary_key=True, max_length=64)
    amount_total = models.PositiveIntegerField()
    currency = models.CharField(max_length=3)
    client_reference_id = models.CharField(max_length=200, blank=True, default="")
    metadata = models.JSONField(default=dict)
    customer_email = models.CharField(max_length=254, blank=True, default="")
    success_url = models.TextField()
    cancel_url = models.TextField()
    status = models.CharField(max_length=16, choices=Status.choices, default=Status.OPEN)
    payment_status = models.CharField(max_length=16, default="unpaid")
    # Completed by a delayed method ("pay later") and waiting for the bank's answer.
    awaiting_payment = models.BooleanField(default=False)
    payment_intent = models.CharField(max_length=64, blank=True, default="")
    created_at = models.DateTimeField(default=timezone.now, db_index=True)

    def __str__(self) -> str:
        return f"{self.id} {self.status}/{self.payment_status}"
