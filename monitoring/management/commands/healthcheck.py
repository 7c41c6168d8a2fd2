import json
import sys

from django.core.management.base import BaseCommand

from monitoring.health import HealthMonitor


class Command(BaseCommand):
    help = "Check the database, the cache and the providers. Exit 0 healthy, 1 degraded, 2 unhealthy."

    def add_arguments(self, parser):
        parser.add_argument("--json", action="store_true", help="print the full report as JSON")

    def handle(self, *args, **options):
        report = HealthMonitor().check()
        if options.get("json"):
            self.stdout.write(json.dumps(report.as_dict(), indent=2))
        for name, component in report.components.items():
            extra = f" breaker={component['breaker']['state']}" if "breaker" in component else ""
            self.stdout.write(f"  {name:<24} {component['status']}{extra}")
        self.stdout.write(f"healthcheck: {report.status}")
        sys.exit(report.exit_code)
