"""The poller: claims accounts due for polling, fetches their sources, ingests what is new.

Several replicas share one database (DESIGN.md, "Storage and scale"). A pass claims due
accounts in batches: on PostgreSQL `SELECT … FOR UPDATE SKIP LOCKED`, then `leased_until` is
set and committed, so two replicas never take the same account, and a replica killed mid-pass
leaves leases that expire and are taken over. On SQLite the same code runs single-node.

Claiming, fetching and saving overlap: claims flow to fetch tasks and outcomes to a recorder
that parses and saves them in batches, so the network and the database work at once. The
database side runs in a thread, or, in a large pass, in a worker process of its own
(service/activity/worker.py), so that parsing and saving never slow the fetch loop; a large
pass also fetches part of its claims in a fetch helper process (service/activity/fetching.py),
within the same limits, so fetching has a core of its own besides. Each
account's result is saved in its own savepoint when a batch fails: one bad account never loses
the others' posts. Detection runs afterwards, for the changed accounts only, and its failure
never loses polled data (the poll is committed first)."""
import asyncio
import logging
import os
import random
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from sqlalchemy import and_, case, exists, func, literal, or_, select, update
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.orm import Session, sessionmaker

from service import clock
from service.activity import service as activity
from service.activity.fetching import Claim, FetchHelper, Outcome, fetch
from service.activity.models import PollState
from service.activity.schemas import PollRunResult
from service.activity.sources import Previous, SourceError
from service.activity.sources.http import Fetcher
from service.activity.worker import Worker
from service.config import Settings
from service.db import update_rows, writing
from service.registry.codes import region_prefix
from service.registry.models import Account, Unit
from service.scheduler import REPLICA

log = logging.getLogger("service.activity.poller")

Progress = Callable[[int, int], None]

@dataclass
class BatchResult:
    summary: PollRunResult = field(default_factory=PollRunResult)
    changed_account_ids: list[int] = field(default_factory=list)


def backoff(*, failures: int, interval: timedelta, settings: Settings, retry_after_seconds: float | None = None, gone: bool = False) -> timedelta:
    """Failing sources are retried later and later: interval × 2^(failures−1), up to the cap.
    Never sooner than a healthy source, and never sooner than the source's Retry-After."""
    cap = timedelta(minutes=settings.poll_backoff_max_minutes)
    delay = cap if gone else min(interval * (2 ** min(failures - 1, 20)), cap)
    delay = max(delay, interval if interval < cap else cap)
    if retry_after_seconds:
        delay = max(delay, timedelta(seconds=min(retry_after_seconds, cap.total_seconds())))
    return delay


def _insert(session: Session):
    return pg_insert if session.get_bind().dialect.name == "postgresql" else sqlite_insert


def ensure_schedule(*, session: Session, now: datetime) -> int:
    """Give every polled account a schedule row, due since it was registered; park the
    schedules of accounts no longer polled, and make those polled again due now. Replicas may
    race here: ON CONFLICT DO NOTHING lets them."""
    # Due since registration, not since this pass began: when two replicas start together, the
    # one whose rows land first must not make them due after the other's pass began, or the
    # other finds nothing due and the whole first cycle falls to one replica.
    due_since = case((Account.created_at < now, Account.created_at), else_=literal(now, PollState.next_poll_at.type))
    missing = (
        select(Account.id, due_since, literal(0))
        .where(activity.polled())
        .where(~exists().where(PollState.account_id == Account.id))
    )
    statement = _insert(session)(PollState).from_select(["account_id", "next_poll_at", "polls"], missing).on_conflict_do_nothing()
    added = session.execute(statement).rowcount or 0
    polled = exists().where(Account.id == PollState.account_id, activity.polled())
    # a parked schedule is out of the claims' next_poll_at range: left in the past, it would be
    # walked, and its account looked up, by every claim of every pass
    parked = PollState.next_poll_at.is_(None)
    for which, next_poll_at in ((~parked & ~polled, None), (parked & polled, now)):
        session.execute(update(PollState).where(which).values(next_poll_at=next_poll_at).execution_options(synchronize_session=False))
    # a source given a new URL (often to fix a failing one) is polled at the next tick
    moved = exists().where(Account.id == PollState.account_id, Account.source_url != PollState.source_url)
    session.execute(
        update(PollState)
        .where(PollState.next_poll_at > now, PollState.source_url.is_not(None), moved)
        .values(next_poll_at=now)
        .execution_options(synchronize_session=False)
    )
    return added


