"""A large poll pass claims, parses and saves in a worker process of its own, so that its fetch
loop keeps a core; what it stores is exactly what a pass in one process stores."""
import asyncio
import os
import signal
from pathlib import Path

import httpx
import pytest
import respx
from sqlalchemy import func, select

from service.activity import poller
from service.activity.models import Post
from service.activity.worker import Worker, can_share
from service.db import make_sessionmaker
from service.registry.models import Account
from tests import factories

FEEDS = Path(__file__).parent / "feeds"


def whose_work(*, sessionmaker, settings) -> tuple[int, int]:
    """Run by the worker: its process id, and what it reads through its own engine."""
    with sessionmaker() as session:
        return os.getpid(), session.scalar(select(func.count(Account.id)))


async def _in_worker(db, settings, steps):
    """`steps(worker)` with a worker process that has started."""
    worker = Worker(sessionmaker=make_sessionmaker(db), settings=settings, spawn=True)
    try:
        for _ in range(600):
            if worker.ready:
                return await steps(worker)
            await asyncio.sleep(0.05)
        raise AssertionError("the worker process did not start within 30 s")
    finally:
        worker.close()


@pytest.fixture
def one_account(client):
    unit = factories.unit(client, "江苏省教育厅", "320000")
    factories.account(client, unit["id"], "jiangsu_jiaoyu")


def test_work_runs_in_the_worker_process_on_the_same_database(one_account, db, settings):
    async def steps(worker):
        return await worker.run(whose_work)

    pid, accounts = asyncio.run(_in_worker(db, settings, steps))
    assert pid != os.getpid() and accounts == 1


def test_a_worker_that_dies_leaves_the_work_to_this_process(one_account, db, settings):
    async def steps(worker):
        pid, _ = await worker.run(whose_work)
        os.kill(pid, signal.SIGKILL)
        return await worker.run(whose_work)

    assert asyncio.run(_in_worker(db, settings, steps)) == (os.getpid(), 1)


def test_an_in_memory_database_has_no_worker_and_work_without_one_runs_here(db, settings):
    assert not can_share("sqlite://") and not can_share("sqlite:///:memory:")
    assert can_share("sqlite:///./data/zombiewatch.db") and can_share("postgresql+psycopg://postgres@127.0.0.1/zw")

    async def scenario():
        worker = Worker(sessionmaker=make_sessionmaker(db), settings=settings, spawn=False)
        return await worker.run(whose_work)

    assert asyncio.run(scenario())[0] == os.getpid()


def test_a_large_pass_stores_in_the_worker_what_a_pass_in_one_process_stores(client, db, settings, session, monkeypatch):
    unit = factories.unit(client, "江苏省教育厅", "320000")
    feeds = {"weibo_rss2.xml": 3, "wechat_atom.xml": 2, "gov_rss1.rdf": 1}
    accounts = {
        name: factories.account(client, unit["id"], f"feed{i}", source={"kind": "rss", "url": f"https://feeds.example.gov.cn/{i}"})["id"]
        for i, name in enumerate([*feeds, "broken"])
    }  # fmt: skip
    used: list[bool] = []

    class Watched(Worker):
        async def run(self, function, **arguments):
            result = await super().run(function, **arguments)
            used.append(function is poller.save_outcomes and self.ready)
            return result

    monkeypatch.setattr(poller, "Worker", Watched)
    settings = settings.model_copy(update={"poll_worker_from_accounts": 2})
    with respx.mock(assert_all_called=True) as remote:
        for i, name in enumerate(feeds):
            remote.get(f"https://feeds.example.gov.cn/{i}").respond(200, content=(FEEDS / name).read_bytes())
        remote.get(f"https://feeds.example.gov.cn/{len(feeds)}").respond(200, content=b"<rss><channel><item>")
        summary = asyncio.run(poller.run_pass(sessionmaker=make_sessionmaker(db), settings=settings, detect=False))

    assert any(used), "the pass saved nothing in the worker process"
    assert (summary.accounts_polled, summary.new_posts, summary.errors) == (4, sum(feeds.values()), 1)
    for name, count in feeds.items():
        assert session.scalar(select(func.count(Post.id)).where(Post.account_id == accounts[name])) == count
    broken = session.get(Account, accounts["broken"])
    assert broken.source_failures == 1 and "不是有效的 RSS/Atom" in broken.source_last_error  # parsed, and refused, in the worker


def test_a_feed_fetched_but_unreadable_is_the_accounts_error_not_the_passes(client, db, settings):
    unit = factories.unit(client, "江苏省教育厅", "320000")
    account_id = factories.account(client, unit["id"], "empty", source={"kind": "rss", "url": "https://feeds.example.gov.cn/empty"})["id"]
    with respx.mock() as remote:
        remote.get("https://feeds.example.gov.cn/empty").mock(return_value=httpx.Response(200, content=b"   "))
        summary = asyncio.run(poller.run_pass(sessionmaker=make_sessionmaker(db), settings=settings, detect=False))
    assert summary.errors == 1
    with make_sessionmaker(db)() as session:
        assert "空内容" in session.get(Account, account_id).source_last_error
