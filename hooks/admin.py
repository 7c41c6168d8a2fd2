"""Back-office for outbound webhooks: read-only. Staff see customers' endpoints (never their secrets)
and every delivery with its attempts, to answer "why did my webhook not arrive?"."""
from django.contrib import admin

from accounts.admin import ReadOnlyMixin
from hooks.models import Delivery, Endpoint


class RecentDeliveryInline(ReadOnlyMixin, admin.TabularInline):
    model = Delivery
    fields = ("created_at", "event_type", "webhook_id", "status", "attempts", "response_code", "next_attempt_at",
              "last_error")
    readonly_fields = fields
    extra = 0
    can_delete = False
    show_change_link = True
    max_num = 0

    def get_queryset(self, request):
        return super().get_queryset(request).order_by("-created_at")


@admin.register(Endpoint)
class EndpointAdmin(ReadOnlyMixin, admin.ModelAdmin):
    list_display = ("url", "owner", "format", "enabled", "failing_since", "created_at")
    list_filter = ("enabled", "format")
    search_fields = ("url", "owner__email")
    list_select_related = ("owner",)
    fields = ("owner", "url", "events", "format", "enabled", "created_at", "disabled_at", "failing_since")
    readonly_fields = fields
    inlines = [RecentDeliveryInline]


@admin.register(Delivery)
class DeliveryAdmin(ReadOnlyMixin, admin.ModelAdmin):
    list_display = ("created_at", "event_type", "endpoint", "status", "attempts", "response_code", "next_attempt_at")
    list_filter = ("status", "event_type")
    search_fields = ("webhook_id", "endpoint__url", "endpoint__owner__email")
    list_select_related = ("endpoint",)
    fields = ("endpoint", "event_type", "event_key", "webhook_id", "status", "attempts", "response_code", "last_error",
              "created_at", "next_attempt_at", "claimed_until", "delivered_at", "body")
    readonly_fields = fields
