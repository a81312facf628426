"""The calendar feed and the page where residents turn it on, copy its URL, reset or stop it."""

from __future__ import annotations

from typing import cast
from urllib.parse import urlsplit

from django.conf import settings
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext as _
from django.views.decorators.http import require_GET, require_http_methods

from . import ical, services
from .domain import TOKYO
from .models import Resident, ResidentPreference, ResidentStatus, User


@require_GET
def feed(request: HttpRequest, token: str) -> HttpResponse:
    """GET /calendar/<token>.ics — no session: the token is the key. Unknown, reset or stopped
    tokens (and suspended residents) get 404, like any address that does not exist."""
    resident = ical.resident_for_token(token)
    if resident is None:
        raise Http404
    now = timezone.now()
    preference = cast(ResidentPreference, resident.preference)
    body = ical.calendar_bytes(
        ical.feed_reservations(resident, today=now.astimezone(TOKYO).date()),
        language=preference.language,
        now=now,
        site=urlsplit(settings.SITE_URL).hostname or "shisetsu-yoyaku",  # stable event UIDs
        bookings_url=request.build_absolute_uri(reverse("reservations:my_bookings")),
    )
    response = HttpResponse(body, content_type="text/calendar; charset=utf-8")
    response["Content-Disposition"] = 'inline; filename="bookings.ics"'
    response["Cache-Control"] = "private, max-age=300"
    response["X-Robots-Tag"] = "noindex"
    response["Referrer-Policy"] = "no-referrer"
    return response


def _resident(request: HttpRequest) -> Resident | None:
    try:
        return cast(User, request.user).resident
    except Resident.DoesNotExist:
        return None


@login_required
@require_http_methods(["GET", "POST"])
def settings_page(request: HttpRequest) -> HttpResponse:
    """GET shows the feed's URL (or offers to start it); POST action=reset makes a new URL (the old
    one stops working), action=stop ends the feed."""
    resident = _resident(request)
    if resident is None or resident.status != ResidentStatus.ACTIVE:
        message = _("カレンダー配信は、本登録の済んだ利用者の方がご利用いただけます。")
        return render(request, "reservations/error.html", {"message": message}, status=403)
    if request.method == "POST":
        action = request.POST.get("action")
        if action not in ("reset", "stop"):
            return render(request, "reservations/error.html", {"message": _("操作が正しくありません。")}, status=400)
        token = services.resident_calendar_token_reset(
            resident_id=resident.pk, now=timezone.now(), enable=action == "reset"
        )
        if token:
            messages.success(
                request,
                _(
                    "カレンダー配信のURLを発行しました。下のURLをカレンダーアプリに登録してください。"
                    "以前のURLは使えなくなりました。"
                ),
            )
        else:
            messages.success(request, _("カレンダー配信を停止しました。登録済みのURLからは予定が届かなくなります。"))
        return redirect("reservations:calendar")
    preference = ResidentPreference.objects.filter(resident=resident).first()
    token = preference.calendar_token if preference else None
    feed_url = request.build_absolute_uri(reverse("reservations:calendar_feed", args=[token])) if token else ""
    context = {
        "feed_url": feed_url,
        "webcal_url": feed_url.replace("https://", "webcal://").replace("http://", "webcal://") if feed_url else "",
        "created_at": preference.calendar_token_created_at if preference else None,
    }
    return render(request, "reservations/calendar.html", context)
