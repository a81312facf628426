"""Monthly reports (kiosks/report_selectors.py, report_views.py, report_export.py): the ward's four
tables by channel and occupancy per facility, from one known October 2026, with exact figures."""

from __future__ import annotations

import csv
import datetime as dt
import io
from types import SimpleNamespace

import pytest
import time_machine
from django.core.management import CommandError, call_command
from django.test import Client
from django.urls import reverse

from kiosks import access_counter, report_services
from kiosks.models import AccessCount, Kiosk, ValidUserCount
from kiosks.report_selectors import (
    ChannelCounts,
    MonthRefused,
    ValidUsersSource,
    monthly_report,
    parse_month,
)
from kiosks.services import kiosk_access_record
from lottery import services as lottery_services
from reservations import services as booking_services
from reservations.domain import TOKYO
from reservations.models import (
    Channel,
    Facility,
    Group,
    ReservationKind,
    Resident,
    ResidentStatus,
    StaffRole,
    User,
)
from tests.factories import (
    DepartmentFactory,
    FacilityFactory,
    GroupFactory,
    ResidentFactory,
    StaffFactory,
    make_divisible_hall,
    make_room,
    make_staff,
    staff_client,
)
from tests.lottery.conftest import put_in_lottery

pytestmark = pytest.mark.django_db

OCT = dt.date(2026, 10, 1)
REPORT_NOW = dt.datetime(2026, 11, 10, 10, 0, tzinfo=TOKYO)


def at(month: int, day: int, hour: int = 10, minute: int = 0, second: int = 0) -> dt.datetime:
    return dt.datetime(2026, month, day, hour, minute, second, tzinfo=TOKYO)


def bands(facility: Facility, *codes: str) -> list[int]:
    return [b.pk for b in facility.time_bands.filter(code__in=codes).order_by("order")]


def resident(name: str, *, channel: str = Channel.WEB, activated: dt.datetime | None, **fields: object) -> Resident:
    return ResidentFactory(
        full_name=name,
        registered_channel=channel,
        registered_at=activated or at(10, 20),
        activated_at=activated,
        **fields,
    )


@pytest.fixture(autouse=True)
def _no_stray_counts():
    """Page views of earlier tests in this process must not land in these figures."""
    access_counter.tally.take()
    yield
    access_counter.tally.take()


