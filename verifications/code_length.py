"""How many digits a service's codes have, for reading its voice calls (voice.code_from_text).

Staff may say so (Service.voice_code_length, the service's admin page). Otherwise the service's own
recent SMS codes do: those of its latest completed verifications, when there are at least AGREEING
of them, all numeric and of one length. With the length known, a reading of another length is
never confident, which on bench/voice's report set made every confident telephone-band code right
(68/68, against 64/66 with any length; bench/voice/results.md). A length also lets rivals of
other lengths drop out and a soundalike complete a run one digit short, so a wrong length could
make a wrong code confident: hence SMS codes only (a voice code read with the inferred length
would confirm its own length), unanimity, and nothing inferred from a service whose codes are of
several kinds.
"""
from __future__ import annotations

import re

from django.core.cache import cache

from namaskah import cache as shared_cache
from verifications.models import Message, Service, Verification

RECENT = 20  # completed verifications looked at
AGREEING = 5  # numeric codes of one length, at least
# The answer is kept this long per service (two small queries when it runs out).
TTL = 3600
NUMERIC = re.compile(r"\d{4,8}")


def code_length(service: Service) -> int | None:
    """The length the service's codes have, or None when neither staff nor its recent codes say."""
    if service.voice_code_length:
        return service.voice_code_length
    key = f"verifications:code-length:{service.pk}"
    cached = shared_cache.call(lambda: cache.get(key))
    if cached is not None:
        return cached or None
    length = inferred(service.pk)
    shared_cache.call(lambda: cache.set(key, length or 0, TTL))
    return length


def inferred(service_id: int) -> int | None:
    """The one length of the service's recent SMS codes, if at least AGREEING of them, all numeric, agree."""
    recent = list(Verification.objects.filter(service_id=service_id, status=Verification.Status.COMPLETED)
                  .order_by("-created_at").values_list("pk", flat=True)[:RECENT])
    if not recent:
        return None
    codes = list(Message.objects.filter(verification_id__in=recent).exclude(code="").values_list("code", flat=True))
    lengths = {len(code) for code in codes}
    # Any non-numeric code (G-482913, AB12CD) or a second length: the service's codes are not one kind.
    if len(codes) >= AGREEING and len(lengths) == 1 and all(NUMERIC.fullmatch(code) for code in codes):
        return lengths.pop()
    return None


def forget(service_id: int) -> None:
    """Drop the cached answer (the service's admin page saves it)."""
    shared_cache.call(lambda: cache.delete(f"verifications:code-length:{service_id}"))
