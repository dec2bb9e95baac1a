"""Ingest of activity, shared by pushes and the poller (idempotent by external_id), and the
polling schedule of each account."""
import json
from collections import Counter
from collections.abc import Sequence
from datetime import timedelta

from pydantic import BaseModel
from sqlalchemy import BigInteger, ColumnElement, String, Table, and_, func, literal, select, update
from sqlalchemy.dialects.postgresql import ARRAY
from sqlalchemy.orm import Session

from service import clock
from service.activity.models import POLLED_KINDS, Interaction, PollState, Post
from service.activity.schemas import ActivityPushResult, IngestCounts, InteractionIn, PollScheduleRead, PollScheduleUpdate, PostIn
from service.config import Settings
from service.db import ID_CHUNK, update_rows
from service.errors import Problem
from service.registry.models import Account, AccountStatus

LOOKUP_CHUNK = 500  # keeps IN (...) lists well under every driver's parameter limit


def _check_unique_ids(items: Sequence[BaseModel], what: str) -> None:
    repeated = [eid for eid, n in Counter(item.external_id for item in items).items() if n > 1]
    if repeated:
        shown = "、".join(repeated[:5])
        raise Problem(422, f"同一批次中{what}的 external_id 重复：{shown}", errors=[
            {"field": what, "message": f"external_id 重复：{eid}"} for eid in repeated
        ])


def ingest(*, session: Session, account: Account, posts: Sequence[PostIn], interactions: Sequence[InteractionIn]) -> ActivityPushResult:
    """Store posts and interactions of one account; a repeat changes nothing, an edit updates.
    One account is a batch of one: a push and a poll store by the same rules."""
    session.flush()  # the account row (and anything else pending) before the set-based writes
    result = ingest_many(session=session, batches=[(account.id, posts, interactions)])[account.id]
    session.expire(account, ["last_post_at", "activity_changed_at"])  # written past the ORM
    return result


def _rows_with_keys(session: Session, table: Table, columns: list, keys: list[tuple[int, str]]):
    """The rows of these (account_id, external_id) keys: the keys as one parameter (two arrays on
    PostgreSQL, a JSON list on SQLite) joined to the table, so the statement text never changes
    and each key costs one index probe (IN lists on both columns probe every combination)."""
    if session.get_bind().dialect.name == "postgresql":
        wanted = select(
            func.unnest(literal([a for a, _ in keys], ARRAY(BigInteger))).label("account_id"),
            func.unnest(literal([e for _, e in keys], ARRAY(String))).label("external_id"),
        ).subquery()
        on = and_(table.c.account_id == wanted.c.account_id, table.c.external_id == wanted.c.external_id)
        return select(*columns).select_from(wanted).join(table, on)
    wanted = func.json_each(literal(json.dumps(keys, ensure_ascii=False))).table_valued("value").alias("wanted")
    on = and_(table.c.account_id == func.json_extract(wanted.c.value, "$[0]"), table.c.external_id == func.json_extract(wanted.c.value, "$[1]"))
    return select(*columns).select_from(wanted).join(table, on)


def _upsert_many(session: Session, model: type[Post] | type[Interaction], groups: Sequence[tuple[int, Sequence[BaseModel]]]) -> dict[int, IngestCounts]:
    """Insert new rows and update edited ones of many accounts at once, by external_id: one read
    per chunk of keys, one bulk insert and one executemany for the updates."""
    table = model.__table__
    names = next((list(type(items[0]).model_fields) for _, items in groups if items), [])
    columns = [table.c.id, table.c.account_id, *(table.c[name] for name in names)]
    keys = [(account_id, item.external_id) for account_id, items in groups for item in items]
    existing: dict[tuple[int, str], dict] = {}
    for start in range(0, len(keys), LOOKUP_CHUNK):
        for row in session.execute(_rows_with_keys(session, table, columns, keys[start : start + LOOKUP_CHUNK])).mappings():
            existing[(row["account_id"], row["external_id"])] = row
    counts: dict[int, IngestCounts] = {}
    inserts: list[dict] = []
    updates: list[dict] = []
    now = clock.now()
    for account_id, items in groups:
        tally = counts.setdefault(account_id, IngestCounts())
        for item in items:
            # fields as validated (aware datetimes), not model_dump(), which would render them as text
            fields = item.__dict__
            values = {name: fields[name] for name in names}
            row = existing.get((account_id, item.external_id))
            if row is None:
                inserts.append({"account_id": account_id, **values})
                tally.inserted += 1
            elif any(row[name] != value for name, value in values.items()):
                # updated_at tells a stored verdict on the post's text that it is stale (classifier/service.py)
                updates.append({"id": row["id"], "updated_at": now, **values})
                tally.updated += 1
            else:
                tally.unchanged += 1
    if inserts:
        _insert_rows(session, table, inserts, in_every_row={"created_at": now, "updated_at": now})
    update_rows(session, table, updates, key="id")
    return counts


