"""The SMS-Activate-protocol client end to end against the fake provider on 127.0.0.1: purchases in
several countries in their own number formats, codes by SMS and call, cancel and finish upstream."""
from decimal import Decimal

import pytest

from fakes.smsactivate import start_fake_smsactivate
from providers.base import Provider, ProviderRejected, RentalState
from providers.tests.smsactivate_support import SMSA_KEY, make_client


def buy(client, *, country: str, service: str = "whatsapp", key: str = "ver-1", capability: str = "sms",
        max_price: Decimal = Decimal("5.00")):
    return client.rent(service=service, capability=capability, max_price=max_price, idempotency_key=key,
                       country=country)


def test_it_implements_the_provider_interface(smsa):
    assert isinstance(smsa, Provider)
    assert smsa.name == "smsactivate" and smsa.display_name == "SMS-Activate"


def test_it_buys_a_uk_number_gets_its_code_and_finishes_it(smsa, smsa_server):
    fake = smsa_server.fake
    rental = buy(smsa, country="GB")
    assert rental.phone_number.startswith("+447700900") and len(rental.phone_number) == 13
    activation = fake.activation(int(rental.reference))
    assert (activation.country, activation.service, activation.order_id) == (16, "wa", "ver-1")
    assert rental.cost == activation.cost and rental.expires_at == activation.expires_at
    assert smsa.messages(rental.reference) == []
    assert smsa.status(rental.reference).state == RentalState.PENDING

    fake.deliver_sms(int(rental.reference), text="Your WhatsApp code is 482-913", code="482913")
    [sms] = smsa.messages(rental.reference)
    assert (sms.code, sms.text) == ("482913", "Your WhatsApp code is 482-913")
    assert sms.received_at == activation.received[0].at
    assert smsa.messages(rental.reference)[0].id == sms.id  # the same SMS on the next poll
    assert smsa.status(rental.reference).state == RentalState.COMPLETED

    smsa.finish(rental.reference)
    assert fake.activation(int(rental.reference)).status == "finished"
    smsa.finish(rental.reference)  # a repeat is harmless
    assert fake.count("setStatus") == 2


def test_it_buys_an_indian_number_and_cancel_gives_it_back_upstream(smsa, smsa_server):
    fake = smsa_server.fake
    before = fake.balance
    rental = buy(smsa, country="IN", service="telegram")
    assert rental.phone_number.startswith("+919") and len(rental.phone_number) == 13
    activation = fake.activation(int(rental.reference))
    assert (activation.country, activation.service) == (22, "tg")
    assert fake.balance == before - activation.cost

    smsa.cancel(rental.reference)
    assert fake.activation(int(rental.reference)).status == "cancelled"
    assert fake.balance == before  # the provider refunded us
    smsa.cancel(rental.reference)  # a repeat after a lost answer is a no-op
    assert fake.balance == before
    assert smsa.status(rental.reference).state == RentalState.CANCELLED


@pytest.mark.parametrize("country,prefix,length", [
    ("US", "+120155501", 12), ("DE", "+4915100000", 14), ("FR", "+3363998", 12), ("BR", "+5511900", 14),
    ("AU", "+61491570", 12), ("MX", "+52551000", 13), ("PL", "+48500000", 12),
])
def test_it_buys_in_other_countries_in_their_own_formats(smsa, country, prefix, length):
    rental = buy(smsa, country=country, service="google")
    assert rental.phone_number.startswith(prefix) and len(rental.phone_number) == length


def test_it_refuses_a_cancel_after_a_code_arrived(smsa, smsa_server):
    rental = buy(smsa, country="GB")
    smsa_server.fake.deliver_sms(int(rental.reference), text="code 123456")
    with pytest.raises(ProviderRejected) as caught:
        smsa.cancel(rental.reference)
    assert caught.value.code == "not_allowed" and "code has arrived" in caught.value.message
    assert smsa_server.fake.activation(int(rental.reference)).status == "waiting"


def test_it_refuses_to_finish_what_has_no_code(smsa, smsa_server):
    rental = buy(smsa, country="GB")
    with pytest.raises(ProviderRejected) as caught:
        smsa.finish(rental.reference)
    assert caught.value.code == "not_allowed"
    assert smsa_server.fake.activation(int(rental.reference)).status == "waiting"


def test_it_says_clearly_when_the_provider_denies_an_early_cancel(smsa_clock):
    server = start_fake_smsactivate(api_key=SMSA_KEY, early_cancel_window=120, clock=smsa_clock)
    try:
        client = make_client(server.base_url)
        rental = buy(client, country="GB")
        with pytest.raises(ProviderRejected) as caught:
            client.cancel(rental.reference)
        assert caught.value.code == "not_allowed"
        assert "try again in about 2 minutes" in caught.value.message
        assert server.fake.activation(int(rental.reference)).status == "waiting"
        smsa_clock.advance(121)
        client.cancel(rental.reference)
        assert server.fake.activation(int(rental.reference)).status == "cancelled"
    finally:
        server.stop()


