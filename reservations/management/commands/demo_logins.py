"""`manage.py demo_logins`: print the demo accounts `seed_demo` creates, and (kiosks'
`kiosk_demo`, called by name: reservations imports no upper layer) the demo kiosk's one-time
activation URL with the demo resident's kiosk PIN."""

from __future__ import annotations

from typing import Any

from django.apps import apps
from django.core.management import call_command
from django.core.management.base import BaseCommand

from reservations import demo


class Command(BaseCommand):
    help = "デモ用ログインを表示します (Print the demo logins)."

    def add_arguments(self, parser: Any) -> None:
        parser.add_argument("--port", type=int, default=8000, help="the port `make run` serves on")

    def handle(self, *args: Any, **options: Any) -> None:
        rows = [
            ("区民（区内在住）", "resident", demo.DEMO_RESIDENT, demo.DEMO_PASSWORD),
            ("区外利用者", "outsider", demo.DEMO_OUTSIDER, demo.DEMO_PASSWORD),
            ("窓口職員", "counter staff", demo.STAFF_USER, demo.STAFF_PASSWORD),
            ("施設管理者", "facility manager", demo.MANAGER_USER, demo.STAFF_PASSWORD),
            ("所管課管理者", "department admin", demo.DEPARTMENT_USER, demo.STAFF_PASSWORD),
            ("監査担当（閲覧のみ）", "auditor, read only", demo.AUDITOR_USER, demo.STAFF_PASSWORD),
            ("管理者", "administrator, /admin/", demo.ADMIN_USER, demo.ADMIN_PASSWORD),
        ]
        lines = [
            "",
            f"デモ画面 (demo site): http://127.0.0.1:{options['port']}/",
            "デモ用ログイン (demo logins): 利用者番号・ID (user number) / パスワード (password)",
        ]
        lines += [f"  {ja} ({en}): {user} / {password}" for ja, en, user, password in rows]
        lines.append(f"  職員端末 (staff terminal): http://127.0.0.1:{options['port']}/staff/")
        lines += [
            f"  他の利用者 (other residents) {int(demo.DEMO_OUTSIDER) + 1}〜 も同じパスワード "
            f"(same password: {demo.DEMO_PASSWORD})",
            "",
        ]
        self.stdout.write("\n".join(lines))
        call_command("demo_totp", stdout=self.stdout)
        if apps.is_installed("kiosks"):
            call_command("kiosk_demo", port=options["port"], stdout=self.stdout)