def _insert_rows(session: Session, table: Table, rows: list[dict], *, in_every_row: dict) -> None:
    """Insert many rows straight through the driver: COPY on PostgreSQL, one executemany on SQLite.
    A poll pass inserts tens of thousands of posts; SQLAlchemy's per-row parameter handling (and,
    on PostgreSQL, a protocol round per row) was most of its saving time. Values still go through
    each column type's own bind processing; `in_every_row` (the same `now` for all) only once."""
    dialect = session.get_bind().dialect

    def processor(name: str):
        return table.c[name].type.dialect_impl(dialect).bind_processor(dialect)

    shared = tuple(process(value) if (process := processor(name)) else value for name, value in in_every_row.items())
    names = list(rows[0])
    processors = [(name, processor(name)) for name in names]
    values = [tuple(process(row[name]) if process else row[name] for name, process in processors) + shared for row in rows]
    columns = ", ".join(names + list(in_every_row))
    if dialect.name == "postgresql":
        with session.connection().connection.driver_connection.cursor() as cursor:  # the session's own transaction
            with cursor.copy(f"COPY {table.name} ({columns}) FROM STDIN") as copy:
                for row in values:
                    copy.write_row(row)
    else:
        session.connection().exec_driver_sql(f"INSERT INTO {table.name} ({columns}) VALUES ({', '.join('?' * len(values[0]))})", values)


def ingest_many(
    *, session: Session, batches: Sequence[tuple[int, Sequence[PostIn], Sequence[InteractionIn]]]
) -> dict[int, ActivityPushResult]:
    """Store the activity of many accounts at once (the poller saves a batch of accounts together),
    with set-based reads and writes instead of one object per row."""
    for _account_id, posts, interactions in batches:
        _check_unique_ids(posts, "posts")
        _check_unique_ids(interactions, "interactions")
    post_counts = _upsert_many(session, Post, [(account_id, posts) for account_id, posts, _ in batches])
    interaction_counts = _upsert_many(session, Interaction, [(account_id, messages) for account_id, _, messages in batches])
    empty = IngestCounts()
    changed = [
        account_id for account_id, _, _ in batches
        if any((c.inserted or c.updated) for c in (post_counts.get(account_id, empty), interaction_counts.get(account_id, empty)))
    ]  # fmt: skip
    with_new_posts = {a for a in changed if post_counts.get(a, empty).inserted or post_counts.get(a, empty).updated}
    now = clock.now()
    # recomputed rather than maxed: an edit may move a post's time backwards. One index descent
    # per account: a MAX over an account's posts (which only grow) cost PostgreSQL, short of
    # statistics, a scan of the whole table per batch
    latest_post = select(func.max(Post.published_at)).where(Post.account_id == Account.id).scalar_subquery()
    for accounts, values in ((with_new_posts, {"last_post_at": latest_post}), (set(changed) - with_new_posts, {})):
        ordered = sorted(accounts)
        for start in range(0, len(ordered), ID_CHUNK):
            session.execute(
                update(Account).where(Account.id.in_(ordered[start : start + ID_CHUNK])).values(activity_changed_at=now, **values)
                .execution_options(synchronize_session=False)
            )  # fmt: skip
    last_posts = dict(session.execute(select(Account.id, Account.last_post_at).where(Account.id.in_([a for a, _, _ in batches]))).all()) if batches else {}
    return {
        account_id: ActivityPushResult(
            account_id=account_id, posts=post_counts.get(account_id, IngestCounts()),
            interactions=interaction_counts.get(account_id, IngestCounts()), last_post_at=last_posts.get(account_id),
        )  # fmt: skip
        for account_id, _, _ in batches
    }


# ---------------------------------------------------------------- polling schedule


def polled() -> ColumnElement[bool]:
    """The accounts the poller polls: active, with an rss or json source. The one statement of
    the rule: the poller's queries and an account's schedule page both ask it."""
    return and_(Account.status == AccountStatus.active, Account.source_kind.in_(list(POLLED_KINDS)), Account.source_url.is_not(None))


def poll_schedule(*, session: Session, account: Account, settings: Settings) -> PollScheduleRead:
    """An account's polling schedule; accounts not yet scheduled are due at the next tick."""
    state = session.get(PollState, account.id)
    polled_now = bool(session.scalar(select(polled()).where(Account.id == account.id)))
    override = state.interval_minutes if state else None
    return PollScheduleRead(
        account_id=account.id, source_kind=account.source_kind, polled=polled_now, interval_minutes=override,
        effective_interval_minutes=override or settings.poll_interval_minutes,
        next_poll_at=(state.next_poll_at if state else None) if polled_now else None,
        leased_until=state.leased_until if state else None, etag=state.etag if state else None,
        last_modified=state.last_modified if state else None, since=state.since if state else None,
        last_status_code=state.last_status_code if state else None, polls=state.polls if state else 0,
    )  # fmt: skip


def update_poll_schedule(*, session: Session, account: Account, settings: Settings, changes: PollScheduleUpdate) -> PollScheduleRead:
    if account.source_kind not in POLLED_KINDS:
        raise Problem(409, f"账号 {account.id} 的数据源不是 rss 或 json，无需抓取计划")
    now = clock.now()
    state = session.get(PollState, account.id)
    if state is None:
        state = PollState(account_id=account.id, next_poll_at=now, polls=0)
        session.add(state)
    if "interval_minutes" in changes.model_fields_set:
        state.interval_minutes = changes.interval_minutes
        # a shorter interval takes effect now, not after the old, longer wait
        interval = changes.interval_minutes or settings.poll_interval_minutes
        if state.next_poll_at is not None and state.next_poll_at > now + timedelta(minutes=interval):
            state.next_poll_at = now + timedelta(minutes=interval)
    if changes.poll_now:
        state.next_poll_at = now
    session.flush()
    return poll_schedule(session=session, account=account, settings=settings)
