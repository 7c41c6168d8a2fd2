"""What the fake provider sells: countries with their own number formats, services, prices and stock.

The fake's own data, written from the protocol's documents and not from our client, so the client
is tested against something it did not write. Numbers are E.164-shaped digits in each country's
format, inside ranges reserved for fiction where a regulator has one (UK 07700 900xxx, the NANP's
555-01xx, France's 06 39 98, Australia's 0491 570); elsewhere in a plausible mobile range.
"""
from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal


@dataclass(frozen=True)
class FakeCountry:
    id: int  # the protocol's country id
    name: str
    phone_code: int
    prefix: str  # digits every number starts with, country code included
    digits: int  # digits that follow the prefix

    def number(self, serial: int) -> str:
        return self.prefix + str(serial % 10 ** self.digits).zfill(self.digits)


COUNTRIES: tuple[FakeCountry, ...] = (
    FakeCountry(187, "United States", 1, "120155501", 2),   # +1 201 555 01xx (fictional)
    FakeCountry(16, "United Kingdom", 44, "447700900", 3),  # +44 7700 900xxx (Ofcom drama range)
    FakeCountry(36, "Canada", 1, "141655501", 2),           # +1 416 555 01xx (fictional)
    FakeCountry(43, "Germany", 49, "4915100000", 3),        # +49 151 00000xxx
    FakeCountry(78, "France", 33, "3363998", 4),            # +33 6 39 98 xx xx (ARCEP fiction range)
    FakeCountry(54, "Mexico", 52, "52551000", 4),           # +52 55 1000 xxxx
    FakeCountry(48, "Netherlands", 31, "3161200", 4),       # +31 6 1200 xxxx
    FakeCountry(56, "Spain", 34, "34600000", 3),            # +34 600 000 xxx
    FakeCountry(15, "Poland", 48, "48500000", 3),           # +48 500 000 xxx
    FakeCountry(22, "India", 91, "9190000", 5),             # +91 90000 xxxxx
    FakeCountry(73, "Brazil", 55, "5511900", 6),            # +55 11 900xx xxxx
    FakeCountry(175, "Australia", 61, "61491570", 3),       # +61 491 570 xxx (ACMA fiction range)
    FakeCountry(0, "Russia", 7, "7900000", 4),              # the protocol's historical default id
    FakeCountry(6, "Indonesia", 62, "62812000", 4),         # an id outside Namaskah's table
)

# code -> (name, base price in USD)
SERVICES: dict[str, tuple[str, Decimal]] = {
    code: (name, Decimal(price)) for code, name, price in [
        ("wa", "WhatsApp", "0.90"), ("tg", "Telegram", "0.60"), ("go", "Google", "0.35"),
        ("ds", "Discord", "0.30"), ("fb", "Facebook", "0.25"), ("ig", "Instagram", "0.30"),
        ("tw", "Twitter", "0.25"), ("lf", "TikTok", "0.20"), ("dr", "OpenAI", "0.30"),
        ("mm", "Microsoft", "0.20"), ("am", "Amazon", "0.25"), ("ub", "Uber", "0.20"),
        ("oi", "Tinder", "0.40"), ("ot", "Any other", "0.15"), ("vi", "Viber", "0.15"),
    ]
}

# Cheaper where numbers are plentiful, dearer where they are scarce.
PRICE_FACTOR: dict[int, Decimal] = {
    187: Decimal("1.60"), 16: Decimal("1.20"), 36: Decimal("1.40"), 43: Decimal("1.30"), 78: Decimal("1.10"),
    54: Decimal("0.80"), 48: Decimal("1.20"), 56: Decimal("1.00"), 15: Decimal("0.70"), 22: Decimal("0.30"),
    73: Decimal("0.50"), 175: Decimal("1.50"), 0: Decimal("0.40"), 6: Decimal("0.35"),
}
# (country id, code) sold out, so NO_NUMBERS and a zero count show up without injecting anything.
SOLD_OUT = {(43, "fb"), (175, "vi")}
# Not sold at all in a country: getPrices leaves the row out, getNumber answers BAD_SERVICE.
NOT_SOLD = {(187, "vi"), (36, "vi")}


def initial_offers() -> dict[tuple[int, str], list]:
    """(country id, code) -> [price, stock], a fresh copy for each fake."""
    offers = {}
    for country in COUNTRIES:
        for index, (code, (_, base)) in enumerate(SERVICES.items()):
            if (country.id, code) in NOT_SOLD:
                continue
            price = (base * PRICE_FACTOR[country.id]).quantize(Decimal("0.01"))
            stock = 0 if (country.id, code) in SOLD_OUT else 40 + (country.id * 7 + index * 13) % 900
            offers[(country.id, code)] = [max(price, Decimal("0.05")), stock]
    return offers
