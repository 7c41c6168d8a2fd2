"""The SMS-Activate protocol's identifiers and ours (sms-activate-protocol.md §3.3 and §3.4).

One table each, read by the upstream client here and by our own `handler_api.php` endpoint, so the
two directions can never disagree about what `16` or `wa` means. Plain data, no Django: importing it
costs nothing.
"""
from __future__ import annotations

import re

# ISO 3166-1 alpha-2 -> the protocol's numeric country id. 187 is the United States (12 was "USA,
# virtual" in old tables and is not used); 0 is Russia, the protocol's historical default, which we
# do not sell.
COUNTRY_IDS: dict[str, int] = {
    "US": 187, "GB": 16, "CA": 36, "DE": 43, "FR": 78, "MX": 54,
    "NL": 48, "ES": 56, "PL": 15, "IN": 22, "BR": 73, "AU": 175,
    # Beyond the seed's catalogue: countries a provider may sell, added to ours by sync_services.
    "ID": 6, "PH": 4, "IT": 86, "SE": 46, "PT": 117,
}
# ISO alpha-2 -> the international dialling code, for the countries above (a country row needs one).
DIALLING_CODES: dict[str, str] = {
    "US": "+1", "GB": "+44", "CA": "+1", "DE": "+49", "FR": "+33", "MX": "+52", "NL": "+31", "ES": "+34",
    "PL": "+48", "IN": "+91", "BR": "+55", "AU": "+61", "ID": "+62", "PH": "+63", "IT": "+39", "SE": "+46",
    "PT": "+351",
}
COUNTRIES_BY_ID: dict[int, str] = {number: iso for iso, number in COUNTRY_IDS.items()}

# (protocol code, what the code means in the protocol, our service slug), in §3.4's order. One code
# names one service: where the protocol lumps several of ours under one code, the first-named wins.
SERVICES: tuple[tuple[str, str, str], ...] = (
    ("go", "Google, YouTube, Gmail", "google"),
    ("wa", "WhatsApp", "whatsapp"),
    ("tg", "Telegram", "telegram"),
    ("ds", "Discord", "discord"),
    ("fb", "Facebook", "facebook"),
    ("ig", "Instagram", "instagram"),
    ("tw", "Twitter / X", "twitter"),
    ("lf", "TikTok", "tiktok"),
    ("fu", "Snapchat", "snapchat"),
    ("bw", "Signal", "signal"),
    ("dr", "OpenAI / ChatGPT", "openai"),
    ("acz", "Claude", "claude"),
    ("mm", "Microsoft, Hotmail, Outlook", "microsoft"),
    ("mb", "Yahoo", "yahoo"),
    ("pm", "AOL", "aol"),
    ("wx", "Apple", "apple"),
    ("am", "Amazon", "amazon"),
    ("dh", "eBay", "ebay"),
    ("ts", "PayPal", "paypal"),
    ("yy", "Venmo", "venmo"),
    ("it", "Cash App", "cashapp"),
    ("re", "Coinbase", "coinbase"),
    ("ub", "Uber", "uber"),
    ("tu", "Lyft", "lyft"),
    ("ac", "DoorDash", "doordash"),
    ("oi", "Tinder", "tinder"),
    ("mo", "Bumble", "bumble"),
    ("vz", "Hinge", "hinge"),
    ("tn", "LinkedIn", "linkedin"),
    ("mt", "Steam", "steam"),
    ("hb", "Twitch", "twitch"),
    ("gf", "Google Voice", "googlevoice"),
    ("wc", "Craigslist", "craigslist"),
    ("ot", "any other service", "servicenotlisted"),
)
SLUGS_BY_CODE: dict[str, str] = {code: slug for code, _, slug in SERVICES}
CODES_BY_SLUG: dict[str, str] = {slug: code for code, _, slug in SERVICES}
# Buying upstream only: a number sold for the lumped code works for every service under it. Our own
# endpoint must not read these as codes (there `go` buys google, and gmail is reachable by its slug).
UPSTREAM_ALIASES: dict[str, str] = {"gmail": "go", "youtube": "go", "hotmail": "mm", "outlook": "mm", "x": "tw"}
CODE_PATTERN = re.compile(r"^[a-z0-9]{1,8}$")


def country_id(iso: str) -> int | None:
    """The protocol id of an ISO alpha-2 code ("GB" -> 16), or None for a country outside the table."""
    return COUNTRY_IDS.get((iso or "").strip().upper())


def country_iso(number: object) -> str | None:
    """Our ISO code for a protocol id (16, "16" -> "GB"), or None for an id outside the table."""
    try:
        return COUNTRIES_BY_ID.get(int(str(number).strip()))
    except (TypeError, ValueError):
        return None


def upstream_code(name: str) -> str | None:
    """The code to send upstream for one of our slugs or a protocol code ("whatsapp", "wa" -> "wa").

    A name outside the table that looks like a code is sent as it is (the provider's list is longer
    than ours, and it answers BAD_SERVICE if it does not know it); anything else is None.
    """
    name = (name or "").strip().lower()
    if name in SLUGS_BY_CODE:
        return name
    if name in CODES_BY_SLUG:
        return CODES_BY_SLUG[name]
    if name in UPSTREAM_ALIASES:
        return UPSTREAM_ALIASES[name]
    return name if CODE_PATTERN.match(name) else None


def slug_for(code: str) -> str:
    """Our slug for a protocol code ("wa" -> "whatsapp"); a code outside the table stays itself."""
    return SLUGS_BY_CODE.get(code, code)
