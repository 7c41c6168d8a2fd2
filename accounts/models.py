from decimal import Decimal

from django.conf import settings
from django.contrib.auth.models import AbstractBaseUser, BaseUserManager, PermissionsMixin
from django.db import models
from django.db.models import Q
from django.db.models.functions import Lower
from django.utils import timezone
from django.utils.crypto import salted_hmac

ZERO = Decimal("0.00")
# Ledger kinds that take back a card top-up; the only entries allowed to take a balance below zero.
REVERSAL_KINDS = ("topup_refund", "dispute")
# Ledger kinds that belong to a card top-up and must point at it (payments.TopUp).
TOPUP_KINDS = (*REVERSAL_KINDS, "reinstated")


class UserManager(BaseUserManager):
    use_in_migrations = True

    def create_user(self, email: str, password: str | None = None, **extra):
        if not email:
            raise ValueError("An email address is required")
        # Every user owns exactly one account from birth, so money code never has to guess.
        user = self.model(email=self.normalize_email(email).lower(), **extra)
        user.set_password(password)
        user.save(using=self._db)
        Account.objects.create(user=user)
        return user

    def create_superuser(self, email: str, password: str | None = None, **extra):
        extra.setdefault("is_staff", True)
        extra.setdefault("is_superuser", True)
        return self.create_user(email, password, **extra)


class User(AbstractBaseUser, PermissionsMixin):
    email = models.EmailField(max_length=254, unique=True)
    is_active = models.BooleanField(default=True)
    is_staff = models.BooleanField(default=False)
    date_joined = models.DateTimeField(default=timezone.now)
    # Bumped by accounts.services.end_sessions_and_tokens: part of the session hash, so every
    # session signed in before the bump ends (a password change alone would do that; an email
    # change would not).
    session_version = models.PositiveIntegerField(default=0, editable=False)

    objects = UserManager()

    USERNAME_FIELD = "email"
    EMAIL_FIELD = "email"
    REQUIRED_FIELDS: list[str] = []

    class Meta:
        constraints = [models.UniqueConstraint(Lower("email"), name="user_email_ci_unique")]

    def __str__(self) -> str:
        return self.email

    # Django checks this hash against the one stored in the session on every request. Version 0
    # keeps Django's own hash, so the sessions of users who never ended theirs survive deploys.
    def get_session_auth_hash(self) -> str:
        if not self.session_version:
            return super().get_session_auth_hash()
        return self._versioned_session_hash(secret=None)

    def get_session_auth_fallback_hash(self):
        if not self.session_version:
            yield from super().get_session_auth_fallback_hash()
            return
        for secret in settings.SECRET_KEY_FALLBACKS:
            yield self._versioned_session_hash(secret=secret)

    def _versioned_session_hash(self, *, secret) -> str:
        return salted_hmac("accounts.User.session_auth_hash", f"{self.password}\x00{self.session_version}",
                           secret=secret, algorithm="sha256").hexdigest()


class Account(models.Model):
    """A user's USD balance; changed only by accounts.services, which also writes the ledger."""

    user = models.OneToOneField(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="account")
    balance = models.DecimalField(max_digits=12, decimal_places=2, default=ZERO)
    updated_at = models.DateTimeField(auto_now=True)

    # No CHECK (balance >= 0) on this row any more: a refunded or disputed card top-up may take the
    # balance below zero, and a check on the account cannot know which entry moved it. The rule lives
    # on the ledger, where the kind is known (ledger_only_reversals_go_below_zero), and this column is
    # only ever written by accounts.services in the transaction that appends the entry it copies;
    # audit_ledger proves balance = sum of the entries, so a balance set by any other path shows up.

    def __str__(self) -> str:
        return f"{self.user.email}: ${self.balance}"


class LedgerQuerySet(models.QuerySet):
    def update(self, **kwargs):
        raise TypeError("Ledger entries are append-only: they are never updated")

    def delete(self):
        raise TypeError("Ledger entries are append-only: they are never deleted")


