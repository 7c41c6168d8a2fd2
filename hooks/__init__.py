"""Outbound webhooks to integrators (issue 16, the contract's §8): endpoints, signed deliveries
(Standard Webhooks), retries and the guard against requests to private addresses.

Named `hooks`, not `webhooks`: verifications/webhooks.py and payments/webhooks.py are the inbound
ones. verifications calls events.py (one call where an SMS is stored, one where a refund is written);
this app reads a verification only through the object it is given, so it stays below verifications.
"""
