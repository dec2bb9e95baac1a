"""Classification as the service offers it: texts on demand, editors' labels, the verdicts of
a detection run's posts (each post classified once per model version and wording), and
what the service can say about the model it uses."""
import hashlib
import json
from collections import defaultdict
from collections.abc import Collection
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import and_, func, not_, or_, select
from sqlalchemy.orm import Session

from service import clock
from service.activity.models import Post
from service.auth import Principal
from service.db import rows_of
from service.detection.classifier.corpus import OFF_TOPIC
from service.detection.classifier.models import PostClassification, PostLabel
from service.detection.classifier.store import ModelStore
from service.detection.classifier.verdicts import Verdict, post_text
from service.detection.facts import ClassifiedPost, PostFacts
from service.errors import NotFound, Problem
from service.registry import service as registry

CHUNK = 500
BATCH = 1000  # texts per model call


def check_texts(texts: list[str], *, max_texts: int, max_chars: int) -> None:
    """Refuses, naming each bad text, an empty or oversized batch, blank texts and texts over max_chars."""
    if not texts:
        raise Problem(422, "texts 不能为空：请至少提供一条文本", errors=[{"field": "texts", "message": "至少一条"}])
    if len(texts) > max_texts:
        raise Problem(422, f"一次最多分类 {max_texts} 条文本，本次 {len(texts)} 条，请分批提交",
                      errors=[{"field": "texts", "message": f"最多 {max_texts} 条"}])  # fmt: skip
    errors = []
    for index, text in enumerate(texts):
        if not text.strip():
            errors.append({"field": f"texts[{index}]", "message": "文本为空或只有空白字符"})
        elif len(text) > max_chars:
            errors.append({"field": f"texts[{index}]", "message": f"文本长 {len(text)} 字，超过上限 {max_chars} 字"})
    if errors:
        raise Problem(422, f"有 {len(errors)} 条文本无法分类：{errors[0]['field']} {errors[0]['message']}", errors=errors)


def classify_texts(*, store: ModelStore, texts: list[str], threshold: float) -> tuple[str, str, list[Verdict]]:
    """(backend, model version, verdicts): one model answers the whole batch, even if a new one lands meanwhile."""
    model = store.current()
    verdicts = [v for start in range(0, len(texts), BATCH) for v in model.classify(texts[start : start + BATCH], threshold=threshold)]
    return model.backend, model.version, verdicts


def digest(text: str) -> str:
    return hashlib.sha1(text.encode("utf-8")).hexdigest()


_VERDICT_COLUMNS = ("post_id", "label", "score", "reasons", "model_version", "text_digest", "classified_at")


def _store_verdicts(session: Session, rows: list[dict]) -> None:
    """Insert or replace: two runs classifying the same post at once must not collide."""
    if not rows:
        return
    if session.get_bind().dialect.name == "postgresql":
        _copy_verdicts(session, rows)
        return
    from sqlalchemy.dialects.sqlite import insert

    statement = insert(PostClassification)
    statement = statement.on_conflict_do_update(index_elements=["post_id"], set_={c: statement.excluded[c] for c in _VERDICT_COLUMNS[1:]})
    for start in range(0, len(rows), CHUNK):
        session.execute(statement, rows[start : start + CHUNK])


def _copy_verdicts(session: Session, rows: list[dict]) -> None:
    """PostgreSQL: COPY into a temporary table, then one INSERT … ON CONFLICT. A first run over a
    registry stores hundreds of thousands of verdicts; row by row that took longer than classifying them."""
    columns = ", ".join(_VERDICT_COLUMNS)
    cursor = session.connection().connection.driver_connection.cursor()  # the session's own transaction
    with cursor:
        cursor.execute("CREATE TEMPORARY TABLE IF NOT EXISTS verdicts_in (LIKE post_classifications) ON COMMIT DELETE ROWS")
        with cursor.copy(f"COPY verdicts_in ({columns}) FROM STDIN") as copy:
            for row in rows:
                reasons = json.dumps(row["reasons"], ensure_ascii=False) if row["reasons"] else "[]"  # on-topic ones have none
                copy.write_row([reasons if c == "reasons" else row[c] for c in _VERDICT_COLUMNS])
        replaced = ", ".join(f"{c} = excluded.{c}" for c in _VERDICT_COLUMNS[1:])
        cursor.execute(f"INSERT INTO post_classifications ({columns}) SELECT {columns} FROM verdicts_in ON CONFLICT (post_id) DO UPDATE SET {replaced}")
        cursor.execute("DELETE FROM verdicts_in")  # a second call in the same transaction starts empty


