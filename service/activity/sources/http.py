"""HTTP for polled sources: one shared client, bounded concurrency overall and per host,
timeouts, a size cap, and redirects followed by hand (only to http(s), at most N hops).

Every failure comes out as a `SourceError` with a Chinese message; nothing here raises
anything else for a bad remote, so one bad source never stops a pass."""
import asyncio
from collections import defaultdict
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass

import httpx

from service.activity.sources import SourceError
from service.config import Settings
from service.retry_after import retry_after_seconds

REDIRECTS = {301, 302, 303, 307, 308}


@dataclass
class Response:
    status_code: int
    headers: httpx.Headers
    content: bytes
    url: str


def build_client(settings: Settings, **overrides) -> httpx.AsyncClient:
    timeout = httpx.Timeout(
        connect=settings.poll_connect_timeout_seconds, read=settings.poll_read_timeout_seconds,
        write=settings.poll_read_timeout_seconds, pool=None,
    )  # fmt: skip
    # pool=None: waiting for a connection is bounded by our own semaphores, not an error
    limits = httpx.Limits(max_connections=settings.poll_concurrency, max_keepalive_connections=settings.poll_concurrency)
    options = {"timeout": timeout, "limits": limits, "follow_redirects": False, "headers": {"User-Agent": settings.poll_user_agent}}
    return httpx.AsyncClient(**(options | overrides))


def _megabytes(size: int) -> str:
    return f"{size / 1024 / 1024:g} MB"


def check_status(response: Response) -> None:
    """Turn an unusable HTTP status into a SourceError (304 is the caller's business)."""
    code = response.status_code
    if 200 <= code < 300 or code == 304:
        return
    retry_after = retry_after_seconds(response.headers.get("retry-after"))
    if code == 404:
        message = "数据源地址不存在（HTTP 404）"
    elif code == 410:
        raise SourceError("数据源已被永久删除（HTTP 410），请更新或取消该账号的数据源", status_code=code, gone=True)
    elif code in (401, 403):
        message = f"数据源拒绝访问（HTTP {code}）"
    elif code == 429:
        message = "数据源限流（HTTP 429），稍后重试"
    elif code >= 500:
        message = f"数据源服务器出错（HTTP {code}）"
    elif code in REDIRECTS:
        message = f"数据源重定向但没有给出新地址（HTTP {code}）"
    else:
        message = f"数据源请求失败（HTTP {code}）"
    raise SourceError(message, status_code=code, retry_after_seconds=retry_after)


class Fetcher:
    """GETs for one poll pass, sharing one AsyncClient and its connection pool."""

    def __init__(self, *, settings: Settings, client: httpx.AsyncClient | None = None):
        self.settings = settings
        self.client = client or build_client(settings)
        self._owns_client = client is None
        self._overall = asyncio.Semaphore(settings.poll_concurrency)
        self._per_host: dict[str, asyncio.Semaphore] = defaultdict(lambda: asyncio.Semaphore(settings.poll_per_host_concurrency))

    async def aclose(self) -> None:
        if self._owns_client:
            await self.client.aclose()

    async def __aenter__(self) -> "Fetcher":
        return self

    async def __aexit__(self, *_exc) -> None:
        await self.aclose()

    async def get(self, url: str | httpx.URL, *, headers: dict[str, str] | None = None) -> Response:
        try:
            current = httpx.URL(url)
        except (httpx.InvalidURL, TypeError) as error:
            raise SourceError(f"数据源地址无效：{error}") from None
        for _hop in range(self.settings.poll_max_redirects + 1):
            if current.scheme not in ("http", "https"):
                raise SourceError(f"数据源重定向到不支持的地址（{current.scheme}:），只跟随 http 和 https")
            async with self.slot(current.host):
                response = await self._get_once(current, headers)
            location = response.headers.get("location")
            if response.status_code not in REDIRECTS or not location:
                return response
            try:
                current = current.join(location)
            except httpx.InvalidURL:
                raise SourceError(f"数据源重定向地址无效：{location[:200]}") from None
        raise SourceError(f"数据源重定向超过 {self.settings.poll_max_redirects} 次（可能是重定向循环）")

    @asynccontextmanager
    async def slot(self, host: str) -> AsyncIterator[None]:
        """One request's place within the limits, overall and per host. The host's first:
        requests queued for one busy host must not hold slots others could use."""
        async with self._per_host[host], self._overall:
            yield

    async def _get_once(self, url: httpx.URL, headers: dict[str, str] | None) -> Response:
        cap = self.settings.poll_max_bytes
        # The read timeout bounds each wait; this bounds a server that drips bytes forever.
        deadline = self.settings.poll_connect_timeout_seconds + 2 * self.settings.poll_read_timeout_seconds
        try:
            async with asyncio.timeout(deadline), self.client.stream("GET", url, headers=headers) as response:
                declared = response.headers.get("content-length")
                if declared and declared.isdigit() and int(declared) > cap:
                    raise SourceError(f"响应大小 {_megabytes(int(declared))} 超过 {_megabytes(cap)} 上限，未读取", status_code=response.status_code)
                chunks: list[bytes] = []
                size = 0
                # decoded bytes are counted, so a small gzip bomb is cut off too
                async for chunk in response.aiter_bytes():
                    size += len(chunk)
                    if size > cap:
                        raise SourceError(f"响应超过 {_megabytes(cap)} 上限，已中止读取", status_code=response.status_code)
                    chunks.append(chunk)
                return Response(response.status_code, response.headers, b"".join(chunks), str(response.url))
        except SourceError:
            raise
        except TimeoutError:
            raise SourceError(f"数据源响应过慢：{deadline:g} 秒内未读完") from None
        except httpx.ConnectTimeout:
            raise SourceError(f"连接数据源超时（{url.host}）") from None
        except httpx.TimeoutException:
            raise SourceError(f"读取数据源超时（超过 {self.settings.poll_read_timeout_seconds:g} 秒无响应）") from None
        except httpx.ConnectError:
            raise SourceError(f"无法连接数据源（{url.host}）") from None
        except httpx.DecodingError:
            raise SourceError("数据源返回的压缩内容无法解码") from None
        except (httpx.HTTPError, httpx.InvalidURL) as error:
            raise SourceError(f"请求数据源失败：{type(error).__name__}") from None
