"""Make the ledger append-only in the database itself, not only in the ORM.

UPDATE is refused on every backend. DELETE is refused on PostgreSQL only: there the test runner
empties tables with TRUNCATE (which row triggers do not see), whereas on SQLite it uses DELETE.
"""
from django.db import migrations

SQLITE = [
    """CREATE TRIGGER ledger_no_update BEFORE UPDATE ON accounts_ledgerentry
       BEGIN SELECT RAISE(ABORT, 'ledger entries are append-only'); END;""",
]
SQLITE_REVERSE = ["DROP TRIGGER IF EXISTS ledger_no_update;"]

POSTGRES = [
    """CREATE OR REPLACE FUNCTION ledger_append_only() RETURNS trigger AS $$
       BEGIN RAISE EXCEPTION 'ledger entries are append-only'; END; $$ LANGUAGE plpgsql;""",
    """CREATE TRIGGER ledger_no_update_or_delete BEFORE UPDATE OR DELETE ON accounts_ledgerentry
       FOR EACH ROW EXECUTE FUNCTION ledger_append_only();""",
]
POSTGRES_REVERSE = [
    "DROP TRIGGER IF EXISTS ledger_no_update_or_delete ON accounts_ledgerentry;",
    "DROP FUNCTION IF EXISTS ledger_append_only();",
]


def _run(statements_by_vendor):
    def run(apps, schema_editor):
        for sql in statements_by_vendor.get(schema_editor.connection.vendor, []):
            schema_editor.execute(sql)

    return run


class Migration(migrations.Migration):
    dependencies = [("accounts", "0002_initial")]

    operations = [
        migrations.RunPython(
            _run({"sqlite": SQLITE, "postgresql": POSTGRES}),
            _run({"sqlite": SQLITE_REVERSE, "postgresql": POSTGRES_REVERSE}),
        ),
    ]
