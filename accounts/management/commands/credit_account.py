from django.core.management.base import BaseCommand, CommandError

from accounts import services
from accounts.models import User


class Command(BaseCommand):
    help = "Top up a customer's balance (bank transfer, goodwill): credit_account EMAIL AMOUNT --memo TEXT."

    def add_arguments(self, parser):
        parser.add_argument("email")
        parser.add_argument("amount", help="USD, positive, at most 2 decimal places, e.g. 10 or 10.50")
        parser.add_argument("--memo", required=True, help="why: bank transfer reference, ticket number…")

    def handle(self, *args, email, amount, memo, **options):
        user = User.objects.filter(email__iexact=email.strip()).first()
        if user is None:
            raise CommandError(f"credit_account: no user with email {email!r}", returncode=1)
        try:
            entry = services.credit(user=user, amount=amount, memo=memo)
        except ValueError as exc:  # InvalidAmount, or a blank memo
            raise CommandError(f"credit_account: {exc}", returncode=1) from exc
        self.stdout.write(self.style.SUCCESS(
            f"credit_account: credited ${entry.amount} to {user.email}; new balance ${entry.balance_after}"))
