"""The webhook events reports emit (`report.published`, and `finding.escalated` for units
that did not rectify). They go through the alerts outbox, in the caller's transaction, so
an event is written exactly when what it announces is."""
import logging
from typing import Any

from sqlalchemy.orm import Session

log = logging.getLogger("service.reports")


def emit(*, session: Session, type: str, data: dict[str, Any], region_code: str | None) -> bool:
    """Queue one event for webhook subscribers; False when the alerts outbox is not installed."""
    try:
        from service.alerts import outbox
    except ImportError:
        outbox = None
    enqueue = getattr(outbox, "enqueue_event", None)
    if enqueue is None:
        log.warning("alerts outbox unavailable: event not queued", extra={"fields": {"type": type}})
        return False
    enqueue(session=session, type=type, data=data, region_code=region_code)
    return True
