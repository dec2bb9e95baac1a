"""Inspection periods as offices name them: a quarter (2020Q2), a half year (2020H1), a month
(2020-06), a year (2020) or a range of days. A period's monitoring time point (监测时间点) is
its last second, Beijing time; the previous period is the one of the same length before it."""
import re
from dataclasses import dataclass
from datetime import date, datetime, timedelta

from service.clock import SHANGHAI

QUARTER_NAMES = "一二三四"
PERIOD_FORMATS = "季度 2020Q2、半年 2020H1、月份 2020-06 或年份 2020"
_QUARTER = re.compile(r"^(\d{4})\s*[Qq]([1-4])$")
_HALF = re.compile(r"^(\d{4})\s*[Hh]([12])$")
_MONTH = re.compile(r"^(\d{4})-(\d{1,2})$")
_YEAR = re.compile(r"^(\d{4})$")


@dataclass(frozen=True)
class Period:
    label: str  # 2020Q2
    name: str  # 2020年第二季度
    start: datetime  # first instant, Beijing time
    end: datetime  # first instant after the period
    kind: str  # quarter, half, month, year, range

    @property
    def time_point(self) -> datetime:
        """监测时间点: the period's last second (2020-06-30 23:59:59 +08:00 for 2020Q2)."""
        return self.end - timedelta(seconds=1)

    @property
    def unit_word(self) -> str:
        return {"quarter": "季度", "half": "半年", "month": "月", "year": "年"}.get(self.kind, "期")

    def previous(self) -> "Period":
        if self.kind == "range":
            days = (self.end - self.start).days
            return range_period(self.start.date() - timedelta(days=days), self.start.date() - timedelta(days=1))
        before = self.start - timedelta(days=1)
        if self.kind == "quarter":
            return parse(f"{before.year}Q{(before.month - 1) // 3 + 1}")
        if self.kind == "half":
            return parse(f"{before.year}H{1 if before.month <= 6 else 2}")
        if self.kind == "month":
            return parse(f"{before.year}-{before.month:02d}")
        return parse(str(before.year))


def _month_start(year: int, month: int) -> datetime:
    while month > 12:
        year, month = year + 1, month - 12
    return datetime(year, month, 1, tzinfo=SHANGHAI)


def parse(text: str) -> Period:
    """A period from its label, or ValueError with a Chinese reason."""
    raw = text.strip()
    if m := _QUARTER.match(raw):
        year, quarter = int(m[1]), int(m[2])
        start = _month_start(year, 3 * quarter - 2)
        return Period(f"{year}Q{quarter}", f"{year}年第{QUARTER_NAMES[quarter - 1]}季度", start, _month_start(year, 3 * quarter + 1), "quarter")
    if m := _HALF.match(raw):
        year, half = int(m[1]), int(m[2])
        start = _month_start(year, 6 * half - 5)
        return Period(f"{year}H{half}", f"{year}年{'上' if half == 1 else '下'}半年", start, _month_start(year, 6 * half + 1), "half")
    if m := _MONTH.match(raw):
        year, month = int(m[1]), int(m[2])
        if not 1 <= month <= 12:
            raise ValueError(f"月份 {month} 无效")
        return Period(f"{year}-{month:02d}", f"{year}年{month}月", _month_start(year, month), _month_start(year, month + 1), "month")
    if m := _YEAR.match(raw):
        year = int(m[1])
        return Period(str(year), f"{year}年", _month_start(year, 1), _month_start(year + 1, 1), "year")
    raise ValueError(f"无法识别的检查周期 {text!r}：应为{PERIOD_FORMATS}")


def range_period(first: date, last: date) -> Period:
    """The days first..last, both included."""
    if last < first:
        raise ValueError("检查周期的结束日期早于开始日期")
    start = datetime(first.year, first.month, first.day, tzinfo=SHANGHAI)
    end = datetime(last.year, last.month, last.day, tzinfo=SHANGHAI) + timedelta(days=1)
    return Period(f"{first.isoformat()}~{last.isoformat()}", f"{first.year}年{first.month}月{first.day}日至{last.year}年{last.month}月{last.day}日", start, end, "range")


def resolve(*, period: str | None, first: date | None, last: date | None) -> Period:
    """The period a request names: a label, or from/to dates."""
    if period and (first or last):
        raise ValueError("period 与 from/to 只能二选一")
    if period:
        return parse(period)
    if first and last:
        return range_period(first, last)
    raise ValueError(f"请给出检查周期 period（{PERIOD_FORMATS}），或同时给出 from 和 to 日期")
