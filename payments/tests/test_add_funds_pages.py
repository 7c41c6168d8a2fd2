"""/add-funds and the pages Stripe Checkout returns to, against the fake Stripe."""
from decimal import Decimal

import pytest

from payments.models import TopUp
from payments.tests.support import open_topup, post_event


def test_it_redirects_to_stripe_checkout_for_a_preset(alice, alice_client, fake_stripe):
    response = alice_client.post("/add-funds", {"preset": "25.00"})

    assert response.status_code == 302
    topup = TopUp.objects.get()
    assert response["Location"] == topup.checkout_url == fake_stripe.session(topup.stripe_session_id)["url"]
    session = fake_stripe.session(topup.stripe_session_id)
    assert (topup.owner, topup.amount, topup.status) == (alice, Decimal("25.00"), "pending")
    assert (session["mode"], session["amount_total"], session["currency"]) == ("payment", 2500, "usd")
    assert session["client_reference_id"] == str(topup.pk) and session["metadata"] == {"topup_id": str(topup.pk)}
    assert session["success_url"] == f"http://testserver/add-funds/{topup.pk}/paid"
    assert session["cancel_url"] == f"http://testserver/add-funds/{topup.pk}/cancelled"
    assert session["customer_email"] == alice.email


def test_a_custom_amount_wins_over_the_preset(alice_client, fake_stripe):
    assert alice_client.post("/add-funds", {"preset": "5.00", "custom": "12.34"}).status_code == 302
    assert TopUp.objects.get().amount == Decimal("12.34")


@pytest.mark.parametrize("custom", ["4.99", "500.01", "abc", "10.005", "-5", "0"])
def test_it_refuses_a_bad_amount_with_a_form_error_and_opens_no_session(alice_client, fake_stripe, custom):
    response = alice_client.post("/add-funds", {"custom": custom})

    assert response.status_code == 400
    assert "Enter an amount from $5.00 to $500.00, with at most 2 decimal places" in response.content.decode()
    assert not TopUp.objects.exists() and fake_stripe.sessions == {}


def test_it_refuses_a_preset_that_is_not_offered(alice_client, fake_stripe):
    assert alice_client.post("/add-funds", {"preset": "1000.00"}).status_code == 400
    assert not TopUp.objects.exists()


def test_it_offers_only_the_presets_within_the_configured_range(alice_client, settings):
    settings.TOPUP_MIN, settings.TOPUP_MAX = Decimal("10.00"), Decimal("25.00")
    page = alice_client.get("/add-funds").content.decode()
    assert 'value="10.00"' in page and 'value="25.00"' in page
    assert 'value="5.00"' not in page and 'value="50.00"' not in page
    assert "From $10.00 to $25.00" in page


def test_it_says_card_payments_are_down_and_marks_the_topup_failed(alice_client, fake_stripe):
    fake_stripe.down = True
    response = alice_client.post("/add-funds", {"preset": "10.00"})
    assert response.status_code == 503
    assert "Card payments are unavailable right now; nothing was charged." in response.content.decode()
    assert TopUp.objects.get().status == "failed"


def test_the_form_may_redirect_to_stripe_checkout_under_the_csp(alice_client):
    csp = alice_client.get("/add-funds")["Content-Security-Policy"]
    assert "form-action 'self' https://checkout.stripe.com" in csp and "script-src 'self'" in csp


def test_the_success_page_says_crediting_until_the_credit_lands(alice, alice_client, client, fake_stripe):
    topup = open_topup(alice)

    pending = alice_client.get(f"/add-funds/{topup.pk}/paid").content.decode()
    assert "Payment received, crediting…" in pending
    assert f'data-status-url="/account/topups/{topup.pk}"' in pending and "js/topup.js" in pending
    assert "<script>" not in pending  # the strict CSP: scripts only from our static files

    post_event(client, fake_stripe.pay(topup.stripe_session_id))
    paid = alice_client.get(f"/add-funds/{topup.pk}/paid").content.decode()
    assert "Your top-up of $10.00 is credited. Your new balance is" in paid and "$10.00</strong>" in paid


def test_nobody_else_sees_the_success_page_or_cancels_the_topup(alice, bob, client, fake_stripe):
    topup = open_topup(alice)
    client.force_login(bob)
    assert client.get(f"/add-funds/{topup.pk}/paid").status_code == 404
    assert client.get(f"/add-funds/{topup.pk}/cancelled").status_code == 404
    assert fake_stripe.session(topup.stripe_session_id)["status"] == "open"


def test_cancel_returns_to_the_dashboard_with_nothing_charged_and_closes_the_session(alice, alice_client,
                                                                                     fake_stripe):
    topup = open_topup(alice)

    response = alice_client.get(f"/add-funds/{topup.pk}/cancelled", follow=True)

    assert response.redirect_chain == [("/dashboard", 302)]
    assert "Payment cancelled: nothing was charged." in response.content.decode()
    topup.refresh_from_db()
    assert (topup.status, fake_stripe.session(topup.stripe_session_id)["status"]) == ("expired", "expired")


def test_cancel_after_paying_in_another_tab_keeps_the_payment(alice, alice_client, client, fake_stripe):
    topup = open_topup(alice)
    post_event(client, fake_stripe.pay(topup.stripe_session_id))

    response = alice_client.get(f"/add-funds/{topup.pk}/cancelled", follow=True)

    assert "went through after all" in response.content.decode()
    topup.refresh_from_db()
    assert topup.status == "paid"


def test_add_funds_is_linked_from_the_header_and_the_account_page(alice_client):
    for path in ("/dashboard", "/settings"):
        page = alice_client.get(path).content.decode()
        assert '<a href="/add-funds">Add funds</a>' in page, path
    assert 'class="button" href="/add-funds">Add funds</a>' in alice_client.get("/settings").content.decode()
    assert "ask us" not in alice_client.get("/settings").content.decode()


def test_add_funds_needs_a_login(client, db):
    response = client.get("/add-funds")
    assert response.status_code == 302 and response["Location"].startswith("/login")


def test_it_explains_a_balance_below_zero(alice, alice_client):
    from accounts.models import Account

    Account.objects.filter(user=alice).update(balance=Decimal("-4.00"))
    page = alice_client.get("/add-funds").content.decode()
    assert "Your balance is $-4.00 because a card top-up was refunded or" in page


def test_cancel_after_paying_before_the_event_lands_does_not_claim_nothing_was_charged(alice, alice_client,
                                                                                       fake_stripe):
    topup = open_topup(alice)
    fake_stripe.pay(topup.stripe_session_id)  # paid at Stripe; the webhook is still on its way

    page = alice_client.get(f"/add-funds/{topup.pk}/cancelled", follow=True).content.decode()

    assert "nothing was charged" not in page.replace("otherwise nothing was charged", "")
    assert "If you completed the payment, your balance is credited as soon as Stripe confirms it" in page
    topup.refresh_from_db()
    assert topup.status == "pending"


def test_cancel_while_stripe_is_down_leaves_the_topup_pending_and_says_so(alice, alice_client, fake_stripe):
    topup = open_topup(alice)
    fake_stripe.down = True

    page = alice_client.get(f"/add-funds/{topup.pk}/cancelled", follow=True).content.decode()

    assert "If you completed the payment" in page
    topup.refresh_from_db()
    assert topup.status == "pending"
