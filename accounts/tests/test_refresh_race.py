"""Refresh-token rotation is atomic: concurrent refreshes of one token yield exactly one new pair."""
import pytest
from django.db import connection
from rest_framework.test import APIClient
from rest_framework_simplejwt.token_blacklist.models import BlacklistedToken, OutstandingToken

from accounts.tests.test_concurrent_charges import race

pytestmark = [
    pytest.mark.django_db(transaction=True),
    pytest.mark.skipif(connection.vendor != "postgresql",
                       reason="needs concurrent writers on one row: run with DATABASE_URL=postgresql://…"),
]


def test_twenty_concurrent_refreshes_of_one_token_yield_one_new_pair(alice):
    refresh = APIClient().post("/auth/token", {"email": alice.email, "password": "correct-horse-battery"},
                               format="json").json()["refresh"]
    responses = race([lambda: APIClient().post("/auth/token/refresh", {"refresh": refresh}, format="json")] * 20)
    statuses = sorted(r.status_code for r in responses)
    assert statuses == [200] + [401] * 19, statuses
    [winner] = [r for r in responses if r.status_code == 200]
    new = winner.json()["refresh"]
    assert OutstandingToken.objects.filter(user=alice).count() == 2  # the original and the one new pair
    assert BlacklistedToken.objects.filter(token__token=refresh).count() == 1
    assert APIClient().post("/auth/token/refresh", {"refresh": new}, format="json").status_code == 200


def test_a_refresh_already_used_is_refused(alice):
    refresh = APIClient().post("/auth/token", {"email": alice.email, "password": "correct-horse-battery"},
                               format="json").json()["refresh"]
    assert APIClient().post("/auth/token/refresh", {"refresh": refresh}, format="json").status_code == 200
    replay = APIClient().post("/auth/token/refresh", {"refresh": refresh}, format="json")
    assert replay.status_code == 401 and replay.json()["error"]["code"] == "not_authenticated"
