"""A purchase whose answer was lost: rent() says so ("lost_answer"), and recover_lost_purchase()
finds the number by repeating the orderId or in getActiveActivations (sms-activate-protocol.md §13)."""
from datetime import timedelta
from decimal import Decimal

import pytest

from fakes.smsactivate import Fault
from providers.base import ProviderRejected, ProviderUnavailable
from providers.tests.smsactivate_support import answer, calls_of, make_client, sent

CAP = Decimal("5.00")


def rent(client, *, key="ver-1", country="GB", service="whatsapp"):
    return client.rent(service=service, capability="sms", max_price=CAP, idempotency_key=key, country=country)


def recover(client, *, since, key="ver-1", country="GB", service="whatsapp", **extra):
    return client.recover_lost_purchase(idempotency_key=key, service=service, country=country, since=since,
                                        max_price=CAP, **extra)


def lose_a_purchase(server, client, **extra):
    server.fake.add_fault(Fault(action="getNumberV2", drop=True))
    with pytest.raises(ProviderUnavailable) as caught:
        rent(client, **extra)
    assert caught.value.code == "lost_answer"
    [bought] = server.fake.activations.values()
    return bought


def test_repeating_the_orderid_gives_back_the_same_activation(smsa_server, smsa, smsa_clock):
    since = smsa_clock()
    bought = lose_a_purchase(smsa_server, smsa)
    recovery = recover(smsa, since=since)
    assert recovery.found_by == "order_id" and not recovery.given_back
    assert recovery.rental.reference == str(bought.id)
    assert recovery.rental.phone_number == "+" + bought.phone
    assert len(smsa_server.fake.activations) == 1  # nothing bought twice
    assert smsa_server.fake.count("getActiveActivations") == 0


def test_it_can_give_the_recovered_number_back_at_once(smsa_server, smsa, smsa_clock):
    since = smsa_clock()
    before = smsa_server.fake.balance
    bought = lose_a_purchase(smsa_server, smsa)
    recovery = recover(smsa, since=since, give_back=True)
    assert recovery.given_back and recovery.rental.reference == str(bought.id)
    assert smsa_server.fake.activation(bought.id).status == "cancelled"
    assert smsa_server.fake.balance == before


def test_without_orderid_it_finds_the_activation_in_the_active_list_and_gives_it_back(smsa_server, smsa_clock,
                                                                                     sleeps):
    client = make_client(smsa_server.base_url, sleeps, send_order_id=False, clock=smsa_clock)
    # Our own verifications' numbers, and another service's, are in the list too.
    ours = rent(client, key="ver-0")
    rent(client, key="ver-x", service="telegram")
    since = smsa_clock()
    smsa_clock.advance(5)
    smsa_server.fake.add_fault(Fault(action="getNumberV2", garbage=True))
    with pytest.raises(ProviderUnavailable) as caught:
        rent(client)
    assert caught.value.code == "lost_answer"
    lost = max(smsa_server.fake.activations.values(), key=lambda a: a.id)
    assert lost.order_id is None

    recovery = recover(client, since=since, exclude=[ours.reference], give_back=True)
    assert recovery.found_by == "active_activations"
    assert recovery.rental.reference == str(lost.id)
    assert smsa_server.fake.activation(lost.id).status == "cancelled"
    assert smsa_server.fake.activation(int(ours.reference)).status == "waiting"
    assert smsa_server.fake.count("getNumberV2") == 3  # never repeated without an orderId


def test_it_looks_in_the_list_when_the_orderid_is_answered_order_already_exists(smsa_wire, rsps, smsa_clock):
    answer(rsps, "getNumberV2", "ORDER_ALREADY_EXISTS")
    answer(rsps, "getActiveActivations", {"status": "success", "activeActivations": [
        {"activationId": "900", "serviceCode": "wa", "phoneNumber": "447700900123", "activationCost": 1.08,
         "activationTime": "2026-11-25 14:03:09", "activationEndTime": "2026-11-25 14:23:09", "countryCode": "16"},
        {"activationId": "901", "serviceCode": "wa", "phoneNumber": "447700900124",
         "activationTime": "2026-11-25 13:10:00", "countryCode": "16"},  # bought long before the window
        {"activationId": "902", "serviceCode": "wa", "phoneNumber": "919000000001",
         "activationTime": "2026-11-25 14:03:10", "countryCode": "22"},  # another country
    ]})
    recovery = recover(smsa_wire, since=smsa_clock(), until=smsa_clock() + timedelta(seconds=10))
    assert (recovery.found_by, recovery.rental.reference) == ("active_activations", "900")
    assert recovery.rental.cost == Decimal("1.08")
    assert sent(calls_of(rsps, "getNumberV2")[0])["orderId"] == "ver-1"


def test_nothing_found_means_nothing_was_bought(smsa_server, smsa, smsa_clock, sleeps):
    client = make_client(smsa_server.base_url, sleeps, send_order_id=False)
    recovery = recover(client, since=smsa_clock())
    assert recovery.rental is None and recovery.found_by == ""
    assert smsa_server.fake.activations == {}


def test_a_repeat_whose_answer_is_lost_again_raises(smsa_server, smsa, smsa_clock):
    since = smsa_clock()
    lose_a_purchase(smsa_server, smsa)
    smsa_server.fake.add_fault(Fault(action="getNumberV2", drop=True))
    with pytest.raises(ProviderUnavailable):
        recover(smsa, since=since)
    assert len(smsa_server.fake.activations) == 1


def test_a_give_back_refused_for_now_is_reported(smsa_server, smsa, smsa_clock):
    smsa_server.fake.early_cancel_window = timedelta(seconds=120)
    since = smsa_clock()
    bought = lose_a_purchase(smsa_server, smsa)
    with pytest.raises(ProviderRejected) as caught:
        recover(smsa, since=since, give_back=True)
    assert caught.value.code == "not_allowed"
    smsa_clock.advance(121)
    assert recover(smsa, since=since, give_back=True).given_back
    assert smsa_server.fake.activation(bought.id).status == "cancelled"


def test_it_walks_every_page_of_active_activations(smsa_server, smsa_clock, sleeps):
    client = make_client(smsa_server.base_url, sleeps, send_order_id=False)
    smsa_server.fake.set_offer(country=16, service="wa", price=Decimal("0.10"), stock=1000)
    for n in range(105):
        rent(client, key=f"v{n}")
    assert len(client.active_activations()) == 105
    assert smsa_server.fake.count("getActiveActivations") == 2
