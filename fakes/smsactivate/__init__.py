"""A fake provider speaking the SMS-Activate protocol (`/stubs/handler_api.php`), for development
and tests. It never imports our client (providers.smsactivate): the client is tested against
something it did not write.

    from fakes.smsactivate import Fault, start_fake_smsactivate
    server = start_fake_smsactivate(api_key="k")              # a free port, a background thread
    ... SmsActivateClient(base_url=server.base_url, api_key="k") ...
    server.fake.deliver_sms(activation_id, text="Your code is 123456")
    server.fake.add_fault(Fault(action="getNumberV2", drop=True))   # bought, but no answer
    server.stop()

or `python -m fakes.smsactivate --port 8766` (hooks over HTTP: see server.py).
"""
from fakes.smsactivate.faults import Fault, Reply
from fakes.smsactivate.server import FakeServer, start_fake_smsactivate
from fakes.smsactivate.state import FakeSmsActivate

__all__ = ["FakeServer", "FakeSmsActivate", "Fault", "Reply", "start_fake_smsactivate"]
