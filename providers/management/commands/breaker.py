import json

from django.core.management.base import BaseCommand, CommandError

from providers.base import ProviderUnavailable
from providers.breaker import CLOSED, UNKNOWN, breaker_for
from providers.registry import PROVIDER_NAMES

EXIT_OPEN = 1  # show: a circuit is open or half-open
EXIT_CACHE_DOWN = 3  # the cache holding the state is unreachable


class Command(BaseCommand):
    help = ("Show, reset (force closed) or trip (force open) the provider circuit breakers. Exit codes: "
            "0 ok; 1 (show) a circuit is not closed; 2 usage error; 3 the cache is unreachable.")

    def add_arguments(self, parser):
        parser.add_argument("action", choices=("show", "reset", "trip"))
        parser.add_argument("--provider", choices=PROVIDER_NAMES, help="one provider (default: all)")
        parser.add_argument("--json", action="store_true", help="show: print one JSON object per provider")

    def handle(self, *args, action, provider=None, json=False, **options):
        names = [provider] if provider else list(PROVIDER_NAMES)
        if action == "show":
            return self._show(names, as_json=json)
        for name in names:
            breaker = breaker_for(name)
            try:
                before = breaker.reset() if action == "reset" else breaker.trip()
            except ProviderUnavailable as exc:
                raise CommandError(f"breaker {action} {name}: {exc.message}", returncode=EXIT_CACHE_DOWN)
            self.stdout.write(f"breaker {name}: {before} -> {'closed' if action == 'reset' else 'open'}")
        self.stdout.write(f"breaker {action}: {len(names)} circuit(s) {'closed' if action == 'reset' else 'opened'}")

    def _show(self, names, *, as_json):
        worst = 0
        for name in names:
            snap = breaker_for(name).snapshot()
            if as_json:
                self.stdout.write(json_dumps(snap.as_dict()))
            else:
                transitions = ", ".join(f"{k} {v}" for k, v in snap.transitions.items() if v) or "none"
                retry = f", probe in {snap.retry_after}s" if snap.retry_after else ""
                last = f", last failure {snap.last_failure_code} at {snap.last_failure_at:.0f}" if snap.last_failure_at else ""
                self.stdout.write(f"breaker {name}: {snap.state}, {snap.failures} consecutive failure(s){last}"
                                  f"{retry}; transitions: {transitions}")
            if snap.state == UNKNOWN:
                worst = max(worst, EXIT_CACHE_DOWN)
            elif snap.state != CLOSED:
                worst = max(worst, EXIT_OPEN)
        if worst:
            raise SystemExit(worst)


def json_dumps(data) -> str:
    return json.dumps(data, sort_keys=True)
