"""The API keys page: create (shown once), list, revoke, through accounts.services."""
import hashlib

from accounts import services
from accounts.models import ApiKey
from accounts.views import NEW_KEY_SESSION


def test_it_lists_only_my_keys(alice_client, alice, bob):
    services.create_api_key(user=alice, name="alice-production")
    services.create_api_key(user=bob, name="bob-secret-project")
    html = alice_client.get("/api-keys").content.decode()
    assert "alice-production" in html and "bob-secret-project" not in html


def test_it_says_so_when_there_is_no_key(alice_client):
    assert "No API keys yet." in alice_client.get("/api-keys").content.decode()


def test_it_creates_a_key_and_shows_it_once(alice_client, alice):
    created = alice_client.post("/api-keys/create", {"name": "production"})
    # Post/redirect/get: the browser ends on a GET, so a reload cannot create a second key.
    assert created.status_code == 303 and created["Location"] == "/api-keys"
    response = alice_client.get("/api-keys")
    assert response.status_code == 200 and response["Cache-Control"] == "no-store"
    row = ApiKey.objects.get(user=alice)
    html = response.content.decode()
    key = html.split('<code id="new-key" class="mono">')[1].split("</code>")[0]
    assert key.startswith(f"nmk_{row.prefix}_") and row.name == "production"
    # The page shows the very key whose fingerprint was stored. (Not checked with user_for_api_key:
    # it splits on "_", which token_urlsafe() may put in the secret — reported separately.)
    assert row.hashed_key == hashlib.sha256(key.encode()).hexdigest()
    again = alice_client.get("/api-keys")
    assert key not in again.content.decode() and "Your new key" not in again.content.decode()
    assert "no-store" not in again.get("Cache-Control", "")
    assert ApiKey.objects.filter(user=alice).count() == 1


def test_the_new_key_is_not_kept_in_the_session_once_shown(alice_client, alice):
    alice_client.post("/api-keys/create", {"name": "ci"})
    assert NEW_KEY_SESSION in alice_client.session
    alice_client.get("/api-keys")
    assert NEW_KEY_SESSION not in alice_client.session


def test_another_customers_stashed_key_id_shows_nothing(alice_client, bob):
    row, key = services.create_api_key(user=bob, name="bob's")
    session = alice_client.session
    session[NEW_KEY_SESSION] = {"id": row.pk, "key": key}
    session.save()
    html = alice_client.get("/api-keys").content.decode()
    assert key not in html and "bob&#x27;s" not in html and "bob's" not in html


def test_it_refuses_a_key_without_a_name(alice_client, alice):
    response = alice_client.post("/api-keys/create", {"name": "  "})
    assert response.status_code == 400 and "This field is required." in response.content.decode()
    assert not ApiKey.objects.exists()


def test_it_revokes_my_key(alice_client, alice):
    row, _ = services.create_api_key(user=alice, name="old")
    response = alice_client.post(f"/api-keys/{row.pk}/revoke", follow=True)
    assert response.redirect_chain == [("/api-keys", 302)]
    assert "Revoked the key “old”" in response.content.decode() and "Revoked</span>" in response.content.decode()
    row.refresh_from_db()
    assert row.revoked_at is not None and not row.active


def test_it_cannot_revoke_another_customers_key(alice_client, bob):
    row, _ = services.create_api_key(user=bob, name="bob's")
    assert alice_client.post(f"/api-keys/{row.pk}/revoke").status_code == 404
    row.refresh_from_db()
    assert row.revoked_at is None


def test_a_get_creates_and_revokes_nothing(alice_client, alice):
    row, _ = services.create_api_key(user=alice, name="kept")
    assert alice_client.get("/api-keys/create?name=sneaky").status_code == 405
    assert alice_client.get(f"/api-keys/{row.pk}/revoke").status_code == 405
    row.refresh_from_db()
    assert row.revoked_at is None and ApiKey.objects.count() == 1


def test_a_key_name_is_shown_as_text(alice_client, alice):
    services.create_api_key(user=alice, name='<script>alert("key")</script>')
    html = alice_client.get("/api-keys").content.decode()
    assert '<script>alert("key")' not in html
    assert "&lt;script&gt;alert(&quot;key&quot;)&lt;/script&gt;" in html


def test_the_page_costs_a_fixed_number_of_queries(alice_client, alice, django_assert_max_num_queries):
    for n in range(15):
        services.create_api_key(user=alice, name=f"key {n}")
    with django_assert_max_num_queries(5):
        assert alice_client.get("/api-keys").status_code == 200
