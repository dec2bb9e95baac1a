"""Webhook delivery benchmark (issue 4): deliveries per second to a local receiver with 1, 10 and 100
subscriptions, the cost of enqueueing finding events, and a run in which the dispatcher process is
killed with SIGKILL mid-way and restarted, counting events lost (must be 0) and duplicates (allowed only
under the same webhook-id).

    .venv/bin/python bench/webhooks.py                       # both databases, 6,000 deliveries per figure
    .venv/bin/python bench/webhooks.py --database sqlite --deliveries 3000

The receiver is a minimal HTTP/1.1 server (asyncio) in its own process on 127.0.0.1; it answers 200 at
once and counts each (subscription path, webhook-id, body digest) it is sent. Events are real finding
events: findings are written to the database and `outbox.enqueue_finding_event` queues them in the
same transaction, as a detection run does. Every figure runs the real dispatcher (claim under lease,
sign, send, record each attempt) in one process, as one replica would.

The schema is built by the migrations on a fresh database (PostgreSQL: CREATE DATABASE
zw_bench_webhooks_<pid>, dropped at the end; SQLite: a file in a temporary directory).
"""
import argparse
import asyncio
import hashlib
import json
import os
import signal
import subprocess
import sys
import tempfile
import time
from collections import Counter
from multiprocessing import get_context
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from sqlalchemy import func, select, text  # noqa: E402
from sqlalchemy.engine import make_url  # noqa: E402

TARGET_PER_SECOND = 500
DEFAULT_PG_URL = "postgresql+psycopg://postgres@127.0.0.1:5432/postgres"


# --- the receiver ----------------------------------------------------------------------------------


class ReceiverProtocol(asyncio.Protocol):
    seen: Counter = Counter()  # (path, webhook-id, body digest) → times received

    def connection_made(self, transport):
        self.transport = transport
        self.buffer = b""

    def data_received(self, data: bytes) -> None:
        self.buffer += data
        while True:
            end = self.buffer.find(b"\r\n\r\n")
            if end < 0:
                return
            lines = self.buffer[:end].decode("latin-1").split("\r\n")
            method, path, _ = lines[0].split(" ", 2)
            headers = {k.strip().lower(): v.strip() for k, v in (line.split(":", 1) for line in lines[1:] if ":" in line)}
            length = int(headers.get("content-length", 0))
            if len(self.buffer) < end + 4 + length:
                return
            body = self.buffer[end + 4 : end + 4 + length]
            self.buffer = self.buffer[end + 4 + length :]
            if method == "GET":
                stats = [[p, w, d, n] for (p, w, d), n in self.seen.items()]
                answer = json.dumps(stats).encode()
                if path == "/reset":
                    self.seen.clear()
            else:
                self.seen[(path, headers.get("webhook-id"), hashlib.sha1(body).hexdigest())] += 1
                answer = b"ok"
            self.transport.write(b"HTTP/1.1 200 OK\r\ncontent-length: %d\r\n\r\n%s" % (len(answer), answer))


def serve(port_queue) -> None:
    async def main():
        server = await asyncio.get_running_loop().create_server(ReceiverProtocol, "127.0.0.1", 0)
        port_queue.put(server.sockets[0].getsockname()[1])
        await server.serve_forever()

    asyncio.run(main())


def receiver_stats(base: str, reset: bool = False) -> list:
    import httpx

    return httpx.get(f"{base}/{'reset' if reset else 'stats'}", timeout=30).json()


# --- the database ----------------------------------------------------------------------------------


def fresh_database(kind: str, workdir: Path) -> tuple[str, callable]:
    from service import schema

    if kind == "sqlite":
        url = f"sqlite:///{workdir}/webhooks.db"
        schema.upgrade(url)
        return url, lambda: None
    from sqlalchemy import create_engine

    base = os.environ.get("ZW_BENCH_DATABASE_URL", DEFAULT_PG_URL)
    name = f"zw_bench_webhooks_{os.getpid()}"
    server = create_engine(make_url(base).set(database="postgres"), isolation_level="AUTOCOMMIT")
    with server.connect() as connection:
        connection.execute(text(f'CREATE DATABASE "{name}"'))
    url = make_url(base).set(database=name).render_as_string(hide_password=False)
    schema.upgrade(url)

    def drop():
        with server.connect() as connection:
            connection.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        server.dispose()

    return url, drop


def settings_for(url: str, **overrides):
    from service.config import Settings

    return Settings(database_url=url, scheduler_enabled=False, webhook_allowed_networks=["127.0.0.0/8"], **overrides)


def reset_outbox(sessionmaker) -> None:
    from service.alerts.models import Attempt, Delivery, Subscription, WebhookEvent
    from service.findings.models import Finding, FindingEvent

    with sessionmaker.begin() as session:
        for model in (Attempt, Delivery, WebhookEvent, Subscription, FindingEvent, Finding):
            session.query(model).delete()


