"""What reports keep: which findings each detection run saw (so a report reads exactly what
held at its time point, however often detection runs again later), spot-check samples, and
published reports, frozen with the time point of their inputs."""
from datetime import datetime

from sqlalchemy import JSON, Float, ForeignKey, Integer, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from service import clock
from service.db import Base, BigId, UTCDateTime


class RunFinding(Base):
    """One unresolved finding as one detection run left it: the record of what held at the
    run's monitoring time point. Findings themselves move on (rule, severity, title, status)."""

    __tablename__ = "detection_run_findings"

    run_id: Mapped[int] = mapped_column(ForeignKey("detection_runs.id", ondelete="CASCADE"), primary_key=True)
    finding_id: Mapped[int] = mapped_column(ForeignKey("findings.id", ondelete="CASCADE"), primary_key=True)
    rule: Mapped[str] = mapped_column(String(60))
    severity: Mapped[str] = mapped_column(String(10))
    title: Mapped[str] = mapped_column(Text)  # its wording then ("已 20 天未更新"), not today's


class Sample(Base):
    """A spot-check sample (抽查样本): drawn once, reproducible from its seed."""

    __tablename__ = "report_samples"

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    period: Mapped[str] = mapped_column(String(40))
    region_code: Mapped[str | None] = mapped_column(String(6))
    rate: Mapped[float | None] = mapped_column(Float)
    size: Mapped[int | None] = mapped_column(Integer)
    seed: Mapped[str] = mapped_column(String(100))
    strata: Mapped[str] = mapped_column(String(20))
    population: Mapped[int] = mapped_column(Integer)
    drawn: Mapped[int] = mapped_column(Integer)
    main_accounts: Mapped[int] = mapped_column(Integer)
    created_by: Mapped[str | None] = mapped_column(String(100))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=clock.now)


class SampleAccount(Base):
    __tablename__ = "report_sample_accounts"

    sample_id: Mapped[int] = mapped_column(ForeignKey("report_samples.id", ondelete="CASCADE"), primary_key=True)
    account_id: Mapped[int] = mapped_column(ForeignKey("accounts.id", ondelete="CASCADE"), primary_key=True, index=True)


class PublishedReport(Base):
    """A report as published: its figures, its bulletin draft and the time point and
    detection runs it was computed from. Never changed after it is written."""

    __tablename__ = "published_reports"
    __table_args__ = (UniqueConstraint("period", "time_point", "scope"),)

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    period: Mapped[str] = mapped_column(String(40))
    time_point: Mapped[datetime] = mapped_column(UTCDateTime())
    scope: Mapped[str] = mapped_column(String(100))  # region|platform|sample, '*' for all
    run_id: Mapped[int | None] = mapped_column(ForeignKey("detection_runs.id", ondelete="SET NULL"))
    region_code: Mapped[str | None] = mapped_column(String(6))
    platform: Mapped[str | None] = mapped_column(String(20))
    sample_id: Mapped[int | None] = mapped_column(ForeignKey("report_samples.id", ondelete="SET NULL"))
    title: Mapped[str] = mapped_column(Text)
    content: Mapped[dict] = mapped_column(JSON)
    bulletin_markdown: Mapped[str] = mapped_column(Text)
    published_by: Mapped[str | None] = mapped_column(String(100))
    published_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=clock.now)
