"""Transport and authentication (contract §1 and §2): one path, GET and POST, query and form merged,
200 always, text tokens or JSON, the order of checks."""
import json
from decimal import Decimal

import pytest
from django.test import Client

from accounts import services as accounts
from smsactivate_api.tests.conftest import PATH
from verifications.tests.lifecycle import balance, fund


def test_it_answers_get_and_post_with_a_text_token_and_no_trailing_newline(shop, alice, key, client):
    fund(alice, "10.00")
    for response in (client.get(PATH, {"api_key": key, "action": "getBalance"}),
                     client.post(PATH, {"api_key": key, "action": "getBalance"})):
        assert response.status_code == 200
        assert response["Content-Type"] == "text/plain; charset=utf-8"
        assert response.content == b"ACCESS_BALANCE:10.00"


def test_it_merges_the_query_string_and_a_form_body_and_the_body_wins(shop, alice, key, client):
    fund(alice, "10.00")
    # The key in the query, the action in the body (some clients POST with the parameters in the URL).
    response = client.post(f"{PATH}?api_key={key}&action=getNumbersStatus", {"action": "getBalance"})
    assert response.content == b"ACCESS_BALANCE:10.00"
    response = client.post(f"{PATH}?api_key={key}&action=getBalance")
    assert response.content == b"ACCESS_BALANCE:10.00"


def test_it_reads_a_multipart_body(shop, alice, key, client):
    fund(alice, "3.00")
    response = client.post(PATH, {"api_key": key, "action": "getBalance"})  # the test client's default: multipart
    assert response.content == b"ACCESS_BALANCE:3.00"
    response = client.post(PATH, f"api_key={key}&action=getBalance", content_type="application/x-www-form-urlencoded")
    assert response.content == b"ACCESS_BALANCE:3.00"


def test_a_repeated_name_takes_its_last_value_and_an_empty_value_is_absent(shop, alice, key, client):
    fund(alice, "10.00")
    assert client.get(f"{PATH}?api_key={key}&action=getNumber&action=getBalance").content == b"ACCESS_BALANCE:10.00"
    # An empty body value does not hide the query's value.
    assert client.post(f"{PATH}?api_key={key}&action=getBalance", {"action": ""}).content == b"ACCESS_BALANCE:10.00"
    # An empty key is no key.
    assert client.get(PATH, {"api_key": "", "action": "getBalance"}).content == b"NO_KEY"


def test_json_answers_say_so_in_their_content_type(shop, key, proto):
    body, response = proto(action="getCountries")
    assert response["Content-Type"] == "application/json"
    assert json.loads(body)["187"]["eng"] == "United States"


@pytest.mark.parametrize("method", ["put", "patch", "delete", "head", "options"])
def test_other_methods_answer_405(shop, key, client, method):
    response = getattr(client, method)(f"{PATH}?api_key={key}&action=getBalance")
    assert response.status_code == 405


def test_a_post_needs_no_csrf_token(shop, alice, key):
    fund(alice, "1.00")
    strict = Client(enforce_csrf_checks=True)
    assert strict.post(PATH, {"api_key": key, "action": "getBalance"}).content == b"ACCESS_BALANCE:1.00"


def test_a_bad_key_comes_before_a_bad_action_and_no_key_after_it(shop, proto):
    assert proto(action="getBalance", api_key="nmk_00000000_nope")[0] == "BAD_KEY"
    assert proto(action="rentSomething", api_key="nmk_00000000_nope")[0] == "BAD_KEY"
    assert proto(api_key="garbage")[0] == "BAD_KEY"
    assert proto(action="getRentNumber", api_key=None)[0] == "BAD_ACTION"
    assert proto(api_key=None)[0] == "BAD_ACTION"
    assert proto(action="getBalance", api_key=None)[0] == "NO_KEY"
    assert proto(action="getNumber", service="wa", api_key=None)[0] == "NO_KEY"


@pytest.mark.parametrize("action", ["getRentServicesAndCountries", "getRentNumber", "getMultiServiceNumber",
                                    "getAllSms", "finishActivation", "cancelActivation", "reactivate",
                                    "getTopCountriesByService", "getPricesVerification", "getbalance"])
def test_actions_out_of_scope_answer_bad_action(shop, proto, action):
    assert proto(action=action)[0] == "BAD_ACTION"


def test_revoked_keys_and_deactivated_users_fail_like_a_wrong_key(shop, alice, key, proto):
    row = alice.api_keys.get()
    accounts.revoke_api_key(user=alice, key_id=row.pk)
    assert proto(action="getBalance")[0] == "BAD_KEY"
    _, other = accounts.create_api_key(user=alice, name="second")
    assert proto(action="getBalance", api_key=other)[0].startswith("ACCESS_BALANCE:")
    alice.is_active = False
    alice.save()
    from django.core.cache import cache

    cache.clear()  # the key row is cached for API_KEY_CACHE_SECONDS, as for the JSON API
    assert proto(action="getBalance", api_key=other)[0] == "BAD_KEY"


def test_the_key_may_come_in_the_authorization_header_and_the_parameter_wins(shop, alice, bob, key, bob_key, client):
    fund(alice, "2.00")
    fund(bob, "7.00")
    header = {"HTTP_AUTHORIZATION": f"Api-Key {bob_key}"}
    assert client.get(PATH, {"action": "getBalance"}, **header).content == b"ACCESS_BALANCE:7.00"
    assert client.get(PATH, {"action": "getBalance", "api_key": key}, **header).content == b"ACCESS_BALANCE:2.00"
    assert client.get(PATH, {"action": "getBalance"}, HTTP_AUTHORIZATION="Api-Key nmk_x_y").content == b"BAD_KEY"
    assert client.get(PATH, {"action": "getBalance"}, HTTP_AUTHORIZATION="Bearer abc").content == b"NO_KEY"


def test_the_catalogue_answers_without_a_key(shop, proto):
    for action in ("getPrices", "getCountries", "getServicesList", "getNumbersStatus", "getOperators"):
        body, response = proto(action=action, api_key=None)
        assert response["Content-Type"] == "application/json" and json.loads(body)


def test_the_balance_is_the_accounts_balance(shop, alice, key, proto):
    fund(alice, "12.34")
    assert proto(action="getBalance")[0] == "ACCESS_BALANCE:12.34"
    assert proto(action="getBalanceAndCashBack")[0] == "ACCESS_BALANCE:12.34"
    assert balance(alice) == Decimal("12.34")


def test_an_unexpected_error_is_error_sql_with_200(shop, key, client):
    # A multipart body that cannot be parsed: the view answers, it does not crash.
    response = client.generic("POST", PATH, b"--x\r\nbroken", content_type="multipart/form-data; boundary=x")
    assert response.status_code == 200
    assert response.content in (b"ERROR_SQL", b"BAD_ACTION")
