"""Demo data for a ward the size of Bunkyo: 71 facilities, ~250 rooms, residents, groups, bookings.

Everything is drawn from one `random.Random(seed)`, so a seed and a start month give the same ward
every time. Rows go in with bulk_create and every demo login shares one password hash, because
15,000 residents must load in seconds and password hashing is slow on purpose.
"""

from __future__ import annotations

import base64
import datetime as dt
import random
from collections import Counter
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field

from django.contrib.auth.hashers import make_password
from django.db import transaction
from django_otp.plugins.otp_totp.models import TOTPDevice

from . import domain
from .models import (
    Channel,
    Closure,
    Department,
    Facility,
    FacilityGroup,
    FacilityKind,
    Group,
    Occupancy,
    Purpose,
    Reservation,
    ReservationKind,
    ReservationState,
    Residency,
    Resident,
    ResidentStatus,
    Room,
    RoomEquipment,
    RoomUnit,
    StaffProfile,
    StaffRole,
    Tariff,
    TimeBand,
    User,
    booking_rules,
)
from .services import REFERENCE_ALPHABET

# Published on purpose: `demo_logins` prints them; only demo data ever carries them.
DEMO_PASSWORD = "demo-pass-2026"  # noqa: S105
STAFF_PASSWORD = "staff-demo-2026"  # noqa: S105
ADMIN_PASSWORD = "admin-demo-2026"  # noqa: S105
DEMO_RESIDENT = "10000001"
DEMO_OUTSIDER = "10000002"
STAFF_USER = "staff01"
ADMIN_USER = "admin"
# Staff terminal roles (all with STAFF_PASSWORD): counter staff and a manager of two community
# centres, an admin of their department, a read-only auditor.
MANAGER_USER = "manager01"
DEPARTMENT_USER = "dept01"
AUDITOR_USER = "audit01"
DEMO_COUNTERS = ("kumin-center", "kasuga-center")
DEMO_DEPARTMENT = "kumin"
FIRST_USER_NUMBER = 10_000_001
DEMO_MONTHS = 4  # the start month and the next three
BOOKING_MONTHS = 2  # first-come is open for the current and the next month only
MAX_BOOKINGS = 400
BLOCKS = 24
BATCH = 1000
SYSTEM_LIVE = dt.datetime(2022, 1, 4, 9, 0, tzinfo=domain.TOKYO)

# Town: (postcode, highest 丁目, romaji for codes).
TOWNS: dict[str, tuple[str, int, str]] = {
    "大塚": ("112-0012", 6, "otsuka"),
    "音羽": ("112-0013", 2, "otowa"),
    "春日": ("112-0003", 2, "kasuga"),
    "小石川": ("112-0002", 5, "koishikawa"),
    "後楽": ("112-0004", 2, "koraku"),
    "水道": ("112-0005", 2, "suido"),
    "小日向": ("112-0006", 4, "kohinata"),
    "関口": ("112-0014", 3, "sekiguchi"),
    "目白台": ("112-0015", 3, "mejirodai"),
    "千石": ("112-0011", 4, "sengoku"),
    "白山": ("112-0001", 5, "hakusan"),
    "本駒込": ("113-0021", 6, "honkomagome"),
    "千駄木": ("113-0022", 5, "sendagi"),
    "向丘": ("113-0023", 2, "mukogaoka"),
    "西片": ("113-0024", 2, "nishikata"),
    "根津": ("113-0031", 2, "nezu"),
    "弥生": ("113-0032", 2, "yayoi"),
    "本郷": ("113-0033", 7, "hongo"),
    "湯島": ("113-0034", 4, "yushima"),
}

# Where outsiders, and those who only work or study in the ward, live.
OUTSIDE_TOWNS: list[tuple[str, str]] = [
    ("東京都豊島区池袋", "171-0014"),
    ("東京都豊島区駒込", "170-0003"),
    ("東京都新宿区神楽坂", "162-0825"),
    ("東京都台東区谷中", "110-0001"),
    ("東京都北区田端", "114-0014"),
    ("東京都荒川区西日暮里", "116-0013"),
    ("東京都千代田区神田神保町", "101-0051"),
    ("東京都練馬区豊玉北", "176-0012"),
    ("東京都板橋区板橋", "173-0004"),
    ("東京都中野区中野", "164-0001"),
    ("東京都杉並区阿佐谷南", "166-0004"),
    ("埼玉県川口市本町", "332-0012"),
    ("千葉県市川市八幡", "272-0021"),
    ("神奈川県川崎市中原区小杉町", "211-0063"),
]

DEPARTMENTS: list[tuple[str, str]] = [
    ("kumin", "区民課"),
    ("fukushi", "福祉政策課"),
    ("korei", "高齢福祉課"),
    ("danjo", "男女協働課"),
    ("jido", "児童青少年課"),
    ("keizai", "経済課"),
    ("academy", "アカデミー推進課"),
    ("sports", "スポーツ振興課"),
    ("gakko", "生涯学習課"),
]

FACILITY_GROUPS: list[dict[str, object]] = [
    {"code": "shukai", "name": "集会施設・アカデミー・文化ホール"},
    {
        "code": "sports",
        "name": "スポーツ施設",
        "max_active_bookings_per_month": 6,
        "max_group_bookings_per_month": 10,
    },
    {
        # The ward added its schools later with their own booking start.
        "code": "school",
        "name": "学校開放",
        "first_come_opens_day": 5,
        "max_active_bookings_per_month": 4,
        "max_group_bookings_per_month": 8,
        "payment_days": 14,
    },
]
GROUP_OF_KIND = {
    FacilityKind.COMMUNITY: "shukai",
    FacilityKind.ACADEMY: "shukai",
    FacilityKind.CULTURAL: "shukai",
    FacilityKind.SPORTS: "sports",
    FacilityKind.SCHOOL: "school",
}
CLOSES_ON_HOLIDAYS = {FacilityKind.COMMUNITY, FacilityKind.ACADEMY}

PURPOSES: list[tuple[str, str]] = [
    ("kaigi", "会議"),
    ("koen", "講演会"),
    ("shukai", "集会"),
    ("gakushu", "学習会"),
    ("ongaku", "音楽"),
    ("gassho", "合唱"),
    ("dance", "ダンス"),
    ("taiso", "体操"),
    ("sado", "茶道"),
    ("kado", "華道"),
    ("shodo", "書道"),
    ("igo", "囲碁・将棋"),
    ("ryori", "料理"),
    ("engeki", "演劇"),
    ("tenji", "展示"),
    ("kaiga", "絵画・工作"),
    ("takkyu", "卓球"),
    ("badminton", "バドミントン"),
    ("basketball", "バスケットボール"),
    ("volleyball", "バレーボール"),
    ("tennis", "テニス"),
    ("judo", "柔道"),
    ("kendo", "剣道"),
    ("kyudo", "弓道"),
    ("futsal", "フットサル"),
    ("soccer", "サッカー"),
    ("baseball", "野球・ソフトボール"),
]

