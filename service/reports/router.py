from datetime import date
from enum import StrEnum
from typing import Annotated

from fastapi import APIRouter, Depends, Query, Request, Response, status
from sqlalchemy.orm import Session

from service.auth import Editor, Principal, Reader
from service.clock import Moment
from service.db import SessionDep
from service.errors import NotFound, Problem
from service.pagination import Cursor, Limit, Page, page_of
from service.registry.codes import normalize_region_code
from service.registry.models import Platform
from service.reports import bulletin, exports, periods, sampling
from service.reports import service as reports
from service.reports.models import PublishedReport, Sample
from service.reports.schemas import (
    Bulletin,
    InspectionReport,
    PublishedDetail,
    PublishedRead,
    PublishRequest,
    SampleCreate,
    SampleDetail,
    SampleRead,
)

router = APIRouter(prefix="/v1/reports", tags=["reports"])


Table = StrEnum("Table", {key: key for key in exports.TABLE_KEYS})  # the report's tables, as exports names them


class ExportFormat(StrEnum):
    csv = "csv"
    xlsx = "xlsx"


XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"


def _region(principal: Principal, region_code: str | None) -> str | None:
    if region_code:
        try:
            region_code = normalize_region_code(region_code)
        except ValueError as error:
            raise Problem(422, str(error), errors=[{"field": "region_code", "message": str(error)}]) from None
    return principal.narrow(region_code)


def _period(period: str | None, first: date | None = None, last: date | None = None) -> periods.Period:
    try:
        return periods.resolve(period=period, first=first, last=last)
    except ValueError as error:
        raise Problem(422, str(error), errors=[{"field": "period", "message": str(error)}]) from None


class ReportParams:
    """What names a report: its period (or from/to), the time point, and its scope."""

    def __init__(
        self,
        period: Annotated[str | None, Query(description="检查周期：2020Q2、2020H1、2020-06 或 2020", examples=["2020Q2"])] = None,
        first: Annotated[date | None, Query(alias="from", description="自定义周期的开始日期（含）")] = None,
        last: Annotated[date | None, Query(alias="to", description="自定义周期的结束日期（含）")] = None,
        region_code: Annotated[str | None, Query(description="只统计该地区（行政区划代码，按前缀）")] = None,
        platform: Platform | None = None,
        sample_id: Annotated[int | None, Query(description="按抽查样本计算；默认全面检查")] = None,
        as_of: Annotated[Moment | None, Query(description="监测时间点；默认为周期末")] = None,
        run_id: Annotated[int | None, Query(description="指定作为依据的检测记录；默认取周期内监测时间点及以前最近一次全量检测")] = None,
    ):
        self.period, self.first, self.last = period, first, last
        self.region_code, self.platform, self.sample_id, self.as_of, self.run_id = region_code, platform, sample_id, as_of, run_id

    def report(self, *, session: Session, request: Request, principal: Principal) -> reports.Report:
        return reports.inspection_report(
            session=session, settings=request.app.state.settings, period=_period(self.period, self.first, self.last),
            as_of=self.as_of, region_code=_region(principal, self.region_code),
            platform=self.platform.value if self.platform else None, sample_id=self.sample_id, run_id=self.run_id,
        )  # fmt: skip


Params = Annotated[ReportParams, Depends()]


def _json(content: dict, status_code: int = 200) -> Response:
    # Reports are built as plain dicts shaped as InspectionReport (a report over 100,000
    # accounts has tens of thousands of rows): written as they are, not re-validated.
    return Response(reports.to_json(content), status_code=status_code, media_type="application/json")


