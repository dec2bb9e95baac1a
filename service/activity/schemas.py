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
