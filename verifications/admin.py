"""Back-office for the catalogue (tiers, voice premium, services, countries) and verifications.

Prices shown here come from verifications.selectors.price, the function the purchase charges with.
Verifications are read-only: their state changes through services, and money goes back only through
the bulk refund and cancel actions (a page showing what each will do, a reason), which call
verifications.services.staff_refund and staff_cancel.
"""
from __future__ import annotations

from decimal import Decimal

from django import forms
from django.conf import settings
from django.contrib import admin, messages
from django.contrib.admin import helpers
from django.contrib.admin.views.main import ChangeList
from django.db.models import Count
from django.template.response import TemplateResponse
from django.utils.html import format_html

from accounts import services as accounts
from accounts.admin import BULK_LIMIT, MOVE_MONEY_PERMISSION, LedgerEntryInline, ReadOnlyMixin
from providers.base import ProviderUnavailable
from verifications import code_length, routing, selectors, services
from verifications.errors import WrongState
from verifications.models import (
    Capability, Country, Message, PricingSettings, PricingTier, ProviderName, ProviderOffer, Route, Service,
    Verification, VoiceCall,
)

WARN = "color:#ba2121;font-weight:bold"


class PriceBook:
    """Customer prices for many services with one selector call per (tier, capability), not one per row.

    The price depends only on the tier and the capability today (see selectors.price); if it ever
    depends on the service itself, key the memo on the service instead.
    """

    def __init__(self):
        self._memo: dict[tuple[int, str], Decimal] = {}

    def price(self, service: Service, capability: str) -> Decimal | None:
        if not service.supports(capability):
            return None
        key = (service.tier_id, capability)
        if key not in self._memo:
            # The list has no country; the price does not vary by country yet.
            self._memo[key] = selectors.price(service=service, country=None, capability=capability)
        return self._memo[key]

    def pricing(self, service: Service) -> dict[str, tuple[Decimal | None, Decimal | None, Decimal | None]]:
        """{capability: (price, provider cost, margin)}; None where not sold or cost unknown."""
        result = {}
        for capability, cost in ((Capability.SMS, service.provider_cost_sms), (Capability.VOICE, service.provider_cost_voice)):
            price = self.price(service, capability)
            margin = price - cost if price is not None and cost is not None else None
            result[capability] = (price, cost if price is not None else None, margin)
        return result


def margin_ok(pricing) -> bool | None:
    """False when a sold capability costs us as much as we charge, None when a cost is unknown."""
    margins = [margin for price, _, margin in pricing.values() if price is not None]
    if any(m is not None and m <= 0 for m in margins):
        return False
    if any(m is None for m in margins):
        return None
    return True


@admin.register(PricingTier)
class PricingTierAdmin(admin.ModelAdmin):
    list_display = ("name", "sms_price", "order", "service_count")
    list_editable = ("order",)
    ordering = ("order", "name")

    def get_queryset(self, request):
        return super().get_queryset(request).annotate(service_count=Count("services"))

    @admin.display(description="services", ordering="service_count")
    def service_count(self, obj):
        return obj.service_count


@admin.register(PricingSettings)
class PricingSettingsAdmin(admin.ModelAdmin):
    list_display = ("__str__", "voice_premium", "updated_at")
    fields = ("voice_premium", "updated_at")
    readonly_fields = ("updated_at",)

    def has_add_permission(self, request):
        return super().has_add_permission(request) and not PricingSettings.objects.exists()

    def has_delete_permission(self, request, obj=None):
        return False

    def save_model(self, request, obj, form, change):
        obj.pk = 1  # the singleton row; the database refuses any other id
        super().save_model(request, obj, form, change)


class MarginFilter(admin.SimpleListFilter):
    title = "margin"
    parameter_name = "margin"

    def lookups(self, request, model_admin):
        return [("negative", "negative or zero"), ("unknown", "provider cost unknown"), ("positive", "positive")]

    def queryset(self, request, queryset):
        if self.value() is None:
            return None
        wanted = {"negative": False, "unknown": None, "positive": True}.get(self.value(), "")
        # Computed in Python through the pricing function so the filter can never disagree with
        # the prices shown; the catalogue is a few hundred rows at most.
        book = PriceBook()
        pks = [s.pk for s in queryset.select_related("tier") if margin_ok(book.pricing(s)) is wanted]
        return queryset.filter(pk__in=pks)


