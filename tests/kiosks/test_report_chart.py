"""kiosks/report_chart.py: the geometry of the server-drawn SVG charts."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from kiosks import report_chart

SERIES = [("web", "インターネット"), ("kiosk", "利用者端末"), ("counter", "窓口")]


@given(st.lists(st.lists(st.integers(min_value=0, max_value=10**7), min_size=3, max_size=3), min_size=1, max_size=6))
def test_shares_fill_the_bar_exactly_and_in_order(rows):
    chart = report_chart.stacked_shares([(f"表{i}", values) for i, values in enumerate(rows)], SERIES)
    for row, values in zip(chart.rows, rows, strict=True):
        assert row.total == sum(values)
        widths = [s.width for s in row.segments]
        if row.total:
            assert sum(widths) == pytest.approx(chart.bar_width, abs=0.05)
            assert sum(s.share for s in row.segments) == pytest.approx(1.0)
        else:
            assert widths == [0, 0, 0]
        for left, right in zip(row.segments, row.segments[1:], strict=False):
            assert right.x == pytest.approx(left.x + left.width, abs=0.02)
        assert row.segments[0].x == chart.label_width


def test_a_share_is_printed_inside_its_segment_only_when_it_fits():
    chart = report_chart.stacked_shares([("アクセス件数", [59, 1, 40])], SERIES)
    texts = [s.text for s in chart.rows[0].segments]
    assert texts == ["59.0%", "", "40.0%"]


def test_rate_bars_are_clipped_to_full_and_a_missing_rate_has_no_bar():
    chart = report_chart.rate_bars(
        [("春日区民センター", 0.25), ("超過", 1.4), ("未設定の施設の名前がとても長い場合の施設", None)]
    )
    quarter, over, missing = chart.bars
    assert quarter.width == pytest.approx(chart.bar_width / 4) and quarter.text == "25.0%"
    assert over.width == pytest.approx(chart.bar_width) and over.text == "140.0%"
    assert missing.width == 0 and missing.text == "—"
    assert missing.short_label.endswith("…") and len(missing.short_label) == report_chart.LABEL_CHARS
    assert [t.text for t in chart.ticks] == ["0%", "25%", "50%", "75%", "100%"]
    assert chart.bottom > missing.y + chart.bar_height
