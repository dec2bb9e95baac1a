"""The dispatcher: claims due deliveries under a row lease, sends them signed, records every attempt.

Claiming is `SELECT … FOR UPDATE SKIP LOCKED` plus `leased_until` on PostgreSQL, so replicas
share the outbox and never send one delivery at the same time; a replica killed mid-send leaves
leases that expire, and its deliveries are sent again under the same `webhook-id` (receivers
deduplicate by it). On SQLite the same statements run single-node.

Retries follow ZW_WEBHOOK_RETRY_SECONDS (the Standard Webhooks example schedule) with ±jitter;
2xx is success; 410 disables the subscription; 429, 502 and 504 honour Retry-After; redirects are
not followed (a 3xx is a failure the subscriber must fix)."""
import asyncio
import json
import logging
import random
import time
from dataclasses import dataclass
from datetime import datetime, timedelta

import httpx
from sqlalchemy import bindparam, func, select, update
from sqlalchemy.orm import Session, sessionmaker

from service import clock
from service.alerts import outbox, signing, targets
from service.alerts.models import Attempt, Delivery, DeliveryStatus, DisabledReason, EventType, Subscription, WebhookEvent
from service.config import Settings
from service.db import writing
from service.retry_after import retry_after_seconds
from service.scheduler import REPLICA

log = logging.getLogger("service.alerts")

RESPONSE_KEPT = 1024  # bytes of the receiver's answer kept in the delivery log
RETRY_AFTER_STATUSES = {429, 502, 504}
USER_AGENT = "zombiewatch-webhooks/1.0"


@dataclass
class Claimed:
    delivery_id: int
    subscription_id: int
    message_id: str
    body: bytes
    url: str
    secrets: list[str]
    attempt_count: int
    round_attempts: int


@dataclass
class Outcome:
    claimed: Claimed
    at: datetime
    status_code: int | None = None
    latency_ms: int | None = None
    error: str | None = None
    response_body: str | None = None
    retry_after: float | None = None


def next_attempt(*, settings: Settings, round_attempts: int, at: datetime, retry_after: float | None) -> datetime | None:
    """When to try again after `round_attempts` failed attempts, or None when the schedule is spent."""
    schedule = settings.webhook_retry_seconds
    if round_attempts >= len(schedule):
        return None
    jitter = settings.webhook_retry_jitter
    delay = schedule[round_attempts] * random.uniform(1 - jitter, 1 + jitter)
    if retry_after is not None:
        delay = max(delay, min(retry_after, settings.webhook_retry_after_max_seconds))
    return at + timedelta(seconds=delay)


# --- digests -------------------------------------------------------------------------------------


def _digest_entry(payload: dict) -> dict:
    data = payload.get("data", {})
    finding = data.get("finding") or {}
    compact = {k: finding.get(k) for k in ("id", "type", "rule", "severity", "status", "region_code", "unit_id", "title")}
    return {"type": payload.get("type"), "action": data.get("action"), "finding": compact,
            "link": (data.get("links") or {}).get("finding")}  # fmt: skip


def digest_payload(*, events: list[WebhookEvent], window_start: datetime, now: datetime) -> dict:
    """Every event of the window counted, as many listed as fit under the payload limit."""
    counts: dict[str, int] = {}
    for event in events:
        counts[event.type] = counts.get(event.type, 0) + 1
    payload = {
        "type": EventType.findings_digest,
        "timestamp": clock.to_beijing_iso(now),
        "data": {"window": {"start": clock.to_beijing_iso(window_start), "end": clock.to_beijing_iso(now)},
                 "count": len(events), "counts": counts, "events": [], "omitted": 0},
    }  # fmt: skip
    size = len(outbox.dumps(payload).encode())
    listed = payload["data"]["events"]
    for event in events:
        entry = _digest_entry(json.loads(event.payload))
        entry_size = len(outbox.dumps(entry).encode()) + 1
        if size + entry_size > outbox.PAYLOAD_LIMIT - 200:  # room for the omitted count's digits
            break
        listed.append(entry)
        size += entry_size
    payload["data"]["omitted"] = len(events) - len(listed)
    return payload


