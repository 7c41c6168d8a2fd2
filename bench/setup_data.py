"""Benchmark data: migrate, load the catalogue, create customers with a balance and an API key each.

    python bench/setup_data.py --customers 200 --out bench/results/customers.json

Runs with the benchmark's environment (DATABASE_URL pointing at the throw-away bench database).
Writes {"customers": [{"email", "key", "jwt"}], "services": [slugs]} where `services` are the SMS services
of the US (TextVerified) whose simulated upstream price is within our price, so purchases succeed.
"""
from __future__ import annotations

import argparse
import io
import json
import os
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "namaskah.settings")

import django  # noqa: E402

django.setup()

from django.core.management import call_command  # noqa: E402

from rest_framework_simplejwt.tokens import AccessToken  # noqa: E402

from accounts import services as accounts  # noqa: E402
from accounts.models import User  # noqa: E402
from providers import simulation  # noqa: E402
from verifications.models import Capability, Country, Service  # noqa: E402
from verifications.selectors import price  # noqa: E402

BALANCE = "1000.00"


def affordable_sms_services() -> list[str]:
    us = Country.objects.get(code="US")
    slugs = []
    for service in Service.objects.filter(enabled=True, supports_sms=True).select_related("tier").order_by("slug"):
        try:
            upstream = simulation.price(service=service.provider_service_name, capability="sms", strict=True)
        except simulation.Refused:
            continue
        if upstream <= price(service=service, country=us, capability=Capability.SMS):
            slugs.append(service.slug)
    return slugs


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--customers", type=int, default=200)
    parser.add_argument("--out", required=True)
    args = parser.parse_args()

    call_command("migrate", "--noinput", verbosity=0)
    call_command("seed_demo", stdout=io.StringIO())  # prints the demo logins: not needed here
    customers = []
    for i in range(args.customers):
        # No password: these customers only use API keys (and hashing 200 passwords takes a minute).
        user = User.objects.create_user(f"bench-{i:04d}@example.com", None)
        accounts.credit(user=user, amount=BALANCE, memo="benchmark balance")
        _, key = accounts.create_api_key(user=user, name="bench")
        # A JWT access token too, for the JWT polling scenario (valid ACCESS_TOKEN_LIFETIME: 15 minutes).
        customers.append({"email": user.email, "key": key, "jwt": str(AccessToken.for_user(user))})
    services = affordable_sms_services()
    Path(args.out).write_text(json.dumps({"customers": customers, "services": services}))
    print(f"setup_data: {len(customers)} customers with ${BALANCE} and an API key; {len(services)} SMS services")


if __name__ == "__main__":
    main()
