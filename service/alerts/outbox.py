"""The outbox: webhook events and their delivery rows, written in the caller's transaction.

Finding transitions call `enqueue_finding_event` from findings/service._transition. A detection run
can open thousands of findings in one transaction, so the enabled subscriptions are loaded once per
transaction and the rows are buffered, then written with two multi-row INSERTs just before the
session flushes the finding changes or commits: the event is committed exactly when the change is."""
import json
import secrets
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import event as orm_event
from sqlalchemy import insert, select
from sqlalchemy.orm import Session, SessionTransaction

from service import clock
from service.alerts.models import Delivery, DeliveryStatus, EventType, Subscription, WebhookEvent
from service.config import get_settings
from service.registry.codes import region_prefix

PAYLOAD_LIMIT = 20 * 1024  # bytes; receivers behind gateways choke on larger bodies
SHORT_EVIDENCE = 300  # evidence entries up to this many bytes survive trimming

# Finding actions that subscribers hear about; acknowledging and de-escalating are office work,
# not news for a receiver (a de-escalation shows in the finding itself).
FINDING_EVENTS = {
    "opened": EventType.finding_opened,
    "reopened": EventType.finding_opened,
    "escalated": EventType.finding_escalated,
    "resolved": EventType.finding_resolved,
}

_BUFFER = "alerts.outbox"
_LISTENING = "alerts.outbox.listening"


def new_message_id() -> str:
    return "msg_" + secrets.token_urlsafe(18)


def dumps(payload: dict) -> str:
    return json.dumps(payload, ensure_ascii=False, separators=(",", ":"))


def finding_link(finding_id: int) -> str:
    return f"{get_settings().public_base_url.rstrip('/')}/v1/findings/{finding_id}"


@dataclass(frozen=True)
class Receiver:
    """An enabled subscription, as plain data the matching needs."""

    id: int
    event_types: frozenset[str]
    types: frozenset[str] | None
    rules: frozenset[str] | None
    severities: frozenset[str] | None
    unit_ids: frozenset[int] | None
    region_prefix: str | None
    digest: bool

    @classmethod
    def of(cls, row) -> "Receiver":
        filters = row.filters or {}

        def chosen(key: str) -> frozenset | None:
            values = filters.get(key)
            return frozenset(values) if values else None

        return cls(
            id=row.id, event_types=frozenset(row.event_types), types=chosen("types"), rules=chosen("rules"),
            severities=chosen("severities"), unit_ids=chosen("unit_ids"),
            region_prefix=region_prefix(row.region_code) if row.region_code else None, digest=bool(row.digest_minutes),
        )  # fmt: skip

    def wants(self, event_type: str, region_code: str | None, finding: Any = None) -> bool:
        if event_type not in self.event_types:
            return False
        if self.region_prefix is not None and not (region_code and region_code.startswith(self.region_prefix)):
            return False
        if finding is None:
            return True
        return (
            (self.types is None or finding.type in self.types)
            and (self.rules is None or finding.rule in self.rules)
            and (self.severities is None or finding.severity in self.severities)
            and (self.unit_ids is None or finding.unit_id in self.unit_ids)
        )


@dataclass
class _Pending:
    transaction: SessionTransaction
    receivers: list[Receiver]
    events: list[dict] = field(default_factory=list)
    deliveries: list[dict] = field(default_factory=list)


def _receivers(session: Session) -> list[Receiver]:
    columns = (Subscription.id, Subscription.event_types, Subscription.filters, Subscription.region_code, Subscription.digest_minutes)
    return [Receiver.of(row) for row in session.execute(select(*columns).where(Subscription.enabled.is_(True)))]


def _pending(session: Session) -> _Pending:
    session.connection()  # begins the transaction, so that it can key the cache
    transaction = session.get_transaction()
    pending = session.info.get(_BUFFER)
    if pending is None or pending.transaction is not transaction:
        pending = _Pending(transaction=transaction, receivers=_receivers(session))
        session.info[_BUFFER] = pending
    if not session.info.get(_LISTENING):
        # Before every flush, and before the commit too: the commit flushes nothing when an
        # autoflush already wrote the finding change, yet the buffered events must go in.
        orm_event.listen(session, "before_flush", _before_flush)
        orm_event.listen(session, "before_commit", _before_commit)
        session.info[_LISTENING] = True
    return pending


def _write(session: Session, pending: _Pending) -> None:
    if pending.events:
        session.connection().execute(insert(WebhookEvent.__table__), pending.events)
        pending.events = []
    if pending.deliveries:
        session.connection().execute(insert(Delivery.__table__), pending.deliveries)
        pending.deliveries = []


def _before_flush(session: Session, _context, _instances) -> None:
    pending = session.info.get(_BUFFER)
    if pending is not None and pending.transaction is session.get_transaction():
        _write(session, pending)


