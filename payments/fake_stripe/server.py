"""The fake Stripe server: stdlib only, in memory, thread-safe.

Implemented with Stripe's semantics, as far as this project uses them:
- `POST /v1/checkout/sessions`, `GET /v1/checkout/sessions/<id>`, `POST /v1/checkout/sessions/<id>/expire`
- `GET /v1/payment_intents/<id>`
- `POST /v1/refunds` (never above what was received), `GET /v1/refunds/<id>`
- form-encoded requests with bracketed keys, JSON objects shaped like Stripe's, Stripe's error body,
  a Bearer secret key required, `Idempotency-Key` honoured (same key and parameters → the same
  response; same key with other parameters → an idempotency error);
- a hosted checkout page (`/pay/<session id>`) where a person types a test card number:
  4242424242424242 succeeds, 4000000000000002 is declined, 4000002500003155 asks for
  authentication (a second page completes or fails it);
- sessions expire at their `expires_at` (checked whenever one is touched) or on request;
- webhook events signed with Stripe's scheme (`Stripe-Signature: t=<unix>,v1=<HMAC-SHA256 of
  "<t>.<payload>">`), POSTed to the configured URL and kept in an outbox that tests read at
  `GET /_test/deliveries` (not a Stripe endpoint).
"""

from __future__ import annotations

import hashlib
import hmac
import html
import json
import secrets
import threading
import time
import urllib.error
import urllib.request
from collections.abc import Callable
from dataclasses import dataclass, field
from http import HTTPStatus
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qsl, urlparse

CARD_SUCCEEDS = "4242424242424242"
CARD_DECLINED = "4000000000000002"
CARD_NEEDS_AUTH = "4000002500003155"
API_VERSION = "2026-10-28.endive"


class StripeError(Exception):
    def __init__(self, status: int, message: str, code: str = "", kind: str = "invalid_request_error") -> None:
        super().__init__(message)
        self.status, self.message, self.code, self.kind = status, message, code, kind

    def body(self) -> dict[str, Any]:
        error: dict[str, Any] = {"type": self.kind, "message": self.message}
        if self.code:
            error["code"] = self.code
        return {"error": error}


def parse_form(body: str) -> dict[str, Any]:
    """Stripe's form encoding: `a[b][0][c]=1` becomes {"a": {"b": [{"c": "1"}]}}."""
    result: dict[str, Any] = {}
    for key, value in parse_qsl(body, keep_blank_values=True):
        parts = key.replace("]", "").split("[")
        node: Any = result
        for i, part in enumerate(parts):
            last = i == len(parts) - 1
            nxt: Any = value if last else ([] if parts[i + 1].isdigit() or parts[i + 1] == "" else {})
            if isinstance(node, list):
                index = int(part) if part else len(node)
                while len(node) <= index:
                    node.append(None)
                if node[index] is None or last:
                    node[index] = nxt
                node = node[index]
            else:
                if part not in node or last:
                    node[part] = nxt
                node = node[part]
    return result


def sign(payload: str, secret: str, timestamp: int) -> str:
    mac = hmac.new(secret.encode(), f"{timestamp}.{payload}".encode(), hashlib.sha256).hexdigest()
    return f"t={timestamp},v1={mac}"


def _new_id(prefix: str) -> str:
    return f"{prefix}_test_{secrets.token_hex(12)}"


@dataclass
class Delivery:
    event_id: str
    type: str
    payload: str
    signature: str
    status: int | None = None


@dataclass
class State:
    sessions: dict[str, dict[str, Any]] = field(default_factory=dict)
    intents: dict[str, dict[str, Any]] = field(default_factory=dict)
    refunds: dict[str, dict[str, Any]] = field(default_factory=dict)
    idempotent: dict[tuple[str, str], tuple[str, int, dict[str, Any]]] = field(default_factory=dict)
    deliveries: list[Delivery] = field(default_factory=list)


