"""A fingerprint of the code this process runs.

Answers that processes share through Redis (config/replay.py) are filed under it, so that while a
deploy replaces the workers one by one, a process never gives an answer drawn by other code: other
templates, translations or views. It hashes the contents (not the dates, which differ from one
checkout to the next) of the project's Python modules, templates and compiled translations, and
Django's version.
"""

from __future__ import annotations

import functools
import hashlib

import django
from django.conf import settings

CODE_DIRS = ("config", "reservations", "lottery", "payments", "kiosks", "templates", "locale")
SUFFIXES = frozenset({".py", ".html", ".mo"})


@functools.cache
def fingerprint() -> str:
    """16 hex digits; computed once per process (some 400 files, a few milliseconds)."""
    digest = hashlib.blake2b(django.get_version().encode(), digest_size=8)
    for top in CODE_DIRS:
        folder = settings.BASE_DIR / top
        for path in sorted(folder.rglob("*")):
            if path.suffix in SUFFIXES and path.is_file():
                digest.update(str(path.relative_to(settings.BASE_DIR)).encode())
                digest.update(path.read_bytes())
    return digest.hexdigest()
