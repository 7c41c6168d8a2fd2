"""The dashboard's Webhooks page: add (secret shown once), list with recent deliveries, test, delete."""
from django.utils import timezone

from hooks import services
from hooks.models import Delivery, Endpoint


def test_it_adds_an_endpoint_and_shows_its_secret_once(alice_client, alice, receiver, allow_private):
    created = alice_client.post("/settings/webhooks/create", {"url": receiver.url(), "format": "standard"})
    assert created.status_code == 303 and created["Location"] == "/settings/webhooks"
    endpoint = Endpoint.objects.get(owner=alice)
    assert endpoint.events == list(services.EVENTS)
    page = alice_client.get("/settings/webhooks")
    assert page["Cache-Control"] == "no-store"
    html = page.content.decode()
    assert f'<code id="new-secret" class="mono">{endpoint.secret}</code>' in html
    again = alice_client.get("/settings/webhooks").content.decode()
    assert endpoint.secret not in again and receiver.url() in again


def test_it_refuses_a_private_url_and_keeps_the_form(alice_client):
    response = alice_client.post("/settings/webhooks/create", {
        "url": "http://169.254.169.254/latest/meta-data/", "format": "standard",
        "events": ["verification.completed"]})
    assert response.status_code == 400
    html = response.content.decode()
    assert "non-public address" in html and 'value="http://169.254.169.254/latest/meta-data/"' in html
    assert not Endpoint.objects.exists()


def test_it_refuses_an_event_the_sms_activate_format_does_not_carry(alice_client, receiver, allow_private):
    response = alice_client.post("/settings/webhooks/create", {
        "url": receiver.url(), "format": "sms-activate", "events": ["verification.refunded"]})
    assert response.status_code == 400 and "Not an event this format carries" in response.content.decode()
    assert not Endpoint.objects.exists()


def test_it_lists_recent_deliveries_without_a_query_per_endpoint(alice_client, alice, bob, receiver, allow_private,
                                                                django_assert_max_num_queries):
    for _ in range(3):
        endpoint = services.create_endpoint(owner=alice, url=receiver.url())
        for _ in range(12):
            services.send_test(owner=alice, endpoint_id=endpoint.pk)
    Delivery.objects.filter(pk=Delivery.objects.order_by("-created_at", "-pk").first().pk).update(
        status="pending", attempts=2, response_code=503, next_attempt_at=timezone.now(), last_error="HTTP 503: busy")
    services.create_endpoint(owner=bob, url=receiver.url("/bobs-hook"))
    with django_assert_max_num_queries(8):
        html = alice_client.get("/settings/webhooks").content.decode()
    assert html.count('class="panel endpoint"') == 3 and "/bobs-hook" not in html
    assert html.count("<code>webhook.test</code>") == 30  # the 10 most recent of each
    assert "HTTP 503: busy" in html and ">503<" in html and "UTC</time>" in html


def test_it_sends_a_test_event_and_deletes(alice_client, alice, receiver, allow_private,
                                           django_capture_on_commit_callbacks):
    endpoint = services.create_endpoint(owner=alice, url=receiver.url())
    with django_capture_on_commit_callbacks(execute=True):
        tested = alice_client.post(f"/settings/webhooks/{endpoint.pk}/test", follow=True)
    assert "Sent a webhook.test event" in tested.content.decode()
    assert len(receiver.requests) == 1 and Delivery.objects.get().status == "delivered"
    deleted = alice_client.post(f"/settings/webhooks/{endpoint.pk}/delete")
    assert deleted.status_code == 302 and not Endpoint.objects.exists()


def test_bob_cannot_test_or_delete_alices_endpoint(client, alice, bob, receiver, allow_private):
    endpoint = services.create_endpoint(owner=alice, url=receiver.url())
    client.force_login(bob)
    assert client.post(f"/settings/webhooks/{endpoint.pk}/test").status_code == 404
    assert client.post(f"/settings/webhooks/{endpoint.pk}/delete").status_code == 404
    assert client.get(f"/settings/webhooks/{endpoint.pk}/delete").status_code == 405
    assert Endpoint.objects.filter(pk=endpoint.pk).exists() and not Delivery.objects.exists()


def test_it_needs_a_login(client):
    response = client.get("/settings/webhooks")
    assert response.status_code == 302 and "/login" in response["Location"]


def test_a_url_written_by_a_stranger_is_escaped(alice_client, alice, allow_private, names):
    names["x.example"] = ["127.0.0.1"]
    services.create_endpoint(owner=alice, url='http://x.example/"><script>alert(1)</script>')
    html = alice_client.get("/settings/webhooks").content.decode()
    assert "<script>alert(1)</script>" not in html and "&lt;script&gt;" in html
