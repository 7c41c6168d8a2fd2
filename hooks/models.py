"""An integrator's endpoints and one delivery record per (event, endpoint)."""
from __future__ import annotations

from django.conf import settings
from django.db import models
from django.utils import timezone

EVENTS = ("verification.code_received", "verification.completed", "verification.refunded")
TEST_EVENT = "webhook.test"


class Endpoint(models.Model):
    class Format(models.TextChoices):
        STANDARD = "standard", "Standard Webhooks envelope"
        SMS_ACTIVATE = "sms-activate", "SMS-Activate webhook body"

    owner = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="webhook_endpoints")
    url = models.CharField(max_length=2000)
    events = models.JSONField(default=list)
    format = models.CharField(max_length=16, choices=Format.choices, default=Format.STANDARD)
    # A signing key (whsec_ + base64 of 32 random bytes): it must be kept as is to sign, unlike a password.
    secret = models.CharField(max_length=64, editable=False)
    enabled = models.BooleanField(default=True)
    created_at = models.DateTimeField(default=timezone.now)
    disabled_at = models.DateTimeField(null=True, blank=True)
    # Set at the first failed attempt after a success (or ever); cleared by a 2xx. Three days of it disable.
    failing_since = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["created_at", "pk"]
        indexes = [models.Index(fields=["owner", "enabled"])]

    def __str__(self) -> str:
        return f"{self.url} ({self.owner_id})"


class Delivery(models.Model):
    class Status(models.TextChoices):
        PENDING = "pending", "Pending"
        DELIVERED = "delivered", "Delivered"
        FAILED = "failed", "Failed"

    endpoint = models.ForeignKey(Endpoint, on_delete=models.CASCADE, related_name="deliveries")
    event_type = models.CharField(max_length=64)
    # What the event is about, so that one event is recorded once per endpoint however often it is emitted.
    event_key = models.CharField(max_length=200)
    # Stable across retries: receivers deduplicate by it.
    webhook_id = models.CharField(max_length=40, unique=True)
    # The exact bytes that are signed and sent, every attempt the same.
    body = models.TextField()
    status = models.CharField(max_length=16, choices=Status.choices, default=Status.PENDING)
    attempts = models.PositiveSmallIntegerField(default=0)
    response_code = models.PositiveSmallIntegerField(null=True, blank=True)
    last_error = models.CharField(max_length=255, blank=True)
    created_at = models.DateTimeField(default=timezone.now)
    next_attempt_at = models.DateTimeField(null=True, blank=True)
    # The lease of the worker sending it now; its exact value is that worker's claim token.
    claimed_until = models.DateTimeField(null=True, blank=True)
    delivered_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at", "-pk"]
        constraints = [
            models.UniqueConstraint(fields=["endpoint", "event_key"], name="one_delivery_per_event_and_endpoint"),
        ]
        indexes = [models.Index(fields=["status", "next_attempt_at"]), models.Index(fields=["endpoint", "-created_at"])]
        verbose_name_plural = "deliveries"

    def __str__(self) -> str:
        return f"{self.event_type} → {self.endpoint_id} ({self.status})"
