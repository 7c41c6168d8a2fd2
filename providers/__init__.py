"""Upstream number providers.

Call sites use `providers.registry.for_country(country)` / `get_provider(name)` (guarded by the
circuit breaker), `providers.health.provider_health(name)` and `providers.breaker.breaker_state(name)`.
"""
