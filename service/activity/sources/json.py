"""The JSON activity API other systems implement (contract: openapi/activity-source.json).

`GET {url}?since=<ISO time>` answers `{posts: [...], interactions: [...], next_since, has_more}`:
everything created or changed at or after `since`. While `has_more` is true the client asks
again with `since=next_since`; the last `next_since` is kept for the next poll. The first poll
sends no `since`, and the source answers from its beginning (or a window of its choosing)."""
import json

import httpx
from pydantic import BaseModel, ConfigDict, Field, ValidationError

from service.activity.schemas import InteractionIn, PostIn
from service.activity.sources import Fetched, Previous, SourceError
from service.activity.sources.http import Fetcher, check_status


class SourcePost(PostIn):
    # A source may send more than we read; that must not break the contract.
    model_config = ConfigDict(extra="ignore")


class SourceInteraction(InteractionIn):
    model_config = ConfigDict(extra="ignore")


class ActivityPage(BaseModel):
    """One answer of a JSON activity source."""

    model_config = ConfigDict(extra="ignore")

    posts: list[SourcePost] = []
    interactions: list[SourceInteraction] = []
    next_since: str | None = Field(default=None, description="下次请求时作为 since 传回的时间（ISO 8601）")
    has_more: bool = Field(default=False, description="为 true 时客户端立即以 next_since 请求下一页")


def _where(loc: tuple) -> str:
    return ".".join(str(part) for part in loc)


def parse_page(content: bytes) -> ActivityPage:
    try:
        data = json.loads(content)
    except (ValueError, UnicodeDecodeError):
        raise SourceError("JSON 数据源返回的不是有效的 JSON") from None
    if not isinstance(data, dict):
        raise SourceError("JSON 数据源应返回对象 {posts, interactions, next_since}")
    try:
        return ActivityPage.model_validate(data)
    except ValidationError as error:
        first = error.errors()[0]
        raise SourceError(f"JSON 数据源返回的内容不符合约定：{_where(first['loc'])}：{first['msg']}") from None


async def fetch(*, fetcher: Fetcher, url: str, previous: Previous, max_pages: int | None = None) -> Fetched:
    max_pages = max_pages or fetcher.settings.poll_json_max_pages
    posts: dict[str, PostIn] = {}
    interactions: dict[str, InteractionIn] = {}
    since = previous.since
    status_code = 200
    for _page in range(max_pages):
        target = httpx.URL(url)
        if since:
            target = target.copy_merge_params({"since": since})
        response = await fetcher.get(target, headers={"Accept": "application/json"})
        check_status(response)
        status_code = response.status_code
        page = parse_page(response.content)
        # a later page holds the newer state of an item that changed twice
        posts.update((p.external_id, p) for p in page.posts)
        interactions.update((i.external_id, i) for i in page.interactions)
        moved = page.next_since is not None and page.next_since != since
        if page.next_since is not None:
            since = page.next_since
        if not (page.has_more and moved):
            break  # the rest, if any, comes with the next poll
    return Fetched(posts=list(posts.values()), interactions=list(interactions.values()), status_code=status_code, since=since)
