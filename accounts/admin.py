"""Back-office for users and money.

Balances are never edited here: staff move money only through the credit/adjust form (a reason, a
confirmation page, STAFF_CREDIT_LIMIT per operation), which calls accounts.services.manual_entry like
the `credit_account` command. Ledger rows are read-only. API keys are shown and revoked here through
accounts.services.staff_revoke_api_key.
"""
import uuid

from django import forms
from django.conf import settings
from django.contrib import admin, messages
from django.contrib.admin import helpers
from django.contrib.admin.utils import unquote
from django.contrib.auth.admin import UserAdmin as BaseUserAdmin
from django.contrib.auth.forms import AdminPasswordChangeForm, AdminUserCreationForm, UserChangeForm
from django.core.cache import cache
from django.core.exceptions import PermissionDenied
from django.http import Http404, HttpResponseRedirect
from django.template.response import TemplateResponse
from django.urls import path, reverse
from django.utils.html import format_html

from accounts import credentials, services
from accounts.models import Account, ApiKey, LedgerEntry, User
from accounts.money import InvalidAmount, parse_amount

# Moving money is "adding a ledger entry"; superusers have it, other staff only when granted.
MOVE_MONEY_PERMISSION = "accounts.add_ledgerentry"
# A bulk action's confirmation page lists every selected row: more than this at once is not a review.
BULK_LIMIT = 200


class ReadOnlyMixin:
    """Append-only data: visible to staff with the view permission, never added, changed or deleted."""

    def has_add_permission(self, request, obj=None):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False


class LedgerEntryInline(ReadOnlyMixin, admin.TabularInline):
    model = LedgerEntry
    fields = ("created_at", "kind", "amount", "balance_after", "verification", "created_by", "memo")
    readonly_fields = fields
    extra = 0
    can_delete = False
    show_change_link = True

    def get_queryset(self, request):
        return super().get_queryset(request).select_related("verification", "created_by")


def key_status(key: ApiKey) -> str:
    if key.active:
        return "active"
    by = f" by staff ({key.revoked_by.email})" if key.revoked_by_id else ""
    return f"revoked {key.revoked_at:%Y-%m-%d %H:%M} UTC{by}"


class ApiKeyInline(ReadOnlyMixin, admin.TabularInline):
    """The customer's keys, never the keys themselves (only their hash is stored)."""

    model = ApiKey
    fk_name = "user"
    fields = ("name", "prefix", "created_at", "last_used_at", "status")
    readonly_fields = fields
    extra = 0
    can_delete = False
    show_change_link = True
    verbose_name_plural = "API keys (revoke them from the API keys list)"

    def get_queryset(self, request):
        return super().get_queryset(request).select_related("revoked_by")

    @admin.display(description="status")
    def status(self, obj):
        return key_status(obj)


class UserCreationForm(AdminUserCreationForm):
    class Meta:
        model = User
        fields = ("email",)

    def clean_email(self):
        # The manager lower-cases emails and the database is unique on lower(email): match both here
        # so a duplicate is a form error, not an IntegrityError.
        email = User.objects.normalize_email(self.cleaned_data["email"]).lower()
        if User.objects.filter(email__iexact=email).exists():
            raise forms.ValidationError("A user with that email already exists.")
        return email


class UserEditForm(UserChangeForm):
    class Meta:
        model = User
        fields = "__all__"


class BalanceForm(forms.Form):
    CREDIT = "credit"
    ADJUST = "adjust"

    kind = forms.ChoiceField(
        choices=[(CREDIT, "Credit (top-up, positive)"), (ADJUST, "Adjustment (correction, may be negative)")],
        widget=forms.RadioSelect, initial=CREDIT,
    )
    amount = forms.CharField(max_length=20, help_text="USD, at most 2 decimal places, e.g. 10 or -2.50")
    memo = forms.CharField(max_length=255, label="Reason",
                           help_text="Why: bank transfer reference, ticket number… (written to the ledger)")
    # One token per rendered form, so a double click or a browser re-POST records the entry once.
    token = forms.CharField(widget=forms.HiddenInput, required=False, max_length=64)

    @property
    def ledger_kind(self) -> str:
        return LedgerEntry.Kind.TOPUP if self.cleaned_data["kind"] == self.CREDIT else LedgerEntry.Kind.ADJUSTMENT

    def clean(self):
        data = super().clean()
        if "amount" in data and "kind" in data:
            try:
                data["amount"] = parse_amount(data["amount"], allow_negative=data["kind"] == self.ADJUST)
            except InvalidAmount as exc:
                self.add_error("amount", str(exc))
        return data


