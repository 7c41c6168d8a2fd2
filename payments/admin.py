"""Back-office for card top-ups: read-only. Money moves only through payments.services (Stripe's
events and reconcile_payments); staff read what happened, and the events that need a person."""
from django.contrib import admin
from django.urls import reverse
from django.utils.html import format_html

from accounts.admin import ReadOnlyMixin
from accounts.models import LedgerEntry
from payments.models import PaymentEvent, TopUp, TopUpReinstatement, TopUpReversal


class TopUpLedgerInline(ReadOnlyMixin, admin.TabularInline):
    model = LedgerEntry
    fk_name = "topup"
    fields = ("created_at", "kind", "amount", "balance_after", "memo")
    readonly_fields = fields
    extra = 0
    can_delete = False
    show_change_link = True
    verbose_name_plural = "ledger entries"


class TopUpReversalInline(ReadOnlyMixin, admin.TabularInline):
    model = TopUpReversal
    fields = ("created_at", "kind", "stripe_id", "amount", "ledger_entry")
    readonly_fields = fields
    extra = 0
    can_delete = False


class TopUpReinstatementInline(ReadOnlyMixin, admin.TabularInline):
    model = TopUpReinstatement
    fields = ("created_at", "reason", "stripe_id", "amount", "reversal", "ledger_entry")
    readonly_fields = fields
    extra = 0
    can_delete = False
    verbose_name_plural = "reinstatements (refund failed, dispute won)"


class PaymentEventInline(ReadOnlyMixin, admin.TabularInline):
    model = PaymentEvent
    fields = ("received_at", "source", "event_type", "stripe_event_id", "outcome", "needs_attention", "detail")
    readonly_fields = fields
    extra = 0
    can_delete = False


@admin.register(TopUp)
class TopUpAdmin(ReadOnlyMixin, admin.ModelAdmin):
    list_display = ("created_at", "owner_email", "amount", "currency", "status", "stripe_session_id",
                    "stripe_payment_intent", "paid_at")
    list_select_related = ("owner",)
    list_filter = ("status", "created_at")
    search_fields = ("owner__email", "stripe_session_id", "stripe_payment_intent", "reversals__stripe_id", "=id")
    date_hierarchy = "created_at"
    fields = ("id", "owner", "amount", "currency", "status", "stripe_session_id", "stripe_payment_intent",
              "stripe_links", "checkout_url", "failure_reason", "created_at", "updated_at", "paid_at")
    readonly_fields = fields
    inlines = [TopUpLedgerInline, TopUpReversalInline, TopUpReinstatementInline, PaymentEventInline]

    @admin.display(description="owner", ordering="owner__email")
    def owner_email(self, obj):
        return obj.owner.email

    @admin.display(description="in Stripe's dashboard")
    def stripe_links(self, obj):
        if not obj.stripe_payment_intent:
            return "—"
        return format_html('<a href="https://dashboard.stripe.com/payments/{}" rel="noreferrer" target="_blank">'
                           "payment {}</a>", obj.stripe_payment_intent, obj.stripe_payment_intent)


@admin.register(PaymentEvent)
class PaymentEventAdmin(ReadOnlyMixin, admin.ModelAdmin):
    list_display = ("received_at", "event_type", "outcome", "needs_attention", "object_id", "topup_link", "detail")
    list_select_related = ("topup__owner",)
    list_filter = ("needs_attention", "outcome", "source", "event_type")
    search_fields = ("stripe_event_id", "object_id", "topup__owner__email", "topup__stripe_session_id",
                     "topup__stripe_payment_intent")
    date_hierarchy = "received_at"
    fields = ("received_at", "source", "event_type", "stripe_event_id", "object_id", "topup", "outcome",
              "needs_attention", "detail")
    readonly_fields = fields

    @admin.display(description="top-up")
    def topup_link(self, obj):
        if obj.topup_id is None:
            return "—"
        return format_html('<a href="{}">{} · ${}</a>', reverse("admin:payments_topup_change", args=[obj.topup_id]),
                           obj.topup.owner.email, obj.topup.amount)
