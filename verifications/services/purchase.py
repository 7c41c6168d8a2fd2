"""Purchase: charge, rent a number (outside any transaction), store it, or give everything back."""
from __future__ import annotations

import hashlib
import json
from datetime import timedelta
from decimal import Decimal

from django.db import IntegrityError, transaction
from django.utils import timezone

from accounts import services as accounts
from accounts.models import User
from providers.base import ProviderRejected, ProviderUnavailable, Rental
from namaskah.db import release_db_connection
from verifications import checks, polling, routing
from verifications.errors import IdempotencyInProgress, IdempotencyKeyReused, NotAvailable, PriceAboveMax
from verifications.models import Capability, Country, Service, Verification
from verifications.services.common import (
    BUMP, Status, cancel_upstream_quietly, fail_and_refund, mark_orphan,
)

IDEMPOTENCY_WINDOW = timedelta(hours=24)
# ProviderUnavailable codes raised before any request left: no sale can have happened.
# (purchase_settled: routing found the verification settled before asking the next provider.)
NEVER_SENT = frozenset({"circuit_open", "not_configured", "no_provider_for_country", "cache_unavailable",
                        "purchase_settled"})


def fingerprint(*, service: str, country: str, capability: str) -> str:
    body = json.dumps({"service": service, "country": country, "capability": capability}, sort_keys=True)
    return hashlib.sha256(body.encode()).hexdigest()



# --- purchase ---------------------------------------------------------------------------------

def purchase(*, user: User, service: Service, country: Country, capability: str,
             idempotency_key: str | None = None, max_price: Decimal | None = None) -> tuple[Verification, bool]:
    """Charge, rent a number, and return (verification, created). `max_price` is the customer's
    cap, inclusive.

    Raises NotAvailable, PriceAboveMax (nothing charged), accounts.services.InsufficientBalance,
    IdempotencyKeyReused, IdempotencyInProgress, ProviderRejected / ProviderUnavailable (the charge
    already refunded).
    """
    plan = check_available(service=service, country=country, capability=capability)
    amount = plan.price
    if max_price is not None and amount > max_price:
        raise PriceAboveMax(price=amount, max_price=max_price)
    request_fp = fingerprint(service=service.slug, country=country.code, capability=capability)

    if idempotency_key:
        replay = _replay(user=user, key=idempotency_key, request_fp=request_fp)
        if replay:
            return replay, False
    try:
        with transaction.atomic():
            account = accounts.lock_account(user=user)
            # Re-checked under the account lock: concurrent requests with one key serialise here.
            if idempotency_key:
                replay = _replay(user=user, key=idempotency_key, request_fp=request_fp)
                if replay:
                    return replay, False
            if account.balance < amount:
                raise accounts.InsufficientBalance(balance=account.balance, required=amount)
            verification = Verification.objects.create(
                user=user, service=service, country=country, capability=capability, provider=plan.first,
                price=amount, idempotency_key=idempotency_key or None, request_fingerprint=request_fp,
            )
            accounts.charge_locked(account=account, verification=verification, amount=amount)
    except IntegrityError:
        # The key's unique constraint caught a concurrent twin that SQLite let past the lock check.
        replay = _replay(user=user, key=idempotency_key, request_fp=request_fp) if idempotency_key else None
        if replay:
            return replay, False
        raise

    release_db_connection()
    try:
        # The plan's providers in order, within this request: charged once, whoever sells.
        rental, provider = routing.rent(plan, verification=verification)
    except ProviderRejected as exc:
        fail_and_refund(verification, reason=f"{exc.code}: {exc.message}"[:255])
        raise
    except ProviderUnavailable as exc:
        # Unless nothing was sent (an open circuit, no configuration), the upstream may have sold
        # the number and only its answer was lost (a read timeout, a dropped connection).
        fail_and_refund(verification, reason=f"{exc.code}: {exc.message}"[:255], orphan=exc.code not in NEVER_SENT)
        raise
    except Exception:
        fail_and_refund(verification, reason="internal error while renting the number", orphan=True)
        raise
    _store_rental(verification, rental, provider)
    return verification, True


def check_available(*, service: Service, country: Country, capability: str) -> routing.Plan:
    """The plan this purchase would follow: its price and the providers to try, in order. Raises
    NotAvailable, ProviderUnavailable (no provider for the country here, every circuit open) or
    ProviderRejected(no_numbers) before anything is charged."""
    if not service.enabled or not country.enabled:
        raise NotAvailable(f"{service.name} in {country.name} is not available right now")
    if not service.supports(capability):
        raise NotAvailable(f"{service.name} does not offer {Capability(capability).label} verification")
    plan = routing.plan_for(service=service, country=country, capability=capability)
    # Fail fast before charging: a clear answer, no charge-and-refund churn.
    if not plan.available:
        raise plan.refusal()
    return plan


def _replay(*, user: User, key: str, request_fp: str) -> Verification | None:
    existing = Verification.objects.filter(user=user, idempotency_key=key).select_related("service", "country").first()
    if existing is None:
        return None
    if existing.created_at < timezone.now() - IDEMPOTENCY_WINDOW:
        # Keys are remembered for 24 h; after that the key is free for a new purchase.
        Verification.objects.filter(pk=existing.pk).update(idempotency_key=None)
        return None
    if existing.request_fingerprint != request_fp:
        raise IdempotencyKeyReused("This Idempotency-Key was already used with a different request body")
    if existing.status == Status.PENDING and not existing.phone_number:
        raise IdempotencyInProgress("The first request with this Idempotency-Key is still being processed")
    return existing


def _store_rental(verification: Verification, rental: Rental, provider) -> None:
    try:
        stored = Verification.objects.filter(pk=verification.pk, status=Status.PENDING, provider_ref="").update(
            provider_ref=rental.reference, phone_number=rental.phone_number, expires_at=rental.expires_at,
            next_check_at=checks.first_check_at(), **BUMP,
        )
    except Exception:
        given_back = cancel_upstream_quietly(provider, rental.reference)
        fail_and_refund(verification, reason="could not store the rented number", orphan=not given_back)
        raise
    if not stored:
        # Settled meanwhile (e.g. reconcile failed it): nobody will use this number, give it back.
        if not cancel_upstream_quietly(provider, rental.reference):
            mark_orphan(verification.pk)
        verification.refresh_from_db()
        return
    polling.changed(verification.pk, capability=verification.capability)
    verification.provider_ref = rental.reference
    verification.phone_number = rental.phone_number
    verification.expires_at = rental.expires_at
