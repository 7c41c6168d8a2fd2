"""Staff see a customer's API keys (never the keys) and revoke them, with a confirmation and a reason;
the revocation goes through accounts.services and is refused by the API at once."""
from django.contrib.admin.models import LogEntry
from django.contrib.auth.models import Permission
from django.core.cache import cache
from django.urls import reverse
from rest_framework.test import APIClient

from accounts import credentials, services
from accounts.models import ApiKey

CHANGELIST = reverse("admin:accounts_apikey_changelist")


def with_key(key: str):
    return APIClient().get("/account", HTTP_AUTHORIZATION=f"Api-Key {key}")


def select(client, *rows):
    return client.post(CHANGELIST, {"action": "revoke_selected", "index": "0",
                                    "_selected_action": [str(r.pk) for r in rows]})


def confirm(client, *rows, reason="leaked in a public repository"):
    return client.post(CHANGELIST, {"action": "revoke_selected", "confirm": "yes", "reason": reason,
                                    "_selected_action": [str(r.pk) for r in rows]}, follow=True)


def test_the_users_page_shows_their_keys_read_only(staff_client, alice):
    used, full = services.create_api_key(user=alice, name="production")
    with_key(full)
    old, _ = services.create_api_key(user=alice, name="old laptop")
    services.revoke_api_key(user=alice, key_id=old.pk)
    html = staff_client.get(reverse("admin:accounts_user_change", args=[alice.pk])).content.decode()
    for shown in ("production", used.prefix, "old laptop", old.prefix, "active", "revoked "):
        assert shown in html, shown
    assert full not in html and used.hashed_key not in html
    assert 'name="api_keys-0-name"' not in html  # read-only: no inputs
    assert f"{CHANGELIST}?user__id__exact={alice.pk}" in html


def test_the_keys_list_shows_every_customers_keys_without_a_query_per_row(staff_client, alice, bob,
                                                                          django_assert_max_num_queries):
    for user in (alice, bob):
        for i in range(5):
            services.create_api_key(user=user, name=f"{user.email.split('@')[0]}-{i}")
    with django_assert_max_num_queries(8):
        html = staff_client.get(CHANGELIST).content.decode()
    assert "alice-4" in html and "bob@example.com" in html
    mine = staff_client.get(CHANGELIST, {"q": "alice@example.com"}).content.decode()
    assert "alice-0" in mine and "bob-0" not in mine


def test_revoking_shows_a_confirmation_and_writes_nothing_until_confirmed(staff_client, alice):
    row, full = services.create_api_key(user=alice, name="production")
    page = select(staff_client, row)
    assert page.status_code == 200
    html = page.content.decode()
    assert "1 key(s) will be revoked" in html and row.prefix in html and "alice@example.com" in html
    assert "Revoke 1 key(s)" in html
    without_reason = confirm(staff_client, row, reason="")
    assert without_reason.status_code == 200 and "This field is required." in without_reason.content.decode()
    row.refresh_from_db()
    assert row.active and with_key(full).status_code == 200


def test_a_revoked_key_is_refused_by_the_api_right_after(staff_client, staff, alice):
    row, full = services.create_api_key(user=alice, name="production")
    assert with_key(full).status_code == 200
    assert cache.get(credentials.api_key_cache_key(row.prefix)) is not None  # the entry every path reads

    response = confirm(staff_client, row)
    assert "Revoked 1 API key(s): requests using them are refused from now on." in response.content.decode()
    refused = with_key(full)
    assert refused.status_code == 401 and refused.json()["error"]["message"] == "Invalid or revoked API key."
    row.refresh_from_db()
    assert not row.active and row.revoked_by == staff
    history = LogEntry.objects.get(object_id=str(row.pk))
    assert (history.user, history.get_change_message()) == (staff, "Revoked: leaked in a public repository")
    assert "by staff (staff@example.com)" in staff_client.get(CHANGELIST).content.decode()


def test_already_revoked_keys_are_skipped(staff_client, alice):
    active, _ = services.create_api_key(user=alice, name="a")
    gone, _ = services.create_api_key(user=alice, name="b")
    services.revoke_api_key(user=alice, key_id=gone.pk)
    html = select(staff_client, active, gone).content.decode()
    assert "be skipped: already revoked" in html and "Revoke 1 key(s)" in html
    response = confirm(staff_client, active, gone)
    assert "Revoked 1 API key(s)" in response.content.decode() and "1 already revoked" in response.content.decode()
    gone.refresh_from_db()
    assert gone.revoked_by is None  # the customer revoked it: that stays so


def test_staff_who_may_only_view_keys_cannot_revoke(client, make_user, alice):
    viewer = make_user("viewer@example.com", is_staff=True)
    viewer.user_permissions.add(Permission.objects.get(codename="view_apikey"))
    client.force_login(viewer)
    row, full = services.create_api_key(user=alice, name="production")
    listing = client.get(CHANGELIST).content.decode()
    assert row.prefix in listing and "revoke_selected" not in listing
    confirm(client, row)
    row.refresh_from_db()
    assert row.active and with_key(full).status_code == 200


def test_the_staff_service_and_the_customers_one_revoke_alike(alice, staff):
    row, full = services.create_api_key(user=alice, name="x")
    assert with_key(full).status_code == 200
    assert services.staff_revoke_api_key(key_id=row.pk, staff=staff)[1] is True
    assert services.staff_revoke_api_key(key_id=row.pk, staff=staff)[1] is False  # idempotent
    assert with_key(full).status_code == 401
    assert ApiKey.objects.get(pk=row.pk).revoked_by == staff
