import uuid
from decimal import Decimal

from django.conf import settings
from django.core.validators import MaxValueValidator, MinValueValidator, RegexValidator
from django.db import models
from django.db.models import Q
from django.utils import timezone

PRICE = {"max_digits": 12, "decimal_places": 2}
# The protocol's service codes (providers/smsactivate/codes.py's CODE_PATTERN, and the DB constraint).
PROTOCOL_CODE = r"^[a-z0-9]{1,8}$"


class Capability(models.TextChoices):
    SMS = "sms", "SMS"
    VOICE = "voice", "Voice"


class ProviderName(models.TextChoices):
    TEXTVERIFIED = "textverified", "TextVerified"
    SMSACTIVATE = "smsactivate", "SMS-Activate protocol (SMSACTIVATE_NAME)"
    MOCK = "mock", "Mock (development only)"


class PricingTier(models.Model):
    name = models.CharField(max_length=64, unique=True)
    sms_price = models.DecimalField(**PRICE)
    order = models.PositiveSmallIntegerField(default=0)

    class Meta:
        ordering = ["order", "name"]
        constraints = [models.CheckConstraint(condition=Q(sms_price__gt=0), name="tier_price_positive")]

    def __str__(self) -> str:
        return f"{self.name} (${self.sms_price})"


class PricingSettings(models.Model):
    """The single row of platform-wide price settings (the voice premium), edited by staff in admin."""

    voice_premium = models.DecimalField(**PRICE, default=Decimal("0.30"))
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        verbose_name = verbose_name_plural = "pricing settings"
        constraints = [
            models.CheckConstraint(condition=Q(pk=1), name="pricing_settings_singleton"),
            models.CheckConstraint(condition=Q(voice_premium__gte=0), name="voice_premium_non_negative"),
        ]

    def __str__(self) -> str:
        return f"Voice premium ${self.voice_premium}"

    @classmethod
    def current(cls) -> "PricingSettings":
        obj, _ = cls.objects.get_or_create(pk=1)
        return obj


class Service(models.Model):
    slug = models.SlugField(max_length=64, unique=True)
    name = models.CharField(max_length=128)
    provider_service_name = models.CharField(max_length=128, help_text="The upstream's serviceName, e.g. 'whatsapp'")
    tier = models.ForeignKey(PricingTier, on_delete=models.PROTECT, related_name="services")
    enabled = models.BooleanField(default=True)
    supports_sms = models.BooleanField(default=True)
    supports_voice = models.BooleanField(default=True)
    provider_cost_sms = models.DecimalField(**PRICE, null=True, blank=True)
    provider_cost_voice = models.DecimalField(**PRICE, null=True, blank=True)
    provider_cost_updated_at = models.DateTimeField(null=True, blank=True)
    protocol_code = models.CharField(
        max_length=8, unique=True, null=True, blank=True,
        validators=[RegexValidator(PROTOCOL_CODE, "1 to 8 lower-case letters or digits, e.g. wa")],
        help_text="Its short code on the SMS-Activate-compatible endpoint (wa, tg, go…); empty: reachable by slug",
    )
    # A hint to the voice transcription (voice.code_from_text): a reading of another length is never
    # confident. Empty: any code of 4-8 digits.
    voice_code_length = models.PositiveSmallIntegerField(
        null=True, blank=True, validators=[MinValueValidator(4), MaxValueValidator(8)],
        help_text="How many digits the codes of its calls have (e.g. 6); empty: any 4 to 8",
    )

    class Meta:
        ordering = ["name"]
        constraints = [
            models.CheckConstraint(condition=Q(supports_sms=True) | Q(supports_voice=True), name="service_has_a_capability"),
            models.CheckConstraint(condition=Q(protocol_code__isnull=True) | Q(protocol_code__regex=PROTOCOL_CODE),
                                   name="service_protocol_code_format"),
            models.CheckConstraint(condition=Q(voice_code_length__isnull=True) | Q(voice_code_length__range=(4, 8)),
                                   name="service_voice_code_length_4_to_8"),
        ]

    def __str__(self) -> str:
        return self.name

    def supports(self, capability: str) -> bool:
        return self.supports_voice if capability == Capability.VOICE else self.supports_sms


