"""The FastAPI application factory."""
import logging
from contextlib import asynccontextmanager

from fastapi import FastAPI
from fastapi.routing import APIRoute

from service import auth, errors, observability
from service.activity.router import router as activity_router
from service.config import Settings, get_settings
from service.db import make_engine, make_sessionmaker
from service.registry.router import accounts as accounts_router
from service.registry.router import units as units_router
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
        scheduler = build_scheduler() if settings.scheduler_enabled else None
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
    app.include_router(auth.router)
    return app
