"""`make backup` / `make restore` (config/backup.py): a seeded database is dumped with pg_dump,
restored with pg_restore into a fresh database, and the copy is compared with the original: the
row count of every table and a checksum of the key tables' rows."""

from __future__ import annotations

import os
import subprocess
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import psycopg
import pytest
from django.core.management import call_command
from django.db import connection
from psycopg import sql

ROOT = Path(__file__).resolve().parents[2]
KEY_TABLES = [
    "reservations_user",
    "reservations_resident",
    "reservations_group",
    "reservations_facility",
    "reservations_room",
    "reservations_reservation",
    "reservations_occupancy",
    "reservations_tariff",
]


def _url(name: str) -> str:
    s = connection.settings_dict
    return f"postgres://{s['USER'] or 'postgres'}@{s['HOST'] or '127.0.0.1'}:{s['PORT'] or 5432}/{name}"


def _make(*argv: str, database_url: str) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "DATABASE_URL": database_url}
    return subprocess.run(  # noqa: S603
        ["make", "--no-print-directory", *argv],  # noqa: S607 - the project's own Makefile
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )


def _scalar(conn: psycopg.Connection[Any], query: sql.Composable) -> Any:
    row = conn.execute(query).fetchone()
    assert row is not None
    return row[0]


def _fingerprint(url: str) -> tuple[dict[str, int], dict[str, str]]:
    with psycopg.connect(url, autocommit=True) as conn:
        tables = [r[0] for r in conn.execute("SELECT tablename FROM pg_tables WHERE schemaname = 'public' ORDER BY 1")]
        counts = {t: _scalar(conn, sql.SQL("SELECT count(*) FROM {}").format(sql.Identifier(t))) for t in tables}
        checksum = "SELECT md5(coalesce(string_agg(x::text, '|' ORDER BY x.id), '')) FROM {} x"
        sums = {t: _scalar(conn, sql.SQL(checksum).format(sql.Identifier(t))) for t in KEY_TABLES}
    return counts, sums


@pytest.fixture
def restored_db() -> Iterator[str]:
    name = connection.settings_dict["NAME"] + "_restored"
    admin = _url("postgres")
    with psycopg.connect(admin, autocommit=True) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        conn.execute(f'CREATE DATABASE "{name}"')
    try:
        yield name
    finally:
        with psycopg.connect(admin, autocommit=True) as conn:
            conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


@pytest.mark.django_db(transaction=True)
def test_a_backup_restores_into_a_fresh_database_identically(tmp_path: Path, restored_db: str, settings: Any) -> None:
    call_command("seed_demo", "--seed", "3", "--residents", "40", verbosity=0)
    source = _url(connection.settings_dict["NAME"])
    dump = tmp_path / "seeded.dump"

    backup = _make("backup", f"FILE={dump}", database_url=source)
    assert backup.returncode == 0, backup.stdout + backup.stderr
    assert dump.stat().st_size > 10_000
    assert (tmp_path / "seeded.dump.sha256").read_text().split()[1] == "seeded.dump"

    restore = _make("restore", f"FILE={dump}", "YES=1", database_url=_url(restored_db))
    assert restore.returncode == 0, restore.stdout + restore.stderr

    counts, sums = _fingerprint(source)
    restored_counts, restored_sums = _fingerprint(_url(restored_db))
    assert counts["reservations_reservation"] > 0 and counts["reservations_resident"] == 40
    assert restored_counts == counts
    assert restored_sums == sums


@pytest.mark.django_db
def test_a_damaged_backup_is_not_restored(tmp_path: Path, restored_db: str) -> None:
    dump = tmp_path / "broken.dump"
    dump.write_bytes(b"PGDMP not really")
    (tmp_path / "broken.dump.sha256").write_text("0" * 64 + "  broken.dump\n")
    restore = _make("restore", f"FILE={dump}", "YES=1", database_url=_url(restored_db))
    assert restore.returncode != 0
    assert "checksum does not match" in restore.stderr + restore.stdout


def test_backup_needs_a_postgresql_database_url() -> None:
    result = _make("backup", database_url="sqlite:////tmp/db.sqlite3")
    assert result.returncode != 0
    assert "DATABASE_URL must name a PostgreSQL database" in result.stderr + result.stdout
