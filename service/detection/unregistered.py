"""Accounts missing from the registry (瞒报漏报, 未上报备案): entries not filed, and accounts
other systems saw on a platform that the registry does not know.
Rules unregistered.not_filed and unregistered.discovered."""
from collections.abc import Iterator
from datetime import timedelta

from rapidfuzz import fuzz, process

from service.clock import to_beijing_iso
from service.detection.facts import Detection, DiscoveryFacts, Inspection, account_detection
from service.detection.rules import RULES
from service.detection.unit_identity import plain_names

# Below this similarity (0–100) a discovered name is not taken for a registered one.
NAME_MATCH_SCORE = 90


def detect_not_filed(inspection: Inspection) -> Iterator[Detection]:
    as_of, inactive = inspection.as_of, timedelta(days=inspection.thresholds.not_filed_inactive_days)
    for account in inspection.judged_accounts():
        if account.filed:
            continue
        long_inactive = account.last_post_at is None or as_of - account.last_post_at > inactive
        evidence = {
            "filed": False,
            "last_post_at": to_beijing_iso(account.last_post_at) if account.last_post_at else None,
            "long_inactive": long_inactive,
        }
        title = f"「{account.name}」未登记备案" + ("且长期未更新" if long_inactive else "")
        yield account_detection(RULES["unregistered.not_filed"], account, title, evidence)


def match_discovery(
    discovery: DiscoveryFacts, handles: dict[tuple[str, str], int], names: dict[str, list[tuple[str, int]]]
) -> tuple[int, str, float] | None:
    """The registered account a discovery is, by platform + handle, else by a close name on
    the same platform: (account id, how, score), or None. `names` holds plain names (plain_names)."""
    if discovery.handle and (discovery.platform, discovery.handle.strip()) in handles:
        return handles[(discovery.platform, discovery.handle.strip())], "handle", 100.0
    candidates = names.get(discovery.platform, [])
    (name,) = plain_names([discovery.name])
    best = process.extractOne(name, [candidate for candidate, _ in candidates], scorer=fuzz.ratio, score_cutoff=NAME_MATCH_SCORE)
    if best is None:
        return None
    _name, score, index = best
    return candidates[index][1], "name", float(score)


def detect_discovered(inspection: Inspection) -> Iterator[Detection]:
    for discovery in inspection.discoveries:
        if match_discovery(discovery, inspection.registry_handles, inspection.registry_names) is not None:
            continue
        yield Detection(
            rule=RULES["unregistered.discovered"],
            subject=f"discovery:{discovery.id}",
            title=f"平台上发现未登记的账号「{discovery.name}」",
            evidence={
                "discovery_id": discovery.id,
                "platform": discovery.platform,
                "handle": discovery.handle,
                "name": discovery.name,
                "url": discovery.url,
                "seen_at": to_beijing_iso(discovery.seen_at),
            },
            region_code=discovery.region_code,
            platform=discovery.platform,
        )
