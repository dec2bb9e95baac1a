"""Several replicas on one PostgreSQL: two poller processes over 200 accounts against a real
local feed server poll every account exactly once per cycle, and the leases of a poller killed
mid-pass are taken over once they expire."""
import asyncio
import os
import re
import signal
import subprocess
import sys
import threading
import time
from collections import Counter
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest
from sqlalchemy import func, insert, select

from service import clock
from service.activity import poller
from service.activity.models import PollState, Post
from service.config import Settings
from service.db import make_sessionmaker
from service.registry.models import Account, Unit

ROOT = Path(__file__).parents[2]


def rss(number: int) -> bytes:
    items = "".join(
        f"<item><guid>acct{number}-post{k}</guid><title>第{number}号账号 工作动态 {k}</title>"
        f"<description><![CDATA[<p>区政府召开常务会议，研究部署第{k}项重点工作。</p>]]></description>"
        f"<pubDate>Tue, 02 Jun 2020 {8 + k}:00:00 +0800</pubDate></item>"
        for k in range(3)
    )
    return f'<?xml version="1.0" encoding="UTF-8"?><rss version="2.0"><channel><title>账号{number}</title>{items}</channel></rss>'.encode()


class FeedServer:
    """A real HTTP server on 127.0.0.1 that counts requests per path. `delay` slows every
    answer; while `hold` is set, every request hangs (up to 30 s)."""

    def __init__(self, delay: float = 0.0):
        self.delay = delay
        self.hits: Counter[str] = Counter()
        self.hold = threading.Event()
        lock = threading.Lock()
        server = self

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self):  # noqa: N802 - http.server's name
                with lock:
                    server.hits[self.path] += 1
                deadline = time.monotonic() + 30
                while server.hold.is_set() and time.monotonic() < deadline:
                    time.sleep(0.05)
                time.sleep(server.delay)
                body = rss(int(self.path.rsplit("/", 1)[1]))
                try:
                    self.send_response(200)
                    self.send_header("Content-Type", "application/rss+xml; charset=utf-8")
                    self.send_header("Content-Length", str(len(body)))
                    self.end_headers()
                    self.wfile.write(body)
                except (BrokenPipeError, ConnectionResetError):
                    pass  # the killed poller's connections

            def log_message(self, *_args):
                pass

        self.httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.httpd.daemon_threads = True
        self.base = f"http://127.0.0.1:{self.httpd.server_port}"
        self.thread = threading.Thread(target=self.httpd.serve_forever, daemon=True)

    def __enter__(self) -> "FeedServer":
        self.thread.start()
        return self

    def __exit__(self, *_exc) -> None:
        self.hold.clear()
        self.httpd.shutdown()
        self.httpd.server_close()


@pytest.fixture
def postgres(database_url, db):
    if not database_url.startswith("postgresql"):
        pytest.skip("several replicas share one PostgreSQL; SQLite runs single-node")
    return database_url


def register(sessions, base: str, n: int, prefix: str = "feed") -> list[int]:
    with sessions() as session:
        unit_id = session.execute(insert(Unit).values(name="天津市人民政府办公厅", region_code="120000", created_at=clock.now(), updated_at=clock.now()).returning(Unit.id)).scalar_one()
        rows = [
            {"platform": "weibo", "name": f"账号{i}", "handle": f"{prefix}{i}", "unit_id": unit_id, "level": "sub", "filed": True,
             "status": "active", "source_kind": "rss", "source_url": f"{base}/{prefix}/{i}", "source_failures": 0,
             "created_at": clock.now(), "updated_at": clock.now()}  # fmt: skip
            for i in range(n)
        ]
        ids = list(session.scalars(insert(Account).returning(Account.id), rows))
        session.commit()
    return ids


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
