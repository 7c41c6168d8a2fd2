import json

from django.core.management import call_command


def test_the_openapi_schema_validates_and_covers_every_endpoint(tmp_path, db):
    target = tmp_path / "schema.json"
    call_command("spectacular", "--validate", "--fail-on-warn", "--format", "openapi-json", "--file", str(target))
    schema = json.loads(target.read_text())
    assert schema["openapi"].startswith("3.")
    paths = set(schema["paths"])
    assert paths >= {
        "/verify/create", "/verify", "/verify/{id}", "/verify/{id}/messages", "/verify/{id}/voice",
        "/verify/{id}/report", "/services", "/countries", "/pricing/quote", "/account", "/account/transactions",
        "/auth/register", "/auth/token", "/auth/token/refresh", "/auth/api-keys", "/auth/api-keys/{id}",
        "/account/topups", "/account/topups/{id}",
    }
    assert {"jwtAuth", "ApiKeyAuth", "cookieAuth"} <= set(schema["components"]["securitySchemes"])
    create = schema["paths"]["/verify/create"]["post"]["responses"]
    assert {"201", "400", "402", "429", "503"} <= set(create)


def test_the_docs_page_is_served_without_a_cdn(client, db):
    page = client.get("/api/docs")
    assert page.status_code == 200
    html = page.content.decode()
    assert "cdn.jsdelivr" not in html and "/static/drf_spectacular_sidecar/" in html
    assert client.get("/api/schema").status_code == 200
