"""reservations/templatetags/site_tags.py: the layout's fixed links, reversed once per process."""

from __future__ import annotations

import pytest
from django.template import Context, Template
from django.urls import NoReverseMatch, reverse, set_script_prefix

from reservations.templatetags.site_tags import _reversed

pytestmark = pytest.mark.smoke


def render(text: str) -> str:
    return Template("{% load site_tags %}" + text).render(Context())


def test_a_fixed_url_is_what_url_gives():
    assert render("{% fixed_url 'reservations:home' %}") == reverse("reservations:home")
    assert render("{% fixed_url 'logout' %}") == reverse("logout")


def test_it_is_remembered_per_script_prefix():
    before = _reversed.cache_info().hits
    render("{% fixed_url 'reservations:accessibility' %}")
    render("{% fixed_url 'reservations:accessibility' %}")
    assert _reversed.cache_info().hits >= before + 1

    plain = reverse("reservations:accessibility")
    set_script_prefix("/ward/")
    try:
        assert render("{% fixed_url 'reservations:accessibility' %}") == "/ward" + plain
    finally:
        set_script_prefix("/")


def test_an_unknown_name_fails_loudly_as_url_does():
    with pytest.raises(NoReverseMatch):
        render("{% fixed_url 'no-such-view' %}")