def _claim_once(key: str) -> bool:
    """True the first time a key is seen within an hour. A cache outage lets the request through:
    this guards against double clicks, it is not what keeps the ledger right."""
    try:
        return cache.add(key, 1, timeout=3600)
    except Exception:
        return True


class StaffPasswordChangeForm(AdminPasswordChangeForm):
    """A password set by staff ends the user's sessions and JWT refresh tokens, like the customer's own
    change: the account may be in the wrong hands, which is usually why staff set it."""

    def save(self, commit=True):
        user = super().save(commit=commit)
        if commit:
            services.end_sessions_and_tokens(user=user)
        return user


@admin.register(User)
class UserAdmin(BaseUserAdmin):
    form = UserEditForm
    add_form = UserCreationForm
    change_password_form = StaffPasswordChangeForm
    add_fieldsets = ((None, {"classes": ("wide",), "fields": ("email", "usable_password", "password1", "password2")}),)
    fieldsets = (
        (None, {"fields": ("email", "password")}),
        ("Money", {"fields": ("balance", "money_links")}),
        ("Permissions", {"fields": ("is_active", "is_staff", "is_superuser", "groups", "user_permissions")}),
        ("Important dates", {"fields": ("last_login", "date_joined")}),
    )
    readonly_fields = ("balance", "money_links", "last_login", "date_joined")
    list_display = ("email", "balance", "is_staff", "is_active", "date_joined")
    list_filter = ("is_staff", "is_superuser", "is_active")
    list_select_related = ("account",)
    search_fields = ("email",)
    ordering = ("email",)
    actions = ["credit_or_adjust"]
    inlines = [ApiKeyInline]

    def get_inlines(self, request, obj):
        return self.inlines if obj is not None else []

    def get_urls(self):
        return [
            path("<path:object_id>/balance/", self.admin_site.admin_view(self.balance_view),
                 name="accounts_user_balance"),
        ] + super().get_urls()

    @admin.display(description="balance", ordering="account__balance")
    def balance(self, obj):
        try:
            account = obj.account
        except Account.DoesNotExist:
            return "—"
        return f"${account.balance}"

    @admin.display(description="money")
    def money_links(self, obj):
        try:
            account_id = obj.account.pk
        except Account.DoesNotExist:
            return "—"
        return format_html(
            '<a class="button" href="{}">Credit / adjust balance</a> &nbsp; <a href="{}?account__id__exact={}">Ledger entries</a>'
            ' &nbsp; <a href="{}?user__id__exact={}">API keys</a>',
            reverse("admin:accounts_user_balance", args=[obj.pk]),
            reverse("admin:accounts_ledgerentry_changelist"), account_id,
            reverse("admin:accounts_apikey_changelist"), obj.pk,
        )

    def save_model(self, request, obj, form, change):
        super().save_model(request, obj, form, change)
        if not change:
            # Users created by the manager get their account at birth; give admin-made ones theirs.
            Account.objects.get_or_create(user=obj)
        else:
            # Deactivation, staff flags, email: authentication must see the change at once.
            credentials.forget_cached_user(user_id=obj.pk)

    def user_change_password(self, request, id, form_url=""):
        response = super().user_change_password(request, id, form_url)
        if request.method == "POST":
            credentials.forget_cached_user(user_id=unquote(id))  # tokens signed with the old hash die now
        return response

    def delete_model(self, request, obj):
        user_id = obj.pk  # deleting clears it
        super().delete_model(request, obj)
        credentials.forget_cached_user(user_id=user_id)

    def delete_queryset(self, request, queryset):
        ids = list(queryset.values_list("pk", flat=True))
        super().delete_queryset(request, queryset)
        for user_id in ids:
            credentials.forget_cached_user(user_id=user_id)

    @admin.action(description="Credit or adjust the balance of the selected user", permissions=["move_money"])
    def credit_or_adjust(self, request, queryset):
        # One user at a time: a money form applied to many accounts at once is an accident waiting.
        users = list(queryset[:2])
        if len(users) != 1:
            self.message_user(request, "Select exactly one user to credit or adjust.", messages.WARNING)
            return None
        return HttpResponseRedirect(reverse("admin:accounts_user_balance", args=[users[0].pk]))

    def has_move_money_permission(self, request):
        return request.user.has_perm(MOVE_MONEY_PERMISSION)

    def balance_view(self, request, object_id):
        """Form → confirmation page (user, balance before and after, reason) → entry. Only a POST
        with confirm=yes writes, and a form's token is recorded once whatever is re-sent."""
        if not self.has_move_money_permission(request):
            raise PermissionDenied
        user = self.get_object(request, unquote(object_id))
        if user is None:
            raise Http404("No such user")
        form = BalanceForm(request.POST or None, initial={"token": uuid.uuid4().hex})
        if request.method == "POST" and form.is_valid() and not request.POST.get("edit"):
            data = form.cleaned_data
            balance = Account.objects.get(user=user).balance
            try:
                services.check_staff_limit(amount=data["amount"], staff=request.user)
            except services.OverStaffLimit as exc:
                form.add_error("amount", f"{exc}: only a superuser can record more.")
            else:
                if balance + data["amount"] < 0:
                    form.add_error("amount", f"The balance would go below zero (${-(balance + data['amount'])} missing).")
                elif request.POST.get("confirm") != "yes":
                    return self._balance_page(request, user, form, "admin/accounts/user/balance_confirm.html",
                                              title=f"Confirm this {'credit' if data['kind'] == BalanceForm.CREDIT else 'adjustment'} "
                                                    f"for {user.email}",
                                              current=balance, after=balance + data["amount"])
                else:
                    return self._record(request, user, form)
        return self._balance_page(request, user, form, "admin/accounts/user/balance_form.html",
                                  title=f"Credit or adjust the balance of {user.email}")

    def _record(self, request, user, form):
        data = form.cleaned_data
        token_key = f"admin-balance-form:{data['token']}"
        if data["token"] and not _claim_once(token_key):
            self.message_user(request, "This form was already submitted: nothing more was recorded.", messages.WARNING)
            return HttpResponseRedirect(reverse("admin:accounts_user_change", args=[user.pk]))
        try:
            entry = services.manual_entry(user=user, kind=form.ledger_kind, amount=data["amount"], memo=data["memo"],
                                          staff=request.user)
        except (services.InsufficientBalance, services.OverStaffLimit) as exc:
            cache.delete(token_key)  # nothing was written: the corrected form may be sent again
            missing = getattr(exc, "missing", None)
            form.add_error("amount", f"The balance would go below zero (${missing} missing)." if missing else str(exc))
            return self._balance_page(request, user, form, "admin/accounts/user/balance_form.html",
                                      title=f"Credit or adjust the balance of {user.email}")
        self.message_user(request, f"{entry.get_kind_display()} of ${entry.amount} recorded for {user.email}; "
                                   f"new balance ${entry.balance_after}.", messages.SUCCESS)
        return HttpResponseRedirect(reverse("admin:accounts_user_change", args=[user.pk]))

    def _balance_page(self, request, user, form, template: str, *, title: str, **extra):
        context = {
            **self.admin_site.each_context(request),
            "title": title,
            "subtitle": None,
            "opts": self.opts,
            "original": user,
            "form": form,
            "balance": self.balance(user),
            "limit": None if request.user.is_superuser else settings.STAFF_CREDIT_LIMIT,
            "media": self.media + form.media,
            **extra,
        }
        return TemplateResponse(request, template, context)


