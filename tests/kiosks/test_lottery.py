"""The lottery at a kiosk: this facility's rooms in the rounds taking entries, entries per slot,
applying with channel 利用者端末, withdrawing, and after the draw confirming a win, which shows how
to pay. The kiosk clock is 2026-11-10 10:00, inside the January 2027 round's intake."""

from __future__ import annotations

import datetime as dt

import pytest
from django.urls import reverse

from lottery import services as lottery_services
from lottery.models import Eligibility, EntryStatus, LotteryEntry, LotteryOutcome, OfferState, Result
from reservations.models import Channel, Reservation, ReservationState, Residency
from reservations.services import resident_set_pin
from tests.factories import FacilityFactory, FacilityGroupFactory, GroupFactory, ResidentFactory, make_room
from tests.kiosks.conftest import PIN, element, login, qr_of
from tests.lottery.conftest import DRAW_AT, USE_DAY, USE_MONTH, apply, close_and_draw, put_in_lottery

pytestmark = pytest.mark.django_db


@pytest.fixture
def hall(facility):
    room = make_room(facility, "hall", capacity=200)
    put_in_lottery(room)
    return room


@pytest.fixture
def lottery_round(facility):
    return lottery_services.round_create(facility_group=facility.group, use_month=USE_MONTH)


def evening(room):
    return room.facility.time_bands.get(code="ev")


def test_the_kiosk_lists_its_own_facilitys_rooms_in_rounds_taking_entries(clock, tablet, hall, lottery_round):
    client, _kiosk = tablet
    neighbour = make_room(FacilityFactory(group=hall.facility.group, name="隣の会館"), "hall")
    put_in_lottery(neighbour)
    other_group = make_room(
        FacilityFactory(group=FacilityGroupFactory(code="sports", name="スポーツ施設"), name="別グループ会館"), "hall"
    )
    put_in_lottery(other_group)
    lottery_services.round_create(facility_group=other_group.facility.group, use_month=USE_MONTH)

    page = client.get(reverse("kiosks:lottery")).content.decode()
    main = element(page, "main")
    assert "2027年1月利用分の抽選" in main
    assert reverse("kiosks:lottery_room", args=[lottery_round.pk, hall.pk]) in main
    assert "隣の会館" not in main and f"/rooms/{neighbour.pk}/" not in main and "別グループ会館" not in main
    assert "申し込むには、ログインしてください" in main
    assert client.get(reverse("kiosks:lottery_room", args=[lottery_round.pk, neighbour.pk])).status_code == 404

    room_page = client.get(reverse("kiosks:lottery_room", args=[lottery_round.pk, hall.pk])).content.decode()
    assert room_page.count("申込0件") == 31 * 3  # every day and band of January, no entries yet
    assert "/kiosk/lottery/apply/" not in room_page  # applying needs a login


def test_a_resident_applies_at_the_kiosk_sees_the_entry_and_withdraws_it(clock, tablet, hall, lottery_round, resident):
    client, _kiosk = tablet
    someone = ResidentFactory()
    apply(someone, hall)  # one entry already on that slot
    login(client, resident)
    room_page = client.get(reverse("kiosks:lottery_room", args=[lottery_round.pk, hall.pk])).content.decode()
    apply_url = reverse("kiosks:lottery_apply", args=[hall.pk, USE_DAY, evening(hall).pk])
    assert f'href="{apply_url}">申込1件・申し込む' in room_page

    confirm = client.get(apply_url).content.decode()
    assert "2027年1月9日(土)" in confirm and "この枠の抽選に申し込む" in confirm
    response = client.post(apply_url)
    assert response.status_code == 302
    entry = LotteryEntry.objects.get(resident=resident)
    assert entry.channel == Channel.KIOSK and entry.created_by == resident.user and entry.rank == 1
    assert response["Location"] == reverse("kiosks:lottery_my") + f"?applied={entry.pk}"
    mine = client.get(response["Location"]).content.decode()
    assert "抽選に申し込みました（第1希望）" in mine and hall.name in mine

    again = client.post(apply_url)
    assert again.status_code == 409 and "すでに申し込んでいます" in again.content.decode()

    withdrawn = client.post(reverse("kiosks:lottery_withdraw", args=[entry.pk]))
    assert withdrawn.status_code == 302
    entry.refresh_from_db()
    assert entry.status == EntryStatus.WITHDRAWN and entry.withdraw_channel == Channel.KIOSK


