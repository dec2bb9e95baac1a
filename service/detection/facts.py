"""The plain data detectors read and the detections they return: no database, no HTTP."""
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime
from typing import TypeVar

from service.config import Settings
from service.detection.rules import Rule
from service.findings.models import Severity

T = TypeVar("T")


@dataclass(frozen=True)
class Thresholds:
    dormant_days: int = 14
    zombie_days: int = 90
    never_posted_days: int = 14
    reply_working_days: int = 5
    stop_notice_working_days: int = 15
    not_filed_inactive_days: int = 90
    near_identical_similarity: float = 0.6
    near_identical_min_posts: int = 3
    content_window_days: int = 30
    off_topic_min_score: float = 0.7
    # off_topic.posts severity: medium from this many off-topic posts or this share of the
    # window's posts, high from the next pair (one stray post is low)
    off_topic_medium: tuple[int, float] = (2, 0.1)
    off_topic_high: tuple[int, float] = (5, 0.3)

    @classmethod
    def from_settings(cls, settings: Settings) -> "Thresholds":
        return cls(
            dormant_days=settings.dormant_days,
            zombie_days=settings.zombie_days,
            never_posted_days=settings.dormant_days,
            reply_working_days=settings.reply_working_days,
            stop_notice_working_days=settings.stop_notice_working_days,
            not_filed_inactive_days=settings.zombie_days,
            near_identical_similarity=settings.near_identical_similarity,
            near_identical_min_posts=settings.near_identical_min_posts,
            content_window_days=settings.content_window_days,
            off_topic_min_score=settings.off_topic_min_score,
        )


@dataclass(frozen=True)
class AccountFacts:
    id: int
    name: str
    platform: str
    handle: str
    status: str
    filed: bool
    level: str
    unit_id: int
    unit_name: str
    unit_group: int  # the representative unit of all registry entries of the same unit
    region_code: str
    opened_at: datetime | None  # 开设时间 when the registry knows it
    entered_at: datetime  # when it was entered into this service (not when it was opened)
    last_post_at: datetime | None  # the latest post at or before the monitoring time point


@dataclass(frozen=True)
class PostFacts:
    id: int
    account_id: int
    external_id: str
    published_at: datetime
    title: str | None
    text: str
    url: str | None


@dataclass(frozen=True)
class ClassifiedPost:
    """A post with its verdict: an editor's label when there is one, else the model's."""

    post: PostFacts
    label: str  # on_topic or off_topic
    score: float  # the model's probability of off_topic (1.0 or 0.0 for a human label)
    reasons: list[dict]
    model_version: str | None
    by_human: bool = False


@dataclass(frozen=True)
class MessageFacts:
    id: int
    account_id: int
    external_id: str
    received_at: datetime
    replied_at: datetime | None
    text: str


@dataclass(frozen=True)
class DiscoveryFacts:
    id: int
    platform: str
    handle: str | None
    name: str
    url: str | None
    region_code: str | None
    seen_at: datetime


@dataclass
class Inspection:
    """Everything one detection run looks at, as of its monitoring time point."""

    as_of: datetime
    thresholds: Thresholds
    accounts: list[AccountFacts]
    stop_notices: dict[int, PostFacts] = field(default_factory=dict)  # account → its latest post, a stop notice
    waiting_messages: list[MessageFacts] = field(default_factory=list)  # unanswered at as_of, past N calendar days
    recent_posts: dict[int, list[PostFacts]] = field(default_factory=dict)  # for accounts sharing a unit and platform
    discoveries: list[DiscoveryFacts] = field(default_factory=list)  # still unmatched
    registry_handles: dict[tuple[str, str], int] = field(default_factory=dict)  # (platform, handle) → account
    registry_names: dict[str, list[tuple[str, int]]] = field(default_factory=dict)  # platform → [(plain name, account)]
    # account → its posts in the content window that the model called off topic or an editor labelled;
    # and how many posts with a verdict it has there in all (on-topic ones are only counted)
    classified_posts: dict[int, list[ClassifiedPost]] = field(default_factory=dict)
    window_posts: dict[int, int] = field(default_factory=dict)
    # The accounts whose own rules this run judges (None: all). An incremental run judges the changed
    # accounts, and sees the rest of their units only for the rules about a unit's accounts together.
    focus: frozenset[int] | None = None

    # what detectors work out from these facts and share, by name (see derived)
    _derived: dict[str, object] = field(default_factory=dict, repr=False, compare=False)

    def judged_accounts(self) -> list[AccountFacts]:
        return self.accounts if self.focus is None else [a for a in self.accounts if a.id in self.focus]

    def derived(self, name: str, work: Callable[[], T]) -> T:
        """`work()`, done once per inspection (the facts do not change once loaded)."""
        if name not in self._derived:
            self._derived[name] = work()
        return self._derived[name]  # type: ignore[return-value]


@dataclass(frozen=True)
class Detection:
    """A problem one detector saw on one subject, with the evidence for it."""

    rule: Rule
    subject: str  # "account:12", "unit:4:wechat", "discovery:9"
    title: str
    evidence: dict
    account_ids: tuple[int, ...] = ()
    unit_id: int | None = None
    region_code: str | None = None
    platform: str | None = None
    severity: Severity | None = None  # the rule's own unless the detector grades it

    @property
    def fingerprint(self) -> str:
        return f"{self.rule.problem}:{self.subject}"

    @property
    def graded_severity(self) -> Severity:
        return self.severity or self.rule.severity


def account_detection(rule: Rule, account: AccountFacts, title: str, evidence: dict, **extra) -> Detection:
    """A detection whose subject is one account."""
    return Detection(
        rule=rule,
        subject=f"account:{account.id}",
        title=title,
        evidence={"account": {"id": account.id, "name": account.name, "platform": account.platform, "handle": account.handle}, **evidence},
        account_ids=(account.id,),
        unit_id=account.unit_id,
        region_code=account.region_code,
        platform=account.platform,
        **extra,
    )
