"""Off-topic posts (发布与政务工作无关的社会信息、心灵鸡汤). Rule off_topic.posts: an account
that published posts classified off-topic — by an editor, or by the model with a score of
at least the threshold — in the content window before the monitoring time point. One
finding per account lists those posts with their scores and reasons; its severity grows
with their number and their share of the window's posts."""
from collections.abc import Iterator

from service.clock import to_beijing_iso
from service.detection.classifier.verdicts import post_text
from service.detection.facts import ClassifiedPost, Detection, Inspection, Thresholds, account_detection
from service.detection.rules import RULES
from service.findings.models import Severity

EVIDENCE_POSTS = 20  # the strongest ones; the counts cover all
EVIDENCE_REASONS = 3
EXCERPT = 120


def counts_as_off_topic(post: ClassifiedPost, min_score: float) -> bool:
    if post.by_human:
        return post.label == "off_topic"
    return post.label == "off_topic" and post.score >= min_score


def grade(count: int, share: float, limits: Thresholds) -> Severity:
    if count >= limits.off_topic_high[0] or share >= limits.off_topic_high[1]:
        return Severity.high
    if count >= limits.off_topic_medium[0] or share >= limits.off_topic_medium[1]:
        return Severity.medium
    return Severity.low


def _evidence_post(post: ClassifiedPost) -> dict:
    facts = post.post
    text = post_text(facts.title, facts.text)
    return {
        "post_id": facts.id, "external_id": facts.external_id, "published_at": to_beijing_iso(facts.published_at),
        "url": facts.url, "excerpt": text[:EXCERPT], "score": post.score,
        "decided_by": "editor" if post.by_human else "model", "model_version": post.model_version,
        "reasons": post.reasons[:EVIDENCE_REASONS],
    }  # fmt: skip


def detect_off_topic_posts(inspection: Inspection) -> Iterator[Detection]:
    limits = inspection.thresholds
    for account in inspection.judged_accounts():
        posts = inspection.classified_posts.get(account.id, [])
        flagged = [p for p in posts if counts_as_off_topic(p, limits.off_topic_min_score)]
        if not flagged:
            continue
        # every judged post of the window counts towards the share; without that count, the posts listed are all
        in_window = max(inspection.window_posts.get(account.id, len(posts)), len(posts))
        share = len(flagged) / in_window
        strongest = sorted(flagged, key=lambda p: (-p.by_human, -p.score, p.post.published_at))
        yield account_detection(
            RULES["off_topic.posts"],
            account,
            f"「{account.name}」近 {limits.content_window_days} 天发布 {len(flagged)} 条与政务工作无关的内容（占 {share:.0%}）",
            {
                "window_days": limits.content_window_days,
                "posts_in_window": in_window,
                "off_topic_posts": len(flagged),
                "share": round(share, 4),
                "min_score": limits.off_topic_min_score,
                "posts": [_evidence_post(p) for p in strongest[:EVIDENCE_POSTS]],
            },
            severity=grade(len(flagged), share, limits),
        )
