def test_health_reports_database_and_cache(client, db):
    response = client.get("/system/health")
    assert response.status_code == 200
    body = response.json()
    assert body["status"] == "healthy"
    assert set(body["components"]) >= {"database", "cache"}
    assert all(c["status"] == "ok" for c in body["components"].values())


def test_liveness_answers_without_io(client):
    # No `db` fixture: any database access here would raise.
    assert client.get("/system/live").json() == {"status": "alive"}
