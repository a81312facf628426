"""The LOGGING setting: one JSON object per line in production, readable text elsewhere.

Both carry the request id (config/request_id.py). Everything goes to stderr; the process manager
(systemd's journal, the container runtime) ships it and applies the retention policy
(docs/deployment.md: retention). Nothing here writes files or opens connections.

JSON lines have: time (ISO 8601 with offset), level, logger, message, request_id, process, and
exc_info when there is a traceback; anything passed as `extra=` is added as its own key.
"""

from __future__ import annotations

from typing import Any

TEXT_FORMAT = "%(asctime)s %(levelname)s [%(request_id)s] %(name)s: %(message)s"
JSON_FIELDS = ["asctime", "levelname", "name", "message", "request_id", "process"]
JSON_RENAMES = {"asctime": "time", "levelname": "level", "name": "logger"}


def build(*, json: bool, level: str = "INFO", quiet: bool = False) -> dict[str, Any]:
    """`quiet`: warnings and errors only (the benchmark's servers)."""
    formatter: dict[str, Any]
    if json:
        formatter = {
            "()": "pythonjsonlogger.json.JsonFormatter",
            "fmt": JSON_FIELDS,
            "rename_fields": JSON_RENAMES,
            "datefmt": "%Y-%m-%dT%H:%M:%S%z",
            "json_ensure_ascii": False,
        }
    else:
        formatter = {"format": TEXT_FORMAT}
    return {
        "version": 1,
        "disable_existing_loggers": False,
        "filters": {"request_id": {"()": "config.request_id.RequestIdFilter"}},
        "formatters": {"default": formatter},
        "handlers": {
            "console": {"class": "logging.StreamHandler", "formatter": "default", "filters": ["request_id"]},
        },
        "root": {"handlers": ["console"], "level": "WARNING" if quiet else level},
        "loggers": {
            # 4xx answers such as 409 "just taken" are the normal answer to most of the 09:00 crowd;
            # logging each would put disk I/O on the hot path. Server errors are still logged.
            "django.request": {"level": "ERROR"},
            # Celery's own loggers propagate to the root handler (CELERY_WORKER_HIJACK_ROOT_LOGGER off).
            "celery": {"level": "WARNING" if quiet else level},
        },
    }
