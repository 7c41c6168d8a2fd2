from django.conf import settings
from django.core.management.base import BaseCommand, CommandError

from providers.base import ProviderUnavailable
from verifications.catalogue import sync_costs
from providers.registry import PROVIDER_NAMES, get_provider


class Command(BaseCommand):
    help = ("Refresh each service's upstream SMS/voice cost from the provider's price quotes and report "
            "services whose cost is at or above our price. Exit 1 when the upstream is unavailable.")

    def add_arguments(self, parser):
        parser.add_argument("--dry-run", action="store_true", help="quote and report, write nothing")
        parser.add_argument("--provider", choices=PROVIDER_NAMES, default=None,
                            help="default: textverified, or mock when PROVIDER=mock")

    def handle(self, *args, dry_run=False, provider=None, **options):
        name = provider or ("mock" if settings.PROVIDER == "mock" else "textverified")
        try:
            report = sync_costs(provider=get_provider(name), dry_run=dry_run)
        except ProviderUnavailable as exc:
            hint = f" (retry in {exc.retry_after}s)" if exc.retry_after else ""
            raise CommandError(f"sync_services: {name} is unavailable: {exc.message}{hint}; nothing changed",
                               returncode=1)
        for line in report.negative:
            self.stderr.write(f"negative margin: {line}")
        for line in report.missing:
            self.stderr.write(f"not sold upstream: {line}")
        self.stdout.write(
            f"sync_services{' (dry run)' if dry_run else ''}: {report.services} services, {report.prices} prices "
            f"{'quoted' if dry_run else 'updated'} from {name}, {len(report.negative)} at or above our price, "
            f"{len(report.missing)} not sold upstream"
        )
