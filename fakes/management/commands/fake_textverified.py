from decimal import Decimal

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError

from fakes.textverified import FakeServer, FakeTextVerified


class Command(BaseCommand):
    help = ("Run a fake TextVerified v2 API (threaded) for demos and the load benchmark. Point "
            "TEXTVERIFIED_BASE_URL at it. Accepts TEXTVERIFIED_API_KEY/EMAIL when set, else any credentials.")

    def add_arguments(self, parser):
        parser.add_argument("--host", default="127.0.0.1")
        parser.add_argument("--port", type=int, default=8765)
        parser.add_argument("--latency", type=float, default=0.0, help="seconds added to every API answer")
        parser.add_argument("--sms-delay", type=float, default=float(settings.MOCK_SMS_DELAY),
                            help="seconds until an SMS arrives; negative: only through POST /_fake/sms")
        parser.add_argument("--lifetime", type=float, default=float(settings.MOCK_VERIFICATION_LIFETIME))
        parser.add_argument("--token-lifetime", type=float, default=900.0)
        parser.add_argument("--balance", type=Decimal, default=Decimal("1000.00"))
        parser.add_argument("--max-pending", type=int, default=10000)
        parser.add_argument("--webhook-url", help="POST a signed v2.sms.received here when each SMS arrives, "
                            "e.g. http://127.0.0.1:8000/webhooks/textverified (needs TEXTVERIFIED_WEBHOOK_SECRET)")

    def handle(self, *args, **options):
        if options["webhook_url"] and not settings.TEXTVERIFIED_WEBHOOK_SECRET:
            raise CommandError("--webhook-url needs TEXTVERIFIED_WEBHOOK_SECRET (the secret both sides sign with)",
                               returncode=2)
        fake = FakeTextVerified(
            api_key=settings.TEXTVERIFIED_API_KEY, username=settings.TEXTVERIFIED_EMAIL,
            latency=options["latency"], sms_delay=None if options["sms_delay"] < 0 else options["sms_delay"],
            lifetime=options["lifetime"], token_lifetime=options["token_lifetime"], balance=options["balance"],
            max_pending=options["max_pending"], webhook_url=options["webhook_url"],
            webhook_secret=settings.TEXTVERIFIED_WEBHOOK_SECRET,
        )
        server = FakeServer(fake=fake, host=options["host"], port=options["port"])
        self.stdout.write(f"fake_textverified: listening on {server.base_url} (latency {options['latency']}s, "
                          f"sms delay {options['sms_delay']}s); Ctrl-C stops it", ending="\n")
        self.stdout.flush()
        try:
            server.serve_forever()
        except KeyboardInterrupt:
            pass
        finally:
            fake.stopping.set()
