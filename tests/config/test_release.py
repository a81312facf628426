"""config/release.py: the code's fingerprint, which answers shared between processes are filed under."""

from __future__ import annotations

import pytest
from django.test import override_settings

from config import release


@pytest.fixture
def checkout(tmp_path):
    for folder in release.CODE_DIRS:
        (tmp_path / folder).mkdir()
    (tmp_path / "templates" / "page.html").write_text("<p>予約済み</p>")
    (tmp_path / "config" / "views.py").write_text("X = 1\n")
    release.fingerprint.cache_clear()
    with override_settings(BASE_DIR=tmp_path):
        yield tmp_path
    release.fingerprint.cache_clear()


def fresh() -> str:
    release.fingerprint.cache_clear()
    return release.fingerprint()


def test_the_same_code_has_the_same_fingerprint_whenever_it_was_written(checkout):
    before = fresh()
    (checkout / "config" / "views.py").write_text("X = 1\n")  # the same content, a new date

    assert fresh() == before and len(before) == 16


@pytest.mark.parametrize("changed", ["templates/page.html", "config/views.py", "locale/en.mo"])
def test_a_changed_template_module_or_translation_changes_it(checkout, changed):
    before = fresh()
    (checkout / changed).write_text("changed")

    assert fresh() != before


def test_other_files_do_not_count(checkout):
    before = fresh()
    (checkout / "config" / "notes.txt").write_text("not code")

    assert fresh() == before
