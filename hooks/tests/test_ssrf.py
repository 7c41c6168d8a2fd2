"""No requests to private addresses: refused at registration, and again at delivery (DNS changes)."""
import pytest

from hooks import addresses, services
from hooks.models import Delivery, Endpoint

PUBLIC = "93.184.216.34"


@pytest.mark.parametrize("address", [
    "127.0.0.1", "127.8.9.10", "::1", "10.0.0.1", "172.16.5.4", "192.168.1.1", "fc00::1", "fd12:3456::1",
    "169.254.169.254", "169.254.1.1", "fe80::1", "100.64.0.1", "0.0.0.0", "::", "224.0.0.1", "ff02::1",
    "240.0.0.1", "255.255.255.255", "::ffff:127.0.0.1", "::ffff:169.254.169.254", "::ffff:10.0.0.1",
    "2002:7f00:1::", "64:ff9b::a9fe:a9fe", "fe80::1%eth0",
])
def test_these_addresses_are_not_public(address):
    assert not addresses.is_public(address)


@pytest.mark.parametrize("address", [PUBLIC, "8.8.8.8", "2606:4700:4700::1111", "::ffff:93.184.216.34"])
def test_these_addresses_are_public(address):
    assert addresses.is_public(address)


@pytest.mark.parametrize("url", [
    "http://127.0.0.1/hook", "http://localhost:8000/hook", "http://[::1]/hook", "http://10.1.2.3/hook",
    "http://169.254.169.254/latest/meta-data/", "http://[::ffff:127.0.0.1]/hook", "http://100.64.1.1/hook",
    "http://2130706433/hook", "http://0x7f.1/hook", "https://rebind.example/hook", "https://mixed.example/hook",
])
def test_registration_refuses_urls_that_reach_private_addresses(alice_api, names, url):
    names["rebind.example"] = ["127.0.0.1"]  # a hostname that resolves to loopback
    names["mixed.example"] = [PUBLIC, "10.0.0.7"]  # one public answer does not excuse a private one
    response = alice_api.post("/account/webhooks", {"url": url}, format="json")
    assert response.status_code == 400, response.json()
    assert list(response.json()["error"]["fields"]) == ["url"]
    assert not Endpoint.objects.exists()


def test_localhost_really_resolves_to_loopback_and_is_refused(alice):
    # Not the patched resolver: the machine's own answer for `localhost`.
    with pytest.raises(addresses.AddressRefused):
        addresses.check("http://localhost/hook")
    with pytest.raises(services.EndpointRefused) as refused:
        services.create_endpoint(owner=alice, url="http://localhost/hook")
    assert "url" in refused.value.fields


def test_an_unresolvable_host_is_refused(alice_api, names):
    response = alice_api.post("/account/webhooks", {"url": "https://no-such-host.invalid/hook"}, format="json")
    assert response.status_code == 400 and "does not resolve" in response.json()["error"]["fields"]["url"][0]


def test_a_public_host_is_accepted(alice_api, names):
    names["hooks.example"] = [PUBLIC]
    response = alice_api.post("/account/webhooks", {"url": "https://hooks.example/namaskah"}, format="json")
    assert response.status_code == 201


def test_allow_private_lifts_the_address_rule_but_never_the_scheme_rule(alice_api, allow_private):
    assert alice_api.post("/account/webhooks", {"url": "http://127.0.0.1:9/hook"}, format="json").status_code == 201
    for url in ("ftp://127.0.0.1/hook", "file:///etc/passwd", "gopher://127.0.0.1/", "javascript:alert(1)"):
        response = alice_api.post("/account/webhooks", {"url": url}, format="json")
        assert response.status_code == 400 and "http" in response.json()["error"]["fields"]["url"][0]


def test_a_host_that_turns_private_after_registration_gets_nothing(alice, names, receiver, settings,
                                                                    django_capture_on_commit_callbacks):
    names["rebind.example"] = [PUBLIC]
    endpoint = services.create_endpoint(owner=alice, url=f"http://rebind.example:{receiver.port}/hook")
    names["rebind.example"] = ["127.0.0.1"]  # DNS rebinding: now it points at us
    with django_capture_on_commit_callbacks(execute=True):
        services.send_test(owner=alice, endpoint_id=endpoint.pk)
    delivery = Delivery.objects.get()
    assert receiver.requests == []
    assert (delivery.status, delivery.attempts, delivery.response_code) == ("pending", 1, None)
    assert delivery.last_error.startswith("refused:")


def test_a_delivery_goes_to_the_address_that_was_checked_with_the_urls_host(alice, names, receiver, allow_private,
                                                                            django_capture_on_commit_callbacks):
    names["hooks.integrator.example"] = ["127.0.0.1"]
    endpoint = services.create_endpoint(owner=alice, url=f"http://hooks.integrator.example:{receiver.port}/in?x=1")
    with django_capture_on_commit_callbacks(execute=True):
        services.send_test(owner=alice, endpoint_id=endpoint.pk)
    [request] = receiver.requests
    assert request.headers["Host"] == f"hooks.integrator.example:{receiver.port}"
    assert request.path == "/in?x=1"
    assert request.headers["User-Agent"] == "Namaskah-Webhooks/1"
    assert request.headers["Content-Type"] == "application/json"
