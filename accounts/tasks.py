"""Ops jobs on accounts, as Celery tasks (scheduled in namaskah/celery.py)."""
from __future__ import annotations

import logging

from celery import shared_task
from django.core.management import call_command

from accounts.services import ledger_mismatches

log = logging.getLogger(__name__)


@shared_task(name="accounts.audit_ledger")
def audit_ledger() -> int:
    """Every balance against its ledger; a mismatch is an error in the log for ops to alert on."""
    mismatches = ledger_mismatches()
    for account, ledger_sum in mismatches:
        log.error("audit_ledger: %s has balance %s but ledger sum %s", account.user.email, account.balance, ledger_sum)
    return len(mismatches)


@shared_task(name="accounts.flush_expired_tokens")
def flush_expired_tokens() -> None:
    # simplejwt's own command is the service function here: it deletes expired outstanding tokens.
    call_command("flushexpiredtokens")
