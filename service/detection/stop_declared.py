"""Accounts that posted a stop-update notice but were never closed (发布停止更新声明后未及时
清理注销). Rule dormant.stop_declared: the account's latest post is a stop, move or closing
notice, the notice period (working days) has passed, and the registry still has it active."""
from collections.abc import Iterator

from service.clock import to_beijing_iso
from service.detection.facts import Detection, Inspection, account_detection
from service.detection.rules import RULES
from service.detection.stop_notice import find_stop_notice
from service.detection.working_days import deadline_after
from service.registry.models import AccountStatus


def detect_stop_declared(inspection: Inspection) -> Iterator[Detection]:
    working_days = inspection.thresholds.stop_notice_working_days
    for account in inspection.judged_accounts():
        notice = inspection.stop_notices.get(account.id)
        if notice is None or account.status != AccountStatus.active:
            continue
        closing_due = deadline_after(notice.published_at, working_days)
        if inspection.as_of < closing_due:
            continue  # still inside the notice period
        match = find_stop_notice(notice.title, notice.text)
        yield account_detection(
            RULES["dormant.stop_declared"],
            account,
            f"「{account.name}」已发布停更声明，公示期满仍未注销",
            {
                "notice": {
                    "post_id": notice.id,
                    "external_id": notice.external_id,
                    "published_at": to_beijing_iso(notice.published_at),
                    "title": notice.title,
                    "excerpt": match.sentence if match else notice.text[:120],
                    "phrase": match.phrase if match else None,
                    "url": notice.url,
                },
                "notice_working_days": working_days,
                "closing_due": to_beijing_iso(closing_due),
                "registry_status": account.status,
            },
        )
