from django.core.management.base import BaseCommand, CommandError

from verifications import services


class Command(BaseCommand):
    help = "Expire and refund pending verifications past their expiry without a code. Safe from cron every minute, and twice at once."

    def add_arguments(self, parser):
        parser.add_argument("--limit", type=int, default=500, help="most verifications to settle in one run (default 500)")

    def handle(self, *args, limit: int, **options):
        if limit < 1:
            raise CommandError("--limit must be at least 1", returncode=1)
        expired = services.expire_due(limit=limit)
        self.stdout.write(f"expire_verifications: {expired} expired and refunded")
