"""The fake SMS-Activate-protocol provider's own rules, over raw HTTP (not through our client), where
the client's tests lean on them: authentication order, lifecycle, idempotency, expiry, hooks, faults."""
import subprocess
import sys
from datetime import timedelta
from decimal import Decimal
from pathlib import Path

import pytest
import requests

from providers.tests.smsactivate_support import SMSA_KEY

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture
def call(smsa_server):
    url = smsa_server.base_url + "/stubs/handler_api.php"

    def send(action: str, *, key: str | None = SMSA_KEY, method: str = "GET", **params):
        fields = {"action": action, **({"api_key": key} if key is not None else {}), **params}
        if method == "GET":
            return requests.get(url, params=fields, timeout=5)
        return requests.request(method, url, data=fields, timeout=5)

    return send


def buy(call, **params):
    answer = call("getNumber", service="wa", country="16", **params).text
    assert answer.startswith("ACCESS_NUMBER:"), answer
    return int(answer.split(":")[1])


def test_it_checks_the_key_then_the_action_then_whether_a_key_is_needed(call):
    assert call("getBalance", key="wrong").text == "BAD_KEY"
    assert call("nonsense", key="wrong").text == "BAD_KEY"
    assert call("nonsense").text == "BAD_ACTION"
    assert call("getBalance", key=None).text == "NO_KEY"
    assert call("getCountries", key=None).headers["Content-Type"] == "application/json"
    response = call("getBalance", method="POST")
    assert (response.status_code, response.text, response.headers["Content-Type"]) == (
        200, "ACCESS_BALANCE:100.00", "text/plain; charset=utf-8")
    assert call("getBalance", method="PUT").status_code == 405


def test_a_purchase_charges_and_a_cancel_refunds_once(call, smsa_server):
    fake = smsa_server.fake
    stock = fake.offers[(16, "wa")][1]
    activation = buy(call)
    price = fake.activation(activation).cost
    assert call("getBalance").text == f"ACCESS_BALANCE:{Decimal('100.00') - price:.2f}"
    assert fake.offers[(16, "wa")][1] == stock - 1
    assert call("getStatus", id=activation).text == "STATUS_WAIT_CODE"
    assert call("setStatus", id=activation, status="1").text == "ACCESS_READY"
    assert call("setStatus", id=activation, status="8").text == "ACCESS_CANCEL"
    assert call("setStatus", id=activation, status="-1").text == "ACCESS_CANCEL"
    assert call("getBalance").text == "ACCESS_BALANCE:100.00"
    assert fake.offers[(16, "wa")][1] == stock
    assert call("getStatus", id=activation).text == "STATUS_CANCEL"
    assert call("getStatusV2", id=activation).text == "STATUS_CANCEL"
    assert call("setStatus", id=activation, status="6").text == "BAD_STATUS"


def test_codes_another_code_and_finish_follow_the_lifecycle(call, smsa_server, smsa_clock):
    fake = smsa_server.fake
    activation = buy(call)
    assert call("setStatus", id=activation, status="6").text == "BAD_STATUS"  # nothing to finish
    fake.deliver_sms(activation, text="Your code is 482-913", code="482913")
    assert call("getStatus", id=activation).text == "STATUS_OK:482913"
    assert call("getStatusV2", id=activation).json() == {
        "verificationType": 0, "call": None,
        "sms": {"dateTime": "2026-11-25 14:03:07", "code": "482913", "text": "Your code is 482-913"}}
    assert call("setStatus", id=activation, status="8").text == "BAD_STATUS"  # a code arrived
    assert call("setStatus", id=activation, status="3").text == "ACCESS_RETRY_GET"
    assert call("getStatus", id=activation).text == "STATUS_WAIT_RETRY:482913"
    smsa_clock.advance(10)
    fake.deliver_sms(activation, text="Your code is 555111")
    assert call("getStatus", id=activation).text == "STATUS_OK:Your code is 555111"  # no code given: the text
    assert call("getFullSms", id=activation).text == "FULL_SMS:Your code is 555111"
    assert call("setStatus", id=activation, status="6").text == "ACCESS_ACTIVATION"
    assert call("setStatus", id=activation, status="6").text == "ACCESS_ACTIVATION"
    assert call("setStatus", id=activation, status="1").text == "BAD_STATUS"
    assert call("getActiveActivations").json() == {"status": "error", "error": "NO_ACTIVATIONS"}
    with pytest.raises(ValueError):
        fake.deliver_sms(activation, text="too late")


def test_an_activation_that_expires_without_a_code_is_given_back(call, smsa_server, smsa_clock):
    activation = buy(call)
    smsa_clock.advance(1200)
    assert call("getStatus", id=activation).text == "STATUS_CANCEL"
    assert call("getBalance").text == "ACCESS_BALANCE:100.00"


