"""Dashboard (HTML) routes of verifications: landing, dashboard (and its cards' "Dismiss"), history,
transactions."""
from django.urls import path

from verifications import views

urlpatterns = [
    path("", views.landing, name="landing"),
    path("dashboard", views.dashboard, name="dashboard"),
    path("dashboard/verifications/<uuid:pk>/dismiss", views.dismiss, name="dismiss"),
    path("history", views.history, name="history"),
    path("transactions", views.transactions, name="transactions"),
]
