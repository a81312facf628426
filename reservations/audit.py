"""The audit log (監査ログ): append-only, hash-chained, tamper-evident (DOMAIN.md).

Every staff action and every staff view or export of personal data becomes one `AuditEntry`.
Entry n carries `prev_hash` = the hash of entry n-1 (64 zeros for the first) and
`hash` = SHA-256 over the canonical JSON of all its fields including `prev_hash`, so editing,
inserting or removing an entry anywhere breaks the chain from there on; `verify_chain` (and
`manage.py audit_verify`) finds the first broken link.

    record(actor=user, action="staff.view", target="staff:today", details={...}, request=request)

Appends are serialised: on PostgreSQL by a transaction-scoped advisory lock (two appends never
read the same head), elsewhere (SQLite, `make run`) by a process-wide lock. A PostgreSQL trigger
refuses UPDATE and DELETE on the table (migration 0006), so the application cannot rewrite history
even by mistake; `verify_chain` catches anyone who can switch the trigger off.

Recorded automatically (nobody needs to call `record` for these): every staff-terminal request
through `kiosks.staff_auth.staff_required`, every Django admin request and every change the admin
logs (kiosks/two_factor_admin.py), and staff logins, logouts, failed staff logins and one-time-code
failures. Resident requests are never
recorded: the 09:00 rush path pays nothing for the log.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import hashlib
import ipaddress
import json
import threading
import uuid
from collections.abc import Callable, Iterator
from contextvars import ContextVar
from dataclasses import dataclass
from functools import wraps
from typing import Any, TypeVar

from django.contrib.admin.models import ADDITION, CHANGE, DELETION, LogEntry
from django.contrib.auth.signals import user_logged_in, user_logged_out, user_login_failed
from django.contrib.contenttypes.models import ContentType
from django.core.exceptions import PermissionDenied
from django.db import connection, transaction
from django.db.models import Q, QuerySet
from django.dispatch import receiver
from django.http import Http404, HttpRequest, HttpResponse, HttpResponseBase
from django.utils import timezone

from .domain import TOKYO
from .models import AuditEntry, StaffProfile, User

View = Callable[..., HttpResponse]
R = TypeVar("R", bound=HttpResponseBase)
GENESIS_HASH = "0" * 64
# pg_advisory_xact_lock key of the chain head ("AUDITLOG" as a 64-bit integer).
CHAIN_LOCK_KEY = int.from_bytes(b"AUDITLOG", "big") - 2**63
_process_lock = threading.Lock()
_current_request: ContextVar[HttpRequest | None] = ContextVar("audit_request", default=None)

# Form fields whose values never go into the log (secrets, not evidence).
SECRET_FIELDS = ("password", "pin", "token", "otp", "secret", "csrfmiddlewaretoken")
REDACTED = "***"


# --- the chain --------------------------------------------------------------------------------------


def _plain(value: Any) -> Any:
    """`value` as JSON that survives a round trip through PostgreSQL's jsonb unchanged: dicts with
    string keys, lists, strings, integers, booleans and null (floats and anything else as text)."""
    if isinstance(value, dict):
        return {str(k): _plain(v) for k, v in value.items()}
    if isinstance(value, list | tuple | set | frozenset):
        return [_plain(v) for v in value]
    if value is None or isinstance(value, bool | int):
        return value
    return str(value).replace("\x00", "")


def _timestamp(at: dt.datetime) -> str:
    return at.astimezone(dt.UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def canonical(entry: AuditEntry) -> bytes:
    """The exact bytes the hash covers: every field but `hash`, as sorted compact JSON."""
    body = {
        "seq": entry.seq,
        "at": _timestamp(entry.at),
        "actor": entry.actor_id,
        "actor_label": entry.actor_label,
        "actor_role": entry.actor_role,
        "action": entry.action,
        "target": entry.target,
        "details": entry.details,
        "request_id": entry.request_id,
        "ip": entry.ip,
        "prev_hash": entry.prev_hash,
    }
    return json.dumps(body, sort_keys=True, separators=(",", ":"), ensure_ascii=False).encode()


def entry_hash(entry: AuditEntry) -> str:
    return hashlib.sha256(canonical(entry)).hexdigest()


@contextlib.contextmanager
def _chain_head_locked() -> Iterator[None]:
    with transaction.atomic():
        if connection.vendor == "postgresql":
            with connection.cursor() as cursor:
                cursor.execute("SELECT pg_advisory_xact_lock(%s)", [CHAIN_LOCK_KEY])
            yield
        else:
            with _process_lock:
                yield


# --- recording --------------------------------------------------------------------------------------


def _ip(request: HttpRequest) -> str:
    raw = request.META.get("REMOTE_ADDR", "")
    try:
        return str(ipaddress.ip_address(raw))
    except ValueError:
        return ""


def request_id(request: HttpRequest) -> str:
    """One id per request, shared by every entry the request makes: the proxy's X-Request-ID, a
    logging middleware's `request.request_id`, or a new one."""
    found = getattr(request, "request_id", None) or request.META.get("HTTP_X_REQUEST_ID", "")
    if not found:
        found = uuid.uuid4().hex
        request.request_id = found  # type: ignore[attr-defined]
    return str(found)[:64]


