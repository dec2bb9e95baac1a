from fastapi import APIRouter, Request

from service.activity import poller
from service.activity import service as activity
from service.activity.schemas import (
    ActivityPush, ActivityPushResult, PollRunCreate, PollRunResult, PollScheduleRead, PollScheduleUpdate,
)  # fmt: skip
from service.auth import Admin, Editor, Reader
from service.db import SessionDep
from service.errors import Problem
from service.registry import service as registry

router = APIRouter(prefix="/v1/accounts", tags=["activity"])
polling = APIRouter(prefix="/v1/polling", tags=["polling"])


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


@polling.post("/runs", response_model=PollRunResult, summary="立即抓取到期账号的动态")
async def create_poll_run(request: Request, principal: Admin, body: PollRunCreate | None = None) -> PollRunResult:
    """抓取所有到期的 rss/json 账号（`force: true` 时抓取全部启用中的 rss/json 账号，不论是否到期），
    返回抓取账号数、新增与更新的帖子数、无新内容（304）数和失败数。失败原因写入各账号的 `source_status`。
    其他副本正在抓取的账号会被跳过。有动态变化时，对变化的账号增量运行检测。限定地区的密钥只抓取本地区。"""
    body = body or PollRunCreate()
    state = request.app.state
    return await poller.run_pass(
        sessionmaker=state.sessionmaker, settings=state.settings, force=body.force, region_code=principal.region_code
    )


@polling.get("/accounts/{id}", response_model=PollScheduleRead, summary="账号的抓取计划")
def get_poll_schedule(id: int, request: Request, session: SessionDep, principal: Reader) -> PollScheduleRead:
    """下次抓取时间、抓取间隔、条件请求的 ETag / Last-Modified 与租约。数据源健康状况见账号的 `source_status`。"""
    account = registry.get_account(session=session, account_id=id, scope=principal)
    return activity.poll_schedule(session=session, account=account, settings=request.app.state.settings)


@polling.patch("/accounts/{id}", response_model=PollScheduleRead, summary="修改账号的抓取间隔")
def update_poll_schedule(id: int, body: PollScheduleUpdate, request: Request, session: SessionDep, principal: Editor) -> PollScheduleRead:
    """`interval_minutes` 覆盖默认抓取间隔（null 恢复默认）；`poll_now: true` 让下一次定时抓取立即包含该账号。"""
    account = registry.get_account(session=session, account_id=id, scope=principal)
    return activity.update_poll_schedule(session=session, account=account, settings=request.app.state.settings, changes=body)
