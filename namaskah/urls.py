from django.contrib import admin
from django.urls import include, path
from drf_spectacular.views import SpectacularAPIView, SpectacularSwaggerView

from accounts import api as accounts_api
from hooks import api as hooks_api
from monitoring import views as monitoring_views
from payments import api as payments_api
from payments import webhooks as payments_webhooks
from smsactivate_api import views as smsactivate_views
from verifications import api as verifications_api
from verifications import webhooks

api = [
    path("auth/register", accounts_api.RegisterApi.as_view(), name="api-register"),
    path("auth/token", accounts_api.TokenApi.as_view(), name="api-token"),
    path("auth/token/refresh", accounts_api.TokenRefreshApi.as_view(), name="api-token-refresh"),
    path("auth/api-keys", accounts_api.ApiKeysApi.as_view(), name="api-keys"),
    path("auth/api-keys/<int:pk>", accounts_api.ApiKeyDetailApi.as_view(), name="api-key-detail"),
    path("account", accounts_api.AccountApi.as_view(), name="api-account"),
    path("account/transactions", accounts_api.TransactionsApi.as_view(), name="api-transactions"),
    path("account/topups", payments_api.TopUpsApi.as_view(), name="api-topups"),
    path("account/topups/<uuid:pk>", payments_api.TopUpDetailApi.as_view(), name="api-topup-detail"),
    path("account/webhooks", hooks_api.WebhooksApi.as_view(), name="api-webhooks"),
    path("account/webhooks/<int:pk>", hooks_api.WebhookDetailApi.as_view(), name="api-webhook-detail"),
    path("account/webhooks/<int:pk>/test", hooks_api.WebhookTestApi.as_view(), name="api-webhook-test"),
    path("verify/create", verifications_api.CreateVerificationApi.as_view(), name="api-verify-create"),
    path("verify", verifications_api.VerificationListApi.as_view(), name="api-verify-list"),
    path("verify/<uuid:pk>", verifications_api.VerificationDetailApi.as_view(), name="api-verify-detail"),
    path("verify/<uuid:pk>/messages", verifications_api.MessagesApi.as_view(), name="api-verify-messages"),
    path("verify/<uuid:pk>/voice", verifications_api.VoiceApi.as_view(), name="api-verify-voice"),
    path("verify/<uuid:pk>/report", verifications_api.ReportApi.as_view(), name="api-verify-report"),
    path("verify/<uuid:pk>/calls/<int:call_id>/recording", verifications_api.RecordingApi.as_view(),
         name="api-call-recording"),
    path("verify/<uuid:pk>/calls/<int:call_id>/transcribe", verifications_api.TranscribeAgainApi.as_view(),
         name="api-call-transcribe"),
    path("services", verifications_api.ServicesApi.as_view(), name="api-services"),
    path("countries", verifications_api.CountriesApi.as_view(), name="api-countries"),
    path("pricing/quote", verifications_api.QuoteApi.as_view(), name="api-quote"),
    path("api/schema", SpectacularAPIView.as_view(), name="api-schema"),
    path("api/docs", SpectacularSwaggerView.as_view(url_name="api-schema"), name="api-docs"),
]

# Paths answered in JSON, errors included (namaskah/handlers.py): every API route's first segment,
# and /system/ and /webhooks/. Everything else is a dashboard page or admin, with HTML errors.
JSON_PREFIXES = frozenset({str(route.pattern).split("/", 1)[0] for route in api} | {"system", "webhooks"})
handler400 = "namaskah.handlers.handler400"
handler404 = "namaskah.handlers.handler404"
handler500 = "namaskah.handlers.handler500"

urlpatterns = [
    path("admin/", admin.site.urls),
    path("system/health", monitoring_views.health, name="system-health"),
    path("system/live", monitoring_views.live, name="system-live"),
    path("system/metrics", monitoring_views.metrics_view, name="system-metrics"),
    path("system/info", monitoring_views.info, name="system-info"),
    path("webhooks/textverified", webhooks.textverified, name="webhook-textverified"),
    path("webhooks/stripe", payments_webhooks.stripe_webhook, name="webhook-stripe"),
    # The SMS-Activate-compatible endpoint: exactly this path, which the market's tools append to a host.
    path("stubs/handler_api.php", smsactivate_views.handler_api, name="smsactivate-handler"),
    *api,
    path("", include("accounts.urls")),
    path("", include("verifications.urls")),
    path("", include("payments.urls")),
    path("", include("hooks.urls")),
]