class FakeStripe:
    """The server and its in-memory state. `clock` is injectable so tests can move time."""

    def __init__(
        self,
        *,
        host: str = "127.0.0.1",
        port: int = 0,
        webhook_url: str = "",
        webhook_secret: str = "whsec_local_fake",  # noqa: S107 - the fake's own test secret
        clock: Callable[[], float] = time.time,
    ) -> None:
        self.webhook_url = webhook_url
        self.webhook_secret = webhook_secret
        self.clock = clock
        self.state = State()
        self.lock = threading.RLock()
        self.httpd = ThreadingHTTPServer((host, port), _handler_for(self))
        self.httpd.daemon_threads = True

    @property
    def base_url(self) -> str:
        host, port = self.httpd.server_address[:2]
        return f"http://{host!s}:{port}"

    def serve_forever(self) -> None:
        self.httpd.serve_forever(poll_interval=0.1)

    def shutdown(self) -> None:
        self.httpd.shutdown()
        self.httpd.server_close()

    def now(self) -> int:
        return int(self.clock())

    # --- events -------------------------------------------------------------------------------

    def emit(self, event_type: str, obj: dict[str, Any]) -> Delivery:
        event = {
            "id": _new_id("evt"),
            "object": "event",
            "api_version": API_VERSION,
            "created": self.now(),
            "type": event_type,
            "livemode": False,
            "pending_webhooks": 1,
            "request": {"id": None, "idempotency_key": None},
            "data": {"object": json.loads(json.dumps(obj))},
        }
        payload = json.dumps(event)
        delivery = Delivery(event["id"], event_type, payload, sign(payload, self.webhook_secret, self.now()))
        self.state.deliveries.append(delivery)
        if self.webhook_url:
            threading.Thread(target=self._deliver, args=(delivery,), daemon=True).start()
        return delivery

    def _deliver(self, delivery: Delivery) -> None:
        """One attempt (Stripe would retry for days; our reconcile catches what is missed)."""
        request = urllib.request.Request(  # noqa: S310 - the configured local webhook URL
            self.webhook_url,
            data=delivery.payload.encode(),
            headers={"Content-Type": "application/json", "Stripe-Signature": delivery.signature},
            method="POST",
        )
        try:
            with urllib.request.urlopen(request, timeout=10) as response:  # noqa: S310
                delivery.status = response.status
        except urllib.error.HTTPError as error:
            delivery.status = error.code
        except OSError:
            delivery.status = 0

    # --- objects ------------------------------------------------------------------------------

    def _expire_if_due(self, session: dict[str, Any]) -> None:
        if session["status"] == "open" and self.now() >= session["expires_at"]:
            self._expire(session)

    def _expire(self, session: dict[str, Any]) -> None:
        session["status"] = "expired"
        session["url"] = None
        self.emit("checkout.session.expired", session)

    def session(self, session_id: str) -> dict[str, Any]:
        session = self.state.sessions.get(session_id)
        if session is None:
            raise StripeError(404, f"No such checkout.session: '{session_id}'", "resource_missing")
        self._expire_if_due(session)
        return session

    def create_session(self, params: dict[str, Any]) -> dict[str, Any]:
        if params.get("mode") != "payment":
            raise StripeError(400, "Only mode=payment is supported by this fake.", "parameter_invalid")
        items = params.get("line_items") or []
        if not items:
            raise StripeError(400, "Missing required param: line_items.", "parameter_missing")
        amount = 0
        currency = None
        for item in items:
            price = item.get("price_data") or {}
            currency = price.get("currency")
            amount += int(price.get("unit_amount", "0")) * int(item.get("quantity", "1"))
        if currency != "jpy":
            raise StripeError(400, "This fake only charges jpy.", "parameter_invalid")
        if amount < 50:  # Stripe's minimum charge in JPY
            raise StripeError(400, "Amount must be at least ¥50 jpy", "amount_too_small")
        now = self.now()
        expires_at = int(params.get("expires_at") or now + 24 * 3600)
        if not now + 1800 - 60 <= expires_at <= now + 24 * 3600 + 60:
            raise StripeError(400, "expires_at must be 30 minutes to 24 hours from now.", "parameter_invalid")
        session_id = _new_id("cs")
        session = {
            "id": session_id,
            "object": "checkout.session",
            "amount_subtotal": amount,
            "amount_total": amount,
            "currency": "jpy",
            "client_reference_id": params.get("client_reference_id"),
            "created": now,
            "expires_at": expires_at,
            "livemode": False,
            "metadata": params.get("metadata") or {},
            "mode": "payment",
            "payment_intent": None,
            "payment_status": "unpaid",
            "status": "open",
            "success_url": params.get("success_url"),
            "cancel_url": params.get("cancel_url"),
            "url": f"{self.base_url}/pay/{session_id}",
            "_intent_metadata": (params.get("payment_intent_data") or {}).get("metadata") or {},
        }
        self.state.sessions[session_id] = session
        return session

    def _intent_for(self, session: dict[str, Any]) -> dict[str, Any]:
        if session["payment_intent"]:
            return self.state.intents[session["payment_intent"]]
        intent = {
            "id": _new_id("pi"),
            "object": "payment_intent",
            "amount": session["amount_total"],
            "amount_received": 0,
            "currency": "jpy",
            "created": self.now(),
            "latest_charge": None,
            "last_payment_error": None,
            "livemode": False,
            "metadata": session["_intent_metadata"],
            "status": "requires_payment_method",
            "_refunded": 0,
        }
        self.state.intents[intent["id"]] = intent
        session["payment_intent"] = intent["id"]
        return intent

    def pay(self, session_id: str, card: str) -> str:
        """A card typed on the hosted page: 'succeeded', 'declined' or 'requires_action'."""
        session = self.session(session_id)
        if session["status"] != "open":
            raise StripeError(400, "This Checkout Session is no longer active.", "checkout_session_inactive")
        intent = self._intent_for(session)
        card = "".join(ch for ch in card if ch.isdigit())
        if card == CARD_NEEDS_AUTH:
            intent["status"] = "requires_action"
            return "requires_action"
        if card == CARD_SUCCEEDS:
            self._succeed(session, intent)
            return "succeeded"
        intent["status"] = "requires_payment_method"
        intent["last_payment_error"] = {"code": "card_declined", "decline_code": "generic_decline"}
        self.emit("payment_intent.payment_failed", intent)
        return "declined"

    def authenticate(self, session_id: str, *, complete: bool) -> str:
        session = self.session(session_id)
        intent = self._intent_for(session)
        if session["status"] != "open" or intent["status"] != "requires_action":
            raise StripeError(400, "Nothing to authenticate.", "payment_intent_unexpected_state")
        if complete:
            self._succeed(session, intent)
            return "succeeded"
        intent["status"] = "requires_payment_method"
        intent["last_payment_error"] = {"code": "payment_intent_authentication_failure"}
        self.emit("payment_intent.payment_failed", intent)
        return "declined"

    def _succeed(self, session: dict[str, Any], intent: dict[str, Any]) -> None:
        intent.update(
            status="succeeded",
            amount_received=intent["amount"],
            latest_charge=_new_id("ch"),
            last_payment_error=None,
        )
        session.update(status="complete", payment_status="paid", url=None)
        self.emit("payment_intent.succeeded", intent)
        self.emit("checkout.session.completed", session)

    def expire_session(self, session_id: str) -> dict[str, Any]:
        session = self.session(session_id)
        if session["status"] != "open":
            raise StripeError(400, f"Only Checkout Sessions with a status of open can be expired: {session['status']}.")
        self._expire(session)
        return session

    def create_refund(self, params: dict[str, Any]) -> dict[str, Any]:
        intent = self.state.intents.get(params.get("payment_intent") or "")
        if intent is None:
            raise StripeError(404, f"No such payment_intent: '{params.get('payment_intent')}'", "resource_missing")
        if intent["status"] != "succeeded":
            raise StripeError(400, "This PaymentIntent has no successful charge to refund.")
        left = intent["amount_received"] - intent["_refunded"]
        amount = int(params.get("amount") or left)
        if amount <= 0 or left <= 0:
            raise StripeError(400, "Charge has already been refunded.", "charge_already_refunded")
        if amount > left:
            raise StripeError(
                400,
                f"Refund amount (¥{amount}) is greater than unrefunded amount on charge (¥{left})",
                "amount_too_large",
            )
        intent["_refunded"] += amount
        refund = {
            "id": _new_id("re"),
            "object": "refund",
            "amount": amount,
            "charge": intent["latest_charge"],
            "created": self.now(),
            "currency": "jpy",
            "metadata": params.get("metadata") or {},
            "payment_intent": intent["id"],
            "reason": params.get("reason"),
            "status": "succeeded",
        }
        self.state.refunds[refund["id"]] = refund
        self.emit("refund.created", refund)
        return refund

    # --- the API dispatcher ---------------------------------------------------------------------

    def api(self, method: str, path: str, params: dict[str, Any]) -> dict[str, Any]:
        parts = [p for p in path.split("/") if p][1:]  # drop "v1"
        with self.lock:
            if parts == ["checkout", "sessions"] and method == "POST":
                return self.create_session(params)
            if len(parts) == 3 and parts[:2] == ["checkout", "sessions"] and method == "GET":
                return self.session(parts[2])
            if len(parts) == 4 and parts[:2] == ["checkout", "sessions"] and parts[3] == "expire":
                return self.expire_session(parts[2])
            if len(parts) == 2 and parts[0] == "payment_intents" and method == "GET":
                intent = self.state.intents.get(parts[1])
                if intent is None:
                    raise StripeError(404, f"No such payment_intent: '{parts[1]}'", "resource_missing")
                return intent
            if parts == ["refunds"] and method == "POST":
                return self.create_refund(params)
            if len(parts) == 2 and parts[0] == "refunds" and method == "GET":
                refund = self.state.refunds.get(parts[1])
                if refund is None:
                    raise StripeError(404, f"No such refund: '{parts[1]}'", "resource_missing")
                return refund
        raise StripeError(404, f"Unrecognized request URL ({method}: {path}).")


