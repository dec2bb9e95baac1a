"""The poller's second process: the database side of a large pass (claims, parsing, saving).

httpx alone keeps one core busy fetching (bench/poll.py measures its rate as the floor). In one
Python process, parsing feeds and saving posts would take turns with it on that core (the GIL),
so a pass of many accounts hands that work to this process and keeps the fetch loop to itself.
The worker starts with the pass and stops with it; while it starts (about a second of imports)
fetched feeds wait for it and claims are made in a thread, as small passes do all their work.

The worker opens its own engine on the same database. Work is handed over as module-level
functions and plain data (pickled), and comes back as plain data."""
import asyncio
import logging
from collections.abc import Callable
from contextlib import suppress
from concurrent.futures import Future, ProcessPoolExecutor
from concurrent.futures.process import BrokenProcessPool
from multiprocessing import get_context

from sqlalchemy.engine import make_url
from sqlalchemy.orm import Session, sessionmaker

from service.config import Settings

log = logging.getLogger("service.activity.poller")

_sessions: sessionmaker[Session] | None = None
_settings: Settings | None = None


def can_share(database_url: str) -> bool:
    """Another process can open this database: not an in-memory SQLite."""
    url = make_url(database_url)
    return not (url.get_backend_name() == "sqlite" and url.database in (None, "", ":memory:"))


def _start(database_url: str, settings: Settings) -> None:
    global _sessions, _settings
    from service.db import make_engine, make_sessionmaker

    _sessions = make_sessionmaker(make_engine(database_url, application_name="zombiewatch-poll-worker"))
    _settings = settings


def _ready() -> bool:
    return True


def _call(function: Callable, arguments: dict):
    return function(sessionmaker=_sessions, settings=_settings, **arguments)


class Worker:
    """Where one pass does its database work. `run(function, **arguments)` calls
    `function(sessionmaker=…, settings=…, **arguments)` in the worker process once it has
    started, and in a thread of this process before that, or when the pass has no worker."""

    def __init__(self, *, sessionmaker: sessionmaker[Session], settings: Settings, spawn: bool):
        self.sessionmaker = sessionmaker
        self.settings = settings
        self.ready = False
        self._pool: ProcessPoolExecutor | None = None
        self._starting: Future | None = None
        database_url = sessionmaker.kw["bind"].url.render_as_string(hide_password=False)
        if spawn and can_share(database_url):
            self._pool = ProcessPoolExecutor(
                max_workers=1, mp_context=get_context("spawn"), initializer=_start, initargs=(database_url, settings)
            )  # fmt: skip
            self._starting = self._pool.submit(_ready)
            self._starting.add_done_callback(self._started)

    def _started(self, future: Future) -> None:
        if future.exception() is None:
            self.ready = True
        else:
            log.warning("the poll worker process did not start; the pass goes on in this process: %s", future.exception())

    async def run(self, function: Callable, *, wait_for_worker: bool = False, **arguments):
        """With `wait_for_worker`, work waits while the worker is starting rather than taking
        this process's core from the fetch loop (saving is the heavy part; claims are not)."""
        if wait_for_worker and self._starting is not None and not self._starting.done():
            with suppress(Exception):  # a worker that fails to start is logged by _started
                await asyncio.wrap_future(self._starting)
        if self.ready and self._pool is not None:
            try:
                return await asyncio.wrap_future(self._pool.submit(_call, function, arguments))
            except BrokenProcessPool:
                # the worker died (killed, out of memory): its unsaved batch is saved here instead;
                # accounts it claimed but could not hand back are polled again when their leases expire
                log.error("the poll worker process died; the pass goes on in this process")
                self.close()
        return await asyncio.to_thread(function, sessionmaker=self.sessionmaker, settings=self.settings, **arguments)

    def close(self) -> None:
        self.ready = False
        if self._pool is not None:
            self._pool.shutdown(wait=False, cancel_futures=True)
            self._pool = None