def assemble_digests(*, session: Session, settings: Settings, now: datetime) -> int:
    """Gather the held events of every subscription whose digest window closed into one
    `findings.digest` delivery each. Commits; returns how many digests were made."""
    windows = session.execute(
        select(Delivery.subscription_id, func.min(Delivery.created_at), Subscription.digest_minutes)
        .join(Subscription, Subscription.id == Delivery.subscription_id)
        .where(Delivery.status == DeliveryStatus.held)
        .group_by(Delivery.subscription_id, Subscription.digest_minutes)
    ).all()
    made = 0
    for subscription_id, first_at, minutes in windows:
        if first_at > now - timedelta(minutes=minutes or 0):
            continue
        held = session.execute(
            select(Delivery.id, Delivery.event_id, Delivery.created_at)
            .where(Delivery.subscription_id == subscription_id, Delivery.status == DeliveryStatus.held)
            .order_by(Delivery.id)
            .limit(settings.webhook_digest_max_events)
            .with_for_update(skip_locked=True)  # another replica gathering the same window skips these
        ).all()
        if not held:
            continue
        events_by_id = {e.id: e for e in session.scalars(select(WebhookEvent).where(WebhookEvent.id.in_([h.event_id for h in held])))}
        events = [events_by_id[h.event_id] for h in held]
        payload = digest_payload(events=events, window_start=min(h.created_at for h in held), now=now)
        event = WebhookEvent(id=outbox.new_message_id(), type=EventType.findings_digest, payload=outbox.dumps(payload), created_at=now)
        session.add(event)
        session.flush()
        digest = Delivery(
            subscription_id=subscription_id, event_id=event.id, event_type=EventType.findings_digest,
            status=DeliveryStatus.pending, next_attempt_at=now, attempt_count=0, round_attempts=0, created_at=now,
        )  # fmt: skip
        session.add(digest)
        session.flush()
        session.execute(
            update(Delivery).where(Delivery.id.in_([h.id for h in held]))
            .values(status=DeliveryStatus.digested, digest_id=digest.id)
            .execution_options(synchronize_session=False)
        )  # fmt: skip
        made += 1
    session.commit()
    return made


# --- claiming, sending, recording --------------------------------------------------------------


def claim(*, session: Session, settings: Settings, box: signing.SecretBox, now: datetime, holder: str = REPLICA) -> list[Claimed]:
    """Lease up to a batch of due deliveries to `holder`. Commits before anything is sent."""
    due = (
        select(Delivery.id)
        .where(Delivery.status == DeliveryStatus.pending, Delivery.next_attempt_at <= now)
        .where(Delivery.leased_until.is_(None) | (Delivery.leased_until < now))
        .order_by(Delivery.next_attempt_at, Delivery.id)
        .limit(settings.webhook_batch_size)
        .with_for_update(skip_locked=True)
    )
    ids = list(session.scalars(due))
    if not ids:
        session.rollback()
        return []
    until = now + timedelta(seconds=settings.webhook_lease_seconds)
    # The lease condition is repeated so that on SQLite, which has no row locks, a second
    # dispatcher that read the same rows takes none of them.
    session.execute(
        update(Delivery)
        .where(Delivery.id.in_(ids), Delivery.leased_until.is_(None) | (Delivery.leased_until < now))
        .values(leased_until=until, lease_holder=holder)
        .execution_options(synchronize_session=False)
    )
    rows = session.execute(
        select(Delivery.id, Delivery.subscription_id, Delivery.event_id, Delivery.attempt_count, Delivery.round_attempts,
               WebhookEvent.payload, Subscription.url, Subscription.secret_encrypted,
               Subscription.previous_secret_encrypted, Subscription.previous_secret_expires_at)
        .join(WebhookEvent, WebhookEvent.id == Delivery.event_id)
        .join(Subscription, Subscription.id == Delivery.subscription_id)
        .where(Delivery.id.in_(ids), Delivery.lease_holder == holder, Delivery.leased_until == until)
    ).all()  # fmt: skip
    session.commit()
    secrets_of: dict[int, list[str]] = {}
    claimed = []
    for row in rows:
        if row.subscription_id not in secrets_of:
            live = [box.open(row.secret_encrypted)]
            if row.previous_secret_encrypted and row.previous_secret_expires_at and row.previous_secret_expires_at > now:
                live.append(box.open(row.previous_secret_encrypted))
            secrets_of[row.subscription_id] = live
        claimed.append(Claimed(
            delivery_id=row.id, subscription_id=row.subscription_id, message_id=row.event_id,
            body=row.payload.encode(), url=row.url, secrets=secrets_of[row.subscription_id],
            attempt_count=row.attempt_count, round_attempts=row.round_attempts,
        ))  # fmt: skip
    return claimed


