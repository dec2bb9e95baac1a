"""One settings class for the whole service; every field is read from a `ZW_` variable."""
from functools import lru_cache
from ipaddress import ip_network
from datetime import time
from typing import Annotated, Literal

from pydantic import Field, field_validator, model_validator
from pydantic_settings import BaseSettings, NoDecode, SettingsConfigDict

DEFAULT_DATABASE_URL = "sqlite:///./data/zombiewatch.db"
DEVELOPMENT_WEBHOOK_SECRET_KEY = "development-only-webhook-secret-key"


class Settings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="ZW_", extra="ignore")

    environment: Literal["development", "production"] = "development"
    database_url: str = DEFAULT_DATABASE_URL
    admin_key: str | None = Field(default=None, repr=False)
    scheduler_enabled: bool = True
    log_level: str = "INFO"

    # Registry import
    import_max_bytes: int = 20 * 1024 * 1024
    # Activity push: the most posts (and interactions) one request may carry
    push_max_items: int = 5000

    # Detection thresholds (DOMAIN.md gives the sources; the detection issue uses them)
    dormant_days: int = 14  # 国办秘函〔2019〕19号: 监测时间点前2周内无更新
    zombie_days: int = 90  # 僵尸账号: more than 3 months without an update
    reply_working_days: int = 5  # simple public enquiries answered within 5 working days
    stop_notice_working_days: int = 15  # a stop-update notice stays up 15 working days
    # Jaccard of character 5-shingles. Measured in tests/detection/test_near_identical.py: re-posted
    # copies score 0.79–1.0, different posts of one template at most 0.34.
    near_identical_similarity: float = 0.6
    near_identical_min_posts: int = 3  # near-identical posts before two accounts count as one
    content_window_days: int = 30  # how far back content rules look before the time point
    detection_daily_at: time = time(2, 0)  # the scheduled daily run, Asia/Shanghai
    detection_tick_minutes: int = 10  # how often each replica checks whether the daily run is due
    detection_lease_minutes: int = 60  # a replica that dies mid-run frees the daily run after this

    # Off-topic classifier (service/detection/classifier): measured in bench/classify.py
    classifier_backend: Literal["transparent", "semantic", "combined"] = "transparent"
    classifier_dir: str = "./data/classifier"  # where `zombiewatch classifier train` writes model files
    classifier_threshold: float = 0.5  # score (probability of off_topic) from which a text is off_topic
    classifier_unsure_margin: float = 0.25  # combined: scores within this of 0.5 get the semantic second opinion
    classify_max_texts: int = 1000  # texts in one POST /v1/classify
    classify_max_chars: int = 20000  # longer texts are refused (the model reads the first 2,000 characters)
    off_topic_min_score: float = 0.7  # off_topic.posts counts a post from this score (a human label always counts)

    # Inspection reports: the single-veto (单项否决) rules that make an account unqualified.
    # "rule" or "rule@severity" (that severity or higher), e.g. serious off-topic only.
    report_single_veto_rules: Annotated[list[str], NoDecode] = [
        "dormant.no_update_14d", "dormant.zombie_90d", "dormant.never_posted",
        "unresponsive.overdue_replies", "off_topic.posts@high",
    ]  # fmt: skip

    @field_validator("report_single_veto_rules")
    @classmethod
    def _check_veto_rules(cls, value: list[str]) -> list[str]:
        for entry in value:
            rule, _, severity = entry.partition("@")
            if not rule or (severity and severity not in ("low", "medium", "high")):
                raise ValueError(f"ZW_REPORT_SINGLE_VETO_RULES: {entry!r} is not 'rule' or 'rule@low|medium|high'")
        return value

    # Polling and webhook knobs (the polling and webhook issues use them)
    poll_interval_minutes: int = 60
    poll_tick_seconds: int = 60  # how often each replica looks for accounts due for polling
    poll_batch_size: int = 200  # accounts claimed (leased) at a time
    poll_concurrency: int = 50  # requests in flight per replica
    poll_per_host_concurrency: int = 10  # requests in flight to one host (one RSSHub serves many feeds)
    poll_connect_timeout_seconds: float = 10.0
    poll_read_timeout_seconds: float = 30.0
    poll_max_bytes: int = 5 * 1024 * 1024  # larger responses are cut off and recorded as errors
    poll_max_redirects: int = 5
    poll_backoff_max_minutes: int = 24 * 60  # failing sources back off exponentially up to this
    poll_lease_seconds: int = 300  # a replica killed mid-pass frees its accounts after this
    poll_json_max_pages: int = 20  # pages of a JSON activity source read in one poll
    # Passes of this many due accounts or more parse and save in a worker process of their own,
    # so the fetch loop keeps a core (service/activity/worker.py); 0: always in the pass's process
    poll_worker_from_accounts: int = 1000
    # ...and fetch in a helper process beside the pass's own fetch loop, on a second core, within
    # the same limits (service/activity/fetching.py); 0: never. Machines of one core never do.
    poll_fetch_helper_from_accounts: int = 1000
    poll_user_agent: str = "zombiewatch/1.0 (government new-media supervision; feed poller)"
    webhook_allowed_networks: Annotated[list[str], NoDecode] = []
    # Webhook alerts (service/alerts): the Standard Webhooks retry schedule, seconds after the
    # previous attempt (immediately, 5 s, 5 min, 30 min, 2 h, 5 h, 10 h, 10 h), each ±jitter
    webhook_retry_seconds: Annotated[list[int], NoDecode] = [0, 5, 300, 1800, 7200, 18000, 36000, 36000]
    webhook_retry_jitter: float = 0.2
    webhook_retry_after_max_seconds: int = 24 * 3600  # a receiver's Retry-After is honoured up to this
    webhook_timeout_seconds: float = 15.0
    webhook_disable_after_days: int = 5  # a subscription failing this long is disabled
    webhook_secret_overlap_hours: int = 24  # after a rotation the old secret keeps signing this long
    webhook_tick_seconds: float = 2.0  # how often each replica looks for due deliveries
    webhook_batch_size: int = 200  # deliveries claimed (leased) at a time
    webhook_concurrency: int = 50  # requests in flight per replica
    webhook_lease_seconds: int = 120  # a replica killed mid-send frees its deliveries after this
    webhook_digest_max_events: int = 5000  # events gathered into one findings.digest at most
    # Encrypts subscription secrets at rest (any string; a key is derived from it)
    webhook_secret_key: str = Field(default=DEVELOPMENT_WEBHOOK_SECRET_KEY, repr=False)
    public_base_url: str = ""  # e.g. https://zombiewatch.example.gov.cn; links in webhook payloads

    @field_validator("webhook_allowed_networks", "webhook_retry_seconds", "report_single_veto_rules", mode="before")
    @classmethod
    def _comma_separated(cls, value: object) -> object:
        # Lists come from the environment as "a,b,c"; pydantic then checks each item's type.
        if isinstance(value, str):
            return [part.strip() for part in value.split(",") if part.strip()]
        return value

    @field_validator("webhook_allowed_networks")
    @classmethod
    def _check_networks(cls, value: list[str]) -> list[str]:
        for network in value:
            ip_network(network, strict=False)  # raises ValueError on a bad CIDR
        return value

    @model_validator(mode="after")
    def _refuse_unsafe_secrets(self) -> "Settings":
        # A guessable admin key is tolerable on a laptop, never in production.
        if self.environment == "production" and self.admin_key is not None and len(self.admin_key) < 24:
            raise ValueError("ZW_ADMIN_KEY must be at least 24 characters in production")
        if self.environment == "production" and self.webhook_secret_key == DEVELOPMENT_WEBHOOK_SECRET_KEY:
            raise ValueError("ZW_WEBHOOK_SECRET_KEY must be set in production (it encrypts webhook secrets)")
        return self

    @property
    def is_sqlite(self) -> bool:
        return self.database_url.startswith("sqlite")


@lru_cache
def get_settings() -> Settings:
    return Settings()
