import signal
import threading

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError

from verifications import poller


class Command(BaseCommand):
    help = ("Fetch SMS and calls from the provider for every open verification, every "
            "MESSAGE_REFRESH_INTERVAL seconds, so customers' polls are database reads. Runs until "
            "stopped (SIGTERM/Ctrl-C); --once runs a single round (cron, or a check). Safe to run twice.")

    def add_arguments(self, parser):
        parser.add_argument("--threads", type=int, default=16,
                            help="upstream calls in flight at once (default 16)")
        parser.add_argument("--limit", type=int, default=5000,
                            help="most verifications per round, oldest first (default 5000)")
        parser.add_argument("--once", action="store_true", help="one round, then exit (1 if any refresh failed)")

    def handle(self, *args, threads: int, limit: int, once: bool, **options):
        if not 1 <= threads <= 256:
            raise CommandError("--threads must be between 1 and 256", returncode=2)
        if limit < 1:
            raise CommandError("--limit must be at least 1", returncode=2)
        stop = threading.Event()
        if not once:
            for sig in (signal.SIGTERM, signal.SIGINT):
                signal.signal(sig, lambda *_: stop.set())
            self.stdout.write(f"poll_upstream: polling every {settings.MESSAGE_REFRESH_INTERVAL:g} s with "
                              f"{threads} threads; stop with SIGTERM", ending="\n")
            if "locmem" in settings.CACHES["default"]["BACKEND"].lower():
                # Its heartbeat lives in this process only: web workers keep polling the provider.
                self.stderr.write("poll_upstream: warning: the cache is local memory, so the web processes cannot "
                                  "see this poller and keep polling themselves; set REDIS_URL")
            self.stdout.flush()
        verbose = options["verbosity"] >= 2

        def report(cycle: poller.Cycle) -> None:
            if verbose or once:
                self.stdout.write(self._line(cycle))
                self.stdout.flush()

        last = poller.run(threads=threads, limit=limit, once=once, stop=stop, report=report)
        if once and last.errors:
            raise CommandError(f"{last.errors} refreshes failed (see the log)", returncode=1)
        if not once:
            self.stdout.write("poll_upstream: stopped")

    @staticmethod
    def _line(cycle: poller.Cycle) -> str:
        return (f"poll_upstream: {cycle.considered} open, {cycle.polled} polled upstream, {cycle.expired} expired, "
                f"{cycle.errors} errors in {cycle.seconds:.2f} s")
