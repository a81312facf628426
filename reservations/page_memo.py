"""Logged-in pages rendered once for everyone they look alike to (the free booking page at 09:00).

In the opening minute a hot slot's booking page is asked for by dozens of residents, and drawing
it (Django's templates, the form's widgets) was most of what that page cost. What it shows is
fixed by a handful of inputs: the slot and what the view computed about it (availability, fee,
deadline, what blocks it), the kind of resident (outsider or not, in a group or not), the language and
the URL, and the catalogue it was drawn from. The caller names those inputs; everything else the
page draws must come from them. The page is rendered once per those inputs, with a stand-in for the
CSRF token, kept in the cache for a minute, and each request gets it with its own token. A caller
may leave more of the page to each request the same way: the context holds its own stand-ins and
`finish` puts the request's own parts in their place.

Not remembered: a page with messages to show (they are the request's own, and showing them
consumes them); anything with the cache down (then it is rendered as usual).
"""

from __future__ import annotations

import hashlib
import logging
from collections.abc import Callable, Hashable, Mapping
from typing import Any

from django.contrib.messages import get_messages
from django.core.cache import cache
from django.http import HttpRequest, HttpResponse
from django.middleware.csrf import get_token
from django.template.loader import render_to_string
from django.utils.translation import get_language

from . import availability_cache

logger = logging.getLogger(__name__)

MEMO_SECONDS = 60
# Stands in for the CSRF token in the remembered page; each answer gets the request's own token.
# Only [A-Za-z0-9-] (nothing HTML escaping would change) and not something a page could contain.
CSRF_STAND_IN = "csrf-stand-in-0c4b6a7e"


def render_alike(
    request: HttpRequest,
    template: str,
    context: Mapping[str, Any],
    *,
    inputs: Hashable,
    status: int = 200,
    finish: Callable[[str], str] = str,
) -> HttpResponse:
    """`render(request, template, context, status=status)`, from the cache when a page with the
    same `inputs` (everything in `context` that is not catalogue data or fixed by the URL) was
    rendered for the same URL, language and catalogue version. `finish` turns the rendering into
    this request's page (filling the context's stand-ins)."""
    catalogue = availability_cache.catalogue_version()
    if catalogue == -1 or len(get_messages(request)):
        return HttpResponse(finish(render_to_string(template, context, request)), status=status)
    parts = (template, catalogue, get_language(), request.get_full_path(), request.user.is_authenticated, inputs)
    key = "alike:" + hashlib.blake2b(repr(parts).encode(), digest_size=16).hexdigest()
    try:
        html = cache.get(key)
    except Exception:  # noqa: BLE001 - the outage is logged by config/redis_cache.py
        return HttpResponse(finish(render_to_string(template, context, request)), status=status)
    if html is None:
        html = render_to_string(template, {**context, "csrf_token": CSRF_STAND_IN}, request)
        try:
            cache.set(key, html, MEMO_SECONDS)
        except Exception:  # noqa: BLE001
            logger.debug("page memo: could not store %s", key)
    return HttpResponse(finish(html.replace(CSRF_STAND_IN, get_token(request))), status=status)
