"""config/form_renderer.py: Django's widget templates rendered by Jinja2, the admin's by Django's
engine, and the same HTML either way."""

from __future__ import annotations

import re

from django import forms
from django.contrib.admin.widgets import AdminDateWidget
from django.forms.renderers import DjangoTemplates, get_default_renderer
from django.template.backends.jinja2 import Template as Jinja2Template

from config.form_renderer import FormRenderer


class Sample(forms.Form):
    purpose = forms.ChoiceField(choices=[("", "選んでください"), ("1", "会議"), ("2", "<集会>")])
    attendees = forms.IntegerField(min_value=1, max_value=300, help_text="定員 24人")
    note = forms.CharField(required=False, widget=forms.Textarea)
    bands = forms.MultipleChoiceField(choices=[("7", "午前"), ("8", "午後")], widget=forms.MultipleHiddenInput)


def _same(html: str) -> str:
    return re.sub(r"\s+", " ", html).replace("> <", "><").strip()


def test_the_site_renders_forms_with_it():
    assert isinstance(get_default_renderer(), FormRenderer)


def test_django_widgets_come_from_jinja2_and_render_as_the_django_templates_do():
    renderer = FormRenderer()
    assert isinstance(renderer.get_template("django/forms/widgets/select.html"), Jinja2Template)
    for data in (None, {"purpose": "2", "attendees": "0", "bands": ["7", "8"]}):
        fast = Sample(data, renderer=renderer)
        plain = Sample(data, renderer=DjangoTemplates())
        for name in ("purpose", "attendees", "note", "bands"):
            assert _same(str(fast[name])) == _same(str(plain[name])), name
            assert _same(str(fast[name].errors)) == _same(str(plain[name].errors)), name
    assert "&lt;集会&gt;" in str(Sample(renderer=renderer)["purpose"])  # escaped as before


def test_a_template_only_django_has_is_rendered_by_django():
    renderer = FormRenderer()
    html = AdminDateWidget().render("day", "2027-01-10", renderer=renderer)
    assert 'name="day"' in html and "vDateField" in html
    assert "admin/widgets/date.html" in renderer._django_only  # asked of Jinja2 once only
