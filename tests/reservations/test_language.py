"""The language switch (reservations/language.py): Django's cookie, and the choice remembered for a
logged-in resident's e-mails. The accessibility statement is linked from every page's footer."""

from __future__ import annotations

import pytest
from django.conf import settings
from django.test import Client
from django.urls import reverse

from reservations.models import ResidentPreference
from tests.factories import ResidentFactory, StaffFactory

pytestmark = pytest.mark.django_db


def switch(client: Client, language: str, next_url: str = "/my/bookings/"):
    return client.post(reverse("reservations:set_language"), {"language": language, "next": next_url})


def test_switch_sets_the_cookie_and_goes_back() -> None:
    client = Client()
    response = switch(client, "en", "/lottery/")
    assert response.status_code == 302 and response["Location"] == "/lottery/"
    assert response.cookies[settings.LANGUAGE_COOKIE_NAME].value == "en"
    page = client.get("/")
    assert '<html lang="en">' in page.content.decode()
    assert not ResidentPreference.objects.exists()  # nobody to remember it for


def test_a_logged_in_resident_is_remembered() -> None:
    resident = ResidentFactory()
    client = Client()
    client.force_login(resident.user)
    switch(client, "en")
    assert ResidentPreference.objects.get(resident=resident).language == "en"
    switch(client, "ja")
    assert ResidentPreference.objects.get(resident=resident).language == "ja"


def test_unknown_languages_and_staff_are_not_recorded() -> None:
    resident = ResidentFactory()
    client = Client()
    client.force_login(resident.user)
    switch(client, "xx")
    assert not ResidentPreference.objects.exists()
    staff = Client()
    staff.force_login(StaffFactory())
    switch(staff, "en")
    assert not ResidentPreference.objects.exists()
    assert Client().get(reverse("reservations:set_language")).status_code == 405


def test_language_names_are_in_their_own_language() -> None:
    html = Client().get("/").content.decode()
    assert '<option value="en" lang="en">English</option>' in html
    assert "英語" not in html


def test_accessibility_statement_is_linked_from_the_footer() -> None:
    home = Client().get("/").content.decode()
    assert f'href="{reverse("reservations:accessibility")}"' in home
    page = Client().get(reverse("reservations:accessibility"))
    assert page.status_code == 200
    assert "JIS X 8341-3" in page.content.decode()
