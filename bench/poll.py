"""Benchmark of the poller: a full pass over N accounts against a local feed server.

    .venv/bin/python bench/poll.py [--accounts 10000] [--rounds 3] [--postgres postgresql+psycopg://…/zw_bench] [--no-fetch-helper]

A feed server on 127.0.0.1 (its own process) serves N generated feeds of 20 posts of Chinese
text, with ETags. For each database (SQLite always, PostgreSQL when --postgres names an empty
database) it runs rounds of:
- the floor: the rate of fetching the same URLs with httpx alone, at the same concurrency, in
  one process;
- the first full pass (fetch, parse, ingest 20 posts per account) over N new accounts:
  accounts/s, new posts/s, and its rate as a share of the floor measured around it (the mean
  of the raw rates just before and just after: the machine's speed drifts during a round);
- the pass where every feed answers 304, as a share of the raw rate of 304s around it.
A pass this large runs with its helper processes: the worker (claims, parsing, saving) and the
fetch helper, which fetches a share of the feeds on the second core within the same limits;
--no-fetch-helper runs the pass without the latter, to compare.
It prints every round, the median shares (the figures to quote: rates on this 2-core machine
drift by ±10 % between runs), the share of the feeds the fetch helper fetched, and the peak
memory of the pass's process and of its largest helper process.
Each round also prints the CPU each run cost per account, of this process and of the pass's
helper processes (their start included): the machine's speed moves those far less than the rates.
Detection after the pass is left out (detection has its own benchmark). It also times the
parsers on one feed: the lxml fast path, feedparser and fastfeedparser when installed.
Targets on a 2-core machine: first pass ≥ 70 % of the raw rate, 304 pass ≥ 90 %."""
import argparse
import asyncio
import logging
import multiprocessing
import os
import random
import resource
import statistics
import sys
import tempfile
import threading
import time
from datetime import datetime, timedelta, timezone
from email.utils import format_datetime
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

PHRASES = [
    "区政府召开常务会议，研究部署安全生产和防汛工作", "市场监管局开展食品安全专项检查", "关于做好2020年高校毕业生就业工作的通知",
    "疫情防控常态化下的复工复产指引", "政务服务“一网通办”再添新事项", "我区举办垃圾分类宣传进社区活动",
    "公安分局提醒：警惕新型电信网络诈骗", "教育局发布秋季学期招生入学政策解读", "人社局：灵活就业人员社保补贴申领指南",
]


def feed(number: int, posts: int = 20) -> bytes:
    rng = random.Random(number)
    start = datetime(2020, 6, 30, 18, 0, tzinfo=timezone(timedelta(hours=8)))
    items = []
    for k in range(posts):
        when = format_datetime(start - timedelta(hours=7 * k + rng.randrange(6)))
        title = rng.choice(PHRASES)
        body = "".join(rng.choice(PHRASES) + "。" for _ in range(4))
        items.append(
            f"<item><title><![CDATA[{title}]]></title><description><![CDATA[<p>{body}</p><br><img src=\"https://img.example.gov.cn/{number}/{k}.jpg\">]]></description>"
            f"<pubDate>{when}</pubDate><guid isPermaLink=\"false\">https://weibo.com/{number}/{k}</guid><link>https://weibo.com/{number}/{k}</link></item>"
        )
    return (
        f'<?xml version="1.0" encoding="UTF-8"?><rss version="2.0"><channel><title><![CDATA[政务账号{number}]]></title>'
        f"<link>https://weibo.com/{number}</link><description>Powered by RSSHub</description>{''.join(items)}</channel></rss>"
    ).encode()


# ---------------------------------------------------------------- the feed server (own process)


