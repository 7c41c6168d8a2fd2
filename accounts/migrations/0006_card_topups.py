"""Card top-ups (payments): the ledger points at its TopUp, and a refunded or disputed top-up may
take a balance below zero.

The account row loses its balance >= 0 check (it cannot know which entry moved the balance); the
ledger gets the kind-aware rule instead (ledger_only_reversals_go_below_zero). On SQLite, changing
a table's constraints rebuilds the table and drops its triggers: the append-only trigger of 0003
is created again at the end.
"""
import django.db.models.deletion
from django.db import migrations, models

SQLITE_APPEND_ONLY = """CREATE TRIGGER IF NOT EXISTS ledger_no_update BEFORE UPDATE ON accounts_ledgerentry
    BEGIN SELECT RAISE(ABORT, 'ledger entries are append-only'); END;"""


def restore_sqlite_trigger(apps, schema_editor):
    if schema_editor.connection.vendor == "sqlite":
        schema_editor.execute(SQLITE_APPEND_ONLY)


class Migration(migrations.Migration):

    dependencies = [
        ('accounts', '0005_staff_tools'),
        ('payments', '0001_initial'),
        ('verifications', '0001_initial'),
    ]

    operations = [
        # Reversed last when this migration is unapplied: the rebuilt table gets its trigger back.
        migrations.RunPython(migrations.RunPython.noop, restore_sqlite_trigger),
        migrations.RemoveConstraint(
            model_name='account',
            name='account_balance_non_negative',
        ),
        migrations.RemoveConstraint(
            model_name='ledgerentry',
            name='ledger_amount_sign_matches_kind',
        ),
        migrations.RemoveConstraint(
            model_name='ledgerentry',
            name='ledger_balance_after_non_negative',
        ),
        migrations.RemoveConstraint(
            model_name='ledgerentry',
            name='ledger_charge_refund_have_verification',
        ),
        migrations.AddField(
            model_name='ledgerentry',
            name='topup',
            field=models.ForeignKey(blank=True, null=True, on_delete=django.db.models.deletion.PROTECT, related_name='ledger_entries', to='payments.topup'),
        ),
        migrations.AlterField(
            model_name='ledgerentry',
            name='kind',
            field=models.CharField(choices=[('topup', 'Top-up'), ('charge', 'Charge'), ('refund', 'Refund'), ('adjustment', 'Adjustment'), ('topup_refund', 'Top-up refunded'), ('dispute', 'Top-up disputed')], max_length=16),
        ),
        migrations.AddConstraint(
            model_name='ledgerentry',
            constraint=models.CheckConstraint(condition=models.Q(models.Q(('amount__gt', 0), ('kind', 'topup')), models.Q(('amount__lt', 0), ('kind', 'charge')), models.Q(('amount__gt', 0), ('kind', 'refund')), ('kind', 'adjustment'), models.Q(('amount__lt', 0), ('kind__in', ('topup_refund', 'dispute'))), _connector='OR'), name='ledger_amount_sign_matches_kind'),
        ),
        migrations.AddConstraint(
            model_name='ledgerentry',
            constraint=models.CheckConstraint(condition=models.Q(('balance_after__gte', 0), ('amount__gt', 0), ('kind__in', ('topup_refund', 'dispute')), _connector='OR'), name='ledger_only_reversals_go_below_zero'),
        ),
        migrations.AddConstraint(
            model_name='ledgerentry',
            constraint=models.CheckConstraint(condition=models.Q(('kind__in', ['topup', 'adjustment', 'topup_refund', 'dispute']), ('verification__isnull', False), _connector='OR'), name='ledger_charge_refund_have_verification'),
        ),
        migrations.AddConstraint(
            model_name='ledgerentry',
            constraint=models.CheckConstraint(condition=models.Q(models.Q(('kind__in', ('topup_refund', 'dispute')), _negated=True), ('topup__isnull', False), _connector='OR'), name='ledger_reversals_have_topup'),
        ),
        migrations.AddConstraint(
            model_name='ledgerentry',
            constraint=models.UniqueConstraint(condition=models.Q(('kind', 'topup')), fields=('topup',), name='ledger_one_credit_per_topup'),
        ),
        migrations.RunPython(restore_sqlite_trigger, restore_sqlite_trigger),
    ]
