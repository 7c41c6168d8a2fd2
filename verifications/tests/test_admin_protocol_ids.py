"""Staff edit the SMS-Activate protocol's ids in admin: a service's code (1-8 lower-case letters or
digits, unique, empty = none) and a country's numeric id (unique, empty = not offered)."""
from django.urls import reverse

from verifications.models import Country, Service


def service_form(service, **changes):
    data = {"slug": service.slug, "name": service.name, "provider_service_name": service.provider_service_name,
            "tier": service.tier_id, "enabled": "on", "supports_sms": "on", "supports_voice": "on",
            "protocol_code": ""}
    return data | changes


def test_staff_set_and_clear_a_service_code(staff_client, catalogue):
    url = reverse("admin:verifications_service_change", args=[catalogue.service.pk])
    assert staff_client.post(url, service_form(catalogue.service, protocol_code="tg")).status_code == 302
    assert Service.objects.get().protocol_code == "tg"
    assert staff_client.post(url, service_form(catalogue.service)).status_code == 302
    assert Service.objects.get().protocol_code is None  # empty is "no code", not "" (unique allows many)


def test_a_malformed_or_taken_code_is_refused(staff_client, catalogue):
    other = Service.objects.create(slug="whatsapp", name="WhatsApp", provider_service_name="whatsapp",
                                   tier=catalogue.tier, protocol_code="wa")
    url = reverse("admin:verifications_service_change", args=[catalogue.service.pk])
    for bad in ("TG", "t-g", "toolongcode", "wa"):
        response = staff_client.post(url, service_form(catalogue.service, protocol_code=bad))
        assert response.status_code == 200 and "protocol_code" in response.context["adminform"].form.errors, bad
    assert Service.objects.get(pk=catalogue.service.pk).protocol_code is None and other.protocol_code == "wa"


NO_INLINE_ROWS = {"routes-TOTAL_FORMS": "0", "routes-INITIAL_FORMS": "0", "offers-TOTAL_FORMS": "0",
                  "offers-INITIAL_FORMS": "0"}


def test_staff_edit_a_country_id(staff_client, catalogue):
    url = reverse("admin:verifications_country_change", args=[catalogue.country.pk])
    form = {"code": "US", "name": "United States", "dialling_code": "+1", "enabled": "on",
            "provider": "textverified", "order": 0, "protocol_id": "187", **NO_INLINE_ROWS}
    assert staff_client.post(url, form).status_code == 302
    assert Country.objects.get().protocol_id == 187
    Country.objects.create(code="GB", name="United Kingdom", dialling_code="+44", provider="mock", protocol_id=16)
    response = staff_client.post(url, form | {"protocol_id": "16"})
    assert response.status_code == 200 and "protocol_id" in response.context["adminform"].form.errors
