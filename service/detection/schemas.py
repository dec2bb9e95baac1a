from pydantic import BaseModel, ConfigDict, Field

from service.clock import Moment
from service.findings.models import FindingType, Severity
from service.registry.schemas import RegionCode


class DetectionRunCreate(BaseModel):
    model_config = ConfigDict(extra="forbid")

    as_of: Moment | None = Field(
        default=None,
        description="监测时间点：只计入此时或之前的动态，可回放过去的检查；默认为当前时间",
        examples=["2020-06-30T23:59:59+08:00"],
    )
    region_code: RegionCode | None = Field(default=None, description="只检查该地区（按前缀）")
    unit_id: int | None = Field(default=None, description="只检查该单位")
    incremental: bool = Field(default=False, description="只检查上次检测以来动态或登记信息有变化的账号（及其单位）")


class DetectionRunRead(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: int
    as_of: Moment
    region_code: str | None
    unit_id: int | None
    incremental: bool
    trigger: str
    status: str
    started_at: Moment
    finished_at: Moment | None
    accounts_checked: int
    counts: dict = Field(description="本次发现的问题数：by_type 按类型，by_rule 按规则")
    transitions: dict = Field(description="问题状态变化：opened、escalated、deescalated、reopened、resolved、unchanged")
    error: str | None


class RuleRead(BaseModel):
    code: str
    type: FindingType
    severity: Severity
    title: str
    description: str
    single_veto: bool
