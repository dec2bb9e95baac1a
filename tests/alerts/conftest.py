"""A real webhook receiver on 127.0.0.1 (allowed through ZW_WEBHOOK_ALLOWED_NETWORKS), a
dispatcher bound to the test app, and a clock that can be moved forward."""
import asyncio
import threading
import time
from dataclasses import dataclass, field
from datetime import timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest

from service import clock
from service.alerts.dispatcher import Dispatcher
from service.config import Settings
from tests.conftest import ADMIN_KEY


@dataclass
class Reply:
    status: int = 200
    body: bytes = b"ok"
    headers: dict = field(default_factory=dict)
    delay: float = 0.0


@dataclass
class Received:
    headers: dict[str, str]
    body: bytes
    path: str


class Receiver:
    """Answers each request with the next scripted Reply (then 200), and keeps what it got."""

    def __init__(self):
        self.replies: list[Reply] = []
        self.received: list[Received] = []
        self.lock = threading.Lock()
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def do_POST(self):  # noqa: N802 - http.server's naming
                body = self.rfile.read(int(self.headers.get("content-length", 0)))
                with receiver.lock:
                    receiver.received.append(Received({k.lower(): v for k, v in self.headers.items()}, body, self.path))
                    reply = receiver.replies.pop(0) if receiver.replies else Reply()
                if reply.delay:
                    time.sleep(reply.delay)
                self.send_response(reply.status)
                for name, value in reply.headers.items():
                    self.send_header(name, value)
                self.send_header("content-length", str(len(reply.body)))
                self.end_headers()
                try:
                    self.wfile.write(reply.body)
                except OSError:
                    pass  # the dispatcher gave up waiting

            def log_message(self, *args):
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}/hooks/zombiewatch"
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()

    def close(self):
        self.server.shutdown()
        self.server.server_close()


@pytest.fixture
def receiver():
    receiver = Receiver()
    yield receiver
    receiver.close()


@pytest.fixture
def settings(database_url) -> Settings:
    return Settings(
        database_url=database_url, admin_key=ADMIN_KEY, scheduler_enabled=False,
        webhook_allowed_networks=["127.0.0.0/8"], webhook_timeout_seconds=1.0, webhook_lease_seconds=60,
    )  # fmt: skip


@pytest.fixture
def dispatch(app, settings):
    """Runs a dispatcher until nothing is due; returns how many attempts it made."""

    def run(holder: str = "test-replica", **overrides) -> int:
        dispatcher = Dispatcher(sessionmaker=app.state.sessionmaker, settings=settings.model_copy(update=overrides), holder=holder)
        return asyncio.run(dispatcher.drain())

    return run


@pytest.fixture
def later(monkeypatch):
    """Moves the service's clock forward by `seconds` (cumulative)."""
    real_now = clock.now
    shift = timedelta()

    def move(seconds: float) -> None:
        nonlocal shift
        shift += timedelta(seconds=seconds)
        monkeypatch.setattr(clock, "now", lambda: real_now() + shift)

    return move
