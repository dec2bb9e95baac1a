"""Engine, sessions and the declarative base shared by every domain package."""
import threading
from collections.abc import Collection, Iterator
from contextlib import AbstractContextManager, nullcontext
from datetime import datetime, timezone
from pathlib import Path
from typing import Annotated

from fastapi import Depends, Request
from sqlalchemy import BigInteger, ColumnElement, DateTime, Engine, Integer, MetaData, Table, bindparam, create_engine, event, func, literal, select, true
from sqlalchemy.dialects.postgresql import ARRAY
from sqlalchemy.engine import make_url
from sqlalchemy.orm import DeclarativeBase, Mapped, Session, mapped_column, sessionmaker
from sqlalchemy.types import TypeDecorator

from service import clock

# Stable constraint names, so that migrations can name what they alter or drop.
NAMING_CONVENTION = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_N_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}


class Base(DeclarativeBase):
    metadata = MetaData(naming_convention=NAMING_CONVENTION)


class UTCDateTime(TypeDecorator[datetime]):
    """An instant. PostgreSQL keeps it as timestamptz; SQLite, which has no time zones,
    as naive UTC text, so that comparisons in SQL still order correctly."""

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect) -> datetime | None:
        if value is None:
            return None
        value = clock.as_aware(value).astimezone(timezone.utc)
        return value.replace(tzinfo=None) if dialect.name == "sqlite" else value

    def process_result_value(self, value: datetime | None, dialect) -> datetime | None:
        if value is None:
            return None
        return value.replace(tzinfo=timezone.utc) if value.tzinfo is None else value.astimezone(timezone.utc)


# Above this many ids one pass over a table costs less than their index lookups, chunk by chunk
# (measured on PostgreSQL, the 30-day window of 100,000 accounts, 282,000 of 4 million posts:
# 1.1 s in one pass; 56 ms for one chunk of 500 accounts, so about 11 s for all 195 chunks).
SCAN_FROM_IDS = 10_000
ID_CHUNK = 500


def rows_of(column, ids: Collection[int]) -> list[ColumnElement[bool]]:
    """WHERE conditions that together select the rows whose `column` is one of `ids`: one per
    chunk of ids, or, for so many ids that a scan is cheaper, one that selects every row; the
    caller keeps only the rows of its ids."""
    if len(ids) >= SCAN_FROM_IDS:
        return [true()]
    ordered = sorted(ids)
    return [column.in_(ordered[start : start + ID_CHUNK]) for start in range(0, len(ordered), ID_CHUNK)]


def update_rows(session: Session, table: Table, rows: list[dict], *, key: str) -> None:
    """Update many rows, each found by its `key` value, to the values given with it. Rows that
    give the same columns share one statement: on PostgreSQL one UPDATE joined to the values sent
    as one array per column (an executemany plans and runs an UPDATE per row, the better part of
    saving a poll batch); on SQLite, which runs in this process, one executemany."""
    groups: dict[tuple[str, ...], list[dict]] = {}
    for row in rows:
        groups.setdefault(tuple(name for name in row if name != key), []).append(row)
    postgres = session.get_bind().dialect.name == "postgresql"
    for names, group in groups.items():
        if postgres:
            given = select(*(
                func.unnest(literal([row[name] for row in group], ARRAY(table.c[name].type))).label(name) for name in (key, *names)
            )).subquery("given")  # fmt: skip
            statement = table.update().where(table.c[key] == given.c[key]).values({name: given.c[name] for name in names})
            session.execute(statement)
        else:
            statement = table.update().where(table.c[key] == bindparam("_key")).values({name: bindparam(f"_{name}") for name in names})
            session.execute(statement, [{"_key": row[key], **{f"_{name}": row[name] for name in names}} for row in group])


# SQLite allows one writer, and a transaction that read before another committed cannot then
# write (it fails at once, whatever the busy timeout): the claims and saves of one process's
# worker threads (poller, webhook dispatcher) take turns. PostgreSQL needs no such thing.
_sqlite_writer = threading.Lock()


def writing(session: Session) -> AbstractContextManager:
    return _sqlite_writer if session.get_bind().dialect.name == "sqlite" else nullcontext()


# Integer on SQLite so that the primary key is its ROWID and autoincrements.
BigId = BigInteger().with_variant(Integer, "sqlite")


class Timestamped:
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=clock.now)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=clock.now, onupdate=clock.now)


def make_engine(url: str, *, application_name: str = "zombiewatch") -> Engine:
    parsed = make_url(url)
    if parsed.get_backend_name() == "sqlite":
        if parsed.database and parsed.database != ":memory:":
            Path(parsed.database).parent.mkdir(parents=True, exist_ok=True)
        engine = create_engine(url, connect_args={"check_same_thread": False, "timeout": 30})

        @event.listens_for(engine, "connect")
        def _sqlite_pragmas(dbapi_connection, _record) -> None:
            cursor = dbapi_connection.cursor()
            cursor.execute("PRAGMA foreign_keys=ON")
            cursor.execute("PRAGMA journal_mode=WAL")  # readers do not block the writer
            cursor.execute("PRAGMA busy_timeout=30000")
            cursor.close()

        return engine
    # application_name lets a DBA tell API, worker and CLI connections apart.
    return create_engine(url, pool_pre_ping=True, connect_args={"application_name": application_name})


def make_sessionmaker(engine: Engine) -> sessionmaker[Session]:
    # Objects stay readable after commit: routers build their answers from them.
    return sessionmaker(engine, expire_on_commit=False)


def get_session(request: Request) -> Iterator[Session]:
    """One session per request: committed when the endpoint returns, rolled back when it
    raises. Committed before the answer is sent, so what is acknowledged is written."""
    with request.app.state.sessionmaker() as session:
        try:
            yield session
            session.commit()
        except BaseException:
            session.rollback()
            raise


SessionDep = Annotated[Session, Depends(get_session, scope="function")]