async def send(*, client: httpx.AsyncClient, claimed: Claimed, allowed: list, settings: Settings) -> Outcome:
    at = clock.now()
    started = time.perf_counter()
    outcome = Outcome(claimed=claimed, at=at)
    try:
        target = await targets.pin(claimed.url, allowed=allowed)
    except targets.TargetRefused as refused:
        outcome.error = f"已拒绝发送：{refused}"
        return outcome
    headers = {
        "content-type": "application/json",
        "user-agent": USER_AGENT,
        **target.headers,
        **signing.headers(secrets_=claimed.secrets, message_id=claimed.message_id, moment=at, body=claimed.body),
    }
    try:
        async with client.stream("POST", target.url, content=claimed.body, headers=headers, extensions=target.extensions) as response:
            kept = b""
            async for chunk in response.aiter_bytes():
                kept += chunk
                if len(kept) >= RESPONSE_KEPT:
                    break
        outcome.status_code = response.status_code
        outcome.response_body = kept[:RESPONSE_KEPT].decode("utf-8", errors="replace")
        outcome.retry_after = retry_after_seconds(response.headers.get("retry-after"), clock.now())
        if 300 <= response.status_code < 400:
            outcome.error = f"接收方返回重定向 {response.status_code}，重定向不会被跟随：请把订阅地址改为最终地址"
        elif not 200 <= response.status_code < 300:
            outcome.error = f"接收方返回 HTTP {response.status_code}"
    except httpx.TimeoutException:
        outcome.error = f"请求超时（{settings.webhook_timeout_seconds:g} 秒）"
    except httpx.HTTPError as error:
        outcome.error = f"请求失败：{type(error).__name__} {error}".strip()
    outcome.latency_ms = round((time.perf_counter() - started) * 1000)
    return outcome


def disable_subscription(*, session: Session, subscription_id: int, reason: DisabledReason, now: datetime) -> None:
    """Switch a subscription off; what it still had queued is failed (recover resends it later)."""
    session.execute(
        update(Subscription).where(Subscription.id == subscription_id)
        .values(enabled=False, disabled_reason=reason, disabled_at=now, updated_at=now)
        .execution_options(synchronize_session=False)
    )  # fmt: skip
    session.execute(
        update(Delivery)
        .where(Delivery.subscription_id == subscription_id, Delivery.status.in_([DeliveryStatus.pending, DeliveryStatus.held]))
        .values(status=DeliveryStatus.failed, leased_until=None, lease_holder=None, next_attempt_at=None,
                last_error=f"订阅已停用（{reason.value}），未发送")
        .execution_options(synchronize_session=False)
    )  # fmt: skip


def record(*, session: Session, settings: Settings, outcomes: list[Outcome], holder: str = REPLICA) -> None:
    """Write the attempts and each delivery's next state in one transaction."""
    now = clock.now()
    deliveries, attempts = [], []
    succeeded_subs: set[int] = set()
    failed_subs: set[int] = set()
    gone_subs: set[int] = set()
    for outcome in outcomes:
        claimed = outcome.claimed
        number = claimed.attempt_count + 1
        round_attempts = claimed.round_attempts + 1
        ok = outcome.error is None and outcome.status_code is not None and 200 <= outcome.status_code < 300
        state = {"b_id": claimed.delivery_id, "attempt_count": number, "round_attempts": round_attempts,
                 "last_status_code": outcome.status_code, "last_error": outcome.error, "delivered_at": None,
                 "next_attempt_at": None}  # fmt: skip
        if ok:
            state["status"] = DeliveryStatus.succeeded
            state["delivered_at"] = outcome.at
            succeeded_subs.add(claimed.subscription_id)
        elif outcome.status_code == 410:
            state["status"] = DeliveryStatus.failed
            gone_subs.add(claimed.subscription_id)
        else:
            retry_after = outcome.retry_after if outcome.status_code in RETRY_AFTER_STATUSES else None
            when = next_attempt(settings=settings, round_attempts=round_attempts, at=outcome.at, retry_after=retry_after)
            state["status"] = DeliveryStatus.pending if when else DeliveryStatus.failed
            state["next_attempt_at"] = when
            failed_subs.add(claimed.subscription_id)
        deliveries.append(state)
        attempts.append({
            "delivery_id": claimed.delivery_id, "number": number, "at": outcome.at, "status_code": outcome.status_code,
            "latency_ms": outcome.latency_ms, "error": outcome.error, "response_body": outcome.response_body, "replica": holder,
        })  # fmt: skip
    table = Delivery.__table__
    connection = session.connection()
    # A subscription deleted while its deliveries were in flight took them along: nothing to record.
    alive = set(session.scalars(select(Delivery.id).where(Delivery.id.in_([d["b_id"] for d in deliveries]))))
    attempts = [a for a in attempts if a["delivery_id"] in alive]
    deliveries = [d for d in deliveries if d["b_id"] in alive]
    if attempts:
        connection.execute(Attempt.__table__.insert(), attempts)
    if deliveries:
        # Only while the lease is ours: a replica that overran its lease leaves the row to the new holder.
        connection.execute(
            table.update()
            .where(table.c.id == bindparam("b_id"), table.c.lease_holder == holder)
            .values(leased_until=None, lease_holder=None),
            deliveries,
        )
    if succeeded_subs:
        session.execute(
            update(Subscription).where(Subscription.id.in_(succeeded_subs))
            .values(last_success_at=now, failing_since=None).execution_options(synchronize_session=False)
        )  # fmt: skip
    failing = failed_subs - succeeded_subs
    if failing:
        session.execute(
            update(Subscription).where(Subscription.id.in_(failing))
            .values(last_failure_at=now, failing_since=func.coalesce(Subscription.failing_since, now))
            .execution_options(synchronize_session=False)
        )  # fmt: skip
        cutoff = now - timedelta(days=settings.webhook_disable_after_days)
        stale = session.scalars(
            select(Subscription.id).where(Subscription.id.in_(failing), Subscription.enabled.is_(True), Subscription.failing_since <= cutoff)
        ).all()
        for subscription_id in stale:
            disable_subscription(session=session, subscription_id=subscription_id, reason=DisabledReason.failing, now=now)
    for subscription_id in gone_subs:
        disable_subscription(session=session, subscription_id=subscription_id, reason=DisabledReason.gone, now=now)
    session.commit()