def make_subscriptions(sessionmaker, settings, base: str, count: int) -> None:
    from service.alerts import service as alerts
    from service.alerts.schemas import SubscriptionCreate
    from service.auth import Principal, Role

    bench = Principal(key_id=None, name="bench", role=Role.admin, region_code=None)
    with sessionmaker.begin() as session:
        for n in range(count):
            data = SubscriptionCreate(url=f"{base}/s/{n}", event_types=["finding.opened"])
            alerts.create_subscription(session=session, settings=settings, data=data, scope=bench)


def open_findings(sessionmaker, count: int, offset: int = 0) -> float:
    """`count` new findings, each opened through findings' `_transition` (so the outbox rows are
    written in the same transaction); the seconds it took."""
    from service import clock
    from service.findings import service as findings
    from service.findings.models import Finding

    started = time.perf_counter()
    with sessionmaker.begin() as session:
        now = clock.now()
        batch = []
        for n in range(offset, offset + count):
            finding = Finding(
                fingerprint=f"bench:{n}", type="dormant", rule="dormant.no_update_14d", severity="medium", severity_rank=1,
                status="open", region_code="120000", title=f"账号 {n} 监测时间点前2周内无更新", reopen_count=0,
                evidence={"days_silent": 15 + n % 60, "last_post_at": "2020-06-01T09:00:00+08:00"}, first_seen=now, last_seen=now,
                accounts=[],  # as reconcile leaves it: loaded, so the payload costs no query
            )  # fmt: skip
            session.add(finding)
            batch.append(finding)
        session.flush()
        for finding in batch:
            findings._transition(session, finding, action="opened", to_status="open", actor="bench")
    return time.perf_counter() - started


# --- the figures -------------------------------------------------------------------------------------


def prepare(url: str, base: str, subscriptions: int, events: int):
    """An empty outbox and receiver, `subscriptions` subscriptions and `events` finding events:
    (engine, sessionmaker, settings, seconds the events took to enqueue)."""
    from service.db import make_engine, make_sessionmaker

    engine = make_engine(url)
    sessionmaker = make_sessionmaker(engine)
    settings = settings_for(url)
    reset_outbox(sessionmaker)
    receiver_stats(base, reset=True)
    make_subscriptions(sessionmaker, settings, base, subscriptions)
    return engine, sessionmaker, settings, open_findings(sessionmaker, events)


