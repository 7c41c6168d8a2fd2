from django.core.management.base import BaseCommand, CommandError

from verifications.reconcile import reconcile


class Command(BaseCommand):
    help = "Compare pending verifications with the provider and settle what drifted (refunding once). Safe to run twice."

    def add_arguments(self, parser):
        parser.add_argument("--dry-run", action="store_true", help="report what would be settled, change nothing")
        parser.add_argument("--limit", type=int, default=500, help="most pending verifications to check (default 500)")

    def handle(self, *args, dry_run: bool, limit: int, **options):
        if limit < 1:
            raise CommandError("--limit must be at least 1", returncode=1)
        report = reconcile(dry_run=dry_run, limit=limit)
        for line in report.settled:
            self.stdout.write(("would settle " if dry_run else "settled ") + line)
        self.stdout.write(report.line())
        if report.skipped:
            # Exit 1 so cron/monitoring notices that some rows are still waiting for the provider.
            raise CommandError(f"{len(report.skipped)} verifications could not be checked: provider unavailable", returncode=1)