class Country(models.Model):
    code = models.CharField(max_length=2, unique=True, help_text="ISO 3166-1 alpha-2, upper case")
    name = models.CharField(max_length=64)
    dialling_code = models.CharField(max_length=8, help_text="e.g. +1")
    enabled = models.BooleanField(default=True)
    # Not the routing (that is Route, or verifications.routing's defaults): "mock" marks a simulated
    # country, served by the mock in development where no real provider sells it.
    provider = models.CharField(
        max_length=32, choices=ProviderName.choices, default=ProviderName.TEXTVERIFIED,
        help_text="mock: simulated in development where no real provider sells it. Who serves the country: its routes")
    order = models.PositiveSmallIntegerField(default=100)
    protocol_id = models.PositiveIntegerField(
        unique=True, null=True, blank=True,
        help_text="SMS-Activate's numeric country id (187 = United States); empty: not offered on that endpoint",
    )

    class Meta:
        ordering = ["order", "name"]
        verbose_name_plural = "countries"
        constraints = [models.CheckConstraint(condition=Q(code__regex=r"^[A-Z]{2}$"), name="country_code_iso_alpha2")]

    def __str__(self) -> str:
        return self.label

    @property
    def label(self) -> str:
        # The code beside the flag: without a colour-emoji font a flag is an empty box.
        return f"{self.flag} {self.code} · {self.name}"

    @property
    def flag(self) -> str:
        # Regional indicator symbols: the flag emoji is derived from the ISO code, never stored.
        return "".join(chr(0x1F1E6 + ord(c) - ord("A")) for c in self.code)


class Route(models.Model):
    """Staff's choice of one provider for one country, in order of preference (lowest position first).

    A country with any route rows is routed by them alone (a disabled row keeps that provider out);
    a country without any follows the defaults of verifications.routing.
    """

    country = models.ForeignKey(Country, on_delete=models.CASCADE, related_name="routes")
    provider = models.CharField(max_length=32, choices=ProviderName.choices)
    position = models.PositiveSmallIntegerField(default=0, help_text="lower is tried first")
    enabled = models.BooleanField(default=True)

    class Meta:
        ordering = ["country", "position", "id"]
        constraints = [models.UniqueConstraint(fields=["country", "provider"], name="route_one_per_provider")]

    def __str__(self) -> str:
        return f"{self.country_id}: {self.provider} #{self.position}"


class ProviderOffer(models.Model):
    """What one provider charges us for one service in one country, and its stock, as sync_services
    last saw it. The price floor (cost + MIN_MARGIN) and routing's "has numbers" read it."""

    provider = models.CharField(max_length=32, choices=ProviderName.choices)
    service = models.ForeignKey(Service, on_delete=models.CASCADE, related_name="offers")
    country = models.ForeignKey(Country, on_delete=models.CASCADE, related_name="offers")
    capability = models.CharField(max_length=8, choices=Capability.choices)
    cost = models.DecimalField(**PRICE)
    stock = models.PositiveIntegerField(null=True, blank=True, help_text="empty: the provider gives no figure")
    updated_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["provider", "country", "service", "capability"]
        constraints = [
            models.UniqueConstraint(fields=["provider", "service", "country", "capability"],
                                    name="offer_one_per_provider_service_country"),
            models.CheckConstraint(condition=Q(cost__gte=0), name="offer_cost_non_negative"),
        ]

    def __str__(self) -> str:
        return f"{self.provider} {self.service_id}/{self.capability} in {self.country_id}: {self.cost}"


class ActivationNumber(models.Model):
    """The sequence behind Verification.activation_id: one row per number handed out.

    A table with a 64-bit auto id is a sequence on every backend we run: PostgreSQL's identity
    column never hands a value out twice (not even after a rollback), and Django creates SQLite's
    with AUTOINCREMENT, which never reuses the id of a deleted row either.
    """

    id = models.BigAutoField(primary_key=True)

    def __str__(self) -> str:
        return str(self.pk)


def next_activation_id() -> int:
    # A field default, so every way of creating a verification (the purchase, bulk_create, tests'
    # builders) gets one; a default runs only for new instances, never for rows loaded from the DB.
    return ActivationNumber.objects.create().pk


