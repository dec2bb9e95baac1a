from datetime import datetime
from enum import StrEnum

from sqlalchemy import Boolean, CheckConstraint, ForeignKey, Integer, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship

from service.db import Base, BigId, Timestamped, UTCDateTime


class Platform(StrEnum):
    wechat = "wechat"
    weibo = "weibo"
    douyin = "douyin"
    toutiao = "toutiao"
    kuaishou = "kuaishou"
    bilibili = "bilibili"
    xiaohongshu = "xiaohongshu"
    baijiahao = "baijiahao"
    app = "app"
    other = "other"


class Level(StrEnum):
    main = "main"  # 主号: district and city-department main accounts, always inspected
    sub = "sub"


class AccountStatus(StrEnum):
    active = "active"
    suspended = "suspended"
    closed = "closed"


class SourceKind(StrEnum):
    rss = "rss"
    json = "json"
    push = "push"


def _one_of(column: str, enum: type[StrEnum]) -> CheckConstraint:
    values = ", ".join(f"'{member.value}'" for member in enum)
    return CheckConstraint(f"{column} IN ({values})", name=column)


class Unit(Timestamped, Base):
    """主办单位: the government body that runs accounts."""

    __tablename__ = "units"

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    name: Mapped[str] = mapped_column(String(200))
    region_code: Mapped[str] = mapped_column(String(6), index=True)
    region_name: Mapped[str | None] = mapped_column(String(100))
    parent_id: Mapped[int | None] = mapped_column(ForeignKey("units.id", ondelete="RESTRICT"), index=True)
    credit_code: Mapped[str | None] = mapped_column(String(18), unique=True)

    accounts: Mapped[list["Account"]] = relationship(back_populates="unit")


class Account(Timestamped, Base):
    """A government new-media account (政务新媒体) on one platform."""

    __tablename__ = "accounts"
    __table_args__ = (
        UniqueConstraint("platform", "handle"),
        _one_of("platform", Platform),
        _one_of("level", Level),
        _one_of("status", AccountStatus),
        _one_of("source_kind", SourceKind),
    )

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    platform: Mapped[str] = mapped_column(String(20))
    name: Mapped[str] = mapped_column(String(200))
    handle: Mapped[str] = mapped_column(String(200))
    unit_id: Mapped[int] = mapped_column(ForeignKey("units.id", ondelete="RESTRICT"), index=True)
    level: Mapped[str] = mapped_column(String(10), default=Level.sub)
    filed: Mapped[bool] = mapped_column(Boolean, default=True)
    status: Mapped[str] = mapped_column(String(20), default=AccountStatus.active, index=True)
    source_kind: Mapped[str | None] = mapped_column(String(10))
    source_url: Mapped[str | None] = mapped_column(Text)

    opened_at: Mapped[datetime | None] = mapped_column(UTCDateTime())  # 开设时间, when the registry knows it

    # Kept up to date by activity ingest so that lists and detectors need not scan posts.
    last_post_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    # When ingest last changed a post or message: incremental detection runs start from it.
    activity_changed_at: Mapped[datetime | None] = mapped_column(UTCDateTime(), index=True)

    # The health of the account's activity source, written by the poller.
    source_last_polled_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    source_failing_since: Mapped[datetime | None] = mapped_column(UTCDateTime())
    source_failures: Mapped[int] = mapped_column(Integer, default=0)
    source_last_error: Mapped[str | None] = mapped_column(Text)

    unit: Mapped[Unit] = relationship(back_populates="accounts", lazy="joined")


class Discovery(Timestamped, Base):
    """An account another system saw on a platform, to be matched against the registry."""

    __tablename__ = "discoveries"
    __table_args__ = (UniqueConstraint("platform", "handle", "name"), _one_of("platform", Platform))

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    platform: Mapped[str] = mapped_column(String(20))
    handle: Mapped[str | None] = mapped_column(String(200))
    name: Mapped[str] = mapped_column(String(200))
    url: Mapped[str | None] = mapped_column(Text)
    region_code: Mapped[str | None] = mapped_column(String(6))
    reported_by: Mapped[str | None] = mapped_column(String(100))
    seen_at: Mapped[datetime] = mapped_column(UTCDateTime())
