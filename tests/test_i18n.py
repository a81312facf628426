"""The English catalogue (locale/en): complete, compiled, and used when English is chosen.

Source strings are Japanese; English comes from locale/en/LC_MESSAGES/django.po, compiled to
django.mo (both committed, since a fresh machine may lack GNU gettext). After changing user-facing
text: `make messages`, translate the new entries, and commit both files.
"""

from __future__ import annotations

import ast
import gettext
import json
from dataclasses import dataclass, field
from pathlib import Path

import pytest
from django.conf import settings
from django.test import Client
from django.urls import reverse
from django.utils import translation

from reservations.errors import MESSAGES
from tests.factories import FacilityFactory, ResidentFactory, make_room

CATALOGUE = Path(settings.BASE_DIR) / "locale" / "en" / "LC_MESSAGES"
NAV_JA = "空き状況・施設検索"
NAV_EN = "Availability and facility search"


@dataclass
class Entry:
    msgctxt: str | None = None
    msgid: str = ""
    msgid_plural: str | None = None
    msgstr: dict[int, str] = field(default_factory=dict)
    flags: set[str] = field(default_factory=set)


def parse_po(path: Path) -> list[Entry]:
    """A small .po reader: enough for what makemessages writes (obsolete `#~` entries are skipped)."""
    entries: list[Entry] = []
    current: Entry | None = None
    target: tuple[str, int | None] | None = None

    def start() -> Entry:
        nonlocal current
        if current is None:
            current = Entry()
            entries.append(current)
        return current

    def append(text: str) -> None:
        assert current is not None and target is not None, f"{path}: string outside an entry"
        name, index = target
        if name == "msgstr":
            assert index is not None
            current.msgstr[index] = current.msgstr.get(index, "") + text
        else:
            setattr(current, name, (getattr(current, name) or "") + text)

    for raw in path.read_text(encoding="utf-8").splitlines():
        line = raw.strip()
        if not line:
            current, target = None, None
        elif line.startswith("#,"):
            start().flags.update(flag.strip() for flag in line[2:].split(","))
        elif line.startswith("#"):
            continue
        elif line.startswith('"'):
            append(ast.literal_eval(line))
        else:
            keyword, _, rest = line.partition(" ")
            entry = start()
            if keyword in {"msgctxt", "msgid"} and (entry.msgid or entry.msgstr):
                current = None  # a new entry without a blank line before it
                entry = start()
            if keyword.startswith("msgstr["):
                target = ("msgstr", int(keyword[len("msgstr[") : -1]))
            elif keyword == "msgstr":
                target = ("msgstr", 0)
            else:
                target = (keyword, None)
            append(ast.literal_eval(rest))
    return entries


def english_messages() -> list[Entry]:
    """Every entry but the header (msgid "")."""
    return [entry for entry in parse_po(CATALOGUE / "django.po") if entry.msgid]


@pytest.mark.smoke
def test_english_catalogue_is_complete_and_compiled() -> None:
    entries = english_messages()
    assert len(entries) > 300, "the catalogue looks truncated"
    header = parse_po(CATALOGUE / "django.po")[0]
    assert header.msgid == "" and "fuzzy" not in header.flags

    fuzzy = [e.msgid for e in entries if "fuzzy" in e.flags]
    assert not fuzzy, f"fuzzy entries: {fuzzy}"
    untranslated = [e.msgid for e in entries if not e.msgstr or not all(e.msgstr.values())]
    assert not untranslated, f"untranslated entries: {untranslated}"
    plurals_incomplete = [e.msgid for e in entries if e.msgid_plural and set(e.msgstr) != {0, 1}]
    assert not plurals_incomplete, f"plural entries need msgstr[0] and msgstr[1]: {plurals_incomplete}"

    # The compiled catalogue says the same thing as the .po (i.e. compilemessages was run after the
    # last edit): every entry, looked up in the .mo, gives the .po's translation.
    with (CATALOGUE / "django.mo").open("rb") as mo_file:
        compiled = gettext.GNUTranslations(mo_file)
    stale = []
    for entry in entries:
        if entry.msgid_plural:
            found = [compiled.ngettext(entry.msgid, entry.msgid_plural, n) for n in (1, 2)]
            expected = [entry.msgstr[0], entry.msgstr[1]]
        elif entry.msgctxt is not None:
            found, expected = [compiled.pgettext(entry.msgctxt, entry.msgid)], [entry.msgstr[0]]
        else:
            found, expected = [compiled.gettext(entry.msgid)], [entry.msgstr[0]]
        if found != expected:
            stale.append(entry.msgid)
    assert not stale, f"django.mo is out of date (run compilemessages) for: {stale}"


