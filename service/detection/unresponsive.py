"""Public messages left unanswered (未对留言做出有效回复, 互动回应差): messages with no official
reply when N working days after their receipt have passed by the monitoring time point,
counted on the official holiday calendar. Rule unresponsive.overdue_replies."""
from collections import defaultdict
from collections.abc import Iterator
from datetime import timedelta

from service.clock import to_beijing_iso
from service.detection.facts import Detection, Inspection, MessageFacts, account_detection
from service.detection.rules import RULES
from service.detection.working_days import deadline_after, working_days_between
from service.registry.models import AccountStatus

EXAMPLES = 5


def detect_overdue_replies(inspection: Inspection) -> Iterator[Detection]:
    as_of, working_days = inspection.as_of, inspection.thresholds.reply_working_days
    overdue: dict[int, list[MessageFacts]] = defaultdict(list)
    for message in inspection.waiting_messages:
        if message.replied_at is not None and message.replied_at <= as_of:
            continue  # answered by the time point (a replay may see later replies as still missing)
        if as_of >= deadline_after(message.received_at, working_days):
            overdue[message.account_id].append(message)
    for account in inspection.judged_accounts():
        messages = overdue.get(account.id)
        if not messages or account.status != AccountStatus.active:
            continue
        messages.sort(key=lambda m: m.received_at)
        oldest = messages[0]
        yield account_detection(
            RULES["unresponsive.overdue_replies"],
            account,
            f"「{account.name}」有 {len(messages)} 条留言超过 {working_days} 个工作日未回复",
            {
                "overdue_count": len(messages),
                "reply_working_days": working_days,
                "oldest_received_at": to_beijing_iso(oldest.received_at),
                # whole working days waited: the day of the time point is still under way
                "oldest_waiting_working_days": working_days_between(oldest.received_at, as_of - timedelta(days=1)),
                "examples": [
                    {"interaction_id": m.id, "external_id": m.external_id, "received_at": to_beijing_iso(m.received_at), "text": m.text[:100]}
                    for m in messages[:EXAMPLES]
                ],
            },
        )
