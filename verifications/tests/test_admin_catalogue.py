from decimal import Decimal

import pytest
from django.db import IntegrityError, transaction
from django.urls import reverse

from verifications.models import Capability, Country, PricingSettings, PricingTier, ProviderName, Service
from verifications.selectors import price


def test_it_changes_a_tier_price_and_the_price_follows(staff_client, catalogue):
    response = staff_client.post(reverse("admin:verifications_pricingtier_change", args=[catalogue.tier.pk]),
                                 {"name": "Standard", "sms_price": "1.10", "order": "2"})
    assert response.status_code == 302
    catalogue.service.refresh_from_db()
    assert price(service=catalogue.service, country=catalogue.country, capability=Capability.SMS) == Decimal("1.10")


def test_it_refuses_a_zero_tier_price(staff_client, catalogue):
    response = staff_client.post(reverse("admin:verifications_pricingtier_change", args=[catalogue.tier.pk]),
                                 {"name": "Standard", "sms_price": "0", "order": "2"})
    assert response.status_code == 200
    catalogue.tier.refresh_from_db()
    assert catalogue.tier.sms_price == Decimal("1.00")


def test_a_customer_cannot_change_a_tier_price(alice_client, catalogue):
    response = alice_client.post(reverse("admin:verifications_pricingtier_change", args=[catalogue.tier.pk]),
                                 {"name": "Standard", "sms_price": "0.01", "order": "2"})
    assert response.status_code == 302 and response.url.startswith(reverse("admin:login"))
    catalogue.tier.refresh_from_db()
    assert catalogue.tier.sms_price == Decimal("1.00")


def test_it_edits_the_voice_premium_singleton(staff_client, catalogue):
    settings = PricingSettings.current()
    response = staff_client.post(reverse("admin:verifications_pricingsettings_change", args=[settings.pk]),
                                 {"voice_premium": "0.50"})
    assert response.status_code == 302
    assert price(service=catalogue.service, country=catalogue.country, capability=Capability.VOICE) == Decimal("1.50")


def test_it_allows_no_second_premium_row_and_no_delete(staff_client):
    settings = PricingSettings.current()
    assert staff_client.get(reverse("admin:verifications_pricingsettings_add")).status_code == 403
    assert staff_client.post(reverse("admin:verifications_pricingsettings_delete", args=[settings.pk]),
                             {"post": "yes"}).status_code == 403
    assert PricingSettings.objects.count() == 1


def test_it_adds_the_premium_row_when_there_is_none(staff_client):
    assert staff_client.post(reverse("admin:verifications_pricingsettings_add"), {"voice_premium": "0.40"}).status_code == 302
    assert PricingSettings.objects.get().pk == 1
    assert PricingSettings.current().voice_premium == Decimal("0.40")


@pytest.fixture
def services(catalogue):
    """Eight services in two tiers; 'loss' costs more than it sells for on voice, 'even' breaks even on SMS."""
    premium = PricingTier.objects.create(name="Premium", sms_price=Decimal("1.50"), order=3)
    for i in range(5):
        Service.objects.create(slug=f"s{i}", name=f"Service {i}", provider_service_name=f"s{i}",
                               tier=premium if i % 2 else catalogue.tier,
                               provider_cost_sms=Decimal("0.40"), provider_cost_voice=Decimal("0.60"))
    Service.objects.create(slug="loss", name="Loss", provider_service_name="loss", tier=catalogue.tier,
                           provider_cost_sms=Decimal("0.50"), provider_cost_voice=Decimal("1.40"))
    Service.objects.create(slug="even", name="Even", provider_service_name="even", tier=catalogue.tier,
                           supports_voice=False, provider_cost_sms=Decimal("1.00"))
    # catalogue.service (Telegram) has no provider cost yet.
    PricingSettings.current()  # as seed_demo leaves it: the row exists


def test_it_lists_services_with_prices_costs_and_margins(staff_client, services, django_assert_max_num_queries):
    # 8 rows in two tiers: the prices cost one query per tier, not one per row.
    with django_assert_max_num_queries(10):
        response = staff_client.get(reverse("admin:verifications_service_changelist"))
    assert response.status_code == 200
    rows = {s.slug: s.pricing for s in response.context["cl"].result_list}
    assert rows["s1"][Capability.SMS] == (Decimal("1.50"), Decimal("0.40"), Decimal("1.10"))
    assert rows["s1"][Capability.VOICE] == (Decimal("1.80"), Decimal("0.60"), Decimal("1.20"))
    assert rows["loss"][Capability.VOICE] == (Decimal("1.30"), Decimal("1.40"), Decimal("-0.10"))
    assert rows["even"][Capability.SMS][2] == Decimal("0.00")
    assert rows["even"][Capability.VOICE] == (None, None, None)
    assert rows["telegram"][Capability.SMS] == (Decimal("1.00"), None, None)
    content = response.content.decode()
    assert 'style="color:#ba2121;font-weight:bold">$-0.10</span>' in content
    assert 'style="color:#ba2121;font-weight:bold">$0.00</span>' in content
    assert 'font-weight:bold">$1.10' not in content


