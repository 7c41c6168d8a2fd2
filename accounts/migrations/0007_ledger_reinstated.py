"""A reinstated card top-up (payments.TopUpReinstatement): the ledger kind that gives back a refund
that failed or a dispute that was won; positive, and pointing at its TopUp like the reversals.

On SQLite, changing a table's constraints rebuilds the table and drops its triggers: the
append-only trigger of 0003 is created again at the end (as in 0006).
"""
from django.db import migrations, models

SQLITE_APPEND_ONLY = """CREATE TRIGGER IF NOT EXISTS ledger_no_update BEFORE UPDATE ON accounts_ledgerentry
    BEGIN SELECT RAISE(ABORT, 'ledger entries are append-only'); END;"""


def restore_sqlite_trigger(apps, schema_editor):
    if schema_editor.connection.vendor == "sqlite":
        schema_editor.execute(SQLITE_APPEND_ONLY)


class Migration(migrations.Migration):

    dependencies = [
        ('accounts', '0006_card_topups'),
        ('payments', '0001_initial'),
        ('verifications', '0004_version'),
    ]

    operations = [
        # Reversed last when this migration is unapplied: the rebuilt table gets its trigger back.
        migrations.RunPython(migrations.RunPython.noop, restore_sqlite_trigger),
        migrations.RemoveConstraint(
            model_name='ledgerentry',
            name='ledger_amount_sign_matches_kind',
        ),
        migrations.RemoveConstraint(
            model_name='ledgerentry',
            name='ledger_charge_refund_have_verification',
        ),
        migrations.RemoveConstraint(
            model_name='ledgerentry',
            name='ledger_reversals_have_topup',
        ),
        migrations.AlterField(
            model_name='ledgerentry',
            name='kind',
            field=models.CharField(choices=[('topup', 'Top-up'), ('charge', 'Charge'), ('refund', 'Refund'), ('adjustment', 'Adjustment'), ('topup_refund', 'Top-up refunded'), ('dispute', 'Top-up disputed'), ('reinstated', 'Top-up reinstated')], max_length=16),
        ),
        migrations.AddConstraint(
            model_name='ledgerentry',
            constraint=models.CheckConstraint(condition=models.Q(models.Q(('amount__gt', 0), ('kind', 'topup')), models.Q(('amount__lt', 0), ('kind', 'charge')), models.Q(('amount__gt', 0), ('kind', 'refund')), ('kind', 'adjustment'), models.Q(('amount__lt', 0), ('kind__in', ('topup_refund', 'dispute'))), models.Q(('amount__gt', 0), ('kind', 'reinstated')), _connector='OR'), name='ledger_amount_sign_matches_kind'),
        ),
        migrations.AddConstraint(
            model_name='ledgerentry',
            constraint=models.CheckConstraint(condition=models.Q(('kind__in', ['topup', 'adjustment', 'topup_refund', 'dispute', 'reinstated']), ('verification__isnull', False), _connector='OR'), name='ledger_charge_refund_have_verification'),
        ),
        migrations.AddConstraint(
            model_name='ledgerentry',
            constraint=models.CheckConstraint(condition=models.Q(models.Q(('kind__in', ('topup_refund', 'dispute', 'reinstated')), _negated=True), ('topup__isnull', False), _connector='OR'), name='ledger_reversals_have_topup'),
        ),
        migrations.RunPython(restore_sqlite_trigger, restore_sqlite_trigger),
    ]