def _due(*, now: datetime, started: datetime, force: bool, region_code: str | None):
    conditions = [activity.polled(), or_(PollState.leased_until.is_(None), PollState.leased_until < now)]
    if force:
        # every active account once in this pass, whatever its schedule
        conditions.append(PollState.next_poll_at.is_not(None))
        conditions.append(or_(Account.source_last_polled_at.is_(None), Account.source_last_polled_at < started))
    else:
        conditions.append(PollState.next_poll_at <= started)
    if region_code:
        conditions.append(Account.unit_id.in_(select(Unit.id).where(Unit.region_code.startswith(region_prefix(region_code)))))
    return and_(*conditions)


def count_due(*, session: Session, started: datetime, force: bool = False, region_code: str | None = None) -> int:
    query = select(func.count()).select_from(PollState).join(Account, Account.id == PollState.account_id)
    return session.scalar(query.where(_due(now=clock.now(), started=started, force=force, region_code=region_code))) or 0


def claim_batch(
    *, session: Session, settings: Settings, started: datetime, force: bool = False, region_code: str | None = None,
    holder: str = REPLICA, limit: int | None = None,
) -> list[Claim]:  # fmt: skip
    """Lease up to `limit` due accounts to `holder` and commit, so other replicas skip them."""
    now = clock.now()
    candidates = (
        select(PollState.account_id)
        .join(Account, Account.id == PollState.account_id)
        .where(_due(now=now, started=started, force=force, region_code=region_code))
        .order_by(PollState.next_poll_at, PollState.account_id)
        .limit(limit or settings.poll_batch_size)
        # rows another replica is claiming right now are skipped, not waited for
        .with_for_update(of=PollState, skip_locked=True)
    )
    ids = list(session.scalars(candidates))
    if not ids:
        session.commit()
        return []
    lease_free = or_(PollState.leased_until.is_(None), PollState.leased_until < now)
    claimed = session.scalars(
        update(PollState)
        .where(PollState.account_id.in_(ids), lease_free)  # re-checked: SQLite has no row locks
        .values(leased_until=now + timedelta(seconds=settings.poll_lease_seconds), lease_holder=holder)
        .returning(PollState.account_id)
        .execution_options(synchronize_session=False)
    ).all()
    rows = session.execute(
        select(PollState.account_id, Account.source_kind, Account.source_url, PollState.source_url, PollState.etag, PollState.last_modified, PollState.since)
        .join(Account, Account.id == PollState.account_id)
        .where(PollState.account_id.in_(claimed))
        .order_by(PollState.account_id)
    ).all()
    session.commit()
    claims = []
    for account_id, kind, url, validated_url, etag, last_modified, since in rows:
        # validators belong to the URL they came from: a changed source starts afresh
        previous = Previous(etag, last_modified, since) if validated_url == url else Previous()
        claims.append(Claim(account_id, kind, url, previous))
    return claims


