"""The Retry-After header (RFC 9110 §10.2.3), which both the poller and the webhook dispatcher honour."""
from datetime import datetime
from email.utils import parsedate_to_datetime

from service import clock


def retry_after_seconds(value: str | None, now: datetime | None = None) -> float | None:
    """Retry-After as seconds from `now`: delta-seconds or an HTTP date; None when absent or unreadable."""
    if not value:
        return None
    value = value.strip()
    if value.isdigit():
        return float(value)
    try:
        return max(0.0, (parsedate_to_datetime(value) - (now or clock.now())).total_seconds())
    except (TypeError, ValueError, IndexError):
        return None
