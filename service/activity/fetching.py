"""Fetching the sources a pass has claimed: in the pass's process, and in a large pass also in
a fetch helper, a process of its own.

httpx keeps one core busy in a fetch loop that is fast enough to be the limit (a feed server on
the same network, such as an RSSHub beside the service): bench/poll.py measures that rate as its
floor. A large pass splits its fetch tasks between its own loop and a helper's, so fetching uses
a second core, at a lower priority than the rest of the pass. The limits stay the pass's: every
fetch, the helper's too, first takes its slot (overall and per host) in this process, so the
helper never adds requests to a host.

The helper gets claims and sends back outcomes over a socket, as pickled frames; it needs no
database. While it starts (half a second of imports), and if it dies, this process fetches
everything itself; a claim the helper was fetching when it died is fetched again here."""
import asyncio
import logging
import os
import pickle
import socket
import struct
from contextlib import suppress
from dataclasses import dataclass
from multiprocessing import get_context

import httpx

from service.activity.sources import Fetched, Previous, SourceError, fetcher_for
from service.activity.sources.http import Fetcher
from service.config import Settings

log = logging.getLogger("service.activity.poller")

# The helper fetches with the CPU the rest of the pass leaves: where the database side is the
# limit (a first pass saving every post), a helper at the same priority would take CPU from it
# (bench/poll.py, PostgreSQL first pass: 70 % of the raw rate at the same priority, 78 % below).
NICENESS = 10
_LENGTH = struct.Struct("!I")
_READY = "ready"


@dataclass(frozen=True)
class Claim:
    """An account this replica holds for one poll."""

    account_id: int
    kind: str
    url: str
    previous: Previous


@dataclass
class Outcome:
    claim: Claim
    fetched: Fetched | None = None
    error: SourceError | None = None


async def poll_source(*, fetcher: Fetcher, claim: Claim) -> Outcome:
    """Fetch one account's source; every failure becomes the account's source error."""
    fetch = fetcher_for(claim.kind)
    try:
        if fetch is None:
            raise SourceError(f"{claim.kind} 类型的数据源无需抓取")
        return Outcome(claim, fetched=await fetch(fetcher=fetcher, url=claim.url, previous=claim.previous))
    except SourceError as error:
        return Outcome(claim, error=error)
    except Exception as error:  # a parser bug must not end the pass for everyone else
        log.exception("unexpected error polling account %s", claim.account_id)
        return Outcome(claim, error=SourceError(f"抓取时发生内部错误：{type(error).__name__}"))


async def _send(writer: asyncio.StreamWriter, message: object) -> None:
    frame = pickle.dumps(message, protocol=pickle.HIGHEST_PROTOCOL)
    writer.write(_LENGTH.pack(len(frame)) + frame)
    await writer.drain()


async def _receive(reader: asyncio.StreamReader) -> object:
    """The next message; raises EOFError when the other side has gone."""
    try:
        (length,) = _LENGTH.unpack(await reader.readexactly(_LENGTH.size))
        return pickle.loads(await reader.readexactly(length))
    except (asyncio.IncompleteReadError, ConnectionError):
        raise EOFError from None


class HelperGone(Exception):
    """The fetch helper died or was closed: fetch here instead."""


class FetchHelper:
    """The pass's side of a fetch helper process. `fetch(claim)` answers the claim's outcome,
    fetched in the helper; it raises HelperGone when the helper is not (or no longer) there."""

    @classmethod
    def start(cls, *, settings: Settings) -> "FetchHelper | None":
        """A helper starting up; None when no process can be started (the pass fetches alone)."""
        try:
            return cls(settings=settings)
        except OSError as error:
            log.warning("the fetch helper process could not start; the pass fetches in this process: %s", error)
            return None

    def __init__(self, *, settings: Settings):
        self.ready = self._closing = False
        self.fetched = 0  # claims the helper answered: the pass logs it at its end
        self._pending: dict[int, asyncio.Future[Outcome]] = {}
        self._next = 0
        self._writer: asyncio.StreamWriter | None = None
        ours, theirs = socket.socketpair()
        self._socket = ours
        self._process = get_context("spawn").Process(target=_serve, args=(theirs, settings), name="zombiewatch-fetch-helper", daemon=True)
        self._process.start()
        theirs.close()
        self._listening = asyncio.create_task(self._listen())

    async def _listen(self) -> None:
        reader, self._writer = await asyncio.open_connection(sock=self._socket)
        try:
            while True:
                message = await _receive(reader)
                if message == _READY:
                    self.ready = True
                    continue
                number, outcome = message
                self.fetched += 1
                if (future := self._pending.pop(number, None)) and not future.done():
                    future.set_result(outcome)
        except EOFError:
            if not self._closing:
                log.error("the fetch helper process %s; the pass fetches in this process", "died" if self.ready else "did not start")
        finally:
            self._gone()

    def _gone(self) -> None:
        self.ready = False
        for future in self._pending.values():
            if not future.done():
                future.set_exception(HelperGone())
        self._pending.clear()

    async def fetch(self, claim: Claim) -> Outcome:
        if not self.ready or self._writer is None:
            raise HelperGone()
        self._next += 1
        number = self._next
        future = self._pending[number] = asyncio.get_running_loop().create_future()
        try:
            await _send(self._writer, (number, claim))
        except ConnectionError:
            self._gone()
        try:
            return await future
        finally:
            self._pending.pop(number, None)

    async def close(self) -> None:
        """Stop the helper: it ends its loop when the socket closes; one that does not is killed."""
        self.ready, self._closing = False, True
        if self._writer is not None:
            self._writer.close()
        else:
            self._socket.close()
        self._listening.cancel()
        await asyncio.to_thread(self._process.join, 5)
        if self._process.is_alive():
            self._process.kill()
            await asyncio.to_thread(self._process.join)


def _serve(connection: socket.socket, settings: Settings) -> None:
    with suppress(OSError):
        os.nice(NICENESS)
    asyncio.run(_fetch_for_the_pass(connection, settings))


async def _fetch_for_the_pass(connection: socket.socket, settings: Settings) -> None:
    """The helper's loop: fetch every claim that comes, send back each outcome as it is ready,
    stop when the pass closes the socket (or dies)."""
    reader, writer = await asyncio.open_connection(sock=connection)
    # The pass holds each fetch's slot; these limits only bound the hops of redirects.
    async with Fetcher(settings=settings) as fetcher:
        await _send(writer, _READY)
        fetching: set[asyncio.Task] = set()

        async def answer(number: int, claim: Claim) -> None:
            outcome = await poll_source(fetcher=fetcher, claim=claim)
            try:
                await _send(writer, (number, outcome))
            except ConnectionError:
                pass  # the pass has gone; the loop below ends too

        while True:
            try:
                number, claim = await _receive(reader)
            except EOFError:
                break
            task = asyncio.create_task(answer(number, claim))
            fetching.add(task)
            task.add_done_callback(fetching.discard)
        for task in fetching:
            task.cancel()
    writer.close()


async def fetch(*, claim: Claim, fetcher: Fetcher, helper: FetchHelper | None = None) -> Outcome:
    """The claim's outcome, fetched by the helper when one is given and ready, else here.
    Never raises: every failure is the account's source error."""
    if helper is not None and helper.ready and (host := _host(claim.url)):
        try:
            async with fetcher.slot(host):
                return await helper.fetch(claim)
        except HelperGone:
            pass
    return await poll_source(fetcher=fetcher, claim=claim)


def _host(url: str) -> str | None:
    try:
        return httpx.URL(url).host or None
    except (httpx.InvalidURL, TypeError):
        return None  # poll_source reports it
