from typing import Annotated

from fastapi import APIRouter, Query, Request, Response, status

from service.alerts import service as alerts
from service.alerts.models import Delivery, DeliveryStatus
from service.alerts.schemas import (
    AttemptRead,
    DeliveryRead,
    RecoverResult,
    SecretRotated,
    SubscriptionCreate,
    SubscriptionCreated,
    SubscriptionRead,
    SubscriptionUpdate,
)
from service.auth import Admin, Reader
from service.clock import Moment
from service.db import SessionDep
from service.pagination import Cursor, Limit, Page, page_of

webhooks = APIRouter(prefix="/v1/webhooks", tags=["webhooks"])
deliveries = APIRouter(prefix="/v1/deliveries", tags=["webhooks"])


def _delivery_reads(session, rows: list[Delivery]) -> list[DeliveryRead]:
    attempts = alerts.attempts_of(session=session, delivery_ids=[d.id for d in rows])
    return [
        DeliveryRead(
            id=d.id, subscription_id=d.subscription_id, webhook_id=d.event_id, event_type=d.event_type, status=d.status,
            attempt_count=d.attempt_count, next_attempt_at=d.next_attempt_at, last_status_code=d.last_status_code,
            last_error=d.last_error, delivered_at=d.delivered_at, digest_id=d.digest_id, created_at=d.created_at,
            attempts=[AttemptRead.model_validate(a) for a in attempts[d.id]],
        )  # fmt: skip
        for d in rows
    ]


@webhooks.post("", status_code=status.HTTP_201_CREATED, response_model=SubscriptionCreated, summary="创建告警订阅")
def create_webhook(body: SubscriptionCreate, request: Request, session: SessionDep, principal: Admin) -> SubscriptionCreated:
    """订阅问题告警。请求按 Standard Webhooks 规范签名（请求头 webhook-id、webhook-timestamp、
    webhook-signature）；签名密钥 `secret` 只在此响应中出现一次。指向本机、内网或云主机元数据地址的 URL
    会被拒绝，除非其网段列在 ZW_WEBHOOK_ALLOWED_NETWORKS 中。限定地区的密钥只能订阅本地区的告警。"""
    subscription, secret = alerts.create_subscription(
        session=session, settings=request.app.state.settings, data=body, scope=principal
    )
    return SubscriptionCreated(**SubscriptionRead.of(subscription).__dict__, secret=secret)


@webhooks.get("", response_model=Page[SubscriptionRead], summary="列出告警订阅")
def list_webhooks(session: SessionDep, principal: Reader, limit: Limit = 50, cursor: Cursor = None) -> Page[SubscriptionRead]:
    query = alerts.subscriptions_query(scope=principal)
    rows, next_cursor = page_of(session, query, alerts.Subscription.id, limit=limit, cursor=cursor)
    return Page(items=[SubscriptionRead.of(s) for s in rows], next_cursor=next_cursor)


@webhooks.get("/{id}", response_model=SubscriptionRead, summary="查看告警订阅")
def get_webhook(id: int, session: SessionDep, principal: Reader) -> SubscriptionRead:
    """`status` 为 active（正常）、failing（自 failing_since 起投递失败）或 disabled（见 disabled_reason）。"""
    return SubscriptionRead.of(alerts.get_subscription(session=session, subscription_id=id, scope=principal))


@webhooks.patch("/{id}", response_model=SubscriptionRead, summary="修改、停用或启用告警订阅")
def update_webhook(id: int, body: SubscriptionUpdate, request: Request, session: SessionDep, principal: Admin) -> SubscriptionRead:
    """`enabled: false` 停用（排队中的投递标为失败，可在启用后用 recover 补发）；`enabled: true` 重新启用。"""
    subscription = alerts.update_subscription(
        session=session, settings=request.app.state.settings, subscription_id=id, data=body, scope=principal
    )
    return SubscriptionRead.of(subscription)


@webhooks.delete("/{id}", status_code=status.HTTP_204_NO_CONTENT, response_class=Response, summary="删除告警订阅")
def delete_webhook(id: int, session: SessionDep, principal: Admin) -> Response:
    alerts.delete_subscription(session=session, subscription_id=id, scope=principal)
    return Response(status_code=status.HTTP_204_NO_CONTENT)


@webhooks.post("/{id}/rotate-secret", response_model=SecretRotated, summary="轮换签名密钥")
def rotate_webhook_secret(id: int, request: Request, session: SessionDep, principal: Admin) -> SecretRotated:
    """生成新密钥（仅此一次显示）。此后 24 小时内每个请求带两个 `v1,` 签名（新旧密钥各一），接收方可从容切换。"""
    secret, expires = alerts.rotate_secret(session=session, settings=request.app.state.settings, subscription_id=id, scope=principal)
    return SecretRotated(secret=secret, previous_secret_expires_at=expires)


@webhooks.post("/{id}/test", status_code=status.HTTP_202_ACCEPTED, response_model=DeliveryRead, summary="发送测试消息（ping）")
def test_webhook(id: int, session: SessionDep, principal: Admin) -> DeliveryRead:
    """排队一条 `ping` 事件，由发送器立即发送；结果见投递记录。"""
    delivery = alerts.send_test(session=session, subscription_id=id, scope=principal)
    return _delivery_reads(session, [delivery])[0]


@webhooks.get("/{id}/deliveries", response_model=Page[DeliveryRead], summary="投递记录")
def list_webhook_deliveries(
    id: int,
    session: SessionDep,
    principal: Reader,
    status: DeliveryStatus | None = None,
    event_type: Annotated[str | None, Query(description="事件类型，如 finding.opened")] = None,
    limit: Limit = 50,
    cursor: Cursor = None,
) -> Page[DeliveryRead]:
    """每条投递及其每次尝试：状态码、耗时、错误和响应的前 1 KB。最新的在前。"""
    alerts.get_subscription(session=session, subscription_id=id, scope=principal)
    query = alerts.deliveries_query(subscription_id=id, status=status, event_type=event_type)
    rows, next_cursor = page_of(session, query, Delivery.id, limit=limit, cursor=cursor, descending=True)
    return Page(items=_delivery_reads(session, rows), next_cursor=next_cursor)


@webhooks.post("/{id}/recover", response_model=RecoverResult, summary="补发失败的投递")
def recover_webhook(
    id: int,
    session: SessionDep,
    principal: Admin,
    since: Annotated[Moment, Query(description="补发此时间之后产生的失败投递")],
) -> RecoverResult:
    """把订阅自 `since` 以来失败的投递重新排队，按原 webhook-id 重新发送。"""
    count = alerts.recover(session=session, subscription_id=id, since=since, scope=principal)
    return RecoverResult(requeued=count, since=since)


@deliveries.get("/{id}", response_model=DeliveryRead, summary="查看一次投递")
def get_delivery(id: int, session: SessionDep, principal: Reader) -> DeliveryRead:
    return _delivery_reads(session, [alerts.get_delivery(session=session, delivery_id=id, scope=principal)])[0]


@deliveries.post("/{id}/redeliver", status_code=status.HTTP_202_ACCEPTED, response_model=DeliveryRead, summary="重发一次投递")
def redeliver(id: int, session: SessionDep, principal: Admin) -> DeliveryRead:
    """把已成功或已失败的投递重新排队，使用同一 webhook-id 和同一内容，重新开始重试计划。"""
    delivery = alerts.redeliver(session=session, delivery_id=id, scope=principal)
    return _delivery_reads(session, [delivery])[0]
