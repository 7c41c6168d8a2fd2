"""Dashboard (HTML) routes of payments. The JSON API (/account/topups) and the webhook
(/webhooks/stripe) are in namaskah/urls.py with the others."""
from django.urls import path

from payments import views

urlpatterns = [
    path("add-funds", views.add_funds, name="add-funds"),
    path("add-funds/<uuid:pk>/paid", views.topup_success, name="topup-success"),
    path("add-funds/<uuid:pk>/cancelled", views.topup_cancelled, name="topup-cancelled"),
    path("add-funds/mock-checkout/<str:session_id>", views.mock_checkout, name="mock-checkout"),
    path("add-funds/mock-checkout/<str:session_id>/<str:action>", views.mock_checkout_action,
         name="mock-checkout-action"),
]
