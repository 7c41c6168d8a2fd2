"""Back-office for users and money.

Balances are never edited here: staff move money only through the credit/adjust form, which calls
the same accounts.services functions as the `credit_account` command. Ledger rows are read-only.
"""
import uuid

from django import forms
from django.contrib import admin, messages
from django.contrib.admin.utils import unquote
from django.contrib.auth.admin import UserAdmin as BaseUserAdmin
from django.contrib.auth.forms import AdminUserCreationForm, UserChangeForm
from django.core.cache import cache
from django.core.exceptions import PermissionDenied
from django.http import Http404, HttpResponseRedirect
from django.template.response import TemplateResponse
from django.urls import path, reverse
from django.utils.html import format_html

from accounts import services
from accounts.models import Account, LedgerEntry, User
from accounts.money import InvalidAmount, parse_amount

# Moving money is "adding a ledger entry"; superusers have it, other staff only when granted.
MOVE_MONEY_PERMISSION = "accounts.add_ledgerentry"


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
    memo = forms.CharField(max_length=255, help_text="Why: bank transfer reference, ticket number…")
    # One token per rendered form, so a double click or a browser re-POST records the entry once.
    token = forms.CharField(widget=forms.HiddenInput, required=False, max_length=64)

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


@admin.register(User)
class UserAdmin(BaseUserAdmin):
    form = UserEditForm
    add_form = UserCreationForm
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
            '<a class="button" href="{}">Credit / adjust balance</a> &nbsp; <a href="{}?account__id__exact={}">Ledger entries</a>',
            reverse("admin:accounts_user_balance", args=[obj.pk]),
            reverse("admin:accounts_ledgerentry_changelist"), account_id,
        )

    def save_model(self, request, obj, form, change):
        super().save_model(request, obj, form, change)
        if not change:
            # Users created by the manager get their account at birth; give admin-made ones theirs.
            Account.objects.get_or_create(user=obj)
        else:
            # Deactivation, staff flags, email: authentication must see the change at once.
            services.forget_cached_user(user_id=obj.pk)

    def user_change_password(self, request, id, form_url=""):
        response = super().user_change_password(request, id, form_url)
        if request.method == "POST":
            services.forget_cached_user(user_id=unquote(id))  # tokens signed with the old hash die now
        return response

    def delete_model(self, request, obj):
        user_id = obj.pk  # deleting clears it
        super().delete_model(request, obj)
        services.forget_cached_user(user_id=user_id)

    def delete_queryset(self, request, queryset):
        ids = list(queryset.values_list("pk", flat=True))
        super().delete_queryset(request, queryset)
        for user_id in ids:
            services.forget_cached_user(user_id=user_id)

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
        if not self.has_move_money_permission(request):
            raise PermissionDenied
        user = self.get_object(request, unquote(object_id))
        if user is None:
            raise Http404("No such user")
        form = BalanceForm(request.POST or None, initial={"token": uuid.uuid4().hex})
        if request.method == "POST" and form.is_valid():
            data = form.cleaned_data
            token_key = f"admin-balance-form:{data['token']}"
            if data["token"] and not _claim_once(token_key):
                self.message_user(request, "This form was already submitted: nothing more was recorded.",
                                  messages.WARNING)
                return HttpResponseRedirect(reverse("admin:accounts_user_change", args=[user.pk]))
            operation = services.credit if data["kind"] == BalanceForm.CREDIT else services.adjust
            try:
                entry = operation(user=user, amount=data["amount"], memo=data["memo"], created_by=request.user)
            except services.InsufficientBalance as exc:
                cache.delete(token_key)  # nothing was written: the corrected form may be sent again
                form.add_error("amount", f"The balance would go below zero (${exc.missing} missing).")
            else:
                self.message_user(request, f"{entry.get_kind_display()} of ${entry.amount} recorded for {user.email}; "
                                           f"new balance ${entry.balance_after}.", messages.SUCCESS)
                return HttpResponseRedirect(reverse("admin:accounts_user_change", args=[user.pk]))
        context = {
            **self.admin_site.each_context(request),
            "title": f"Credit or adjust the balance of {user.email}",
            "subtitle": None,
            "opts": self.opts,
            "original": user,
            "form": form,
            "balance": self.balance(user),
            "media": self.media + form.media,
        }
        return TemplateResponse(request, "admin/accounts/user/balance_form.html", context)


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