@admin.register(Account)
class AccountAdmin(ReadOnlyMixin, admin.ModelAdmin):
    list_display = ("user", "balance", "updated_at")
    list_select_related = ("user",)
    search_fields = ("user__email",)
    ordering = ("user__email",)
    fields = ("user", "balance", "updated_at", "money_links")
    readonly_fields = fields
    inlines = [LedgerEntryInline]

    @admin.display(description="money")
    def money_links(self, obj):
        return format_html('<a class="button" href="{}">Credit / adjust balance</a>',
                           reverse("admin:accounts_user_balance", args=[obj.user_id]))


@admin.register(LedgerEntry)
class LedgerEntryAdmin(ReadOnlyMixin, admin.ModelAdmin):
    list_display = ("created_at", "account_email", "kind", "amount", "balance_after", "verification_link",
                    "created_by", "memo")
    list_select_related = ("account__user", "created_by")
    list_filter = ("kind", "created_at")
    search_fields = ("account__user__email", "memo")
    date_hierarchy = "created_at"
    fields = ("created_at", "account", "kind", "amount", "balance_after", "verification", "created_by", "memo")
    readonly_fields = fields

    @admin.display(description="account", ordering="account__user__email")
    def account_email(self, obj):
        return obj.account.user.email

    @admin.display(description="verification")
    def verification_link(self, obj):
        if obj.verification_id is None:
            return "—"
        return format_html('<a href="{}">{}</a>',
                           reverse("admin:verifications_verification_change", args=[obj.verification_id]),
                           str(obj.verification_id)[:8])


