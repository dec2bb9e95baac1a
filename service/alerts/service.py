"""Subscriptions and their delivery log. `scope` is the caller: a region-scoped key manages only
subscriptions limited to its region (a subscription's region is its `filters.region_code`)."""
from datetime import datetime, timedelta

from sqlalchemy import Select, select, update
from sqlalchemy.orm import Session

from service import clock
from service.alerts import outbox, signing, targets
from service.alerts.dispatcher import disable_subscription
from service.alerts.models import Attempt, Delivery, DeliveryStatus, DisabledReason, Subscription
from service.alerts.schemas import SubscriptionCreate, SubscriptionFilters, SubscriptionUpdate
from service.auth import Principal
from service.config import Settings
from service.errors import NotFound, Problem
from service.registry.codes import region_covers, region_prefix
from service.registry.models import Unit


def _check_url(url: str, settings: Settings) -> str:
    try:
        targets.check_url(url, allowed_cidrs=settings.webhook_allowed_networks)
    except targets.TargetRefused as refused:
        raise Problem(422, f"订阅地址不可用：{refused}", errors=[{"field": "url", "message": str(refused)}]) from None
    return url.strip()


def _scoped_filters(*, session: Session, filters: SubscriptionFilters, scope: Principal) -> tuple[dict, str | None]:
    """The stored filters and the subscription's region, inside the caller's region."""
    region_code = filters.region_code
    if scope.region_code:
        if region_code is None:
            region_code = scope.region_code
        elif not scope.covers(region_code):
            raise Problem(403, f"本密钥仅限地区 {scope.region_code}，不能订阅地区 {region_code} 的告警")
    for unit_id in filters.unit_ids or []:
        unit = session.get(Unit, unit_id)
        if unit is None:
            raise Problem(422, f"主办单位 {unit_id} 不存在", errors=[{"field": "filters.unit_ids", "message": f"{unit_id} 不存在"}])
        scope.check_region(unit.region_code)
        if region_code and not region_covers(region_code, unit.region_code):
            raise Problem(422, f"主办单位 {unit_id} 不在订阅地区 {region_code} 之内",
                          errors=[{"field": "filters.unit_ids", "message": "单位不在订阅地区之内"}])  # fmt: skip
    stored = filters.model_dump(exclude={"region_code"}, exclude_none=True, mode="json")
    return stored, region_code


def create_subscription(*, session: Session, settings: Settings, data: SubscriptionCreate, scope: Principal) -> tuple[Subscription, str]:
    """A new subscription and its secret in plain text, which is returned here and never again."""
    url = _check_url(data.url, settings)
    filters, region_code = _scoped_filters(session=session, filters=data.filters, scope=scope)
    secret = signing.new_secret()
    subscription = Subscription(
        url=url, description=data.description, event_types=[e.value for e in data.event_types], filters=filters,
        region_code=region_code, digest_minutes=data.digest_minutes, enabled=True,
        secret_encrypted=signing.SecretBox(settings.webhook_secret_key).seal(secret), created_by=scope.name,
    )  # fmt: skip
    session.add(subscription)
    session.flush()
    return subscription, secret


def subscriptions_query(*, scope: Principal) -> Select:
    query = select(Subscription)
    if scope.region_code:
        query = query.where(Subscription.region_code.startswith(region_prefix(scope.region_code)))
    return query


def get_subscription(*, session: Session, subscription_id: int, scope: Principal) -> Subscription:
    subscription = session.get(Subscription, subscription_id)
    if subscription is None:
        raise NotFound(f"订阅 {subscription_id} ")
    if scope.region_code and not (subscription.region_code and scope.covers(subscription.region_code)):
        raise Problem(403, f"本密钥仅限地区 {scope.region_code}，无权管理该订阅")
    return subscription


def update_subscription(*, session: Session, settings: Settings, subscription_id: int, data: SubscriptionUpdate, scope: Principal) -> Subscription:
    subscription = get_subscription(session=session, subscription_id=subscription_id, scope=scope)
    changes = data.model_dump(exclude_unset=True)
    if changes.get("url") is not None:
        subscription.url = _check_url(data.url, settings)
    if changes.get("event_types") is not None:
        subscription.event_types = [e.value for e in data.event_types]
    if "filters" in changes and data.filters is not None:
        subscription.filters, subscription.region_code = _scoped_filters(session=session, filters=data.filters, scope=scope)
    if "description" in changes:
        subscription.description = data.description
    if "digest_minutes" in changes:
        if subscription.digest_minutes and not data.digest_minutes:
            # Leaving digest mode: what was waiting for the window goes out one by one now.
            _release_held(session, subscription.id)
        subscription.digest_minutes = data.digest_minutes
    if data.enabled is True and not subscription.enabled:
        subscription.enabled, subscription.disabled_reason, subscription.disabled_at = True, None, None
        subscription.failing_since = None
    elif data.enabled is False and subscription.enabled:
        session.flush()
        disable_subscription(session=session, subscription_id=subscription.id, reason=DisabledReason.manual, now=clock.now())
        session.refresh(subscription)
    session.flush()
    return subscription


