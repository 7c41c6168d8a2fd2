from decimal import Decimal

from django.core.management import call_command

from accounts.models import Account, LedgerEntry, User
from verifications.models import Country, PricingSettings, PricingTier, Service


def counts():
    return {m.__name__: m.objects.count() for m in (User, Account, LedgerEntry, PricingTier, Service, Country, PricingSettings)}


def test_it_loads_the_catalogue_and_the_demo_logins(db, capsys, settings):
    settings.DEBUG = True
    call_command("seed_demo")
    out = capsys.readouterr().out
    assert "demo@namaskah.dev / demo-customer-pass" in out
    assert {t.name: t.sms_price for t in PricingTier.objects.all()} == {
        "High-Demand": Decimal("0.75"), "Standard": Decimal("1.00"), "Premium": Decimal("1.50")}
    assert Service.objects.count() >= 30
    assert Country.objects.count() >= 10
    assert Country.objects.order_by("order").first().code == "US"
    assert User.objects.get(email="demo@namaskah.dev").account.balance == Decimal("10.00")
    staff = User.objects.get(email="staff@namaskah.dev")
    assert staff.is_staff and staff.check_password("demo-staff-pass")


def test_it_is_idempotent(db):
    call_command("seed_demo")
    first = counts()
    call_command("seed_demo")
    assert counts() == first
    assert User.objects.get(email="demo@namaskah.dev").account.balance == Decimal("10.00")


def test_it_keeps_staff_edits_on_a_second_run(db):
    call_command("seed_demo")
    PricingTier.objects.filter(name="Standard").update(sms_price=Decimal("1.10"))
    call_command("seed_demo")
    assert PricingTier.objects.get(name="Standard").sms_price == Decimal("1.10")


def test_in_production_passwords_are_random_and_printed_once(db, capsys, settings):
    settings.DEBUG = False
    call_command("seed_demo")
    first = capsys.readouterr().out
    assert "demo-customer-pass" not in first and "demo-staff-pass" not in first
    password = first.split("demo@namaskah.dev / ")[1].split()[0]
    assert User.objects.get(email="demo@namaskah.dev").check_password(password)
    call_command("seed_demo")
    second = capsys.readouterr().out
    assert password not in second and "unchanged" in second
    assert User.objects.get(email="demo@namaskah.dev").check_password(password)


def test_the_demo_catalogue_holds_no_test_mode_service():
    # TextVerified's test-mode names (the fake server's scenarios) are fixtures, not things to sell.
    from providers.simulation import SCENARIOS
    from verifications import seed

    names = {part for row in seed.SERVICES for part in (row[0], row[1], row[2])}
    assert not names & set(SCENARIOS)
    assert not [name for name in names if name.lower().startswith("test")]
