"""Dashboard (HTML) routes of accounts: sign-up, sign-in, API keys, account pages."""
from django.urls import path  # noqa: F401

urlpatterns: list = []
