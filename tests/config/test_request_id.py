"""config/request_id.py: one id per request, in the response and in every log line; and in Celery tasks."""

from __future__ import annotations

import json
import logging
import logging.config
from types import SimpleNamespace

import pytest
from django.http import HttpRequest, HttpResponse
from django.test import Client, RequestFactory

from config import request_id
from config.logging import build
from config.request_id import RequestIdFilter, RequestIdMiddleware


@pytest.mark.django_db
def test_a_well_formed_id_from_the_load_balancer_is_kept_and_echoed(client: Client) -> None:
    response = client.get("/healthz", HTTP_X_REQUEST_ID="lb-7f3a9c0e-1")
    assert response["X-Request-ID"] == "lb-7f3a9c0e-1"


@pytest.mark.django_db
@pytest.mark.parametrize("sent", ["", "has space", "line\nbreak", "x" * 65, '"quoted"', "-leading-dash"])
def test_a_missing_or_malformed_id_is_replaced_by_a_fresh_one(client: Client, sent: str) -> None:
    first = client.get("/healthz", HTTP_X_REQUEST_ID=sent)["X-Request-ID"]
    second = client.get("/healthz", HTTP_X_REQUEST_ID=sent)["X-Request-ID"]
    assert first != sent and len(first) == 32 and int(first, 16) >= 0
    assert first != second


def test_every_log_line_inside_a_request_carries_its_id(caplog: pytest.LogCaptureFixture) -> None:
    seen: list[str] = []

    def view(request: HttpRequest) -> HttpResponse:
        logging.getLogger("tests.request_id").warning("inside the view")
        seen.append(request_id.current())
        return HttpResponse("ok")

    caplog.handler.addFilter(RequestIdFilter())
    with caplog.at_level(logging.WARNING, logger="tests.request_id"):
        response = RequestIdMiddleware(view)(RequestFactory().get("/", HTTP_X_REQUEST_ID="abc-123"))
    assert response["X-Request-ID"] == "abc-123" == seen[0]
    assert [r.request_id for r in caplog.records] == ["abc-123"]  # type: ignore[attr-defined]
    assert request_id.current() == "-"  # reset after the request


def test_json_log_lines_have_the_request_id_and_the_extras() -> None:
    formatter = logging.config.DictConfigurator(build(json=True)).configure_custom(
        dict(build(json=True)["formatters"]["default"])
    )
    record = logging.LogRecord("reservations", logging.WARNING, __file__, 1, "予約 %s", ("R-1",), None)
    record.request_id = "req-1"
    record.facility_id = 7
    line = json.loads(formatter.format(record))
    assert line["message"] == "予約 R-1"
    assert line["level"] == "WARNING" and line["logger"] == "reservations"
    assert line["request_id"] == "req-1" and line["facility_id"] == 7
    assert "time" in line


def test_a_task_logs_under_the_id_of_the_request_that_queued_it() -> None:
    headers: dict[str, str] = {}
    token = request_id.request_id.set("req-42")
    try:
        request_id._before_task_publish(headers=headers)
    finally:
        request_id.request_id.reset(token)
    assert headers == {"request_id": "req-42"}

    task = SimpleNamespace(request=SimpleNamespace(request_id=headers["request_id"]))
    request_id._task_prerun(task_id="t-1", task=task)
    assert request_id.current() == "req-42"
    request_id._task_postrun(task_id="t-1")
    assert request_id.current() == "-"


def test_a_task_queued_outside_a_request_logs_under_its_own_id() -> None:
    headers: dict[str, str] = {}
    request_id._before_task_publish(headers=headers)
    assert headers == {}
    request_id._task_prerun(task_id="t-2", task=SimpleNamespace(request=SimpleNamespace()))
    assert request_id.current() == "task-t-2"
    request_id._task_postrun(task_id="t-2")
