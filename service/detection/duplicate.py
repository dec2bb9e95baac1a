"""Redundant accounts (同一平台开设多个政务新媒体, 账号冗余): one unit — however many times
and spellings the registry lists it under — with several active accounts on one platform,
and such accounts posting near-identical content. Rules duplicate.same_unit_platform and
duplicate.near_identical_content. Only one platform at a time is compared: cross-posting a
notice to the unit's WeChat and Weibo is normal practice."""
import re
import unicodedata
from collections import defaultdict
from collections.abc import Iterator

import numpy as np

from service.clock import to_beijing_iso
from service.detection.facts import AccountFacts, Detection, Inspection, PostFacts
from service.detection.rules import RULES
from service.registry.models import AccountStatus

SHINGLE = 5  # characters; Chinese sentences share few 5-grams unless copied
ANCHORS = 8  # shingle hashes kept per post: see near_identical_pairs
_BASE = np.uint64(1_114_117)  # of the shingle hash: the first prime above every code point (0x10FFFF)
MIN_TEXT = 20  # shorter posts ("转发", a picture caption) say nothing about copying
EVIDENCE_PAIRS = 10
_NOISE = re.compile(r"[\s\W_]+")


def _redundant_groups(accounts: list[AccountFacts]) -> dict[tuple[int, str], list[AccountFacts]]:
    groups: dict[tuple[int, str], list[AccountFacts]] = defaultdict(list)
    for account in accounts:
        if account.status == AccountStatus.active:
            groups[(account.unit_group, account.platform)].append(account)
    return {key: sorted(accounts, key=lambda a: a.id) for key, accounts in groups.items() if len(accounts) > 1}


def redundant_groups(inspection: Inspection) -> dict[tuple[int, str], list[AccountFacts]]:
    """(unit, platform) → its active accounts, where there are more than one. Worked out once per
    inspection: two rules and the runner's loading ask for it."""
    return inspection.derived("redundant_groups", lambda: _redundant_groups(inspection.accounts))


def content_groups(inspection: Inspection) -> dict[tuple[int, str], list[AccountFacts]]:
    """The groups whose posts are compared: all, or in an incremental run those with a changed
    account (comparing is the costly part, and the others' posts have not changed)."""
    groups = redundant_groups(inspection)
    if inspection.focus is None:
        return groups
    return {key: accounts for key, accounts in groups.items() if any(a.id in inspection.focus for a in accounts)}


def _group_detection(rule_code: str, unit_group: int, platform: str, accounts: list[AccountFacts], title: str, evidence: dict) -> Detection:
    return Detection(
        rule=RULES[rule_code],
        subject=f"unit:{unit_group}:{platform}",
        title=title,
        evidence={
            "platform": platform,
            "unit_ids": sorted({a.unit_id for a in accounts}),
            "unit_names": sorted({a.unit_name for a in accounts}),
            "accounts": [{"id": a.id, "name": a.name, "handle": a.handle} for a in accounts],
            **evidence,
        },
        account_ids=tuple(a.id for a in accounts),
        unit_id=unit_group,
        region_code=accounts[0].region_code,
        platform=platform,
    )


def detect_same_unit_platform(inspection: Inspection) -> Iterator[Detection]:
    for (unit_group, platform), accounts in sorted(redundant_groups(inspection).items()):
        names = "、".join(f"「{a.name}」" for a in accounts)
        title = f"{accounts[0].unit_name}在同一平台开设 {len(accounts)} 个账号：{names}"
        yield _group_detection("duplicate.same_unit_platform", unit_group, platform, accounts, title, {"count": len(accounts)})


def _flat(text: str) -> str:
    return _NOISE.sub("", unicodedata.normalize("NFKC", text))


