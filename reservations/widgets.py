"""Form widgets whose HTML is remembered per process (the booking form at 09:00).

The booking form is drawn for every resident who reaches a free slot. Its widgets (the purpose
and group selects, the number of attendees, the hidden bands) were about a quarter of that page's
rendering, and for one slot they come out the same for everyone. So each widget keeps the HTML it
rendered, keyed by everything its template reads: the widget's class and attributes, the field's
name, value and required flag, the choices (values and labels as shown), the extra attributes
(an error sets aria-invalid, say) and the language. A different input is a different key; nothing
is ever answered from memory for an input it was not rendered for.
"""

from __future__ import annotations

import threading
from collections import OrderedDict
from collections.abc import Hashable
from typing import Any

from django import forms
from django.utils.safestring import SafeString
from django.utils.translation import get_language

MAX_WIDGETS = 4096  # per process: a few widgets × the slots and languages asked about at 09:00

_rendered: OrderedDict[Hashable, SafeString] = OrderedDict()
_remembering = threading.Lock()


def _frozen(value: Any) -> Hashable:
    """A hashable copy of a widget input, with lazy texts as shown in the current language."""
    if isinstance(value, dict):
        return tuple(sorted((str(k), _frozen(v)) for k, v in value.items()))
    if isinstance(value, (list, tuple)):
        return tuple(_frozen(v) for v in value)
    if value is None or isinstance(value, (bool, int, str)):
        return (type(value).__name__, value)
    return (type(value).__name__, str(value))


class RememberedRender:
    """Mixin for a Django widget: `render` answers a repeated input from memory."""

    def render(self, name: str, value: Any, attrs: dict[str, Any] | None = None, renderer: Any = None) -> SafeString:
        choices = getattr(self, "choices", ())
        key = (
            type(self),
            name,
            _frozen(value),
            _frozen(attrs or {}),
            _frozen(self.attrs),  # type: ignore[attr-defined]
            self.is_required,  # type: ignore[attr-defined]
            _frozen(list(choices)),
            get_language(),
            id(renderer),
        )
        found = _rendered.get(key)
        if found is not None:
            return found
        html: SafeString = super().render(name, value, attrs, renderer)  # type: ignore[misc]
        with _remembering:
            _rendered[key] = html
            if len(_rendered) > MAX_WIDGETS:
                _rendered.popitem(last=False)  # the oldest
        return html


class Select(RememberedRender, forms.Select):
    pass


class NumberInput(RememberedRender, forms.NumberInput):
    pass


class HiddenInput(RememberedRender, forms.HiddenInput):
    pass


class MultipleHiddenInput(RememberedRender, forms.MultipleHiddenInput):
    pass


def forget() -> None:
    """Drop every remembered widget (tests)."""
    _rendered.clear()