def test_a_group_representative_applies_for_the_group(clock, tablet, hall, lottery_round, resident):
    client, _kiosk = tablet
    group = GroupFactory(representative=resident, name="春日卓球会")
    login(client, resident)
    apply_url = reverse("kiosks:lottery_apply", args=[hall.pk, USE_DAY, evening(hall).pk])
    assert "春日卓球会" in client.get(apply_url).content.decode()
    assert client.post(apply_url, {"group": group.pk}).status_code == 302
    assert LotteryEntry.objects.get().group == group

    stranger = GroupFactory()
    refused = client.post(apply_url, {"group": stranger.pk})
    assert refused.status_code == 403 and LotteryEntry.objects.count() == 1


def test_refusals_are_explained_and_other_facilities_rooms_are_refused(clock, tablet, hall, lottery_round, resident):
    client, _kiosk = tablet
    ward_only = make_room(hall.facility, "ward-hall")
    put_in_lottery(ward_only, Eligibility.WARD)
    elsewhere = make_room(FacilityFactory(group=hall.facility.group), "hall")
    put_in_lottery(elsewhere)
    resident.residency = Residency.OUTSIDER
    resident.save(update_fields=["residency"])
    login(client, resident)
    refused = client.post(reverse("kiosks:lottery_apply", args=[ward_only.pk, USE_DAY, evening(ward_only).pk]))
    assert refused.status_code == 403 and "区内在住・在勤・在学の方と区内団体のみ" in refused.content.decode()
    foreign = client.post(reverse("kiosks:lottery_apply", args=[elsewhere.pk, USE_DAY, evening(elsewhere).pk]))
    assert foreign.status_code == 404
    assert not LotteryEntry.objects.exists()


def test_a_winner_confirms_at_the_kiosk_and_is_shown_how_to_pay(clock, tablet, hall, lottery_round, resident):
    client, _kiosk = tablet
    apply(resident, hall)
    loser = ResidentFactory(full_name="落選 次郎")
    resident_set_pin(resident_id=loser.pk, pin=PIN)
    apply(loser, hall)
    close_and_draw(lottery_round)
    won = LotteryOutcome.objects.select_related("entry").get(result=Result.WON)
    if won.entry.resident_id != resident.pk:  # the draw is random: let the test's resident be the winner
        resident, loser = loser, resident
    clock.move_to(DRAW_AT + dt.timedelta(hours=1))

    login(client, loser)
    theirs = element(client.get(reverse("kiosks:lottery_my")).content.decode(), "main")
    assert "次点" in theirs
    assert "当選を確定する" not in theirs
    stolen = client.post(reverse("kiosks:lottery_confirm", args=[won.pk]))
    assert stolen.status_code == 404
    client.post(reverse("kiosks:logout"))

    login(client, resident)
    mine = client.get(reverse("kiosks:lottery_my")).content.decode()
    assert reverse("kiosks:lottery_confirm", args=[won.pk]) in mine and "当選を確定する" in mine
    response = client.post(reverse("kiosks:lottery_confirm", args=[won.pk]))
    won.refresh_from_db()
    assert won.offer_state == OfferState.CONFIRMED
    reservation = Reservation.objects.get(pk=won.reservation_id)
    assert reservation.state == ReservationState.PROVISIONAL
    assert response["Location"] == reverse("kiosks:booking_done", args=[reservation.pk]) + "?from=lottery"
    done = client.get(response["Location"]).content.decode()
    pay_url = "http://testserver" + reverse("payments:booking", args=[reservation.pk])
    assert "当選を確定しました" in done and pay_url in done
    assert qr_of(pay_url, "お支払いページのQRコード") in done
    assert qr_of(reservation.reference, "予約番号のQRコード") in done

    twice = client.post(reverse("kiosks:lottery_confirm", args=[won.pk]))
    assert twice.status_code == 409 and "確定・辞退の対象ではありません" in twice.content.decode()
