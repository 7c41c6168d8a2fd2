import secrets
from decimal import Decimal

from django.conf import settings
from django.core.management.base import BaseCommand
from django.db import transaction

from accounts import services as accounts
from accounts.models import LedgerEntry, User
from providers.smsactivate import codes
from verifications import seed
from verifications.models import Country, PricingSettings, PricingTier, Service

DEMO_CUSTOMER = "demo@namaskah.dev"
DEMO_STAFF = "staff@namaskah.dev"
# Development only: with DEBUG on the demo logins are predictable so a newcomer can sign in;
# with DEBUG off each password is random, printed once when the user is created.
DEV_PASSWORDS = {DEMO_CUSTOMER: "demo-customer-pass", DEMO_STAFF: "demo-staff-pass"}
DEMO_BALANCE = Decimal("10.00")


class Command(BaseCommand):
    help = "Load the demo catalogue, a demo customer with $10.00 and a staff account. Safe to run twice."

    def handle(self, *args, **options):
        with transaction.atomic():
            created = self._catalogue()
        logins = [self._user(DEMO_CUSTOMER, staff=False), self._user(DEMO_STAFF, staff=True)]
        customer = User.objects.get(email=DEMO_CUSTOMER)
        if not LedgerEntry.objects.filter(account__user=customer).exists():
            accounts.credit(user=customer, amount=DEMO_BALANCE, memo="demo balance")
        for email, password, role in logins:
            self.stdout.write(f"  {role:<8} {email} / {password}")
        self.stdout.write(self.style.SUCCESS(
            f"seed_demo: {created} catalogue rows created; {PricingTier.objects.count()} tiers, "
            f"{Service.objects.count()} services, {Country.objects.count()} countries"
        ))

    def _catalogue(self) -> int:
        created = 0
        PricingSettings.current()
        tiers = {}
        for name, price, order in seed.TIERS:
            tiers[name], new = PricingTier.objects.get_or_create(name=name, defaults={"sms_price": price, "order": order})
            created += new
        for slug, name, upstream, tier, sms, voice in seed.SERVICES:
            _, new = Service.objects.get_or_create(slug=slug, defaults={
                "name": name, "provider_service_name": upstream, "tier": tiers[tier],
                "supports_sms": sms, "supports_voice": voice,
            })
            created += new
        for code, name, dialling, provider, order in seed.COUNTRIES:
            _, new = Country.objects.get_or_create(code=code, defaults={
                "name": name, "dialling_code": dialling, "provider": provider, "order": order,
            })
            created += new
        self._protocol_ids()
        return created

    @staticmethod
    def _protocol_ids() -> None:
        # The SMS-Activate protocol's ids from its one table; a value staff set (or gave to another
        # row) is left alone.
        used = set(Service.objects.exclude(protocol_code=None).values_list("protocol_code", flat=True))
        for service in Service.objects.filter(protocol_code=None, slug__in=codes.CODES_BY_SLUG):
            if codes.CODES_BY_SLUG[service.slug] not in used:
                Service.objects.filter(pk=service.pk).update(protocol_code=codes.CODES_BY_SLUG[service.slug])
                used.add(codes.CODES_BY_SLUG[service.slug])
        taken = set(Country.objects.exclude(protocol_id=None).values_list("protocol_id", flat=True))
        for country in Country.objects.filter(protocol_id=None, code__in=codes.COUNTRY_IDS):
            if codes.COUNTRY_IDS[country.code] not in taken:
                Country.objects.filter(pk=country.pk).update(protocol_id=codes.COUNTRY_IDS[country.code])
                taken.add(codes.COUNTRY_IDS[country.code])

    def _user(self, email: str, *, staff: bool) -> tuple[str, str, str]:
        role = "staff" if staff else "customer"
        user = User.objects.filter(email=email).first()
        if settings.DEBUG:
            password = DEV_PASSWORDS[email]
            if user is None:
                user = User.objects.create_user(email, password, is_staff=staff, is_superuser=staff)
            elif not user.check_password(password):
                user.set_password(password)
                user.save(update_fields=["password"])
            return email, password, role
        if user is None:
            password = secrets.token_urlsafe(12)
            User.objects.create_user(email, password, is_staff=staff, is_superuser=staff)
            return email, password, role
        return email, "(unchanged; set one with: manage.py changepassword " + email + ")", role
