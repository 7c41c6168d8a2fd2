"""The SMS-Activate protocol's identifiers (issue 16): an integer activation id on every verification
(from its own sequence table), a protocol id on countries, a short code on services; and the two
marks of the protocol's lifecycle (finished, another code asked)."""
from django.core.validators import RegexValidator
from django.db import migrations, models

import verifications.models

PROTOCOL_CODE = r"^[a-z0-9]{1,8}$"


def fill_ids(apps, schema_editor):
    # Plain data: the protocol's table, shared with the upstream client (no Django, no network).
    from providers.smsactivate import codes

    ActivationNumber = apps.get_model("verifications", "ActivationNumber")
    Verification = apps.get_model("verifications", "Verification")
    Country = apps.get_model("verifications", "Country")
    Service = apps.get_model("verifications", "Service")
    unnumbered = Verification.objects.filter(activation_id__isnull=True).order_by("created_at")
    for pk in unnumbered.values_list("pk", flat=True):
        Verification.objects.filter(pk=pk).update(activation_id=ActivationNumber.objects.create().pk)
    taken = set(Country.objects.exclude(protocol_id=None).values_list("protocol_id", flat=True))
    for country in Country.objects.filter(protocol_id=None, code__in=codes.COUNTRY_IDS):
        number = codes.COUNTRY_IDS[country.code]
        if number not in taken:
            Country.objects.filter(pk=country.pk).update(protocol_id=number)
            taken.add(number)
    used = set(Service.objects.exclude(protocol_code=None).values_list("protocol_code", flat=True))
    for service in Service.objects.filter(protocol_code=None, slug__in=codes.CODES_BY_SLUG):
        code = codes.CODES_BY_SLUG[service.slug]
        if code not in used:
            Service.objects.filter(pk=service.pk).update(protocol_code=code)
            used.add(code)


class Migration(migrations.Migration):
    dependencies = [
        ("verifications", "0001_initial"),
    ]

    operations = [
        migrations.CreateModel(
            name="ActivationNumber",
            fields=[("id", models.BigAutoField(primary_key=True, serialize=False))],
        ),
        migrations.AddField(
            model_name="service",
            name="protocol_code",
            field=models.CharField(
                blank=True, max_length=8, null=True, unique=True,
                validators=[RegexValidator(PROTOCOL_CODE, "1 to 8 lower-case letters or digits, e.g. wa")],
                help_text=("Its short code on the SMS-Activate-compatible endpoint (wa, tg, go…); "
                           "empty: reachable by slug"),
            ),
        ),
        migrations.AddConstraint(
            model_name="service",
            constraint=models.CheckConstraint(
                condition=models.Q(("protocol_code__isnull", True), ("protocol_code__regex", PROTOCOL_CODE),
                                   _connector="OR"),
                name="service_protocol_code_format",
            ),
        ),
        migrations.AddField(
            model_name="country",
            name="protocol_id",
            field=models.PositiveIntegerField(
                blank=True, null=True, unique=True,
                help_text=("SMS-Activate's numeric country id (187 = United States); "
                           "empty: not offered on that endpoint"),
            ),
        ),
        migrations.AddField(
            model_name="verification",
            name="finished_at",
            field=models.DateTimeField(blank=True, null=True),
        ),
        migrations.AddField(
            model_name="verification",
            name="another_code_requested_at",
            field=models.DateTimeField(blank=True, null=True),
        ),
        migrations.AddField(
            model_name="verification",
            name="activation_id",
            field=models.BigIntegerField(null=True, editable=False),
        ),
        migrations.RunPython(fill_ids, migrations.RunPython.noop),
        migrations.AlterField(
            model_name="verification",
            name="activation_id",
            field=models.BigIntegerField(default=verifications.models.next_activation_id, editable=False, unique=True),
        ),
    ]
