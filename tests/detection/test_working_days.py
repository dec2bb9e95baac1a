"""Time limits in working days (工作日) on the official holiday calendar, 调休 included.

Dates checked against chinese_calendar: Sunday 2020-09-27 and Saturday 2020-10-10 were
working days, 2020-10-01..08 was the National Day + Mid-Autumn holiday; Sunday 2021-02-07 and
Saturday 2021-02-20 were working days, 2021-02-11..17 was the Spring Festival holiday."""
from datetime import date, datetime, timedelta, timezone

import pytest

from service.clock import SHANGHAI
from service.detection.working_days import (
    add_working_days,
    calendar_covers,
    deadline_after,
    is_working_day,
    working_days_between,
)

REPLY_LIMIT = 5  # Hunan 2022: simple enquiries answered within 5 working days
STOP_NOTICE_LIMIT = 15  # Yunnan: a stop-update notice stays up at least 15 working days


def beijing(*parts: int) -> datetime:
    return datetime(*parts, tzinfo=SHANGHAI)


def is_overdue(received_at: datetime, as_of: datetime, working_days: int = REPLY_LIMIT) -> bool:
    return as_of >= deadline_after(received_at, working_days)


def test_the_official_calendar_knows_the_2020_national_day_adjustments():
    assert is_working_day(date(2020, 9, 27))  # a Sunday worked in lieu
    assert is_working_day(date(2020, 10, 10))  # a Saturday worked in lieu
    assert not is_working_day(date(2020, 9, 26))  # an ordinary Saturday
    assert not any(is_working_day(date(2020, 10, day)) for day in range(1, 9))
    assert calendar_covers(date(2020, 10, 1))


def test_a_message_received_on_the_friday_before_national_day_is_due_at_the_end_of_9_october():
    # Counted: Sun 27 Sep (调休), Mon 28, Tue 29, Wed 30 Sep, then Fri 9 Oct after the holiday.
    assert add_working_days(date(2020, 9, 25), REPLY_LIMIT) == date(2020, 10, 9)
    assert deadline_after(beijing(2020, 9, 25, 10, 0), REPLY_LIMIT) == beijing(2020, 10, 10, 0, 0)


def test_the_day_a_message_arrives_never_counts():
    assert add_working_days(date(2020, 9, 25), 1) == date(2020, 9, 27)
    with pytest.raises(ValueError):
        add_working_days(date(2020, 9, 25), 0)


def test_a_message_received_on_an_adjusted_working_saturday_counts_from_that_day():
    # Saturday 10 Oct is a working day, so the clock starts on it like on any weekday: Mon 12 .. Fri 16.
    assert deadline_after(beijing(2020, 10, 10, 15, 0), REPLY_LIMIT) == beijing(2020, 10, 17, 0, 0)
    # And for a message from Friday 9 Oct, that Saturday is the first of the five days: due end of Thu 15.
    assert deadline_after(beijing(2020, 10, 9, 15, 0), REPLY_LIMIT) == beijing(2020, 10, 16, 0, 0)


def test_two_minutes_around_midnight_beijing_time_move_the_deadline_past_the_holiday():
    thursday_late = beijing(2020, 9, 24, 23, 59)  # counted from Fri 25: 25, 27, 28, 29, 30 Sep
    friday_early = beijing(2020, 9, 25, 0, 1)  # counted from Sun 27: 27, 28, 29, 30 Sep, 9 Oct
    assert deadline_after(thursday_late, REPLY_LIMIT) == beijing(2020, 10, 1, 0, 0)
    assert deadline_after(friday_early, REPLY_LIMIT) == beijing(2020, 10, 10, 0, 0)


def test_a_naive_time_is_beijing_wall_clock_time():
    assert deadline_after(datetime(2020, 9, 24, 23, 59), REPLY_LIMIT) == beijing(2020, 10, 1, 0, 0)


def test_a_utc_time_that_is_already_the_next_day_in_beijing_counts_on_the_beijing_date():
    # 2020-06-05T17:30Z is Saturday 01:30 in Beijing: the five days are Mon 8 .. Fri 12 June.
    saturday_in_beijing = datetime(2020, 6, 5, 17, 30, tzinfo=timezone.utc)
    assert deadline_after(saturday_in_beijing, REPLY_LIMIT) == beijing(2020, 6, 13, 0, 0)
    # 2020-06-04T17:30Z is Friday 01:30 in Beijing, so Friday is not counted: due end of Fri 12, not Thu 11.
    friday_in_beijing = datetime(2020, 6, 4, 17, 30, tzinfo=timezone.utc)
    assert deadline_after(friday_in_beijing, REPLY_LIMIT) == beijing(2020, 6, 13, 0, 0)


