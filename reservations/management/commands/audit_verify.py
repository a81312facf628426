"""`manage.py audit_verify`: walk the audit log's hash chain; exit 1 naming the first broken entry."""

from __future__ import annotations

from typing import Any

from django.core.management.base import BaseCommand, CommandError

from reservations.audit import verify_chain


class Command(BaseCommand):
    help = "監査ログのハッシュ連鎖を検証します (Verify the audit log's hash chain)."

    def handle(self, *args: Any, **options: Any) -> None:
        report = verify_chain()
        if not report.ok:
            raise CommandError(
                f"監査ログ #{report.broken_seq} で連鎖が切れています: {report.problem} "
                f"(audit log broken at entry #{report.broken_seq}; "
                f"{report.checked} entries before it are intact, the last of them #{report.head_seq} {report.head_hash})"
            )
        self.stdout.write(
            f"監査ログは正常です: {report.checked} 件、最新 #{report.head_seq} {report.head_hash}\n"
            f"(audit log intact: {report.checked} entries; head #{report.head_seq} {report.head_hash}. "
            "Keep the head hash outside this database, e.g. in the daily operations record, to detect "
            "a cut-off tail.)"
        )
