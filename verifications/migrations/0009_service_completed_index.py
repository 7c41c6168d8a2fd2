# verifications.code_length reads a service's latest completed verifications: a partial index on
# (service, -created_at) for the completed ones. On PostgreSQL it is built CONCURRENTLY, so the
# verification table keeps taking writes while a large one is indexed; elsewhere (SQLite in
# development) a plain CREATE INDEX.
from django.contrib.postgres.operations import AddIndexConcurrently
from django.db import migrations, models


class AddIndexConcurrentlyOnPostgreSQL(AddIndexConcurrently):
    def database_forwards(self, app_label, schema_editor, from_state, to_state):
        if schema_editor.connection.vendor == "postgresql":
            super().database_forwards(app_label, schema_editor, from_state, to_state)
        else:
            migrations.AddIndex.database_forwards(self, app_label, schema_editor, from_state, to_state)

    def database_backwards(self, app_label, schema_editor, from_state, to_state):
        if schema_editor.connection.vendor == "postgresql":
            super().database_backwards(app_label, schema_editor, from_state, to_state)
        else:
            migrations.AddIndex.database_backwards(self, app_label, schema_editor, from_state, to_state)


class Migration(migrations.Migration):
    atomic = False  # CREATE INDEX CONCURRENTLY cannot run inside a transaction

    dependencies = [
        ("verifications", "0008_service_voice_code_length"),
    ]

    operations = [
        AddIndexConcurrentlyOnPostgreSQL(
            model_name="verification",
            index=models.Index(condition=models.Q(("status", "completed")), fields=["service", "-created_at"],
                               name="verification_service_completed"),
        ),
    ]
