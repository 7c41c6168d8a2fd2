"""reconcile_payments: credit the paid Checkout Sessions that no webhook credited.

A webhook can be lost (our outage longer than Stripe's retries, a misconfigured endpoint). This
lists the complete, paid sessions of the last days from the gateway, page by page, and hands each
to services.credit_paid_session, the webhook's own credit function: what a webhook already
credited stays credited once, and two runs at once credit nothing twice. With dry_run it asks the
same questions (services.preview_paid_session, the same checks) and writes nothing.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from datetime import timedelta

from django.utils import timezone

from payments import gateway, services
from payments.gateway import GatewayError
from payments.models import PaymentEvent

Outcome = PaymentEvent.Outcome


@dataclass
class Report:
    seen: int = 0
    credited: int = 0
    already: int = 0
    foreign: int = 0
    attention: int = 0
    # With dry_run: the (session id, top-up) pairs a real run would credit now.
    would_credit: list[tuple[str, object]] = field(default_factory=list)


def reconcile_payments(*, days: int, dry_run: bool = False) -> Report:
    """Credit what lost webhooks missed in the last `days` days (with dry_run: only list it). Raises
    GatewayError (with sessions_seen) if Stripe cannot be asked; the sessions handled before that
    stay handled."""
    report = Report()
    via = services.Via(source=PaymentEvent.Source.RECONCILE, event_type="reconcile_payments")
    since = timezone.now() - timedelta(days=days)
    try:
        # Each page is fetched between credits, never inside one: no network I/O in a transaction.
        for session in gateway.current().paid_sessions(created_since=since):
            report.seen += 1
            if dry_run:
                preview = services.preview_paid_session(session=session)
                outcome = preview.outcome
                if outcome == Outcome.CREDITED:
                    report.would_credit.append((session.id, preview.topup))
            else:
                outcome = services.credit_paid_session(session=session, via=via)
            if outcome == Outcome.CREDITED:
                report.credited += 1
            elif outcome == Outcome.ALREADY_CREDITED:
                report.already += 1
            elif outcome == Outcome.UNKNOWN_SESSION:
                report.foreign += 1
            else:
                report.attention += 1
    except GatewayError as exc:
        exc.sessions_seen = report.seen
        raise
    return report