def record_outcomes(*, session: Session, settings: Settings, outcomes: Sequence[Outcome], holder: str = REPLICA) -> BatchResult:
    """Save what a batch fetched, update each account's schedule and source health, release
    the leases, and commit. Set-based: a batch costs a few statements, not a few per account."""
    result = BatchResult()
    if not outcomes:
        return result
    ids = [o.claim.account_id for o in outcomes]
    states = {row.account_id: row for row in session.execute(
        select(PollState.account_id, PollState.lease_holder, PollState.leased_until, PollState.interval_minutes, PollState.polls)
        .where(PollState.account_id.in_(ids))
    )}  # fmt: skip
    health = {row.id: row for row in session.execute(
        select(Account.id, Account.source_failures, Account.source_failing_since).where(Account.id.in_(ids))
    )}  # fmt: skip
    now = clock.now()
    mine = []
    for outcome in outcomes:
        state = states.get(outcome.claim.account_id)
        if state is None or outcome.claim.account_id not in health:
            continue  # deleted while it was being polled
        if state.lease_holder not in (holder, None) and state.leased_until and state.leased_until > now:
            continue  # our lease ran out and another replica holds the account now: it records
        mine.append(_parsed(outcome))
    errors = _save_activity(session, [o for o in mine if o.error is None], result)

    schedule_rows, health_rows = [], []
    for outcome in mine:
        account_id = outcome.claim.account_id
        state = states[account_id]
        error = outcome.error or errors.get(account_id)
        interval = timedelta(minutes=state.interval_minutes or settings.poll_interval_minutes)
        result.summary.accounts_polled += 1
        row = {"account_id": account_id, "leased_until": None, "lease_holder": None, "polls": state.polls + 1}
        if error is None:
            fetched = outcome.fetched
            result.summary.not_modified += fetched.not_modified
            # a little spread, so accounts registered together do not stay in lockstep
            row.update(
                next_poll_at=now + interval * (1 + random.uniform(0, 0.05)), last_status_code=fetched.status_code,
                source_url=outcome.claim.url, etag=fetched.etag, last_modified=fetched.last_modified, since=fetched.since,
            )  # fmt: skip
            health_rows.append({"id": account_id, "source_last_polled_at": now, "source_failures": 0, "source_failing_since": None, "source_last_error": None})
        else:
            result.summary.errors += 1
            failures = (health[account_id].source_failures or 0) + 1
            delay = backoff(failures=failures, interval=interval, settings=settings, retry_after_seconds=error.retry_after_seconds, gone=error.gone)
            row.update(next_poll_at=now + delay, last_status_code=error.status_code, source_url=outcome.claim.url)
            if outcome.claim.previous == Previous():
                row.update(etag=None, last_modified=None, since=None)  # they belonged to the old URL, if any
            health_rows.append({
                "id": account_id, "source_last_polled_at": now, "source_failures": failures,
                "source_failing_since": health[account_id].source_failing_since or now, "source_last_error": error.message[:1000],
            })  # fmt: skip
        schedule_rows.append(row)
    update_rows(session, PollState.__table__, schedule_rows, key="account_id")
    update_rows(session, Account.__table__, health_rows, key="id")
    session.commit()
    return result


def _parsed(outcome: Outcome) -> Outcome:
    """The outcome with its feed parsed; a feed that cannot be read is the account's error."""
    if outcome.fetched is None or outcome.fetched.parse is None:
        return outcome
    try:
        outcome.fetched.parsed()
    except SourceError as error:
        return Outcome(outcome.claim, error=error)
    except Exception as error:  # a parser bug must not end the pass for everyone else
        log.exception("unexpected error parsing the feed of account %s", outcome.claim.account_id)
        return Outcome(outcome.claim, error=SourceError(f"解析订阅源时发生内部错误：{type(error).__name__}"))
    return outcome


def _save_activity(session: Session, outcomes: Sequence[Outcome], result: BatchResult) -> dict[int, SourceError]:
    """Ingest the fetched activity of a batch at once; if that fails, account by account, so
    one account's bad data only fails that account. Returns the accounts that failed."""
    batches = [(o.claim.account_id, o.fetched.posts, o.fetched.interactions) for o in outcomes if o.fetched.posts or o.fetched.interactions]
    if not batches:
        return {}
    try:
        with session.begin_nested():
            saved = activity.ingest_many(session=session, batches=batches)
    except Exception:
        log.warning("saving a polled batch failed; saving its accounts one by one", exc_info=True)
        saved, failed = {}, {}
        for batch in batches:
            try:
                with session.begin_nested():
                    saved.update(activity.ingest_many(session=session, batches=[batch]))
            except Exception as error:
                log.exception("saving polled activity of account %s failed", batch[0])
                failed[batch[0]] = SourceError(f"保存抓取结果失败：{type(error).__name__}")
        _count(saved, result)
        return failed
    _count(saved, result)
    return {}


def _count(saved: dict, result: BatchResult) -> None:
    summary = result.summary
    for account_id, pushed in saved.items():
        summary.new_posts += pushed.posts.inserted
        summary.updated_posts += pushed.posts.updated
        summary.new_interactions += pushed.interactions.inserted
        summary.updated_interactions += pushed.interactions.updated
        if pushed.posts.inserted or pushed.posts.updated or pushed.interactions.inserted or pushed.interactions.updated:
            result.changed_account_ids.append(account_id)


def detect_changed(*, sessionmaker: sessionmaker[Session], settings: Settings, account_ids: list[int]) -> int | None:
    """Incremental detection for the accounts a pass changed; a failure is logged, the polled
    data is already committed."""
    if not account_ids:
        return None
    from service.detection.runner import run_detection

    with sessionmaker() as session:
        try:
            run = run_detection(session=session, settings=settings, account_ids=sorted(set(account_ids)), trigger="poll")
            session.commit()
            return run.id
        except Exception:
            session.rollback()
            log.exception("detection after polling failed; the polled activity is kept")
            return None


