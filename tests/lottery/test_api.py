"""lottery/api.py (mounted at /api/v1/lottery/): rounds, counts, entries, document and verification."""

from __future__ import annotations

import datetime as dt
import json

import pytest
import time_machine
from django.test import Client

from lottery.models import EntryStatus, LotteryEntry, LotteryOutcome, Result
from reservations.models import Channel
from tests.factories import GroupFactory, ResidentFactory
from tests.lottery.conftest import DRAW_AT, INTAKE_NOW, USE_DAY, apply, band_ids, close_and_draw

pytestmark = pytest.mark.django_db

API = "/api/v1/lottery"


@pytest.fixture
def clock():
    with time_machine.travel(INTAKE_NOW, tick=False) as traveller:
        yield traveller


def post(client: Client, url: str, body: dict) -> object:
    return client.post(url, data=json.dumps(body), content_type="application/json")


@pytest.mark.smoke
def test_apply_list_change_and_withdraw(client: Client, clock, hall, lottery_round):
    resident = ResidentFactory()
    client.force_login(resident.user)
    created = post(
        client,
        f"{API}/me/entries",
        {"room_id": hall.pk, "date": "2027-01-09", "band_ids": band_ids(hall.facility, "ev")},
    )
    assert created.status_code == 201, created.content
    entry = created.json()
    assert (entry["rank"], entry["status"], entry["channel"], entry["outcome"]) == (1, "active", "web", None)
    second = post(
        client,
        f"{API}/me/entries",
        {"room_id": hall.pk, "date": "2027-01-10", "band_ids": band_ids(hall.facility, "ev")},
    )
    changed = client.patch(
        f"{API}/me/entries/{second.json()['id']}", data=json.dumps({"rank": 1}), content_type="application/json"
    )
    assert changed.status_code == 200 and changed.json()["rank"] == 1
    ranks = {e["id"]: e["rank"] for e in client.get(f"{API}/me/entries").json()}
    assert ranks == {second.json()["id"]: 1, entry["id"]: 2}
    withdrawn = client.post(f"{API}/me/entries/{entry['id']}/withdraw")
    assert withdrawn.json()["status"] == "withdrawn"
    assert LotteryEntry.objects.get(pk=entry["id"]).status == EntryStatus.WITHDRAWN
    assert LotteryEntry.objects.get(pk=second.json()["id"]).channel == Channel.WEB


def test_refusals_carry_a_code_and_a_japanese_message(client: Client, clock, hall, lottery_round):
    resident = ResidentFactory()
    group = GroupFactory(representative=resident)
    apply(resident, hall)
    client.force_login(resident.user)
    refused = post(
        client,
        f"{API}/me/entries",
        {"room_id": hall.pk, "date": "2027-01-09", "band_ids": band_ids(hall.facility, "ev"), "group_id": group.pk},
    )
    assert refused.status_code == 409
    assert refused.json()["code"] == "same_person" and "個人と代表する団体" in refused.json()["message"]
    english = client.post(
        f"{API}/me/entries",
        data=json.dumps({"room_id": hall.pk, "date": "2027-03-09", "band_ids": band_ids(hall.facility, "ev")}),
        content_type="application/json",
        headers={"Accept-Language": "en"},
    )
    assert english.status_code == 404 and english.json()["code"] == "no_round"
    assert english.json()["message"].isascii()
    assert client.post(f"{API}/me/entries", data="{}", content_type="application/json").status_code == 400
    client.logout()
    assert client.get(f"{API}/me/entries").status_code == 401


def test_counts_during_intake(client: Client, clock, hall, lottery_round):
    for _ in range(2):
        apply(ResidentFactory(), hall)
    apply(ResidentFactory(), hall, USE_DAY + dt.timedelta(days=1))
    counts = client.get(f"{API}/rounds/{lottery_round.pk}/counts").json()
    assert sorted(c["entries"] for c in counts) == [1, 2]
    detail = client.get(f"{API}/rounds/{lottery_round.pk}").json()
    assert detail["state"] == "scheduled" and detail["seed"] == "" and detail["use_month"] == "2027-01"


def test_published_round_document_verify_and_confirm(client: Client, hall, lottery_round):
    residents = [ResidentFactory() for _ in range(3)]
    for resident in residents:
        apply(resident, hall)
    close_and_draw(lottery_round)
    lottery_round.refresh_from_db()
    detail = client.get(f"{API}/rounds/{lottery_round.pk}").json()
    assert detail["seed"] == lottery_round.seed and detail["state"] == "published"
    document = client.get(f"{API}/rounds/{lottery_round.pk}/document").json()
    assert document["commitment"] == lottery_round.seed_commitment and len(document["results"]) == 3
    assert client.get(f"{API}/rounds/{lottery_round.pk}/verify").json()["ok"] is True

    won = LotteryOutcome.objects.select_related("entry__resident").get(result=Result.WON)
    client.force_login(won.entry.resident.user)
    with time_machine.travel(DRAW_AT + dt.timedelta(hours=2), tick=False):
        mine = client.get(f"{API}/me/entries").json()
        assert mine[0]["outcome"]["result"] == "won" and mine[0]["outcome"]["offer_state"] == "awaiting"
        confirmed = client.post(f"{API}/me/outcomes/{won.pk}/confirm")
    assert confirmed.status_code == 200, confirmed.content
    assert confirmed.json()["offer_state"] == "confirmed" and confirmed.json()["reservation_reference"]
    assert client.post(f"{API}/me/outcomes/{won.pk}/decline").json()["code"] == "not_offered"


def test_the_schema_lists_the_lottery_endpoints(client: Client):
    paths = client.get("/api/v1/openapi.json").json()["paths"]
    assert "/api/v1/lottery/me/entries" in paths and "/api/v1/lottery/rounds/{round_id}/verify" in paths