THREE_BANDS: list[tuple[str, str, dt.time, dt.time]] = [
    ("am", "午前", dt.time(9, 0), dt.time(12, 0)),
    ("pm", "午後", dt.time(13, 0), dt.time(17, 0)),
    ("ev", "夜間", dt.time(18, 0), dt.time(21, 30)),
]
HOURLY_BANDS: list[tuple[str, str, dt.time, dt.time]] = [
    (f"h{h:02d}", f"{h}時", dt.time(h, 0), dt.time(h + 1, 0)) for h in range(9, 21)
]

SURNAMES = (
    "佐藤 鈴木 高橋 田中 伊藤 渡辺 山本 中村 小林 加藤 吉田 山田 佐々木 山口 松本 井上 木村 林 斎藤 清水 "
    "山崎 森 池田 橋本 阿部 石川 山下 中島 石井 小川 前田 岡田 長谷川 藤田 後藤 近藤 村上 遠藤 青木 坂本"
).split()
GIVEN_NAMES = (
    "太郎 一郎 健一 誠 浩二 直樹 拓也 和也 大輔 翔太 健太 蓮 悠真 湊 大翔 博 清 勇 茂 隆 "
    "花子 恵子 洋子 幸子 由美 真由美 裕子 明美 久美子 優子 陽菜 美咲 さくら 結衣 葵 美穂 愛 千尋 智子 和子"
).split()
FOREIGN_NAMES = ["スミス ジョン", "グエン ティ ラン", "王 芳", "李 明", "キム ミンジ", "ガルシア マリア", "シン ラジ"]

GROUP_PREFIXES = ["文京", *TOWNS, "茗荷谷", "護国寺", "江戸川橋"]
GROUP_ACTIVITIES = (
    "卓球 バドミントン コーラス 合唱 茶道 華道 囲碁 将棋 書道 ダンス 太極拳 ヨガ 吹奏楽 弦楽 俳句 写真 英会話 "
    "バレーボール バスケットボール テニス 社交ダンス フラダンス 民謡 詩吟 手話 絵画 料理 剣道 柔道 演劇"
).split()
GROUP_SUFFIXES = ["クラブ", "会", "サークル", "同好会", "愛好会"]

BLOCK_NOTES = ["区主催事業（公用）", "地域防災訓練", "町会・自治会行事（優先予約）", "区民体育大会", "選挙事務"]
SCHOOL_BLOCK_NOTE = "学校行事（学校開放休止）"

ACCESS_FEATURES = [
    "多目的トイレあり",
    "車いす対応",
    "スロープあり",
    "点字ブロックあり",
    "補助犬同伴可",
    "車いす貸出あり",
    "ヒアリングループ（磁気ループ）あり",
    "授乳室あり",
    "障害者用駐車スペースあり",
]
SCHOOL_ACCESS = [
    "体育館入口にスロープあり",
    "校舎にエレベーターなし",
    "多目的トイレあり（体育館棟）",
    "車いす対応",
    "駐車場なし",
]

# Purposes and equipment per kind of room.
MEETING = ["kaigi", "gakushu", "shukai", "igo", "shodo"]
HALL = ["koen", "ongaku", "gassho", "engeki", "shukai", "dance", "tenji"]
WASHITSU = ["sado", "kado", "igo", "shukai", "shodo"]
MULTI = ["shukai", "dance", "taiso", "gassho", "kaigi"]
MUSIC = ["ongaku", "gassho", "dance"]
GYM = ["badminton", "basketball", "volleyball", "takkyu", "taiso", "futsal"]
HALF_GYM = ["badminton", "volleyball", "takkyu", "taiso"]
SMALL_GYM = ["takkyu", "badminton", "taiso", "dance"]
FIELD = ["soccer", "baseball", "futsal"]

# Equipment with a fee (附属設備, flat yen per booking) by the room's purposes.
PAID_EQUIPMENT = {"hall": [("マイク", 300), ("プロジェクター", 500)], "music": [("ピアノ", 2000)]}

MEETING_EQ = ["ホワイトボード", "長机", "椅子"]
MEETING_EXTRAS = ["プロジェクター", "スクリーン", "モニター", "Wi-Fi"]
HALL_EQ = ["ステージ", "マイク", "音響設備", "照明設備"]
HALL_EXTRAS = ["グランドピアノ", "プロジェクター", "スクリーン", "ワイヤレスマイク"]
WASHITSU_EQ = ["座卓", "座布団"]
WASHITSU_EXTRAS = ["炉（茶道用）", "床の間"]
MULTI_EQ = ["姿見（鏡）", "音響設備", "長机", "椅子"]
MULTI_EXTRAS = ["マイク", "プロジェクター", "アップライトピアノ"]
GYM_EQ = ["バスケットゴール", "バレーボール支柱", "バドミントン支柱", "卓球台", "得点板"]
HALF_GYM_EQ = ["バレーボール支柱", "バドミントン支柱", "卓球台"]
FIELD_EQ = ["サッカーゴール", "バックネット", "ライン引き"]
TENNIS_EQ = ["テニスネット", "ベンチ"]


@dataclass
class RoomPlan:
    code: str
    name: str
    capacity: int
    equipment: list[str]
    purposes: list[str]
    hourly_fee: int
    units: list[str]
    area_m2: int


