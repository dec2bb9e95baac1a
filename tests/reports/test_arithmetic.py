"""The arithmetic bulletins print, and the periods offices name."""
from datetime import date, datetime
from decimal import Decimal

import pytest

from service.clock import SHANGHAI
from service.config import Settings
from service.reports import periods
from service.reports.sampling import allocate
from service.reports.service import percent, single_veto_rules, vetoes


def test_tianjin_2020q2_new_media_86_of_99_is_86_87_percent():
    assert percent(99 - 13, 99) == Decimal("86.87")


def test_tianjin_spot_check_rate_99_of_1391_is_7_12_percent():
    assert percent(99, 1391) == Decimal("7.12")


def test_gansu_2021q2_591_minus_25_over_591_is_95_77_percent():
    assert percent(591 - 25, 591) == Decimal("95.77")


def test_a_half_hundredth_rounds_up_as_printed_not_to_even():
    assert percent(1, 800) == Decimal("0.13")  # 0.125: banker's rounding would print 0.12
    assert percent(1, 8) == Decimal("12.50")


def test_nothing_checked_has_no_pass_rate():
    assert percent(0, 0) is None


@pytest.mark.parametrize(("label", "start", "time_point", "previous"), [
    ("2020Q2", datetime(2020, 4, 1), datetime(2020, 6, 30, 23, 59, 59), "2020Q1"),
    ("2020q1", datetime(2020, 1, 1), datetime(2020, 3, 31, 23, 59, 59), "2019Q4"),
    ("2020H1", datetime(2020, 1, 1), datetime(2020, 6, 30, 23, 59, 59), "2019H2"),
    ("2020-06", datetime(2020, 6, 1), datetime(2020, 6, 30, 23, 59, 59), "2020-05"),
    ("2020-01", datetime(2020, 1, 1), datetime(2020, 1, 31, 23, 59, 59), "2019-12"),
    ("2021", datetime(2021, 1, 1), datetime(2021, 12, 31, 23, 59, 59), "2020"),
])  # fmt: skip
def test_a_period_ends_at_its_last_second_beijing_time(label, start, time_point, previous):
    period = periods.parse(label)
    assert period.start == start.replace(tzinfo=SHANGHAI)
    assert period.time_point == time_point.replace(tzinfo=SHANGHAI)
    assert period.previous().label == previous


def test_a_range_of_days_is_compared_with_as_many_days_before():
    period = periods.resolve(period=None, first=date(2020, 4, 1), last=date(2020, 4, 30))
    assert period.time_point == datetime(2020, 4, 30, 23, 59, 59, tzinfo=SHANGHAI)
    assert (period.previous().start.date(), period.previous().time_point.date()) == (date(2020, 3, 2), date(2020, 3, 31))


@pytest.mark.parametrize("label", ["2020Q5", "2020-13", "二〇二〇", "", "2020Q2x"])
def test_an_unknown_period_is_refused_in_chinese(label):
    with pytest.raises(ValueError, match="检查周期|月份"):
        periods.parse(label)


def test_a_sample_quota_is_split_in_proportion_and_adds_up():
    shares = allocate(10, {"120000": 50, "620000": 30, "350000": 20})
    assert shares == {"120000": 5, "620000": 3, "350000": 2}
    uneven = allocate(7, {"a": 1, "b": 1, "c": 1})
    assert sum(uneven.values()) == 7 and max(uneven.values()) - min(uneven.values()) <= 1


def test_single_veto_rules_come_from_settings_with_an_optional_severity_floor():
    rules = single_veto_rules(Settings(report_single_veto_rules="dormant.no_update_14d,off_topic.posts@high"))
    assert vetoes("dormant.no_update_14d", "low", rules)
    assert vetoes("off_topic.posts", "high", rules) and not vetoes("off_topic.posts", "medium", rules)
    assert not vetoes("duplicate.same_unit_platform", "high", rules)


def test_a_malformed_single_veto_setting_is_refused():
    with pytest.raises(ValueError, match="REPORT_SINGLE_VETO_RULES"):
        Settings(report_single_veto_rules="dormant.no_update_14d@severe")
