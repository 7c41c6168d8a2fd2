"""Upstream number providers.

Call sites use `providers.registry.get_provider(name)` (guarded by the circuit breaker), the routing
rules of `providers.routing` (which providers, in which order, when to pass a purchase on), `providers.health.provider_health(name)` and `providers.breaker.breaker_state(name)`.
"""
