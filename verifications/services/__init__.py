"""The verification lifecycle: purchase, messages, voice, cancel, report, expire.

Every interface (API, dashboard, admin, the protocol endpoint, tasks, commands) calls these
functions. Money rules:
- the charge and the pending Verification are written in one transaction under the account lock;
- the provider is called outside any transaction, with no database connection held;
- every refund follows a conditional status update (`filter(status=PENDING).update(...)` → 1 row
  or somebody else won), and the ledger's unique constraint backs it up: one refund, ever.
Every UPDATE that changes what a poll shows bumps `version` in the same statement (BUMP) and calls
polling.changed(), which puts the new answer in the cache once the transaction commits.

The modules: common (settle, refund, the version bump), purchase, receive (messages, calls, polls,
expiry), actions (finish, another code, cancel, report, dismiss, staff refunds).
"""
from namaskah.db import release_db_connection
from verifications.services.actions import (
    cancel, dismiss, finish, refunded_amount, report, request_another_code, staff_cancel, staff_refund,
)
from verifications.services.common import BUMP, fail_and_refund, has_code, settle
from verifications.services.purchase import check_available, fingerprint, purchase
from verifications.services.receive import (
    check, expire, expire_due, expire_with_last_look, poll_answer, record_received, refresh,
)

__all__ = [
    "BUMP", "cancel", "check", "check_available", "dismiss", "expire", "expire_due", "expire_with_last_look", "fail_and_refund", "fingerprint", "finish",
    "has_code", "poll_answer", "purchase", "record_received", "refresh", "refunded_amount",
    "release_db_connection", "report", "request_another_code", "settle", "staff_cancel", "staff_refund",
]
