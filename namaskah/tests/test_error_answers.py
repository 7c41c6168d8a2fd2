"""No 500s from bad input, and API paths answer in the JSON error shape also for Django's own 404s
and for 500s; dashboard pages and admin keep Django's HTML pages."""
import pytest
from django.test import Client
from rest_framework.test import APIClient

from verifications.tests.lifecycle import api_for


@pytest.mark.parametrize("path", ["/auth/token", "/auth/register"])
@pytest.mark.parametrize("body", ["[1, 2]", '"alice@example.com"', "42", "null"])
def test_a_json_body_that_is_not_an_object_is_a_400(db, path, body):
    response = APIClient().post(path, body, content_type="application/json")
    assert response.status_code == 400 and response.json()["error"]["code"] == "invalid"


@pytest.mark.parametrize("path", ["/verify?service=%00", "/verify?status=a%00b", "/pricing/quote?service=%00&country=US&capability=sms",
                                  "/account/transactions?page=%00"])
def test_a_nul_in_an_api_query_parameter_is_a_400_validation_error(alice, path):
    response = api_for(alice).get(path)
    assert response.status_code == 400
    error = response.json()["error"]
    assert error["code"] == "invalid" and list(error["fields"].values()) == [["Null characters are not allowed."]]


def test_a_nul_in_a_json_string_is_a_400_validation_error(alice):
    response = api_for(alice).post("/verify/create", {"service": "tele\x00gram", "country": "US", "capability": "sms"},
                                   format="json")
    assert response.status_code == 400 and response.json()["error"]["fields"] == {
        "service": ["Null characters are not allowed."]}
    nested = api_for(alice).post("/auth/api-keys", {"name": ["ok", {"deep": "x\x00"}]}, format="json")
    assert nested.status_code == 400 and "name" in nested.json()["error"]["fields"]


def test_a_nul_in_a_form_field_is_a_400(db):
    response = Client().post("/login", {"email": "a@example.com\x00", "password": "x"})
    assert response.status_code == 400


@pytest.mark.parametrize("path", ["/history?service=%00", "/history?status=%00", "/transactions?page=%00"])
def test_a_nul_in_the_dashboards_filters_is_a_400(alice_client, path):
    assert alice_client.get(path).status_code == 400


@pytest.mark.parametrize("path", ["/admin/accounts/user/?q=%00", "/admin/verifications/verification/?status__exact=%00",
                                  "/admin/accounts/ledgerentry/?q=a%00"])
def test_a_nul_in_admins_search_and_filters_is_a_400(staff_client, path):
    assert staff_client.get(path).status_code == 400


@pytest.mark.parametrize("path", ["/verify/not-a-uuid", "/verify/not-a-uuid/messages", "/auth/api-keys/x",
                                  "/verify/00000000-0000-0000-0000-000000000000/nothing"])
def test_api_404s_of_malformed_ids_are_json(alice, path, settings):
    settings.DEBUG = False
    response = api_for(alice).get(path)
    assert response.status_code == 404 and response["Content-Type"] == "application/json"
    assert response.json() == {"error": {"code": "not_found", "message": "Not found."}}


def test_a_missing_dashboard_page_keeps_djangos_html_404(alice_client, settings):
    settings.DEBUG = False
    response = alice_client.get("/no-such-page")
    assert response.status_code == 404 and response["Content-Type"].startswith("text/html")


@pytest.mark.urls("namaskah.tests.urls_raising")
def test_a_500_on_an_api_path_is_json_and_on_a_page_is_html(db, settings):
    settings.DEBUG = False
    client = Client(raise_request_exception=False)
    api = client.get("/verify/boom")
    assert api.status_code == 500 and api.json()["error"]["code"] == "server_error"
    page = client.get("/boom-page")
    assert page.status_code == 500 and page["Content-Type"].startswith("text/html")


def test_the_paginated_lists_are_described_as_paginated(db):
    import yaml

    schema = yaml.safe_load(APIClient().get("/api/schema").content)
    for path, item in (("/verify", "VerificationOut"), ("/account/transactions", "LedgerEntryOut")):
        ref = schema["paths"][path]["get"]["responses"]["200"]["content"]["application/json"]["schema"]["$ref"]
        wrapper = schema["components"]["schemas"][ref.rsplit("/", 1)[1]]
        assert {"count", "next", "previous", "results"} <= set(wrapper["properties"])
        assert wrapper["properties"]["results"]["items"]["$ref"].endswith(item)
