"""The detection runner: loads plain facts as of the monitoring time point, calls the
detectors, stores what they found, and records the run."""
import logging
import time
from collections import Counter, defaultdict
from datetime import datetime, timedelta

from sqlalchemy import func, or_, select, true, tuple_
from sqlalchemy.orm import Session

from service import clock
from service.activity.models import Interaction, Post
from service.config import Settings
from service.db import rows_of
from service.detection.classifier.service import classified_posts
from service.detection.classifier.store import ModelStore, store_for
from service.detection.detectors import detect
from service.detection.duplicate import content_groups
from service.detection.facts import AccountFacts, DiscoveryFacts, Inspection, MessageFacts, PostFacts, Thresholds
from service.detection.models import DetectionRun
from service.detection.stop_notice import find_stop_notice, sql_prefilter_phrases
from service.detection.unit_identity import UnitRecord, plain_names, unit_groups
from service.findings import service as findings
from service.findings.models import Finding, FindingStatus
from service.registry.codes import region_covers
from service.registry.models import Account, AccountStatus, Discovery, Unit
from service.reports import snapshots

log = logging.getLogger("service.detection")
CHUNK = 500
INGEST_MARGIN = timedelta(minutes=10)  # longer than any ingest transaction


def _chunks(values: list, size: int = CHUNK):
    for start in range(0, len(values), size):
        yield values[start : start + size]


def _covered_units(session: Session, *, region_code: str | None, unit_id: int | None, account_ids: list[int] | None):
    """The units a run inspects (None: all), widened to every registry entry of the same
    unit so that a unit listed twice is judged as one."""
    units = [UnitRecord(*row) for row in session.execute(select(Unit.id, Unit.name, Unit.region_code, Unit.region_name, Unit.credit_code))]
    groups = unit_groups(units)
    if region_code is None and unit_id is None and account_ids is None:
        return None, groups, {u.id: u for u in units}
    scoped = {u.id for u in units if region_code is None or region_covers(region_code, u.region_code)}
    if unit_id is not None:
        scoped &= {unit_id}
    if account_ids is not None:
        wanted = set(account_ids)
        query = select(Account.id, Account.unit_id)
        scoped &= {unit for condition in rows_of(Account.id, wanted) for account, unit in session.execute(query.where(condition)) if account in wanted}
    wanted_groups = {groups[u] for u in scoped}
    return {u for u, g in groups.items() if g in wanted_groups}, groups, {u.id: u for u in units}


def _last_posts(session: Session, accounts: list, as_of: datetime) -> dict[int, datetime]:
    """Each account's latest post at or before as_of. The stored last_post_at answers for
    every account that has not posted since; only the others are asked of the posts."""
    latest = {a.id: a.last_post_at for a in accounts if a.last_post_at is not None and a.last_post_at <= as_of}
    later = {a.id for a in accounts if a.last_post_at is not None and a.last_post_at > as_of}  # all of them, replaying a past time point
    for condition in rows_of(Post.account_id, later):
        query = select(Post.account_id, func.max(Post.published_at)).where(condition, Post.published_at <= as_of).group_by(Post.account_id)
        latest.update((account, last) for account, last in session.execute(query) if account in later)
    return latest


POST_FACTS = (Post.id, Post.account_id, Post.external_id, Post.published_at, Post.title, Post.text, Post.url)


def _post_facts(row) -> PostFacts:
    post_id, account_id, external_id, published_at, title, text, url = row
    return PostFacts(post_id, account_id, external_id, published_at, title, text or "", url)


def _stop_notices(session: Session, accounts: list[AccountFacts], as_of: datetime, limits: Thresholds) -> dict[int, PostFacts]:
    """Accounts whose latest post is a stop notice. A notice only counts once its notice
    period has run, and every working day is at least a calendar day, so only accounts
    silent that many calendar days need a look."""
    quiet_since = as_of - timedelta(days=limits.stop_notice_working_days)
    candidates = [(a.id, a.last_post_at) for a in accounts if a.status == AccountStatus.active and a.last_post_at and a.last_post_at <= quiet_since]
    phrases = sql_prefilter_phrases()
    notices: dict[int, PostFacts] = {}
    for chunk in _chunks(candidates):
        query = select(*POST_FACTS).where(
            tuple_(Post.account_id, Post.published_at).in_(chunk),
            or_(*[Post.text.contains(p) for p in phrases], *[Post.title.contains(p) for p in phrases]),
        )
        for row in session.execute(query):
            post = _post_facts(row)
            if find_stop_notice(post.title, post.text):
                notices[post.account_id] = post
    return notices


