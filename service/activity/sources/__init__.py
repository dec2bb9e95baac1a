"""Activity sources: where an account's posts (and interactions) come from.

One interface for every kind: `fetch(fetcher=…, url=…, previous=…)` returns `Fetched`, or
raises `SourceError` with a Chinese message that becomes the account's `source_status`.
`rss` reads RSS/Atom feeds, `json` reads the JSON activity API of openapi/activity-source.json,
`push` has nothing to fetch (other systems push to /v1/accounts/{id}/activity)."""
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field

from service.activity.schemas import InteractionIn, PostIn


class SourceError(Exception):
    """A source that could not be read this time. `message` is shown to people (Chinese)."""

    def __init__(self, message: str, *, status_code: int | None = None, retry_after_seconds: float | None = None, gone: bool = False):
        super().__init__(message)
        self.message = message
        self.status_code = status_code
        self.retry_after_seconds = retry_after_seconds
        self.gone = gone  # 410: the source says it will not come back


@dataclass(frozen=True)
class Previous:
    """What the last successful poll left for the next one."""

    etag: str | None = None
    last_modified: str | None = None
    since: str | None = None


@dataclass
class Fetched:
    posts: list[PostIn] = field(default_factory=list)
    interactions: list[InteractionIn] = field(default_factory=list)
    not_modified: bool = False
    status_code: int = 200
    etag: str | None = None
    last_modified: str | None = None
    since: str | None = None
    # A feed is parsed where it is saved, not where it is fetched: in a large pass that is the
    # poll worker process (service/activity/worker.py), so the fetch loop keeps its core.
    # A picklable callable giving the posts; it may raise SourceError.
    parse: Callable[[], list[PostIn]] | None = None

    def parsed(self) -> "Fetched":
        """The same result with its posts read (raises SourceError for an unreadable feed)."""
        if self.parse is not None:
            self.posts, self.parse = self.parse(), None
        return self


Fetch = Callable[..., Awaitable[Fetched]]


def fetcher_for(kind: str) -> Fetch | None:
    """The fetch function of a source kind; None for kinds that are not polled (push)."""
    from service.activity.sources import json, push, rss

    return {"rss": rss.fetch, "json": json.fetch, "push": push.fetch}.get(kind)