class Dispatcher:
    """One replica's sender. `run_once` sends one batch; `drain` sends until nothing is due.

    Each of the `ZW_WEBHOOK_CONCURRENCY` workers sends one request at a time over its own small
    client: httpcore's pool rescans every queued request against every connection, which costs
    more than the requests themselves once dozens wait in one pool."""

    def __init__(self, *, sessionmaker: sessionmaker, settings: Settings, holder: str = REPLICA,
                 transport: httpx.AsyncBaseTransport | None = None):  # fmt: skip
        self.sessionmaker = sessionmaker
        self.settings = settings
        self.holder = holder
        self.transport = transport
        self.box = signing.SecretBox(settings.webhook_secret_key)
        self.allowed = targets.allowed_networks(settings.webhook_allowed_networks)
        self.tls = httpx.create_ssl_context()  # loading the CA bundle once, not per client

    def client(self) -> httpx.AsyncClient:
        # No proxies from the environment: the request must go to the address that was checked.
        return httpx.AsyncClient(
            timeout=httpx.Timeout(self.settings.webhook_timeout_seconds),
            follow_redirects=False,
            trust_env=False,
            verify=self.tls,
            transport=self.transport,
            limits=httpx.Limits(max_connections=4, max_keepalive_connections=4),
        )

    def _claim(self) -> list[Claimed]:
        now = clock.now()
        with self.sessionmaker() as session, writing(session):
            assemble_digests(session=session, settings=self.settings, now=now)
            return claim(session=session, settings=self.settings, box=self.box, now=now, holder=self.holder)

    def _record(self, outcomes: list[Outcome]) -> None:
        with self.sessionmaker() as session, writing(session):
            record(session=session, settings=self.settings, outcomes=outcomes, holder=self.holder)

    async def _send(self, clients: list[httpx.AsyncClient], claimed: list[Claimed]) -> list[Outcome]:
        queue = list(reversed(claimed))
        outcomes: list[Outcome] = []

        async def worker(client: httpx.AsyncClient) -> None:
            while queue:
                item = queue.pop()
                outcomes.append(await send(client=client, claimed=item, allowed=self.allowed, settings=self.settings))

        await asyncio.gather(*(worker(client) for client in clients[: len(claimed)]))
        return outcomes

    async def run_once(self, clients: list[httpx.AsyncClient]) -> int:
        claimed = await asyncio.to_thread(self._claim)
        if not claimed:
            return 0
        outcomes = await self._send(clients, claimed)
        await asyncio.to_thread(self._record, outcomes)
        return len(outcomes)

    async def drain(self, *, max_batches: int | None = None) -> int:
        """Send batches until nothing is due. A batch is recorded while the next one is claimed and
        sent: the database and the network work at once (the next claim skips the batch being
        recorded, which is still leased). Nothing sent is lost if recording fails or the process
        dies: the lease runs out and the delivery is sent again under the same webhook-id."""
        sent = 0
        batches = 0
        recording: asyncio.Task | None = None
        clients = [self.client() for _ in range(self.settings.webhook_concurrency)]
        try:
            while max_batches is None or batches < max_batches:
                claimed = await asyncio.to_thread(self._claim)
                if not claimed:
                    if recording is None:
                        break
                    await recording  # what it records may be due again at once (the first retry is immediate)
                    recording = None
                    continue
                outcomes = await self._send(clients, claimed)
                if recording is not None:
                    await recording
                recording = asyncio.create_task(asyncio.to_thread(self._record, outcomes))
                sent += len(outcomes)
                batches += 1
        finally:
            if recording is not None:
                await recording
            await asyncio.gather(*(client.aclose() for client in clients))
        return sent
