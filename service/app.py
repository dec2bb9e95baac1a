"""The FastAPI application factory."""
import logging
from contextlib import asynccontextmanager

from fastapi import FastAPI
from fastapi.routing import APIRoute

from service import auth, errors, observability
from service.activity.router import polling as polling_router
from service.activity.router import router as activity_router
from service.alerts.router import deliveries as deliveries_router
from service.alerts.router import webhooks as webhooks_router
from service.config import Settings, get_settings
from service.db import make_engine, make_sessionmaker
from service.detection.classifier.router import router as classifier_router
from service.detection.router import router as detection_router
from service.findings.router import router as findings_router
from service.registry.router import accounts as accounts_router
from service.registry.router import discoveries as discoveries_router
from service.registry.router import units as units_router
from service.reports.router import router as reports_router
from service.scheduler import build_scheduler

log = logging.getLogger("service.app")

DESCRIPTION = """
**zombiewatch** 持续检查政务新媒体账号：登记备案、动态抓取、僵尸/停更未注销/内容无关/一个单位多号/
留言不回复/未备案等问题的发现与证据、订阅告警和检查通报。

所有 `/v1` 接口需要在请求头 `X-API-Key` 中提供 API 密钥：点击右上角 **Authorize** 填入。
角色：`admin`（全部）、`editor`（登记、动态、检测、确认问题）、`reader`（只读）；
限定地区的密钥只能看到和修改本地区的数据。错误以 `application/problem+json` 返回，`detail` 为中文说明。
列表接口返回 `{"items": [...], "next_cursor": ...}`，把 `next_cursor` 作为 `cursor` 传回即可翻页。
时间均为带时区的 ISO 8601；不带时区的时间按北京时间理解。
"""

TAGS = [
    {"name": "units", "description": "主办单位：名称、行政区划、统一社会信用代码"},
    {"name": "accounts", "description": "政务新媒体账号的登记、查询、修改与批量导入"},
    {"name": "activity", "description": "账号动态：其他系统推送的帖子与留言"},
    {"name": "polling", "description": "动态抓取：按计划抓取 RSS/Atom 与 JSON 数据源；立即抓取；账号的抓取计划"},
    {"name": "detection", "description": "检测：在监测时间点运行全部规则；检测记录；规则及其依据"},
    {"name": "classifier", "description": "内容分类：判断帖子是否与政务工作无关，给出分数与依据；编辑人工标注；当前模型及其指标"},
    {"name": "findings", "description": "问题：每个问题附规则、依据与证据；待处理 → 已确认 → 已解决，再次出现时重新打开"},
    {"name": "discoveries", "description": "其他系统报告在平台上发现的账号，用于发现未登记账号"},
    {"name": "webhooks", "description": "告警订阅：按 Standard Webhooks 签名推送问题的发现、升级与解决；投递记录、重发与补发"},
    {"name": "reports", "description": "检查报告与通报草稿：合格率、抽查率、抽查样本、整改复查、导出与发布"},
    {"name": "apikeys", "description": "API 密钥管理（仅管理员）"},
    {"name": "operations", "description": "运维：存活、就绪与 Prometheus 指标"},
]


def _operation_id(route: APIRoute) -> str:
    return f"{route.tags[0]}-{route.name}" if route.tags else route.name


def create_app(settings: Settings | None = None) -> FastAPI:
    settings = settings or get_settings()
    engine = make_engine(settings.database_url, application_name="zombiewatch-api")

    @asynccontextmanager
    async def lifespan(app: FastAPI):
        scheduler = build_scheduler(app) if settings.scheduler_enabled else None
        app.state.scheduler = scheduler
        if scheduler is not None:
            scheduler.start()
            log.info("scheduler started")
        try:
            yield
        finally:
            if scheduler is not None:
                scheduler.shutdown(wait=False)
            engine.dispose()

    app = FastAPI(
        title="zombiewatch",
        version="1.0.0",
        summary="政务新媒体常态化监测服务",
        description=DESCRIPTION,
        openapi_tags=TAGS,
        lifespan=lifespan,
        generate_unique_id_function=_operation_id,
        swagger_ui_parameters={"persistAuthorization": True},
    )
    app.state.settings = settings
    app.state.engine = engine
    app.state.sessionmaker = make_sessionmaker(engine)

    errors.install(app)
    observability.install(app)
    app.include_router(observability.router)
    app.include_router(units_router)
    app.include_router(accounts_router)
    app.include_router(activity_router)
    app.include_router(polling_router)
    app.include_router(detection_router)
    app.include_router(classifier_router)
    app.include_router(findings_router)
    app.include_router(discoveries_router)
    app.include_router(webhooks_router)
    app.include_router(deliveries_router)
    app.include_router(reports_router)
    app.include_router(auth.router)
    return app
