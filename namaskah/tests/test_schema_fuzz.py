"""schemathesis against /api/schema, inside the suite: every operation, a few generated requests each
(authenticated with a real API key, so they reach the views), no server error, no answer outside
what the schema says. Bounded: MAX_EXAMPLES per operation, and a time budget for the whole module."""
import time

import pytest
import schemathesis
from hypothesis import HealthCheck, Phase, settings
from schemathesis.checks import (
    content_type_conformance, not_a_server_error, response_headers_conformance, response_schema_conformance,
    status_code_conformance,
)

from django.core import signals
from django.db import close_old_connections

from accounts import services as accounts
from namaskah.wsgi import application
from verifications.tests.lifecycle import fund, make_shop

MAX_EXAMPLES = 4
BUDGET_SECONDS = 240  # the whole module; far above what it takes (about 30 s here)
CHECKS = [not_a_server_error, status_code_conformance, content_type_conformance, response_schema_conformance,
          response_headers_conformance]
_started = time.monotonic()


@pytest.fixture
def api_schema(db):
    # Requests go straight to the WSGI application, in this test's transaction: as Django's test
    # client does, keep request_started/finished from closing the connection (PostgreSQL would
    # then have to reopen it inside the atomic block).
    signals.request_started.disconnect(close_old_connections)
    signals.request_finished.disconnect(close_old_connections)
    try:
        yield schemathesis.openapi.from_wsgi("/api/schema", application)
    finally:
        signals.request_started.connect(close_old_connections)
        signals.request_finished.connect(close_old_connections)


schema = schemathesis.pytest.from_fixture("api_schema")


@pytest.fixture
def api_key(db):
    make_shop()
    user = accounts.register(email="fuzz@example.com", password="a-long-enough-passphrase")
    fund(user, "20.00")
    _, key = accounts.create_api_key(user=user, name="schemathesis")
    return key


@schema.parametrize()
@settings(max_examples=MAX_EXAMPLES, deadline=None, phases=[Phase.explicit, Phase.generate],
          suppress_health_check=list(HealthCheck), database=None)
def test_the_api_answers_as_its_schema_says(case, api_key):
    if time.monotonic() - _started > BUDGET_SECONDS:
        pytest.fail(f"the fuzzing budget of {BUDGET_SECONDS} s is spent: lower MAX_EXAMPLES")
    case.call_and_validate(headers={"Authorization": f"Api-Key {api_key}"}, checks=CHECKS)