@pytest.fixture
def world() -> SimpleNamespace:
    """October 2026 in two facilities of two departments.

    Facility A (春日): a plain room a1 and a divisible gym (whole + two halves: units gym-a, gym-b),
    three bands (am 3 h, pm 4 h, ev 3.5 h), closed all day on 10-05. Facility B (向丘): room b1.
    """
    staff = StaffFactory(is_superuser=True)
    a = FacilityFactory(name="春日区民センター", department=DepartmentFactory(code="community", name="地域振興課"))
    b = FacilityFactory(name="向丘地域活動センター", department=DepartmentFactory(code="sports", name="スポーツ振興課"))
    a1 = make_room(a, "a1")
    gym, gym_a, _gym_b = make_divisible_hall(a)
    b1 = make_room(b, "b1")
    put_in_lottery(gym)
    put_in_lottery(b1)
    booking_services.closure_create(facility=a, date=dt.date(2026, 10, 5), reason="設備点検")

    # Registrations: valid at the end of October are r1, r2, r4 (internet), r8 (kiosk), r3 (counter).
    r1 = resident("春日 一郎", activated=at(9, 1))
    r2 = resident("春日 二郎", activated=at(9, 1))
    r3 = resident("春日 三郎", channel=Channel.COUNTER, activated=at(10, 15))
    r4 = resident("春日 四郎", activated=at(9, 1))
    resident("仮登録 五郎", activated=None, status=ResidentStatus.PENDING)
    resident("停止 六郎", activated=at(9, 1), status=ResidentStatus.SUSPENDED)
    resident("十一月 七郎", activated=at(11, 3))
    resident("端末 八郎", channel=Channel.KIOSK, activated=at(10, 2))
    disabled = resident("退会 九郎", activated=at(9, 1))
    User.objects.filter(pk=disabled.user_id).update(is_active=False)
    GroupFactory(name="卓球の会", representative=r1, activated_at=at(10, 1), registered_at=at(9, 28))
    GroupFactory(
        name="合唱団",
        representative=r2,
        registered_channel=Channel.COUNTER,
        activated_at=at(9, 2),
        registered_at=at(9, 2),
    )
    GroupFactory(name="仮の会", representative=r4, status=ResidentStatus.PENDING, registered_at=at(10, 30))

    def book(who, room, day, codes, channel, when):
        return booking_services.reservation_create(
            resident=who,
            room_id=room.pk,
            date=day,
            band_ids=bands(room.facility, *codes),
            channel=channel,
            booked_by=staff if channel == Channel.COUNTER else who.user,
            now=when,
        )

    # First-come applications made in October: A internet 3, kiosk 1, counter 1; B internet 1.
    book(r1, a1, dt.date(2026, 10, 20), ["am"], Channel.WEB, at(10, 3))
    book(r2, a1, dt.date(2026, 10, 20), ["pm"], Channel.KIOSK, at(10, 3))
    book(r3, gym, dt.date(2026, 10, 21), ["am", "pm"], Channel.COUNTER, at(10, 4))
    cancelled = book(r4, a1, dt.date(2026, 10, 22), ["ev"], Channel.WEB, at(10, 3))
    booking_services.reservation_cancel(
        reservation_id=cancelled.pk, resident=r4, cancelled_by=r4.user, channel=Channel.WEB, now=at(10, 6)
    )
    book(r1, a1, dt.date(2026, 11, 5), ["am"], Channel.WEB, at(10, 2))  # made in October, used in November
    book(r4, b1, dt.date(2026, 10, 20), ["am"], Channel.WEB, at(10, 3))
    # Made in September for October: uses October's time, is not one of October's applications.
    book(r2, gym_a, dt.date(2026, 10, 25), ["ev"], Channel.WEB, at(9, 2))
    # A staff block: uses time, is no application.
    booking_services.block_create(
        room_id=a1.pk,
        date=dt.date(2026, 10, 23),
        band_ids=bands(a, "am"),
        note="区の行事",
        staff_user=staff,
        now=at(9, 20),
    )

    # December's lottery (intake 10-01 → 10-10, draw 10-11): A gym internet, kiosk, counter, one
    # internet entry withdrawn; B internet. Every entry is alone on its slot, so each one wins.
    december = lottery_services.round_create(facility_group=a.group, use_month=dt.date(2026, 12, 1))

    def apply(who, room, day, channel):
        return lottery_services.entry_apply(
            resident=who,
            room_id=room.pk,
            date=dt.date(2026, 12, day),
            band_ids=bands(room.facility, "ev"),
            channel=channel,
            created_by=who.user,
            now=at(10, 5),
        )

    apply(r1, gym, 12, Channel.WEB)
    apply(r2, gym, 13, Channel.KIOSK)
    apply(r3, gym, 14, Channel.COUNTER)
    withdrawn = apply(r4, gym, 15, Channel.WEB)
    lottery_services.entry_withdraw(entry_id=withdrawn.pk, resident=r4, channel=Channel.WEB, now=at(10, 6))
    apply(r1, b1, 12, Channel.WEB)
    assert lottery_services.round_close(round_id=december.pk, now=at(10, 10, 23, 59, 59))
    lottery_services.round_draw(round_id=december.pk, now=at(10, 11, 9))
    # January's lottery takes entries in November: not October's.
    lottery_services.round_create(facility_group=a.group, use_month=dt.date(2027, 1, 1))
    lottery_services.entry_apply(
        resident=r2,
        room_id=b1.pk,
        date=dt.date(2027, 1, 9),
        band_ids=bands(b, "ev"),
        channel=Channel.WEB,
        created_by=r2.user,
        now=at(11, 3),
    )

    # Kiosk tablets: A 5 + 2 in October (4 more on 11-01), B 1.
    kiosk_a = Kiosk.objects.create(facility=a, name="ロビー", created_at=at(9, 1), created_by=staff)
    kiosk_b = Kiosk.objects.create(facility=b, name="受付前", created_at=at(9, 1), created_by=staff)
    for day, times, kiosk in ((3, 5, kiosk_a), (31, 2, kiosk_a), (10, 1, kiosk_b)):
        for _ in range(times):
            kiosk_access_record(kiosk_id=kiosk.pk, date=dt.date(2026, 10, day))
    for _ in range(4):
        kiosk_access_record(kiosk_id=kiosk_a.pk, date=dt.date(2026, 11, 1))

    return SimpleNamespace(a=a, b=b, staff=staff, residents=(r1, r2, r3, r4))


