"""Registry operations. `scope` is the caller (its region limits what it may see or
change); None means unrestricted, as for the CLI."""
from collections import defaultdict

from sqlalchemy import Select, delete, or_, select
from sqlalchemy.orm import Session

from service import clock
from service.auth import Principal
from service.errors import NotFound, Problem
from service.registry.codes import region_prefix
from service.registry.models import Account, Discovery, Unit
from service.registry.schemas import (
    AccountCreate,
    AccountUpdate,
    DiscoveryIn,
    DiscoveryResult,
    Source,
    UnitCreate,
    UnitUpdate,
)


def _check_scope(scope: Principal | None, region_code: str) -> None:
    if scope is not None:
        scope.check_region(region_code)


def _narrow(scope: Principal | None, region_code: str | None) -> str | None:
    return scope.narrow(region_code) if scope is not None else region_code


# --- units ---------------------------------------------------------------------------------


def get_unit(*, session: Session, unit_id: int, scope: Principal | None) -> Unit:
    unit = session.get(Unit, unit_id)
    if unit is None:
        raise NotFound(f"主办单位 {unit_id} ")
    _check_scope(scope, unit.region_code)
    return unit


def units_query(
    *,
    scope: Principal | None,
    region_code: str | None = None,
    parent_id: int | None = None,
    credit_code: str | None = None,
    q: str | None = None,
) -> Select:
    query = select(Unit)
    region = _narrow(scope, region_code)
    if region:
        query = query.where(Unit.region_code.startswith(region_prefix(region)))
    if parent_id is not None:
        query = query.where(Unit.parent_id == parent_id)
    if credit_code:
        query = query.where(Unit.credit_code == credit_code.strip().upper())
    if q:
        query = query.where(Unit.name.contains(q.strip(), autoescape=True))
    return query


def _unit_by_credit_code(session: Session, credit_code: str) -> Unit | None:
    return session.scalar(select(Unit).where(Unit.credit_code == credit_code))


def _check_parent(session: Session, parent_id: int | None, unit_id: int | None = None) -> None:
    # The parent may lie outside a scoped key's region: a county bureau's parent is the city's.
    if parent_id is None:
        return
    if parent_id == unit_id:
        raise Problem(422, "上级单位不能是单位自身", errors=[{"field": "parent_id", "message": "不能指向自身"}])
    if session.get(Unit, parent_id) is None:
        raise Problem(422, f"上级单位 {parent_id} 不存在", errors=[{"field": "parent_id", "message": "上级单位不存在"}])


def _check_credit_code_free(session: Session, credit_code: str | None, unit_id: int | None = None) -> None:
    if credit_code is None:
        return
    holder = _unit_by_credit_code(session, credit_code)
    if holder is not None and holder.id != unit_id:
        raise Problem(409, f"统一社会信用代码 {credit_code} 已登记为单位「{holder.name}」（id {holder.id}）", unit_id=holder.id)


def create_unit(*, session: Session, data: UnitCreate, scope: Principal | None) -> Unit:
    _check_scope(scope, data.region_code)
    _check_parent(session, data.parent_id)
    _check_credit_code_free(session, data.credit_code)
    unit = Unit(**data.model_dump())
    session.add(unit)
    session.flush()
    return unit


def update_unit(*, session: Session, unit_id: int, data: UnitUpdate, scope: Principal | None) -> Unit:
    unit = get_unit(session=session, unit_id=unit_id, scope=scope)
    changes = data.model_dump(exclude_unset=True)
    for required in ("name", "region_code"):
        if required in changes and changes[required] is None:
            raise Problem(422, f"{required} 不能为空", errors=[{"field": required, "message": "不能为空"}])
    if "region_code" in changes:
        _check_scope(scope, changes["region_code"])
    if "parent_id" in changes:
        _check_parent(session, changes["parent_id"], unit_id=unit.id)
    if "credit_code" in changes:
        _check_credit_code_free(session, changes["credit_code"], unit_id=unit.id)
    for field, value in changes.items():
        setattr(unit, field, value)
    session.flush()
    return unit


# --- accounts ------------------------------------------------------------------------------


def get_account(*, session: Session, account_id: int, scope: Principal | None) -> Account:
    account = session.get(Account, account_id)
    if account is None:
        raise NotFound(f"账号 {account_id} ")
    _check_scope(scope, account.unit.region_code)
    return account


def accounts_query(
    *,
    scope: Principal | None,
    platform: str | None = None,
    unit_id: int | None = None,
    region_code: str | None = None,
    status: str | None = None,
    level: str | None = None,
    filed: bool | None = None,
    name: str | None = None,
    q: str | None = None,
) -> Select:
    query = select(Account)
    region = _narrow(scope, region_code)
    if region:
        query = query.join(Account.unit).where(Unit.region_code.startswith(region_prefix(region)))
    for column, value in (
        (Account.platform, platform),
        (Account.unit_id, unit_id),
        (Account.status, status),
        (Account.level, level),
        (Account.filed, filed),
    ):
        if value is not None:
            query = query.where(column == value)
    if name:
        query = query.where(Account.name.contains(name.strip(), autoescape=True))
    if q:
        needle = q.strip()
        query = query.where(
            or_(Account.name.contains(needle, autoescape=True), Account.handle.contains(needle, autoescape=True))
        )
    return query


