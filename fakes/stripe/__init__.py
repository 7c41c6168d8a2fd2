"""A small fake of Stripe's API on 127.0.0.1, for the real `stripe` library to talk to in tests.

    from fakes.stripe import start_fake_stripe
    server = start_fake_stripe(secret_key="sk_test_x", webhook_secret="whsec_y")  # free port, background thread
    ... STRIPE_API_BASE=server.base_url ...
    event = server.fake.pay(session_id)          # the signed checkout.session.completed Stripe would send
    client.post("/webhooks/stripe", event.payload, content_type="application/json",
                HTTP_STRIPE_SIGNATURE=event.signature)
    server.stop()

Over HTTP it serves what our gateway uses: create, retrieve, list and expire Checkout Sessions,
retrieve a payment intent (with the metadata the session gave it), and list a charge's refunds
(form-encoded requests, Stripe's JSON, its error shape, Bearer keys, Idempotency-Key replay, cursor
pagination). Test hooks are Python methods on `server.fake`: pay a session (at once or as a delayed
payment), refund (and fail or cancel the refund), dispute (and close it won or lost), sign any
event, and go down.
It knows nothing of Namaskah's code.
"""
from fakes.stripe.server import FakeStripeServer, start_fake_stripe
from fakes.stripe.state import FakeStripe, SignedEvent

__all__ = ["FakeStripe", "FakeStripeServer", "SignedEvent", "start_fake_stripe"]