def test_the_deadline_is_a_beijing_time():
    deadline = deadline_after(datetime(2020, 6, 4, 17, 30, tzinfo=timezone.utc), REPLY_LIMIT)
    assert deadline.tzinfo == SHANGHAI
    assert deadline.isoformat() == "2020-06-13T00:00:00+08:00"


def test_a_message_is_overdue_from_the_deadline_itself_not_an_instant_before():
    received_at = beijing(2020, 9, 25, 10, 0)
    deadline = beijing(2020, 10, 10, 0, 0)
    assert not is_overdue(received_at, as_of=deadline - timedelta(microseconds=1))
    assert is_overdue(received_at, as_of=deadline)
    # The same instant written in UTC.
    assert is_overdue(received_at, as_of=datetime(2020, 10, 9, 16, 0, tzinfo=timezone.utc))
    assert not is_overdue(received_at, as_of=datetime(2020, 10, 9, 15, 59, 59, tzinfo=timezone.utc))


def test_a_stop_update_notice_posted_before_spring_festival_2021_stays_up_until_3_march():
    # From Fri 5 Feb: Sun 7 (调休), 8, 9, 10 | holiday 11..17 | 18, 19, Sat 20 (调休), 22..26, 1, 2, 3 Mar.
    assert add_working_days(date(2021, 2, 5), STOP_NOTICE_LIMIT) == date(2021, 3, 3)
    posted_at = beijing(2021, 2, 5, 9, 0)
    may_close_from = deadline_after(posted_at, STOP_NOTICE_LIMIT)
    assert may_close_from == beijing(2021, 3, 4, 0, 0)
    assert working_days_between(posted_at, may_close_from - timedelta(seconds=1)) == STOP_NOTICE_LIMIT


def test_a_year_beyond_the_calendars_data_falls_back_to_monday_to_friday():
    new_years_day = date(2100, 1, 1)  # a Friday; no holiday notice exists, so it is guessed a working day
    assert not calendar_covers(new_years_day)
    assert is_working_day(new_years_day)
    assert not is_working_day(date(2100, 1, 2))  # Saturday
    assert add_working_days(new_years_day, REPLY_LIMIT) == date(2100, 1, 8)
    assert deadline_after(beijing(2100, 1, 1, 9, 0), REPLY_LIMIT) == beijing(2100, 1, 9, 0, 0)


def test_working_days_waited_count_whole_working_days_after_the_day_received():
    received_at = beijing(2020, 9, 25, 10, 0)
    assert working_days_between(received_at, beijing(2020, 9, 25, 23, 0)) == 0  # same day
    assert working_days_between(received_at, beijing(2020, 9, 24, 9, 0)) == 0  # earlier
    assert working_days_between(received_at, beijing(2020, 9, 26, 9, 0)) == 0  # an ordinary Saturday
    assert working_days_between(received_at, beijing(2020, 9, 27, 9, 0)) == 1  # the 调休 Sunday
    assert working_days_between(received_at, beijing(2020, 10, 8, 9, 0)) == 4  # holiday adds nothing
    assert working_days_between(received_at, beijing(2020, 10, 9, 9, 0)) == 5
    assert working_days_between(received_at, beijing(2020, 10, 12, 9, 0)) == 7  # "已等待 7 个工作日"


def test_working_days_waited_use_beijing_dates_and_cross_new_year():
    # 2020-12-31T16:30Z is already 1 January (a holiday) in Beijing.
    assert working_days_between(beijing(2020, 12, 31, 9, 0), datetime(2020, 12, 31, 16, 30, tzinfo=timezone.utc)) == 0
    assert working_days_between(beijing(2020, 12, 31, 9, 0), beijing(2021, 1, 4, 9, 0)) == 1


@pytest.mark.parametrize(
    ("start", "end"),
    [
        (date(2020, 1, 1), date(2021, 1, 1)),
        (date(1998, 6, 1), date(2005, 3, 1)),  # from before the calendar's data into it
        (date(2025, 11, 3), date(2028, 2, 1)),  # from inside it to beyond it
    ],
)
def test_working_days_waited_agree_with_counting_day_by_day(start, end):
    by_day = sum(is_working_day(start + timedelta(days=i)) for i in range(1, (end - start).days + 1))
    assert working_days_between(beijing(start.year, start.month, start.day, 12), beijing(end.year, end.month, end.day, 12)) == by_day


def test_a_deadline_is_always_n_working_days_waited_just_before_it():
    received_at = beijing(2021, 1, 29, 18, 0)
    for n in range(1, 25):
        deadline = deadline_after(received_at, n)
        assert working_days_between(received_at, deadline - timedelta(microseconds=1)) == n
        assert is_working_day((deadline - timedelta(days=1)).date())
