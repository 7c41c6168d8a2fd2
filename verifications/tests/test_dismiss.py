"""Dismissing a finished card: remembered on the server (dismissed_at), by one service scoped to the
user, so the card stays off the dashboard after a reload and on other devices; the history keeps it."""
import re

import pytest
from django.test import Client

from verifications.models import Verification
from verifications.services import dismiss
from verifications.tests.test_dashboard_pages import active_cards, verification
from verifications.tests.lifecycle import make_shop


@pytest.fixture
def shop(db):
    return make_shop()


def url(v: Verification) -> str:
    return f"/dashboard/verifications/{v.pk}/dismiss"


def test_a_dismissed_card_stays_off_the_dashboard_but_not_out_of_the_history(alice_client, alice, shop):
    done = verification(alice, shop, status="completed")
    kept = verification(alice, shop, status="pending")
    assert {c["id"] for c in active_cards(alice_client.get("/dashboard"))} == {str(done.pk), str(kept.pk)}
    response = alice_client.post(url(done))
    assert response.status_code == 204
    done.refresh_from_db()
    assert done.dismissed_at is not None and done.status == "completed"
    assert [c["id"] for c in active_cards(alice_client.get("/dashboard"))] == [str(kept.pk)]
    # Another device (a fresh session of the same customer) sees it dismissed too.
    other_device = Client()
    other_device.force_login(alice)
    assert [c["id"] for c in active_cards(other_device.get("/dashboard"))] == [str(kept.pk)]
    assert str(done.phone_number) in alice_client.get("/history").content.decode()


def test_dismissing_twice_keeps_the_first_time(alice, shop):
    done = verification(alice, shop, status="completed")
    first = dismiss(user=alice, verification_id=done.pk).dismissed_at
    assert dismiss(user=alice, verification_id=done.pk).dismissed_at == first


def test_a_pending_verification_cannot_be_dismissed(alice_client, alice, shop):
    pending = verification(alice, shop, status="pending")
    response = alice_client.post(url(pending))
    assert response.status_code == 409
    assert response.json()["error"]["code"] == "wrong_state"
    pending.refresh_from_db()
    assert pending.dismissed_at is None
    assert [c["id"] for c in active_cards(alice_client.get("/dashboard"))] == [str(pending.pk)]


def test_another_customers_verification_is_a_404_and_stays_on_their_dashboard(alice_client, alice, bob, shop):
    bobs = verification(bob, shop, status="completed")
    assert alice_client.post(url(bobs)).status_code == 404
    with pytest.raises(Verification.DoesNotExist):
        dismiss(user=alice, verification_id=bobs.pk)
    bobs.refresh_from_db()
    assert bobs.dismissed_at is None


def test_it_needs_a_post_with_the_csrf_token_and_a_login(client, alice, shop):
    done = verification(alice, shop, status="completed")
    assert client.post(url(done))["Location"].startswith("/login")
    strict = Client(enforce_csrf_checks=True)
    strict.force_login(alice)
    assert strict.get(url(done)).status_code == 405
    assert strict.post(url(done)).status_code == 403
    done.refresh_from_db()
    assert done.dismissed_at is None
    token = re.search(r'<meta name="csrf-token" content="([^"]+)">', strict.get("/dashboard").content.decode()).group(1)
    assert strict.post(url(done), headers={"X-CSRFToken": token}).status_code == 204
    done.refresh_from_db()
    assert done.dismissed_at is not None
