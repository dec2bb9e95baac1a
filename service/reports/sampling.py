"""Spot-check samples (抽查): reproducible draws from the registry. Main accounts (区级主号、
市级部门主号, level=main) are always in; the rest are allocated to strata (regions or
platforms) in proportion to their size and, inside a stratum, taken in the order of a
hash of the seed and the account's platform and handle — so the same seed over the same
registry draws the same accounts, whatever order the rows are stored in."""
import hashlib
import math
from collections import defaultdict
from decimal import ROUND_HALF_UP, Decimal

from sqlalchemy import insert, select
from sqlalchemy.orm import Session

from service.errors import Problem
from service.registry.codes import region_prefix
from service.registry.models import Account, AccountStatus, Level, Unit
from service.reports.models import Sample, SampleAccount
from service.reports.periods import Period


def _order(seed: str, platform: str, handle: str) -> bytes:
    return hashlib.sha256(f"{seed}\x00{platform}\x00{handle}".encode()).digest()


def allocate(quota: int, sizes: dict[str, int]) -> dict[str, int]:
    """quota split across strata in proportion to their sizes (largest remainder, ties by name)."""
    total = sum(sizes.values())
    if total == 0 or quota <= 0:
        return {key: 0 for key in sizes}
    exact = {key: Decimal(quota) * size / total for key, size in sizes.items()}
    shares = {key: math.floor(value) for key, value in exact.items()}
    left = quota - sum(shares.values())
    for key in sorted(sizes, key=lambda k: (-(exact[k] - shares[k]), k))[:left]:
        shares[key] += 1
    return shares


def draw(
    *,
    session: Session,
    period: Period,
    seed: str,
    strata: str,
    rate: float | None = None,
    size: int | None = None,
    region_code: str | None = None,
    created_by: str | None = None,
) -> Sample:
    query = select(Account.id, Account.platform, Account.handle, Account.level, Unit.region_code).join(Unit, Unit.id == Account.unit_id)
    query = query.where(Account.status != AccountStatus.closed)
    if region_code:
        query = query.where(Unit.region_code.startswith(region_prefix(region_code)))
    population = list(session.execute(query))
    if not population:
        raise Problem(422, "抽样范围内没有登记在册的账号")
    wanted = size if size is not None else int((Decimal(str(rate)) * len(population)).quantize(Decimal(1), rounding=ROUND_HALF_UP))
    wanted = min(max(wanted, 1), len(population))
    mains = [row for row in population if row.level == Level.main]
    others: dict[str, list] = defaultdict(list)
    for row in population:
        if row.level != Level.main:
            others[row.region_code if strata == "region" else row.platform].append(row)
    shares = allocate(wanted - len(mains), {key: len(rows) for key, rows in others.items()})
    chosen = [row.id for row in mains]
    for key, rows in others.items():
        rows.sort(key=lambda r: _order(seed, r.platform, r.handle))
        chosen += [row.id for row in rows[: shares[key]]]
    sample = Sample(
        period=period.label, region_code=region_code, rate=rate, size=size, seed=seed, strata=strata,
        population=len(population), drawn=len(chosen), main_accounts=len(mains), created_by=created_by,
    )  # fmt: skip
    session.add(sample)
    session.flush()
    if chosen:
        session.execute(insert(SampleAccount), [{"sample_id": sample.id, "account_id": a} for a in sorted(chosen)])
    return sample


def members(*, session: Session, sample_id: int) -> list[int]:
    return list(session.scalars(select(SampleAccount.account_id).where(SampleAccount.sample_id == sample_id).order_by(SampleAccount.account_id)))