def _unit_for_account(session: Session, unit_id: int, scope: Principal | None) -> Unit:
    unit = session.get(Unit, unit_id)
    if unit is None:
        raise Problem(422, f"主办单位 {unit_id} 不存在", errors=[{"field": "unit_id", "message": "主办单位不存在"}])
    _check_scope(scope, unit.region_code)
    return unit


def _check_handle_free(session: Session, platform: str, handle: str, account_id: int | None = None) -> None:
    holder = session.scalar(select(Account).where(Account.platform == platform, Account.handle == handle))
    if holder is not None and holder.id != account_id:
        raise Problem(
            409, f"平台 {platform} 上的账号 {handle} 已登记为「{holder.name}」（id {holder.id}）", account_id=holder.id
        )


def _source_columns(source: Source | None) -> dict:
    return {"source_kind": source.kind.value if source else None, "source_url": source.url if source else None}


def create_account(*, session: Session, data: AccountCreate, scope: Principal | None) -> Account:
    _unit_for_account(session, data.unit_id, scope)
    _check_handle_free(session, data.platform, data.handle)
    account = Account(**data.model_dump(exclude={"source"}), **_source_columns(data.source))
    session.add(account)
    session.flush()
    return account


def update_account(*, session: Session, account_id: int, data: AccountUpdate, scope: Principal | None) -> Account:
    account = get_account(session=session, account_id=account_id, scope=scope)
    changes = data.model_dump(exclude_unset=True, exclude={"source"})
    for field, value in changes.items():
        if value is None:
            raise Problem(422, f"{field} 不能为空", errors=[{"field": field, "message": "不能为空"}])
    if "unit_id" in changes:
        _unit_for_account(session, changes["unit_id"], scope)
    if "platform" in changes or "handle" in changes:
        _check_handle_free(
            session, changes.get("platform", account.platform), changes.get("handle", account.handle), account.id
        )
    for field, value in changes.items():
        setattr(account, field, value)
    if "source" in data.model_fields_set:
        for field, value in _source_columns(data.source).items():
            setattr(account, field, value)
    session.flush()
    session.refresh(account)  # reload the unit relationship after a unit change
    return account


def delete_account(*, session: Session, account_id: int, scope: Principal | None) -> None:
    from service.activity.models import Post
    from service.detection.classifier.models import PostClassification  # the classifier imports the registry

    account = get_account(session=session, account_id=account_id, scope=scope)
    # its posts and interactions go with it (ON DELETE CASCADE); their verdicts have no key to cascade by
    session.execute(delete(PostClassification).where(PostClassification.post_id.in_(select(Post.id).where(Post.account_id == account.id))))
    session.delete(account)
    session.flush()


# --- discoveries --------------------------------------------------------------------------


def report_discoveries(*, session: Session, items: list[DiscoveryIn], scope: Principal | None, reporter: str) -> list[DiscoveryResult]:
    """Store what other systems saw on the platforms and say which are registered."""
    from service.detection.facts import DiscoveryFacts
    from service.detection.unregistered import match_discovery

    for item in items:
        if item.region_code:
            _check_scope(scope, item.region_code)
        elif scope is not None and scope.region_code:
            raise Problem(422, "限定地区的密钥报告发现的账号时须填写 region_code", errors=[{"field": "region_code", "message": "必填"}])
    platforms = sorted({item.platform.value for item in items})
    handles: dict[tuple[str, str], int] = {}
    names: dict[str, list[tuple[str, int]]] = defaultdict(list)
    for account_id, platform, handle, name in session.execute(
        select(Account.id, Account.platform, Account.handle, Account.name).where(Account.platform.in_(platforms))
    ):
        handles[(platform, handle)] = account_id
        names[platform].append((name, account_id))
    results = []
    for item in items:
        seen_at = item.seen_at or clock.now()
        discovery = session.scalar(select(Discovery).where(
            Discovery.platform == item.platform, Discovery.name == item.name,
            Discovery.handle.is_(None) if item.handle is None else Discovery.handle == item.handle,
        ))  # fmt: skip
        if discovery is None:
            discovery = Discovery(platform=item.platform, handle=item.handle, name=item.name, seen_at=seen_at)
            session.add(discovery)
        discovery.url = item.url or discovery.url
        discovery.region_code = item.region_code or discovery.region_code
        discovery.reported_by = reporter
        discovery.seen_at = min(discovery.seen_at, seen_at)
        session.flush()
        facts = DiscoveryFacts(discovery.id, discovery.platform, discovery.handle, discovery.name, discovery.url,
                               discovery.region_code, discovery.seen_at)  # fmt: skip
        match = match_discovery(facts, handles, names)
        results.append(DiscoveryResult(
            discovery_id=discovery.id, platform=discovery.platform, handle=discovery.handle, name=discovery.name,
            matched_account_id=match[0] if match else None, match=match[1] if match else None,
            score=match[2] if match else None,
        ))  # fmt: skip
    return results
