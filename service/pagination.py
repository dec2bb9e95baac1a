"""Keyset pagination shared by every list: `{"items": [...], "next_cursor": ...}`.

The cursor is the opaque, URL-safe encoding of the last row's sort key and id, so a page
never skips or repeats rows when rows are added while a client walks the list."""
import base64
import json
from datetime import datetime
from typing import Annotated, Any, Generic, TypeVar

from fastapi import Query
from pydantic import BaseModel
from sqlalchemy import Select, and_, or_

from service.errors import Problem

T = TypeVar("T")

Limit = Annotated[int, Query(ge=1, le=500, description="每页条数（1–500）")]
Cursor = Annotated[str | None, Query(description="上一页返回的 next_cursor")]


class Page(BaseModel, Generic[T]):
    items: list[T]
    next_cursor: str | None


def _encode(key: Any, last_id: int) -> str:
    value = {"t": key.isoformat()} if isinstance(key, datetime) else {"v": key}
    raw = json.dumps({**value, "id": last_id}, separators=(",", ":"))
    return base64.urlsafe_b64encode(raw.encode()).decode().rstrip("=")


def _decode(cursor: str) -> tuple[Any, int]:
    try:
        data = json.loads(base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4)))
        key = datetime.fromisoformat(data["t"]) if "t" in data else data.get("v")
        return key, int(data["id"])
    except (ValueError, KeyError, TypeError, UnicodeDecodeError):
        raise Problem(422, "cursor 无效：请使用上一页返回的 next_cursor 原样传回") from None


def page_of(
    session, query: Select, id_column, *, limit: int, cursor: str | None, sort_column=None, descending: bool = False
) -> tuple[list, str | None]:
    """One page of `query` ordered by (`sort_column`, id) — or by id alone — and the cursor
    of the next page."""
    key_column = sort_column if sort_column is not None else id_column
    if cursor:
        key, last_id = _decode(cursor)
        if sort_column is None:
            query = query.where(id_column < last_id if descending else id_column > last_id)
        elif descending:
            query = query.where(or_(key_column < key, and_(key_column == key, id_column < last_id)))
        else:
            query = query.where(or_(key_column > key, and_(key_column == key, id_column > last_id)))
    order = [key_column.desc(), id_column.desc()] if descending else [key_column, id_column]
    if sort_column is None:
        order = order[:1]
    rows = list(session.scalars(query.order_by(*order).limit(limit + 1)).unique())
    if len(rows) <= limit:
        return rows, None
    rows = rows[:limit]
    last = rows[-1]
    return rows, _encode(getattr(last, key_column.key), last.id)
