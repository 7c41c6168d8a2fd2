from django.core.management.base import BaseCommand, CommandError

from providers.base import ProviderUnavailable
from providers.registry import OPTIONAL_PROVIDER_NAMES, PROVIDER_NAMES, get_provider
from verifications.catalogue import sync_costs, synced_providers


class Command(BaseCommand):
    help = ("Refresh the upstream costs and stock of every configured provider, per country (the primary, "
            "and the SMS-Activate-protocol provider when SMSACTIVATE_BASE_URL is set); countries a provider "
            "sells join the catalogue. Reports services whose cost is at or above our tier price. Exit 1 "
            "when a provider is unavailable (the others are still refreshed).")

    def add_arguments(self, parser):
        parser.add_argument("--dry-run", action="store_true", help="quote and report, write nothing")
        parser.add_argument("--provider", choices=PROVIDER_NAMES + OPTIONAL_PROVIDER_NAMES, default=None,
                            help="only this one (default: every configured provider)")

    def handle(self, *args, dry_run=False, provider=None, **options):
        names = [provider] if provider else synced_providers()
        failed = []
        for name in names:
            try:
                report = sync_costs(provider=get_provider(name), dry_run=dry_run)
            except ProviderUnavailable as exc:
                hint = f" (retry in {exc.retry_after}s)" if exc.retry_after else ""
                failed.append(f"{name} is unavailable: {exc.message}{hint}; nothing changed from it")
                continue
            for line in report.negative:
                self.stderr.write(f"negative margin: {line}")
            for line in report.missing:
                self.stderr.write(f"not sold upstream: {line}")
            where = f" in {report.countries} countries" if report.countries else ""
            added = f", {len(report.added)} countries added ({', '.join(report.added)})" if report.added else ""
            self.stdout.write(
                f"sync_services{' (dry run)' if dry_run else ''}: {report.services} services, {report.prices} prices "
                f"{'quoted' if dry_run else 'updated'} from {name}{where}{added}, {len(report.negative)} at or above "
                f"our price, {len(report.missing)} not sold upstream"
            )
        if failed:
            raise CommandError(f"sync_services: {'; '.join(failed)}", returncode=1)

