"""Dashboard routes of outbound webhooks (`/account/webhooks` is the JSON API: namaskah/urls.py)."""
from django.urls import path

from hooks import views

urlpatterns = [
    path("settings/webhooks", views.webhooks, name="webhooks"),
    path("settings/webhooks/create", views.webhook_create, name="webhook-create"),
    path("settings/webhooks/<int:pk>/delete", views.webhook_delete, name="webhook-delete"),
    path("settings/webhooks/<int:pk>/test", views.webhook_test, name="webhook-test"),
]