@router.get("/inspection", response_model=InspectionReport, summary="检查报告：合格率、抽查率、问题与整改")
def inspection(request: Request, session: SessionDep, principal: Reader, params: Params) -> Response:
    """在周期的监测时间点（默认周期末）按地区、单位和平台统计登记数、检查数、合格数、不合格数、
    合格率（合格 ÷ 检查）和抽查率（检查 ÷ 登记），列出问题类型与规则、不合格账号及原因，
    与上一周期比较，并列出未整改问题和连续两期未整改、纳入年度绩效考评的单位。
    依据的是周期内监测时间点及以前最近一次全量检测当时的问题；没有这样的检测时返回 409，说明如何补做。"""
    return _json(params.report(session=session, request=request, principal=principal))


def _bulletin(report: reports.Report, markdown: str | None = None) -> Bulletin:
    markdown = markdown or bulletin.markdown(report)
    return Bulletin(title=report["title"], period=report["period"]["label"], time_point=report["time_point"], markdown=markdown,
                    html=bulletin.html(markdown, report["title"]))  # fmt: skip


@router.get("/inspection/bulletin", response_model=Bulletin, summary="通报草稿（Markdown 与 HTML）")
def inspection_bulletin(request: Request, session: SessionDep, principal: Reader, params: Params) -> Bulletin:
    """按通报的体例生成草稿：总体情况与各类账号合格率，每类问题一段、以“单位“账号””点名，
    以及整改情况和纳入年度绩效考评的单位。供工作人员修改后印发。"""
    return _bulletin(params.report(session=session, request=request, principal=principal))


def _export(report: reports.Report, format: ExportFormat, table: Table, name: str) -> Response:
    if format == ExportFormat.xlsx:
        return Response(exports.to_xlsx(report), media_type=XLSX, headers={"Content-Disposition": f"attachment; filename={name}.xlsx"})
    return Response(exports.to_csv(report, table.value), media_type="text/csv; charset=utf-8",
                    headers={"Content-Disposition": f"attachment; filename={name}-{table.value}.csv"})  # fmt: skip


EXPORT_RESPONSES = {200: {"content": {"text/csv": {}, XLSX: {}}, "description": "CSV（UTF-8 带 BOM，一张表）或 XLSX（每张表一个工作表），中文表头"}}
HTML_RESPONSES = {200: {"content": {"text/html": {}}, "description": "可打印的 HTML 页面，内嵌 SVG 图，无外部脚本和字体"}}


@router.get("/inspection/export", summary="导出检查报告（CSV / XLSX）", response_class=Response, responses=EXPORT_RESPONSES)
def export_inspection(
    request: Request, session: SessionDep, principal: Reader, params: Params,
    format: ExportFormat = ExportFormat.xlsx, table: Annotated[Table, Query(description="CSV 导出哪张表")] = Table.units,
) -> Response:  # fmt: skip
    report = params.report(session=session, request=request, principal=principal)
    return _export(report, format, table, f"inspection-{report['period']['label']}")


@router.get("/inspection/view", summary="检查报告网页（含各地区合格率图）", response_class=Response, responses=HTML_RESPONSES)
def view_inspection(request: Request, session: SessionDep, principal: Reader, params: Params) -> Response:
    report = params.report(session=session, request=request, principal=principal)
    return Response(exports.to_html(report), media_type="text/html; charset=utf-8")


@router.post("/inspection/publish", status_code=status.HTTP_201_CREATED, response_model=PublishedDetail, summary="发布检查报告")
def publish_inspection(request: Request, session: SessionDep, principal: Editor, body: PublishRequest) -> Response:
    """计算并冻结报告（数字、通报草稿、所依据的监测时间点和检测记录），此后不再改变；
    向订阅者发送 `report.published`，并为纳入年度绩效考评的单位的未整改问题发送 `finding.escalated`。
    同一周期、时间点和范围只能发布一次。"""
    params = ReportParams(period=body.period, region_code=body.region_code, platform=body.platform, sample_id=body.sample_id,
                          as_of=body.as_of, run_id=body.run_id)  # fmt: skip
    report = params.report(session=session, request=request, principal=principal)
    published = reports.publish(session=session, report=report, bulletin_markdown=bulletin.markdown(report), published_by=principal.name)
    return _json(_published_detail(published), status.HTTP_201_CREATED)


