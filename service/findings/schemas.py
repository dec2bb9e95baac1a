from typing import Annotated, Any

from pydantic import BaseModel, ConfigDict, Field, StringConstraints

from service.clock import Moment
from service.detection.rules import RULES
from service.findings.models import Finding, FindingStatus, FindingType, Severity


class FindingRead(BaseModel):
    id: int
    type: FindingType
    rule: str = Field(description="规则代码，如 dormant.no_update_14d")
    rule_title: str
    source: str = Field(description="规则及其依据（文件文号）")
    severity: Severity
    status: FindingStatus
    account_ids: list[int]
    unit_id: int | None
    region_code: str | None
    platform: str | None
    title: str
    evidence: dict[str, Any]
    first_seen: Moment = Field(description="首次发现该问题的监测时间点")
    last_seen: Moment = Field(description="最近一次发现该问题的监测时间点")
    resolved_at: Moment | None
    reopen_count: int
    created_at: Moment
    updated_at: Moment

    @classmethod
    def of(cls, finding: Finding) -> "FindingRead":
        rule = RULES[finding.rule]
        return cls(
            id=finding.id, type=finding.type, rule=finding.rule, rule_title=rule.title, source=rule.description,
            severity=finding.severity, status=finding.status, account_ids=finding.account_ids, unit_id=finding.unit_id,
            region_code=finding.region_code, platform=finding.platform, title=finding.title, evidence=finding.evidence,
            first_seen=finding.first_seen, last_seen=finding.last_seen, resolved_at=finding.resolved_at,
            reopen_count=finding.reopen_count, created_at=finding.created_at, updated_at=finding.updated_at,
        )  # fmt: skip


class FindingEventRead(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    at: Moment
    actor: str
    action: str = Field(description="opened 发现、escalated 升级、deescalated 降级、acknowledged 确认、resolved 解决、reopened 重新出现")
    from_status: FindingStatus | None
    to_status: FindingStatus
    rule: str
    severity: Severity
    note: str | None
    run_id: int | None


class FindingDetail(FindingRead):
    history: list[FindingEventRead]


class FindingAction(BaseModel):
    model_config = ConfigDict(extra="forbid")

    note: Annotated[str, StringConstraints(strip_whitespace=True, max_length=2000)] | None = Field(
        default=None, examples=["已联系主办单位，本周内注销"]
    )




# Chinese words for the codes, for exports and drafts that offices read.
TYPE_LABELS = {
    FindingType.dormant: "内容不更新",
    FindingType.off_topic: "发布与政务无关信息",
    FindingType.duplicate: "账号冗余",
    FindingType.unresponsive: "互动回应差",
    FindingType.unregistered: "未登记备案",
}
STATUS_LABELS = {FindingStatus.open: "待处理", FindingStatus.acknowledged: "已确认", FindingStatus.resolved: "已解决"}
SEVERITY_LABELS = {Severity.low: "低", Severity.medium: "中", Severity.high: "高"}
