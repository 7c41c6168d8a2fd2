"""The payments tests' world: the real stripe library against the fake Stripe on 127.0.0.1."""
import pytest

from fakes.stripe import start_fake_stripe
from payments.tests.support import SECRET_KEY, WEBHOOK_SECRET


@pytest.fixture(autouse=True)
def _fresh_gateways():
    # One gateway per configuration is kept per process; each test's fake listens on a new port.
    from payments import gateway

    gateway._instances.clear()
    yield
    gateway._instances.clear()


@pytest.fixture
def fake_stripe(settings):
    """PAYMENTS=stripe, with the library pointed at a fresh fake Stripe; yields the fake's state."""
    server = start_fake_stripe(secret_key=SECRET_KEY, webhook_secret=WEBHOOK_SECRET)
    settings.PAYMENTS = "stripe"
    settings.STRIPE_SECRET_KEY = SECRET_KEY
    settings.STRIPE_WEBHOOK_SECRET = WEBHOOK_SECRET
    settings.STRIPE_API_BASE = server.base_url
    yield server.fake
    server.stop()