@dataclass
class RoomPlanner:
    """Collects one facility's rooms; optional equipment is drawn from the seeded RNG."""

    rng: random.Random
    school: bool = False
    plans: list[RoomPlan] = field(default_factory=list)

    def add(
        self,
        code: str,
        name: str,
        capacity: int,
        equipment: Sequence[str],
        purposes: Sequence[str],
        *,
        extras: Sequence[str] = (),
        hourly_fee: int | None = None,
        m2_per_person: float = 2.0,
    ) -> None:
        kit = [*equipment, *(e for e in extras if self.rng.random() < 0.5)]
        fee = hourly_fee if hourly_fee is not None else hourly_fee_for(capacity, school=self.school)
        self.plans.append(
            RoomPlan(code, name, capacity, kit, list(purposes), fee, [code], max(10, round(capacity * m2_per_person)))
        )

    def add_divisible(
        self,
        code: str,
        name: str,
        capacity: int,
        equipment: Sequence[str],
        purposes: Sequence[str],
        hourly_fee: int,
        half_equipment: Sequence[str] = HALF_GYM_EQ,
    ) -> None:
        """A whole (全面) covering both halves' units, and each half (半面A/B) with its own unit."""
        halves = [f"{code}-a", f"{code}-b"]
        area = capacity * 4
        self.plans.append(
            RoomPlan(code, f"{name}（全面）", capacity, list(equipment), list(purposes), hourly_fee, halves, area)
        )
        for unit, label in zip(halves, "AB", strict=True):
            self.plans.append(
                RoomPlan(
                    unit,
                    f"{name}（半面{label}）",
                    capacity // 2,
                    list(half_equipment),
                    [p for p in purposes if p in HALF_GYM or p in FIELD],
                    hourly_fee // 2,
                    [unit],
                    area // 2,
                )
            )

    def meeting_rooms(self, count: int, capacities: Sequence[int], name: str = "会議室", code: str = "kaigi") -> None:
        # Distinct sizes, largest first, as a building's numbered rooms usually are.
        sizes = sorted(self.rng.sample(list(capacities), min(count, len(capacities))), reverse=True)
        for i, cap in enumerate(sizes, start=1):
            self.add(f"{code}{i}", f"第{i}{name}", cap, MEETING_EQ, MEETING, extras=MEETING_EXTRAS)

    def washitsu(self, name: str = "和室") -> None:
        cap = self.rng.choice([12, 16, 20, 24, 30])
        self.add("washitsu", name, cap, WASHITSU_EQ, WASHITSU, extras=WASHITSU_EXTRAS, m2_per_person=1.6)

    def multi(self, name: str = "多目的室", capacities: Sequence[int] = (40, 50, 60, 80)) -> None:
        self.add("tamokuteki", name, self.rng.choice(capacities), MULTI_EQ, MULTI, extras=MULTI_EXTRAS)

    def music(self) -> None:
        piano = self.rng.choice(["グランドピアノ", "アップライトピアノ"])
        cap = self.rng.choice([15, 20, 30])
        self.add("ongaku", "音楽室", cap, [piano, "譜面台", "防音設備"], MUSIC, extras=["ドラムセット", "アンプ"])

    def cooking(self) -> None:
        self.add(
            "chori", "調理室", self.rng.choice([16, 20, 24]), ["調理台", "ガスコンロ", "流し台", "冷蔵庫"], ["ryori"]
        )

    def maybe(self, chance: float, build: Callable[[], None]) -> None:
        if self.rng.random() < chance:
            build()


def hourly_fee_for(capacity: int, *, school: bool = False) -> int:
    """Weekday yen per hour, scaled by capacity; school rooms are let at half the rate."""
    for limit, fee in ((15, 260), (30, 400), (60, 700), (120, 1200), (250, 2000), (500, 3500)):
        if capacity <= limit:
            return fee // 2 if school else fee
    return 30_000