def _release_held(session: Session, subscription_id: int) -> None:
    session.execute(
        update(Delivery).where(Delivery.subscription_id == subscription_id, Delivery.status == DeliveryStatus.held)
        .values(status=DeliveryStatus.pending, next_attempt_at=clock.now())
        .execution_options(synchronize_session=False)
    )  # fmt: skip


def delete_subscription(*, session: Session, subscription_id: int, scope: Principal) -> None:
    session.delete(get_subscription(session=session, subscription_id=subscription_id, scope=scope))
    session.flush()


def rotate_secret(*, session: Session, settings: Settings, subscription_id: int, scope: Principal) -> tuple[str, datetime]:
    """A new secret; the old one keeps signing alongside for ZW_WEBHOOK_SECRET_OVERLAP_HOURS so the
    receiver can switch without losing a message."""
    subscription = get_subscription(session=session, subscription_id=subscription_id, scope=scope)
    box = signing.SecretBox(settings.webhook_secret_key)
    secret = signing.new_secret()
    expires = clock.now() + timedelta(hours=settings.webhook_secret_overlap_hours)
    subscription.previous_secret_encrypted = subscription.secret_encrypted
    subscription.previous_secret_expires_at = expires
    subscription.secret_encrypted = box.seal(secret)
    session.flush()
    return secret, expires


def send_test(*, session: Session, subscription_id: int, scope: Principal) -> Delivery:
    subscription = get_subscription(session=session, subscription_id=subscription_id, scope=scope)
    if not subscription.enabled:
        raise Problem(409, "订阅已停用：请先启用再发送测试消息")
    return outbox.enqueue_ping(session=session, subscription=subscription)


# --- the delivery log --------------------------------------------------------------------------


def deliveries_query(*, subscription_id: int, status: DeliveryStatus | None = None, event_type: str | None = None) -> Select:
    query = select(Delivery).where(Delivery.subscription_id == subscription_id)
    if status is not None:
        query = query.where(Delivery.status == status)
    if event_type is not None:
        query = query.where(Delivery.event_type == event_type)
    return query


def attempts_of(*, session: Session, delivery_ids: list[int]) -> dict[int, list[Attempt]]:
    found: dict[int, list[Attempt]] = {d: [] for d in delivery_ids}
    if delivery_ids:
        query = select(Attempt).where(Attempt.delivery_id.in_(delivery_ids)).order_by(Attempt.delivery_id, Attempt.number, Attempt.id)
        for attempt in session.scalars(query):
            found[attempt.delivery_id].append(attempt)
    return found


def get_delivery(*, session: Session, delivery_id: int, scope: Principal) -> Delivery:
    delivery = session.get(Delivery, delivery_id)
    if delivery is None:
        raise NotFound(f"投递 {delivery_id} ")
    get_subscription(session=session, subscription_id=delivery.subscription_id, scope=scope)
    return delivery


def _requeue(delivery: Delivery) -> None:
    # A fresh round of the retry schedule, under the same webhook-id.
    delivery.status = DeliveryStatus.pending
    delivery.round_attempts = 0
    delivery.next_attempt_at = clock.now()
    delivery.leased_until = None
    delivery.lease_holder = None


def redeliver(*, session: Session, delivery_id: int, scope: Principal) -> Delivery:
    delivery = get_delivery(session=session, delivery_id=delivery_id, scope=scope)
    subscription = session.get(Subscription, delivery.subscription_id)
    if not subscription.enabled:
        raise Problem(409, "订阅已停用：请先启用再重发")
    if delivery.status in (DeliveryStatus.pending, DeliveryStatus.held):
        raise Problem(409, "该投递尚在排队发送中，无需重发")
    if delivery.status == DeliveryStatus.digested:
        raise Problem(409, f"该事件已并入汇总投递 {delivery.digest_id} 发送：请重发该汇总投递")
    _requeue(delivery)
    session.flush()
    return delivery


def recover(*, session: Session, subscription_id: int, since: datetime, scope: Principal) -> int:
    """Queue again every failed delivery of the subscription created since `since`."""
    subscription = get_subscription(session=session, subscription_id=subscription_id, scope=scope)
    if not subscription.enabled:
        raise Problem(409, "订阅已停用：请先启用再恢复发送")
    failed = session.scalars(
        select(Delivery).where(Delivery.subscription_id == subscription_id, Delivery.status == DeliveryStatus.failed,
                               Delivery.created_at >= since)
    ).all()  # fmt: skip
    for delivery in failed:
        _requeue(delivery)
    session.flush()
    return len(failed)
