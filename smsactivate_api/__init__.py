"""The SMS-Activate-compatible endpoint, `/stubs/handler_api.php` (/work/shared/sms-activate-protocol.md).

A thin translation above verifications and accounts: every action calls the same services and
selectors as the JSON API, so the two can never disagree about money, state or rules.
  views.py        the one view: transport, authentication, the order of checks, rate limits
  activations.py  account, buying and following actions
  catalogue.py    prices, countries, services, operators; resolving the protocol's ids
  answers.py      text tokens and JSON bodies, money and time formats
  errors.py       the one table from our domain errors to the protocol's tokens
"""