def round100(yen: float) -> int:
    return max(100, int((yen + 50) // 100 * 100))


def _center(p: RoomPlanner) -> None:
    p.add(
        "hall", "多目的ホール", p.rng.choice([200, 250, 300, 400]), HALL_EQ, HALL, extras=HALL_EXTRAS, m2_per_person=1.2
    )
    p.meeting_rooms(p.rng.randint(3, 4), [12, 18, 24, 30, 36, 48, 60])
    p.washitsu()
    p.add("shukai", "集会室", p.rng.choice([60, 80, 100]), MULTI_EQ, MULTI, extras=MULTI_EXTRAS)
    p.maybe(0.5, p.music)
    p.maybe(0.3, p.cooking)


def _activity_center(p: RoomPlanner) -> None:
    p.meeting_rooms(p.rng.randint(1, 2), [12, 15, 18, 24, 30, 36])
    p.maybe(0.5, p.washitsu)
    p.maybe(0.6, p.multi)


def _koryukan(p: RoomPlanner) -> None:
    p.add("shukai", "集会室", p.rng.choice([40, 50, 60]), MULTI_EQ, MULTI, extras=MULTI_EXTRAS)
    p.meeting_rooms(p.rng.randint(1, 2), [12, 16, 20, 24])
    p.maybe(0.5, p.washitsu)


def _special(p: RoomPlanner) -> None:
    p.meeting_rooms(p.rng.randint(2, 3), [18, 24, 30, 42], name="研修室", code="kenshu")
    p.maybe(0.5, p.washitsu)
    p.multi()


def _youth_plaza(p: RoomPlanner) -> None:
    p.add("studio", "ダンススタジオ", 30, ["姿見（鏡）", "音響設備", "バー"], ["dance", "taiso", "engeki"])
    p.add("band", "音楽スタジオ", 10, ["ドラムセット", "アンプ", "防音設備"], ["ongaku"], m2_per_person=3)
    p.meeting_rooms(1, [20, 24])


def _academy(p: RoomPlanner) -> None:
    p.meeting_rooms(p.rng.randint(2, 3), [24, 30, 36, 48], name="学習室", code="gakushu")
    p.washitsu()
    p.maybe(0.5, p.music)
    p.multi("多目的室", (60, 80))
    p.maybe(0.5, lambda: p.add("bijutsu", "美術室", 24, ["作業台", "流し台", "イーゼル"], ["kaiga", "shodo"]))
    p.maybe(
        0.5,
        lambda: p.add(
            "shichokaku",
            "視聴覚室",
            p.rng.choice([60, 80, 100]),
            ["プロジェクター", "スクリーン", "マイク", "音響設備"],
            ["koen", "kaigi", "gakushu"],
        ),
    )
    p.maybe(0.2, p.cooking)


def _civic_hall(p: RoomPlanner) -> None:
    p.add("dai-hall", "大ホール", 1802, [*HALL_EQ, "グランドピアノ", "オーケストラピット"], HALL, m2_per_person=1.0)
    p.add("sho-hall", "小ホール", 371, [*HALL_EQ, "グランドピアノ"], HALL, m2_per_person=1.0)
    p.add("tamokuteki", "多目的室", 120, [*MULTI_EQ, "プロジェクター"], [*MULTI, "koen", "tenji"])
    p.add("kaigi1", "会議室1", 48, [*MEETING_EQ, "プロジェクター", "スクリーン"], MEETING)
    p.add("kaigi2", "会議室2", 24, MEETING_EQ, MEETING, extras=MEETING_EXTRAS)
    p.add("renshu1", "練習室1", 30, ["グランドピアノ", "譜面台", "防音設備"], MUSIC)
    p.add("renshu2", "練習室2", 15, ["アップライトピアノ", "譜面台", "防音設備"], MUSIC)
    p.add("tenji", "展示室", 80, ["展示パネル", "スポット照明"], ["tenji"])


def _sogo_gym(p: RoomPlanner) -> None:
    p.add_divisible("dai-taiiku", "大体育室", 200, GYM_EQ, GYM, 2400)
    p.add("sho-taiiku", "小体育室", 60, ["卓球台", "バドミントン支柱", "姿見（鏡）"], SMALL_GYM)
    p.add("judo", "柔道場", 40, ["柔道畳", "更衣室"], ["judo", "taiso"])
    p.add("kendo", "剣道場", 40, ["剣道用具置場", "更衣室"], ["kendo", "dance"])
    p.add("tamokuteki", "多目的室", 30, MULTI_EQ, ["dance", "taiso", "kaigi"])


def _sports_center(p: RoomPlanner) -> None:
    p.add_divisible("dai-taiiku", "大体育室", 200, GYM_EQ, GYM, 2400)
    p.add("sho-taiiku", "小体育室", 50, ["卓球台", "バドミントン支柱"], SMALL_GYM)
    p.add("budo", "武道場", 40, ["柔道畳", "剣道用具置場"], ["judo", "kendo"])
    p.add("kyudo", "弓道場", 20, ["的", "矢道"], ["kyudo"], hourly_fee=600)


def _small_gym(p: RoomPlanner) -> None:
    p.add_divisible("taiiku", "体育室", 160, GYM_EQ, GYM, 2000)
    p.add("takkyu", "卓球室", 30, ["卓球台"], ["takkyu"])


def _ground(p: RoomPlanner) -> None:
    p.add_divisible("undojo", "運動場", 300, [*FIELD_EQ, "夜間照明"], FIELD, 3000, half_equipment=FIELD_EQ)


def _park(p: RoomPlanner) -> None:
    p.add("undojo", "運動場", 100, FIELD_EQ, FIELD, hourly_fee=2200)
    for label in "AB":
        p.add(
            f"tennis-{label.lower()}",
            f"テニスコート{label}",
            8,
            TENNIS_EQ,
            ["tennis"],
            hourly_fee=1300,
            m2_per_person=80,
        )


def _tennis(p: RoomPlanner) -> None:
    for label in "ABCD":
        p.add(
            f"tennis-{label.lower()}",
            f"テニスコート{label}",
            8,
            [*TENNIS_EQ, "夜間照明"],
            ["tennis"],
            hourly_fee=1300,
            m2_per_person=80,
        )


def _sports_park(p: RoomPlanner) -> None:
    for n in range(1, 4):
        p.add(f"tennis-{n}", f"テニスコート{n}", 8, TENNIS_EQ, ["tennis"], hourly_fee=1300, m2_per_person=80)
    p.add("tamokuteki", "多目的運動場", 60, FIELD_EQ, ["futsal", "soccer", "taiso"], hourly_fee=1800, m2_per_person=20)


def _junior_high(p: RoomPlanner) -> None:
    p.add_divisible("taiikukan", "体育館", 200, GYM_EQ, GYM, 800)
    p.add("kotei", "校庭", 300, FIELD_EQ, FIELD, hourly_fee=500, m2_per_person=15)
    p.maybe(0.5, lambda: p.add("kakugi", "格技室", 40, ["柔道畳", "姿見（鏡）"], ["judo", "kendo", "dance"]))


def _elementary(p: RoomPlanner) -> None:
    p.add("taiikukan", "体育館", 150, GYM_EQ, GYM, hourly_fee=600, m2_per_person=4)
    p.maybe(0.4, lambda: p.add("kotei", "校庭", 250, FIELD_EQ, FIELD, hourly_fee=400, m2_per_person=15))
    p.maybe(0.2, lambda: p.add("ongaku", "音楽室", 40, ["グランドピアノ", "譜面台"], MUSIC))


@dataclass(frozen=True)
class FacilitySpec:
    code: str
    name: str
    kind: str
    department: str
    town: str
    rooms: Callable[[RoomPlanner], None]


def facility_specs() -> list[FacilitySpec]:
    """The ward's 71 facilities: 27 community, 6 academy, 1 cultural, 7 sports, 30 schools."""
    c, a, s, g = FacilityKind.COMMUNITY, FacilityKind.ACADEMY, FacilityKind.SPORTS, FacilityKind.SCHOOL
    specs = [
        FacilitySpec("kumin-center", "文京区民センター", c, "kumin", "本郷", _center),
        FacilitySpec("kasuga-center", "春日区民センター", c, "kumin", "春日", _center),
        FacilitySpec("koishikawa-center", "小石川区民センター", c, "kumin", "小石川", _center),
        FacilitySpec("hakusan-center", "白山区民センター", c, "kumin", "白山", _center),
    ]
    for town in [
        "大塚",
        "音羽",
        "関口",
        "千石",
        "千駄木",
        "根津",
        "湯島",
        "向丘",
        "本駒込",
        "目白台",
        "水道",
        "西片",
        "本郷",
    ]:
        specs.append(
            FacilitySpec(f"katsudo-{TOWNS[town][2]}", f"{town}地域活動センター", c, "kumin", town, _activity_center)
        )
    for town in ["弥生", "後楽", "小日向", "本駒込", "湯島"]:
        specs.append(FacilitySpec(f"koryu-{TOWNS[town][2]}", f"{town}交流館", c, "korei", town, _koryukan))
    specs += [
        FacilitySpec("fukushi-edogawabashi", "福祉センター江戸川橋", c, "fukushi", "関口", _special),
        FacilitySpec("fukushi-yushima", "福祉センター湯島", c, "fukushi", "湯島", _special),
        FacilitySpec("danjo-center", "男女平等センター", c, "danjo", "本郷", _special),
        FacilitySpec("seishonen-plaza", "青少年プラザ", c, "jido", "湯島", _youth_plaza),
        FacilitySpec("sangyo-plaza", "産業とくらしプラザ", c, "keizai", "春日", _special),
    ]
    for town, name in [
        ("千石", "千石"),
        ("向丘", "向丘"),
        ("音羽", "音羽"),
        ("湯島", "湯島"),
        ("春日", "茗台"),
        ("小日向", "小日向"),
    ]:
        code = "academy-meidai" if name == "茗台" else f"academy-{TOWNS[town][2]}"
        specs.append(FacilitySpec(code, f"アカデミー{name}", a, "academy", town, _academy))
    specs.append(
        FacilitySpec("civic-hall", "文京シビックホール", FacilityKind.CULTURAL, "academy", "春日", _civic_hall)
    )
    specs += [
        FacilitySpec("sogo-taiikukan", "文京総合体育館", s, "sports", "本郷", _sogo_gym),
        FacilitySpec("sports-center", "文京スポーツセンター", s, "sports", "大塚", _sports_center),
        FacilitySpec("edogawabashi-taiikukan", "江戸川橋体育館", s, "sports", "関口", _small_gym),
        FacilitySpec("koishikawa-undojo", "小石川運動場", s, "sports", "白山", _ground),
        FacilitySpec("rikugi-undojo", "六義公園運動場", s, "sports", "本駒込", _park),
        FacilitySpec("takehaya-tennis", "竹早テニスコート", s, "sports", "小石川", _tennis),
        FacilitySpec("mejirodai-undokoen", "目白台運動公園", s, "sports", "目白台", _sports_park),
    ]
    junior_highs = [
        ("daiichi", "第一", "本郷"),
        ("daisan", "第三", "千駄木"),
        ("dairoku", "第六", "向丘"),
        ("daihachi", "第八", "西片"),
        ("daiku", "第九", "関口"),
        ("daiju", "第十", "目白台"),
        ("otowa", "音羽", "音羽"),
        ("meidai", "茗台", "春日"),
        ("bunrin", "文林", "千石"),
        ("hongodai", "本郷台", "本郷"),
    ]
    for code, name, town in junior_highs:
        specs.append(FacilitySpec(f"chu-{code}", f"{name}中学校", g, "gakko", town, _junior_high))
    elementaries = [
        ("sendagi", "千駄木", "千駄木"),
        ("seishi", "誠之", "西片"),
        ("yushima", "湯島", "湯島"),
        ("kanatomi", "金富", "春日"),
        ("rekisen", "礫川", "小石川"),
        ("yanagicho", "柳町", "小石川"),
        ("sashigaya", "指ケ谷", "白山"),
        ("meika", "明化", "本駒込"),
        ("hayashicho", "林町", "千駄木"),
        ("komamoto", "駒本", "本駒込"),
        ("kubomachi", "窪町", "大塚"),
        ("otsuka", "大塚", "大塚"),
        ("sekiguchidaimachi", "関口台町", "関口"),
        ("kohinatadaimachi", "小日向台町", "小日向"),
        ("aoyagi", "青柳", "大塚"),
        ("showa", "昭和", "本駒込"),
        ("nezu", "根津", "根津"),
        ("shiomi", "汐見", "千駄木"),
        ("sengoku", "千石", "千石"),
        ("hongo", "本郷", "本郷"),
    ]
    for code, name, town in elementaries:
        specs.append(FacilitySpec(f"sho-{code}", f"{name}小学校", g, "gakko", town, _elementary))
    return specs


@dataclass
class SeedSummary:
    facilities: int = 0
    rooms: int = 0
    tariffs: int = 0
    closures: int = 0
    residents: int = 0
    active_residents: int = 0
    groups: int = 0
    bookings: int = 0
    blocks: int = 0
    kinds: Counter[str] = field(default_factory=Counter)


@dataclass
class _RoomInfo:
    room: Room
    unit_ids: list[int]
    purpose_ids: list[int]
    fees: dict[int, tuple[int, int]]  # band id: (weekday, 土日祝)


@dataclass
class _Site:
    """One facility as the booking generator sees it."""

    facility: Facility
    bands: list[TimeBand]
    rooms: list[_RoomInfo] = field(default_factory=list)


@dataclass
class _Slot:
    site: _Site
    info: _RoomInfo
    day: dt.date
    bands: list[TimeBand]

    @property
    def keys(self) -> list[tuple[int, dt.date, int]]:
        return [(u, self.day, b.pk) for u in self.info.unit_ids for b in self.bands]


@dataclass
class _Person:
    resident: Resident
    user: User


def has_data() -> bool:
    return Facility.objects.exists() or Resident.objects.exists()


def reset() -> None:
    """Delete the demo data, children before parents (bookings PROTECT rooms, bands and users)."""
    with transaction.atomic():
        Occupancy.objects.all().delete()
        Reservation.objects.all().delete()
        Group.objects.all().delete()
        Resident.objects.all().delete()
        User.objects.filter(is_superuser=False).delete()
        Facility.objects.all().delete()
        FacilityGroup.objects.all().delete()
        Department.objects.all().delete()
        Purpose.objects.all().delete()


def build_ward(*, seed: int, residents: int, start_month: dt.date, now: dt.datetime) -> SeedSummary:
    """Fill an empty database with a demo ward. `now` only dates registrations and bookings;
    every random choice depends on the seed and the start month alone."""
    if residents < 2:
        raise ValueError("at least the two demo residents are needed")
    rng = random.Random(seed)
    start = domain.month_start(start_month)
    summary = SeedSummary()
    with transaction.atomic():
        staff = _staff_users()
        purposes = _purposes()
        sites = _catalogue(rng, purposes, summary)
        _staff_roles(staff)
        closed = _closures(rng, sites, start, summary)
        people, groups = _people(rng, residents, start, now, staff, summary)
        _bookings(rng, sites, closed, people, groups, start, now, staff, summary)
        staff_second_factor()
    return summary


def _staff_users() -> User:
    admin, _ = User.objects.update_or_create(
        user_number=ADMIN_USER,
        defaults={"email": "admin@example.jp", "is_staff": True, "is_superuser": True, "is_active": True},
    )
    admin.set_password(ADMIN_PASSWORD)
    admin.save(update_fields=["password"])
    staff, _ = User.objects.update_or_create(
        user_number=STAFF_USER,
        defaults={"email": "staff01@example.jp", "is_staff": True, "is_superuser": False, "is_active": True},
    )
    staff.set_password(STAFF_PASSWORD)
    staff.save(update_fields=["password"])
    return staff


def _staff_roles(counter_staff: User) -> None:
    """The demo staff terminal: staff01 at two counters, a manager of the same two centres, an admin
    of their department and an auditor (reservations.staff decides what each may see and do)."""
    counters = list(Facility.objects.filter(code__in=DEMO_COUNTERS))
    department = Department.objects.get(code=DEMO_DEPARTMENT)
    accounts = [
        (counter_staff, StaffRole.COUNTER, counters, []),
        (_staff_login(MANAGER_USER), StaffRole.FACILITY_MANAGER, counters, []),
        (_staff_login(DEPARTMENT_USER), StaffRole.DEPARTMENT_ADMIN, [], [department]),
        (_staff_login(AUDITOR_USER), StaffRole.AUDITOR, [], []),
    ]
    for user, role, facilities, departments in accounts:
        profile, _ = StaffProfile.objects.update_or_create(user=user, defaults={"role": role})
        profile.facilities.set(facilities)
        profile.departments.set(departments)


def _staff_login(user_number: str) -> User:
    user, _ = User.objects.update_or_create(
        user_number=user_number,
        defaults={"email": f"{user_number}@example.jp", "is_staff": True, "is_superuser": False, "is_active": True},
    )
    user.set_password(STAFF_PASSWORD)
    user.save(update_fields=["password"])
    return user


# The demo staff's authenticator secret, published on purpose like their passwords: every demo staff
# login has a confirmed TOTP device with this key, so one entry in an authenticator app (or
# `manage.py demo_totp`, which prints the current code) gets a visitor past the second factor.
DEMO_TOTP_SECRET = base64.b32encode(b"shisetsu-demo-2fa-26").decode("ascii")


def staff_second_factor() -> None:
    """Give every staff login of the demo its authenticator (DEMO_TOTP_SECRET)."""
    key = base64.b32decode(DEMO_TOTP_SECRET).hex()
    for user in User.objects.filter(is_staff=True):
        TOTPDevice.objects.filter(user=user).exclude(name="demo").delete()
        TOTPDevice.objects.update_or_create(user=user, name="demo", defaults={"key": key, "confirmed": True})


def _purposes() -> dict[str, int]:
    rows = Purpose.objects.bulk_create(Purpose(code=code, name=name) for code, name in PURPOSES)
    return {p.code: p.pk for p in rows}


def _address(rng: random.Random, town: str) -> tuple[str, str]:
    postcode, max_chome, _ = TOWNS[town]
    return postcode, f"東京都文京区{town}{rng.randint(1, max_chome)}-{rng.randint(1, 30)}-{rng.randint(1, 20)}"


def _accessibility(rng: random.Random, kind: str) -> str:
    if kind == FacilityKind.SCHOOL:
        notes = rng.sample(SCHOOL_ACCESS, rng.randint(2, 3))
    else:
        lift = "エレベーターあり" if rng.random() < 0.85 else "エレベーターなし（1階のみ車いす利用可）"
        notes = [lift, *rng.sample(ACCESS_FEATURES, rng.randint(2, 4))]
    return "、".join(notes) + "。"


def _catalogue(rng: random.Random, purposes: dict[str, int], summary: SeedSummary) -> list[_Site]:
    departments = {
        d.code: d for d in Department.objects.bulk_create(Department(code=c, name=n) for c, n in DEPARTMENTS)
    }
    facility_groups = {
        g.code: g for g in FacilityGroup.objects.bulk_create(FacilityGroup(**kw) for kw in FACILITY_GROUPS)
    }
    specs = facility_specs()
    facilities: list[Facility] = []
    plans: list[list[RoomPlan]] = []
    for spec in specs:
        postcode, address = _address(rng, spec.town)
        closes = dt.time(21, 0) if spec.kind == FacilityKind.SPORTS else rng.choice([dt.time(21, 30), dt.time(22, 0)])
        facilities.append(
            Facility(
                code=spec.code,
                name=spec.name,
                kind=spec.kind,
                department=departments[spec.department],
                group=facility_groups[GROUP_OF_KIND[FacilityKind(spec.kind)]],
                postcode=postcode,
                address=address,
                opens_at=dt.time(9, 0),
                closes_at=closes,
                accessibility=_accessibility(rng, spec.kind),
            )
        )
        planner = RoomPlanner(rng, school=spec.kind == FacilityKind.SCHOOL)
        spec.rooms(planner)
        plans.append(planner.plans)
    Facility.objects.bulk_create(facilities)

    bands: list[TimeBand] = []
    for facility in facilities:
        layout = HOURLY_BANDS if facility.kind == FacilityKind.SPORTS else THREE_BANDS
        bands += [
            TimeBand(facility=facility, code=code, label=label, starts_at=s, ends_at=e, order=i)
            for i, (code, label, s, e) in enumerate(layout)
        ]
    TimeBand.objects.bulk_create(bands)
    bands_of: dict[int, list[TimeBand]] = {}
    for band in bands:
        bands_of.setdefault(band.facility_id, []).append(band)

    rooms: list[Room] = []
    units: dict[tuple[int, str], RoomUnit] = {}
    for facility, facility_plans in zip(facilities, plans, strict=True):
        for order, plan in enumerate(facility_plans):
            rooms.append(
                Room(
                    facility=facility,
                    code=plan.code,
                    name=plan.name,
                    capacity=plan.capacity,
                    area_m2=plan.area_m2,
                    equipment=plan.equipment,
                    display_order=order,
                )
            )
            for code in plan.units:
                units.setdefault((facility.pk, code), RoomUnit(facility=facility, code=code))
    Room.objects.bulk_create(rooms, batch_size=BATCH)
    RoomUnit.objects.bulk_create(units.values(), batch_size=BATCH)

    all_plans = [plan for facility_plans in plans for plan in facility_plans]
    unit_links, purpose_links, tariffs, paid_equipment = [], [], [], []
    sites = {f.pk: _Site(f, bands_of[f.pk]) for f in facilities}
    for room, plan in zip(rooms, all_plans, strict=True):
        info = _RoomInfo(
            room, [units[(room.facility_id, c)].pk for c in plan.units], [purposes[c] for c in plan.purposes], {}
        )
        unit_links += [Room.units.through(room_id=room.pk, roomunit_id=u) for u in info.unit_ids]
        purpose_links += [Room.purposes.through(room_id=room.pk, purpose_id=p) for p in info.purpose_ids]
        for band in bands_of[room.facility_id]:
            weekday = round100(plan.hourly_fee * _hours(band))
            holiday = round100(weekday * 1.2)
            tariffs.append(Tariff(room=room, time_band=band, weekday_fee=weekday, holiday_fee=holiday))
            info.fees[band.pk] = (weekday, holiday)
        sites[room.facility_id].rooms.append(info)
        kind = "hall" if plan.purposes == HALL else "music" if plan.purposes == MUSIC else None
        if kind is not None:
            paid_equipment += [RoomEquipment(room=room, name=n, fee=f) for n, f in PAID_EQUIPMENT[kind]]
    Room.units.through.objects.bulk_create(unit_links, batch_size=BATCH)
    RoomEquipment.objects.bulk_create(paid_equipment, batch_size=BATCH)
    Room.purposes.through.objects.bulk_create(purpose_links, batch_size=BATCH)
    Tariff.objects.bulk_create(tariffs, batch_size=BATCH)

    summary.facilities = len(facilities)
    summary.rooms = len(rooms)
    summary.tariffs = len(tariffs)
    summary.kinds = Counter(str(f.kind) for f in facilities)
    return list(sites.values())


def _hours(band: TimeBand) -> float:
    day = dt.date(2000, 1, 1)
    return (dt.datetime.combine(day, band.ends_at) - dt.datetime.combine(day, band.starts_at)).seconds / 3600


def _nth_weekday(month: dt.date, nth: int, weekday: int) -> dt.date:
    first = month.replace(day=1)
    return first + dt.timedelta(days=(weekday - first.weekday()) % 7 + 7 * (nth - 1))


def _closures(rng: random.Random, sites: list[_Site], start: dt.date, summary: SeedSummary) -> set[tuple[int, dt.date]]:
    """年末年始 for all, national holidays where the kind closes on them, and one maintenance day a
    month per facility (staggered, so the whole ward is never shut at once). First reason wins."""
    months = [domain.add_months(start, i) for i in range(DEMO_MONTHS)]
    end = domain.add_months(start, DEMO_MONTHS)
    holidays: dict[dt.date, str] = {}
    for year in {start.year, end.year}:
        holidays.update(domain.national_holidays(year))
    year_end = [
        d
        for year in {start.year - 1, start.year, end.year}
        for d in [dt.date(year, 12, 29) + dt.timedelta(days=i) for i in range(6)]
        if start <= d < end
    ]
    reasons: dict[tuple[int, dt.date], str] = {}
    for site in sites:
        fid = site.facility.pk
        for day in year_end:
            reasons.setdefault((fid, day), "年末年始")
        if site.facility.kind in CLOSES_ON_HOLIDAYS:
            for day, name in sorted(holidays.items()):
                if start <= day < end:
                    reasons.setdefault((fid, day), name)
        nth, weekday = rng.randint(1, 4), rng.randint(0, 3)
        for month in months:
            reasons.setdefault((fid, _nth_weekday(month, nth, weekday)), "設備点検")
    closures = Closure.objects.bulk_create(
        (Closure(facility_id=fid, date=day, reason=reason) for (fid, day), reason in sorted(reasons.items())),
        batch_size=BATCH,
    )
    # A closure holds its cells like a booking does (see services.closure_create).
    by_facility = {site.facility.pk: site for site in sites}
    Occupancy.objects.bulk_create(
        (
            Occupancy(closure=closure, unit_id=unit_id, date=closure.date, band=band)
            for closure in closures
            for unit_id in sorted({u for info in by_facility[closure.facility_id].rooms for u in info.unit_ids})
            for band in by_facility[closure.facility_id].bands
        ),
        batch_size=BATCH,
    )
    summary.closures = len(reasons)
    return set(reasons)


def _bunkyo_address(rng: random.Random) -> tuple[str, str]:
    town = rng.choice(list(TOWNS))
    postcode, address = _address(rng, town)
    if rng.random() < 0.4:
        address += f"-{rng.randint(1, 12)}0{rng.randint(1, 9)}"
    return postcode, address


def _outside_address(rng: random.Random) -> tuple[str, str]:
    prefix, postcode = rng.choice(OUTSIDE_TOWNS)
    return postcode, f"{prefix}{rng.randint(1, 5)}-{rng.randint(1, 30)}-{rng.randint(1, 20)}"


def _full_name(rng: random.Random) -> str:
    if rng.random() < 0.03:
        return rng.choice(FOREIGN_NAMES)
    return f"{rng.choice(SURNAMES)} {rng.choice(GIVEN_NAMES)}"


def _moment(rng: random.Random, earliest: dt.datetime, latest: dt.datetime) -> dt.datetime:
    span = max((latest - earliest).total_seconds(), 0.0)
    return earliest + dt.timedelta(seconds=int(rng.random() * span))


def _people(
    rng: random.Random, count: int, start: dt.date, now: dt.datetime, staff: User, summary: SeedSummary
) -> tuple[list[_Person], list[Group]]:
    password = make_password(DEMO_PASSWORD)  # one slow hash shared by every demo resident
    users: list[User] = []
    residents: list[Resident] = []
    for i in range(count):
        number = str(FIRST_USER_NUMBER + i)
        residency = rng.random()
        if residency < 0.85:
            sub = rng.random()
            residency_code = Residency.LIVES if sub < 0.80 else Residency.WORKS if sub < 0.93 else Residency.STUDIES
        else:
            residency_code = Residency.OUTSIDER
        # Those who only work or study in the ward mostly live outside it.
        in_ward_home = residency_code == Residency.LIVES or rng.random() < 0.3
        postcode, address = _bunkyo_address(rng) if in_ward_home else _outside_address(rng)
        channel = Channel.COUNTER if rng.random() < 0.26 else Channel.WEB
        pending = channel == Channel.WEB and rng.random() < 0.068
        age_days = int(rng.triangular(18.1, 90.0, 50.0) * 365.25)
        registered = _moment(rng, SYSTEM_LIVE, now - dt.timedelta(days=30))
        if pending:
            registered = now - dt.timedelta(seconds=int(rng.random() * 21 * 86400))
        delay = dt.timedelta(seconds=int(rng.random() * 14 * 86400))
        name = _full_name(rng)
        email = f"u{number}@example.jp" if channel == Channel.WEB or rng.random() < 0.5 else ""
        if i < 2:
            # The demo logins: both active and registered online, 10000002 from outside the ward.
            residency_code = Residency.LIVES if i == 0 else Residency.OUTSIDER
            postcode, address = (
                ("112-0003", "東京都文京区春日1-16-21") if i == 0 else ("171-0014", "東京都豊島区池袋2-3-4")
            )
            name = "文京 太郎" if i == 0 else "豊島 花子"
            email = "demo@example.jp" if i == 0 else "demo2@example.jp"
            channel, pending = Channel.WEB, False
        # Counter registrations are checked on the spot; online ones when the resident shows an ID.
        activated = None if pending else registered if channel == Channel.COUNTER else min(registered + delay, now)
        user = User(user_number=number, email=email, password=password, date_joined=registered)
        users.append(user)
        residents.append(
            Resident(
                user=user,
                full_name=name,
                date_of_birth=start - dt.timedelta(days=age_days),
                postcode=postcode,
                address=address,
                residency=residency_code,
                status=ResidentStatus.PENDING if pending else ResidentStatus.ACTIVE,
                registered_channel=channel,
                registered_at=registered,
                activated_at=activated,
                activated_by=None if pending else staff,
            )
        )
    User.objects.bulk_create(users, batch_size=BATCH)
    Resident.objects.bulk_create(residents, batch_size=BATCH)

    people = [_Person(r, u) for r, u in zip(residents, users, strict=True)]
    active = [p for p in people if p.resident.status == ResidentStatus.ACTIVE]
    groups = _groups(rng, count // 20, people[0], active[2:], now)
    summary.residents = len(residents)
    summary.active_residents = len(active)
    summary.groups = len(groups)
    return people, groups


def _groups(rng: random.Random, total: int, demo: _Person, pool: list[_Person], now: dt.datetime) -> list[Group]:
    """`total` groups; the demo resident represents the first one, so the demo can book for a group."""
    if total == 0 or not pool:
        return []
    names = {"文京卓球クラブ"}
    groups: list[Group] = []
    members: list[list[Resident]] = []
    for i in range(total):
        rep = demo if i == 0 else rng.choice(pool)
        if i == 0:
            name = "文京卓球クラブ"
        else:
            name = ""
            for _attempt in range(20):
                candidate = rng.choice(GROUP_PREFIXES) + rng.choice(GROUP_ACTIVITIES) + rng.choice(GROUP_SUFFIXES)
                if candidate not in names:
                    name = candidate
                    break
            name = name or f"{rng.choice(GROUP_PREFIXES)}{rng.choice(GROUP_ACTIVITIES)}第{i}クラブ"
            names.add(name)
        others = [p.resident for p in rng.sample(pool, min(len(pool), rng.randint(2, 5))) if p is not rep]
        member_count = max(len(others) + 1, 5 + min(int(rng.expovariate(1 / 8)), 55))
        if rng.random() < 0.88:
            in_ward = rng.randint(member_count // 2 + 1, member_count)
        else:
            in_ward = rng.randint(0, member_count // 2)
        active = i == 0 or rng.random() < 0.9
        registered = _moment(rng, SYSTEM_LIVE, now - dt.timedelta(days=30))
        groups.append(
            Group(
                name=name,
                representative=rep.resident,
                contact_name=rep.resident.full_name,
                contact_email=f"group{i + 1:04d}@example.jp",
                member_count=member_count,
                resident_member_count=in_ward,
                status=ResidentStatus.ACTIVE if active else ResidentStatus.PENDING,
                registered_at=registered,
                activated_at=registered + dt.timedelta(days=7) if active else None,
            )
        )
        members.append([rep.resident, *others])
    Group.objects.bulk_create(groups, batch_size=BATCH)
    links = [
        Group.members.through(group_id=g.pk, resident_id=r.pk)
        for g, rs in zip(groups, members, strict=True)
        for r in {r.pk: r for r in rs}.values()
    ]
    Group.members.through.objects.bulk_create(links, batch_size=BATCH)
    return groups


def _pick(
    rng: random.Random,
    sites: list[_Site],
    days: list[dt.date],
    span_weights: Sequence[int],
    closed: set[tuple[int, dt.date]],
    taken: set[tuple[int, dt.date, int]],
) -> _Slot | None:
    """A random free slot, or None when the draw hit a closed day or a taken band (the caller
    draws again). Hourly facilities get 1-3 hours, the others `span_weights` over 1-3 bands."""
    site = rng.choice(sites)
    info = rng.choice(site.rooms)
    day = rng.choice(days)
    weights = [40, 45, 15] if len(site.bands) > len(THREE_BANDS) else span_weights
    span = rng.choices([1, 2, 3], weights=weights)[0]
    first = rng.randrange(0, len(site.bands) - span + 1)
    slot = _Slot(site, info, day, site.bands[first : first + span])
    if (site.facility.pk, day) in closed or any(k in taken for k in slot.keys):
        return None
    return slot


def _bookings(
    rng: random.Random,
    sites: list[_Site],
    closed: set[tuple[int, dt.date]],
    people: list[_Person],
    groups: list[Group],
    start: dt.date,
    now: dt.datetime,
    staff: User,
    summary: SeedSummary,
) -> None:
    """Staff blocks first (they are placed before the lottery), then first-come bookings. A set of
    taken (unit, date, band) keeps them apart, as the Occupancy constraint would."""
    today = now.astimezone(domain.TOKYO).date()
    taken: set[tuple[int, dt.date, int]] = set()
    references: set[str] = set()
    made: list[tuple[Reservation, _Slot]] = []
    rules = {s.facility.group_id: booking_rules(s.facility.group) for s in sites}
    months = [domain.month_days(domain.add_months(start, i)) for i in range(DEMO_MONTHS)]
    demo_days = [d for days in months for d in days]
    booking_days = [d for days in months[:BOOKING_MONTHS] for d in days]

    def reference() -> str:
        while True:
            ref = "".join(rng.choice(REFERENCE_ALPHABET) for _ in range(10))
            if ref not in references:
                references.add(ref)
                return ref

    block_kinds = (FacilityKind.COMMUNITY, FacilityKind.SPORTS, FacilityKind.SCHOOL)
    block_sites = [s for s in sites if s.facility.kind in block_kinds]
    for _attempt in range(BLOCKS * 10):
        if len(made) == BLOCKS:
            break
        slot = _pick(rng, block_sites, demo_days, [30, 30, 40], closed, taken)
        if slot is None:
            continue
        taken.update(slot.keys)
        school = slot.site.facility.kind == FacilityKind.SCHOOL
        note = SCHOOL_BLOCK_NOTE if school else rng.choice(BLOCK_NOTES)
        placed = domain.first_come_opens_at(slot.day, rules[slot.site.facility.group_id]) - dt.timedelta(days=45)
        reservation = Reservation(
            reference=reference(),
            kind=ReservationKind.BLOCK,
            state=ReservationState.CONFIRMED,
            room=slot.info.room,
            date=slot.day,
            band_from=slot.bands[0],
            band_to=slot.bands[-1],
            note=note,
            channel=Channel.COUNTER,
            booked_by=staff,
            created_at=min(placed, now),
        )
        made.append((reservation, slot))
    summary.blocks = len(made)

    # The two demo residents keep a clean slate, so the first booking in the demo is theirs.
    demo_resident = people[0].resident
    bookers = [p for p in people[2:] if p.resident.status == ResidentStatus.ACTIVE]
    group_pool = [g for g in groups if g.status == ResidentStatus.ACTIVE and g.representative_id != demo_resident.pk]
    user_of = {p.resident.pk: p.user for p in people}
    per_month: Counter[tuple[str, int, dt.date]] = Counter()
    target = min(MAX_BOOKINGS, 2 * len(bookers))
    for _attempt in range(target * 10):
        if summary.bookings == target or not bookers:
            break
        slot = _pick(rng, sites, booking_days, [70, 25, 5], closed, taken)
        if slot is None:
            continue
        rule = rules[slot.site.facility.group_id]
        group = rng.choice(group_pool) if group_pool and rng.random() < 0.25 else None
        resident = group.representative if group is not None else rng.choice(bookers).resident
        web = rng.random() < 0.49
        confirmed = rng.random() < 0.6
        room = slot.info.room
        purpose_id = rng.choice(slot.info.purpose_ids) if slot.info.purpose_ids else None
        attendees = rng.randint(max(1, room.capacity // 4), room.capacity)
        month = domain.month_start(slot.day)
        quota = ("group", group.pk, month) if group is not None else ("resident", resident.pk, month)
        if per_month[quota] >= (rule.max_group_active_per_month if group is not None else rule.max_active_per_month):
            continue
        per_month[quota] += 1
        taken.update(slot.keys)
        fee = domain.fee_for(
            band_fees=[slot.info.fees[b.pk] for b in slot.bands],
            use_date=slot.day,
            outsider=resident.is_outsider if group is None else not group.is_ward_group,
            rules=rule,
        )
        opens = domain.first_come_opens_at(slot.day, rule)
        eve = dt.datetime.combine(slot.day - dt.timedelta(days=1), dt.time(20, 0), tzinfo=domain.TOKYO)
        # A booking for today or earlier has been paid; only later ones may still await payment, and
        # those were booked recently enough that their payment deadline is still ahead.
        paid = confirmed or slot.day <= today or fee == 0
        earliest = opens if paid else max(opens, now - dt.timedelta(days=max(rule.payment_days - 1, 0)))
        booked_at = _moment(rng, earliest, max(earliest, min(now, eve)))
        reservation = Reservation(
            reference=reference(),
            kind=ReservationKind.FIRST_COME,
            state=ReservationState.CONFIRMED if paid else ReservationState.PROVISIONAL,
            resident=resident,
            group=group,
            room=room,
            date=slot.day,
            band_from=slot.bands[0],
            band_to=slot.bands[-1],
            purpose_id=purpose_id,
            attendees=attendees,
            fee=fee,
            payment_deadline=domain.payment_deadline(booked_at=booked_at, use_date=slot.day, rules=rule)
            if fee
            else None,
            channel=Channel.WEB if web else Channel.COUNTER,
            booked_by=user_of[resident.pk] if web else staff,
            created_at=booked_at,
        )
        made.append((reservation, slot))
        summary.bookings += 1

    Reservation.objects.bulk_create([r for r, _ in made], batch_size=BATCH)
    Occupancy.objects.bulk_create(
        (Occupancy(reservation=r, unit_id=u, date=r.date, band=b) for r, slot in made for u, _, b in _occupied(slot)),
        batch_size=BATCH,
    )


def _occupied(slot: _Slot) -> list[tuple[int, dt.date, TimeBand]]:
    return [(u, slot.day, b) for u in slot.info.unit_ids for b in slot.bands]
