"""A service's code length for its voice calls: staff's, else the one its recent codes agree on."""
from datetime import timedelta

import pytest
from django.utils import timezone

from verifications import code_length
from verifications.models import Message, Verification, VoiceCall
from verifications.tests.factories import make_verification


def delivered(catalogue, user, *, sms=(), voice=(), status=Verification.Status.COMPLETED, age=timedelta(0)):
    verification = make_verification(user=user, catalogue=catalogue, status=status, created_at=timezone.now() - age)
    for i, code in enumerate(sms):
        Message.objects.create(verification=verification, provider="textverified",
                               provider_message_id=f"{verification.pk}-{i}", text=f"Your code is {code}", code=code,
                               received_at=timezone.now())
    for code, confidence in voice:
        VoiceCall.objects.create(verification=verification, provider="textverified",
                                 provider_call_id=f"{verification.pk}-{code}", code=code, code_confidence=confidence,
                                 received_at=timezone.now())
    return verification


def test_staff_set_length_wins(db, catalogue, alice):
    for _ in range(6):
        delivered(catalogue, alice, sms=["48291"])
    catalogue.service.voice_code_length = 6
    assert code_length.code_length(catalogue.service) == 6


def test_five_recent_sms_codes_of_one_length_set_it(db, catalogue, alice):
    for code in ("482913", "100293", "552301", "009912"):
        delivered(catalogue, alice, sms=[code])
    assert code_length.inferred(catalogue.service.pk) is None  # four codes: not enough
    delivered(catalogue, alice, sms=["774120"])
    assert code_length.code_length(catalogue.service) == 6


def test_voice_codes_never_count(db, catalogue, alice):
    # A confident voice code read with an inferred length would confirm that very length.
    for code in ("482913", "100293", "552301", "009912"):
        delivered(catalogue, alice, sms=[code])
    for code in ("774120", "123456", "654321"):
        delivered(catalogue, alice, voice=[(code, VoiceCall.Confidence.CONFIDENT)])
    assert code_length.inferred(catalogue.service.pk) is None
    delivered(catalogue, alice, voice=[("7741", VoiceCall.Confidence.CONFIDENT)], sms=["774120"])
    assert code_length.inferred(catalogue.service.pk) == 6


@pytest.mark.parametrize("odd", ["48291", "G-482913", "AB12CD"])
def test_codes_of_several_kinds_set_nothing(db, catalogue, alice, odd):
    for code in ("482913", "100293", "552301", "009912", "774120"):
        delivered(catalogue, alice, sms=[code])
    delivered(catalogue, alice, sms=[odd])
    assert code_length.code_length(catalogue.service) is None


def test_only_completed_recent_verifications_count(db, catalogue, alice):
    # Cancelled ones (a number reported, a code that never came) say nothing about the service.
    for code in ("4829", "1002", "5523", "0099", "7741"):
        delivered(catalogue, alice, sms=[code], status=Verification.Status.CANCELLED)
    assert code_length.inferred(catalogue.service.pk) is None
    # Only the latest RECENT completed ones: older codes of another length are forgotten.
    for code in ("48291", "10029", "55230", "00991", "77410", "12345"):
        delivered(catalogue, alice, sms=[code], age=timedelta(days=30))
    for _ in range(code_length.RECENT):
        delivered(catalogue, alice, sms=["482913"])
    assert code_length.inferred(catalogue.service.pk) == 6


def test_the_answer_is_cached_per_service(db, catalogue, alice, django_assert_num_queries):
    for code in ("482913", "100293", "552301", "009912", "774120"):
        delivered(catalogue, alice, sms=[code])
    assert code_length.code_length(catalogue.service) == 6
    with django_assert_num_queries(0):
        assert code_length.code_length(catalogue.service) == 6
    code_length.forget(catalogue.service.pk)
    with django_assert_num_queries(2):
        assert code_length.code_length(catalogue.service) == 6


def test_an_unknown_length_is_cached_too(db, catalogue, alice, django_assert_num_queries):
    assert code_length.code_length(catalogue.service) is None
    with django_assert_num_queries(0):
        assert code_length.code_length(catalogue.service) is None


def test_the_service_admin_page_shows_the_length_in_use(db, catalogue, alice, staff_client):
    from django.urls import reverse

    url = reverse("admin:verifications_service_change", args=[catalogue.service.pk])
    assert "not set, and the recent SMS codes do not agree" in staff_client.get(url).content.decode()
    for code in ("482913", "100293", "552301", "009912", "774120"):
        delivered(catalogue, alice, sms=[code])
    # The page shows what transcription uses: the answer cached a moment ago, until the service is saved.
    assert "not set, and the recent SMS codes do not agree" in staff_client.get(url).content.decode()
    code_length.forget(catalogue.service.pk)
    assert "6 (the service&#x27;s recent SMS codes)" in staff_client.get(url).content.decode()
    catalogue.service.voice_code_length = 8
    catalogue.service.save()
    assert "8 (set above)" in staff_client.get(url).content.decode()


def test_saving_the_service_in_admin_drops_the_cached_answer(db, catalogue, alice, staff_client):
    from django.urls import reverse

    from verifications.models import Service

    assert code_length.code_length(catalogue.service) is None  # cached: nothing to infer yet
    for code in ("482913", "100293", "552301", "009912", "774120"):
        delivered(catalogue, alice, sms=[code])
    url = reverse("admin:verifications_service_change", args=[catalogue.service.pk])
    form = staff_client.get(url).context["adminform"].form
    data = {name: ("" if value is None else value) for name, value in form.initial.items()
            if name in form.fields and not isinstance(value, (list, tuple))}
    data.update({name: "on" for name, value in form.initial.items() if value is True})
    for name, value in list(data.items()):
        if value is False:
            del data[name]
    response = staff_client.post(url, data)
    assert response.status_code == 302, response.context["adminform"].form.errors if response.context else response
    assert code_length.code_length(Service.objects.get(pk=catalogue.service.pk)) == 6


def test_a_cache_outage_still_answers_from_the_database(db, catalogue, alice, monkeypatch):
    from django.core.cache import cache

    def down(*args, **kwargs):
        raise ConnectionError("redis is down")

    for code in ("482913", "100293", "552301", "009912", "774120"):
        delivered(catalogue, alice, sms=[code])
    monkeypatch.setattr(cache, "get", down)
    monkeypatch.setattr(cache, "set", down)
    assert code_length.code_length(catalogue.service) == 6
