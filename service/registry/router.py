from typing import Annotated

from fastapi import APIRouter, Query, Request, Response, status
from starlette.concurrency import run_in_threadpool

from service.auth import Editor, Reader
from service.db import SessionDep
from service.errors import Problem
from service.pagination import Cursor, Limit, Page, page_of
from service.registry import importing
from service.registry import service as registry
from service.registry.models import Account, AccountStatus, Level, Platform, Unit
from service.registry.schemas import (
    AccountCreate,
    AccountRead,
    AccountUpdate,
    DiscoveryBatch,
    DiscoveryIn,
    DiscoveryResult,
    ImportResult,
    UnitCreate,
    UnitRead,
    UnitUpdate,
)

units = APIRouter(prefix="/v1/units", tags=["units"])
discoveries = APIRouter(prefix="/v1/discoveries", tags=["discoveries"])
accounts = APIRouter(prefix="/v1/accounts", tags=["accounts"])

RegionFilter = Annotated[
    str | None, Query(description="行政区划代码，按前缀匹配：350000 含全省，350400 含全市", examples=["350000"])
]


@units.post("", status_code=status.HTTP_201_CREATED, response_model=UnitRead, summary="登记主办单位")
def create_unit(body: UnitCreate, session: SessionDep, principal: Editor) -> UnitRead:
    """登记一个主办单位。`credit_code`（统一社会信用代码）按 GB 32100-2015 校验位检查，
    不同单位不能使用同一代码。"""
    return UnitRead.model_validate(registry.create_unit(session=session, data=body, scope=principal))


@units.get("", response_model=Page[UnitRead], summary="查询主办单位")
def list_units(
    session: SessionDep,
    principal: Reader,
    region_code: RegionFilter = None,
    parent_id: int | None = None,
    credit_code: str | None = None,
    q: Annotated[str | None, Query(description="单位名称包含的文字")] = None,
    limit: Limit = 50,
    cursor: Cursor = None,
) -> Page[UnitRead]:
    query = registry.units_query(scope=principal, region_code=region_code, parent_id=parent_id, credit_code=credit_code, q=q)
    rows, next_cursor = page_of(session, query, Unit.id, limit=limit, cursor=cursor)
    return Page(items=[UnitRead.model_validate(u) for u in rows], next_cursor=next_cursor)


@units.get("/{id}", response_model=UnitRead, summary="查看主办单位")
def get_unit(id: int, session: SessionDep, principal: Reader) -> UnitRead:
    return UnitRead.model_validate(registry.get_unit(session=session, unit_id=id, scope=principal))


@units.patch("/{id}", response_model=UnitRead, summary="修改主办单位")
def update_unit(id: int, body: UnitUpdate, session: SessionDep, principal: Editor) -> UnitRead:
    return UnitRead.model_validate(registry.update_unit(session=session, unit_id=id, data=body, scope=principal))


@accounts.post("", status_code=status.HTTP_201_CREATED, response_model=AccountRead, summary="登记账号")
def create_account(body: AccountCreate, session: SessionDep, principal: Editor) -> AccountRead:
    """登记一个政务新媒体账号。同一平台上 `handle` 唯一，重复登记返回 409。"""
    return AccountRead.of(registry.create_account(session=session, data=body, scope=principal))


@accounts.get("", response_model=Page[AccountRead], summary="查询账号")
def list_accounts(
    session: SessionDep,
    principal: Reader,
    platform: Platform | None = None,
    unit_id: int | None = None,
    region_code: RegionFilter = None,
    status: AccountStatus | None = None,
    level: Level | None = None,
    filed: bool | None = None,
    name: Annotated[str | None, Query(description="账号名称包含的文字")] = None,
    q: Annotated[str | None, Query(description="账号名称或账号ID包含的文字")] = None,
    limit: Limit = 50,
    cursor: Cursor = None,
) -> Page[AccountRead]:
    query = registry.accounts_query(
        scope=principal, platform=platform, unit_id=unit_id, region_code=region_code, status=status,
        level=level, filed=filed, name=name, q=q,
    )
    rows, next_cursor = page_of(session, query, Account.id, limit=limit, cursor=cursor)
    return Page(items=[AccountRead.of(a) for a in rows], next_cursor=next_cursor)


