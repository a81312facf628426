"""lottery/views.py: the public round page (commitment, seed, download, verify), counts during
intake, applying, my entries and results, confirming."""

from __future__ import annotations

import datetime as dt
import json

import pytest
import time_machine
from django.test import Client
from django.urls import reverse

from lottery import domain, services
from lottery.models import EntryStatus, LotteryEntry, LotteryOutcome, OfferState, Result
from reservations.models import Channel
from tests.factories import GroupFactory, ResidentFactory, StaffFactory
from tests.lottery.conftest import AFTER_CLOSE, DRAW_AT, INTAKE_NOW, USE_DAY, apply, band_ids, close_and_draw

pytestmark = pytest.mark.django_db


@pytest.fixture
def clock():
    with time_machine.travel(INTAKE_NOW, tick=False) as traveller:
        yield traveller


def apply_url(hall, day=USE_DAY, *codes: str) -> str:
    ids = band_ids(hall.facility, *(codes or ("ev",)))
    return reverse("lottery:apply", args=[hall.pk, day]) + "?" + "&".join(f"bands={i}" for i in ids)


@pytest.mark.smoke
def test_nav_link_and_index_list_the_open_round(client: Client, clock, hall, lottery_round):
    home = client.get("/").content.decode()
    assert "抽選申込" in home and reverse("lottery:index") in home
    page = client.get(reverse("lottery:index")).content.decode()
    assert reverse("lottery:round", args=[lottery_round.pk]) in page
    assert "申込受付中の抽選" in page


def test_room_page_shows_entries_per_slot_and_links_to_apply(client: Client, clock, hall, lottery_round):
    for _ in range(3):
        apply(ResidentFactory(), hall)
    client.force_login(ResidentFactory().user)
    html = client.get(reverse("lottery:round_room", args=[lottery_round.pk, hall.pk])).content.decode()
    assert apply_url(hall).replace("&", "&amp;") in html
    assert '>3<span class="visually-hidden">' in html


@pytest.mark.smoke
def test_applying_on_the_web_records_the_channel_and_lists_it(client: Client, clock, hall, lottery_round):
    resident = ResidentFactory()
    client.force_login(resident.user)
    confirm = client.get(apply_url(hall))
    assert confirm.status_code == 200 and "この枠の抽選に申し込む" in confirm.content.decode()
    ids = band_ids(hall.facility, "ev")
    response = client.post(reverse("lottery:apply", args=[hall.pk, USE_DAY]), {"bands": ids})
    assert response.status_code == 302 and response["Location"] == reverse("lottery:my_entries")
    entry = LotteryEntry.objects.get()
    assert (entry.resident_id, entry.channel, entry.rank) == (resident.pk, Channel.WEB, 1)
    mine = client.get(reverse("lottery:my_entries")).content.decode()
    assert "第1希望" in mine and "取り下げる" in mine


def test_the_same_person_through_a_group_is_refused_with_the_message(client: Client, clock, hall, lottery_round):
    resident = ResidentFactory()
    group = GroupFactory(representative=resident)
    apply(resident, hall)
    client.force_login(resident.user)
    response = client.post(
        reverse("lottery:apply", args=[hall.pk, USE_DAY]), {"bands": band_ids(hall.facility, "ev"), "group": group.pk}
    )
    assert response.status_code == 409
    assert "個人と代表する団体" in response.content.decode()
    assert LotteryEntry.objects.count() == 1


def test_withdraw_and_rank_change_from_my_entries(client: Client, clock, hall, lottery_round):
    resident = ResidentFactory()
    first = apply(resident, hall)
    second = apply(resident, hall, USE_DAY + dt.timedelta(days=1))
    client.force_login(resident.user)
    client.post(reverse("lottery:entry_rank", args=[second.pk]), {"rank": 1})
    assert LotteryEntry.objects.get(pk=second.pk).rank == 1
    client.post(reverse("lottery:entry_withdraw", args=[first.pk]))
    assert LotteryEntry.objects.get(pk=first.pk).status == EntryStatus.WITHDRAWN
    other = ResidentFactory()
    client.force_login(other.user)
    client.post(reverse("lottery:entry_withdraw", args=[second.pk]))
    assert LotteryEntry.objects.get(pk=second.pk).status == EntryStatus.ACTIVE


def test_commitment_before_the_draw_seed_download_and_verify_after(client: Client, hall, lottery_round):
    residents = [ResidentFactory() for _ in range(3)]
    for resident in residents:
        apply(resident, hall)
    services.round_close(round_id=lottery_round.pk, now=AFTER_CLOSE)
    lottery_round.refresh_from_db()
    page = client.get(reverse("lottery:round", args=[lottery_round.pk])).content.decode()
    assert lottery_round.seed_commitment in page and lottery_round.seed not in page
    assert client.get(reverse("lottery:round_download", args=[lottery_round.pk])).status_code == 404

    services.round_draw(round_id=lottery_round.pk, now=DRAW_AT)
    page = client.get(reverse("lottery:round", args=[lottery_round.pk])).content.decode()
    assert lottery_round.seed in page
    download = client.get(reverse("lottery:round_download", args=[lottery_round.pk]))
    document = json.loads(download.content)
    assert document["seed"] == lottery_round.seed and len(document["entries"]) == 3
    assert not any(r.full_name in download.content.decode() for r in residents)  # anonymised
    assert domain.verify_document(domain.document_from_json(document)).ok
    verify = client.get(reverse("lottery:round_verify", args=[lottery_round.pk])).content.decode()
    assert "一致しました。" in verify


def test_results_show_outcome_competitors_position_and_confirm(client: Client, hall, lottery_round):
    residents = [ResidentFactory() for _ in range(3)]
    for resident in residents:
        apply(resident, hall)
    close_and_draw(lottery_round)
    won = LotteryOutcome.objects.select_related("entry__resident").get(result=Result.WON)
    lost = LotteryOutcome.objects.select_related("entry__resident").exclude(result=Result.WON).first()
    with time_machine.travel(DRAW_AT + dt.timedelta(hours=1), tick=False):
        client.force_login(lost.entry.resident.user)
        html = client.get(reverse("lottery:my_entries")).content.decode()
        assert "この枠の申込数" in html and "3件" in html and "抽選順が先の方に当選しました" in html
        client.force_login(won.entry.resident.user)
        html = client.get(reverse("lottery:my_entries")).content.decode()
        assert "当選を確定する" in html
        response = client.post(reverse("lottery:outcome_confirm", args=[won.pk]))
        assert response.status_code == 302
    won.refresh_from_db()
    assert won.offer_state == OfferState.CONFIRMED


def test_staff_without_a_resident_record_are_sent_to_the_counter(client: Client, clock, hall, lottery_round):
    client.force_login(StaffFactory())
    response = client.get(reverse("lottery:my_entries"))
    assert response.status_code == 403