def _waiting_messages(session: Session, account_ids: set[int] | None, as_of: datetime, limits: Thresholds) -> list[MessageFacts]:
    """Messages still unanswered at as_of and older than N calendar days (N working days
    are at least that); the detector applies the holiday calendar."""
    query = select(
        Interaction.id, Interaction.account_id, Interaction.external_id, Interaction.received_at, Interaction.replied_at, Interaction.text
    ).where(
        Interaction.received_at <= as_of - timedelta(days=limits.reply_working_days),
        or_(Interaction.replied_at.is_(None), Interaction.replied_at > as_of),
    )
    conditions = [true()] if account_ids is None else rows_of(Interaction.account_id, account_ids)
    rows = (row for condition in conditions for row in session.execute(query.where(condition)))
    return [MessageFacts(*row[:5], row[5] or "") for row in rows if account_ids is None or row[1] in account_ids]


def _recent_posts(session: Session, inspection: Inspection) -> dict[int, list[PostFacts]]:
    """Posts in the content window of accounts whose content is compared with another's of their unit and platform."""
    ids = {a.id for accounts in content_groups(inspection).values() for a in accounts}
    since = inspection.as_of - timedelta(days=inspection.thresholds.content_window_days)
    posts: dict[int, list[PostFacts]] = defaultdict(list)
    for condition in rows_of(Post.account_id, ids):
        query = select(*POST_FACTS).where(condition, Post.published_at > since, Post.published_at <= inspection.as_of)
        for row in session.execute(query):
            if row.account_id in ids:
                posts[row.account_id].append(_post_facts(row))
    return posts


def _discoveries(session: Session, region_code: str | None, as_of: datetime) -> list[DiscoveryFacts]:
    rows = session.scalars(select(Discovery).where(Discovery.seen_at <= as_of))
    return [
        DiscoveryFacts(d.id, d.platform, d.handle, d.name, d.url, d.region_code, d.seen_at)
        for d in rows
        if region_code is None or (d.region_code and region_covers(region_code, d.region_code))
    ]


def build_inspection(
    session: Session,
    *,
    as_of: datetime,
    thresholds: Thresholds,
    region_code: str | None = None,
    unit_id: int | None = None,
    account_ids: list[int] | None = None,
    classifier: ModelStore | None = None,
    classifier_threshold: float = 0.5,
) -> tuple[Inspection, set[int] | None]:
    covered, groups, units = _covered_units(session, region_code=region_code, unit_id=unit_id, account_ids=account_ids)
    sees_discoveries = unit_id is None and account_ids is None  # and so matches them against the whole registry
    columns = (
        Account.id, Account.name, Account.platform, Account.handle, Account.status, Account.filed, Account.level,
        Account.unit_id, Account.opened_at, Account.created_at, Account.last_post_at,
    )  # fmt: skip
    conditions = [true()] if covered is None or sees_discoveries else rows_of(Account.unit_id, covered)
    registry = [row for condition in conditions for row in session.execute(select(*columns).where(condition))]
    inspected = [a for a in registry if a.status != AccountStatus.closed and (covered is None or a.unit_id in covered)]
    last_posts = _last_posts(session, inspected, as_of)
    accounts = [
        AccountFacts(
            id=a.id, name=a.name, platform=a.platform, handle=a.handle, status=a.status, filed=a.filed, level=a.level,
            unit_id=a.unit_id, unit_name=units[a.unit_id].name, unit_group=groups[a.unit_id],
            region_code=units[a.unit_id].region_code, opened_at=a.opened_at, entered_at=a.created_at,
            last_post_at=last_posts.get(a.id),
        )
        for a in inspected
    ]  # fmt: skip
    focus = frozenset(account_ids) if account_ids is not None else None
    inspection = Inspection(as_of=as_of, thresholds=thresholds, accounts=accounts, focus=focus)
    judged = inspection.judged_accounts()
    inspection.stop_notices = _stop_notices(session, judged, as_of, thresholds)
    inspection.waiting_messages = _waiting_messages(session, None if covered is None else {a.id for a in judged}, as_of, thresholds)
    inspection.recent_posts = _recent_posts(session, inspection)
    if classifier is not None:
        inspection.window_posts, inspection.classified_posts = classified_posts(
            session=session, store=classifier, threshold=classifier_threshold, account_ids=[a.id for a in judged],
            since=as_of - timedelta(days=thresholds.content_window_days), until=as_of,
        )  # fmt: skip
    if sees_discoveries:
        # Discoveries belong to no unit: only runs over the whole registry or a region see them.
        inspection.discoveries = _discoveries(session, region_code, as_of)
        names: dict[str, list[tuple[str, int]]] = defaultdict(list)
        for a, name in zip(registry, plain_names(a.name for a in registry), strict=True):
            inspection.registry_handles[(a.platform, a.handle)] = a.id
            names[a.platform].append((name, a.id))
        inspection.registry_names = dict(names)
    return inspection, covered


def _subject_account(finding: findings.Known) -> int | None:
    # The fingerprint is "<problem>:<subject>"; an account's own findings have the subject account:<id>.
    _problem, kind, subject = finding.fingerprint.rsplit(":", 2)
    return int(subject) if kind == "account" else None