class LedgerEntry(models.Model):
    class Kind(models.TextChoices):
        TOPUP = "topup", "Top-up"
        CHARGE = "charge", "Charge"
        REFUND = "refund", "Refund"
        ADJUSTMENT = "adjustment", "Adjustment"
        # A card top-up taken back by Stripe: a refund, or a dispute (chargeback) the customer opened.
        TOPUP_REFUND = "topup_refund", "Top-up refunded"
        DISPUTE = "dispute", "Top-up disputed"
        # A reversal Stripe gave back: the refund failed or was cancelled, the dispute was won.
        REINSTATED = "reinstated", "Top-up reinstated"

    account = models.ForeignKey(Account, on_delete=models.PROTECT, related_name="entries")
    kind = models.CharField(max_length=16, choices=Kind.choices)
    amount = models.DecimalField(max_digits=12, decimal_places=2)
    balance_after = models.DecimalField(max_digits=12, decimal_places=2)
    verification = models.ForeignKey(
        "verifications.Verification", on_delete=models.PROTECT, null=True, blank=True, related_name="ledger_entries"
    )
    # The card top-up a credit, refund or dispute entry belongs to (payments.TopUp; referenced by
    # name only: accounts sits below payments and never imports it).
    topup = models.ForeignKey(
        "payments.TopUp", on_delete=models.PROTECT, null=True, blank=True, related_name="ledger_entries"
    )
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )
    memo = models.CharField(max_length=255, blank=True)
    created_at = models.DateTimeField(default=timezone.now, db_index=True)

    objects = LedgerQuerySet.as_manager()

    class Meta:
        ordering = ["-created_at", "-id"]
        verbose_name_plural = "ledger entries"
        constraints = [
            models.CheckConstraint(condition=~Q(amount=0), name="ledger_amount_non_zero"),
            models.CheckConstraint(
                condition=(
                    Q(kind="topup", amount__gt=0)
                    | Q(kind="charge", amount__lt=0)
                    | Q(kind="refund", amount__gt=0)
                    | Q(kind="adjustment")
                    | Q(kind__in=REVERSAL_KINDS, amount__lt=0)
                    | Q(kind="reinstated", amount__gt=0)
                ),
                name="ledger_amount_sign_matches_kind",
            ),
            # Only a top-up reversal may take a balance below zero. An entry that adds money may
            # leave it there (a top-up or a verification refund smaller than the debt must still
            # land); every other entry that takes money must leave the balance at zero or above.
            models.CheckConstraint(
                condition=Q(balance_after__gte=0) | Q(amount__gt=0) | Q(kind__in=REVERSAL_KINDS),
                name="ledger_only_reversals_go_below_zero",
            ),
            models.CheckConstraint(
                condition=Q(kind__in=["topup", "adjustment", *TOPUP_KINDS]) | Q(verification__isnull=False),
                name="ledger_charge_refund_have_verification",
            ),
            models.CheckConstraint(condition=~Q(kind__in=TOPUP_KINDS) | Q(topup__isnull=False),
                                   name="ledger_reversals_have_topup"),
            # Exactly-once money: a verification is charged at most once and refunded at most once,
            # whatever races the application loses.
            models.UniqueConstraint(fields=["verification"], condition=Q(kind="charge"), name="ledger_one_charge_per_verification"),
            models.UniqueConstraint(fields=["verification"], condition=Q(kind="refund"), name="ledger_one_refund_per_verification"),
            # A card top-up is credited at most once, whatever webhook redeliveries or reconcile runs race.
            models.UniqueConstraint(fields=["topup"], condition=Q(kind="topup"), name="ledger_one_credit_per_topup"),
        ]

    def __str__(self) -> str:
        return f"{self.kind} {self.amount} ({self.account_id})"

    def save(self, *args, **kwargs):
        if not self._state.adding:
            raise TypeError("Ledger entries are append-only: they are never updated")
        super().save(*args, **kwargs)

    def delete(self, *args, **kwargs):
        raise TypeError("Ledger entries are append-only: they are never deleted")


class ApiKey(models.Model):
    """A long-lived integrator key. Only its SHA-256 is stored: the key is shown once, at creation.

    Keys are 32 random bytes, so a fast hash is safe (nothing to brute-force); the prefix lets us
    find the row without scanning.
    """

    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="api_keys")
    name = models.CharField(max_length=64)
    prefix = models.CharField(max_length=16, unique=True)
    hashed_key = models.CharField(max_length=64)
    created_at = models.DateTimeField(default=timezone.now)
    last_used_at = models.DateTimeField(null=True, blank=True)
    revoked_at = models.DateTimeField(null=True, blank=True)
    # The staff member who revoked it; empty when the customer did (or it is active).
    revoked_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, null=True, blank=True,
                                   related_name="+")

    class Meta:
        ordering = ["-created_at"]

    def __str__(self) -> str:
        return f"{self.name} ({self.prefix}…)"

    @property
    def active(self) -> bool:
        return self.revoked_at is None
