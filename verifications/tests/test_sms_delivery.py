"""Any SMS delivered completes the sale, through the real client against the fake TextVerified: the
upstream bills us when it delivers. Codes that are not 4-8 digits are found; a link is not a code,
and the whole text is shown either way."""
from datetime import timedelta
from decimal import Decimal

import pytest
import time_machine

from accounts.models import LedgerEntry
from verifications import services
from verifications.models import Verification
from verifications.tests.lifecycle import api_for, balance, fake_textverified, fund, make_shop


@pytest.fixture
def fake(settings):
    with fake_textverified(settings, sms_delay=None) as server:
        yield server


@pytest.fixture
def bought(db, alice, fake):
    make_shop()
    fund(alice, "5.00")
    response = api_for(alice).post("/verify/create", {"service": "telegram", "country": "US", "capability": "sms"},
                                   format="json")
    assert response.status_code == 201, response.content
    return Verification.objects.get(pk=response.json()["id"])


@pytest.mark.parametrize("text, code", [
    ("Tap https://example.com/verify?t=Q7X2 to confirm your Telegram account.", None),
    ("Your Telegram code: four eight two nine", None),
    ("G-482913 is your Google verification code.", "G-482913"),
    ("Your code is AB12CD", "AB12CD"),
])
def test_an_sms_without_a_digit_code_completes_the_sale(bought, alice, fake, text, code):
    api = api_for(alice)
    fake.fake.deliver_sms(bought.provider_ref, text=text, code=None)  # parsedCode null: we read the text
    body = api.get(f"/verify/{bought.pk}/messages?refresh=1").json()
    assert body["status"] == "completed" and body["code"] == code
    assert [m["text"] for m in body["messages"]] == [text]  # the whole text, always
    cancel = api.delete(f"/verify/{bought.pk}")
    assert cancel.status_code == 409
    with time_machine.travel(bought.expires_at + timedelta(minutes=1)):
        services.expire_due()
    bought.refresh_from_db()
    assert bought.status == Verification.Status.COMPLETED and bought.refunded_at is None
    assert balance(alice) == Decimal("4.00")
    assert not LedgerEntry.objects.filter(verification=bought, kind=LedgerEntry.Kind.REFUND).exists()


def test_report_number_stays_after_delivery_and_refunds_once_the_upstream_accepts(bought, alice, fake):
    api = api_for(alice)
    fake.fake.deliver_sms(bought.provider_ref, text="Your code is 555123", code="555123")
    assert api.get(f"/verify/{bought.pk}/messages?refresh=1").json()["status"] == "completed"
    answer = api.post(f"/verify/{bought.pk}/report")
    assert answer.status_code == 200, answer.content
    assert (answer.json()["status"], answer.json()["refunded"], answer.json()["balance"]) == ("failed", "1.00", "5.00")
    assert fake.fake.count("POST", f"/api/pub/v2/verifications/{bought.provider_ref}/report") == 1
    again = api.post(f"/verify/{bought.pk}/report")
    assert again.status_code == 409 and balance(alice) == Decimal("5.00")  # refunded once
    assert LedgerEntry.objects.filter(verification=bought, kind=LedgerEntry.Kind.REFUND).count() == 1


def test_a_report_the_upstream_refuses_after_delivery_refunds_nothing(bought, alice, fake):
    from fakes.textverified import Fault

    api = api_for(alice)
    fake.fake.deliver_sms(bought.provider_ref, text="Your code is 555123", code="555123")
    api.get(f"/verify/{bought.pk}/messages?refresh=1")
    fake.fake.add_fault(Fault(status=400, path=f"/api/pub/v2/verifications/{bought.provider_ref}/report",
                              method="POST"))
    answer = api.post(f"/verify/{bought.pk}/report")
    assert answer.status_code == 409 and answer.json()["error"]["code"] == "cannot_report"
    bought.refresh_from_db()
    assert bought.status == Verification.Status.COMPLETED and balance(alice) == Decimal("4.00")
    with time_machine.travel(bought.expires_at + timedelta(seconds=1)):
        late = api.post(f"/verify/{bought.pk}/report")
    assert late.status_code == 409 and balance(alice) == Decimal("4.00")
