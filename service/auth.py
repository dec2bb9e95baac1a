"""API keys, roles and region scope.

Keys are stored only as SHA-256 hashes (they are 256-bit random tokens, so a slow hash
adds nothing). A key may be limited to one region code: it then sees and changes only
units under that region and their accounts."""
import hashlib
import hmac
import secrets
from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum
from typing import Annotated

from fastapi import APIRouter, Depends, Request, status
from fastapi.security import APIKeyHeader
from pydantic import BaseModel, ConfigDict, Field, StringConstraints
from sqlalchemy import CheckConstraint, String, select
from sqlalchemy.orm import Mapped, Session, mapped_column

from service import clock
from service.clock import Moment
from service.db import Base, BigId, SessionDep, UTCDateTime
from service.errors import NotFound, Problem
from service.pagination import Cursor, Limit, Page, page_of
from service.registry.codes import normalize_region_code, region_covers, region_prefix

KEY_PREFIX = "zw_"


class Role(StrEnum):
    reader = "reader"  # reads everything in its scope
    editor = "editor"  # also registry, activity, detection, acknowledging findings
    admin = "admin"  # everything

    @property
    def rank(self) -> int:
        return list(Role).index(self)


class ApiKey(Base):
    __tablename__ = "api_keys"
    __table_args__ = (CheckConstraint("role IN ('reader', 'editor', 'admin')", name="role"),)

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    name: Mapped[str] = mapped_column(String(100))
    key_hash: Mapped[str] = mapped_column(String(64), unique=True)
    prefix: Mapped[str] = mapped_column(String(12))  # shown in lists so a key can be recognised
    role: Mapped[str] = mapped_column(String(10))
    region_code: Mapped[str | None] = mapped_column(String(6))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=clock.now)
    revoked_at: Mapped[datetime | None] = mapped_column(UTCDateTime())


@dataclass(frozen=True)
class Principal:
    """Who is calling: a stored key, or the admin key from ZW_ADMIN_KEY (key_id None)."""

    key_id: int | None
    name: str
    role: Role
    region_code: str | None

    @property
    def region_prefix(self) -> str | None:
        return region_prefix(self.region_code) if self.region_code else None

    def covers(self, region_code: str) -> bool:
        return self.region_code is None or region_covers(self.region_code, region_code)

    def check_region(self, region_code: str) -> None:
        if not self.covers(region_code):
            raise Problem(403, f"本密钥仅限地区 {self.region_code}，无权访问地区 {region_code} 的数据")

    def narrow(self, region_code: str | None) -> str | None:
        """The region a list should cover: the caller's filter inside the key's scope."""
        if self.region_code is None:
            return region_code
        if region_code is None or region_covers(region_code, self.region_code):
            return self.region_code
        self.check_region(region_code)
        return region_code


def hash_key(key: str) -> str:
    return hashlib.sha256(key.encode()).hexdigest()


def create_key(*, session: Session, name: str, role: Role, region_code: str | None) -> tuple[ApiKey, str]:
    """A new key; the plain text is returned here and never again."""
    plain = KEY_PREFIX + secrets.token_urlsafe(32)
    key = ApiKey(name=name, key_hash=hash_key(plain), prefix=plain[:10], role=role, region_code=region_code)
    session.add(key)
    session.flush()
    return key, plain


def revoke_key(*, session: Session, key_id: int) -> ApiKey:
    key = session.get(ApiKey, key_id)
    if key is None:
        raise NotFound("API 密钥")
    if key.revoked_at is None:
        key.revoked_at = clock.now()
    return key


def has_admin_key(*, session: Session) -> bool:
    query = select(ApiKey.id).where(ApiKey.role == Role.admin, ApiKey.revoked_at.is_(None)).limit(1)
    return session.scalar(query) is not None


