"""Dashboard (HTML) routes of verifications: landing, dashboard, history, transactions."""
from django.urls import path  # noqa: F401

urlpatterns: list = []