def test_report_gives_the_number_back_as_the_protocol_has_no_report(smsa, smsa_server):
    rental = buy(smsa, country="NL")
    smsa.report(rental.reference)
    assert smsa_server.fake.activation(int(rental.reference)).status == "cancelled"


def test_it_sees_a_second_code_as_a_new_message(smsa, smsa_server, smsa_clock):
    rental = buy(smsa, country="GB")
    smsa_server.fake.deliver_sms(int(rental.reference), text="Your code is 111111")
    first = smsa.messages(rental.reference)[0]
    smsa_server.fake.deliver_sms(int(rental.reference), text="Your code is 222222")
    second = smsa.messages(rental.reference)[0]
    assert (first.code, second.code) == ("111111", "222222") and first.id != second.id


def test_the_same_orderid_returns_the_same_activation(smsa, smsa_server):
    first = buy(smsa, country="GB", key="ver-42")
    again = buy(smsa, country="GB", key="ver-42")
    assert again == first
    assert len(smsa_server.fake.activations) == 1


def test_it_reads_a_voice_activation_s_call(smsa, smsa_server):
    rental = buy(smsa, country="GB", capability="voice")
    activation = smsa_server.fake.activation(int(rental.reference))
    assert activation.voice
    assert smsa.calls(rental.reference) == []
    smsa_server.fake.deliver_call(activation.id, caller="18005550100", text="your code is 7 7 1 2 3 4", code="771234")
    [call] = smsa.calls(rental.reference)
    assert (call.caller, call.code, call.transcription) == ("18005550100", "771234", "your code is 7 7 1 2 3 4")
    assert call.recording_url.endswith(f"/{activation.id}.mp3")
    assert smsa.messages(rental.reference) == []


def test_it_falls_back_to_the_v1_actions_when_v2_is_unknown():
    server = start_fake_smsactivate(api_key=SMSA_KEY, v2=False)
    try:
        client = make_client(server.base_url)
        rental = buy(client, country="GB")
        assert rental.phone_number.startswith("+447700900") and rental.cost is None
        server.fake.deliver_sms(int(rental.reference), text="Your code is 654321", code="654321")
        [sms] = client.messages(rental.reference)
        assert sms.code == "654321"
        assert client.status(rental.reference).state == RentalState.COMPLETED
        buy(client, country="IN", key="ver-2")
        client.messages(rental.reference)
        # BAD_ACTION once each, then V1 straight away.
        assert (server.fake.count("getNumberV2"), server.fake.count("getNumber")) == (1, 2)
        assert (server.fake.count("getStatusV2"), server.fake.count("getStatus")) == (1, 3)
    finally:
        server.stop()


def test_it_sends_the_key_in_the_body_not_the_url(smsa, smsa_server):
    buy(smsa, country="GB")
    smsa.balance()
    for seen in smsa_server.fake.seen:
        assert seen.method == "POST"
        assert seen.query_keys == ("action",)
        assert "api_key" in seen.body_keys


def test_it_moves_the_key_to_the_query_for_a_provider_that_ignores_bodies():
    server = start_fake_smsactivate(api_key=SMSA_KEY, query_only=True)
    try:
        client = make_client(server.base_url)
        rental = buy(client, country="GB")
        assert server.fake.activation(int(rental.reference)).country == 16
        assert len(server.fake.activations) == 1  # the refused POST bought nothing
        client.balance()
        methods = [(s.method, s.action) for s in server.fake.seen]
        assert methods == [("POST", "getNumberV2"), ("GET", "getNumberV2"), ("GET", "getBalance")]
    finally:
        server.stop()


def test_it_knows_no_protocol_id_for_a_country_outside_the_table(smsa, smsa_server):
    with pytest.raises(ProviderRejected) as caught:
        buy(smsa, country="JP")
    assert caught.value.code == "unknown_country"
    assert smsa_server.fake.seen == []


def test_a_sold_out_service_is_no_numbers_and_a_low_cap_is_price_above_cap(smsa, smsa_server):
    with pytest.raises(ProviderRejected) as caught:
        buy(smsa, country="DE", service="facebook")
    assert caught.value.code == "no_numbers"
    with pytest.raises(ProviderRejected) as caught:
        buy(smsa, country="US", key="ver-2", max_price=Decimal("0.10"))
    assert caught.value.code == "price_above_cap" and "WRONG_MAX_PRICE:1.44" in caught.value.message
    assert smsa_server.fake.activations == {}