class Verification(models.Model):
    class Status(models.TextChoices):
        PENDING = "pending", "Pending"
        COMPLETED = "completed", "Completed"
        CANCELLED = "cancelled", "Cancelled"
        EXPIRED = "expired", "Expired"
        FAILED = "failed", "Failed"

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="verifications")
    service = models.ForeignKey(Service, on_delete=models.PROTECT, related_name="verifications")
    country = models.ForeignKey(Country, on_delete=models.PROTECT, related_name="verifications")
    capability = models.CharField(max_length=8, choices=Capability.choices)
    provider = models.CharField(max_length=32, choices=ProviderName.choices)
    provider_ref = models.CharField(max_length=128, blank=True, db_index=True)
    phone_number = models.CharField(max_length=20, blank=True, db_index=True)
    status = models.CharField(max_length=16, choices=Status.choices, default=Status.PENDING)
    status_reason = models.CharField(max_length=255, blank=True)
    price = models.DecimalField(**PRICE)
    created_at = models.DateTimeField(default=timezone.now, db_index=True)
    expires_at = models.DateTimeField(null=True, blank=True)
    completed_at = models.DateTimeField(null=True, blank=True)
    refunded_at = models.DateTimeField(null=True, blank=True)
    # The customer took its card off the dashboard (on every device); the history still lists it.
    dismissed_at = models.DateTimeField(null=True, blank=True)
    idempotency_key = models.CharField(max_length=255, null=True, blank=True)
    request_fingerprint = models.CharField(max_length=64, blank=True)
    # The integer id integrators see on the SMS-Activate-compatible endpoint and as `activation_id`.
    activation_id = models.BigIntegerField(unique=True, default=next_activation_id, editable=False)
    # The customer said "done" (protocol setStatus 6): the charge stands and we stop polling upstream.
    finished_at = models.DateTimeField(null=True, blank=True)
    # The customer asked for another code (setStatus 3): SMS stored after this are the newer ones.
    another_code_requested_at = models.DateTimeField(null=True, blank=True)

    # Bumped (F("version") + 1) by verifications.services in the very UPDATE that changes what a poll
    # shows: the cached poll answer and its ETag are keyed by it (verifications/polling.py).
    version = models.PositiveIntegerField(default=1, editable=False)
    # Background checks (verifications/checks.py): when the upstream is next asked about this
    # number (null: never again), and the round that claimed it — a task runs a check only while its
    # round is the current one, so a redelivered or stale task never asks the upstream twice.
    next_check_at = models.DateTimeField(null=True, blank=True, editable=False)
    check_round = models.PositiveIntegerField(default=0, editable=False)
    # Set when a purchase's answer was lost (the upstream may have sold a number we never stored):
    # until cleared, a task asks again with the same idempotency key and gives the number back.
    orphan_check_at = models.DateTimeField(null=True, blank=True, editable=False)

    class Meta:
        ordering = ["-created_at"]
        indexes = [
            models.Index(fields=["user", "-created_at"]),
            # A service's latest completed verifications (verifications.code_length).
            models.Index(fields=["service", "-created_at"], condition=Q(status="completed"),
                         name="verification_service_completed"),
            models.Index(fields=["status", "expires_at"]),
            # Partial: the claim query scans only the open verifications, however large history grows.
            models.Index(fields=["next_check_at"], condition=Q(next_check_at__isnull=False),
                         name="verification_due_checks"),
            models.Index(fields=["orphan_check_at"], condition=Q(orphan_check_at__isnull=False),
                         name="verification_orphans"),
        ]
        constraints = [
            models.CheckConstraint(condition=Q(price__gt=0), name="verification_price_positive"),
            models.UniqueConstraint(
                fields=["user", "idempotency_key"], condition=Q(idempotency_key__isnull=False),
                name="verification_idempotency_key_per_user",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.service_id}/{self.capability} {self.phone_number or '(no number)'} [{self.status}]"

    @property
    def refunded(self) -> bool:
        return self.refunded_at is not None

    @property
    def is_final(self) -> bool:
        return self.status != self.Status.PENDING


class Message(models.Model):
    verification = models.ForeignKey(Verification, on_delete=models.CASCADE, related_name="messages")
    provider = models.CharField(max_length=32, choices=ProviderName.choices)
    provider_message_id = models.CharField(max_length=128)
    sender = models.CharField(max_length=64, blank=True)
    text = models.TextField(blank=True)
    code = models.CharField(max_length=16, blank=True)
    received_at = models.DateTimeField()
    stored_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["received_at", "id"]
        constraints = [
            models.UniqueConstraint(fields=["provider", "provider_message_id"], name="message_unique_per_provider"),
        ]

    def __str__(self) -> str:
        return f"SMS from {self.sender or '?'} at {self.received_at:%Y-%m-%d %H:%M:%S}"


class VoiceCall(models.Model):
    """A call to a voice verification's number. The provider gives a recording URI (TextVerified
    transcribes nothing): we fetch our own copy (verifications/recordings.py), transcribe it
    (verifications/transcripts.py), and the call completes the sale once its recording is ours."""

    class Recording(models.TextChoices):
        WAITING = "pending", "Not fetched yet"  # fetched again until the verification expires
        STORED = "available", "Stored"
        UNAVAILABLE = "unavailable", "Unavailable"  # no URI, refused, or still failing at expiry
        DELETED = "deleted", "Deleted after the retention period"

    class Transcription(models.TextChoices):
        PENDING = "pending", "Waiting for the recording or a worker"
        DONE = "done", "Transcribed"
        UNAVAILABLE = "unavailable", "Transcription unavailable"

    class Confidence(models.TextChoices):
        CONFIDENT = "confident", "Confident"
        UNCERTAIN = "uncertain", "Uncertain"
        NONE = "none", "No code heard"

    verification = models.ForeignKey(Verification, on_delete=models.CASCADE, related_name="calls")
    provider = models.CharField(max_length=32, choices=ProviderName.choices)
    provider_call_id = models.CharField(max_length=128)
    caller = models.CharField(max_length=64, blank=True)
    duration = models.PositiveIntegerField(null=True, blank=True, help_text="seconds")
    # The provider's recordingUri: fetched with our credentials, never shown to customers.
    recording_uri = models.CharField(max_length=1024, blank=True)
    recording_state = models.CharField(max_length=16, choices=Recording.choices, default=Recording.WAITING)
    recording = models.FileField(upload_to="recordings/%Y/%m/%d", max_length=255, blank=True)
    recording_content_type = models.CharField(max_length=32, blank=True)
    recording_size = models.PositiveIntegerField(null=True, blank=True)
    recording_attempts = models.PositiveSmallIntegerField(default=0)
    # When the next download attempt is due (backoff after a failure; a claimed attempt's lease).
    recording_next_attempt_at = models.DateTimeField(null=True, blank=True)
    recording_error = models.CharField(max_length=255, blank=True)
    transcription_state = models.CharField(max_length=16, choices=Transcription.choices,
                                           default=Transcription.PENDING)
    transcription = models.TextField(blank=True)
    code = models.CharField(max_length=16, blank=True)
    code_confidence = models.CharField(max_length=16, choices=Confidence.choices, blank=True)
    transcribed_at = models.DateTimeField(null=True, blank=True)
    transcription_model = models.CharField(max_length=64, blank=True)
    # When a transcription was last queued: one still pending long after is queued again (its task was lost).
    transcription_queued_at = models.DateTimeField(null=True, blank=True)
    # "Transcribe again" requests so far (at most transcripts.MAX_AGAIN per call).
    transcription_requests = models.PositiveSmallIntegerField(default=0)
    # The moment this call completed the sale: its recording became ours, or the provider read the code.
    delivered_at = models.DateTimeField(null=True, blank=True)
    received_at = models.DateTimeField()
    stored_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["received_at", "id"]
        indexes = [models.Index(fields=["recording_state", "recording_next_attempt_at"])]
        constraints = [
            models.UniqueConstraint(fields=["provider", "provider_call_id"], name="voicecall_unique_per_provider"),
        ]

    def __str__(self) -> str:
        return f"Call from {self.caller or '?'} at {self.received_at:%Y-%m-%d %H:%M:%S}"