def counted_page_views(world: SimpleNamespace) -> None:
    """Internet and staff-terminal page views through the real middleware around midnight of
    10-31 (Tokyo): 4 internet and 2 staff-terminal views in October, 2 internet on 11-01."""
    manager = make_staff(StaffRole.FACILITY_MANAGER, facilities=[world.a])
    desk = staff_client(manager)  # logging in posts the code: no page view
    visitor = Client()
    with time_machine.travel(at(10, 15), tick=False):
        for _ in range(3):
            assert visitor.get(reverse("reservations:home")).status_code == 200
        assert desk.get(reverse("staff:index")).status_code == 200
        assert desk.get(reverse("staff:today", args=[world.a.pk])).status_code == 200
        # Not page views: the JSON API, a missing page, a redirect, a POST.
        visitor.get("/api/v1/facilities")
        assert visitor.get("/no-such-page/").status_code == 404
        assert visitor.get(reverse("reservations:my_bookings")).status_code == 302
        visitor.post(reverse("set_language"), {"language": "ja"})
    with time_machine.travel(at(10, 31, 23, 59, 30), tick=False):
        assert visitor.get(reverse("reservations:home")).status_code == 200
    with time_machine.travel(at(11, 1, 0, 0, 30), tick=False):
        for _ in range(2):
            assert visitor.get(reverse("reservations:home")).status_code == 200


def test_the_four_tables_and_occupancy_of_a_known_month(world):
    counted_page_views(world)
    assert report_services.access_counts_flush(now=REPORT_NOW) == 4 + 2 + 2

    report = monthly_report(month=OCT, facility_ids=None, now=REPORT_NOW)

    assert report.ward_wide and not report.in_progress
    assert report.as_of == dt.datetime(2026, 11, 1, tzinfo=TOKYO)
    # 有効登録者数 at the end of October, worked out from today's statuses (nothing was recorded).
    assert report.valid_users is not None
    assert report.valid_users.individuals == ChannelCounts(web=3, kiosk=1, counter=1)
    assert report.valid_users.groups == ChannelCounts(web=1, kiosk=0, counter=1)
    assert report.valid_users.source == ValidUsersSource.ESTIMATED
    # 抽選申込件数: October's entries, the withdrawn one and November's not counted.
    assert report.lottery == ChannelCounts(web=2, kiosk=1, counter=1)
    # 予約申込件数: first-come and lottery wins made in October; blocks and September's not.
    assert report.reservations_by_kind == {
        ReservationKind.FIRST_COME: ChannelCounts(web=4, kiosk=1, counter=1),
        ReservationKind.LOTTERY: ChannelCounts(web=2, kiosk=1, counter=1),
    }
    assert report.reservations == ChannelCounts(web=6, kiosk=2, counter=2)
    # アクセス件数: page views by the middleware, kiosk requests by the tablets.
    assert report.accesses == ChannelCounts(web=4, kiosk=8, counter=2)

    by_name = {f.facility.name: f for f in report.facilities}
    a, b = by_name["春日区民センター"], by_name["向丘地域活動センター"]
    assert (a.lottery, b.lottery) == (ChannelCounts(1, 1, 1), ChannelCounts(web=1))
    assert (a.reservations, b.reservations) == (ChannelCounts(4, 2, 2), ChannelCounts(web=2))
    assert (a.kiosk_accesses, b.kiosk_accesses) == (7, 1)
    # A: 3 units × 3 bands × 31 days = 279 slots, 9 closed on 10-05; booked a1 am + a1 pm + the
    # whole gym am–pm (both units: 4) + gym-a ev (booked in September) = 7, blocked 1.
    assert (a.utilisation.slots, a.utilisation.closed, a.utilisation.booked, a.utilisation.blocked) == (270, 9, 7, 1)
    assert a.utilisation.hours == pytest.approx(3 * 10.5 * 31 - 31.5)  # 945 h
    assert a.utilisation.used_hours == pytest.approx(3 + 4 + 2 * 7 + 3.5 + 3)  # 27.5 h
    assert a.utilisation.rate_text == "2.9%"
    assert (b.utilisation.slots, b.utilisation.booked, b.utilisation.hours) == (93, 1, pytest.approx(325.5))
    assert b.utilisation.rate_text == "0.9%"
    assert report.utilisation.rate == pytest.approx(30.5 / 1270.5)

    # The counts stay in the database: a second flush finds nothing new and the figures hold.
    assert report_services.access_counts_flush(now=REPORT_NOW) == 0
    assert dict(AccessCount.objects.filter(date=dt.date(2026, 11, 1)).values_list("channel", "count")) == {"web": 2}


