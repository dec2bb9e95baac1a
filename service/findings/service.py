"""The findings store and lifecycle: open → acknowledged → resolved, reopened on recurrence.
Every transition goes through `_transition`, which writes the history row (and is where
alerts will write their outbox rows, in the same transaction)."""
from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import Select, bindparam, case, insert, literal, select
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


def _event_row(
    finding_id: int, *, action: str, to_status: str, rule: str, severity: str, actor: str, at: datetime,
    note: str | None = None, run_id: int | None = None, from_status: str | None = None,
) -> dict:  # fmt: skip
    return {
        "finding_id": finding_id, "at": at, "actor": actor, "action": action, "from_status": from_status,
        "to_status": to_status, "rule": rule, "severity": severity, "note": note, "run_id": run_id,
    }  # fmt: skip


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
    session.add(FindingEvent(**_event_row(
        finding.id, action=action, to_status=to_status, rule=finding.rule, severity=finding.severity, actor=actor,
        at=clock.now(), note=note, run_id=run_id, from_status=from_status,
    )))  # fmt: skip
    # The webhook outbox rows are written in this same transaction (alerts/outbox.py).
    outbox.enqueue_finding_event(session=session, finding=finding, action=action)


def _content(detection: Detection) -> dict:
    """The columns a detection decides (besides when it was seen)."""
    severity = detection.graded_severity
    return {
        "type": detection.rule.type, "rule": detection.rule.code, "severity": severity, "severity_rank": severity.rank,
        "title": detection.title, "evidence": detection.evidence, "unit_id": detection.unit_id,
        "region_code": detection.region_code, "platform": detection.platform,
    }  # fmt: skip


def _apply(finding: Finding, detection: Detection, as_of: datetime, run_id: int | None) -> None:
    for column, value in _content(detection).items():
        setattr(finding, column, value)
    finding.last_seen = max(finding.last_seen, as_of) if finding.last_seen else as_of
    finding.last_run_id = run_id
    wanted = set(detection.account_ids)
    finding.accounts[:] = [link for link in finding.accounts if link.account_id in wanted] + [
        FindingAccount(account_id=a) for a in sorted(wanted - set(finding.account_ids))
    ]


@dataclass(frozen=True)
class Known:
    """A stored finding as reconcile compares it: plain columns, so that a run over a whole
    registry does not build tens of thousands of ORM objects only to find most unchanged."""

    id: int
    fingerprint: str
    status: str
    type: str
    rule: str
    severity: str
    severity_rank: int
    title: str
    evidence: dict
    unit_id: int | None
    region_code: str | None
    platform: str | None
    account_ids: tuple[int, ...]

    def same_as(self, content: dict, account_ids: tuple[int, ...]) -> bool:
        return all(getattr(self, column) == value for column, value in content.items()) and self.account_ids == account_ids


_KNOWN_COLUMNS = (
    Finding.id, Finding.fingerprint, Finding.status, Finding.type, Finding.rule, Finding.severity, Finding.severity_rank,
    Finding.title, Finding.evidence, Finding.unit_id, Finding.region_code, Finding.platform,
)  # fmt: skip


def known_findings(*, session: Session, where) -> list[Known]:
    """The findings matching `where` (a condition on Finding), with their accounts."""
    rows = session.execute(select(*_KNOWN_COLUMNS).where(where)).all()
    links: dict[int, list[int]] = {}
    query = select(FindingAccount.finding_id, FindingAccount.account_id).join(Finding, Finding.id == FindingAccount.finding_id).where(where)
    for finding_id, account_id in session.execute(query):
        links.setdefault(finding_id, []).append(account_id)
    return [Known(*row, account_ids=tuple(sorted(links.get(row.id, ())))) for row in rows]


def _orm_findings(session: Session, ids: list[int]) -> dict[int, Finding]:
    found: dict[int, Finding] = {}
    for start in range(0, len(ids), LOOKUP_CHUNK):
        found.update((f.id, f) for f in session.scalars(select(Finding).where(Finding.id.in_(ids[start : start + LOOKUP_CHUNK]))))
    return found