def _subject_group(finding: findings.Known) -> tuple[int, str] | None:
    # a unit's platform: "<problem>:unit:<unit group>:<platform>"
    parts = finding.fingerprint.rsplit(":", 3)
    return (int(parts[2]), parts[3]) if len(parts) == 4 and parts[1] == "unit" else None


def _findings_in_scope(
    session: Session, covered: set[int] | None, region_code: str | None, sees_discoveries: bool, focus: frozenset[int] | None = None,
    compared: set[tuple[int, str]] | None = None,
) -> list[findings.Known]:
    """The unresolved findings this run could see again: those it does not see are resolved."""
    unresolved = Finding.status != FindingStatus.resolved
    if covered is None:
        candidates = findings.known_findings(session=session, where=unresolved)
    else:
        candidates = [
            k for condition in rows_of(Finding.unit_id, covered)
            for k in findings.known_findings(session=session, where=unresolved & condition) if k.unit_id in covered
        ]  # fmt: skip
        if sees_discoveries:
            candidates += findings.known_findings(session=session, where=unresolved & (Finding.rule == "unregistered.discovered"))

    def visible(finding: findings.Known) -> bool:
        if finding.rule == "unregistered.discovered":
            return sees_discoveries and (region_code is None or bool(finding.region_code and region_covers(region_code, finding.region_code)))
        if finding.unit_id is None or (covered is not None and finding.unit_id not in covered):
            return False
        if finding.rule == "duplicate.near_identical_content" and compared is not None:
            return _subject_group(finding) in compared
        account = _subject_account(finding)
        return focus is None or account is None or account in focus

    return [finding for finding in candidates if visible(finding)]


def run_detection(
    *,
    session: Session,
    settings: Settings,
    as_of: datetime | None = None,
    region_code: str | None = None,
    unit_id: int | None = None,
    account_ids: list[int] | None = None,
    incremental: bool = False,
    trigger: str = "api",
    requested_by: str | None = None,
) -> DetectionRun:
    """One detection run, written in the caller's transaction."""
    started = time.perf_counter()
    as_of = clock.as_aware(as_of) if as_of else clock.now()
    if incremental and account_ids is None:
        account_ids = changed_since_last_run(session)
    run = DetectionRun(
        as_of=as_of, region_code=region_code, unit_id=unit_id, incremental=account_ids is not None,
        trigger=trigger, requested_by=requested_by, status="running", started_at=clock.now(),
    )  # fmt: skip
    session.add(run)
    session.flush()
    inspection, covered = build_inspection(
        session, as_of=as_of, thresholds=Thresholds.from_settings(settings),
        region_code=region_code, unit_id=unit_id, account_ids=account_ids,
        classifier=store_for(settings), classifier_threshold=settings.classifier_threshold,
    )  # fmt: skip
    detections = detect(inspection)
    in_scope = _findings_in_scope(
        session, covered, region_code, sees_discoveries=unit_id is None and account_ids is None, focus=inspection.focus,
        compared=set(content_groups(inspection)) if inspection.focus is not None else None,
    )  # fmt: skip
    transitions = findings.reconcile(session=session, detections=detections, in_scope=in_scope, as_of=as_of, run_id=run.id)
    snapshots.record_run_findings(session=session, run_id=run.id)  # what held at as_of, for reports
    run.accounts_checked = len(inspection.judged_accounts())
    run.counts = {
        "by_type": dict(Counter(d.rule.type.value for d in detections)),
        "by_rule": dict(Counter(d.rule.code for d in detections)),
    }
    run.transitions = dict(transitions)
    run.status = "completed"
    run.finished_at = clock.now()
    session.flush()
    log.info(
        "detection run finished",
        extra={"fields": {"run_id": run.id, "accounts": run.accounts_checked, "findings": len(detections),
                          "seconds": round(time.perf_counter() - started, 2)}},
    )  # fmt: skip
    return run


def changed_since_last_run(session: Session) -> list[int]:
    """Accounts whose activity or registry entry changed since the last completed run over the whole
    registry began (a run limited to a region or a unit saw only part of the changes)."""
    last = session.scalar(
        select(func.max(DetectionRun.started_at)).where(
            DetectionRun.status == "completed", DetectionRun.region_code.is_(None), DetectionRun.unit_id.is_(None)
        )
    )
    if last is None:
        return list(session.scalars(select(Account.id)))
    # A push stamps activity_changed_at before it commits: a change committed just after that run
    # began carries an earlier stamp, so the window reaches back further. Seeing an account twice is harmless.
    since = last - INGEST_MARGIN
    query = select(Account.id).where(or_(Account.activity_changed_at >= since, Account.updated_at >= since))
    return list(session.scalars(query))
