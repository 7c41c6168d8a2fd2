"""Dashboard (HTML) routes of verifications: landing, dashboard, history, transactions."""
from django.urls import path

from verifications import views

urlpatterns = [
    path("", views.landing, name="landing"),
    path("dashboard", views.dashboard, name="dashboard"),
    path("history", views.history, name="history"),
    path("transactions", views.transactions, name="transactions"),
]
