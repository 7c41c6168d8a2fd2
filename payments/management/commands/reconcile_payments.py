import re

from django.core.management.base import BaseCommand, CommandError

from payments.gateway import GatewayError
from payments.reconcile import reconcile_payments

MAX_DAYS = 90


class Command(BaseCommand):
    help = ("Ask Stripe for the paid Checkout Sessions of the last N days and credit any that a lost webhook "
            "missed (through the webhook's own credit function: exactly once, safe to run twice at once). "
            "Exit 0, or 1 if Stripe could not be asked, 2 on bad arguments.")

    def add_arguments(self, parser):
        parser.add_argument("--days", default="3", help=f"how far back to look, 1 to {MAX_DAYS} (default 3)")
        parser.add_argument("--dry-run", action="store_true",
                            help="list the sessions that would be credited, and credit nothing")

    def handle(self, *args, **options):
        raw = str(options["days"]).strip()
        # ASCII digits only: str.isdigit() also accepts "²", which int() then refuses with a traceback.
        if not re.fullmatch(r"[0-9]{1,3}", raw) or not 1 <= int(raw) <= MAX_DAYS:
            raise CommandError(f"reconcile_payments: --days must be a whole number from 1 to {MAX_DAYS} (got {raw!r})",
                               returncode=2)
        days = int(raw)
        try:
            report = reconcile_payments(days=days, dry_run=options["dry_run"])
        except GatewayError as exc:
            seen = getattr(exc, "sessions_seen", 0)
            raise CommandError(f"reconcile_payments: Stripe could not be asked ({exc}); {seen} sessions were "
                               "handled before that, run it again later", returncode=1) from None
        if options["dry_run"]:
            for session_id, topup in report.would_credit:
                self.stdout.write(f"would credit ${topup.amount} to {topup.owner.email}: top-up {topup.pk} "
                                  f"({topup.status}), session {session_id}")
            self.stdout.write(self.style.SUCCESS(
                f"reconcile_payments --dry-run: {report.seen} paid sessions in the last {days} days: "
                f"{len(report.would_credit)} would be credited, {report.already} already credited, "
                f"{report.foreign} not ours (skipped), {report.attention} need attention; nothing was changed"))
            return
        self.stdout.write(self.style.SUCCESS(
            f"reconcile_payments: {report.seen} paid sessions in the last {days} days: {report.credited} credited now, "
            f"{report.already} already credited, {report.foreign} not ours (skipped), "
            f"{report.attention} need attention (see Payment events in admin)"))
