"""Shared fixtures: a cast of users (alice owns, bob is another customer, staff runs the shop)."""
import os

import pytest
from django.core.cache import cache


@pytest.fixture(scope="session")
def django_db_modify_db_settings(django_db_modify_db_settings_parallel_suffix):
    # One PostgreSQL test database per run, so two runs on one machine (a developer and CI, or
    # parallel sessions) never drop each other's database.
    from django.db import connections

    for connection in connections.all():
        if connection.vendor == "postgresql":
            connection.settings_dict.setdefault("TEST", {})
            connection.settings_dict["TEST"]["NAME"] = f"test_{connection.settings_dict['NAME']}_{os.getpid()}"
        elif connection.vendor == "sqlite":
            # A file, not Django's shared-cache in-memory database: there a second writer (live_server's
            # threads, the background_work thread) fails at once with "database table is locked"
            # instead of waiting its turn as SQLite's busy timeout makes it on a file.
            import tempfile

            connection.settings_dict.setdefault("TEST", {})
            connection.settings_dict["TEST"]["NAME"] = os.path.join(tempfile.gettempdir(),
                                                                    f"namaskah-test-{os.getpid()}.sqlite3")


@pytest.fixture(scope="session", autouse=True)
def _eager_tasks():
    # Unit tests run Celery tasks in the caller, at once, with their exceptions raised there; the
    # integration tests that start real workers turn this off for themselves.
    from namaskah.celery import app

    app.conf.update(task_always_eager=True, task_eager_propagates=True)
    yield


@pytest.fixture(autouse=True)
def _fresh_cache():
    # The cache holds breaker state, rate-limit counters and tokens: no test may see another's.
    cache.clear()
    yield
    try:
        cache.clear()
    except Exception:
        pass  # a test that pointed the cache at a dead server; the next setup clears the real one


@pytest.fixture(autouse=True)
def _fresh_providers():
    # Each test starts like a new worker process: breakers remember a dead cache for a few seconds
    # and clients keep tokens, which must not leak from one test into the next.
    from namaskah import taskstats
    from namaskah.cache import forget_outages
    from providers import breaker, registry
    from providers import health as provider_health
    from verifications import checks

    forget_outages()
    taskstats.forget()
    provider_health.forget()
    breaker._breakers.clear()
    registry._instances.clear()
    registry._background.clear()
    checks.forget_memos()
    yield
    checks.forget_memos()


@pytest.fixture(autouse=True)
def _private_media(settings, tmp_path_factory):
    # Stored call recordings go to a folder of the test's own, never to the checkout's media/.
    settings.MEDIA_ROOT = str(tmp_path_factory.mktemp("media"))


@pytest.fixture(autouse=True)
def _fast_passwords(settings):
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]


@pytest.fixture
def make_user(db):
    from accounts.models import User

    def make(email: str, password: str = "correct-horse-battery", **extra):
        return User.objects.create_user(email, password, **extra)

    return make


@pytest.fixture
def alice(make_user):
    return make_user("alice@example.com")


@pytest.fixture
def bob(make_user):
    return make_user("bob@example.com")


@pytest.fixture
def staff(make_user):
    return make_user("staff@example.com", is_staff=True, is_superuser=True)


@pytest.fixture
def catalogue(db):
    """One tier (Standard, $1.00), one service (Telegram) and one country (US)."""
    from verifications.tests.factories import make_catalogue

    return make_catalogue()


@pytest.fixture
def staff_client(client, staff):
    client.force_login(staff)
    return client


@pytest.fixture
def alice_client(client, alice):
    client.force_login(alice)
    return client


@pytest.fixture
def background_work(transactional_db):
    """A worker and beat in miniature for tests against live_server: every quarter second it runs
    what beat schedules most often (the checks and expiry), with tasks eager, in a thread."""
    import threading

    from django.db import connections

    from verifications.tasks import dispatch_checks, expire_due

    stop = threading.Event()

    def work():
        while not stop.wait(0.25):
            try:
                dispatch_checks()
                expire_due()
            except Exception:  # a test tearing its tables down under us
                pass
            finally:
                connections.close_all()

    thread = threading.Thread(target=work, name="background-work", daemon=True)
    thread.start()
    yield
    stop.set()
    thread.join(timeout=10)


@pytest.fixture
def run_together():
    """run(count, work): work(i) in `count` threads released at the same instant; each result or
    exception, in order (the race tests of every app)."""
    import threading

    from django.db import connection

    def run(count: int, work) -> list:
        barrier = threading.Barrier(count)
        results: list = [None] * count

        def target(i):
            try:
                barrier.wait()
                results[i] = work(i)
            except Exception as exc:  # collected and asserted on by the test
                results[i] = exc
            finally:
                connection.close()

        threads = [threading.Thread(target=target, args=(i,)) for i in range(count)]
        for t in threads:
            t.start()
        for t in threads:
            t.join(timeout=60)
        return results

    return run