def human_reason(label: str, labelled_by: str) -> dict:
    verdict = "与政务无关" if label == OFF_TOPIC else "与政务相关"
    return {"kind": "human", "feature": f"编辑 {labelled_by} 标注为{verdict}", "leans": label}


def classified_posts(
    *, session: Session, store: ModelStore, threshold: float, account_ids: Collection[int], since: datetime, until: datetime
) -> tuple[dict[int, int], dict[int, list[ClassifiedPost]]]:
    """For the posts of these accounts published in (since, until]: how many each account has
    with a verdict, and those that are not simply on topic (the model says off topic, or an
    editor labelled them), with their verdicts. Posts the current model has not judged since
    they were last written are classified first, and their verdicts stored.

    A whole registry's window is hundreds of thousands of posts, nearly all judged before and on
    topic: the database counts those, and only the few others come back with their text. A
    verdict is fresh when this model made it after the post was last written (ingest moves
    updated_at on an edit)."""
    model = store.current()
    read_at = clock.now()  # a verdict is as fresh as the text it was given: stamped before reading
    fresh = and_(PostClassification.model_version == model.version, PostClassification.classified_at >= Post.updated_at)
    wanted = set(account_ids)
    in_window = [and_(condition, Post.published_at > since, Post.published_at <= until) for condition in rows_of(Post.account_id, wanted)]

    rows: list[dict] = []
    for condition in in_window:
        stale = (
            select(Post.id, Post.account_id, Post.title, Post.text)
            .outerjoin(PostClassification, PostClassification.post_id == Post.id)
            .where(condition, or_(PostClassification.post_id.is_(None), not_(fresh)))
        )
        texts = [(post_id, wording) for post_id, account_id, title, text in session.execute(stale)
                 if account_id in wanted and (wording := post_text(title, text))]  # fmt: skip
        for start in range(0, len(texts), BATCH):
            batch = texts[start : start + BATCH]
            verdicts = model.classify([wording for _, wording in batch], threshold=threshold, explain_on_topic=False)
            rows.extend(
                {"post_id": post_id, "label": v.label, "score": v.score, "reasons": v.reasons, "model_version": model.version,
                 "text_digest": digest(wording), "classified_at": read_at}
                for (post_id, wording), v in zip(batch, verdicts, strict=True)
            )  # fmt: skip
    _store_verdicts(session, rows)

    judged = or_(PostClassification.post_id.is_not(None), PostLabel.post_id.is_not(None))
    counts: dict[int, int] = {}
    questioned: dict[int, list[ClassifiedPost]] = defaultdict(list)
    for condition in in_window:
        count = (
            select(Post.account_id, func.count())
            .outerjoin(PostClassification, PostClassification.post_id == Post.id)
            .outerjoin(PostLabel, PostLabel.post_id == Post.id)
            .where(condition, judged)
            .group_by(Post.account_id)
        )
        counts.update((account_id, n) for account_id, n in session.execute(count) if account_id in wanted)
        others = (
            select(
                Post.id, Post.account_id, Post.external_id, Post.published_at, Post.title, Post.text, Post.url,
                PostClassification.label, PostClassification.score, PostClassification.reasons, PostClassification.model_version,
                PostLabel.label, PostLabel.labelled_by,
            )
            .outerjoin(PostClassification, PostClassification.post_id == Post.id)
            .outerjoin(PostLabel, PostLabel.post_id == Post.id)
            .where(condition, or_(PostClassification.label == OFF_TOPIC, PostLabel.post_id.is_not(None)))
        )  # fmt: skip
        for post_id, account_id, external_id, published_at, title, text, url, label, score, reasons, version, human, labelled_by in session.execute(others):
            if account_id not in wanted:
                continue
            facts = PostFacts(post_id, account_id, external_id, published_at, title, text or "", url)
            model_reasons = (reasons or []) if label == OFF_TOPIC else []
            if human is not None:
                reasons = [human_reason(human, labelled_by), *model_reasons[:2]]
                questioned[account_id].append(ClassifiedPost(facts, human, 1.0 if human == OFF_TOPIC else 0.0, reasons, version, by_human=True))
            else:
                questioned[account_id].append(ClassifiedPost(facts, label, score, model_reasons, version))
    return counts, dict(questioned)


