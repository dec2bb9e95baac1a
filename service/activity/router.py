from fastapi import APIRouter, Request

from service.activity import service as activity
from service.activity.schemas import ActivityPush, ActivityPushResult
from service.auth import Editor
from service.db import SessionDep
from service.errors import Problem
from service.registry import service as registry

router = APIRouter(prefix="/v1/accounts", tags=["activity"])


@router.post("/{id}/activity", response_model=ActivityPushResult, summary="推送账号动态（帖子与留言）")
def push_activity(id: int, body: ActivityPush, request: Request, session: SessionDep, principal: Editor) -> ActivityPushResult:
    """由其他系统推送某账号的帖子 `posts[]` 与留言 `interactions[]`。

    按 `external_id` 幂等：同一批次重复推送不产生任何变化；内容或时间有变化的帖子会被更新。
    返回新增、更新、未变化的条数。不带时区的时间按北京时间（Asia/Shanghai）理解。"""
    limit = request.app.state.settings.push_max_items
    if len(body.posts) > limit or len(body.interactions) > limit:
        raise Problem(413, f"单次推送最多 {limit} 条帖子和 {limit} 条留言，请分批推送")
    account = registry.get_account(session=session, account_id=id, scope=principal)
    return activity.ingest(session=session, account=account, posts=body.posts, interactions=body.interactions)
