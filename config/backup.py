"""`make backup` / `make restore`: PostgreSQL's own pg_dump and pg_restore, nothing hand-made.

    python -m config.backup dump [--file PATH]        # default var/backups/shisetsu-<UTC time>.dump
    python -m config.backup restore --file PATH [--yes]

The database is DATABASE_URL (environment, or .env like the settings read). A dump is pg_dump's
custom format (compressed; pg_restore can pick tables from it), written to a temporary name and
renamed when complete, with a `.sha256` beside it. A restore checks the checksum first, then
restores in one transaction (all or nothing) with --clean --if-exists, so the target may be empty
or an older copy of the same schema; ownership and grants are not restored (the connecting role
owns everything). Restoring over a non-empty database asks for confirmation unless --yes.
"""

from __future__ import annotations

import argparse
import datetime as dt
import hashlib
import os
import shutil
import subprocess
import sys
from pathlib import Path
from urllib.parse import urlsplit

import environ

ROOT = Path(__file__).resolve().parent.parent
DEFAULT_DIR = ROOT / "var" / "backups"


def database_url() -> str:
    env = environ.Env()
    environ.Env.read_env(ROOT / ".env", overwrite=False)
    url = env("DATABASE_URL", default="")
    if urlsplit(url).scheme not in ("postgres", "postgresql", "pgsql"):
        raise SystemExit(
            "DATABASE_URL must name a PostgreSQL database, e.g. "
            "DATABASE_URL=postgres://postgres@127.0.0.1:5432/shisetsu make backup "
            "(the embedded SQLite default of `make run` is a file: copy var/db.sqlite3)."
        )
    # libpq understands postgres:// and postgresql:// but not django-environ's pgsql://.
    return "postgresql://" + url.split("://", 1)[1]


def _tool(name: str) -> str:
    found = shutil.which(name)
    if found is None:
        raise SystemExit(f"{name} is missing: apt-get install postgresql-client")
    return found


def sha256_of(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def dump(url: str, target: Path | None = None) -> Path:
    if target is None:
        target = DEFAULT_DIR / f"shisetsu-{dt.datetime.now(dt.UTC):%Y%m%d-%H%M%S}.dump"
    target.parent.mkdir(parents=True, exist_ok=True)
    partial = target.with_name(target.name + ".partial")
    subprocess.run(  # noqa: S603 - pg_dump with our own arguments
        [_tool("pg_dump"), "--format=custom", "--no-owner", "--no-privileges", f"--file={partial}", f"--dbname={url}"],
        check=True,
    )
    partial.replace(target)
    checksum = sha256_of(target)
    target.with_name(target.name + ".sha256").write_text(f"{checksum}  {target.name}\n")
    return target


def _table_count(url: str) -> int:
    out = subprocess.run(  # noqa: S603
        [
            _tool("psql"),
            "--no-psqlrc",
            "-tA",
            f"--dbname={url}",
            "-c",
            "SELECT count(*) FROM pg_tables WHERE schemaname = 'public'",
        ],
        check=True,
        capture_output=True,
        text=True,
    )
    return int(out.stdout.strip() or 0)


def restore(url: str, source: Path, *, yes: bool = False) -> None:
    if not source.is_file():
        raise SystemExit(f"no such backup: {source}")
    sidecar = source.with_name(source.name + ".sha256")
    if sidecar.is_file():
        expected = sidecar.read_text().split()[0]
        if sha256_of(source) != expected:
            raise SystemExit(f"{source}: checksum does not match {sidecar.name}; not restoring a damaged file")
    else:
        print(f"warning: no {sidecar.name}; the file's integrity is not checked", file=sys.stderr)
    if not yes and _table_count(url) > 0:
        target = urlsplit(url)
        answer = input(f"Replace the contents of database {target.path.lstrip('/')} on {target.hostname}? [y/N] ")
        if answer.strip().lower() not in ("y", "yes"):
            raise SystemExit("not restored")
    subprocess.run(  # noqa: S603
        [
            _tool("pg_restore"),
            "--clean",
            "--if-exists",
            "--no-owner",
            "--no-privileges",
            "--single-transaction",
            "--exit-on-error",
            f"--dbname={url}",
            str(source),
        ],
        check=True,
    )


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m config.backup", description=__doc__.split("\n")[0])
    sub = parser.add_subparsers(dest="command", required=True)
    d = sub.add_parser("dump", help="back up DATABASE_URL")
    d.add_argument("--file", type=Path, default=None)
    r = sub.add_parser("restore", help="restore a dump into DATABASE_URL")
    r.add_argument("--file", type=Path, required=True)
    r.add_argument("--yes", action="store_true", help="do not ask before replacing a non-empty database")
    args = parser.parse_args(argv)
    url = database_url()
    try:
        if args.command == "dump":
            path = dump(url, args.file)
            print(f"backup written: {path} ({path.stat().st_size:,} bytes, sha256 in {path.name}.sha256)")
        else:
            restore(url, args.file, yes=args.yes)
            print(f"restored {args.file} into {urlsplit(url).path.lstrip('/')}")
    except subprocess.CalledProcessError as error:
        print(f"{Path(error.cmd[0]).name} failed with exit code {error.returncode}", file=sys.stderr)
        return error.returncode or 1
    return 0


if __name__ == "__main__":
    os.environ.setdefault("PGCONNECT_TIMEOUT", "10")
    sys.exit(main())
