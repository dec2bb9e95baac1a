"""Every 4xx and 5xx answer is application/problem+json (RFC 9457) with a Chinese `detail`."""
import logging
from http import HTTPStatus
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from sqlalchemy.exc import IntegrityError
from starlette.exceptions import HTTPException as StarletteHTTPException

log = logging.getLogger("service.errors")

PROBLEM_JSON = "application/problem+json"

CHINESE_TITLES = {
    400: "请求有误",
    401: "未认证",
    403: "无权访问",
    404: "未找到",
    405: "不支持的请求方法",
    409: "冲突",
    413: "请求体过大",
    415: "不支持的内容类型",
    422: "请求参数校验失败",
    429: "请求过于频繁",
    500: "服务器内部错误",
    503: "服务暂不可用",
}


class Problem(Exception):
    """A failure the client should read: raised by services and routers alike."""

    def __init__(
        self,
        status: int,
        detail: str,
        *,
        errors: list[dict[str, Any]] | None = None,
        headers: dict[str, str] | None = None,
        **extra: Any,
    ):
        super().__init__(detail)
        self.status = status
        self.detail = detail
        self.errors = errors
        self.headers = headers
        self.extra = extra


def NotFound(what: str) -> Problem:  # noqa: N802 - reads as a kind of problem
    return Problem(404, f"{what}不存在")


def problem_response(status: int, detail: str, *, errors: list | None = None, headers=None, **extra) -> JSONResponse:
    body: dict[str, Any] = {
        "type": "about:blank",
        "title": CHINESE_TITLES.get(status, HTTPStatus(status).phrase),
        "status": status,
        "detail": detail,
    }
    if errors is not None:
        body["errors"] = errors
    body.update(extra)
    return JSONResponse(body, status_code=status, media_type=PROBLEM_JSON, headers=headers)


def _field_path(loc: tuple | list) -> str:
    # ("body", "posts", 3, "published_at") → "posts[3].published_at"
    path = ""
    for part in loc:
        if part in ("body", "query", "path", "header") and not path:
            continue
        path += f"[{part}]" if isinstance(part, int) else (f".{part}" if path else str(part))
    return path or "body"


def _chinese_message(error: dict[str, Any]) -> str:
    kind, message = error.get("type", ""), error.get("msg", "")
    if kind == "value_error":
        # our own validators raise Chinese messages; pydantic prefixes them
        return message.removeprefix("Value error, ")
    known = {
        "missing": "必填",
        "json_invalid": "不是合法的 JSON",
        "string_too_short": "不能为空或过短",
        "string_too_long": "过长",
        "string_pattern_mismatch": "格式不正确",
        "enum": "取值不在允许范围内",
        "literal_error": "取值不在允许范围内",
        "datetime_from_date_parsing": "不是合法的时间",
        "datetime_parsing": "不是合法的时间",
        "datetime_type": "不是合法的时间",
        "int_parsing": "应为整数",
        "int_type": "应为整数",
        "bool_parsing": "应为布尔值",
        "bool_type": "应为布尔值",
        "string_type": "应为字符串",
        "list_type": "应为数组",
        "dict_type": "应为对象",
        "model_type": "应为对象",
        "extra_forbidden": "不允许的字段",
        "too_long": "条目过多",
        "greater_than_equal": "取值过小",
        "less_than_equal": "取值过大",
        "url_parsing": "不是合法的 URL",
        "url_scheme": "URL 协议不受支持",
    }
    chinese = known.get(kind)
    return f"{chinese}（{message}）" if chinese else message


def install(app: FastAPI) -> None:
    @app.exception_handler(Problem)
    async def _problem(_request: Request, exc: Problem) -> JSONResponse:
        return problem_response(exc.status, exc.detail, errors=exc.errors, headers=exc.headers, **exc.extra)

    @app.exception_handler(RequestValidationError)
    async def _validation(_request: Request, exc: RequestValidationError) -> JSONResponse:
        errors = [{"field": _field_path(e.get("loc", ())), "message": _chinese_message(e)} for e in exc.errors()]
        summary = "；".join(f"{e['field']}：{e['message']}" for e in errors[:5])
        more = f"；另有 {len(errors) - 5} 处" if len(errors) > 5 else ""
        return problem_response(422, f"请求参数校验失败：{summary}{more}", errors=errors)

    @app.exception_handler(StarletteHTTPException)
    async def _http(_request: Request, exc: StarletteHTTPException) -> JSONResponse:
        detail = exc.detail if isinstance(exc.detail, str) and exc.detail != HTTPStatus(exc.status_code).phrase else None
        return problem_response(
            exc.status_code, detail or CHINESE_TITLES.get(exc.status_code, "请求失败"), headers=getattr(exc, "headers", None)
        )

    @app.exception_handler(IntegrityError)
    async def _integrity(_request: Request, exc: IntegrityError) -> JSONResponse:
        # A race between two writers that both passed the service's own checks.
        log.warning("integrity conflict: %s", type(exc.orig).__name__)
        return problem_response(409, "数据冲突：与已有记录重复或引用的记录不存在，请刷新后重试")

    @app.exception_handler(Exception)
    async def _unexpected(_request: Request, exc: Exception) -> JSONResponse:
        log.exception("unhandled error")
        return problem_response(500, "服务器内部错误，请稍后重试；如持续出现请联系管理员并提供请求编号")
