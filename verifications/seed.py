"""The demo catalogue: the seed's three tiers, ~30 real TextVerified service names, a dozen countries."""
from decimal import Decimal

TIERS = [
    # (name, SMS price, order)
    ("High-Demand", Decimal("0.75"), 1),
    ("Standard", Decimal("1.00"), 2),
    ("Premium", Decimal("1.50"), 3),
]

# (slug, display name, upstream serviceName, tier, supports SMS, supports voice)
SERVICES = [
    ("whatsapp", "WhatsApp", "whatsapp", "Premium", True, True),
    ("googlevoice", "Google Voice", "googlevoice", "Premium", True, True),
    ("icloud", "iCloud", "icloud", "Premium", True, True),
    ("apple", "Apple", "apple", "Premium", True, True),
    ("spotify", "Spotify", "spotify", "Premium", True, True),
    ("coinbase", "Coinbase", "coinbase", "Premium", True, True),
    ("cashapp", "Cash App", "cashapp", "Premium", True, True),
    ("paypal", "PayPal", "paypal", "Premium", False, True),
    ("venmo", "Venmo", "venmo", "Premium", False, True),
    ("google", "Google", "google", "Standard", True, True),
    ("gmail", "Gmail", "gmail", "Standard", True, True),
    ("youtube", "YouTube", "youtube", "Standard", True, True),
    ("telegram", "Telegram", "telegram", "Standard", True, True),
    ("tiktok", "TikTok", "tiktok", "Standard", True, True),
    ("amazon", "Amazon", "amazon", "Standard", True, True),
    ("netflix", "Netflix", "netflix", "Standard", True, True),
    ("microsoft", "Microsoft", "microsoft", "Standard", True, True),
    ("hotmail", "Hotmail / Outlook", "hotmail", "Standard", True, True),
    ("facebook", "Facebook", "facebook", "Standard", False, True),
    ("snapchat", "Snapchat", "snapchat", "Standard", False, True),
    ("discord", "Discord", "discord", "High-Demand", True, True),
    ("instagram", "Instagram", "instagram", "High-Demand", True, True),
    ("yahoo", "Yahoo", "yahoo", "High-Demand", True, True),
    ("tinder", "Tinder", "tinder", "High-Demand", True, True),
    ("uber", "Uber", "uber", "High-Demand", True, True),
    ("linkedin", "LinkedIn", "linkedin", "High-Demand", True, True),
    ("twitter", "X / Twitter", "twitter", "High-Demand", True, True),
    ("ebay", "eBay", "ebay", "High-Demand", True, True),
    ("doordash", "DoorDash", "doordash", "High-Demand", True, True),
    ("openai", "OpenAI / ChatGPT", "openai", "High-Demand", True, True),
    ("claude", "Claude", "claude", "High-Demand", True, True),
    ("airbnb", "Airbnb", "airbnb", "High-Demand", True, True),
    ("signal", "Signal", "signal", "High-Demand", True, True),
]

# (ISO code, name, dialling code, provider, order). TextVerified serves the US only; the others are
# served by the mock provider in development and shown as such, never passed off as real.
COUNTRIES = [
    ("US", "United States", "+1", "textverified", 0),
    ("GB", "United Kingdom", "+44", "mock", 10),
    ("CA", "Canada", "+1", "mock", 20),
    ("DE", "Germany", "+49", "mock", 30),
    ("FR", "France", "+33", "mock", 40),
    ("NL", "Netherlands", "+31", "mock", 50),
    ("ES", "Spain", "+34", "mock", 60),
    ("PL", "Poland", "+48", "mock", 70),
    ("IN", "India", "+91", "mock", 80),
    ("BR", "Brazil", "+55", "mock", 90),
    ("MX", "Mexico", "+52", "mock", 100),
    ("AU", "Australia", "+61", "mock", 110),
]
