"""The site layout's fixed links (base.html): URLs without arguments, reversed once per process.

Every logged-in page draws the same eight navigation links. `{% url %}` reverses each one again on
every render, which was about a quarter of base.html's rendering (the free booking page at 09:00
renders it for each resident). The answer depends only on the view name, the script prefix and
the URLconf, so those are the key.
"""

from __future__ import annotations

from functools import lru_cache

from django import template
from django.conf import settings
from django.urls import get_script_prefix, get_urlconf, reverse

register = template.Library()


@lru_cache(maxsize=256)
def _reversed(name: str, prefix: str, urlconf: str) -> str:
    return reverse(name, urlconf=urlconf)


@register.simple_tag
def fixed_url(name: str) -> str:
    """`{% url name %}` for a route without arguments, remembered (autoescaped like `{% url %}`)."""
    return _reversed(name, get_script_prefix(), get_urlconf() or settings.ROOT_URLCONF)
