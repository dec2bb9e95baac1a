"""Several replicas on one PostgreSQL: two poller processes over 200 accounts against a real
local feed server poll every account exactly once per cycle, and the leases of a poller killed
mid-pass are taken over once they expire."""
import asyncio
import os
import re
import signal
import subprocess
import sys
import time
from collections import Counter
from pathlib import Path

import pytest
from sqlalchemy import func, select

from service import clock
from service.activity import poller
from service.activity.models import PollState, Post
from service.config import Settings
from service.db import make_sessionmaker
from service.registry.models import Account
from tests.activity.feed_server import FeedServer, register

ROOT = Path(__file__).parents[2]


@pytest.fixture
def postgres(database_url, db):
    if not database_url.startswith("postgresql"):
        pytest.skip("several replicas share one PostgreSQL; SQLite runs single-node")
    return database_url


def poller_process(database_url: str, **settings) -> subprocess.Popen:
    env = {**os.environ, "ZW_DATABASE_URL": database_url, "ZW_SCHEDULER_ENABLED": "false"}
    env.update({f"ZW_{name.upper()}": str(value) for name, value in settings.items()})
    return subprocess.Popen(
        [sys.executable, "-m", "service.cli", "poll", "--once"], cwd=ROOT, env=env,
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
    )  # fmt: skip


def test_two_pollers_in_two_processes_poll_each_of_200_accounts_exactly_once(postgres, db):
    sessions = make_sessionmaker(db)
    concurrency = 8
    with FeedServer(delay=0.02) as server:
        ids = register(sessions, server.base, 200)
        # Feeds hang until more requests are in flight than one replica may have open, which
        # only happens once both replicas are polling: however late the second process starts,
        # the first cannot finish the whole pass alone.
        server.hold.set()
        knobs = {"poll_batch_size": 10, "poll_concurrency": concurrency, "poll_per_host_concurrency": concurrency}
        replicas = [poller_process(postgres, **knobs) for _ in range(2)]
        deadline = time.monotonic() + 25
        while sum(server.hits.values()) <= concurrency and time.monotonic() < deadline:
            time.sleep(0.05)
        in_flight = sum(server.hits.values())
        server.hold.clear()
        outputs = [replica.communicate(timeout=180) for replica in replicas]
    assert in_flight > concurrency, f"the second replica never started polling ({in_flight} requests in flight): {[err for _out, err in outputs]}"
    for replica, (_out, err) in zip(replicas, outputs):
        assert replica.returncode == 0, err
    polled_by = [int(re.search(r"账号 (\d+) 个", err).group(1)) for _out, err in outputs]
    assert sum(polled_by) == 200
    assert all(n > 0 for n in polled_by), f"both replicas should have taken a share: {polled_by}"
    assert server.hits == Counter({f"/feed/{i}": 1 for i in range(200)})
    with sessions() as session:
        assert set(session.scalars(select(PollState.polls))) == {1}
        assert session.scalar(select(func.count()).select_from(PollState).where(PollState.leased_until.is_not(None))) == 0
        assert session.scalar(select(func.count()).select_from(Post)) == 600
        assert session.scalar(select(func.count(Account.id)).where(Account.id.in_(ids), Account.source_last_polled_at.is_not(None))) == 200


def test_a_killed_pollers_leases_expire_and_another_replica_takes_its_accounts(postgres, db):
    sessions = make_sessionmaker(db)
    lease_seconds = 12  # long enough to outlast the killed poller's start-up on a busy machine
    with FeedServer() as server:
        server.hold.set()
        register(sessions, server.base, 20, prefix="held")
        doomed = poller_process(postgres, poll_lease_seconds=lease_seconds, poll_batch_size=50, poll_per_host_concurrency=50)
        deadline = time.monotonic() + 60
        while sum(server.hits.values()) < 20 and time.monotonic() < deadline:
            time.sleep(0.1)
        assert sum(server.hits.values()) == 20, "the first poller never reached the feeds"
        doomed.send_signal(signal.SIGKILL)
        doomed.wait(timeout=10)
        server.hold.clear()

        with sessions() as session:
            held = session.execute(select(PollState.lease_holder, PollState.leased_until)).all()
        assert len(held) == 20 and all(holder for holder, _until in held)
        expiry = max(until for _holder, until in held)

        settings = Settings(database_url=postgres, poll_lease_seconds=lease_seconds)
        survivor = asyncio.run(poller.run_pass(sessionmaker=sessions, settings=settings, holder="survivor", detect=False))
        assert clock.now() < expiry, "the check came too late to see the leases held"
        assert survivor.accounts_polled == 0  # the dead replica's leases have not run out yet

        time.sleep((expiry - clock.now()).total_seconds() + 0.5)
        survivor = asyncio.run(poller.run_pass(sessionmaker=sessions, settings=settings, holder="survivor", detect=False))
    assert survivor.accounts_polled == 20 and survivor.new_posts == 60 and survivor.errors == 0
    assert server.hits == Counter({f"/held/{i}": 2 for i in range(20)})  # the killed attempt and the takeover
    with sessions() as session:
        assert set(session.scalars(select(PollState.polls))) == {1}
        assert session.scalar(select(func.count()).select_from(PollState).where(PollState.lease_holder.is_not(None))) == 0
