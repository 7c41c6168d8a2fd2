import pytest

from verifications.tests.factories import make_catalogue


@pytest.fixture
def catalogue(db):
    """One tier (Standard, $1.00), one service (Telegram) and one country (US)."""
    return make_catalogue()


@pytest.fixture
def staff_client(client, staff):
    client.force_login(staff)
    return client


@pytest.fixture
def alice_client(client, alice):
    client.force_login(alice)
    return client