@router.get("/published", response_model=Page[PublishedRead], summary="已发布的报告")
def list_published(session: SessionDep, principal: Reader, limit: Limit = 50, cursor: Cursor = None) -> Page[PublishedRead]:
    query = reports.published_reports(session=session, region_code=principal.region_code)
    rows, next_cursor = page_of(session, query, PublishedReport.id, limit=limit, cursor=cursor, descending=True)
    return Page(items=[PublishedRead.model_validate(r) for r in rows], next_cursor=next_cursor)


def _published(session: Session, principal: Principal, id: int) -> tuple[PublishedReport, reports.Report]:
    published = reports.get_published(session=session, report_id=id, region_code=principal.region_code)
    return published, published.content


def _published_detail(published: PublishedReport) -> dict:
    return {**PublishedRead.model_validate(published).model_dump(mode="json"), "report": published.content,
            "bulletin_markdown": published.bulletin_markdown}  # fmt: skip


@router.get("/published/{id}", response_model=PublishedDetail, summary="查看已发布的报告")
def get_published(id: int, session: SessionDep, principal: Reader) -> Response:
    published, _ = _published(session, principal, id)
    return _json(_published_detail(published))


@router.get("/published/{id}/bulletin", response_model=Bulletin, summary="已发布报告的通报")
def published_bulletin(id: int, session: SessionDep, principal: Reader) -> Bulletin:
    published, report = _published(session, principal, id)
    return _bulletin(report, published.bulletin_markdown)


@router.get("/published/{id}/export", summary="导出已发布的报告（CSV / XLSX）", response_class=Response, responses=EXPORT_RESPONSES)
def export_published(
    id: int, session: SessionDep, principal: Reader, format: ExportFormat = ExportFormat.xlsx, table: Table = Table.units
) -> Response:
    _, report = _published(session, principal, id)
    return _export(report, format, table, f"inspection-{report['period']['label']}-published-{id}")


@router.get("/published/{id}/view", summary="已发布报告的网页", response_class=Response, responses=HTML_RESPONSES)
def view_published(id: int, session: SessionDep, principal: Reader) -> Response:
    published, report = _published(session, principal, id)
    return Response(exports.to_html(report, published.bulletin_markdown), media_type="text/html; charset=utf-8")


@router.post("/samples", status_code=status.HTTP_201_CREATED, response_model=SampleDetail, summary="抽取抽查样本")
def create_sample(session: SessionDep, principal: Editor, body: SampleCreate) -> SampleDetail:
    """按比例 `rate` 或数量 `size` 抽取样本，按地区或平台分层；区级主号、市级部门主号（`level=main`）必定入样。
    相同种子、相同登记库抽出相同账号。报告可用 `sample_id` 按样本计算。"""
    sample = sampling.draw(
        session=session, period=_period(body.period), seed=body.seed, strata=body.strata, rate=body.rate, size=body.size,
        region_code=_region(principal, body.region_code), created_by=principal.name,
    )  # fmt: skip
    return SampleDetail(**SampleRead.model_validate(sample).model_dump(), account_ids=sampling.members(session=session, sample_id=sample.id))


@router.get("/samples/{id}", response_model=SampleDetail, summary="查看抽查样本")
def get_sample(id: int, session: SessionDep, principal: Reader) -> SampleDetail:
    sample = session.get(Sample, id)
    if sample is None:
        raise NotFound(f"抽查样本 {id} ")
    if principal.region_code and not (sample.region_code and principal.covers(sample.region_code)):
        raise Problem(403, f"本密钥仅限地区 {principal.region_code}，无权查看该样本")
    return SampleDetail(**SampleRead.model_validate(sample).model_dump(), account_ids=sampling.members(session=session, sample_id=id))