def reconcile(
    *,
    session: Session,
    detections: Iterable[Detection],
    in_scope: Iterable[Known],
    as_of: datetime,
    run_id: int | None,
) -> Counter:
    """Bring the findings in line with what a run saw. `in_scope` are the unresolved
    findings this run was able to see again: those it did not see are resolved.

    Set-based where a run over a whole registry spends its time: findings seen again unchanged
    are touched by one UPDATE per chunk, changed ones by one executemany, new ones by one
    multi-row INSERT with their accounts and history. Only transitions (reopen, escalation,
    resolution), a handful on a usual day, go through the ORM and `_transition`."""
    seen = {d.fingerprint: d for d in detections}
    existing: dict[str, Known] = {k.fingerprint: k for k in in_scope}
    unknown = [fp for fp in seen if fp not in existing]
    for start in range(0, len(unknown), LOOKUP_CHUNK):
        chunk = unknown[start : start + LOOKUP_CHUNK]
        existing.update((k.fingerprint, k) for k in known_findings(session=session, where=Finding.fingerprint.in_(chunk)))
    transitions: Counter = Counter()
    now = clock.now()
    new: list[Detection] = []
    touched: list[int] = []  # seen again, nothing else changed
    changed: list[dict] = []  # seen again with other evidence, title or scope, same severity and status
    moving: dict[int, tuple[Detection, str]] = {}  # finding id → (detection, action) for the ORM path
    for fingerprint, detection in seen.items():
        known = existing.get(fingerprint)
        if known is None:
            new.append(detection)
            continue
        content, accounts = _content(detection), tuple(sorted(set(detection.account_ids)))
        if known.status == FindingStatus.resolved:
            moving[known.id] = (detection, "reopened")
        elif known.severity_rank != content["severity_rank"]:
            moving[known.id] = (detection, "escalated" if content["severity_rank"] > known.severity_rank else "deescalated")
        elif known.account_ids != accounts:
            moving[known.id] = (detection, "unchanged")  # the accounts' links change: the ORM keeps them
        elif known.same_as(content, accounts):
            touched.append(known.id)
            transitions["unchanged"] += 1
        else:
            changed.append({"_id": known.id, **content})
            transitions["unchanged"] += 1
    resolving = [k.id for fp, k in existing.items() if fp not in seen and k.status != FindingStatus.resolved]

    table = Finding.__table__
    # A replay at an earlier monitoring time point never moves last_seen back.
    point = literal(as_of, table.c.last_seen.type)  # bound as the column is, UTC
    last_seen = case((table.c.last_seen > point, table.c.last_seen), else_=point)
    for start in range(0, len(touched), LOOKUP_CHUNK):
        session.execute(
            table.update().where(table.c.id.in_(touched[start : start + LOOKUP_CHUNK]))
            .values(last_seen=last_seen, last_run_id=run_id, updated_at=now)
        )  # fmt: skip
    if changed:
        session.execute(
            table.update().where(table.c.id == bindparam("_id")).values(last_seen=last_seen, last_run_id=run_id, updated_at=now),
            changed,
        )

    orm = _orm_findings(session, sorted([*moving, *resolving]))
    for finding_id, (detection, action) in moving.items():
        finding = orm[finding_id]
        before_status = finding.status
        _apply(finding, detection, as_of, run_id)
        if action == "reopened":
            finding.reopen_count += 1
            finding.resolved_at = None
            _transition(session, finding, action=action, to_status=FindingStatus.open, actor=DETECTION_ACTOR, run_id=run_id, from_status=before_status)
        elif action != "unchanged":
            _transition(session, finding, action=action, to_status=finding.status, actor=DETECTION_ACTOR, run_id=run_id, from_status=before_status)
        transitions[action] += 1
    for finding_id in resolving:
        finding = orm[finding_id]
        before = finding.status
        finding.resolved_at = now
        finding.last_run_id = run_id
        _transition(session, finding, action="resolved", to_status=FindingStatus.resolved, actor=DETECTION_ACTOR,
                    note="检测不再发现此问题，自动解决", run_id=run_id, from_status=before)  # fmt: skip
        transitions["resolved"] += 1
    session.flush()
    if new:
        _open(session, new, as_of=as_of, run_id=run_id, now=now)
        transitions["opened"] += len(new)
    return transitions


def _open(session: Session, detections: list[Detection], *, as_of: datetime, run_id: int | None, now: datetime) -> None:
    """Insert new findings together (a first run opens tens of thousands), with their accounts,
    their "opened" history and their webhook events."""
    rows = [
        {"fingerprint": d.fingerprint, "status": FindingStatus.open, "first_seen": as_of, "last_seen": as_of, "reopen_count": 0,
         "last_run_id": run_id, "created_at": now, "updated_at": now, **_content(d)}
        for d in detections
    ]  # fmt: skip
    session.execute(insert(Finding.__table__), rows)
    ids: dict[str, int] = {}
    fingerprints = [row["fingerprint"] for row in rows]
    for start in range(0, len(fingerprints), LOOKUP_CHUNK):
        chunk = fingerprints[start : start + LOOKUP_CHUNK]
        ids.update(session.execute(select(Finding.fingerprint, Finding.id).where(Finding.fingerprint.in_(chunk))).all())
    links = [{"finding_id": ids[d.fingerprint], "account_id": a} for d in detections for a in sorted(set(d.account_ids))]
    if links:
        session.execute(insert(FindingAccount.__table__), links)
    events = [
        _event_row(ids[row["fingerprint"]], action="opened", to_status=FindingStatus.open, rule=row["rule"], severity=row["severity"],
                   actor=DETECTION_ACTOR, at=now, run_id=run_id)
        for row in rows
    ]  # fmt: skip
    session.execute(insert(FindingEvent.__table__), events)
    if outbox.listens_for_findings(session=session):
        # the payload is the finding as the API reads it: a transient Finding, never added to the session
        for detection, row in zip(detections, rows, strict=True):
            finding = Finding(id=ids[row["fingerprint"]], **row, resolved_at=None,
                              accounts=[FindingAccount(account_id=a) for a in sorted(set(detection.account_ids))])  # fmt: skip
            outbox.enqueue_finding_event(session=session, finding=finding, action="opened")


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


