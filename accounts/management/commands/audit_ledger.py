from django.core.management.base import BaseCommand, CommandError

from accounts.models import Account
from accounts.money import money_str
from accounts.services import ledger_mismatches


class Command(BaseCommand):
    help = "Check that every account's balance equals the sum of its ledger entries; exit 1 naming any that do not. Read-only."

    def handle(self, *args, **options):
        checked = Account.objects.count()
        mismatches = ledger_mismatches()
        for account, ledger_sum in mismatches:
            # SQLite sums decimals without their scale ("5"): print every amount as money.
            self.stderr.write(f"  {account.user.email}: balance ${money_str(account.balance)}, "
                              f"ledger sum ${money_str(ledger_sum)} (difference ${money_str(account.balance - ledger_sum)})")
        if mismatches:
            raise CommandError(f"audit_ledger: {len(mismatches)} of {checked} accounts do not match their ledger: "
                               + ", ".join(a.user.email for a, _ in mismatches), returncode=1)
        self.stdout.write(self.style.SUCCESS(f"audit_ledger: {checked} accounts checked, all balanced"))
