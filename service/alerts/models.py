from datetime import datetime
from enum import StrEnum

from sqlalchemy import JSON, Boolean, CheckConstraint, ForeignKey, Index, Integer, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from service import clock
from service.db import Base, BigId, Timestamped, UTCDateTime


class EventType(StrEnum):
    finding_opened = "finding.opened"
    finding_escalated = "finding.escalated"
    finding_resolved = "finding.resolved"
    report_published = "report.published"
    findings_digest = "findings.digest"  # only ever sent to subscriptions with digest_minutes
    ping = "ping"  # only ever sent by the test button


# What a subscriber may choose in `event_types`: digests and pings come by themselves.
SUBSCRIBABLE = (EventType.finding_opened, EventType.finding_escalated, EventType.finding_resolved, EventType.report_published)


class DisabledReason(StrEnum):
    manual = "manual"  # switched off through the API
    gone = "gone"  # the receiver answered 410 Gone
    failing = "failing"  # every delivery failed for ZW_WEBHOOK_DISABLE_AFTER_DAYS


class DeliveryStatus(StrEnum):
    pending = "pending"  # waiting for its next attempt (or being sent under a lease)
    held = "held"  # waiting for its subscription's digest window to close
    digested = "digested"  # went out inside a findings.digest delivery (digest_id)
    succeeded = "succeeded"
    failed = "failed"  # attempts exhausted, or its subscription was disabled


def _one_of(column: str, enum: type[StrEnum]) -> CheckConstraint:
    values = ", ".join(f"'{member.value}'" for member in enum)
    return CheckConstraint(f"{column} IN ({values})", name=column)


class Subscription(Timestamped, Base):
    """A receiver of webhook alerts: where, which events, and the secret that signs them."""

    __tablename__ = "webhook_subscriptions"

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    url: Mapped[str] = mapped_column(Text)
    description: Mapped[str | None] = mapped_column(Text)
    event_types: Mapped[list] = mapped_column(JSON)
    filters: Mapped[dict] = mapped_column(JSON)  # types, rules, severities, unit_ids (region in region_code)
    region_code: Mapped[str | None] = mapped_column(String(6), index=True)  # only events inside this region
    digest_minutes: Mapped[int | None] = mapped_column(Integer)
    enabled: Mapped[bool] = mapped_column(Boolean, default=True)
    disabled_reason: Mapped[str | None] = mapped_column(String(20))
    disabled_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    # Fernet tokens (ZW_WEBHOOK_SECRET_KEY): the plain secret is shown once and never stored
    secret_encrypted: Mapped[str] = mapped_column(Text)
    previous_secret_encrypted: Mapped[str | None] = mapped_column(Text)
    previous_secret_expires_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    failing_since: Mapped[datetime | None] = mapped_column(UTCDateTime())
    last_success_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    last_failure_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    created_by: Mapped[str | None] = mapped_column(String(100))


class WebhookEvent(Base):
    """One event as it is sent: its id is the `webhook-id`, its payload the exact signed body,
    so every retry and redelivery sends the same bytes under the same id."""

    __tablename__ = "webhook_events"

    id: Mapped[str] = mapped_column(String(40), primary_key=True)  # msg_…
    type: Mapped[str] = mapped_column(String(40))
    payload: Mapped[str] = mapped_column(Text)
    region_code: Mapped[str | None] = mapped_column(String(6))
    finding_id: Mapped[int | None] = mapped_column(BigId, index=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=clock.now)


class Delivery(Base):
    """The outbox: one row per (event, subscription), written with the change that caused it."""

    __tablename__ = "webhook_deliveries"
    __table_args__ = (
        _one_of("status", DeliveryStatus),
        UniqueConstraint("event_id", "subscription_id"),
        Index("ix_webhook_deliveries_due", "status", "next_attempt_at"),
        Index("ix_webhook_deliveries_subscription_status", "subscription_id", "status"),
    )

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    subscription_id: Mapped[int] = mapped_column(ForeignKey("webhook_subscriptions.id", ondelete="CASCADE"))
    event_id: Mapped[str] = mapped_column(ForeignKey("webhook_events.id", ondelete="CASCADE"))
    event_type: Mapped[str] = mapped_column(String(40))
    status: Mapped[str] = mapped_column(String(12))
    attempt_count: Mapped[int] = mapped_column(Integer, default=0)
    round_attempts: Mapped[int] = mapped_column(Integer, default=0)  # since last queued: position in the retry schedule
    next_attempt_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    leased_until: Mapped[datetime | None] = mapped_column(UTCDateTime())
    lease_holder: Mapped[str | None] = mapped_column(String(200))
    last_status_code: Mapped[int | None] = mapped_column(Integer)
    last_error: Mapped[str | None] = mapped_column(Text)
    delivered_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    digest_id: Mapped[int | None] = mapped_column(ForeignKey("webhook_deliveries.id", ondelete="SET NULL"))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=clock.now)


class Attempt(Base):
    """One try at sending a delivery, as the delivery log shows it."""

    __tablename__ = "webhook_attempts"

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    delivery_id: Mapped[int] = mapped_column(ForeignKey("webhook_deliveries.id", ondelete="CASCADE"), index=True)
    number: Mapped[int] = mapped_column(Integer)
    at: Mapped[datetime] = mapped_column(UTCDateTime())
    status_code: Mapped[int | None] = mapped_column(Integer)
    latency_ms: Mapped[int | None] = mapped_column(Integer)
    error: Mapped[str | None] = mapped_column(Text)
    response_body: Mapped[str | None] = mapped_column(Text)  # the first 1 KB
    replica: Mapped[str | None] = mapped_column(String(200))
