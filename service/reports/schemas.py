from decimal import Decimal
from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, Field, PlainSerializer, model_validator

from service.clock import Moment
from service.findings.models import FindingType, Severity
from service.registry.models import Platform

# Percentages print as bulletins print them: a number with two decimals (86.87), not a string.
Percent = Annotated[Decimal, PlainSerializer(float, return_type=float, when_used="json")]


class Figures(BaseModel):
    registered: int = Field(description="登记账号数")
    checked: int = Field(description="检查账号数")
    qualified: int = Field(description="合格账号数")
    unqualified: int = Field(description="不合格账号数（命中单项否决规则）")
    pass_rate: Percent | None = Field(description="合格率（%）= 合格 ÷ 检查，两位小数；未检查时为空")
    spot_check_rate: Percent | None = Field(description="抽查率（%）= 检查 ÷ 登记，两位小数")


class Compared(Figures):
    previous: Figures | None = Field(default=None, description="上一周期的同口径数字；上一周期无检测记录时为空")
    pass_rate_change: Percent | None = Field(default=None, description="合格率较上一周期的变化（百分点）")


class RegionFigures(Compared):
    region_code: str
    region_name: str | None


class UnitFigures(Compared):
    unit_id: int
    unit_name: str
    region_code: str
    not_rectified: int = Field(default=0, description="上期已发现、本期仍未解决的问题数")
    annual_review: bool = Field(default=False, description="连续两期有未整改问题，纳入年度绩效考评")


class KindFigures(Compared):
    platform: Platform
    platform_label: str


class Failure(BaseModel):
    type: FindingType
    type_label: str
    rule: str | None = None
    rule_title: str | None = None
    findings: int = Field(description="问题数")
    accounts: int = Field(description="涉及账号数")


class Reason(BaseModel):
    finding_id: int
    rule: str
    rule_title: str
    severity: Severity
    title: str


class UnqualifiedAccount(BaseModel):
    account_id: int
    name: str
    platform: Platform
    unit_id: int
    unit_name: str
    region_code: str
    reasons: list[Reason]


class ReportFinding(BaseModel):
    """A finding that held at the time point, as the bulletin names it."""

    finding_id: int
    type: FindingType
    rule: str
    rule_title: str
    severity: Severity
    title: str
    unit_id: int | None
    unit_name: str | None
    region_code: str | None
    platform: str | None
    accounts: list[dict] = Field(description="[{account_id, name, platform}]")
    first_seen: Moment
    single_veto: bool


class NotRectified(BaseModel):
    finding_id: int
    rule: str
    rule_title: str
    title: str
    unit_id: int | None
    unit_name: str | None
    account_names: list[str]
    first_seen: Moment


class ReviewUnit(BaseModel):
    unit_id: int
    unit_name: str
    region_code: str
    periods: list[str] = Field(description="连续未整改的周期")
    finding_ids: list[int]


class PeriodRead(BaseModel):
    label: str
    name: str
    kind: Literal["quarter", "half", "month", "year", "range"]
    start: Moment
    end: Moment
    time_point: Moment


class RunRef(BaseModel):
    id: int
    as_of: Moment
    started_at: Moment
    region_code: str | None


class InspectionReport(BaseModel):
    title: str
    period: PeriodRead
    time_point: Moment = Field(description="监测时间点：报告所依据的检测的 as_of")
    run: RunRef = Field(description="报告所依据的检测记录")
    previous_period: PeriodRead
    previous_run: RunRef | None
    coverage: Literal["full", "sample"]
    sample_id: int | None
    region_code: str | None
    platform: Platform | None
    single_veto_rules: list[str]
    totals: Compared
    kinds: list[KindFigures] = Field(description="按平台（账号类型）")
    regions: list[RegionFigures]
    units: list[UnitFigures]
    failures_by_type: list[Failure]
    failures_by_rule: list[Failure]
    unqualified_accounts: list[UnqualifiedAccount]
    findings: list[ReportFinding]
    not_rectified: list[NotRectified]
    annual_review_units: list[ReviewUnit]
    notes: list[str] = Field(description="口径说明")


class SampleCreate(BaseModel):
    model_config = ConfigDict(extra="forbid")

    period: str = Field(examples=["2020Q2"], description="检查周期：2020Q2、2020H1、2020-06 或 2020")
    rate: float | None = Field(default=None, gt=0, le=1, description="抽查比例（0–1），与 size 二选一", examples=[0.1])
    size: int | None = Field(default=None, ge=1, description="抽查账号数，与 rate 二选一")
    seed: str = Field(min_length=1, max_length=100, description="随机种子：相同种子、相同登记库抽出相同账号", examples=["2020Q2-天津"])
    strata: Literal["region", "platform"] = Field(default="region", description="分层：按地区或按平台等比例抽取")
    region_code: str | None = Field(default=None, description="只在该地区内抽取")

    @model_validator(mode="after")
    def _rate_or_size(self) -> "SampleCreate":
        if (self.rate is None) == (self.size is None):
            raise ValueError("rate 与 size 必须且只能给出一个")
        return self


class SampleRead(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: int
    period: str
    region_code: str | None
    rate: float | None
    size: int | None
    seed: str
    strata: str
    population: int = Field(description="抽样总体（登记在册、未关闭的账号）")
    drawn: int = Field(description="抽中账号数（含主号）")
    main_accounts: int = Field(description="其中必查的主号数")
    created_by: str | None
    created_at: Moment


class SampleDetail(SampleRead):
    account_ids: list[int]


class PublishRequest(BaseModel):
    model_config = ConfigDict(extra="forbid")

    period: str | None = Field(default=None, examples=["2020Q2"])
    region_code: str | None = None
    platform: Platform | None = None
    sample_id: int | None = None
    as_of: Moment | None = None
    run_id: int | None = None


class PublishedRead(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: int
    period: str
    time_point: Moment
    run_id: int | None
    region_code: str | None
    platform: str | None
    sample_id: int | None
    title: str
    published_by: str | None
    published_at: Moment


class PublishedDetail(PublishedRead):
    report: InspectionReport
    bulletin_markdown: str


class Bulletin(BaseModel):
    title: str
    period: str
    time_point: Moment
    markdown: str
    html: str