def _post_in_scope(session: Session, post_id: int, scope: Principal) -> Post:
    post = session.get(Post, post_id)
    if post is None:
        raise NotFound(f"帖子 {post_id} ")
    registry.get_account(session=session, account_id=post.account_id, scope=scope)  # 403 outside the key's region
    return post


def label_post(*, session: Session, post_id: int, label: str, scope: Principal) -> PostLabel:
    """An editor's label: it replaces any earlier one and wins over the model from now on."""
    _post_in_scope(session, post_id, scope)
    stored = session.get(PostLabel, post_id)
    if stored is None:
        stored = PostLabel(post_id=post_id, label=label, labelled_by=scope.name, labelled_at=clock.now())
        session.add(stored)
    else:
        stored.label, stored.labelled_by, stored.labelled_at = label, scope.name, clock.now()
    session.flush()
    return stored


def remove_label(*, session: Session, post_id: int, scope: Principal) -> None:
    _post_in_scope(session, post_id, scope)
    stored = session.get(PostLabel, post_id)
    if stored is None:
        raise NotFound(f"帖子 {post_id} 的人工标注")
    session.delete(stored)
    session.flush()


@dataclass(frozen=True)
class PostVerdicts:
    post: Post
    human: PostLabel | None
    model: PostClassification | None  # None only for a post without text

    @property
    def effective_label(self) -> str | None:
        return self.human.label if self.human else (self.model.label if self.model else None)


def post_verdicts(*, session: Session, store: ModelStore, threshold: float, post_id: int, scope: Principal) -> PostVerdicts:
    """A post's editor label and the current model's verdict (classified now, and stored, if need be)."""
    post = _post_in_scope(session, post_id, scope)
    model = store.current()
    text = post_text(post.title, post.text)
    stored = session.get(PostClassification, post_id)
    # a run stores on-topic verdicts without their reasons; this page shows them, so they are made now
    if text and (stored is None or stored.model_version != model.version or stored.text_digest != digest(text) or not stored.reasons):
        [verdict] = model.classify([text], threshold=threshold)
        _store_verdicts(session, [{
            "post_id": post_id, "label": verdict.label, "score": verdict.score, "reasons": verdict.reasons,
            "model_version": model.version, "text_digest": digest(text), "classified_at": clock.now(),
        }])  # fmt: skip
        stored = session.get(PostClassification, post_id, populate_existing=True)
    return PostVerdicts(post, session.get(PostLabel, post_id), stored)


def describe(*, session: Session, store: ModelStore, threshold: float, min_score: float) -> dict:
    model = store.current()
    meta = model.meta
    parts = meta.get("parts", [meta])
    trained_at = max((p.get("trained_at") or "" for p in parts), default="") or None
    labels = session.scalar(select(func.count()).select_from(PostLabel)) or 0
    newer = 0
    if trained_at:
        newer = session.scalar(select(func.count()).select_from(PostLabel).where(PostLabel.labelled_at > datetime.fromisoformat(trained_at))) or 0
    return {
        "backend": model.backend,
        "model_version": model.version,
        "trained_at": trained_at,
        "threshold": threshold,
        "off_topic_min_score": min_score,
        "held_out": [{"backend": p["backend"], "version": p["version"], **p.get("held_out", {})} for p in parts],
        "training": [{"backend": p["backend"], **p.get("training", {})} for p in parts],
        "human_labels": labels,
        "human_labels_since_training": newer,
    }