def test_orderid_answers_the_same_purchase_or_order_already_exists(call, smsa_server):
    first = call("getNumberV2", service="wa", country="16", orderId="o-1").json()
    again = call("getNumberV2", service="wa", country="16", orderId="o-1").json()
    assert again == first and isinstance(first["activationId"], int) and first["activationId"] > 2 ** 31
    assert call("getNumber", service="wa", country="16", orderId="o-1").text == \
        f"ACCESS_NUMBER:{first['activationId']}:{first['phoneNumber']}"
    assert call("getNumber", service="tg", country="16", orderId="o-1").text == "ORDER_ALREADY_EXISTS"
    assert len(smsa_server.fake.activations) == 1


def test_purchase_refusals(call, smsa_server):
    assert call("getNumber", service="zz", country="16").text == "BAD_SERVICE"
    assert call("getNumber", service="wa", country="999").text == "BAD_COUNTRY"
    assert call("getNumber", service="fb", country="43").text == "NO_NUMBERS"  # sold out
    assert call("getNumber", service="wa", country="16", maxPrice="0.50").text == "WRONG_MAX_PRICE:1.08"
    assert call("getNumber", service="wa", country="16", maxPrice="1.08").text.startswith("ACCESS_NUMBER:")
    assert call("getNumber", service="wa", country="16", maxPrice="cheap").text == "ERROR_SQL"
    smsa_server.fake.balance = Decimal("0.10")
    assert call("getNumber", service="wa", country="16").text == "NO_BALANCE"


def test_the_early_cancel_window_follows_the_clock(call, smsa_server, smsa_clock):
    smsa_server.fake.early_cancel_window = timedelta(seconds=120)
    activation = buy(call)
    smsa_clock.advance(119)
    assert call("setStatus", id=activation, status="8").text == "EARLY_CANCEL_DENIED"
    smsa_clock.advance(1)
    assert call("setStatus", id=activation, status="8").text == "ACCESS_CANCEL"


def test_numbers_follow_each_country_s_format(call):
    formats = {"187": ("120155501", 11), "16": ("447700900", 12), "22": ("9190000", 12), "73": ("5511900", 13),
               "43": ("4915100000", 13), "78": ("3363998", 11), "175": ("61491570", 11), "0": ("7900000", 11)}
    for country, (prefix, length) in formats.items():
        number = call("getNumber", service="go", country=country).text.split(":")[2]
        assert number.startswith(prefix) and len(number) == length and number.isdigit()


def test_the_http_hooks_deliver_and_inject(smsa_server, call):
    base = smsa_server.base_url
    activation = buy(call)
    assert requests.post(f"{base}/_fake/sms", json={"id": activation, "text": "code 424242"}, timeout=5).ok
    assert call("getStatus", id=activation).text == "STATUS_OK:code 424242"
    assert requests.post(f"{base}/_fake/sms", json={"id": 1, "text": "x"}, timeout=5).status_code == 404
    assert requests.post(f"{base}/_fake/faults", json={"action": "getBalance", "status": 402,
                                                       "body": {"title": "NO_BALANCE"}}, timeout=5).ok
    fault = call("getBalance")
    assert (fault.status_code, fault.json()) == (402, {"title": "NO_BALANCE"})
    assert call("getBalance").status_code == 200  # count 1: once only
    assert requests.post(f"{base}/_fake/faults", json={"bogus": 1}, timeout=5).status_code == 400
    state = requests.get(f"{base}/_fake/state", timeout=5).json()
    assert state["activations"][0]["id"] == activation and state["requests"]["getBalance"] == 2
    assert requests.post(f"{base}/_fake/reset", timeout=5).ok
    assert smsa_server.fake.activations == {}


def test_a_dropped_answer_still_buys(smsa_server, call):
    from fakes.smsactivate import Fault

    smsa_server.fake.add_fault(Fault(action="getNumber", drop=True))
    with pytest.raises(requests.ConnectionError):
        call("getNumber", service="wa", country="16")
    assert len(smsa_server.fake.activations) == 1


def test_it_runs_as_a_module_for_development():
    from providers.tests.support import closed_port

    port = closed_port()
    process = subprocess.Popen([sys.executable, "-m", "fakes.smsactivate", "--port", str(port), "--api-key", "dev"],
                               stdout=subprocess.PIPE, text=True, cwd=ROOT)
    try:
        banner = process.stdout.readline()  # printed once it listens
        assert f"listening on http://127.0.0.1:{port}/stubs/handler_api.php" in banner
        answer = requests.get(f"http://127.0.0.1:{port}/stubs/handler_api.php",
                              params={"action": "getBalance", "api_key": "dev"}, timeout=5)
        assert answer.text == "ACCESS_BALANCE:1000.00"
    finally:
        process.terminate()
        process.wait(timeout=10)
        process.stdout.close()


def test_it_refuses_a_bad_port():
    result = subprocess.run([sys.executable, "-m", "fakes.smsactivate", "--port", "70000"], capture_output=True,
                            text=True, timeout=30, cwd=ROOT)
    assert result.returncode == 2 and "--port 70000 is not a port number" in result.stderr
