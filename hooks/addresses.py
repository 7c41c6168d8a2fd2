"""Which URLs an endpoint may have, and which addresses a delivery may connect to (no SSRF).

Checked at registration and again before every attempt, because DNS can change between the two
(rebinding); the connection then goes to the very address that was checked.
"""
from __future__ import annotations

import ipaddress
import socket
from urllib.parse import urlsplit

from django.conf import settings

MAX_URL_LENGTH = 2000
SCHEMES = {"http": 80, "https": 443}
NAT64 = ipaddress.ip_network("64:ff9b::/96")


class AddressRefused(ValueError):
    """The URL is malformed, not http(s), or its host resolves to an address we never call."""


def parse(url: str) -> tuple[str, str, int]:
    """(scheme, host, port) of an acceptable URL. Raises AddressRefused."""
    if len(url) > MAX_URL_LENGTH:
        raise AddressRefused(f"At most {MAX_URL_LENGTH} characters.")
    try:
        parts = urlsplit(url)
        port = parts.port
    except ValueError:
        raise AddressRefused("Not a valid URL.") from None
    if parts.scheme not in SCHEMES:
        raise AddressRefused("Only http and https URLs are accepted.")
    if parts.username is not None or parts.password is not None:
        raise AddressRefused("A URL with a user name or password is not accepted.")
    host = parts.hostname
    if not host or any(c.isspace() for c in url):
        raise AddressRefused("Not a valid URL.")
    return parts.scheme, host, port or SCHEMES[parts.scheme]


def is_public(address: str) -> bool:
    """Whether an IP address is globally reachable: not loopback, private, link-local (the cloud
    metadata address included), carrier-grade NAT, unspecified, multicast or reserved — nor an IPv6
    form that embeds one of those (IPv4-mapped, 6to4, Teredo, NAT64)."""
    ip = ipaddress.ip_address(address.split("%", 1)[0])
    if ip.version == 6:
        if ip.ipv4_mapped is not None:  # the socket connects to the IPv4 address itself
            return is_public(str(ip.ipv4_mapped))
        embedded = ip.sixtofour or (ip.teredo[1] if ip.teredo else None)
        if embedded is None and ip in NAT64:
            embedded = ipaddress.IPv4Address(int(ip) & 0xFFFFFFFF)
        if embedded is not None and not is_public(str(embedded)):
            return False
    return ip.is_global and not ip.is_multicast and not ip.is_reserved


def resolve(host: str, port: int) -> list[str]:
    """Every address `host` resolves to, each checked; the first is the one to connect to.
    Raises AddressRefused (unresolvable, or any address not public unless WEBHOOK_ALLOW_PRIVATE)."""
    try:
        infos = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)
    except (socket.gaierror, UnicodeError):
        raise AddressRefused(f"The host {host} does not resolve.") from None
    addresses = list(dict.fromkeys(info[4][0] for info in infos))
    if not addresses:
        raise AddressRefused(f"The host {host} does not resolve.")
    # Every address, not only the first: an attacker's name can list a public and a private one.
    if not settings.WEBHOOK_ALLOW_PRIVATE and not all(is_public(a) for a in addresses):
        raise AddressRefused("The URL's host is a loopback, private, link-local or otherwise non-public address.")
    return addresses


def check(url: str) -> tuple[str, str, int, list[str]]:
    """(scheme, host, port, addresses) of a URL we may call now. Raises AddressRefused."""
    scheme, host, port = parse(url)
    return scheme, host, port, resolve(host, port)