def test_valid_users_are_recorded_after_the_month_and_stay_as_they_were(world):
    r1 = world.residents[0]
    summary = report_services.reports_tick(now=at(11, 1, 0, 5))
    assert summary.recorded_month == OCT
    assert report_services.reports_tick(now=at(11, 1, 0, 10)).recorded_month is None  # once
    assert ValidUserCount.objects.filter(month=OCT).count() == 6  # 2 kinds × 3 channels, zeros included

    Resident.objects.filter(pk=r1.pk).update(status=ResidentStatus.SUSPENDED)
    Group.objects.filter(representative=r1).update(status=ResidentStatus.SUSPENDED)
    users = monthly_report(month=OCT, facility_ids=None, now=REPORT_NOW).valid_users
    assert users is not None and users.source == ValidUsersSource.RECORDED
    assert users.individuals == ChannelCounts(web=3, kiosk=1, counter=1)
    assert users.groups == ChannelCounts(web=1, counter=1)
    # November is still running: as of now, r1 and the group are gone and 十一月 七郎 is in.
    current = monthly_report(month=dt.date(2026, 11, 1), facility_ids=None, now=REPORT_NOW).valid_users
    assert current is not None and current.source == ValidUsersSource.CURRENT
    assert current.individuals == ChannelCounts(web=3, kiosk=1, counter=1)
    assert current.groups == ChannelCounts(counter=1)


def test_a_facility_manager_sees_only_their_facility_and_no_ward_figures(world):
    manager = staff_client(make_staff(StaffRole.FACILITY_MANAGER, facilities=[world.a]))
    report = monthly_report(month=OCT, facility_ids=frozenset({world.a.pk}), now=REPORT_NOW)
    assert [f.facility.pk for f in report.facilities] == [world.a.pk]
    assert report.valid_users is None and report.accesses is None
    assert report.lottery == ChannelCounts(1, 1, 1) and report.kiosk_accesses == 7

    page = manager.get(reverse("staff:reports"), {"month": "2026-10"})
    assert page.status_code == 200
    html = page.content.decode()
    assert "春日区民センター" in html and "向丘地域活動センター" not in html
    assert "有効登録者数（月末現在）" not in html
    exported = manager.get(reverse("staff:reports_csv"), {"month": "2026-10"}).content.decode("utf-8-sig")
    assert "春日区民センター" in exported and "向丘地域活動センター" not in exported
    assert "有効登録者数" not in exported and "アクセス件数," not in exported

    # A department admin sees the department's facilities; counter staff see no reports.
    department = staff_client(make_staff(StaffRole.DEPARTMENT_ADMIN, departments=[world.b.department]))
    html = department.get(reverse("staff:reports"), {"month": "2026-10"}).content.decode()
    assert "向丘地域活動センター" in html and "春日区民センター" not in html
    assert reverse("staff:reports") in manager.get(reverse("staff:index")).content.decode()
    counter = staff_client(make_staff(StaffRole.COUNTER, facilities=[world.a]))
    assert reverse("staff:reports") not in counter.get(reverse("staff:index")).content.decode()
    assert counter.get(reverse("staff:reports")).status_code == 403
    assert counter.get(reverse("staff:reports_csv")).status_code == 403
    assert Client().get(reverse("staff:reports"))["Location"].startswith(reverse("login"))


