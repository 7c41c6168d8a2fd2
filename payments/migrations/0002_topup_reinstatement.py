"""Reinstatements: a refund that failed or a dispute that was won gives its debit back, once."""
import django.db.models.deletion
import django.utils.timezone
from django.db import migrations, models


class Migration(migrations.Migration):

    dependencies = [
        ('accounts', '0007_ledger_reinstated'),
        ('payments', '0001_initial'),
    ]

    operations = [
        migrations.AlterField(
            model_name='paymentevent',
            name='outcome',
            field=models.CharField(choices=[('credited', 'Credited'), ('already_credited', 'Already credited (no change)'), ('awaiting_payment', 'Completed, payment still pending'), ('expired', 'Marked expired'), ('failed', 'Marked failed'), ('debited', 'Debited'), ('already_debited', 'Already debited (no change)'), ('reinstated', 'Given back (refund failed, dispute won)'), ('already_reinstated', 'Already given back (no change)'), ('nothing_to_reinstate', 'Nothing had been taken back'), ('ignored', 'Ignored (event not used)'), ('unknown_session', 'Unknown session'), ('unknown_payment', 'Unknown payment'), ('currency_mismatch', 'Other currency'), ('amount_mismatch', 'Amount does not match'), ('wrong_state', 'Top-up in another state')], max_length=32),
        ),
        migrations.CreateModel(
            name='TopUpReinstatement',
            fields=[
                ('id', models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name='ID')),
                ('stripe_id', models.CharField(max_length=255)),
                ('reason', models.CharField(choices=[('refund_failed', 'Refund failed'), ('refund_canceled', 'Refund cancelled'), ('dispute_won', 'Dispute won'), ('inquiry_closed', 'Inquiry closed without a chargeback')], max_length=32)),
                ('amount', models.DecimalField(decimal_places=2, max_digits=12)),
                ('created_at', models.DateTimeField(default=django.utils.timezone.now)),
                ('ledger_entry', models.OneToOneField(blank=True, null=True, on_delete=django.db.models.deletion.PROTECT, related_name='topup_reinstatement', to='accounts.ledgerentry')),
                ('reversal', models.OneToOneField(blank=True, null=True, on_delete=django.db.models.deletion.PROTECT, related_name='reinstatement', to='payments.topupreversal')),
                ('topup', models.ForeignKey(on_delete=django.db.models.deletion.PROTECT, related_name='reinstatements', to='payments.topup')),
            ],
            options={
                'ordering': ['-created_at'],
                'constraints': [models.UniqueConstraint(fields=('stripe_id',), name='topup_reinstatement_once_per_stripe_id'), models.CheckConstraint(condition=models.Q(models.Q(('amount__gt', 0), ('ledger_entry__isnull', False), ('reversal__isnull', False)), models.Q(('amount', 0), ('ledger_entry__isnull', True), ('reversal__isnull', True)), _connector='OR'), name='topup_reinstatement_money_iff_reversal')],
            },
        ),
    ]
