"""A fake TextVerified v2 server for tests, demos and the load benchmark.

    from fakes.textverified import start_fake_server
    server = start_fake_server(api_key="k", username="u", latency=0.3)   # free port, background thread
    ... TextVerifiedClient(base_url=server.base_url, api_key="k", username="u") ...
    server.fake.deliver_sms(reservation_id, text="Your code is 123456", code="123456")
    server.stop()

or `python manage.py fake_textverified --port 8765 [--latency 0.3] [--sms-delay 8]`.
Test hooks over HTTP: POST /_fake/sms, POST /_fake/faults, POST /_fake/reset, GET /_fake/state.
"""
from fakes.textverified.server import FakeServer, start_fake_server
from fakes.textverified.state import Fault, FakeTextVerified

__all__ = ["FakeServer", "FakeTextVerified", "Fault", "start_fake_server"]
