"""A large poll pass also fetches in a helper process, on a second core at a lower priority,
within the pass's own limits; a claim the helper held when it died is fetched in the pass's
process. The helper is another process, so these tests poll a real local feed server (respx
mocks one process only)."""
import asyncio
import logging
import multiprocessing
import os
import re
import time
from collections import Counter

from sqlalchemy import func, select

from service.activity import poller
from service.activity.fetching import Claim, FetchHelper, fetch
from service.activity.models import PollState, Post
from service.activity.sources import Previous
from service.activity.sources.http import Fetcher
from service.db import make_sessionmaker
from tests.activity.feed_server import FeedServer, register


async def _until(condition, what: str, seconds: float = 30) -> None:
    deadline = time.monotonic() + seconds
    while not condition():
        if time.monotonic() > deadline:
            raise AssertionError(f"{what}: not within {seconds:g} s")
        await asyncio.sleep(0.02)


def test_a_claim_the_fetch_helper_held_when_it_died_is_fetched_in_the_passs_process(settings):
    def claim(server: FeedServer, number: int) -> Claim:
        return Claim(number, "rss", f"{server.base}/feed/{number}", Previous())

    async def steps(server: FeedServer) -> None:
        fetcher, helper = Fetcher(settings=settings), FetchHelper(settings=settings)
        try:
            await _until(lambda: helper.ready, "the fetch helper started")
            [process] = [p for p in multiprocessing.active_children() if p.name == "zombiewatch-fetch-helper"]
            # it yields the CPU to the rest of the pass
            assert os.getpriority(os.PRIO_PROCESS, process.pid) > os.getpriority(os.PRIO_PROCESS, 0)
            first = await fetch(claim=claim(server, 1), fetcher=fetcher, helper=helper)
            assert helper.fetched == 1 and first.error is None
            assert [post.external_id for post in first.fetched.parsed().posts] == ["acct1-post0", "acct1-post1", "acct1-post2"]

            server.hold.set()
            held = asyncio.create_task(fetch(claim=claim(server, 2), fetcher=fetcher, helper=helper))
            await _until(lambda: server.hits["/feed/2"] == 1, "the helper asked for feed 2")
            process.kill()
            await _until(lambda: not helper.ready, "the pass saw the helper die")
            server.hold.clear()
            second = await held
        finally:
            await helper.close()
            await fetcher.aclose()
        assert second.error is None and len(second.fetched.parsed().posts) == 3
        assert helper.fetched == 1  # feed 2 came from the pass's own fetch, after the helper died on it
        assert server.hits == Counter({"/feed/1": 1, "/feed/2": 2})

    with FeedServer() as server:
        asyncio.run(steps(server))


def test_a_large_pass_fetches_in_a_helper_process_within_its_limits_and_stores_every_feed_once(db, settings, caplog):
    sessions = make_sessionmaker(db)
    # the helper starts in about a second; the slow feeds keep the pass going well past that
    settings = settings.model_copy(update={"poll_fetch_helper_from_accounts": 2, "poll_concurrency": 8, "poll_per_host_concurrency": 4})
    with FeedServer(delay=0.05) as server:
        ids = register(sessions, server.base, 400)
        with caplog.at_level(logging.INFO, logger="service.activity.poller"):
            summary = asyncio.run(poller.run_pass(sessionmaker=sessions, settings=settings, detect=False))
    assert (summary.accounts_polled, summary.new_posts, summary.errors) == (400, 1200, 0)
    helped = re.search(r"(\d+) of 400 accounts fetched by the fetch helper", caplog.text)
    assert helped and int(helped.group(1)) > 0, f"the helper fetched nothing: {caplog.text[-500:]}"
    # every fetch, the helper's too, took its slot in the pass: one host never saw more than 4
    assert server.most_in_flight == 4
    assert server.hits == Counter({f"/feed/{i}": 1 for i in range(400)})
    with sessions() as session:
        assert session.scalar(select(func.count(Post.id)).where(Post.account_id.in_(ids))) == 1200
        assert set(session.scalars(select(PollState.polls))) == {1}
