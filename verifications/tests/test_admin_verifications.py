from datetime import timedelta

import pytest
from django.db import transaction
from django.urls import reverse
from django.utils import timezone

from accounts import services
from verifications.models import Country, Message, Service, Verification, VoiceCall
from verifications.tests.factories import make_verification


def charged(user, catalogue, **fields):
    verification = make_verification(user=user, catalogue=catalogue, **fields)
    with transaction.atomic():
        services.charge_locked(account=services.lock_account(user=user), verification=verification,
                               amount=verification.price)
    return verification


@pytest.fixture
def history(alice, bob, catalogue):
    services.credit(user=alice, amount="20.00", memo="topup")
    services.credit(user=bob, amount="20.00", memo="topup")
    whatsapp = Service.objects.create(slug="whatsapp", name="WhatsApp", provider_service_name="whatsapp",
                                      tier=catalogue.tier)
    Country.objects.create(code="GB", name="United Kingdom", dialling_code="+44", provider="mock")
    rows = []
    for i in range(8):
        rows.append(charged(alice if i % 2 else bob, catalogue, phone_number=f"+1555000{i:04d}",
                            provider_ref=f"ref-{i}", status=Verification.Status.COMPLETED if i < 3 else "pending"))
    rows.append(charged(alice, catalogue, phone_number="+15559999999", capability="voice", price="1.30"))
    Verification.objects.filter(pk=rows[-1].pk).update(service=whatsapp,
                                                       created_at=timezone.now() - timedelta(days=40))
    return rows


def listed(response):
    return {v.pk for v in response.context["cl"].result_list}


def test_it_lists_verifications_without_a_query_per_row(staff_client, history, django_assert_max_num_queries):
    # 9 rows; session, user, 2 counts, rows, 2 date hierarchy, the service and country filters, the sidebar.
    with django_assert_max_num_queries(11):
        response = staff_client.get(reverse("admin:verifications_verification_changelist"))
    assert response.status_code == 200
    assert len(listed(response)) == 9
    assert "bob@example.com" in response.content.decode()


@pytest.mark.parametrize("params, count", [
    ({"status__exact": "completed"}, 3),
    ({"capability__exact": "voice"}, 1),
    ({"q": "bob@example"}, 4),
    ({"q": "+15550000005"}, 1),
    ({"q": "ref-7"}, 1),
    ({"created_at__lt": (timezone.now() - timedelta(days=30)).isoformat()}, 1),
    ({"created_at__gte": (timezone.now() - timedelta(days=7)).isoformat()}, 8),
    ({"refunded": "yes"}, 0),
])
def test_it_filters_and_searches_verifications(staff_client, history, params, count):
    response = staff_client.get(reverse("admin:verifications_verification_changelist"), params)
    assert len(listed(response)) == count


def test_it_filters_by_service_and_country(staff_client, history, catalogue):
    changelist = reverse("admin:verifications_verification_changelist")
    whatsapp = Service.objects.get(slug="whatsapp")
    assert listed(staff_client.get(changelist, {"service__id__exact": whatsapp.pk})) == {history[-1].pk}
    assert len(listed(staff_client.get(changelist, {"country__id__exact": catalogue.country.pk}))) == 9
    gb = Country.objects.get(code="GB")
    assert listed(staff_client.get(changelist, {"country__id__exact": gb.pk})) == set()


def test_it_shows_messages_calls_and_money_read_only_and_escaped(staff_client, alice, catalogue):
    services.credit(user=alice, amount="5.00", memo="topup")
    verification = charged(alice, catalogue, phone_number="+15550001111")
    now = timezone.now()
    Message.objects.create(verification=verification, provider="mock", provider_message_id="m1",
                           sender="<b>evil</b>", text="Your code is 123456 <script>alert('sms')</script>",
                           code="123456", received_at=now)
    VoiceCall.objects.create(verification=verification, provider="mock", provider_call_id="c1", caller="+1555",
                             recording_uri="javascript:alert(1)", transcription="<img src=x onerror=alert(1)>",
                             code="654321", received_at=now)
    content = staff_client.get(reverse("admin:verifications_verification_change", args=[verification.pk])).content.decode()
    assert "Your code is 123456 &lt;script&gt;alert(&#x27;sms&#x27;)&lt;/script&gt;" in content
    assert "<script>alert('sms')</script>" not in content and "<b>evil</b>" not in content
    assert "<img src=x" not in content and 'href="javascript:' not in content
    assert "654321" in content
    assert "money (ledger entries)" in content.lower() and "-1.00" in content  # the charge, inline
    assert 'name="messages-0-text"' not in content and 'name="status"' not in content


def test_it_offers_no_add_change_or_delete(staff_client, history):
    verification = history[0]
    assert staff_client.get(reverse("admin:verifications_verification_add")).status_code == 403
    response = staff_client.post(reverse("admin:verifications_verification_change", args=[verification.pk]),
                                 {"status": "cancelled"})
    assert response.status_code == 403
    assert staff_client.post(reverse("admin:verifications_verification_delete", args=[verification.pk]),
                             {"post": "yes"}).status_code == 403
    verification.refresh_from_db()
    assert verification.status == Verification.Status.COMPLETED