XLSX_TYPE = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"


@accounts.post(
    "/import",
    response_model=ImportResult,
    summary="批量导入账号（CSV 或 XLSX）",
    openapi_extra={
        "requestBody": {
            "required": True,
            "content": {
                "multipart/form-data": {
                    "schema": {"type": "object", "required": ["file"], "properties": {"file": {"type": "string", "format": "binary"}}}
                },
                "text/csv": {"schema": {"type": "string", "format": "binary"}},
                XLSX_TYPE: {"schema": {"type": "string", "format": "binary"}},
            },
        }
    },
)
async def import_accounts(request: Request, session: SessionDep, principal: Editor) -> ImportResult:
    """上传登记表：CSV（UTF-8、带 BOM 的 UTF-8 或 GBK）或 XLSX，可作为 multipart 的 `file` 字段，
    也可直接作为请求体。

    表头可用中文：账号名称、平台（微信公众号/微博/抖音…）、主办单位、统一社会信用代码、地区代码、地区、
    账号ID、级别（主号/子号）、是否备案（是/否）、状态、数据源地址；也可用英文字段名。
    不存在的主办单位会自动创建。**全部成功或全部不写**：任何一行有误即返回 422，列出每一行的行号与原因。
    按 平台 + 账号ID 更新已有账号，重复导入同一文件不产生变化。"""
    limit = request.app.state.settings.import_max_bytes
    if request.headers.get("content-type", "").startswith("multipart/form-data"):
        form = await request.form(max_part_size=limit)
        upload = form.get("file")
        if upload is None or isinstance(upload, str):
            raise Problem(422, "multipart 请求中缺少文件字段 file", errors=[{"field": "file", "message": "必填"}])
        content = await upload.read()
    else:
        content = await request.body()
    if len(content) > limit:
        raise Problem(413, f"文件过大：上限为 {limit // (1024 * 1024)} MB")
    # Parsing and writing block: keep them off the event loop.
    return await run_in_threadpool(importing.import_accounts, session=session, content=content, scope=principal)


@accounts.get("/{id}", response_model=AccountRead, summary="查看账号")
def get_account(id: int, session: SessionDep, principal: Reader) -> AccountRead:
    return AccountRead.of(registry.get_account(session=session, account_id=id, scope=principal))


@accounts.patch("/{id}", response_model=AccountRead, summary="修改账号")
def update_account(id: int, body: AccountUpdate, session: SessionDep, principal: Editor) -> AccountRead:
    """只修改请求中给出的字段；`source` 设为 null 表示取消数据源。"""
    return AccountRead.of(registry.update_account(session=session, account_id=id, data=body, scope=principal))


@accounts.delete("/{id}", status_code=status.HTTP_204_NO_CONTENT, summary="删除账号")
def delete_account(id: int, session: SessionDep, principal: Editor) -> Response:
    """删除错误登记的账号及其动态。账号停办请改用 PATCH 将 `status` 设为 `closed`。"""
    registry.delete_account(session=session, account_id=id, scope=principal)
    return Response(status_code=status.HTTP_204_NO_CONTENT)


@discoveries.post("", response_model=list[DiscoveryResult], summary="报告在平台上发现的账号")
def report_discoveries(body: DiscoveryIn | DiscoveryBatch, session: SessionDep, principal: Editor) -> list[DiscoveryResult]:
    """其他系统报告在平台上看到的政务账号（`platform`、`handle`、`name`、`url`），可单个提交，
    也可 `{"items": [...]}` 批量提交。先按 平台 + 账号ID 匹配登记库，再在同一平台按名称相似度匹配；
    未匹配的账号在下次检测时产生 `unregistered.discovered` 问题。"""
    items = body.items if isinstance(body, DiscoveryBatch) else [body]
    return registry.report_discoveries(session=session, items=items, scope=principal, reporter=principal.name)
