"""The findings store and lifecycle: open → acknowledged → resolved, reopened on recurrence.
Every transition goes through `_transition`, which writes the history row (and is where
alerts will write their outbox rows, in the same transaction)."""
from collections import Counter
from collections.abc import Iterable
from datetime import datetime

from sqlalchemy import Select, select
from sqlalchemy.orm import Session

from service import clock
from service.alerts import outbox
from service.auth import Principal
from service.detection.facts import Detection
from service.errors import NotFound, Problem
from service.findings.models import Finding, FindingAccount, FindingEvent, FindingStatus
from service.registry.codes import region_prefix

DETECTION_ACTOR = "detection"
LOOKUP_CHUNK = 500


def _transition(
    session: Session,
    finding: Finding,
    *,
    action: str,
    to_status: str,
    actor: str,
    note: str | None = None,
    run_id: int | None = None,
    from_status: str | None = None,
) -> None:
    finding.status = to_status
    session.add(
        FindingEvent(
            finding_id=finding.id,
            at=clock.now(),
            actor=actor,
            action=action,
            from_status=from_status,
            to_status=to_status,
            rule=finding.rule,
            severity=finding.severity,
            note=note,
            run_id=run_id,
        )
    )
    # The webhook outbox rows are written in this same transaction (alerts/outbox.py).
    outbox.enqueue_finding_event(session=session, finding=finding, action=action)


def _apply(finding: Finding, detection: Detection, as_of: datetime, run_id: int | None) -> None:
    severity = detection.graded_severity
    finding.type = detection.rule.type
    finding.rule = detection.rule.code
    finding.severity = severity
    finding.severity_rank = severity.rank
    finding.title = detection.title
    finding.evidence = detection.evidence
    finding.unit_id = detection.unit_id
    finding.region_code = detection.region_code
    finding.platform = detection.platform
    finding.last_seen = max(finding.last_seen, as_of) if finding.last_seen else as_of
    finding.last_run_id = run_id
    wanted = set(detection.account_ids)
    finding.accounts[:] = [link for link in finding.accounts if link.account_id in wanted] + [
        FindingAccount(account_id=a) for a in sorted(wanted - set(finding.account_ids))
    ]


def reconcile(
    *,
    session: Session,
    detections: Iterable[Detection],
    in_scope: Iterable[Finding],
    as_of: datetime,
    run_id: int | None,
) -> Counter:
    """Bring the findings in line with what a run saw. `in_scope` are the unresolved
    findings this run was able to see again: those it did not see are resolved."""
    seen = {d.fingerprint: d for d in detections}
    existing: dict[str, Finding] = {f.fingerprint: f for f in in_scope}
    unknown = [fp for fp in seen if fp not in existing]
    for start in range(0, len(unknown), LOOKUP_CHUNK):
        chunk = unknown[start : start + LOOKUP_CHUNK]
        existing.update((f.fingerprint, f) for f in session.scalars(select(Finding).where(Finding.fingerprint.in_(chunk))))
    transitions: Counter = Counter()
    opened: list[Finding] = []
    for fingerprint, detection in seen.items():
        finding = existing.get(fingerprint)
        if finding is None:
            finding = Finding(fingerprint=fingerprint, status=FindingStatus.open, first_seen=as_of, last_seen=as_of, reopen_count=0)
            _apply(finding, detection, as_of, run_id)
            opened.append(finding)
            continue
        before_rank, before_status = finding.severity_rank, finding.status
        _apply(finding, detection, as_of, run_id)
        if before_status == FindingStatus.resolved:
            finding.reopen_count += 1
            finding.resolved_at = None
            _transition(session, finding, action="reopened", to_status=FindingStatus.open, actor=DETECTION_ACTOR,
                        run_id=run_id, from_status=before_status)
            transitions["reopened"] += 1
        elif finding.severity_rank != before_rank:
            action = "escalated" if finding.severity_rank > before_rank else "deescalated"
            _transition(session, finding, action=action, to_status=finding.status, actor=DETECTION_ACTOR,
                        run_id=run_id, from_status=before_status)
            transitions[action] += 1
        else:
            transitions["unchanged"] += 1
    # New findings are inserted together (a first run opens thousands), then given their history.
    session.add_all(opened)
    session.flush()
    for finding in opened:
        _transition(session, finding, action="opened", to_status=FindingStatus.open, actor=DETECTION_ACTOR, run_id=run_id)
    if opened:
        transitions["opened"] += len(opened)
    for fingerprint, finding in existing.items():
        if fingerprint not in seen and finding.status != FindingStatus.resolved:
            before = finding.status
            finding.resolved_at = clock.now()
            finding.last_run_id = run_id
            _transition(session, finding, action="resolved", to_status=FindingStatus.resolved, actor=DETECTION_ACTOR,
                        note="检测不再发现此问题，自动解决", run_id=run_id, from_status=before)
            transitions["resolved"] += 1
    session.flush()
    return transitions


# --- reading and acting on findings ----------------------------------------------------------


def findings_query(
    *,
    scope: Principal | None,
    type: str | None = None,
    status: str | None = None,
    unit_id: int | None = None,
    account_id: int | None = None,
    region_code: str | None = None,
    severity: str | None = None,
    rule: str | None = None,
    platform: str | None = None,
    since: datetime | None = None,
) -> Select:
    query = select(Finding)
    region = scope.narrow(region_code) if scope is not None else region_code
    if region:
        query = query.where(Finding.region_code.startswith(region_prefix(region)))
    for column, value in (
        (Finding.type, type),
        (Finding.status, status),
        (Finding.unit_id, unit_id),
        (Finding.severity, severity),
        (Finding.rule, rule),
        (Finding.platform, platform),
    ):
        if value is not None:
            query = query.where(column == value)
    if account_id is not None:
        query = query.where(Finding.id.in_(select(FindingAccount.finding_id).where(FindingAccount.account_id == account_id)))
    if since is not None:
        query = query.where(Finding.last_seen >= since)
    return query


def get_finding(*, session: Session, finding_id: int, scope: Principal | None) -> Finding:
    finding = session.get(Finding, finding_id)
    if finding is None:
        raise NotFound(f"问题 {finding_id} ")
    if scope is not None and scope.region_code and not (finding.region_code and scope.covers(finding.region_code)):
        raise Problem(403, f"本密钥仅限地区 {scope.region_code}，无权访问该问题")
    return finding


def history(*, session: Session, finding_id: int) -> list[FindingEvent]:
    return list(session.scalars(select(FindingEvent).where(FindingEvent.finding_id == finding_id).order_by(FindingEvent.id)))


def acknowledge(*, session: Session, finding_id: int, scope: Principal, note: str | None) -> Finding:
    finding = get_finding(session=session, finding_id=finding_id, scope=scope)
    if finding.status != FindingStatus.open:
        raise Problem(409, f"只有待处理（open）的问题可以确认，该问题当前为 {finding.status}")
    _transition(session, finding, action="acknowledged", to_status=FindingStatus.acknowledged, actor=scope.name,
                note=note, from_status=finding.status)
    session.flush()
    return finding


def resolve(*, session: Session, finding_id: int, scope: Principal, note: str | None) -> Finding:
    finding = get_finding(session=session, finding_id=finding_id, scope=scope)
    if finding.status == FindingStatus.resolved:
        raise Problem(409, "该问题已解决")
    before = finding.status
    finding.resolved_at = clock.now()
    _transition(session, finding, action="resolved", to_status=FindingStatus.resolved, actor=scope.name, note=note,
                from_status=before)
    session.flush()
    return finding


