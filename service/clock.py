"""Time as the service understands it: instants are stored in UTC, naive input is read as
Asia/Shanghai (DESIGN.md), and answers are written with the +08:00 offset offices read."""
from datetime import datetime, timezone
from typing import Annotated
from zoneinfo import ZoneInfo

from pydantic import AfterValidator, PlainSerializer

SHANGHAI = ZoneInfo("Asia/Shanghai")


def now() -> datetime:
    return datetime.now(timezone.utc)


def as_aware(moment: datetime) -> datetime:
    """A naive time is a Beijing wall-clock time; an aware one keeps its instant."""
    return moment.replace(tzinfo=SHANGHAI) if moment.tzinfo is None else moment


def to_beijing_iso(moment: datetime) -> str:
    return as_aware(moment).astimezone(SHANGHAI).isoformat()


# The one datetime type of every schema: accepts naive or offset input, answers +08:00.
Moment = Annotated[datetime, AfterValidator(as_aware), PlainSerializer(to_beijing_iso, return_type=str)]
