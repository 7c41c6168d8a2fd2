"""Opening top-ups is rate limited per user (RATE_TOPUP), one counter for the API and the Add funds
form; over it: 429 with Retry-After, and no top-up or Checkout Session is opened."""
from payments.models import TopUp
from verifications.tests.lifecycle import api_for


def open_by_api(user, amount="10"):
    return api_for(user).post("/account/topups", {"amount": amount}, format="json")


def test_the_api_answers_429_in_the_error_shape_over_the_limit(alice, bob, fake_stripe, settings):
    settings.RATE_TOPUP = "2/h"  # an hour-long window: no boundary to cross mid-test
    assert [open_by_api(alice).status_code for _ in range(2)] == [201, 201]

    response = open_by_api(alice)

    assert response.status_code == 429
    error = response.json()["error"]
    assert (error["code"], error["message"]) == ("rate_limited", "Too many requests; slow down")
    assert int(response["Retry-After"]) >= 1 and error["retry_after"] == int(response["Retry-After"])
    assert TopUp.objects.filter(owner=alice).count() == 2 and len(fake_stripe.sessions) == 2
    # Per user, not per address: bob on the same client is not limited by alice's top-ups.
    assert open_by_api(bob).status_code == 201


def test_the_add_funds_form_answers_429_and_opens_nothing(alice, alice_client, fake_stripe, settings):
    settings.RATE_TOPUP = "1/h"
    assert alice_client.post("/add-funds", {"preset": "10.00"}).status_code == 302

    response = alice_client.post("/add-funds", {"preset": "10.00"})

    assert response.status_code == 429 and int(response["Retry-After"]) >= 1
    page = response.content.decode()
    assert "Too many top-ups opened; try again in" in page and "Nothing was charged." in page
    assert 'name="custom"' in page  # the form is still there to try again later
    assert TopUp.objects.count() == 1 and len(fake_stripe.sessions) == 1
    assert alice_client.get("/add-funds").status_code == 200  # looking at the page is never limited


def test_the_api_and_the_form_share_one_counter(alice, alice_client, fake_stripe, settings):
    settings.RATE_TOPUP = "2/h"
    assert alice_client.post("/add-funds", {"preset": "10.00"}).status_code == 302
    assert open_by_api(alice).status_code == 201

    assert open_by_api(alice).status_code == 429
    assert alice_client.post("/add-funds", {"preset": "10.00"}).status_code == 429
    assert TopUp.objects.count() == 2


def test_bad_amounts_count_too_so_the_limit_cannot_be_probed_for_free(alice, fake_stripe, settings):
    settings.RATE_TOPUP = "2/h"
    assert [open_by_api(alice, "0").status_code for _ in range(2)] == [400, 400]
    assert open_by_api(alice).status_code == 429
    assert not TopUp.objects.exists() and fake_stripe.sessions == {}


def test_it_is_off_with_ratelimit_enable_false(alice, fake_stripe, settings):
    settings.RATE_TOPUP, settings.RATELIMIT_ENABLE = "1/h", False
    assert [open_by_api(alice).status_code for _ in range(3)] == [201, 201, 201]
