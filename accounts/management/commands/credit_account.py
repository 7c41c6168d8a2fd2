from django.conf import settings
from django.core.management.base import BaseCommand, CommandError

from accounts import services
from accounts.models import LedgerEntry, User


class Command(BaseCommand):
    help = ("Top up a customer's balance (bank transfer, goodwill): credit_account EMAIL AMOUNT --memo TEXT. "
            "At most STAFF_CREDIT_LIMIT per run unless --force; the ledger memo says it came from this command.")

    def add_arguments(self, parser):
        parser.add_argument("email")
        parser.add_argument("amount", help="USD, positive, at most 2 decimal places, e.g. 10 or 10.50")
        parser.add_argument("--memo", required=True, help="why: bank transfer reference, ticket number…")
        parser.add_argument("--force", action="store_true",
                            help=f"credit more than STAFF_CREDIT_LIMIT (now ${settings.STAFF_CREDIT_LIMIT})")

    def handle(self, *args, email, amount, memo, force, **options):
        user = User.objects.filter(email__iexact=email.strip()).first()
        if user is None:
            raise CommandError(f"credit_account: no user with email {email!r}", returncode=1)
        try:
            entry = services.manual_entry(user=user, kind=LedgerEntry.Kind.TOPUP, amount=amount, memo=memo,
                                          command="credit_account", force=force)
        except services.OverStaffLimit as exc:
            raise CommandError(f"credit_account: {exc}; add --force to credit it anyway", returncode=1) from exc
        except ValueError as exc:  # InvalidAmount, or a blank memo
            raise CommandError(f"credit_account: {exc}", returncode=1) from exc
        self.stdout.write(self.style.SUCCESS(
            f"credit_account: credited ${entry.amount} to {user.email}; new balance ${entry.balance_after}"))