def _before_commit(session: Session) -> None:
    _before_flush(session, None, None)


def _add(pending: _Pending, *, event_type: str, payload: dict, region_code: str | None, finding_id: int | None,
         receivers: list[Receiver]) -> str | None:  # fmt: skip
    if not receivers:
        return None
    now = clock.now()
    message_id = new_message_id()
    pending.events.append(
        {"id": message_id, "type": event_type, "payload": dumps(payload), "region_code": region_code,
         "finding_id": finding_id, "created_at": now}
    )  # fmt: skip
    for receiver in receivers:
        pending.deliveries.append({
            "subscription_id": receiver.id, "event_id": message_id, "event_type": event_type,
            "status": DeliveryStatus.held if receiver.digest else DeliveryStatus.pending,
            "next_attempt_at": None if receiver.digest else now, "attempt_count": 0, "round_attempts": 0,
            "created_at": now,
        })  # fmt: skip
    return message_id


def _trimmed(finding_data: dict) -> dict:
    """The finding with its evidence cut to what fits: short entries stay, long ones are named."""
    evidence = finding_data.get("evidence") or {}
    kept = {k: v for k, v in evidence.items() if len(dumps({k: v}).encode()) <= SHORT_EVIDENCE}
    omitted = sorted(set(evidence) - set(kept))
    return {**finding_data, "evidence": {**kept, "trimmed": True, "omitted": omitted}}


def finding_payload(*, event_type: str, action: str, finding) -> dict:
    from service.findings.schemas import FindingRead  # findings imports this module

    data = FindingRead.of(finding).model_dump(mode="json")
    link = finding_link(finding.id)
    payload = {
        "type": event_type,
        "timestamp": clock.to_beijing_iso(clock.now()),
        "data": {"action": action, "finding": data, "links": {"finding": link}},
    }
    if len(dumps(payload).encode()) > PAYLOAD_LIMIT:
        payload["data"]["finding"] = _trimmed(data)
        if len(dumps(payload).encode()) > PAYLOAD_LIMIT:
            payload["data"]["finding"]["evidence"] = {"trimmed": True, "omitted": sorted(data.get("evidence") or {})}
    return payload


def listens_for_findings(*, session: Session) -> bool:
    """Whether any enabled subscription takes finding events (callers skip building payloads if not)."""
    finding_events = set(FINDING_EVENTS.values())
    return any(receiver.event_types & finding_events for receiver in _pending(session).receivers)


def enqueue_finding_event(*, session: Session, finding, action: str) -> str | None:
    """Queue the webhook event of one finding transition for every subscription that wants it.
    Returns the event's `webhook-id`, or None when the action is no event or nobody listens."""
    event_type = FINDING_EVENTS.get(action)
    if event_type is None:
        return None
    pending = _pending(session)
    receivers = [r for r in pending.receivers if r.wants(event_type, finding.region_code, finding)]
    if not receivers:
        return None
    payload = finding_payload(event_type=event_type, action=action, finding=finding)
    return _add(pending, event_type=event_type, payload=payload, region_code=finding.region_code, finding_id=finding.id,
                receivers=receivers)  # fmt: skip


def enqueue_event(*, session: Session, type: str, data: dict, region_code: str | None = None) -> str | None:
    """Queue any other event (e.g. `report.published`) in the caller's transaction; written at once.

    `data` must be JSON-serialisable; `region_code` limits it to subscriptions covering that region
    (None: only subscriptions without a region). Returns the `webhook-id`, or None when nobody listens."""
    pending = _pending(session)
    receivers = [r for r in pending.receivers if r.wants(type, region_code)]
    payload = {"type": type, "timestamp": clock.to_beijing_iso(clock.now()), "data": data}
    message_id = _add(pending, event_type=type, payload=payload, region_code=region_code, finding_id=None, receivers=receivers)
    _write(session, pending)
    return message_id


def enqueue_ping(*, session: Session, subscription: Subscription) -> Delivery:
    """A `ping` for one subscription (the test button), sent now whatever its digest setting."""
    now = clock.now()
    event = WebhookEvent(
        id=new_message_id(), type=EventType.ping, region_code=subscription.region_code, created_at=now,
        payload=dumps({"type": EventType.ping, "timestamp": clock.to_beijing_iso(now),
                       "data": {"subscription_id": subscription.id, "message": "zombiewatch 测试消息"}}),
    )  # fmt: skip
    delivery = Delivery(
        subscription_id=subscription.id, event_id=event.id, event_type=EventType.ping, status=DeliveryStatus.pending,
        next_attempt_at=now, attempt_count=0, round_attempts=0, created_at=now,
    )  # fmt: skip
    session.add(event)
    session.flush()
    session.add(delivery)
    session.flush()
    return delivery
