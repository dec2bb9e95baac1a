"""One settings class for the whole service; every field is read from a `ZW_` variable."""
from functools import lru_cache
from ipaddress import ip_network
from typing import Annotated, Literal

from pydantic import Field, field_validator, model_validator
from pydantic_settings import BaseSettings, NoDecode, SettingsConfigDict

DEFAULT_DATABASE_URL = "sqlite:///./data/zombiewatch.db"


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

    # Polling and webhook knobs (the polling and webhook issues use them)
    poll_interval_minutes: int = 60
    webhook_allowed_networks: Annotated[list[str], NoDecode] = []

    @field_validator("webhook_allowed_networks", mode="before")
    @classmethod
    def _split_networks(cls, value: object) -> object:
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
        return self

    @property
    def is_sqlite(self) -> bool:
        return self.database_url.startswith("sqlite")


@lru_cache
def get_settings() -> Settings:
    return Settings()
