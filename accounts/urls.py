"""Dashboard (HTML) routes of accounts: sign-up, sign-in, API keys, account pages.

`/account` and `/account/transactions` are JSON API paths (namaskah/urls.py): the account page is
`/settings`.
"""
from django.urls import path

from accounts import views

urlpatterns = [
    path("register", views.register, name="register"),
    path("login", views.login_view, name="login"),
    path("logout", views.logout_view, name="logout"),
    path("settings", views.account, name="settings"),
    path("api-keys", views.api_keys, name="keys"),
    path("api-keys/create", views.api_key_create, name="key-create"),
    path("api-keys/<int:pk>/revoke", views.api_key_revoke, name="key-revoke"),
]
