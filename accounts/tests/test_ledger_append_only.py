"""Ledger rows are never edited or deleted: the ORM refuses, and the database refuses raw SQL too."""
from decimal import Decimal

import pytest
from django.db import DatabaseError, connection, transaction

from accounts import services
from accounts.models import LedgerEntry


@pytest.fixture
def topup(alice):
    return services.credit(user=alice, amount="5.00", memo="bank transfer")


def test_it_refuses_to_save_an_existing_row(topup):
    topup.amount = Decimal("500.00")
    with pytest.raises(TypeError):
        topup.save()
    assert LedgerEntry.objects.get().amount == Decimal("5.00")


def test_it_refuses_to_delete_a_row(topup):
    with pytest.raises(TypeError):
        topup.delete()
    assert LedgerEntry.objects.count() == 1


def test_it_refuses_queryset_update_and_delete(topup):
    with pytest.raises(TypeError):
        LedgerEntry.objects.filter(pk=topup.pk).update(amount=Decimal("500.00"))
    with pytest.raises(TypeError):
        LedgerEntry.objects.all().delete()
    assert LedgerEntry.objects.get().amount == Decimal("5.00")


def test_the_database_refuses_a_raw_update(topup):
    # sqlite raises IntegrityError (RAISE(ABORT)), PostgreSQL InternalError (RAISE EXCEPTION).
    with pytest.raises(DatabaseError, match="append-only"), transaction.atomic(), connection.cursor() as cursor:
        cursor.execute(f"UPDATE {LedgerEntry._meta.db_table} SET amount = %s WHERE id = %s", ["500.00", topup.pk])
    assert LedgerEntry.objects.get().amount == Decimal("5.00")


def test_the_database_refuses_a_raw_delete_on_postgresql(topup):
    if connection.vendor != "postgresql":
        pytest.skip("the DELETE trigger exists on PostgreSQL only (sqlite's test runner flushes with DELETE)")
    with pytest.raises(DatabaseError, match="append-only"), transaction.atomic(), connection.cursor() as cursor:
        cursor.execute(f"DELETE FROM {LedgerEntry._meta.db_table} WHERE id = %s", [topup.pk])
    assert LedgerEntry.objects.count() == 1
