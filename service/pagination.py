"""Keyset pagination shared by every list: `{"items": [...], "next_cursor": ...}`.

The cursor is the opaque, URL-safe encoding of the last id served, so a page never skips
or repeats rows when rows are added while a client walks the list."""
import base64
from typing import Annotated, Generic, TypeVar

from fastapi import Query
from pydantic import BaseModel
from sqlalchemy import Select

from service.errors import Problem

T = TypeVar("T")

Limit = Annotated[int, Query(ge=1, le=500, description="每页条数（1–500）")]
Cursor = Annotated[str | None, Query(description="上一页返回的 next_cursor")]


class Page(BaseModel, Generic[T]):
    items: list[T]
    next_cursor: str | None


def encode_cursor(last_id: int) -> str:
    return base64.urlsafe_b64encode(f"id:{last_id}".encode()).decode().rstrip("=")


def decode_cursor(cursor: str) -> int:
    try:
        raw = base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4)).decode()
        kind, _, value = raw.partition(":")
        if kind != "id":
            raise ValueError
        return int(value)
    except (ValueError, UnicodeDecodeError):
        raise Problem(422, "cursor 无效：请使用上一页返回的 next_cursor 原样传回") from None


def page_of(session, query: Select, id_column, *, limit: int, cursor: str | None) -> tuple[list, str | None]:
    """One page of `query` ordered by `id_column`, and the cursor of the next page."""
    if cursor:
        query = query.where(id_column > decode_cursor(cursor))
    rows = list(session.scalars(query.order_by(id_column).limit(limit + 1)).unique())
    if len(rows) > limit:
        rows = rows[:limit]
        return rows, encode_cursor(rows[-1].id)
    return rows, None