class KeyStatusFilter(admin.SimpleListFilter):
    title = "status"
    parameter_name = "status"

    def lookups(self, request, model_admin):
        return [("active", "Active"), ("revoked", "Revoked")]

    def queryset(self, request, queryset):
        if self.value() in ("active", "revoked"):
            return queryset.filter(revoked_at__isnull=self.value() == "active")
        return None


class ReasonForm(forms.Form):
    reason = forms.CharField(max_length=200, help_text="Why (ticket number, what happened): it is recorded.")


@admin.register(ApiKey)
class ApiKeyAdmin(ReadOnlyMixin, admin.ModelAdmin):
    """Customers' API keys: read-only; the Revoke action (with a confirmation page) ends them at once."""

    list_display = ("prefix", "name", "user_email", "created_at", "last_used_at", "status")
    list_select_related = ("user", "revoked_by")
    list_filter = (KeyStatusFilter, "created_at")
    search_fields = ("user__email", "prefix", "name")
    fields = ("user", "name", "prefix", "created_at", "last_used_at", "status")
    readonly_fields = fields
    actions = ["revoke_selected"]

    @admin.display(description="user", ordering="user__email")
    def user_email(self, obj):
        return obj.user.email

    @admin.display(description="status")
    def status(self, obj):
        return key_status(obj)

    def has_revoke_permission(self, request):
        # Revoking changes a key; view-only staff see the keys but cannot end them.
        return request.user.has_perm("accounts.change_apikey")

    @admin.action(description="Revoke selected API keys", permissions=["revoke"])
    def revoke_selected(self, request, queryset):
        keys = list(queryset.select_related("user", "revoked_by")[:BULK_LIMIT + 1])
        if len(keys) > BULK_LIMIT:
            self.message_user(request, f"Select at most {BULK_LIMIT} keys at a time.", messages.WARNING)
            return None
        form = ReasonForm(request.POST if request.POST.get("confirm") == "yes" else None)
        if not form.is_valid():
            return TemplateResponse(request, "admin/accounts/apikey/revoke_confirm.html", {
                **self.admin_site.each_context(request),
                "title": "Revoke API keys?",
                "subtitle": None,
                "opts": self.opts,
                "keys": keys,
                "active": [k for k in keys if k.active],
                "form": form,
                "action": "revoke_selected",
                "action_checkbox_name": helpers.ACTION_CHECKBOX_NAME,
                "media": self.media,
            })
        revoked = 0
        for key in keys:
            _, done = services.staff_revoke_api_key(key_id=key.pk, staff=request.user)
            if done:
                revoked += 1
                # The row keeps who revoked it; the reason goes to the key's admin history.
                self.log_change(request, key, f"Revoked: {form.cleaned_data['reason']}")
        skipped = len(keys) - revoked
        self.message_user(request, f"Revoked {revoked} API key(s): requests using them are refused from now on."
                                   + (f" {skipped} already revoked: nothing changed." if skipped else ""),
                          messages.SUCCESS if revoked else messages.WARNING)
        return None

