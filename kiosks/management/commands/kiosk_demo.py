"""`manage.py kiosk_demo`: the demo kiosk's one-time activation URL and the demo resident's card
number and kiosk PIN (called by `demo_logins`, so `make run` prints them)."""

from __future__ import annotations

from typing import Any

from django.core.management.base import BaseCommand
from django.utils import timezone

from kiosks import demo
from kiosks.selectors import activation_path


class Command(BaseCommand):
    help = "デモ用の利用者端末を用意し、有効化URLを表示します (Prepare the demo kiosk and print its activation URL)."

    def add_arguments(self, parser: Any) -> None:
        parser.add_argument("--port", type=int, default=8000, help="the port `make run` serves on")

    def handle(self, *args: Any, **options: Any) -> None:
        prepared = demo.prepare(now=timezone.now())
        if prepared is None:
            self.stdout.write(
                "利用者端末のデモ (demo kiosk): デモデータがありません。先に seed_demo を実行してください。\n"
            )
            return
        url = f"http://127.0.0.1:{options['port']}{activation_path(prepared.code)}"
        lines = [
            f"利用者端末のデモ (demo kiosk): {prepared.kiosk.facility.name} {prepared.kiosk.name}",
            f"  このURLを開くと、そのブラウザが端末になります (open to turn a browser into the kiosk; one-time, 24 h): {url}",
            f"  端末でのログイン (kiosk login): 利用者番号 (card) {prepared.card} / 暗証番号 (PIN) {prepared.pin}",
            "  表示のたびに新しいコードになり、前に有効にしたブラウザは再度の有効化が必要です "
            "(each run issues a new code; a browser activated before must be activated again).",
            "",
        ]
        self.stdout.write("\n".join(lines))