def claim_due(*, sessionmaker: sessionmaker[Session], settings: Settings, **claiming) -> list[Claim]:
    with sessionmaker() as session, writing(session):
        return claim_batch(session=session, settings=settings, **claiming)


def save_outcomes(*, sessionmaker: sessionmaker[Session], settings: Settings, outcomes: list[Outcome], holder: str) -> BatchResult:
    with sessionmaker() as session, writing(session):
        return record_outcomes(session=session, settings=settings, outcomes=outcomes, holder=holder)


async def run_pass(
    *, sessionmaker: sessionmaker[Session], settings: Settings, force: bool = False, region_code: str | None = None,
    fetcher: Fetcher | None = None, holder: str = REPLICA, progress: Progress | None = None, detect: bool = True,
) -> PollRunResult:  # fmt: skip
    """Poll every account due now (with `force`, every active polled account once) and return
    the counts. Other replicas may run passes at the same time: leases keep them apart."""
    started = clock.now()

    def prepare() -> int:
        with sessionmaker() as session, writing(session):
            ensure_schedule(session=session, now=started)
            session.commit()
            return count_due(session=session, started=started, force=force, region_code=region_code)

    summary = PollRunResult()
    changed: list[int] = []
    total = await asyncio.to_thread(prepare)
    spawn = settings.poll_worker_from_accounts > 0 and total >= settings.poll_worker_from_accounts
    worker = Worker(sessionmaker=sessionmaker, settings=settings, spawn=spawn)
    fetch_tasks = max(1, settings.poll_concurrency)
    helped = 0 < settings.poll_fetch_helper_from_accounts <= total and fetch_tasks > 1 and (os.cpu_count() or 1) > 1
    helper = FetchHelper.start(settings=settings) if helped else None
    done = 0
    if progress:
        progress(0, total)
    owned = fetcher is None
    fetcher = fetcher or Fetcher(settings=settings)
    # A pipeline without batch barriers: claims flow to fetch tasks, outcomes to a recorder
    # that saves them in batches; claiming, fetching and saving overlap. With a fetch helper,
    # every other fetch task hands its claims to the helper.
    # two batches deep: the next claim may wait behind a save in the worker
    claimed: asyncio.Queue[Claim | None] = asyncio.Queue(maxsize=2 * settings.poll_batch_size)
    fetched: asyncio.Queue[Outcome | None] = asyncio.Queue()

    async def claimer() -> None:
        claiming = {"started": started, "force": force, "region_code": region_code, "holder": holder}
        while claims := await worker.run(claim_due, **claiming):
            for item in claims:
                await claimed.put(item)
        for _ in range(fetch_tasks):
            await claimed.put(None)  # no more work: each fetch task stops at one of these

    async def fetch_task(number: int) -> None:
        by = helper if number % 2 else None
        while (item := await claimed.get()) is not None:
            fetched.put_nowait(await fetch(claim=item, fetcher=fetcher, helper=by))  # never raises
        fetched.put_nowait(None)

    async def recorder() -> None:
        nonlocal done
        pending: list[Outcome] = []
        running = fetch_tasks
        while running:
            item = await fetched.get()
            if item is None:
                running -= 1
            else:
                pending.append(item)
            if pending and (len(pending) >= settings.poll_batch_size or not running):
                batch = await worker.run(save_outcomes, outcomes=pending, holder=holder, wait_for_worker=True)
                pending = []
                summary.add(batch.summary)
                changed.extend(batch.changed_account_ids)
                done += batch.summary.accounts_polled
                if progress:
                    progress(done, max(total, done))

    try:
        # a database failure in claiming or saving stops the whole pass; accounts claimed but
        # not saved are polled again when their leases expire
        async with asyncio.TaskGroup() as group:
            group.create_task(claimer())
            group.create_task(recorder())
            for number in range(fetch_tasks):
                group.create_task(fetch_task(number))
    except* Exception as failures:
        raise failures.exceptions[0] from None
    finally:
        worker.close()
        if helper is not None:
            log.info("poll pass: %d of %d accounts fetched by the fetch helper process", helper.fetched, done)
            await helper.close()
        if owned:
            await fetcher.aclose()
    if detect and changed:
        summary.detection_run_id = await asyncio.to_thread(detect_changed, sessionmaker=sessionmaker, settings=settings, account_ids=changed)
    return summary
