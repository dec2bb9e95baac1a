from datetime import datetime

from sqlalchemy import JSON, Boolean, ForeignKey, Integer, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from service import clock
from service.db import Base, BigId, UTCDateTime


class DetectionRun(Base):
    """One pass of the detectors at a monitoring time point (监测时间点), kept for the record."""

    __tablename__ = "detection_runs"

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    as_of: Mapped[datetime] = mapped_column(UTCDateTime())
    region_code: Mapped[str | None] = mapped_column(String(6))
    unit_id: Mapped[int | None] = mapped_column(ForeignKey("units.id", ondelete="SET NULL"))
    incremental: Mapped[bool] = mapped_column(Boolean, default=False)
    trigger: Mapped[str] = mapped_column(String(20))  # api, schedule, cli, demo, poll
    requested_by: Mapped[str | None] = mapped_column(String(100))
    status: Mapped[str] = mapped_column(String(20), default="running")  # running, completed, failed
    started_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=clock.now)
    finished_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    accounts_checked: Mapped[int] = mapped_column(Integer, default=0)
    counts: Mapped[dict] = mapped_column(JSON, default=dict)  # {"by_type": {...}, "by_rule": {...}}
    transitions: Mapped[dict] = mapped_column(JSON, default=dict)  # opened, escalated, reopened, resolved …
    error: Mapped[str | None] = mapped_column(Text)