def serve(port_queue, accounts: int) -> None:
    try:
        import uvloop

        uvloop.install()
    except ImportError:
        pass
    bodies = {f"/feed/{i}".encode(): feed(i) for i in range(accounts)}

    def answer(path: bytes, etag_sent: bytes | None) -> bytes:
        body = bodies.get(path)
        if body is None:
            return b"HTTP/1.1 404 Not Found\r\nContent-Length: 0\r\n\r\n"
        etag = b'"v1-' + path[6:] + b'"'
        if etag_sent == etag:
            return b"HTTP/1.1 304 Not Modified\r\nETag: " + etag + b"\r\n\r\n"
        head = b"HTTP/1.1 200 OK\r\nContent-Type: application/rss+xml; charset=utf-8\r\nETag: " + etag
        return head + b"\r\nContent-Length: " + str(len(body)).encode() + b"\r\n\r\n" + body

    async def handle(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            while True:
                head = await reader.readuntil(b"\r\n\r\n")
                lines = head.split(b"\r\n")
                path = lines[0].split(b" ")[1]
                etag = next((line.split(b":", 1)[1].strip() for line in lines[1:] if line[:14].lower() == b"if-none-match:"), None)
                writer.write(answer(path, etag))
                await writer.drain()
        except (asyncio.IncompleteReadError, ConnectionError):
            pass
        finally:
            writer.close()

    async def main() -> None:
        server = await asyncio.start_server(handle, "127.0.0.1", 0, backlog=1024)
        port_queue.put(server.sockets[0].getsockname()[1])
        async with server:
            await server.serve_forever()

    asyncio.run(main())


# ---------------------------------------------------------------- measurements (own process per database)


def peak_rss_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


class ChildrenPeak(threading.Thread):
    """The most resident memory any child process (a pass's worker or fetch helper) reached,
    read from /proc while they run: rusage's figure for a spawned child counts the pages it
    shared with this process before it started Python afresh."""

    def __init__(self):
        super().__init__(daemon=True)
        self.mb = 0.0
        self.done = threading.Event()

    def run(self) -> None:
        # this process's own children only (each thread lists those it started): a few small
        # reads, not a walk of /proc beside the pass being measured
        threads = Path(f"/proc/{os.getpid()}/task")
        while not self.done.wait(0.2):
            for children in threads.glob("*/children"):
                try:
                    pids = children.read_text().split()
                except OSError:
                    continue  # the thread ended meanwhile
                for pid in pids:
                    try:
                        status = Path(f"/proc/{pid}/status").read_text()
                    except OSError:
                        continue  # ended meanwhile
                    for line in status.splitlines():
                        if line.startswith("VmHWM:"):
                            self.mb = max(self.mb, int(line.split()[1]) / 1024)


def cpu_seconds() -> tuple[float, float]:
    """CPU used so far by this process and by its children that have ended (each pass's
    helper processes: waited for here, as a pass leaves its worker to end on its own)."""
    deadline = time.monotonic() + 10
    while multiprocessing.active_children() and time.monotonic() < deadline:
        time.sleep(0.05)
    own, children = resource.getrusage(resource.RUSAGE_SELF), resource.getrusage(resource.RUSAGE_CHILDREN)
    return own.ru_utime + own.ru_stime, children.ru_utime + children.ru_stime


def cpu_ms_per_url(run, urls: int) -> tuple[object, float, tuple[float, float]]:
    """Runs `run`; returns its result, its wall time in s, and the CPU it cost per URL in ms,
    this process's and its helper processes': steadier than wall rates here, where the machine's speed
    swings."""
    own, children = cpu_seconds()
    started = time.perf_counter()
    result = run()
    elapsed = time.perf_counter() - started
    own_after, children_after = cpu_seconds()
    return result, elapsed, ((own_after - own) * 1000 / urls, (children_after - children) * 1000 / urls)


async def raw_rate(urls: list[str], settings, etags: bool) -> float:
    """The floor: the same URLs through httpx alone, with the poller's limits."""

    from service.activity.sources.http import build_client

    semaphore = asyncio.Semaphore(min(settings.poll_concurrency, settings.poll_per_host_concurrency))
    async with build_client(settings) as client:

        async def get(url: str) -> None:
            headers = {"If-None-Match": f'"v1-{url.rsplit("/", 1)[1]}"'} if etags else None
            async with semaphore:
                response = await client.get(url, headers=headers)
                response.raise_for_status() if response.status_code != 304 else None

        started = time.perf_counter()
        await asyncio.gather(*(get(u) for u in urls))
        return len(urls) / (time.perf_counter() - started)


def measure(database_url: str, base: str, accounts: int, rounds: int, helper: bool, results) -> None:
    try:
        results.put(_measure(database_url, base, accounts, rounds, helper))
    except BaseException:
        import traceback

        results.put({"error": traceback.format_exc()})


def analyze(engine) -> None:
    """What autovacuum does after a bulk change: this machine's PostgreSQL runs without it
    (conf.d/90-ci.conf), and a planner that has never seen the tables' statistics claims
    by scanning every active account."""
    from sqlalchemy import text

    with engine.connect().execution_options(isolation_level="AUTOCOMMIT") as connection:
        connection.execute(text("ANALYZE"))


class HelperShare(logging.Handler):
    """Reads how many accounts of a pass the fetch helper process fetched (the pass logs it)."""

    def __init__(self):
        super().__init__(logging.INFO)
        self.last = 0

    def emit(self, record: logging.LogRecord) -> None:
        if "fetched by the fetch helper" in record.msg:
            self.last = record.args[0]


def _measure(database_url: str, base: str, accounts: int, rounds: int, helper: bool) -> dict:
    """Rounds of (raw 200, first pass, raw 200, raw 304, 304 pass, raw 304). Each round registers N new accounts
    on the same feeds (the last round's are suspended), so every first pass stores N × 20 new
    posts, into a table that grows as it would. Rates on this machine drift by ±10 % from one
    run to the next, so each pass is compared with the raw rates measured just before and after it."""
    from sqlalchemy import insert, update

    from service import clock, schema
    from service.activity import poller
    from service.config import Settings
    from service.db import make_engine, make_sessionmaker
    from service.registry.models import Account, Unit

    # the default limits: every feed is on one host here, as behind one RSSHub
    settings = Settings(database_url=database_url, scheduler_enabled=False, **({} if helper else {"poll_fetch_helper_from_accounts": 0}))
    helped = HelperShare()
    passes = logging.getLogger("service.activity.poller")
    passes.setLevel(logging.INFO)
    passes.addHandler(helped)
    schema.upgrade(database_url)
    engine = make_engine(database_url, application_name="zombiewatch-bench")
    sessions = make_sessionmaker(engine)
    with sessions() as session:
        now = clock.now()
        unit_id = session.execute(insert(Unit).values(name="基准测试单位", region_code="120000", created_at=now, updated_at=now).returning(Unit.id)).scalar_one()
        session.commit()
    urls = [f"{base}/feed/{i}" for i in range(accounts)]
    out = {"database": engine.dialect.name, "rounds": []}
    children = ChildrenPeak()
    children.start()
    for number in range(rounds):
        with sessions() as session:
            now = clock.now()
            session.execute(update(Account).values(status="suspended"))
            rows = [
                {"platform": "weibo", "name": f"账号{number}-{i}", "handle": f"bench{number}-{i}", "unit_id": unit_id, "level": "sub", "filed": True,
                 "status": "active", "source_kind": "rss", "source_url": url, "source_failures": 0, "created_at": now, "updated_at": now}  # fmt: skip
                for i, url in enumerate(urls)
            ]
            session.execute(insert(Account), rows)
            session.commit()
        if engine.dialect.name == "postgresql":
            analyze(engine)  # as autovacuum would after a round registers its accounts
        row: dict = {"raw_200": [], "raw_304": [], "cpu_raw_200": [], "cpu_raw_304": []}

        def raw(etags: bool) -> None:
            rate, _, (cpu, _) = cpu_ms_per_url(lambda: asyncio.run(raw_rate(urls, settings, etags=etags)), accounts)
            row["raw_304" if etags else "raw_200"].append(rate)
            row["cpu_raw_304" if etags else "cpu_raw_200"].append(cpu)

        def run_pass(force: bool):
            helped.last = 0
            return cpu_ms_per_url(lambda: asyncio.run(poller.run_pass(sessionmaker=sessions, settings=settings, force=force, detect=False)), accounts)

        raw(etags=False)
        first, row["first_s"], row["cpu_first"] = run_pass(force=False)
        row.update(first_accounts=first.accounts_polled, first_posts=first.new_posts, first_errors=first.errors, first_helped=helped.last)
        raw(etags=False)
        raw(etags=True)
        second, row["second_s"], row["cpu_second"] = run_pass(force=True)
        row.update(second_accounts=second.accounts_polled, second_not_modified=second.not_modified, second_helped=helped.last)
        raw(etags=True)
        out["rounds"].append(row)
    out["peak_rss_mb"] = peak_rss_mb()
    engine.dispose()
    children.done.set()
    out["worker_peak_rss_mb"] = children.mb
    return out


def parser_times() -> list[tuple[str, float]]:
    from service.activity.sources import rss

    document = feed(1)
    candidates = [("lxml fast path", lambda: rss.parse_fast(document)), ("feedparser", lambda: rss.parse_lenient(document))]
    try:
        import fastfeedparser

        candidates.append(("fastfeedparser (entries only)", lambda: fastfeedparser.parse(document)))
    except ImportError:
        pass
    timings = []
    for name, parse in candidates:
        parse()
        rounds = 50
        started = time.perf_counter()
        for _ in range(rounds):
            parse()
        timings.append((name, (time.perf_counter() - started) / rounds * 1000))
    return timings


def report(out: dict, accounts: int) -> None:
    print(f"\n== {out['database']}: {accounts} accounts, 20 posts each, {len(out['rounds'])} rounds ==")
    first_shares, second_shares = [], []
    for number, row in enumerate(out["rounds"], start=1):
        first_rate = row["first_accounts"] / row["first_s"]
        second_rate = row["second_accounts"] / row["second_s"]
        first_shares.append(first_rate / statistics.mean(row["raw_200"]))
        second_shares.append(second_rate / statistics.mean(row["raw_304"]))
        print(f"round {number}: raw 200 {'/'.join(f'{r:.0f}' for r in row['raw_200'])} URLs/s | first pass {first_rate:4.0f} accounts/s, "
              f"{row['first_posts'] / row['first_s']:5.0f} new posts/s, {row['first_s']:4.1f} s, errors {row['first_errors']} -> {first_shares[-1]:4.0%}"
              f" | raw 304 {'/'.join(f'{r:.0f}' for r in row['raw_304'])} URLs/s | 304 pass {second_rate:4.0f} accounts/s ({row['second_not_modified']} not modified),"
              f" {row['second_s']:4.1f} s -> {second_shares[-1]:4.0%}")  # fmt: skip
        print(f"         fetched by the helper process: first pass {row['first_helped'] / row['first_accounts']:.0%}, 304 pass {row['second_helped'] / row['second_accounts']:.0%}")
        print(f"         CPU per account, ms: raw 200 {'/'.join(f'{c:.2f}' for c in row['cpu_raw_200'])} | first pass {row['cpu_first'][0]:.2f}"
              f" + helpers {row['cpu_first'][1]:.2f} | raw 304 {'/'.join(f'{c:.2f}' for c in row['cpu_raw_304'])} | 304 pass"
              f" {row['cpu_second'][0]:.2f} + helpers {row['cpu_second'][1]:.2f}")  # fmt: skip
    print(f"median share of raw: first pass {statistics.median(first_shares):.0%} (target ≥ 70%), "
          f"304 pass {statistics.median(second_shares):.0%} (target ≥ 90%)")
    print(f"peak memory: pass process {out['peak_rss_mb']:.0f} MB, its largest helper process (worker, fetch helper) {out['worker_peak_rss_mb']:.0f} MB")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--accounts", type=int, default=10_000)
    parser.add_argument("--postgres", help="URL of an EMPTY PostgreSQL database (it is migrated and filled)")
    parser.add_argument("--rounds", type=int, default=3, help="rounds per database; the medians are the figures")
    parser.add_argument("--no-fetch-helper", action="store_true", help="fetch in the pass's process only (ZW_POLL_FETCH_HELPER_FROM_ACCOUNTS=0), to compare")
    args = parser.parse_args()

    print("parse one 20-item feed:")
    for name, ms in parser_times():
        print(f"  {name:32s} {ms:6.2f} ms")

    context = multiprocessing.get_context("spawn")
    ports = context.Queue()
    server = context.Process(target=serve, args=(ports, args.accounts), daemon=True)
    server.start()
    base = f"http://127.0.0.1:{ports.get(timeout=120)}"
    try:
        with tempfile.TemporaryDirectory() as folder:
            targets = [f"sqlite:///{folder}/bench.db"] + ([args.postgres] if args.postgres else [])
            for url in targets:
                results = context.Queue()
                worker = context.Process(target=measure, args=(url, base, args.accounts, args.rounds, not args.no_fetch_helper, results))
                worker.start()
                out = results.get(timeout=3600)
                worker.join()
                if "error" in out:
                    sys.exit(f"benchmark on {url.split('@')[-1]} failed:\n{out['error']}")
                report(out, args.accounts)
    finally:
        server.terminate()


if __name__ == "__main__":
    main()