class ServiceChangeList(ChangeList):
    def get_results(self, request):
        super().get_results(request)
        book = PriceBook()
        for service in self.result_list:  # the page's queryset caches these very objects for rendering
            service.pricing = book.pricing(service)


@admin.register(Service)
class ServiceAdmin(admin.ModelAdmin):
    list_display = ("name", "slug", "protocol_code", "tier", "enabled", "sms_price", "sms_cost", "sms_margin",
                    "voice_price", "voice_cost", "voice_margin", "margin_ok")
    list_select_related = ("tier",)
    list_filter = ("tier", "enabled", MarginFilter, "supports_sms", "supports_voice")
    search_fields = ("name", "slug", "provider_service_name", "protocol_code")
    readonly_fields = ("prices", "code_length_in_use")

    def get_changelist(self, request, **kwargs):
        return ServiceChangeList

    @admin.display(description="code length in use for voice calls")
    def code_length_in_use(self, obj):
        if obj.pk is None:
            return "—"
        if obj.voice_code_length:
            return f"{obj.voice_code_length} (set above)"
        length = code_length.code_length(obj)  # what transcription uses: the cached answer
        return (f"{length} (the service's recent SMS codes)" if length
                else "any 4–8 (not set, and the recent SMS codes do not agree on one length)")

    def save_model(self, request, obj, form, change):
        super().save_model(request, obj, form, change)
        code_length.forget(obj.pk)  # an emptied length: infer afresh, not from an hour-old answer

    @staticmethod
    def _pricing(obj):
        if not hasattr(obj, "pricing"):
            obj.pricing = PriceBook().pricing(obj)
        return obj.pricing

    def _money(self, value, *, warn=False):
        if value is None:
            return "—"
        return format_html('<span style="{}">${}</span>', WARN, value) if warn else f"${value}"

    @admin.display(description="SMS price")
    def sms_price(self, obj):
        return self._money(self._pricing(obj)[Capability.SMS][0])

    @admin.display(description="SMS cost")
    def sms_cost(self, obj):
        return self._money(self._pricing(obj)[Capability.SMS][1])

    @admin.display(description="SMS margin")
    def sms_margin(self, obj):
        margin = self._pricing(obj)[Capability.SMS][2]
        return self._money(margin, warn=margin is not None and margin <= 0)

    @admin.display(description="voice price")
    def voice_price(self, obj):
        return self._money(self._pricing(obj)[Capability.VOICE][0])

    @admin.display(description="voice cost")
    def voice_cost(self, obj):
        return self._money(self._pricing(obj)[Capability.VOICE][1])

    @admin.display(description="voice margin")
    def voice_margin(self, obj):
        margin = self._pricing(obj)[Capability.VOICE][2]
        return self._money(margin, warn=margin is not None and margin <= 0)

    @admin.display(description="margin > 0", boolean=True)
    def margin_ok(self, obj):
        return margin_ok(self._pricing(obj))

    @admin.display(description="customer prices")
    def prices(self, obj):
        if obj.pk is None:
            return "—"
        (sms, _, _), (voice, _, _) = self._pricing(obj)[Capability.SMS], self._pricing(obj)[Capability.VOICE]
        return format_html("SMS {} · voice {} (tier price, plus the voice premium for voice)",
                           self._money(sms), self._money(voice))


class RouteInline(admin.TabularInline):
    """Staff's order of providers for this country. No rows: the defaults (verifications.routing)."""

    model = Route
    fields = ("position", "provider", "enabled")
    extra = 0
    ordering = ("position", "id")
    verbose_name_plural = ("routes: the providers tried for this country, lowest position first (none: the "
                           "defaults — the US to TextVerified then the second provider, other countries to the "
                           "providers that sell them)")


