"""Production settings pass Django's deployment checklist, redirect plain HTTP behind the load
balancer's X-Forwarded-Proto, and send HSTS, the CSP and secure cookies — run in a fresh process
with the environment a deployment sets (config/settings/production.py)."""

from __future__ import annotations

import os
import secrets
import subprocess
import sys
import textwrap
from pathlib import Path

from django.conf import settings

ROOT = Path(__file__).resolve().parents[2]


def deployment_env(**extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("DJANGO_", "SECURE_", "RATE"))}
    env.update(
        DJANGO_SETTINGS_MODULE="config.settings.production",
        SECRET_KEY=secrets.token_urlsafe(60),
        DATABASE_URL=_database_url(),
        REDIS_URL=settings.REDIS_URL,
        ALLOWED_HOSTS="yoyaku.example.lg.jp",
        CSRF_TRUSTED_ORIGINS="https://yoyaku.example.lg.jp",
        STRIPE_SECRET_KEY="sk_live_placeholder",
        STRIPE_WEBHOOK_SECRET="whsec_placeholder",
    )
    env.update(extra)
    return env


def _database_url() -> str:
    db = settings.DATABASES["default"]
    return f"postgres://{db.get('USER') or 'postgres'}@{db.get('HOST') or '127.0.0.1'}:{db.get('PORT') or 5432}/{db['NAME']}"


def run(args: list[str], env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    return subprocess.run(  # noqa: S603 - our own interpreter and manage.py
        [sys.executable, *args], cwd=ROOT, env=env, capture_output=True, text=True, timeout=120, check=False
    )


def test_check_deploy_passes_with_production_settings() -> None:
    result = run(["manage.py", "check", "--deploy", "--fail-level", "WARNING"], deployment_env())
    assert result.returncode == 0, result.stdout + result.stderr
    assert "no issues" in result.stdout


def test_check_deploy_fails_with_a_weak_secret_key() -> None:
    result = run(
        ["manage.py", "check", "--deploy", "--fail-level", "WARNING"],
        deployment_env(SECRET_KEY="django-insecure-short"),
    )
    assert result.returncode != 0
    assert "security.W009" in result.stdout + result.stderr


def test_production_refuses_to_start_without_a_secret_key() -> None:
    env = deployment_env()
    del env["SECRET_KEY"]
    result = run(["manage.py", "check"], env)
    assert result.returncode != 0
    assert "SECRET_KEY" in result.stderr


PROBE = textwrap.dedent(
    """
    import json, django
    django.setup()
    from django.test import Client
    host = {"HTTP_HOST": "yoyaku.example.lg.jp"}
    plain = Client().get("/api/v1/openapi.json", **host)
    secure = Client().get("/accounts/login/", HTTP_X_FORWARDED_PROTO="https", **host)
    print(json.dumps({
        "plain_status": plain.status_code,
        "plain_location": plain.get("Location", ""),
        "secure_status": secure.status_code,
        "hsts": secure.get("Strict-Transport-Security", ""),
        "csp": secure.get("Content-Security-Policy", ""),
        "csrf_cookie_secure": bool(secure.cookies["csrftoken"]["secure"]),
        "forged_host": Client().get("/", HTTP_HOST="evil.example", HTTP_X_FORWARDED_PROTO="https").status_code,
    }))
    """
)


def test_behind_the_load_balancer_http_is_redirected_and_https_gets_hsts_and_secure_cookies() -> None:
    import json

    result = run(["-c", PROBE], deployment_env())
    assert result.returncode == 0, result.stderr
    seen = json.loads(result.stdout.strip().splitlines()[-1])
    assert seen["plain_status"] == 301
    assert seen["plain_location"] == "https://yoyaku.example.lg.jp/api/v1/openapi.json"
    assert seen["secure_status"] == 200
    assert seen["hsts"] == "max-age=31536000; includeSubDomains; preload"
    assert "frame-ancestors 'none'" in seen["csp"] and "https://checkout.stripe.com" in seen["csp"]
    assert seen["csrf_cookie_secure"] is True
    assert seen["forged_host"] == 400  # ALLOWED_HOSTS
