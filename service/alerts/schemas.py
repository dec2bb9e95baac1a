from enum import StrEnum
from typing import Annotated

from pydantic import BaseModel, ConfigDict, Field, StringConstraints, field_validator

from service.alerts.models import DeliveryStatus, DisabledReason
from service.clock import Moment
from service.detection.rules import RULES
from service.findings.models import FindingType, Severity
from service.registry.codes import normalize_region_code


class SubscribableEvent(StrEnum):
    finding_opened = "finding.opened"
    finding_escalated = "finding.escalated"
    finding_resolved = "finding.resolved"
    report_published = "report.published"


Url = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=2000)]
Description = Annotated[str, StringConstraints(strip_whitespace=True, max_length=500)]
DigestMinutes = Annotated[int, Field(ge=1, le=1440, description="汇总窗口（分钟）：窗口内的事件合并为一条 findings.digest 发送；为空则逐条发送")]


class SubscriptionFilters(BaseModel):
    """Every given filter must match; an empty or missing one matches everything."""

    model_config = ConfigDict(extra="forbid")

    types: list[FindingType] | None = Field(default=None, description="问题类型")
    rules: list[str] | None = Field(default=None, description="规则代码，如 dormant.zombie_90d", examples=[["dormant.zombie_90d"]])
    severities: list[Severity] | None = None
    region_code: str | None = Field(default=None, description="行政区划代码，按前缀匹配；限定地区的密钥默认为其地区")
    unit_ids: list[int] | None = Field(default=None, description="主办单位编号")

    @field_validator("rules")
    @classmethod
    def _known_rules(cls, value: list[str] | None) -> list[str] | None:
        unknown = [rule for rule in value or [] if rule not in RULES]
        if unknown:
            raise ValueError(f"未知的规则代码：{'、'.join(unknown)}")
        return value

    @field_validator("region_code")
    @classmethod
    def _region(cls, value: str | None) -> str | None:
        return normalize_region_code(value) if value else None


class SubscriptionCreate(BaseModel):
    model_config = ConfigDict(extra="forbid")

    url: Url = Field(description="接收地址（http 或 https）", examples=["https://alerts.example.gov.cn/zombiewatch"])
    event_types: list[SubscribableEvent] = Field(min_length=1, examples=[["finding.opened", "finding.escalated"]])
    filters: SubscriptionFilters = Field(default_factory=SubscriptionFilters)
    description: Description | None = Field(default=None, examples=["省网信办值班系统"])
    digest_minutes: DigestMinutes | None = None


class SubscriptionUpdate(BaseModel):
    model_config = ConfigDict(extra="forbid")

    url: Url | None = None
    event_types: list[SubscribableEvent] | None = Field(default=None, min_length=1)
    filters: SubscriptionFilters | None = None
    description: Description | None = None
    digest_minutes: DigestMinutes | None = None
    enabled: bool | None = Field(default=None, description="false 停用；true 重新启用（清除失败计时）")


class SubscriptionStatus(StrEnum):
    active = "active"  # enabled, last delivery fine
    failing = "failing"  # enabled, deliveries failing since failing_since
    disabled = "disabled"


class SubscriptionRead(BaseModel):
    id: int
    url: str
    description: str | None
    event_types: list[str]
    filters: SubscriptionFilters
    digest_minutes: int | None
    enabled: bool
    status: SubscriptionStatus
    disabled_reason: DisabledReason | None = Field(description="manual 手动停用；gone 接收方返回 410；failing 连续失败超过设定天数")
    disabled_at: Moment | None
    failing_since: Moment | None
    last_success_at: Moment | None
    last_failure_at: Moment | None
    previous_secret_expires_at: Moment | None = Field(description="轮换后旧密钥仍同时签名至此时间")
    created_at: Moment
    updated_at: Moment

    @classmethod
    def of(cls, subscription) -> "SubscriptionRead":
        if not subscription.enabled:
            status = SubscriptionStatus.disabled
        elif subscription.failing_since is not None:
            status = SubscriptionStatus.failing
        else:
            status = SubscriptionStatus.active
        filters = {**(subscription.filters or {}), "region_code": subscription.region_code}
        return cls(
            id=subscription.id, url=subscription.url, description=subscription.description,
            event_types=subscription.event_types, filters=SubscriptionFilters.model_validate(filters),
            digest_minutes=subscription.digest_minutes, enabled=subscription.enabled, status=status,
            disabled_reason=subscription.disabled_reason, disabled_at=subscription.disabled_at,
            failing_since=subscription.failing_since, last_success_at=subscription.last_success_at,
            last_failure_at=subscription.last_failure_at,
            previous_secret_expires_at=subscription.previous_secret_expires_at,
            created_at=subscription.created_at, updated_at=subscription.updated_at,
        )  # fmt: skip


class SubscriptionCreated(SubscriptionRead):
    secret: str = Field(description="签名密钥（whsec_…），仅此一次显示，请妥善保存")


class SecretRotated(BaseModel):
    secret: str = Field(description="新的签名密钥，仅此一次显示")
    previous_secret_expires_at: Moment = Field(description="旧密钥继续同时签名至此时间")


class AttemptRead(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    number: int
    at: Moment
    status_code: int | None
    latency_ms: int | None
    error: str | None
    response_body: str | None = Field(description="接收方响应的前 1 KB")


class DeliveryRead(BaseModel):
    id: int
    subscription_id: int
    webhook_id: str = Field(description="请求头 webhook-id：重试与重发保持不变，接收方据此去重")
    event_type: str
    status: DeliveryStatus
    attempt_count: int
    next_attempt_at: Moment | None
    last_status_code: int | None
    last_error: str | None
    delivered_at: Moment | None
    digest_id: int | None = Field(description="已并入的汇总投递编号（status=digested）")
    created_at: Moment
    attempts: list[AttemptRead]


class RecoverResult(BaseModel):
    requeued: int = Field(description="重新排队发送的失败投递数")
    since: Moment
