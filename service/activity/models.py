from datetime import datetime

from sqlalchemy import ForeignKey, Index, Integer, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from service.db import Base, BigId, Timestamped, UTCDateTime


class Post(Timestamped, Base):
    """Something an account published."""

    __tablename__ = "posts"
    __table_args__ = (
        UniqueConstraint("account_id", "external_id"),
        Index("ix_posts_account_id_published_at", "account_id", "published_at"),
    )

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    account_id: Mapped[int] = mapped_column(ForeignKey("accounts.id", ondelete="CASCADE"))
    external_id: Mapped[str] = mapped_column(String(300))
    published_at: Mapped[datetime] = mapped_column(UTCDateTime())
    title: Mapped[str | None] = mapped_column(Text)
    text: Mapped[str] = mapped_column(Text, default="")
    url: Mapped[str | None] = mapped_column(Text)


class Interaction(Timestamped, Base):
    """A public message or comment addressed to an account, and when it was answered."""

    __tablename__ = "interactions"
    __table_args__ = (
        UniqueConstraint("account_id", "external_id"),
        Index("ix_interactions_account_id_received_at", "account_id", "received_at"),
    )

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    account_id: Mapped[int] = mapped_column(ForeignKey("accounts.id", ondelete="CASCADE"))
    external_id: Mapped[str] = mapped_column(String(300))
    received_at: Mapped[datetime] = mapped_column(UTCDateTime())
    replied_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    text: Mapped[str] = mapped_column(Text, default="")


# Source kinds the poller fetches; push sources are sent to us instead.
POLLED_KINDS = ("rss", "json")


class PollState(Base):
    """When an account (rss or json source) is polled next, who is polling it now, and what to
    send next time. Kept apart from `accounts`: these are the poller's working notes, while the
    source health that readers see (`source_status`) stays on the account."""

    __tablename__ = "poll_states"

    account_id: Mapped[int] = mapped_column(BigId, ForeignKey("accounts.id", ondelete="CASCADE"), primary_key=True)
    # None: parked, the account is not polled now (suspended, closed, or no rss/json source)
    next_poll_at: Mapped[datetime | None] = mapped_column(UTCDateTime(), index=True)
    # A replica holds the account until leased_until; a dead replica's lease simply expires.
    leased_until: Mapped[datetime | None] = mapped_column(UTCDateTime())
    lease_holder: Mapped[str | None] = mapped_column(String(200))
    # Per-account override of ZW_POLL_INTERVAL_MINUTES (None: the setting).
    interval_minutes: Mapped[int | None] = mapped_column(Integer)
    # The URL the validators below belong to: a changed source starts afresh.
    source_url: Mapped[str | None] = mapped_column(Text)
    etag: Mapped[str | None] = mapped_column(Text)
    last_modified: Mapped[str | None] = mapped_column(Text)
    # JSON sources: the `next_since` the source gave last time.
    since: Mapped[str | None] = mapped_column(Text)
    last_status_code: Mapped[int | None] = mapped_column(Integer)
    polls: Mapped[int] = mapped_column(Integer, default=0)
