"""What operators watch: liveness and readiness probes, Prometheus metrics by route, and
JSON log lines that carry a request id. Keys are never logged: only method, route,
status and timing leave a request."""
import json
import logging
import time
import uuid
from contextvars import ContextVar

from fastapi import APIRouter, FastAPI, Request, Response
from prometheus_client import CONTENT_TYPE_LATEST, Counter, Histogram, generate_latest
from sqlalchemy import text

from service.errors import problem_response

request_id_var: ContextVar[str | None] = ContextVar("request_id", default=None)
access_log = logging.getLogger("service.access")

REQUESTS = Counter("zw_http_requests_total", "HTTP requests by route", ["method", "route", "status"])
LATENCY = Histogram("zw_http_request_duration_seconds", "HTTP request latency by route", ["method", "route"])


class JsonFormatter(logging.Formatter):
    def format(self, record: logging.LogRecord) -> str:
        line = {
            "time": self.formatTime(record, "%Y-%m-%dT%H:%M:%S%z"),
            "level": record.levelname,
            "logger": record.name,
            "message": record.getMessage(),
        }
        if request_id := getattr(record, "request_id", None) or request_id_var.get():
            line["request_id"] = request_id
        line.update(getattr(record, "fields", {}))
        if record.exc_info:
            line["exception"] = self.formatException(record.exc_info)
        return json.dumps(line, ensure_ascii=False)


def configure_logging(level: str) -> None:
    handler = logging.StreamHandler()
    handler.setFormatter(JsonFormatter())
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(level.upper())
    for name in ("uvicorn", "uvicorn.error", "uvicorn.access"):
        logging.getLogger(name).handlers[:] = []
        logging.getLogger(name).propagate = True
    # Our access line replaces uvicorn's, which would print query strings as they came.
    logging.getLogger("uvicorn.access").disabled = True
    # APScheduler logs every tick at INFO (the dispatcher ticks every 2 s); jobs log their own work.
    logging.getLogger("apscheduler").setLevel(logging.WARNING)


def _route_of(request: Request) -> str:
    # the router records the matched route in the scope; its template keeps label cardinality low
    route = request.scope.get("route")
    return getattr(route, "path", None) or "unmatched"


def install(app: FastAPI) -> None:
    @app.middleware("http")
    async def observe(request: Request, call_next) -> Response:
        request_id = request.headers.get("x-request-id") or uuid.uuid4().hex
        token = request_id_var.set(request_id[:64])
        started = time.perf_counter()
        status = 500
        try:
            response = await call_next(request)
            status = response.status_code
            response.headers["X-Request-ID"] = request_id_var.get() or ""
            return response
        finally:
            elapsed = time.perf_counter() - started
            route = _route_of(request)
            REQUESTS.labels(request.method, route, str(status)).inc()
            LATENCY.labels(request.method, route).observe(elapsed)
            access_log.info(
                "request",
                extra={
                    "request_id": request_id_var.get(),
                    "fields": {"method": request.method, "route": route, "status": status, "ms": round(elapsed * 1000, 1)},
                },
            )
            request_id_var.reset(token)


router = APIRouter(tags=["operations"])


@router.get("/healthz", summary="存活检查")
def healthz() -> dict:
    """进程存活即返回 200，不检查依赖。"""
    return {"status": "ok"}


@router.get("/readyz", summary="就绪检查（数据库可达）", responses={503: {"description": "数据库不可达"}})
def readyz(request: Request) -> Response:
    """数据库可达时返回 200，否则 503：负载均衡据此决定是否转发流量。"""
    try:
        with request.app.state.engine.connect() as connection:
            connection.execute(text("SELECT 1"))
    except Exception as error:  # any driver error means not ready
        logging.getLogger("service.readyz").warning("database unreachable: %s", type(error).__name__)
        return problem_response(503, "数据库不可达，服务暂不可用")
    return Response(content='{"status":"ready","database":"ok"}', media_type="application/json")


@router.get("/metrics", summary="Prometheus 指标", response_class=Response)
def metrics() -> Response:
    return Response(generate_latest(), media_type=CONTENT_TYPE_LATEST)
