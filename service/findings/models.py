from datetime import datetime
from enum import StrEnum

from sqlalchemy import JSON, CheckConstraint, ForeignKey, Index, Integer, String, Text
from sqlalchemy.orm import Mapped, mapped_column, relationship

from service import clock
from service.db import Base, BigId, Timestamped, UTCDateTime


class FindingType(StrEnum):
    dormant = "dormant"
    off_topic = "off_topic"
    duplicate = "duplicate"
    unresponsive = "unresponsive"
    unregistered = "unregistered"


class Severity(StrEnum):
    low = "low"
    medium = "medium"
    high = "high"

    @property
    def rank(self) -> int:
        return list(Severity).index(self)


class FindingStatus(StrEnum):
    open = "open"
    acknowledged = "acknowledged"
    resolved = "resolved"


class Finding(Timestamped, Base):
    """A problem seen on a subject (an account, a unit's platform, a discovered account).
    The fingerprint (problem, subject) makes reruns update rather than duplicate."""

    __tablename__ = "findings"
    __table_args__ = (
        CheckConstraint("status IN ('open', 'acknowledged', 'resolved')", name="status"),
        Index("ix_findings_status_type", "status", "type"),
    )

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    fingerprint: Mapped[str] = mapped_column(String(200), unique=True)
    type: Mapped[str] = mapped_column(String(20))
    rule: Mapped[str] = mapped_column(String(60), index=True)
    severity: Mapped[str] = mapped_column(String(10))
    severity_rank: Mapped[int] = mapped_column(Integer)  # for sorting by severity
    status: Mapped[str] = mapped_column(String(20), default=FindingStatus.open)
    unit_id: Mapped[int | None] = mapped_column(ForeignKey("units.id", ondelete="SET NULL"), index=True)
    region_code: Mapped[str | None] = mapped_column(String(6), index=True)
    platform: Mapped[str | None] = mapped_column(String(20))
    title: Mapped[str] = mapped_column(Text)
    evidence: Mapped[dict] = mapped_column(JSON)
    first_seen: Mapped[datetime] = mapped_column(UTCDateTime())  # monitoring time points
    last_seen: Mapped[datetime] = mapped_column(UTCDateTime(), index=True)
    resolved_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    reopen_count: Mapped[int] = mapped_column(Integer, default=0)
    last_run_id: Mapped[int | None] = mapped_column(ForeignKey("detection_runs.id", ondelete="SET NULL"))

    accounts: Mapped[list["FindingAccount"]] = relationship(
        cascade="all, delete-orphan", lazy="selectin", order_by="FindingAccount.account_id"
    )

    @property
    def account_ids(self) -> list[int]:
        return [link.account_id for link in self.accounts]


class FindingAccount(Base):
    """The accounts a finding is about (several for a duplicate)."""

    __tablename__ = "finding_accounts"

    finding_id: Mapped[int] = mapped_column(ForeignKey("findings.id", ondelete="CASCADE"), primary_key=True)
    account_id: Mapped[int] = mapped_column(ForeignKey("accounts.id", ondelete="CASCADE"), primary_key=True, index=True)


class FindingEvent(Base):
    """One transition of a finding: who, when, what, and a note."""

    __tablename__ = "finding_events"

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    finding_id: Mapped[int] = mapped_column(ForeignKey("findings.id", ondelete="CASCADE"), index=True)
    at: Mapped[datetime] = mapped_column(UTCDateTime(), default=clock.now)
    actor: Mapped[str] = mapped_column(String(100))
    action: Mapped[str] = mapped_column(String(20))  # opened, escalated, deescalated, acknowledged, resolved, reopened
    from_status: Mapped[str | None] = mapped_column(String(20))
    to_status: Mapped[str] = mapped_column(String(20))
    rule: Mapped[str] = mapped_column(String(60))
    severity: Mapped[str] = mapped_column(String(10))
    note: Mapped[str | None] = mapped_column(Text)
    run_id: Mapped[int | None] = mapped_column(ForeignKey("detection_runs.id", ondelete="SET NULL"))
