"""Working days (工作日) for the time limits in the rules.

- Hunan, 2022: simple public enquiries to an account are answered within 5 working days
  (`reply_working_days`).
- Yunnan, 《云南省政务新媒体管理办法》(云政办规〔2019〕6号): a stop-update notice stays up at
  least 15 working days before the account is closed (`stop_notice_working_days`).
- Which days are working days is set each year by the State Council's holiday notice
  (国务院办公厅关于<年>部分节假日安排的通知), adjusted working weekends (调休) included:
  Sunday 2020-09-27 and Saturday 2020-10-10 were working days, 2020-10-01..08 were not.
  The notices are read through the `chinese_calendar` package.

A time limit counts on the Beijing calendar: the day something arrives never counts, and
the limit runs out at Beijing midnight after the n-th working day.
"""
from calendar import isleap
from datetime import date, datetime, time, timedelta
from functools import lru_cache

import chinese_calendar

from service.clock import SHANGHAI, as_aware

ONE_DAY = timedelta(days=1)


@lru_cache(maxsize=None)
def _calendar_covers_year(year: int) -> bool:
    try:
        chinese_calendar.is_workday(date(year, 7, 1))
    except NotImplementedError:
        return False
    return True


def calendar_covers(day: date) -> bool:
    """Whether the holiday notices for `day`'s year are known; if not, working days are guessed as Mon–Fri."""
    return _calendar_covers_year(day.year)


@lru_cache(maxsize=1 << 16)
def is_working_day(day: date) -> bool:
    if calendar_covers(day):
        return chinese_calendar.is_workday(day)
    # No notice published (or packaged) yet: Monday–Friday is the best guess, reported by calendar_covers.
    return day.weekday() < 5


@lru_cache(maxsize=1 << 16)
def add_working_days(start: date, n: int) -> date:
    """The n-th working day after `start`; `start` itself never counts."""
    if n < 1:
        raise ValueError(f"n must be at least 1, got {n}")
    day, counted = start, 0
    while counted < n:
        day += ONE_DAY
        counted += is_working_day(day)
    return day


def _beijing_date(moment: datetime) -> date:
    return as_aware(moment).astimezone(SHANGHAI).date()


@lru_cache(maxsize=1 << 16)
def _deadline_for_day(received_on: date, working_days: int) -> datetime:
    last_day = add_working_days(received_on, working_days)
    return datetime.combine(last_day + ONE_DAY, time(), tzinfo=SHANGHAI)


def deadline_after(moment: datetime, working_days: int) -> datetime:
    """When a limit of `working_days` runs out for something received at `moment` (naive = Beijing time).

    It is Beijing midnight at the end of the n-th working day after the Beijing date of `moment`;
    something is overdue at `as_of` when `as_of >= deadline_after(...)`."""
    return _deadline_for_day(_beijing_date(moment), working_days)


@lru_cache(maxsize=None)
def _cumulative_working_days(year: int) -> tuple[int, ...]:
    """Working days from 1 January of `year` through each day of it (index = day of year − 1)."""
    first = date(year, 1, 1).toordinal()
    running, counts = 0, []
    for offset in range(366 if isleap(year) else 365):
        running += is_working_day(date.fromordinal(first + offset))
        counts.append(running)
    return tuple(counts)


@lru_cache(maxsize=1 << 16)
def _working_days_in_year_through(day: date) -> int:
    return _cumulative_working_days(day.year)[day.toordinal() - date(day.year, 1, 1).toordinal()]


def working_days_between(start: datetime, end: datetime) -> int:
    """Whole working days after `start`'s Beijing date up to and including `end`'s (0 if not later).

    This is the "已等待 N 个工作日" of the evidence; naive times are Beijing time."""
    first, last = _beijing_date(start), _beijing_date(end)
    if last <= first:
        return 0
    # Per-year running counts make a long wait a few look-ups instead of a walk over its days.
    whole_years = sum(_cumulative_working_days(year)[-1] for year in range(first.year, last.year))
    return whole_years + _working_days_in_year_through(last) - _working_days_in_year_through(first)
