"""`/account/webhooks`: register, list, delete, test; only your own endpoints."""
import base64
import json

import pytest
from standardwebhooks import Webhook

from accounts import services as accounts
from hooks.models import Delivery, Endpoint

ALL = ["verification.code_received", "verification.completed", "verification.refunded"]


def register(api, **body):
    return api.post("/account/webhooks", body, format="json")


def test_it_registers_an_endpoint_and_shows_the_secret_once(alice_api, alice, receiver, allow_private):
    response = register(alice_api, url=receiver.url())
    assert response.status_code == 201, response.json()
    body = response.json()
    assert set(body) == {"id", "url", "events", "format", "active", "created_at", "secret"}
    assert (body["url"], body["events"], body["format"], body["active"]) == (receiver.url(), ALL, "standard", True)
    assert body["secret"].startswith("whsec_") and len(base64.b64decode(body["secret"][6:])) == 32
    endpoint = Endpoint.objects.get(pk=body["id"])
    assert (endpoint.owner, endpoint.secret, endpoint.enabled) == (alice, body["secret"], True)

    listed = alice_api.get("/account/webhooks").json()
    assert listed == [{key: value for key, value in body.items() if key != "secret"}]


def test_an_sms_activate_endpoint_carries_code_received_only(alice_api, receiver, allow_private):
    body = register(alice_api, url=receiver.url(), format="sms-activate").json()
    assert (body["format"], body["events"]) == ("sms-activate", ["verification.code_received"])
    refused = register(alice_api, url=receiver.url(), format="sms-activate", events=["verification.completed"])
    assert refused.status_code == 400
    assert list(refused.json()["error"]["fields"]) == ["events"]


@pytest.mark.parametrize("body, field", [
    ({"url": "ftp://127.0.0.1/hook"}, "url"),
    ({"url": "http://user:pass@127.0.0.1/hook"}, "url"),
    ({"url": "not a url"}, "url"),
    ({"url": "http://127.0.0.1/" + "a" * 2000}, "url"),
    ({"url": "http://127.0.0.1:99999/hook"}, "url"),
    ({"url": "http://127.0.0.1/hook", "events": []}, "events"),
    ({"url": "http://127.0.0.1/hook", "events": ["verification.created"]}, "events"),
    ({"url": "http://127.0.0.1/hook", "events": "verification.completed"}, "events"),
    ({"url": "http://127.0.0.1/hook", "format": "xml"}, "format"),
    ({"events": ALL}, "url"),
])
def test_it_refuses_a_bad_endpoint_in_the_api_error_shape(alice_api, allow_private, body, field):
    response = register(alice_api, **body)
    assert response.status_code == 400
    error = response.json()["error"]
    assert error["code"] == "invalid" and field in error["fields"]
    assert all(isinstance(m, str) for m in error["fields"][field])
    assert not Endpoint.objects.exists()


def test_it_deletes_an_endpoint_and_its_deliveries(alice_api, receiver, allow_private):
    endpoint_id = register(alice_api, url=receiver.url()).json()["id"]
    assert alice_api.post(f"/account/webhooks/{endpoint_id}/test").status_code == 202
    response = alice_api.delete(f"/account/webhooks/{endpoint_id}")
    assert response.status_code == 204
    assert not Endpoint.objects.exists() and not Delivery.objects.exists()
    assert alice_api.delete(f"/account/webhooks/{endpoint_id}").status_code == 404


def test_the_test_event_is_signed_and_delivered(alice_api, receiver, allow_private, django_capture_on_commit_callbacks):
    created = register(alice_api, url=receiver.url()).json()
    with django_capture_on_commit_callbacks(execute=True):
        response = alice_api.post(f"/account/webhooks/{created['id']}/test")
    assert response.status_code == 202
    assert response.json()["type"] == "webhook.test" and response.json()["webhook_id"].startswith("msg_")
    [request] = receiver.requests
    payload = Webhook(created["secret"]).verify(request.body, request.headers)
    assert payload["type"] == "webhook.test" and payload["data"] == {"endpoint_id": created["id"]}
    assert request.headers["webhook-id"] == response.json()["webhook_id"]
    delivery = Delivery.objects.get()
    assert (delivery.status, delivery.attempts, delivery.response_code) == ("delivered", 1, 200)


def test_bob_cannot_see_delete_or_test_alices_endpoint(alice_api, bob_api, receiver, allow_private):
    endpoint_id = register(alice_api, url=receiver.url()).json()["id"]
    assert bob_api.get("/account/webhooks").json() == []
    for response in (bob_api.delete(f"/account/webhooks/{endpoint_id}"), bob_api.post(f"/account/webhooks/{endpoint_id}/test")):
        assert response.status_code == 404
        assert response.json()["error"]["code"] == "not_found"
    assert Endpoint.objects.filter(pk=endpoint_id).exists() and not Delivery.objects.exists()


def test_a_disabled_endpoint_cannot_be_tested(alice_api, receiver, allow_private):
    endpoint_id = register(alice_api, url=receiver.url()).json()["id"]
    Endpoint.objects.filter(pk=endpoint_id).update(enabled=False)
    response = alice_api.post(f"/account/webhooks/{endpoint_id}/test")
    assert response.status_code == 409 and response.json()["error"]["code"] == "endpoint_disabled"
    assert alice_api.get("/account/webhooks").json()[0]["active"] is False


def test_it_takes_an_api_key_and_refuses_anonymous_callers(client, alice, receiver, allow_private):
    _, key = accounts.create_api_key(user=alice, name="bot")
    response = client.post("/account/webhooks", json.dumps({"url": receiver.url()}), content_type="application/json",
                           headers={"Authorization": f"Api-Key {key}"})
    assert response.status_code == 201
    assert Endpoint.objects.get().owner == alice
    anonymous = client.get("/account/webhooks")
    assert anonymous.status_code == 401 and anonymous.json()["error"]["code"] == "not_authenticated"


def test_the_endpoints_are_in_the_openapi_schema(client):
    schema = client.get("/api/schema", headers={"Accept": "application/json"}).json()
    assert {"post", "get"} <= set(schema["paths"]["/account/webhooks"])
    assert "delete" in schema["paths"]["/account/webhooks/{id}"]
    assert "202" in schema["paths"]["/account/webhooks/{id}/test"]["post"]["responses"]
    assert "201" in schema["paths"]["/account/webhooks"]["post"]["responses"]


@pytest.mark.parametrize("events", [["x" * 100], [None], [""], [["verification.completed"]], [{"a": 1}], 7])
def test_a_malformed_events_list_is_one_message_like_every_field(alice_api, allow_private, events):
    response = register(alice_api, url="http://127.0.0.1/hook", events=events)
    assert response.status_code == 400
    messages = response.json()["error"]["fields"]["events"]
    assert isinstance(messages, list) and all(isinstance(m, str) for m in messages)
