"""loadtests/bench.py: the web server the benchmark starts (uWSGI as in production; gunicorn or
granian for comparison)."""

from __future__ import annotations

import configparser
from pathlib import Path

from loadtests.bench import HOST, ROOT, WEB_PORT, parse_args, web_command


def _option(command: list[str], name: str) -> str:
    return command[command.index(name) + 1]


def test_the_benchmark_starts_uwsgi_with_the_production_config_by_default():
    command = web_command(parse_args(["--profile", "smoke"]))

    assert Path(command[0]).name == "uwsgi"
    assert Path(_option(command, "--ini")) == ROOT / "config" / "uwsgi.ini"
    assert _option(command, "--module") == "config.wsgi:application"
    assert _option(command, "--http-socket") == f"{HOST}:{WEB_PORT}"
    assert (_option(command, "--processes"), _option(command, "--threads")) == ("4", "4")
    # The same listen queue as production's.
    ini = configparser.ConfigParser(inline_comment_prefixes=None)
    ini.read(ROOT / "config" / "uwsgi.ini", encoding="utf-8")
    assert _option(command, "--listen") == ini["uwsgi"]["listen"] == "4096"


def test_gunicorn_runs_threaded_workers_for_comparison():
    command = web_command(parse_args(["--server", "gunicorn"]))

    assert command[1:3] == ["-m", "gunicorn"]
    assert _option(command, "-k") == "gthread"
    assert (_option(command, "-w"), _option(command, "--threads")) == ("4", "4")
    assert _option(command, "-b") == f"{HOST}:{WEB_PORT}"


def test_granian_serves_the_same_application_with_the_same_workers_and_threads():
    command = web_command(parse_args(["--server", "granian", "--workers", "3", "--threads", "2"]))

    assert command[1:3] == ["-m", "granian"]
    assert "config.wsgi:application" in command
    assert _option(command, "--interface") == "wsgi"
    assert (_option(command, "--workers"), _option(command, "--blocking-threads")) == ("3", "2")
    assert (_option(command, "--host"), _option(command, "--port")) == (HOST, str(WEB_PORT))
    # Its default (backlog / workers) counts idle keep-alive connections and refused part of the crowd.
    assert int(_option(command, "--backpressure")) >= 2600
