from typing import Annotated

from pydantic import BaseModel, ConfigDict, Field, StringConstraints, model_validator

from service.clock import Moment

ExternalId = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=300)]


class PostIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    external_id: ExternalId = Field(description="平台上的帖子标识；同一账号内唯一，重复推送按此去重")
    published_at: Moment = Field(description="发布时间；不带时区的时间按北京时间理解")
    title: str | None = None
    text: str = ""
    url: Annotated[str, StringConstraints(strip_whitespace=True, max_length=2000)] | None = None


class InteractionIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    external_id: ExternalId = Field(description="留言或评论的标识；同一账号内唯一")
    received_at: Moment = Field(description="收到留言的时间")
    replied_at: Moment | None = Field(default=None, description="官方回复时间；未回复为 null")
    text: str = ""

    @model_validator(mode="after")
    def _reply_after_message(self) -> "InteractionIn":
        if self.replied_at is not None and self.replied_at < self.received_at:
            raise ValueError("replied_at 早于 received_at：回复不能早于留言")
        return self


class ActivityPush(BaseModel):
    model_config = ConfigDict(extra="forbid")

    posts: list[PostIn] = []
    interactions: list[InteractionIn] = []


class IngestCounts(BaseModel):
    inserted: int = 0
    updated: int = 0
    unchanged: int = 0


class ActivityPushResult(BaseModel):
    account_id: int
    posts: IngestCounts
    interactions: IngestCounts
    last_post_at: Moment | None


class PollRunCreate(BaseModel):
    model_config = ConfigDict(extra="forbid")

    force: bool = Field(default=False, description="为 true 时抓取全部启用中的 rss/json 账号，不论是否到期")


class PollRunResult(BaseModel):
    accounts_polled: int = Field(default=0, description="本次抓取的账号数（含失败）")
    new_posts: int = 0
    updated_posts: int = 0
    new_interactions: int = 0
    updated_interactions: int = 0
    not_modified: int = Field(default=0, description="数据源答复无新内容（HTTP 304）的账号数")
    errors: int = Field(default=0, description="抓取失败的账号数；原因见各账号的 source_status")
    detection_run_id: int | None = Field(default=None, description="有动态变化时，对变化账号增量运行的检测记录")

    def add(self, other: "PollRunResult") -> None:
        for name in type(self).model_fields:
            if name != "detection_run_id":
                setattr(self, name, getattr(self, name) + getattr(other, name))


class PollScheduleRead(BaseModel):
    account_id: int
    source_kind: str | None
    polled: bool = Field(description="是否按计划抓取（启用中且数据源为 rss 或 json）")
    interval_minutes: int | None = Field(description="本账号的抓取间隔；null 表示使用默认值 ZW_POLL_INTERVAL_MINUTES")
    effective_interval_minutes: int
    next_poll_at: Moment | None
    leased_until: Moment | None = Field(description="正在抓取的副本持有到此时；过期后由其他副本接管")
    etag: str | None
    last_modified: str | None
    since: str | None = Field(description="JSON 数据源上次给出的 next_since")
    last_status_code: int | None
    polls: int


class PollScheduleUpdate(BaseModel):
    model_config = ConfigDict(extra="forbid")

    interval_minutes: int | None = Field(
        default=None, ge=5, le=7 * 24 * 60, description="本账号的抓取间隔（分钟，5 至 10080）；null 恢复默认值"
    )
    poll_now: bool = Field(default=False, description="为 true 时把下次抓取时间设为现在")
