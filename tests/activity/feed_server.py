"""A real feed server on 127.0.0.1 for tests that poll across processes (respx mocks only the
process it runs in), and the accounts that point at it."""
import threading
import time
from collections import Counter
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

from sqlalchemy import insert

from service import clock
from service.registry.models import Account, Unit


def rss(number: int) -> bytes:
    items = "".join(
        f"<item><guid>acct{number}-post{k}</guid><title>第{number}号账号 工作动态 {k}</title>"
        f"<description><![CDATA[<p>区政府召开常务会议，研究部署第{k}项重点工作。</p>]]></description>"
        f"<pubDate>Tue, 02 Jun 2020 {8 + k}:00:00 +0800</pubDate></item>"
        for k in range(3)
    )
    return f'<?xml version="1.0" encoding="UTF-8"?><rss version="2.0"><channel><title>账号{number}</title>{items}</channel></rss>'.encode()


class FeedServer:
    """A real HTTP server on 127.0.0.1 that counts requests per path and the most it had in
    flight at once. `delay` slows every answer; while `hold` is set, every request hangs (up to
    30 s)."""

    def __init__(self, delay: float = 0.0):
        self.delay = delay
        self.hits: Counter[str] = Counter()
        self.in_flight = self.most_in_flight = 0
        self.hold = threading.Event()
        lock = threading.Lock()
        server = self

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self):  # noqa: N802 - http.server's name
                with lock:
                    server.hits[self.path] += 1
                    server.in_flight += 1
                    server.most_in_flight = max(server.most_in_flight, server.in_flight)
                deadline = time.monotonic() + 30
                while server.hold.is_set() and time.monotonic() < deadline:
                    time.sleep(0.05)
                time.sleep(server.delay)
                body = rss(int(self.path.rsplit("/", 1)[1]))
                # out of flight before the answer leaves: once the client has it, its next request
                # may come before this thread would get back to count
                with lock:
                    server.in_flight -= 1
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