def authenticate(*, session: Session, presented: str | None, env_admin_key: str | None) -> Principal:
    if not presented:
        raise Problem(401, "缺少 API 密钥：请在请求头 X-API-Key 中提供", headers={"WWW-Authenticate": "ApiKey"})
    if env_admin_key and hmac.compare_digest(presented.encode(), env_admin_key.encode()):
        return Principal(key_id=None, name="ZW_ADMIN_KEY", role=Role.admin, region_code=None)
    key = session.scalar(select(ApiKey).where(ApiKey.key_hash == hash_key(presented)))
    if key is None or key.revoked_at is not None:
        raise Problem(401, "API 密钥无效或已吊销")
    return Principal(key_id=key.id, name=key.name, role=Role(key.role), region_code=key.region_code)


_api_key_header = APIKeyHeader(name="X-API-Key", auto_error=False, description="API 密钥")


def current_principal(
    request: Request, session: SessionDep, presented: Annotated[str | None, Depends(_api_key_header)]
) -> Principal:
    return authenticate(session=session, presented=presented, env_admin_key=request.app.state.settings.admin_key)


def _require(role: Role):
    def dependency(principal: Annotated[Principal, Depends(current_principal)]) -> Principal:
        if principal.role.rank < role.rank:
            raise Problem(403, f"权限不足：此操作需要 {role.value} 角色，当前密钥为 {principal.role.value}")
        return principal

    return dependency


Reader = Annotated[Principal, Depends(_require(Role.reader))]
Editor = Annotated[Principal, Depends(_require(Role.editor))]
Admin = Annotated[Principal, Depends(_require(Role.admin))]


# --- the key-management endpoints -------------------------------------------------------

router = APIRouter(prefix="/v1/apikeys", tags=["apikeys"])


class ApiKeyCreate(BaseModel):
    model_config = ConfigDict(extra="forbid")

    name: Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=100)] = Field(
        examples=["尤溪县网信办只读"]
    )
    role: Role
    region_code: Annotated[str, StringConstraints(strip_whitespace=True)] | None = Field(
        default=None, description="限定地区（行政区划代码）；为空表示不限", examples=["350426"]
    )


class ApiKeyRead(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: int
    name: str
    prefix: str
    role: Role
    region_code: str | None
    created_at: Moment
    revoked_at: Moment | None


class ApiKeyCreated(ApiKeyRead):
    key: str = Field(description="完整密钥，仅此一次显示，请妥善保存")


@router.post("", status_code=status.HTTP_201_CREATED, response_model=ApiKeyCreated, summary="创建 API 密钥")
def create_api_key(body: ApiKeyCreate, session: SessionDep, principal: Admin) -> ApiKeyCreated:
    """创建一个新密钥。完整密钥只在此响应中出现一次；服务只保存其哈希。
    限定地区的管理员只能创建其地区之内的密钥。"""
    region_code = None
    if body.region_code:
        try:
            region_code = normalize_region_code(body.region_code)
        except ValueError as error:
            raise Problem(422, str(error), errors=[{"field": "region_code", "message": str(error)}]) from None
    if principal.region_code and (region_code is None or not principal.covers(region_code)):
        raise Problem(403, f"本密钥仅限地区 {principal.region_code}，只能创建该地区之内的密钥")
    key, plain = create_key(session=session, name=body.name, role=body.role, region_code=region_code)
    return ApiKeyCreated(**ApiKeyRead.model_validate(key).model_dump(), key=plain)


@router.get("", response_model=Page[ApiKeyRead], summary="列出 API 密钥")
def list_api_keys(session: SessionDep, _: Admin, limit: Limit = 50, cursor: Cursor = None) -> Page[ApiKeyRead]:
    rows, next_cursor = page_of(session, select(ApiKey), ApiKey.id, limit=limit, cursor=cursor)
    return Page(items=[ApiKeyRead.model_validate(r) for r in rows], next_cursor=next_cursor)


@router.delete("/{id}", response_model=ApiKeyRead, summary="吊销 API 密钥")
def revoke_api_key(id: int, session: SessionDep, principal: Admin) -> ApiKeyRead:
    key = session.get(ApiKey, id)
    if key is not None and principal.region_code and not principal.covers(key.region_code or ""):
        raise Problem(403, "无权吊销本地区之外的密钥")
    return ApiKeyRead.model_validate(revoke_key(session=session, key_id=id))