@pytest.mark.smoke
def test_every_booking_error_message_has_an_english_translation() -> None:
    with translation.override("en"):
        english = {code: str(message) for code, message in MESSAGES.items()}
    for code, text in english.items():
        assert text.isascii(), (code, text)
    assert english["unknown_room"] == "The room could not be found."


# --- pages and API in the chosen language ------------------------------------------------------------


@pytest.mark.django_db
def test_home_page_is_japanese_by_default(client: Client) -> None:
    response = client.get("/")
    assert response.status_code == 200
    assert response["Content-Language"] == "ja"
    html = response.content.decode()
    assert '<html lang="ja">' in html and NAV_JA in html and NAV_EN not in html


@pytest.mark.django_db
def test_home_page_is_english_with_the_lang_cookie(client: Client) -> None:
    client.cookies[settings.LANGUAGE_COOKIE_NAME] = "en"
    response = client.get("/")
    assert response.status_code == 200
    assert response["Content-Language"] == "en"
    html = response.content.decode()
    assert '<html lang="en">' in html
    assert NAV_EN in html and "Facility Booking System" in html and "Log in" in html
    assert NAV_JA not in html


@pytest.mark.django_db
def test_home_page_is_english_with_accept_language(client: Client) -> None:
    response = client.get("/", headers={"Accept-Language": "en-GB,en;q=0.9"})
    assert response["Content-Language"] == "en"
    assert NAV_EN in response.content.decode()


@pytest.mark.django_db
def test_booking_error_from_the_api_follows_the_language(client: Client) -> None:
    client.force_login(ResidentFactory().user)
    body = json.dumps({"room_id": 999_999, "date": "2026-12-07", "band_ids": [1]})

    japanese = client.post("/api/v1/me/bookings", data=body, content_type="application/json")
    assert japanese.status_code == 404
    assert japanese.json()["code"] == "unknown_room"
    assert japanese.json()["message"] == "指定された室場が見つかりません。"

    client.cookies[settings.LANGUAGE_COOKIE_NAME] = "en"
    english = client.post("/api/v1/me/bookings", data=body, content_type="application/json")
    assert english.status_code == 404
    assert english["Content-Language"] == "en"
    with translation.override("en"):
        expected = str(MESSAGES["unknown_room"])
    assert english.json()["code"] == "unknown_room"
    assert english.json()["message"] == expected == "The room could not be found."


@pytest.mark.django_db
def test_switching_language_sets_the_cookie_and_the_next_page_is_english(client: Client) -> None:
    response = client.post(reverse("set_language"), {"language": "en", "next": "/"})
    assert response.status_code == 302
    assert response["Location"] == "/"
    assert response.cookies[settings.LANGUAGE_COOKIE_NAME].value == "en"

    page = client.get(response["Location"])
    html = page.content.decode()
    assert page["Content-Language"] == "en" and NAV_EN in html and NAV_JA not in html

    back = client.post(reverse("set_language"), {"language": "ja", "next": "/"})
    assert back.cookies[settings.LANGUAGE_COOKIE_NAME].value == "ja"
    assert NAV_JA in client.get("/").content.decode()


@pytest.mark.django_db
def test_availability_dates_are_formatted_for_the_language(client: Client) -> None:
    facility = FacilityFactory()
    make_room(facility, "r1")
    url = reverse("reservations:facility_month", args=[facility.pk, 2026, 12])

    japanese = client.get(url).content.decode()
    assert "2026年12月" in japanese

    client.cookies[settings.LANGUAGE_COOKIE_NAME] = "en"
    english = client.get(url).content.decode()
    assert "December 2026" in english and "2026年12月" not in english
    assert "Availability by day" in english and "capacity 30" in english