def _role(actor: User | None, request: HttpRequest | None) -> str:
    scope = getattr(request, "staff", None)
    if scope is not None and getattr(scope, "user_id", None) == getattr(actor, "pk", None):
        return str(scope.role)
    if actor is None:
        return ""
    role = StaffProfile.objects.filter(user=actor).values_list("role", flat=True).first()
    if role:
        return str(role)
    return "superuser" if actor.is_superuser else ("staff" if actor.is_staff else "")


def record(
    *,
    actor: Any,
    action: str,
    target: str = "",
    details: dict[str, Any] | None = None,
    request: HttpRequest | None = None,
) -> AuditEntry:
    """Append one entry to the audit log and return it. `actor` is the user who acted (None or an
    anonymous user for the system); `request`, when given (or when a staff page is being served),
    supplies the request id and the client's address."""
    request = request if request is not None else _current_request.get()
    user = actor if isinstance(actor, User) and actor.is_authenticated else None
    entry = AuditEntry(
        at=timezone.now(),
        actor=user,
        actor_label=user.user_number if user is not None else "",
        actor_role=_role(user, request),
        action=action[:64],
        target=str(target)[:255],
        details=_plain(details or {}),
        request_id=request_id(request) if request is not None else "",
        ip=_ip(request) if request is not None else "",
    )
    with _chain_head_locked():
        head = AuditEntry.objects.order_by("-seq").values_list("seq", "hash").first()
        entry.seq, entry.prev_hash = (head[0] + 1, head[1]) if head else (1, GENESIS_HASH)
        entry.hash = entry_hash(entry)
        entry.save(force_insert=True)
    return entry


@contextlib.contextmanager
def bound_request(request: HttpRequest) -> Iterator[None]:
    """While serving a staff or admin page: entries recorded without `request=` (signal handlers,
    services) still get its request id and address."""
    token = _current_request.set(request)
    try:
        yield
    finally:
        _current_request.reset(token)


def form_values(data: Any) -> dict[str, Any]:
    """Submitted form fields for the log, secrets masked (password, PIN, one-time codes...)."""
    values: dict[str, Any] = {}
    for key in data:
        if any(secret in key.lower() for secret in SECRET_FIELDS):
            values[key] = REDACTED
            continue
        items = data.getlist(key) if hasattr(data, "getlist") else [data[key]]
        values[key] = items[0] if len(items) == 1 else items
    return values


def annotate(request: HttpRequest, *, action: str | None = None, target: str | None = None, **details: Any) -> None:
    """Let a staff view shape the entry its request gets: a more telling action name
    (e.g. "staff.export"), a target, and details such as how many rows it exported."""
    note = getattr(request, "_audit_note", None)
    if note is None:
        note = {"action": None, "target": None, "details": {}}
        request._audit_note = note  # type: ignore[attr-defined]
    if action is not None:
        note["action"] = action
    if target is not None:
        note["target"] = target
    note["details"].update(details)


def record_request(
    request: HttpRequest,
    *,
    area: str,
    status: int,
    action: str | None = None,
    target: str | None = None,
    extra: dict[str, Any] | None = None,
) -> AuditEntry:
    """The entry for one staff page request: GET/HEAD is a view (`<area>.view`), anything else an
    action (`<area>.action`); with the view's name, URL arguments, query and form fields."""
    match = request.resolver_match
    reading = request.method in ("GET", "HEAD", "OPTIONS")
    details: dict[str, Any] = {
        "method": request.method,
        "path": request.path,
        "status": status,
        "kwargs": dict(match.kwargs) if match else {},
    }
    if request.GET:
        details["query"] = form_values(request.GET)
    if not reading and request.POST:
        details["form"] = form_values(request.POST)
    details.update(extra or {})
    note = getattr(request, "_audit_note", None) or {"action": None, "target": None, "details": {}}
    details.update(note["details"])
    action = action or note["action"]
    target = target if target is not None else note["target"]
    return record(
        actor=request.user,
        action=action or f"{area}.{'view' if reading else 'action'}",
        target=target if target is not None else (match.view_name if match else request.path),
        details=details,
        request=request,
    )


def recorded_call(request: HttpRequest, call: Callable[[], R], on_done: Callable[[int], object]) -> R:
    """Run `call` (a view) bound to `request`, then hand `on_done` the status it ended with: the
    response's, 404 or 403 for those refusals, 500 for anything else raised."""
    status = 500
    try:
        with bound_request(request):
            response = call()
        status = response.status_code
        return response
    except Http404:
        status = 404
        raise
    except PermissionDenied:
        status = 403
        raise
    finally:
        on_done(status)


