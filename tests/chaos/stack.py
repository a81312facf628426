"""The servers a fault test starts, owns and breaks: never the machine's shared PostgreSQL or Redis.

- `Postgres`: a throwaway cluster (initdb into a temporary directory, on a free port, trust auth on
  127.0.0.1 only). initdb refuses to run as root, so as root it runs as the `postgres` system user
  (CHAOS_PG_USER) through runuser.
- `Redis`: a redis-server on a free port, no persistence (like production's cache and broker).
- `Services`: uWSGI (config/uwsgi.ini), a Celery worker and Celery beat on config.settings.chaos,
  in their own process groups, logging to files that a failing test prints.

Everything started is stopped in a `finally` (the fixtures), process group by process group.
"""

from __future__ import annotations

import contextlib
import os
import pwd
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import psycopg

from loadtests.bench import Proc, uwsgi_command  # shared with the benchmark: a started process, uWSGI's command

ROOT = Path(__file__).resolve().parents[2]
HOST = "127.0.0.1"
LOG_ROOT = ROOT / "var" / "chaos"


def free_port() -> int:
    with socket.socket() as s:
        s.bind((HOST, 0))
        return int(s.getsockname()[1])


def wait_for(predicate: Callable[[], bool], *, timeout: float, what: str, interval: float = 0.1) -> float:
    """Poll until `predicate()` is true; the seconds it took. Raises with `what` on timeout."""
    began = time.monotonic()
    while True:
        with contextlib.suppress(Exception):
            if predicate():
                return time.monotonic() - began
        if time.monotonic() - began > timeout:
            raise TimeoutError(f"{what}: not within {timeout:.0f} s")
        time.sleep(interval)


def port_open(port: int) -> bool:
    with socket.socket() as s:
        s.settimeout(0.3)
        return s.connect_ex((HOST, port)) == 0


def _pg_bin() -> Path:
    versions = sorted(Path("/usr/lib/postgresql").glob("*/bin/initdb"), key=lambda p: int(p.parent.parent.name))
    if not versions:
        found = shutil.which("initdb")
        if found is None:
            raise RuntimeError("PostgreSQL server binaries are missing: apt-get install postgresql")
        return Path(found).parent
    return versions[-1].parent


class Postgres:
    """A private PostgreSQL cluster. `restart()` is what a failover or a crash-restart looks like to
    the application: every connection is cut, new ones are refused until it is back."""

    def __init__(self, workdir: Path) -> None:
        self.workdir = workdir
        self.data = workdir / "data"
        self.port = free_port()
        self.bin = _pg_bin()
        self.log = workdir / "postgres.log"
        self.user = os.environ.get("CHAOS_PG_USER", "postgres") if os.geteuid() == 0 else None

    def _run(self, *argv: str, check: bool = True) -> subprocess.CompletedProcess[str]:
        cmd = [str(self.bin / argv[0]), *argv[1:]]
        if self.user is not None:
            cmd = ["runuser", "-u", self.user, "--", *cmd]
        return subprocess.run(cmd, check=check, capture_output=True, text=True, timeout=120)  # noqa: S603

    def init(self) -> None:
        self.workdir.mkdir(parents=True, exist_ok=True)
        if self.user is not None:
            entry = pwd.getpwnam(self.user)
            os.chown(self.workdir, entry.pw_uid, entry.pw_gid)
        self._run(
            "initdb",
            "-D",
            str(self.data),
            "-A",
            "trust",
            "-U",
            "postgres",
            "-E",
            "UTF8",
            "--locale=C.UTF-8",
            "--no-sync",
        )

    def start(self) -> None:
        options = (
            f"-p {self.port} -k {self.workdir} -c listen_addresses={HOST} -c fsync=off "
            "-c synchronous_commit=off -c full_page_writes=off -c max_connections=100"
        )
        self._run("pg_ctl", "-D", str(self.data), "-o", options, "-l", str(self.log), "-w", "-t", "60", "start")

    def stop(self, mode: str = "fast") -> None:
        self._run("pg_ctl", "-D", str(self.data), "-m", mode, "-w", "-t", "60", "stop", check=False)

    def restart(self) -> None:
        """`pg_ctl restart -m fast`: in-flight transactions are rolled back, every session is cut."""
        self.stop("fast")
        self.start()

    def destroy(self) -> None:
        self.stop("immediate")
        shutil.rmtree(self.workdir, ignore_errors=True)

    def url(self, db: str) -> str:
        return f"postgres://postgres@{HOST}:{self.port}/{db}"

    @contextlib.contextmanager
    def connect(self, db: str = "postgres") -> Iterator[psycopg.Connection[Any]]:
        conn = psycopg.connect(self.url(db), autocommit=True, connect_timeout=5)
        try:
            yield conn
        finally:
            conn.close()

    def create_db(self, name: str, template: str | None = None) -> None:
        with self.connect() as conn:
            conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
            conn.execute(f'CREATE DATABASE "{name}"' + (f' TEMPLATE "{template}"' if template else ""))

    def is_ready(self) -> bool:
        with self.connect() as conn:
            return conn.execute("SELECT 1").fetchone() == (1,)


