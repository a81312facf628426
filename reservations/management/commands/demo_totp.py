"""`manage.py demo_totp`: the demo staff's authenticator secret and its current 6-digit code
(the second factor of every demo staff login; docs/security.md)."""

from __future__ import annotations

import base64
import time
from typing import Any
from urllib.parse import quote, urlencode

from django.conf import settings
from django.core.management.base import BaseCommand
from django_otp.oath import TOTP

from reservations import demo

STEP = 30


class Command(BaseCommand):
    help = "デモ職員の2要素認証の秘密鍵と現在の確認コードを表示します (Print the demo staff's TOTP secret and current code)."

    def handle(self, *args: Any, **options: Any) -> None:
        secret = demo.DEMO_TOTP_SECRET
        key = base64.b32decode(secret)
        now = time.time()
        clock = TOTP(key, step=STEP)
        clock.time = now
        code = clock.token()
        left = STEP - int(now) % STEP
        issuer = str(getattr(settings, "OTP_TOTP_ISSUER", "")).replace(":", "")
        label = quote(f"{issuer}:demo-staff") if issuer else "demo-staff"
        uri = f"otpauth://totp/{label}?" + urlencode(
            {"secret": secret, "algorithm": "SHA1", "digits": 6, "period": STEP, "issuer": issuer}, quote_via=quote
        )
        grouped = " ".join(secret[i : i + 4] for i in range(0, len(secret), 4))
        self.stdout.write(
            "\n".join(
                [
                    "職員の2要素認証 (staff second factor): パスワードの後に確認コードを入力 "
                    "(after the password, enter a 6-digit code)",
                    f"  認証アプリの秘密鍵 (authenticator secret, every demo staff login): {grouped}",
                    f"  {uri}",
                    f"  現在の確認コード (current code): {code:06d}  (あと {left} 秒 / valid {left} s more)",
                    "  新しいコード (a fresh code): .venv/bin/python manage.py demo_totp",
                    "",
                ]
            )
        )
