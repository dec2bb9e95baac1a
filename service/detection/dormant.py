"""Dormant accounts (僵尸/睡眠账号, 不按期更新): silence before the monitoring time point,
and accounts that never posted. Rules: dormant.no_update_14d, dormant.zombie_90d,
dormant.never_posted (service/detection/rules.py cites their sources)."""
from collections.abc import Iterator
from datetime import timedelta

from service.clock import to_beijing_iso
from service.detection.facts import Detection, Inspection, account_detection
from service.detection.rules import RULES
from service.registry.models import AccountStatus


def detect_silence(inspection: Inspection) -> Iterator[Detection]:
    as_of, limits = inspection.as_of, inspection.thresholds
    for account in inspection.judged_accounts():
        if account.status != AccountStatus.active:
            continue  # suspended accounts answer only to registry rules
        if account.last_post_at is None:
            yield from _never_posted(account, inspection)
            continue
        silent = as_of - account.last_post_at
        if silent > timedelta(days=limits.zombie_days):
            rule = RULES["dormant.zombie_90d"]
        elif silent >= timedelta(days=limits.dormant_days):
            rule = RULES["dormant.no_update_14d"]
        else:
            continue
        days = silent.days
        yield account_detection(
            rule,
            account,
            f"「{account.name}」已 {days} 天未更新",
            {"last_post_at": to_beijing_iso(account.last_post_at), "days_silent": days, "as_of": to_beijing_iso(as_of)},
        )


def _never_posted(account, inspection: Inspection) -> Iterator[Detection]:
    as_of, grace = inspection.as_of, timedelta(days=inspection.thresholds.never_posted_days)
    # Entering an account into the service is not opening it: when its opening date is
    # unknown, the entry date only gives a new entry its grace period; a replay of a time
    # point before the entry inspects today's registry as it stands.
    opened = account.opened_at or (account.entered_at if account.entered_at <= as_of else None)
    if opened is not None and as_of - opened < grace:
        return
    evidence = {"as_of": to_beijing_iso(as_of), "posts": 0}
    if account.opened_at:
        evidence["opened_at"] = to_beijing_iso(account.opened_at)
        evidence["days_since_opened"] = (as_of - account.opened_at).days
    yield account_detection(RULES["dormant.never_posted"], account, f"「{account.name}」开设后从未发布内容", evidence)
