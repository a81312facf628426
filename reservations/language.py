"""Remembering a logged-in resident's language, so that e-mails sent to them later (reminders) are in
the language they read the site in. The switch itself stays Django's (`set_language`, the `lang`
cookie); this only records the choice beside it."""

from __future__ import annotations

from django.conf import settings
from django.http import HttpRequest, HttpResponse
from django.views.decorators.http import require_POST
from django.views.i18n import set_language as django_set_language

from . import services
from .models import Resident


def remember(request: HttpRequest, code: str) -> None:
    """Record `code` for the logged-in resident (nothing for anonymous users, staff or unknown codes)."""
    if code not in dict(settings.LANGUAGES) or not request.user.is_authenticated:
        return
    try:
        resident_id = Resident.objects.values_list("pk", flat=True).get(user_id=request.user.pk)
    except Resident.DoesNotExist:
        return
    services.resident_language_set(resident_id=resident_id, language=code)


@require_POST
def set_language(request: HttpRequest) -> HttpResponse:
    """Django's set_language (cookie, redirect to `next`), and the choice remembered for e-mails."""
    response = django_set_language(request)
    remember(request, request.POST.get("language", ""))
    return response