def test_an_auditor_gets_the_ward_tables_the_chart_and_the_csv(world):
    auditor = staff_client(make_staff(StaffRole.AUDITOR))
    with time_machine.travel(REPORT_NOW, tick=False):
        page = auditor.get(reverse("staff:reports"), {"month": "2026-10"})
        assert page.status_code == 200
        html = page.content.decode()
        for heading in ("有効登録者数（月末現在）", "抽選申込件数", "予約申込件数", "アクセス件数", "施設別稼働率"):
            assert heading in html
        assert html.count("<svg") == 2 and "<script" not in html.split("<main", 1)[1]
        assert ' style="' not in html and "<style" not in html
        assert 'class="bar-web"' in html and "2.9%" in html

        response = auditor.get(reverse("staff:reports_csv"), {"month": "2026-10"})
    assert response.status_code == 200
    assert response["Content-Type"] == "text/csv; charset=utf-8"
    assert response["Content-Disposition"] == 'attachment; filename="monthly-report-2026-10.csv"'
    assert response.content.startswith("\ufeff".encode())  # the BOM Excel needs for UTF-8
    rows = list(csv.reader(io.StringIO(response.content.decode("utf-8-sig"))))

    def section(title: str) -> list[list[str]]:
        start = rows.index([title])
        end = rows.index([], start)
        return rows[start + 1 : end]

    assert section("有効登録者数（月末現在）")[:4] == [
        ["分類", "インターネット", "利用者端末", "窓口", "計"],
        ["個人", "3", "1", "1", "5"],
        ["団体", "1", "0", "1", "2"],
        ["計", "4", "1", "2", "7"],
    ]
    lottery = section("抽選申込件数")
    assert lottery[0] == ["施設コード", "施設名", "インターネット", "利用者端末", "窓口", "計"]
    assert [world.a.code, "春日区民センター", "1", "1", "1", "3"] in lottery
    assert lottery[-1] == ["", "計", "2", "1", "1", "4"]
    assert section("予約申込件数") == [
        ["種類", "インターネット", "利用者端末", "窓口", "計"],
        ["随時予約", "4", "1", "1", "6"],
        ["抽選当選", "2", "1", "1", "4"],
        ["計", "6", "2", "2", "10"],
    ]
    assert section("アクセス件数")[1] == ["アクセス件数", "0", "8", "0", "8"]
    rates = section("施設別稼働率")
    assert [world.a.code, "春日区民センター", "270", "7", "1", "9", "945.0", "27.5", "2.9"] in rates
    assert rates[-2] == ["", "計", "363", "8", "1", "9", "1270.5", "30.5", "2.4"]


def test_the_month_picker_refuses_bad_and_future_months_clearly(world):
    auditor = staff_client(make_staff(StaffRole.AUDITOR))
    with time_machine.travel(REPORT_NOW, tick=False):
        bad = auditor.get(reverse("staff:reports"), {"month": "10/2026"})
        assert bad.status_code == 400 and "月は「2026-10」の形で指定してください。" in bad.content.decode()
        future = auditor.get(reverse("staff:reports_csv"), {"month": "2026-12"})
        assert future.status_code == 400 and "まだ始まっていない月" in future.content.decode()
        default = auditor.get(reverse("staff:reports")).content.decode()
        assert 'value="2026-10"' in default  # the last complete month
        assert "?month=2026-11" in default and "?month=2026-09" in default
    with pytest.raises(MonthRefused):
        parse_month("2026-13", now=REPORT_NOW)
    assert parse_month("2026-11", now=REPORT_NOW) == dt.date(2026, 11, 1)


def test_english_readers_get_english_tables(world):
    auditor = staff_client(make_staff(StaffRole.AUDITOR))
    auditor.cookies["lang"] = "en"
    with time_machine.travel(REPORT_NOW, tick=False):
        html = auditor.get(reverse("staff:reports"), {"month": "2026-10"}).content.decode()
    assert (
        "Monthly report" in html
        and "Lottery applications" in html
        and "Online" in html
        and "Occupancy by facility" in html
    )


def test_the_command_prints_the_ward_report_and_writes_the_same_csv_as_the_page(world, tmp_path):
    auditor = staff_client(make_staff(StaffRole.AUDITOR))
    with time_machine.travel(REPORT_NOW, tick=False):
        text = io.StringIO()
        call_command("monthly_report", "--month", "2026-10", stdout=text)
        as_csv = io.StringIO()
        call_command("monthly_report", "--month", "2026-10", "--csv", stdout=as_csv)
        call_command("monthly_report", "--csv", "--output", str(tmp_path / "oct.csv"), stderr=io.StringIO())
        page_csv = auditor.get(reverse("staff:reports_csv"), {"month": "2026-10"}).content.decode("utf-8")

    lines = text.getvalue().splitlines()
    assert "■ 有効登録者数（月末現在）" in lines
    assert any(line.split() == ["個人", "3", "1", "1", "5"] for line in lines)
    assert any(line.split() == ["計", "6", "2", "2", "10"] for line in lines)  # 予約申込件数
    assert any(line.split()[-3:] == ["945.0", "27.5", "2.9"] for line in lines)
    assert as_csv.getvalue() == page_csv  # one layout: the page's download and the command agree
    assert (tmp_path / "oct.csv").read_bytes().decode("utf-8") == page_csv  # October is the default month
    with pytest.raises(CommandError, match="まだ始まっていない月"), time_machine.travel(REPORT_NOW, tick=False):
        call_command("monthly_report", "--month", "2027-01", stdout=io.StringIO())