def audited(area: str) -> Callable[[View], View]:
    """Record every request a staff member makes to this view, like `staff_required` does on the
    staff terminal: for staff pages of the apps below kiosks (payments' cash-up, documents), which
    cannot import that gate. Requests of residents pass through unrecorded."""

    def decorate(view: View) -> View:
        @wraps(view)
        def wrapper(request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
            user = request.user
            if not (user.is_authenticated and user.is_staff):
                return view(request, *args, **kwargs)
            return recorded_call(
                request,
                lambda: view(request, *args, **kwargs),
                lambda status: record_request(request, area=area, status=status),
            )

        return wrapper

    return decorate


def search(
    *,
    actor: str = "",
    action: str = "",
    target: str = "",
    date_from: dt.date | None = None,
    date_to: dt.date | None = None,
) -> QuerySet[AuditEntry]:
    """Entries, newest first: `actor` is a login id (exact), `action` a name or its prefix
    ("staff" finds staff.view and staff.action), `target` a part of the target, dates inclusive
    (Asia/Tokyo)."""
    found = AuditEntry.objects.all()
    if actor:
        found = found.filter(actor_label=actor)
    if action:
        found = found.filter(Q(action=action) | Q(action__startswith=f"{action}."))
    if target:
        found = found.filter(target__icontains=target)
    if date_from:
        found = found.filter(at__gte=dt.datetime.combine(date_from, dt.time(0), tzinfo=TOKYO))
    if date_to:
        found = found.filter(at__lt=dt.datetime.combine(date_to + dt.timedelta(days=1), dt.time(0), tzinfo=TOKYO))
    return found.order_by("-seq")


def actions() -> list[str]:
    """The action names in the log, for the search form."""
    return list(AuditEntry.objects.order_by("action").values_list("action", flat=True).distinct())


# --- verification -----------------------------------------------------------------------------------


@dataclass(frozen=True)
class ChainReport:
    checked: int
    head_seq: int
    head_hash: str
    broken_seq: int | None = None
    problem: str = ""

    @property
    def ok(self) -> bool:
        return self.broken_seq is None


def verify_chain() -> ChainReport:
    """Walk the chain from entry 1: consecutive numbers, each `prev_hash` the previous `hash`, each
    `hash` recomputed. Stops at the first broken entry."""
    expected_seq, prev = 1, GENESIS_HASH
    checked = 0
    for entry in AuditEntry.objects.order_by("seq").iterator(chunk_size=2000):
        problem = ""
        if entry.seq != expected_seq:
            problem = f"通番 {expected_seq} が欠けています（次は {entry.seq}）"
        elif entry.prev_hash != prev:
            problem = "直前のエントリのハッシュと一致しません（前のエントリが書き換えられたか削除されました）"
        elif entry_hash(entry) != entry.hash:
            problem = "内容がハッシュと一致しません（このエントリが書き換えられました）"
        if problem:
            return ChainReport(checked, expected_seq - 1, prev, broken_seq=entry.seq, problem=problem)
        prev, expected_seq, checked = entry.hash, expected_seq + 1, checked + 1
    return ChainReport(checked, expected_seq - 1, prev)


# --- automatic entries: logins and admin changes ----------------------------------------------------


@receiver(user_logged_in, dispatch_uid="audit_staff_login")
def _staff_logged_in(sender: Any, request: HttpRequest | None, user: User, **kwargs: Any) -> None:
    if user.is_staff:
        record(actor=user, action="login", target=user.user_number, request=request)


@receiver(user_logged_out, dispatch_uid="audit_staff_logout")
def _staff_logged_out(sender: Any, request: HttpRequest | None, user: User | None, **kwargs: Any) -> None:
    if user is not None and user.is_staff:
        record(actor=user, action="logout", target=user.user_number, request=request)


@receiver(user_login_failed, dispatch_uid="audit_staff_login_failed")
def _staff_login_failed(
    sender: Any, credentials: dict[str, Any], request: HttpRequest | None = None, **kwargs: Any
) -> None:
    """A wrong password for a staff id (residents' typos are not the audit log's business)."""
    number = str(credentials.get(User.USERNAME_FIELD) or credentials.get("username") or "")
    staff = User.objects.filter(user_number=number, is_staff=True).first() if number else None
    if staff is not None:
        record(actor=None, action="login.failed", target=number, request=request)


ADMIN_ACTIONS = {ADDITION: "admin.add", CHANGE: "admin.change", DELETION: "admin.delete"}


def admin_log_head(user: Any) -> int:
    """The id of the user's latest admin LogEntry (0 if none), taken before an admin view runs."""
    return LogEntry.objects.filter(user_id=user.pk).order_by("-pk").values_list("pk", flat=True).first() or 0


def record_admin_changes(request: HttpRequest, after: int) -> None:
    """Every change the admin logged for this request (LogEntry rows newer than `after`, bulk
    deletions and actions included), with its change message; called once the view has returned,
    so only committed changes are found."""
    for entry in LogEntry.objects.filter(user_id=int(request.user.pk or 0), pk__gt=after).order_by("pk"):
        content_type = ContentType.objects.get_for_id(entry.content_type_id) if entry.content_type_id else None
        model = f"{content_type.app_label}.{content_type.model}" if content_type else "?"
        record(
            actor=request.user,
            action=ADMIN_ACTIONS.get(entry.action_flag, "admin.change"),
            target=f"{model}:{entry.object_id}",
            details={"object": entry.object_repr, "change": entry.change_message},
            request=request,
        )
