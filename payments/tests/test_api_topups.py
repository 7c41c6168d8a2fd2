"""POST/GET /account/topups: integrators open top-ups and see only their own."""
from decimal import Decimal

import pytest
from rest_framework.test import APIClient

from payments.models import TopUp
from payments.tests.support import open_topup, post_event
from verifications.tests.lifecycle import api_for


def test_it_opens_a_topup_and_answers_its_checkout_url(alice, fake_stripe):
    response = api_for(alice).post("/account/topups", {"amount": "12.50"}, format="json")

    assert response.status_code == 201, response.json()
    body = response.json()
    topup = TopUp.objects.get()
    assert body == {"id": str(topup.pk), "amount": "12.50", "currency": "usd", "status": "pending",
                    "checkout_url": topup.checkout_url, "created_at": body["created_at"], "paid_at": None}
    session = fake_stripe.session(topup.stripe_session_id)
    assert body["checkout_url"] == session["url"] and body["checkout_url"].startswith("http://127.0.0.1:")
    assert (session["amount_total"], session["client_reference_id"]) == (1250, str(topup.pk))


def test_it_accepts_a_json_number(alice, fake_stripe):
    response = api_for(alice).post("/account/topups", {"amount": 20}, format="json")
    assert (response.status_code, response.json()["amount"]) == (201, "20.00")


@pytest.mark.parametrize("amount", ["4.99", "500.01", "ten", "10.001", "-10", "0", "", 10.123, True, None])
def test_it_refuses_a_bad_amount_and_opens_no_session(alice, fake_stripe, amount):
    response = api_for(alice).post("/account/topups", {"amount": amount}, format="json")

    assert response.status_code == 400
    error = response.json()["error"]
    assert (error["code"], list(error["fields"])) == ("invalid", ["amount"])
    assert not TopUp.objects.exists()
    assert fake_stripe.sessions == {}


def test_it_accepts_both_ends_of_the_range(alice, fake_stripe):
    api = api_for(alice)
    statuses = [api.post("/account/topups", {"amount": a}, format="json").status_code for a in ("5", "500.00")]
    assert statuses == [201, 201]


def test_it_answers_503_when_stripe_is_down_and_marks_the_topup_failed(alice, fake_stripe):
    fake_stripe.down = True

    response = api_for(alice).post("/account/topups", {"amount": "10"}, format="json")

    assert response.status_code == 503 and response["Retry-After"] == "30"
    assert response.json()["error"]["code"] == "payments_unavailable"
    topup = TopUp.objects.get()
    assert (topup.status, topup.stripe_session_id) == ("failed", None)
    assert "503" in topup.failure_reason


def test_it_lists_only_the_callers_topups_newest_first(alice, bob, client, fake_stripe, django_assert_max_num_queries):
    first, second = open_topup(alice, "5.00"), open_topup(alice, "10.00")
    open_topup(bob, "50.00")
    post_event(client, fake_stripe.pay(first.stripe_session_id))
    api = api_for(alice)

    with django_assert_max_num_queries(4):
        response = api.get("/account/topups")

    body = response.json()
    assert body["count"] == 2
    assert [(t["id"], t["amount"], t["status"]) for t in body["results"]] == [
        (str(second.pk), "10.00", "pending"), (str(first.pk), "5.00", "paid")]
    assert body["results"][1]["paid_at"] is not None


def test_it_paginates_like_the_other_lists(alice, fake_stripe):
    for _ in range(3):
        open_topup(alice)
    body = api_for(alice).get("/account/topups?page_size=2").json()
    assert (body["count"], len(body["results"]), body["next"] is not None) == (3, 2, True)


def test_it_shows_one_topup_to_its_owner_and_404_to_anybody_else(alice, bob, fake_stripe):
    topup = open_topup(alice)

    assert api_for(alice).get(f"/account/topups/{topup.pk}").json()["id"] == str(topup.pk)
    hidden = api_for(bob).get(f"/account/topups/{topup.pk}")
    assert hidden.status_code == 404 and hidden.json()["error"]["code"] == "not_found"
    assert api_for(bob).get("/account/topups").json()["count"] == 0


def test_it_wants_a_caller(db):
    assert APIClient().get("/account/topups").status_code == 401
    assert APIClient().post("/account/topups", {"amount": "10"}, format="json").status_code == 401
    assert not TopUp.objects.exists()


def test_the_402_of_a_purchase_says_where_to_add_funds(alice, settings, db):
    from verifications.tests.lifecycle import make_shop

    make_shop()
    response = api_for(alice).post("/verify/create", {"service": "telegram", "country": "US", "capability": "sms"},
                                   format="json")

    assert response.status_code == 402
    error = response.json()["error"]
    assert error["topup_url"] == "http://testserver/add-funds"
    assert error["message"] == ("Insufficient balance: $1.00 needed, $0.00 available ($1.00 missing). "
                                "Add funds to continue.")
    assert Decimal(error["missing"]) == Decimal("1.00")