@pytest.mark.parametrize("margin, expected", [
    ("negative", {"loss", "even"}),
    ("unknown", {"telegram"}),
    ("positive", {"s0", "s1", "s2", "s3", "s4"}),
])
def test_it_filters_services_by_margin(staff_client, services, margin, expected):
    response = staff_client.get(reverse("admin:verifications_service_changelist"), {"margin": margin})
    assert {s.slug for s in response.context["cl"].result_list} == expected


def test_it_filters_services_by_tier_and_enabled(staff_client, services, catalogue):
    Service.objects.filter(slug="s0").update(enabled=False)
    changelist = reverse("admin:verifications_service_changelist")
    response = staff_client.get(changelist, {"tier__id__exact": catalogue.tier.pk, "enabled__exact": "1"})
    assert {s.slug for s in response.context["cl"].result_list} == {"s2", "s4", "loss", "even", "telegram"}


def test_the_margin_follows_a_premium_change(staff_client, services):
    PricingSettings.objects.update_or_create(pk=1, defaults={"voice_premium": Decimal("0.50")})
    response = staff_client.get(reverse("admin:verifications_service_changelist"), {"margin": "negative"})
    assert {s.slug for s in response.context["cl"].result_list} == {"even"}


def test_it_shows_the_customer_prices_on_the_service_page(staff_client, catalogue):
    content = staff_client.get(reverse("admin:verifications_service_change", args=[catalogue.service.pk])).content.decode()
    assert "SMS $1.00 · voice $1.30" in content


# The country page's inlines (routes, offers) with no rows, as the admin's form posts them.
NO_INLINE_ROWS = {f"{prefix}-{name}": value for prefix in ("routes", "offers")
                  for name, value in (("TOTAL_FORMS", "0"), ("INITIAL_FORMS", "0"))}


def test_it_lists_countries_and_flags_the_mock_provider(staff_client, catalogue, settings,
                                                       django_assert_max_num_queries):
    settings.PROVIDER, settings.DEBUG = "textverified", True  # development: the mock stands in for the others
    for code, name in [("GB", "United Kingdom"), ("DE", "Germany"), ("FR", "France"), ("NL", "Netherlands")]:
        Country.objects.create(code=code, name=name, dialling_code="+44", provider=ProviderName.MOCK)
    with django_assert_max_num_queries(8):  # routes and offers read once for the page
        response = staff_client.get(reverse("admin:verifications_country_changelist"))
    content = response.content.decode()
    assert "🇬🇧" in content and "United Kingdom" in content and "+44" in content
    assert content.count("mock provider — development only") == 4
    assert "TextVerified" in content


def test_it_edits_a_country(staff_client, catalogue):
    response = staff_client.post(reverse("admin:verifications_country_change", args=[catalogue.country.pk]), {
        "code": "US", "name": "United States", "dialling_code": "+1", "provider": "mock", "order": "0",
        **NO_INLINE_ROWS,
    })
    assert response.status_code == 302
    catalogue.country.refresh_from_db()
    assert (catalogue.country.enabled, catalogue.country.provider) == (False, ProviderName.MOCK)


def service_form(staff_client, service, **changes) -> dict:
    """The service page's form as the admin shows it, with changes."""
    form = staff_client.get(reverse("admin:verifications_service_change", args=[service.pk])).context["adminform"].form
    data = {name: form[name].value() for name in form.fields}
    return {name: ("" if value is None else "on" if value is True else value) for name, value in
            {**data, **changes}.items() if value is not False}


def test_it_sets_the_length_of_a_services_voice_codes(staff_client, catalogue):
    response = staff_client.post(reverse("admin:verifications_service_change", args=[catalogue.service.pk]),
                                 service_form(staff_client, catalogue.service, voice_code_length="6"))
    assert response.status_code == 302
    catalogue.service.refresh_from_db()
    assert catalogue.service.voice_code_length == 6


@pytest.mark.parametrize("length", ["3", "9"])
def test_it_refuses_a_voice_code_length_outside_4_to_8(staff_client, catalogue, length):
    response = staff_client.post(reverse("admin:verifications_service_change", args=[catalogue.service.pk]),
                                 service_form(staff_client, catalogue.service, voice_code_length=length))
    assert response.status_code == 200 and "voice_code_length" in response.context["adminform"].form.errors
    catalogue.service.refresh_from_db()
    assert catalogue.service.voice_code_length is None


def test_the_database_refuses_a_voice_code_length_outside_4_to_8(catalogue):
    with pytest.raises(IntegrityError), transaction.atomic():
        Service.objects.filter(pk=catalogue.service.pk).update(voice_code_length=9)