class Redis:
    """A private redis-server; `stop()` and `start()` keep the port, `freeze()` stops it answering
    without closing connections (SIGSTOP: a hung server or a network black hole)."""

    def __init__(self, workdir: Path) -> None:
        self.workdir = workdir
        self.port = free_port()
        self.proc: subprocess.Popen[bytes] | None = None
        self.log = workdir / "redis.log"

    def start(self) -> None:
        binary = shutil.which("redis-server")
        if binary is None:
            raise RuntimeError("redis-server is missing: apt-get install redis-server")
        self.workdir.mkdir(parents=True, exist_ok=True)
        self.proc = subprocess.Popen(  # noqa: S603
            [
                binary,
                "--bind",
                HOST,
                "--port",
                str(self.port),
                "--save",
                "",
                "--appendonly",
                "no",
                "--dir",
                str(self.workdir),
            ],
            stdout=self.log.open("ab"),
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
        wait_for(lambda: port_open(self.port), timeout=20, what="redis-server listening")

    def stop(self) -> None:
        if self.proc is not None and self.proc.poll() is None:
            self.proc.send_signal(signal.SIGCONT)
            self.proc.terminate()
            try:
                self.proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(timeout=5)
        self.proc = None

    def freeze(self) -> None:
        assert self.proc is not None
        self.proc.send_signal(signal.SIGSTOP)

    def thaw(self) -> None:
        assert self.proc is not None
        self.proc.send_signal(signal.SIGCONT)

    def url(self, db: int = 0) -> str:
        return f"redis://{HOST}:{self.port}/{db}"


@dataclass
class Services:
    """The application's processes for one test, with the environment they share."""

    env: dict[str, str]
    logdir: Path
    web_port: int = field(default_factory=free_port)
    procs: dict[str, Proc] = field(default_factory=dict)

    @property
    def base_url(self) -> str:
        return f"http://{HOST}:{self.web_port}"

    def commands(self) -> dict[str, list[str]]:
        py = sys.executable
        return {
            "web": [
                *uwsgi_command(f"{HOST}:{self.web_port}", processes=2, threads=4),
                "--worker-reload-mercy", "5", "--reload-mercy", "5",
            ],
            "worker": [py, "-m", "celery", "-A", "config", "worker", "-c", "1", "--loglevel", "INFO", "-n", "chaos@%h"],
            "beat": [
                py, "-m", "celery", "-A", "config", "beat", "--loglevel", "INFO",
                "-s", str(self.logdir / "celerybeat-schedule"), f"--pidfile={self.logdir / 'celerybeat.pid'}",
            ],
        }  # fmt: skip

    def manage(self, *argv: str, timeout: float = 300) -> str:
        out = subprocess.run(  # noqa: S603
            [sys.executable, "manage.py", *argv],
            cwd=ROOT,
            env=self.env,
            capture_output=True,
            text=True,
            timeout=timeout,
            check=False,
        )
        if out.returncode != 0:
            raise RuntimeError(f"manage.py {' '.join(argv)} failed:\n{out.stdout}\n{out.stderr}")
        return out.stdout

    def start(self, name: str) -> Proc:
        self.logdir.mkdir(parents=True, exist_ok=True)
        log_path = self.logdir / f"{name}.log"
        log = log_path.open("ab")
        cmd = self.commands()[name]
        popen = subprocess.Popen(  # noqa: S603 - our own argv
            cmd, cwd=ROOT, env=self.env, stdout=log, stderr=subprocess.STDOUT, start_new_session=True
        )
        proc = self.procs[name] = Proc(name, cmd, popen, log, log_path)
        if name == "web":
            wait_for(lambda: port_open(self.web_port), timeout=60, what="uWSGI listening")
        return proc

    def kill(self, name: str, sig: int = signal.SIGKILL) -> None:
        """Signal the whole process group (uWSGI's workers or Celery's children too) and reap it."""
        proc = self.procs.pop(name)
        with contextlib.suppress(ProcessLookupError):
            os.killpg(proc.popen.pid, sig)
        try:
            proc.popen.wait(timeout=15)
        except subprocess.TimeoutExpired:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(proc.popen.pid, signal.SIGKILL)
            proc.popen.wait(timeout=5)
        # Children the group leader left behind (a prefork pool) die with the group.
        with contextlib.suppress(ProcessLookupError, PermissionError):
            os.killpg(proc.popen.pid, signal.SIGKILL)
        proc.log.close()

    def stop_all(self) -> None:
        for name in list(self.procs):
            self.kill(name, signal.SIGTERM)

    def tail(self, lines: int = 40) -> str:
        parts = []
        for path in sorted(self.logdir.glob("*.log")):
            text = path.read_text(errors="replace").splitlines()[-lines:]
            parts.append(f"--- {path.name} ---\n" + "\n".join(text))
        return "\n".join(parts)


def make_workdir(prefix: str) -> Path:
    return Path(tempfile.mkdtemp(prefix=prefix))