def shingle_sets(texts: list[str]) -> list[np.ndarray]:
    """Each text's distinct character 5-shingles, as sorted 64-bit hashes (a polynomial over the
    code points: collisions among a post's few hundred shingles are vanishingly rare). All texts
    are hashed by one numpy pass; a Python loop over every shingle of a registry's posts was
    most of a run's duplicate detection."""
    flats = [_flat(t) for t in texts]
    lengths = np.fromiter(map(len, flats), dtype=np.int64, count=len(flats))
    codes = np.frombuffer("".join(flats).encode("utf-32-le"), dtype=np.uint32).astype(np.uint64)
    starts = len(codes) - SHINGLE + 1
    if starts <= 0:
        return [np.zeros(0, dtype=np.uint64) for _ in texts]
    hashes = np.zeros(starts, dtype=np.uint64)
    for k in range(SHINGLE):
        hashes = hashes * _BASE + codes[k : k + starts]  # wraps modulo 2^64, as meant
    owner = np.repeat(np.arange(len(flats), dtype=np.int64), lengths)
    inside = owner[:starts] == owner[SHINGLE - 1 : SHINGLE - 1 + starts]  # not across two texts
    owner, hashes = owner[:starts][inside], hashes[inside]
    order = np.lexsort((hashes, owner))
    owner, hashes = owner[order], hashes[order]
    distinct = np.ones(len(hashes), dtype=bool)
    distinct[1:] = (owner[1:] != owner[:-1]) | (hashes[1:] != hashes[:-1])
    owner, hashes = owner[distinct], hashes[distinct]
    bounds = np.searchsorted(owner, np.arange(len(flats) + 1))
    return [hashes[bounds[i] : bounds[i + 1]] for i in range(len(flats))]


def shingles(text: str) -> set[int]:
    return set(shingle_sets([text])[0].tolist())


def jaccard(a: set, b: set) -> float:
    return len(a & b) / len(a | b) if a and b else 0.0


def _post_text(post: PostFacts) -> str:
    return f"{post.title or ''}{post.text}"


def near_identical_pairs(posts: list[PostFacts], similarity: float) -> list[tuple[PostFacts, PostFacts, float]]:
    """Pairs of posts by different accounts whose shingle sets overlap at least `similarity`, the
    post of the lower account id first.

    Candidates come from a bottom-k MinHash sketch: each post's ANCHORS smallest shingle hashes.
    Two sets with Jaccard J share one of them unless none of the union's ANCHORS smallest lies in
    the intersection: about (1 − J)^ANCHORS, 0.07% at J = 0.6. One hash and a dictionary index do
    what banded LSH over 64 hash functions did (datasketch), faster and exactly repeatably. The
    exact Jaccard of the candidates decides and is reported."""
    by_anchor: dict[int, list[int]] = defaultdict(list)
    seen: dict[int, tuple[PostFacts, set[int]]] = {}
    pairs = []
    for post, hashed in zip(posts, shingle_sets([_post_text(p) for p in posts]), strict=True):
        if len(hashed) < MIN_TEXT - SHINGLE + 1:
            continue
        grams = set(hashed.tolist())
        anchors = hashed[:ANCHORS].tolist()  # sorted: the smallest
        for other_id in {other_id for anchor in anchors for other_id in by_anchor.get(anchor, ())}:
            other, other_grams = seen[other_id]
            if other.account_id != post.account_id and (score := jaccard(grams, other_grams)) >= similarity:
                pairs.append((other, post, score) if other.account_id < post.account_id else (post, other, score))
        seen[post.id] = (post, grams)
        for anchor in anchors:
            by_anchor[anchor].append(post.id)
    return pairs


def detect_near_identical_content(inspection: Inspection) -> Iterator[Detection]:
    limits = inspection.thresholds
    for (unit_group, platform), accounts in sorted(content_groups(inspection).items()):
        posts = [p for a in accounts for p in inspection.recent_posts.get(a.id, [])]
        by_pair: dict[tuple[int, int], list[tuple[PostFacts, PostFacts, float]]] = defaultdict(list)
        for left, right, score in near_identical_pairs(posts, limits.near_identical_similarity):
            by_pair[(left.account_id, right.account_id)].append((left, right, score))
        copying = {pair: found for pair, found in by_pair.items() if len({p[0].id for p in found}) >= limits.near_identical_min_posts}
        if not copying:
            continue
        involved = [a for a in accounts if any(a.id in pair for pair in copying)]
        names = "、".join(f"「{a.name}」" for a in involved)
        examples = [
            {
                "similarity": round(score, 3),
                "posts": [
                    {"account_id": p.account_id, "post_id": p.id, "published_at": to_beijing_iso(p.published_at), "excerpt": _post_text(p)[:80]}
                    for p in (left, right)
                ],
            }
            for found in copying.values()
            for left, right, score in sorted(found, key=lambda f: -f[2])
        ][:EVIDENCE_PAIRS]
        yield _group_detection(
            "duplicate.near_identical_content",
            unit_group,
            platform,
            involved,
            f"{involved[0].unit_name}的{names}发布内容高度雷同",
            {
                "window_days": limits.content_window_days,
                "similarity_threshold": limits.near_identical_similarity,
                "account_pairs": [
                    {"account_ids": list(pair), "near_identical_posts": len({p[0].id for p in found})} for pair, found in copying.items()
                ],
                "examples": examples,
            },
        )