class OfferInline(ReadOnlyMixin, admin.TabularInline):
    model = ProviderOffer
    fields = ("provider", "service", "capability", "cost", "stock", "updated_at")
    readonly_fields = fields
    extra = 0
    verbose_name_plural = "offers (per-provider costs and stock here, from sync_services)"

    def get_queryset(self, request):
        return super().get_queryset(request).select_related("service")


def _provider_label(name: str) -> str:
    if name == ProviderName.MOCK:
        return "mock provider — development only"
    if name == ProviderName.SMSACTIVATE:
        return settings.SMSACTIVATE_NAME  # the name staff know this provider by
    return ProviderName(name).label


class CountryChangeList(ChangeList):
    def get_results(self, request):
        super().get_results(request)
        self.annotate(self.result_list, routing.Book())  # one read of routes and offers for the page

    @staticmethod
    def annotate(countries, book) -> None:
        for country in countries:
            names = [name for name in book.order(country) if book.sells(name, country)]
            country.serving = (names, "staff routes" if book.routed_by_staff(country) else "defaults")


@admin.register(Country)
class CountryAdmin(admin.ModelAdmin):
    list_display = ("flag", "name", "code", "protocol_id", "dialling_code", "enabled", "serving", "order")
    list_display_links = ("flag", "name")
    list_filter = ("enabled", "provider")
    search_fields = ("name", "code", "dialling_code")
    inlines = [RouteInline, OfferInline]

    def get_changelist(self, request, **kwargs):
        return CountryChangeList

    @admin.display(description="providers, in order")
    def serving(self, obj):
        if not hasattr(obj, "serving"):
            CountryChangeList.annotate([obj], routing.Book(country=obj))
        names, source = obj.serving
        if not names:
            return format_html('<span style="{}">{}</span>', WARN, "none: not on sale")
        label = " → ".join(_provider_label(n) for n in names)
        if ProviderName.MOCK in names:
            return format_html('<span style="{}">{}</span> ({})', WARN, label, source)
        return f"{label} ({source})"


@admin.register(ProviderOffer)
class ProviderOfferAdmin(ReadOnlyMixin, admin.ModelAdmin):
    list_display = ("provider", "country", "service", "capability", "cost", "stock", "updated_at")
    list_filter = ("provider", "capability", "country")
    search_fields = ("service__slug", "service__name", "country__code")
    list_select_related = ("country", "service")


class MessageInline(ReadOnlyMixin, admin.TabularInline):
    model = Message
    fields = ("received_at", "sender", "text", "code", "provider", "provider_message_id")
    readonly_fields = fields
    extra = 0


class VoiceCallInline(ReadOnlyMixin, admin.TabularInline):
    model = VoiceCall
    fields = ("received_at", "caller", "duration", "recording_info", "transcription_state", "code", "code_confidence",
              "transcription", "delivered_at")
    readonly_fields = fields
    extra = 0

    @admin.display(description="recording")
    def recording_info(self, obj):
        # Staff see the state, never the audio (only the verification's owner is served it), nor the
        # upstream's URI (it needs our credentials); the error text comes from us.
        detail = f"{obj.recording_size} bytes, {obj.recording_content_type}" if obj.recording_size else obj.recording_error
        return f"{obj.get_recording_state_display()} ({obj.recording_attempts} attempts){': ' + detail if detail else ''}"


class VerificationLedgerInline(LedgerEntryInline):
    fk_name = "verification"
    fields = ("created_at", "kind", "amount", "balance_after", "account", "created_by", "memo")
    readonly_fields = fields
    verbose_name_plural = "money (ledger entries)"

    def get_queryset(self, request):
        return super().get_queryset(request).select_related("account__user", "created_by")


class RefundedFilter(admin.SimpleListFilter):
    title = "refunded"
    parameter_name = "refunded"

    def lookups(self, request, model_admin):
        return [("yes", "Yes"), ("no", "No")]

    def queryset(self, request, queryset):
        if self.value() in ("yes", "no"):
            return queryset.filter(refunded_at__isnull=self.value() == "no")
        return None


