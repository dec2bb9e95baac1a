"""Ingest of activity, shared by pushes and (later) the poller: idempotent by external_id."""
from collections import Counter
from collections.abc import Sequence

from pydantic import BaseModel
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from service.activity.models import Interaction, Post
from service.activity.schemas import ActivityPushResult, IngestCounts, InteractionIn, PostIn
from service.errors import Problem
from service.registry.models import Account

LOOKUP_CHUNK = 500  # keeps IN (...) lists well under every driver's parameter limit


def _check_unique_ids(items: Sequence[BaseModel], what: str) -> None:
    repeated = [eid for eid, n in Counter(item.external_id for item in items).items() if n > 1]
    if repeated:
        shown = "、".join(repeated[:5])
        raise Problem(422, f"同一批次中{what}的 external_id 重复：{shown}", errors=[
            {"field": what, "message": f"external_id 重复：{eid}"} for eid in repeated
        ])


def _upsert(session: Session, model: type[Post] | type[Interaction], account_id: int, items: Sequence[BaseModel]) -> IngestCounts:
    counts = IngestCounts()
    # fields as validated (aware datetimes), not model_dump(), which would render them as text
    by_id = {item.external_id: {name: getattr(item, name) for name in type(item).model_fields} for item in items}
    existing: dict[str, Post | Interaction] = {}
    external_ids = list(by_id)
    for start in range(0, len(external_ids), LOOKUP_CHUNK):
        chunk = external_ids[start : start + LOOKUP_CHUNK]
        query = select(model).where(model.account_id == account_id, model.external_id.in_(chunk))
        existing.update((row.external_id, row) for row in session.scalars(query))
    for external_id, fields in by_id.items():
        row = existing.get(external_id)
        if row is None:
            session.add(model(account_id=account_id, **fields))
            counts.inserted += 1
        elif any(getattr(row, name) != value for name, value in fields.items()):
            for name, value in fields.items():
                setattr(row, name, value)
            counts.updated += 1
        else:
            counts.unchanged += 1
    return counts


def ingest(*, session: Session, account: Account, posts: Sequence[PostIn], interactions: Sequence[InteractionIn]) -> ActivityPushResult:
    """Store posts and interactions of one account; a repeat changes nothing, an edit updates."""
    _check_unique_ids(posts, "posts")
    _check_unique_ids(interactions, "interactions")
    post_counts = _upsert(session, Post, account.id, posts)
    interaction_counts = _upsert(session, Interaction, account.id, interactions)
    session.flush()
    if post_counts.inserted or post_counts.updated:
        # recomputed rather than maxed: an edit may move a post's time backwards
        account.last_post_at = session.scalar(select(func.max(Post.published_at)).where(Post.account_id == account.id))
        session.flush()
    return ActivityPushResult(
        account_id=account.id, posts=post_counts, interactions=interaction_counts, last_post_at=account.last_post_at
    )
