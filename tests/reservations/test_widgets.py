"""reservations/widgets.py: widget HTML remembered per input, never answered for another input."""

from __future__ import annotations

import pytest
from django import forms
from django.utils import translation
from django.utils.translation import gettext_lazy as _

from reservations import widgets

pytestmark = pytest.mark.smoke

CHOICES = [("", _("選んでください")), (1, "会議"), (2, "体操")]


@pytest.fixture(autouse=True)
def _fresh():
    widgets.forget()
    yield
    widgets.forget()


def select(**attrs) -> widgets.Select:
    widget = widgets.Select(attrs=attrs or None)
    widget.choices = CHOICES
    return widget


def plain_select(**attrs) -> forms.Select:
    widget = forms.Select(attrs=attrs or None)
    widget.choices = CHOICES
    return widget


def test_the_html_is_django_s_own_and_a_repeat_comes_from_memory():
    first = select().render("purpose", None, {"id": "id_purpose"})
    second = select().render("purpose", None, {"id": "id_purpose"})

    assert first == plain_select().render("purpose", None, {"id": "id_purpose"})
    assert second is first
    assert len(widgets._rendered) == 1


@pytest.mark.parametrize(
    ("name", "value", "attrs", "widget_attrs"),
    [
        ("purpose", 2, {"id": "id_purpose"}, {}),  # another value: another option selected
        ("purpose", None, {"id": "id_purpose", "aria-invalid": "true"}, {}),  # an error on the field
        ("group", None, {"id": "id_group"}, {}),  # another field
        ("purpose", None, {"id": "id_purpose"}, {"class": "wide"}),  # another widget
    ],
)
def test_any_other_input_is_rendered_for_itself(name, value, attrs, widget_attrs):
    select().render("purpose", None, {"id": "id_purpose"})

    html = select(**widget_attrs).render(name, value, attrs)

    assert html == plain_select(**widget_attrs).render(name, value, attrs)
    assert len(widgets._rendered) == 2


def test_other_choices_and_other_languages_are_rendered_for_themselves():
    japanese = select().render("purpose", None, {})
    other = select()
    other.choices = [*CHOICES, (3, "合唱")]
    with translation.override("en"):
        english = select().render("purpose", None, {})

    assert "合唱" in other.render("purpose", None, {}) and "合唱" not in japanese
    assert "Please choose" in english and "選んでください" in japanese
    assert len(widgets._rendered) == 3


def test_a_full_memory_forgets_its_oldest(monkeypatch):
    monkeypatch.setattr(widgets, "MAX_WIDGETS", 2)
    for value in (1, 2, 3):
        select().render("purpose", value, {})

    assert len(widgets._rendered) == 2
    assert [key[2] for key in widgets._rendered] == [("int", 2), ("int", 3)]
