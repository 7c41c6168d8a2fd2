"""The account page (/settings; /account is the JSON API) and the balance in every page's header."""
from accounts import services


def test_it_shows_my_email_balance_and_keys(alice_client, alice):
    services.credit(user=alice, amount="12.50", memo="bank transfer")
    services.create_api_key(user=alice, name="one")
    revoked, _ = services.create_api_key(user=alice, name="two")
    services.revoke_api_key(user=alice, key_id=revoked.pk)
    response = alice_client.get("/settings")
    html = response.content.decode()
    assert response.status_code == 200
    assert "alice@example.com" in html and '<dd class="mono">$12.50</dd>' in html
    assert "<dd>1 · " in html  # one active key
    assert 'aria-current="page">Account</a>' in html


def test_the_balance_is_in_the_header_of_every_page(alice_client, alice):
    services.credit(user=alice, amount="3.25", memo="bank transfer")
    for url in ("/", "/dashboard", "/history", "/transactions", "/api-keys", "/settings"):
        assert '<strong id="balance" aria-live="polite">$3.25</strong>' in alice_client.get(url).content.decode(), url


def test_the_account_api_path_is_still_json(alice_client):
    response = alice_client.get("/account")
    assert response["Content-Type"] == "application/json" and response.json()["email"] == "alice@example.com"
