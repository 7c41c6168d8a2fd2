"""Dashboard (HTML) routes of accounts: sign-up, sign-in, password reset, API keys, account pages.

`/account` and `/account/transactions` are JSON API paths (namaskah/urls.py): the account page is
`/settings`.
"""
from django.urls import path

from accounts import views

urlpatterns = [
    path("register", views.register, name="register"),
    path("login", views.login_view, name="login"),
    path("logout", views.logout_view, name="logout"),
    path("password-reset", views.password_reset, name="password-reset"),
    path("password-reset/sent", views.password_reset_sent, name="password-reset-sent"),
    path("password-reset/done", views.password_reset_complete, name="password-reset-complete"),
    path("password-reset/<uidb64>/<token>", views.password_reset_confirm, name="password-reset-confirm"),
    path("settings", views.account, name="settings"),
    path("settings/password", views.password_change, name="password-change"),
    path("settings/email", views.email_change, name="email-change"),
    path("settings/email/confirm/<str:token>", views.email_change_confirm, name="email-change-confirm"),
    path("api-keys", views.api_keys, name="keys"),
    path("api-keys/create", views.api_key_create, name="key-create"),
    path("api-keys/<int:pk>/revoke", views.api_key_revoke, name="key-revoke"),
]
