import csv
import io
from collections.abc import Iterator
from datetime import datetime
from enum import StrEnum
from typing import Annotated

from fastapi import APIRouter, Depends, Query
from fastapi.responses import StreamingResponse
from sqlalchemy import select

from service.auth import Editor, Reader
from service.clock import Moment, to_beijing_iso
from service.db import SessionDep
from service.findings import service as findings
from service.findings.models import Finding, FindingStatus, FindingType, Severity
from service.findings.schemas import (
    SEVERITY_LABELS,
    STATUS_LABELS,
    TYPE_LABELS,
    FindingAction,
    FindingDetail,
    FindingEventRead,
    FindingRead,
)
from service.pagination import Cursor, Limit, Page, page_of
from service.registry.models import Account, Platform, Unit

router = APIRouter(prefix="/v1/findings", tags=["findings"])


class SortOrder(StrEnum):
    id = "id"
    newest = "-id"
    first_seen = "first_seen"
    first_seen_desc = "-first_seen"
    last_seen = "last_seen"
    last_seen_desc = "-last_seen"
    severity = "severity"
    severity_desc = "-severity"


SORT_COLUMNS = {"id": None, "first_seen": Finding.first_seen, "last_seen": Finding.last_seen, "severity": Finding.severity_rank}


class Filters:
    """The filters every findings read shares: the list and the CSV export."""

    def __init__(
        self,
        type: FindingType | None = None,
        status: FindingStatus | None = None,
        unit_id: int | None = None,
        account_id: int | None = None,
        region_code: Annotated[str | None, Query(description="行政区划代码，按前缀匹配")] = None,
        severity: Severity | None = None,
        rule: Annotated[str | None, Query(description="规则代码，如 dormant.zombie_90d")] = None,
        platform: Platform | None = None,
        since: Annotated[Moment | None, Query(description="只看此时间之后仍被发现的问题（last_seen）")] = None,
    ):
        self.values = {
            "type": type, "status": status, "unit_id": unit_id, "account_id": account_id, "region_code": region_code,
            "severity": severity, "rule": rule, "platform": platform, "since": since,
        }  # fmt: skip




@router.get("", response_model=Page[FindingRead], summary="查询问题")
def list_findings(
    session: SessionDep,
    principal: Reader,
    filters: Annotated[Filters, Depends()],
    sort: SortOrder = SortOrder.id,
    limit: Limit = 50,
    cursor: Cursor = None,
) -> Page[FindingRead]:
    """按类型、状态、单位、账号、地区（前缀）、严重程度、规则、平台和时间筛选问题；
    `sort` 可按 id、首次/最近发现时间或严重程度排序（前缀 `-` 为倒序）。"""
    query = findings.findings_query(scope=principal, **filters.values)
    descending = sort.value.startswith("-")
    rows, next_cursor = page_of(
        session, query, Finding.id, limit=limit, cursor=cursor,
        sort_column=SORT_COLUMNS[sort.value.lstrip("-")], descending=descending,
    )  # fmt: skip
    return Page(items=[FindingRead.of(f) for f in rows], next_cursor=next_cursor)


EXPORT_HEADERS = ["编号", "问题类型", "规则", "严重程度", "状态", "主办单位", "地区代码", "平台", "账号", "问题描述", "依据", "首次发现", "最近发现"]


@router.get(
    "/export.csv",
    summary="导出问题（CSV）",
    response_class=StreamingResponse,
    responses={200: {"content": {"text/csv": {}}, "description": "UTF-8（带 BOM，Excel 可直接打开）的 CSV，中文表头"}},
)
def export_findings(session: SessionDep, principal: Reader, filters: Annotated[Filters, Depends()]) -> StreamingResponse:
    """按与列表相同的筛选条件导出全部问题，表头为中文，供办公室直接用 Excel 打开。"""
    query = findings.findings_query(scope=principal, **filters.values).order_by(Finding.id)
    rows = list(session.scalars(query))
    account_names = _names(session, Account, {a for f in rows for a in f.account_ids})
    unit_names = _names(session, Unit, {f.unit_id for f in rows if f.unit_id})

    def lines() -> Iterator[str]:
        buffer = io.StringIO()
        writer = csv.writer(buffer)
        writer.writerow(EXPORT_HEADERS)
        yield "\ufeff" + buffer.getvalue()
        for finding in rows:
            buffer.seek(0)
            buffer.truncate()
            read = FindingRead.of(finding)
            writer.writerow([
                finding.id, TYPE_LABELS[read.type], f"{read.rule_title}（{read.rule}）", SEVERITY_LABELS[read.severity],
                STATUS_LABELS[read.status], unit_names.get(finding.unit_id, ""), finding.region_code or "",
                finding.platform or "", "、".join(account_names.get(a, str(a)) for a in finding.account_ids),
                finding.title, read.source, to_beijing_iso(finding.first_seen), to_beijing_iso(finding.last_seen),
            ])  # fmt: skip
            yield buffer.getvalue()

    stamp = datetime.now().strftime("%Y%m%d")
    return StreamingResponse(
        lines(), media_type="text/csv; charset=utf-8",
        headers={"Content-Disposition": f"attachment; filename=findings-{stamp}.csv"},
    )  # fmt: skip


def _names(session, model, ids: set[int]) -> dict[int, str]:
    names: dict[int, str] = {}
    ordered = sorted(ids)
    for start in range(0, len(ordered), 500):
        chunk = ordered[start : start + 500]
        names.update(session.execute(select(model.id, model.name).where(model.id.in_(chunk))).all())
    return names


def _detail(session, finding: Finding) -> FindingDetail:
    events = findings.history(session=session, finding_id=finding.id)
    return FindingDetail(**FindingRead.of(finding).__dict__, history=[FindingEventRead.model_validate(e) for e in events])


@router.get("/{id}", response_model=FindingDetail, summary="查看问题及其处理历史")
def get_finding(id: int, session: SessionDep, principal: Reader) -> FindingDetail:
    return _detail(session, findings.get_finding(session=session, finding_id=id, scope=principal))


@router.post("/{id}/acknowledge", response_model=FindingDetail, summary="确认问题")
def acknowledge_finding(id: int, session: SessionDep, principal: Editor, body: FindingAction | None = None) -> FindingDetail:
    """把待处理（open）的问题标为已确认，可附说明。问题仍在时检测不会改动其状态。"""
    finding = findings.acknowledge(session=session, finding_id=id, scope=principal, note=body.note if body else None)
    return _detail(session, finding)


@router.post("/{id}/resolve", response_model=FindingDetail, summary="解决问题")
def resolve_finding(id: int, session: SessionDep, principal: Editor, body: FindingAction | None = None) -> FindingDetail:
    """把问题标为已解决，可附说明。若下次检测仍发现该问题，会重新打开并记录重开次数。"""
    finding = findings.resolve(session=session, finding_id=id, scope=principal, note=body.note if body else None)
    return _detail(session, finding)
