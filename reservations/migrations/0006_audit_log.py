"""The audit log (reservations/audit.py): the table, and on PostgreSQL a trigger that refuses
UPDATE and DELETE of its rows (append-only in the database, not only in the application)."""

import django.db.models.deletion
from django.conf import settings
from django.db import migrations, models

APPEND_ONLY = """
CREATE OR REPLACE FUNCTION reservations_auditentry_append_only() RETURNS trigger AS $$
BEGIN
    RAISE EXCEPTION '監査ログは追記のみです（% は拒否されました） / the audit log is append-only', TG_OP
        USING ERRCODE = 'insufficient_privilege';
END;
$$ LANGUAGE plpgsql;
CREATE TRIGGER reservations_auditentry_append_only
    BEFORE UPDATE OR DELETE ON reservations_auditentry
    FOR EACH ROW EXECUTE FUNCTION reservations_auditentry_append_only();
"""

DROP_APPEND_ONLY = """
DROP TRIGGER IF EXISTS reservations_auditentry_append_only ON reservations_auditentry;
DROP FUNCTION IF EXISTS reservations_auditentry_append_only();
"""


def _on_postgresql(sql):
    def run(apps, schema_editor):
        if schema_editor.connection.vendor == "postgresql":
            schema_editor.execute(sql, None)

    return run


class Migration(migrations.Migration):
    dependencies = [
        ("reservations", "0005_staff_roles"),
    ]

    operations = [
        migrations.CreateModel(
            name="AuditEntry",
            fields=[
                ("id", models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name="ID")),
                ("seq", models.PositiveBigIntegerField(unique=True, verbose_name="通番")),
                ("at", models.DateTimeField(db_index=True, verbose_name="日時")),
                ("actor_label", models.CharField(blank=True, max_length=20, verbose_name="操作者ID")),
                ("actor_role", models.CharField(blank=True, max_length=20, verbose_name="役割")),
                ("action", models.CharField(db_index=True, max_length=64, verbose_name="操作")),
                ("target", models.CharField(blank=True, max_length=255, verbose_name="操作の対象")),
                ("details", models.JSONField(blank=True, default=dict, verbose_name="詳細")),
                ("request_id", models.CharField(blank=True, max_length=64, verbose_name="リクエストID")),
                ("ip", models.CharField(blank=True, max_length=45, verbose_name="IPアドレス")),
                ("prev_hash", models.CharField(max_length=64, verbose_name="直前のハッシュ")),
                ("hash", models.CharField(max_length=64, unique=True, verbose_name="ハッシュ")),
                (
                    "actor",
                    models.ForeignKey(
                        blank=True,
                        null=True,
                        on_delete=django.db.models.deletion.PROTECT,
                        related_name="+",
                        to=settings.AUTH_USER_MODEL,
                        verbose_name="操作者",
                    ),
                ),
            ],
            options={
                "verbose_name": "監査ログ",
                "verbose_name_plural": "監査ログ",
                "ordering": ["-seq"],
                "constraints": [
                    models.CheckConstraint(condition=models.Q(("seq__gte", 1)), name="audit_entry_seq_positive")
                ],
            },
        ),
        migrations.RunPython(_on_postgresql(APPEND_ONLY), _on_postgresql(DROP_APPEND_ONLY), elidable=False),
    ]
