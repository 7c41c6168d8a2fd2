"""Staff read endpoints and deliveries in admin, never an endpoint's secret, and change nothing."""
from django.urls import reverse

from hooks import services
from hooks.models import Delivery


def test_staff_see_endpoints_and_deliveries_but_not_secrets(staff_client, alice, receiver, allow_private):
    endpoint = services.create_endpoint(owner=alice, url=receiver.url())
    delivery = services.send_test(owner=alice, endpoint_id=endpoint.pk)
    pages = [reverse("admin:hooks_endpoint_changelist"), reverse("admin:hooks_endpoint_change", args=[endpoint.pk]),
             reverse("admin:hooks_delivery_changelist"), reverse("admin:hooks_delivery_change", args=[delivery.pk])]
    for page in pages:
        response = staff_client.get(page)
        assert response.status_code == 200, page
        assert endpoint.secret not in response.content.decode()
    assert delivery.webhook_id in staff_client.get(pages[1]).content.decode()
    assert staff_client.post(reverse("admin:hooks_delivery_delete", args=[delivery.pk]), {"post": "yes"}).status_code == 403
    assert Delivery.objects.filter(pk=delivery.pk).exists()


def test_a_customer_gets_the_admin_login(alice_client):
    response = alice_client.get(reverse("admin:hooks_delivery_changelist"))
    assert response.status_code == 302 and "/admin/login/" in response["Location"]