def throughput(url: str, base: str, subscriptions: int, deliveries: int) -> dict:
    from service.alerts.dispatcher import Dispatcher
    from service.alerts.models import Delivery

    events = max(1, deliveries // subscriptions)
    engine, sessionmaker, settings, enqueue_seconds = prepare(url, base, subscriptions, events)
    dispatcher = Dispatcher(sessionmaker=sessionmaker, settings=settings, holder="bench")
    started = time.perf_counter()
    sent = asyncio.run(dispatcher.drain())
    seconds = time.perf_counter() - started
    with sessionmaker() as session:
        succeeded = session.scalar(select(func.count()).select_from(Delivery).where(Delivery.status == "succeeded"))
    received = sum(n for *_key, n in receiver_stats(base))
    engine.dispose()
    return {"subscriptions": subscriptions, "events": events, "sent": sent, "succeeded": succeeded, "received": received,
            "seconds": seconds, "per_second": sent / seconds, "enqueue_seconds": enqueue_seconds}  # fmt: skip


def httpx_ceiling(base: str, requests: int = 3000, workers: int = 8) -> float:
    """Requests per second of a bare httpx POST loop to the same receiver on this machine now:
    the most any httpx-based dispatcher could reach here (no database, no signing)."""
    import httpx

    async def run() -> float:
        clients = [httpx.AsyncClient(trust_env=False) for _ in range(workers)]
        left = [requests]
        body = b"x" * 900

        async def worker(client):
            while left[0] > 0:
                left[0] -= 1
                await client.post(f"{base}/ceiling", content=body, headers={"webhook-id": "msg_ceiling"})

        started = time.perf_counter()
        await asyncio.gather(*(worker(c) for c in clients))
        seconds = time.perf_counter() - started
        await asyncio.gather(*(c.aclose() for c in clients))
        return requests / seconds

    return asyncio.run(run())


def dispatch_child(url: str) -> None:
    """The dispatcher process of the kill run: drains until nothing is left, leased or not."""
    from service.alerts.dispatcher import Dispatcher
    from service.alerts.models import Delivery
    from service.db import make_engine, make_sessionmaker

    sessionmaker = make_sessionmaker(make_engine(url))
    settings = settings_for(url, webhook_lease_seconds=3, webhook_batch_size=50)
    dispatcher = Dispatcher(sessionmaker=sessionmaker, settings=settings, holder=f"bench-child-{os.getpid()}")
    while True:
        asyncio.run(dispatcher.drain())
        with sessionmaker() as session:
            left = session.scalar(select(func.count()).select_from(Delivery).where(Delivery.status == "pending"))
        if not left:
            return
        time.sleep(0.5)  # leases of the killed process expire


def kill_run(url: str, base: str, subscriptions: int, deliveries: int) -> dict:
    from service.alerts.models import Delivery, Subscription

    engine, sessionmaker, _settings, _enqueue_seconds = prepare(url, base, subscriptions, deliveries // subscriptions)
    with sessionmaker() as session:
        rows = session.execute(select(Delivery.subscription_id, Delivery.event_id)).all()
        path_of = {s.id: "/" + s.url.split("/", 3)[3] for s in session.scalars(select(Subscription))}
        expected = {(path_of[sub], event) for sub, event in rows}
    command = [sys.executable, __file__, "--dispatch-child", url]
    child = subprocess.Popen(command)
    killed_at = None
    while child.poll() is None:
        received = sum(n for *_key, n in receiver_stats(base))
        if received >= len(expected) * 0.4:
            child.send_signal(signal.SIGKILL)
            child.wait()
            killed_at = received
            break
        time.sleep(0.02)
    restarted = subprocess.run(command, check=True)
    assert restarted.returncode == 0
    stats = receiver_stats(base)
    got = Counter()
    ids_of_body: dict[tuple, set] = {}
    for path, webhook_id, digest, n in stats:
        got[(path, webhook_id)] += n
        ids_of_body.setdefault((path, digest), set()).add(webhook_id)
    lost = len(expected - set(got))
    duplicates = sum(n - 1 for n in got.values() if n > 1)
    duplicates_under_new_id = sum(len(ids) - 1 for ids in ids_of_body.values())
    with sessionmaker() as session:
        not_succeeded = session.scalar(select(func.count()).select_from(Delivery).where(Delivery.status != "succeeded"))
    engine.dispose()
    return {"expected": len(expected), "killed_after": killed_at, "lost": lost, "duplicates": duplicates,
            "duplicates_under_new_id": duplicates_under_new_id, "not_succeeded_in_db": not_succeeded}  # fmt: skip


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--database", choices=["sqlite", "postgresql", "both"], default="both")
    parser.add_argument("--deliveries", type=int, default=6000, help="deliveries per throughput figure")
    parser.add_argument("--kill-deliveries", type=int, default=3000)
    parser.add_argument("--dispatch-child", metavar="URL", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.dispatch_child:
        dispatch_child(args.dispatch_child)
        return

    context = get_context("spawn")
    ports = context.Queue()
    receiver = context.Process(target=serve, args=(ports,), daemon=True)
    receiver.start()
    base = f"http://127.0.0.1:{ports.get(timeout=30)}"
    kinds = ["sqlite", "postgresql"] if args.database == "both" else [args.database]
    try:
        for kind in kinds:
            with tempfile.TemporaryDirectory() as workdir:
                url, drop = fresh_database(kind, Path(workdir))
                try:
                    load = ", ".join(f"{v:.1f}" for v in os.getloadavg())
                    print(f"\n== {kind}: deliveries to a local receiver (target ≥ {TARGET_PER_SECOND}/s); "
                          f"{os.cpu_count()} CPUs, load average {load} ==")
                    print(f"bare httpx POST loop to the same receiver (ceiling for any httpx sender here): {httpx_ceiling(base):.0f}/s")
                    for subscriptions in (1, 10, 100):
                        r = throughput(url, base, subscriptions, args.deliveries)
                        mark = "ok" if r["per_second"] >= TARGET_PER_SECOND else "BELOW TARGET"
                        print(f"{subscriptions:>4} subscription(s): {r['sent']:>6} deliveries ({r['events']} events) in "
                              f"{r['seconds']:6.2f} s = {r['per_second']:7.0f}/s [{mark}]; received {r['received']}, "
                              f"succeeded {r['succeeded']}; enqueue {r['enqueue_seconds']:.2f} s")  # fmt: skip
                    r = kill_run(url, base, 10, args.kill_deliveries)
                    print(f"SIGKILL run: {r['expected']} deliveries, dispatcher killed after {r['killed_after']} received, "
                          f"restarted: lost {r['lost']} (must be 0), duplicates {r['duplicates']} (same webhook-id), "
                          f"duplicates under a new webhook-id {r['duplicates_under_new_id']} (must be 0), "
                          f"not succeeded in the database {r['not_succeeded_in_db']}")  # fmt: skip
                finally:
                    drop()
    finally:
        receiver.terminate()


if __name__ == "__main__":
    main()