@admin.register(Verification)
class VerificationAdmin(ReadOnlyMixin, admin.ModelAdmin):
    list_display = ("short_id", "created_at", "user_email", "service", "country", "capability", "status",
                    "phone_number", "price", "refunded")
    list_select_related = ("user", "service", "country")
    list_filter = ("status", "service", "country", "capability", "provider", "created_at", RefundedFilter)
    search_fields = ("user__email", "phone_number", "provider_ref")
    date_hierarchy = "created_at"
    inlines = [MessageInline, VoiceCallInline, VerificationLedgerInline]
    actions = ["refund_selected", "cancel_selected"]

    @admin.display(description="id")
    def short_id(self, obj):
        return str(obj.pk)[:8]

    @admin.display(description="user", ordering="user__email")
    def user_email(self, obj):
        return obj.user.email

    @admin.display(description="refunded", boolean=True, ordering="refunded_at")
    def refunded(self, obj):
        return obj.refunded

    def has_refund_permission(self, request):
        return request.user.has_perm(MOVE_MONEY_PERMISSION)

    @admin.action(description="Refund selected verifications…", permissions=["refund"])
    def refund_selected(self, request, queryset):
        return self._bulk(request, queryset, action="refund")

    @admin.action(description="Cancel selected verifications (and refund them)…", permissions=["refund"])
    def cancel_selected(self, request, queryset):
        return self._bulk(request, queryset, action="cancel")

    def _bulk(self, request, queryset, *, action: str):
        """A page that shows what will happen to each selected verification and asks for a reason;
        only its Confirm button (confirm=yes with a reason) runs the services."""
        rows = list(queryset.select_related("user", "service")[:BULK_LIMIT + 1])
        if len(rows) > BULK_LIMIT:
            self.message_user(request, f"Select at most {BULK_LIMIT} verifications at a time.", messages.WARNING)
            return None
        form = ReasonForm(request.POST if request.POST.get("confirm") == "yes" else None)
        if not form.is_valid():
            steps = selectors.staff_action_plan(verifications=rows, action=action)
            acting = [step for step in steps if step.acts]
            return TemplateResponse(request, "admin/verifications/verification/bulk_confirm.html", {
                **self.admin_site.each_context(request),
                "title": f"{action.capitalize()} {len(acting)} verification(s)?",
                "subtitle": None,
                "opts": self.opts,
                "verb": action,
                "steps": steps,
                "acting": acting,
                "total": sum((step.refund for step in acting if step.refund), Decimal("0.00")),
                "form": form,
                "action": f"{action}_selected",
                "action_checkbox_name": helpers.ACTION_CHECKBOX_NAME,
                "media": self.media,
            })
        run = self._refund if action == "refund" else self._cancel
        done, total, skipped = 0, Decimal("0.00"), {}
        for verification in rows:
            refunded, why_not = run(request, verification, form.cleaned_data["reason"])
            if why_not:
                skipped[why_not] = skipped.get(why_not, 0) + 1
            else:
                done += 1
                total += refunded or 0
        past = {"refund": "Refunded", "cancel": "Cancelled"}[action]
        if done:
            self.message_user(request, f"{past} {done} verification(s), ${total} refunded in total.", messages.SUCCESS)
        for why_not, count in skipped.items():
            self.message_user(request, f"{count} verification(s) {why_not}: nothing changed.", messages.WARNING)
        return None

    def _refund(self, request, verification, reason: str):
        try:
            entry = services.staff_refund(verification=verification, staff=request.user, reason=reason)
        except accounts.AlreadyRefunded:
            return None, "already refunded"
        except accounts.NothingToRefund:
            return None, "were never charged"
        return entry.amount, ""

    def _cancel(self, request, verification, reason: str):
        try:
            services.staff_cancel(verification=verification, staff=request.user, reason=reason)
        except WrongState as exc:
            return None, f"could not be cancelled ({exc})"
        except ProviderUnavailable:
            return None, "could not be cancelled (the provider is unavailable: try again later)"
        return services.refunded_amount(verification), ""


class ReasonForm(forms.Form):
    reason = forms.CharField(max_length=200, help_text="Why (ticket number, what happened): it is written to the "
                                                       "ledger and the verification.")
