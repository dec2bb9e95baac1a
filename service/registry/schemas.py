from typing import Annotated, Literal

from pydantic import AfterValidator, BaseModel, ConfigDict, Field, StringConstraints, model_validator

from service.clock import Moment
from service.registry.codes import normalize_credit_code, normalize_region_code
from service.registry.models import Account, AccountStatus, Level, Platform, SourceKind

Name = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=200)]
Handle = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=200)]
RegionCode = Annotated[str, AfterValidator(normalize_region_code), Field(examples=["350426"])]
CreditCode = Annotated[
    str, AfterValidator(normalize_credit_code), Field(description="18 位统一社会信用代码（GB 32100-2015，含校验位）")
]


class Source(BaseModel):
    """Where the account's activity comes from: an RSS/Atom feed, a JSON activity API, or
    pushes from another system (no URL)."""

    kind: SourceKind
    url: Annotated[str, StringConstraints(strip_whitespace=True, max_length=2000)] | None = None

    @model_validator(mode="after")
    def _url_fits_kind(self) -> "Source":
        if self.kind == SourceKind.push:
            if self.url:
                raise ValueError("push 类型的数据源不需要 url")
            self.url = None
        elif not self.url or not self.url.lower().startswith(("http://", "https://")):
            raise ValueError(f"{self.kind.value} 类型的数据源需要 http 或 https 开头的 url")
        return self


class UnitCreate(BaseModel):
    model_config = ConfigDict(extra="forbid")

    name: Name = Field(examples=["尤溪县公安局"])
    region_code: RegionCode
    region_name: Annotated[str, StringConstraints(strip_whitespace=True, max_length=100)] | None = Field(
        default=None, examples=["福建省三明市尤溪县"]
    )
    parent_id: int | None = None
    credit_code: CreditCode | None = None


class UnitUpdate(BaseModel):
    model_config = ConfigDict(extra="forbid")

    name: Name | None = None
    region_code: RegionCode | None = None
    region_name: Annotated[str, StringConstraints(strip_whitespace=True, max_length=100)] | None = None
    parent_id: int | None = None
    credit_code: CreditCode | None = None


class UnitRead(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: int
    name: str
    region_code: str
    region_name: str | None
    parent_id: int | None
    credit_code: str | None
    created_at: Moment
    updated_at: Moment


class AccountCreate(BaseModel):
    model_config = ConfigDict(extra="forbid")

    platform: Platform
    name: Name = Field(examples=["尤溪警察蜀黍"])
    handle: Handle = Field(description="平台上的账号标识（微信号、微博 UID 等），同一平台内唯一", examples=["yxjcss"])
    unit_id: int
    level: Level = Level.sub
    filed: bool = Field(default=True, description="是否已登记备案")
    status: AccountStatus = AccountStatus.active
    source: Source | None = None


class AccountUpdate(BaseModel):
    model_config = ConfigDict(extra="forbid")

    platform: Platform | None = None
    name: Name | None = None
    handle: Handle | None = None
    unit_id: int | None = None
    level: Level | None = None
    filed: bool | None = None
    status: AccountStatus | None = None
    source: Source | None = None


class SourceStatus(BaseModel):
    state: Literal["none", "push", "pending", "ok", "failing"] = Field(
        description="none 未配置数据源；push 由其他系统推送；pending 尚未抓取；ok 正常；failing 抓取失败中"
    )
    last_polled_at: Moment | None = None
    failing_since: Moment | None = None
    consecutive_failures: int = 0
    last_error: str | None = None


class AccountRead(BaseModel):
    id: int
    platform: Platform
    name: str
    handle: str
    unit_id: int
    unit_name: str
    region_code: str
    level: Level
    filed: bool
    status: AccountStatus
    source: Source | None
    last_post_at: Moment | None
    source_status: SourceStatus
    created_at: Moment
    updated_at: Moment

    @classmethod
    def of(cls, account: Account) -> "AccountRead":
        return cls(
            id=account.id,
            platform=account.platform,
            name=account.name,
            handle=account.handle,
            unit_id=account.unit_id,
            unit_name=account.unit.name,
            region_code=account.unit.region_code,
            level=account.level,
            filed=account.filed,
            status=account.status,
            source=Source.model_construct(kind=SourceKind(account.source_kind), url=account.source_url)
            if account.source_kind
            else None,
            last_post_at=account.last_post_at,
            source_status=source_status(account),
            created_at=account.created_at,
            updated_at=account.updated_at,
        )


def source_status(account: Account) -> SourceStatus:
    if account.source_kind is None:
        state = "none"
    elif account.source_kind == SourceKind.push:
        state = "push"
    elif account.source_failures:
        state = "failing"
    elif account.source_last_polled_at is None:
        state = "pending"
    else:
        state = "ok"
    return SourceStatus(
        state=state,
        last_polled_at=account.source_last_polled_at,
        failing_since=account.source_failing_since,
        consecutive_failures=account.source_failures,
        last_error=account.source_last_error,
    )


class ImportRowError(BaseModel):
    row: int = Field(description="表格中的行号（表头为第 1 行）")
    field: str | None
    message: str


class ImportResult(BaseModel):
    rows: int
    accounts_created: int
    accounts_updated: int
    accounts_unchanged: int
    units_created: int



class DiscoveryIn(BaseModel):
    """An account another system saw on a platform."""

    model_config = ConfigDict(extra="forbid")

    platform: Platform
    handle: Handle | None = None
    name: Name = Field(examples=["投资汕尾"])
    url: Annotated[str, StringConstraints(strip_whitespace=True, max_length=2000)] | None = None
    region_code: RegionCode | None = Field(default=None, description="账号所属地区（已知时）")
    seen_at: Moment | None = Field(default=None, description="发现时间，默认为现在")


class DiscoveryBatch(BaseModel):
    model_config = ConfigDict(extra="forbid")

    items: list[DiscoveryIn] = Field(min_length=1, max_length=5000)


class DiscoveryResult(BaseModel):
    discovery_id: int
    platform: Platform
    handle: str | None
    name: str
    matched_account_id: int | None = Field(description="匹配到的已登记账号；为空表示未登记，检测时将产生 unregistered.discovered 问题")
    match: Literal["handle", "name"] | None
    score: float | None = Field(description="名称相似度（0–100）")
