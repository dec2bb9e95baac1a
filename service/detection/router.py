from fastapi import APIRouter, Request, status
from sqlalchemy import select

from service.auth import Editor, Reader
from service.db import SessionDep
from service.detection.models import DetectionRun
from service.detection.rules import RULES
from service.detection.runner import run_detection
from service.detection.schemas import DetectionRunCreate, DetectionRunRead, RuleRead
from service.errors import NotFound
from service.pagination import Cursor, Limit, Page, page_of
from service.registry import service as registry

router = APIRouter(prefix="/v1/detection", tags=["detection"])


@router.post("/runs", status_code=status.HTTP_201_CREATED, response_model=DetectionRunRead, summary="立即运行检测")
def create_run(request: Request, session: SessionDep, principal: Editor, body: DetectionRunCreate | None = None) -> DetectionRunRead:
    """在监测时间点 `as_of`（默认现在）运行全部检测规则，返回按类型和规则的问题数与状态变化。
    同一问题重复检测只更新 `last_seen`，不会重复；不再出现的问题自动解决，再次出现则重新打开。
    限定地区的密钥只检查本地区。"""
    body = body or DetectionRunCreate()
    region_code = principal.narrow(body.region_code)
    if body.unit_id is not None:
        registry.get_unit(session=session, unit_id=body.unit_id, scope=principal)
    run = run_detection(
        session=session, settings=request.app.state.settings, as_of=body.as_of, region_code=region_code,
        unit_id=body.unit_id, incremental=body.incremental, trigger="api", requested_by=principal.name,
    )  # fmt: skip
    return DetectionRunRead.model_validate(run)


@router.get("/runs", response_model=Page[DetectionRunRead], summary="检测记录")
def list_runs(session: SessionDep, _: Reader, limit: Limit = 50, cursor: Cursor = None) -> Page[DetectionRunRead]:
    rows, next_cursor = page_of(session, select(DetectionRun), DetectionRun.id, limit=limit, cursor=cursor, descending=True)
    return Page(items=[DetectionRunRead.model_validate(r) for r in rows], next_cursor=next_cursor)


@router.get("/runs/{id}", response_model=DetectionRunRead, summary="查看一次检测")
def get_run(id: int, session: SessionDep, _: Reader) -> DetectionRunRead:
    run = session.get(DetectionRun, id)
    if run is None:
        raise NotFound(f"检测记录 {id} ")
    return DetectionRunRead.model_validate(run)


@router.get("/rules", response_model=list[RuleRead], summary="检测规则及其依据")
def list_rules(_: Reader) -> list[RuleRead]:
    """每条规则的代码、类型、严重程度、中文标题和依据（文件文号）。"""
    return [RuleRead(**rule.__dict__) for rule in RULES.values()]