def _public(obj: dict[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in obj.items() if not k.startswith("_")}


PAGE = """<!doctype html><html lang="ja"><head><meta charset="utf-8"><title>Fake Stripe Checkout</title>
<style>body{{font-family:sans-serif;max-width:32rem;margin:2rem auto}}input,button{{font-size:1.2rem}}</style>
</head><body><h1>テスト決済 (Fake Stripe Checkout)</h1><p>金額: ¥{amount:,}</p>{body}
<p><small>テストカード: 4242424242424242 成功 / 4000000000000002 拒否 / 4000002500003155 認証が必要</small></p>
</body></html>"""


def _handler_for(fake: FakeStripe) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def log_message(self, format: str, *args: Any) -> None:
            return

        def _send(self, status: int, body: bytes, content_type: str, headers: dict[str, str] | None = None) -> None:
            self.send_response(status)
            self.send_header("Content-Type", content_type)
            self.send_header("Content-Length", str(len(body)))
            for key, value in (headers or {}).items():
                self.send_header(key, value)
            self.end_headers()
            self.wfile.write(body)

        def _json(self, status: int, obj: dict[str, Any] | list[Any]) -> None:
            self._send(status, json.dumps(obj).encode(), "application/json", {"Request-Id": _new_id("req")})

        def _body(self) -> str:
            length = int(self.headers.get("Content-Length") or 0)
            return self.rfile.read(length).decode() if length else ""

        def do_GET(self) -> None:
            self._route("GET")

        def do_POST(self) -> None:
            self._route("POST")

        def _route(self, method: str) -> None:
            url = urlparse(self.path)
            body = self._body() if method == "POST" else url.query
            if url.path.startswith("/v1/"):
                self._api(method, url.path, body)
            elif url.path.startswith("/pay/"):
                self._page(method, url.path, body)
            elif url.path == "/_test/deliveries":
                with fake.lock:
                    self._json(200, [d.__dict__ for d in fake.state.deliveries])
            else:
                self._send(404, b"not found", "text/plain")

        def _api(self, method: str, path: str, body: str) -> None:
            if not (self.headers.get("Authorization") or "").startswith("Bearer sk_test_"):
                self._json(401, StripeError(401, "Invalid API Key provided.", kind="invalid_request_error").body())
                return
            params = parse_form(body)
            key = self.headers.get("Idempotency-Key") if method == "POST" else None
            if key:
                with fake.lock:
                    seen = fake.state.idempotent.get((path, key))
                    if seen is not None:
                        if seen[0] != body:
                            error = StripeError(
                                400,
                                "Keys for idempotent requests can only be used with the same parameters "
                                "they were first used with.",
                                kind="idempotency_error",
                            )
                            self._json(400, error.body())
                        else:
                            self._json(seen[1], seen[2])
                        return
            try:
                status, obj = 200, _public(fake.api(method, path, params))
            except StripeError as error:
                status, obj = error.status, error.body()
            if key and status < 500:
                with fake.lock:
                    fake.state.idempotent[(path, key)] = (body, status, obj)
            self._json(status, obj)

        def _page(self, method: str, path: str, body: str) -> None:
            parts = [p for p in path.split("/") if p]
            session_id = parts[1] if len(parts) > 1 else ""
            form = dict(parse_qsl(body))
            try:
                with fake.lock:
                    session = fake.session(session_id)
                    if method == "POST" and len(parts) == 3 and parts[2] == "authenticate":
                        outcome = fake.authenticate(session_id, complete=form.get("result") == "complete")
                    elif method == "POST":
                        outcome = fake.pay(session_id, form.get("card", ""))
                    else:
                        outcome = "form"
            except StripeError as error:
                self._send(
                    400, PAGE.format(amount=0, body=f"<p>{html.escape(error.message)}</p>").encode(), "text/html"
                )
                return
            if outcome == "succeeded":
                target = (session["success_url"] or "/").replace("{CHECKOUT_SESSION_ID}", session_id)
                self._send(303, b"", "text/plain", {"Location": target})
                return
            if session["status"] != "open":
                text = "<p>このセッションは終了しました (expired).</p>"
            elif outcome == "requires_action":
                text = (
                    f'<form method="post" action="/pay/{session_id}/authenticate"><p>3D セキュア認証</p>'
                    '<button name="result" value="complete">認証する (Complete)</button> '
                    '<button name="result" value="fail">認証に失敗 (Fail)</button></form>'
                )
            else:
                error = "<p role='alert'>カードが拒否されました (declined).</p>" if outcome == "declined" else ""
                cancel = html.escape(session["cancel_url"] or "/")
                text = (
                    f'{error}<form method="post" action="/pay/{session_id}"><label>カード番号 '
                    '<input name="card" inputmode="numeric" autocomplete="cc-number"></label> '
                    f'<button>支払う (Pay)</button></form><p><a href="{cancel}">戻る (Cancel)</a></p>'
                )
            status = HTTPStatus.PAYMENT_REQUIRED if outcome == "declined" else HTTPStatus.OK
            self._send(status, PAGE.format(amount=session["amount_total"], body=text).encode(), "text/html")

    return Handler


def serve_in_thread(**kwargs: Any) -> FakeStripe:
    """Start a fake on a free port in a daemon thread (for tests); call `.shutdown()` when done."""
    fake = FakeStripe(**kwargs)
    threading.Thread(target=fake.serve_forever, name="fake-stripe", daemon=True).start()
    return fake
