"""The database connection around slow calls to other servers."""
from django.db import connection


def release_db_connection() -> None:
    """Hand the pooled connection back before a slow call to another server (an upstream provider,
    an integrator's webhook endpoint).

    Holding it across a 300 ms upstream call starves the pool (measured: ~300 → ~20 requests/s).
    Only with a pool and outside a transaction: closing inside one would abort it.
    """
    if connection.vendor == "postgresql" and not connection.in_atomic_block and connection.connection is not None:
        if connection.settings_dict.get("OPTIONS", {}).get("pool"):
            connection.close()
