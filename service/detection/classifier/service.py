"""Classification as the service offers it: texts on demand, editors' labels, the verdicts of
a detection run's posts (each post classified once per model version and wording), and
what the service can say about the model it uses."""
import hashlib
from collections import defaultdict
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import case, func, null, select
from sqlalchemy.orm import Session

from service import clock
from service.activity.models import Post
from service.auth import Principal
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


def _store_verdicts(session: Session, rows: list[dict]) -> None:
    """Insert or replace: two runs classifying the same post at once must not collide."""
    if not rows:
        return
    if session.get_bind().dialect.name == "postgresql":
        from sqlalchemy.dialects.postgresql import insert
    else:
        from sqlalchemy.dialects.sqlite import insert
    statement = insert(PostClassification)
    columns = ("label", "score", "reasons", "model_version", "text_digest", "classified_at")
    statement = statement.on_conflict_do_update(index_elements=["post_id"], set_={c: statement.excluded[c] for c in columns})
    for start in range(0, len(rows), CHUNK):
        session.execute(statement, rows[start : start + CHUNK])


def human_reason(label: str, labelled_by: str) -> dict:
    verdict = "与政务无关" if label == OFF_TOPIC else "与政务相关"
    return {"kind": "human", "feature": f"编辑 {labelled_by} 标注为{verdict}", "leans": label}


def classified_posts(
    *, session: Session, store: ModelStore, threshold: float, account_ids: list[int], since: datetime, until: datetime
) -> dict[int, list[ClassifiedPost]]:
    """The posts of these accounts published in (since, until], each with its verdict. Posts the
    current model has not judged in their current wording are classified now and stored."""
    model = store.current()
    found: list[tuple[PostFacts, str, dict | None, tuple[str, str] | None]] = []
    columns = (
        Post.id, Post.account_id, Post.external_id, Post.published_at, Post.title, Post.text, Post.url,
        # Reasons only where they can reach evidence: decoding every on-topic post's JSON cost a
        # steady-state run over 100,000 accounts about a third of its time.
        PostClassification.label, PostClassification.score,
        case((PostClassification.label == OFF_TOPIC, PostClassification.reasons), else_=null()).label("reasons"),
        PostClassification.model_version,
        PostClassification.text_digest, PostLabel.label, PostLabel.labelled_by,
    )  # plain columns, not entities: a whole registry's window can be a million posts
    for start in range(0, len(account_ids), CHUNK):
        query = (
            select(*columns)
            .outerjoin(PostClassification, PostClassification.post_id == Post.id)
            .outerjoin(PostLabel, PostLabel.post_id == Post.id)
            .where(Post.account_id.in_(account_ids[start : start + CHUNK]), Post.published_at > since, Post.published_at <= until)
        )
        for row in session.execute(query):
            facts = PostFacts(row[0], row[1], row[2], row[3], row[4], row[5] or "", row[6])
            text = post_text(facts.title, facts.text)
            label, score, reasons, version, stored_digest, human, labelled_by = row[7:]
            fresh = version == model.version and stored_digest == digest(text)
            verdict = {"label": label, "score": score, "reasons": reasons or [], "model_version": version} if fresh else None
            found.append((facts, text, verdict, (human, labelled_by) if human else None))
    stale = [i for i, (_, text, verdict, _) in enumerate(found) if verdict is None and text]
    now = clock.now()
    rows = []
    for start in range(0, len(stale), BATCH):
        batch = stale[start : start + BATCH]
        for i, verdict in zip(batch, model.classify([found[i][1] for i in batch], threshold=threshold)):
            facts, text, _, human = found[i]
            stored = {"label": verdict.label, "score": verdict.score, "reasons": verdict.reasons, "model_version": model.version}
            found[i] = (facts, text, stored, human)
            rows.append({"post_id": facts.id, **stored, "text_digest": digest(text), "classified_at": now})
    _store_verdicts(session, rows)
    by_account: dict[int, list[ClassifiedPost]] = defaultdict(list)
    for facts, _text, verdict, human in found:
        if human is not None:
            label, labelled_by = human
            reasons = [human_reason(label, labelled_by), *((verdict or {}).get("reasons") or [])[:2]]
            score = 1.0 if label == OFF_TOPIC else 0.0
            by_account[facts.account_id].append(ClassifiedPost(facts, label, score, reasons, (verdict or {}).get("model_version"), by_human=True))
        elif verdict is not None:
            by_account[facts.account_id].append(
                ClassifiedPost(facts, verdict["label"], verdict["score"], verdict["reasons"], verdict["model_version"])
            )
    return dict(by_account)


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
    if text and (stored is None or stored.model_version != model.version or stored.text_digest != digest(text)):
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
