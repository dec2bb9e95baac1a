"""Spot-check samples (抽查): reproducible, main accounts always in, and a report over a
sample prints the Tianjin 2020 Q2 figures."""
from collections import Counter

import pytest

from tests.reports import world
from tests.reports.world import END_2020Q2


def draw(client, **body) -> dict:
    response = client.post("/v1/reports/samples", json={"period": "2020Q2", "seed": "2020Q2-天津", **body})
    assert response.status_code == 201, response.text
    return response.json()


@pytest.fixture
def tianjin(session):
    """Tianjin's registry of 1,391 accounts, 40 of them main accounts."""
    accounts = world.registry(session, region_code="120000", accounts=1391, mains=40, region_name="天津市")
    session.commit()
    return accounts


def test_the_same_seed_draws_the_same_accounts(client, tianjin):
    first, again = draw(client, size=99), draw(client, size=99)
    assert first["account_ids"] == again["account_ids"] and first["id"] != again["id"]
    other = draw(client, size=99, seed="另一个种子")
    assert other["account_ids"] != first["account_ids"]


def test_main_accounts_are_always_drawn(client, tianjin):
    mains = set(tianjin[:40])
    for seed in ("a", "b", "c"):
        sample = draw(client, size=60, seed=seed)
        assert mains <= set(sample["account_ids"]) and sample["main_accounts"] == 40 and sample["drawn"] == 60


def test_a_rate_draws_that_share_of_every_stratum(client, session):
    big = world.registry(session, region_code="620000", accounts=300)
    small = world.registry(session, region_code="350426", accounts=100)
    session.commit()
    sample = draw(client, rate=0.1, strata="region")
    assert sample["population"] == 400 and sample["drawn"] == 40
    drawn = set(sample["account_ids"])
    assert (len(drawn & set(big)), len(drawn & set(small))) == (30, 10)


def test_platform_strata_keep_the_platform_mix(client, tianjin):
    sample = draw(client, size=400, strata="platform")
    mix = Counter(tianjin.index(a) % 4 for a in sample["account_ids"])  # world.registry cycles four platforms
    assert max(mix.values()) - min(mix.values()) <= 12


@pytest.mark.parametrize("body", [{}, {"rate": 0.1, "size": 10}, {"rate": 1.5}, {"size": 0}, {"size": 5, "strata": "unit"}])
def test_a_sample_needs_exactly_one_of_rate_and_size(client, body):
    response = client.post("/v1/reports/samples", json={"period": "2020Q2", "seed": "s", **body})
    assert response.status_code == 422 and response.json()["detail"]


def test_a_reader_cannot_draw_a_sample(client, make_key):
    response = client.post("/v1/reports/samples", json={"period": "2020Q2", "seed": "s", "size": 5}, headers=make_key("reader"))
    assert response.status_code == 403


def test_tianjin_2020q2_99_of_1391_checked_13_unqualified(client, session, settings, tianjin):
    sample = draw(client, size=99)
    drawn = sample["account_ids"]
    silent = [a for a in drawn if a not in tianjin[:40]][:13]
    world.silent_before(session, silent, END_2020Q2)
    world.active_before(session, [a for a in tianjin if a not in silent], END_2020Q2)
    world.detect(session, settings, END_2020Q2)
    body = client.get("/v1/reports/inspection", params={"period": "2020Q2", "sample_id": sample["id"]}).json()
    totals = body["totals"]
    assert (totals["registered"], totals["checked"], totals["qualified"], totals["unqualified"]) == (1391, 99, 86, 13)
    assert (totals["pass_rate"], totals["spot_check_rate"]) == (86.87, 7.12)
    assert body["coverage"] == "sample" and {a["account_id"] for a in body["unqualified_accounts"]} == set(silent)
    everyone = client.get("/v1/reports/inspection", params={"period": "2020Q2"}).json()["totals"]
    assert (everyone["checked"], everyone["unqualified"], everyone["spot_check_rate"]) == (1391, 13, 100.0)


def test_an_unknown_sample_is_404(client, session, settings, tianjin):
    world.detect(session, settings, END_2020Q2)
    response = client.get("/v1/reports/inspection", params={"period": "2020Q2", "sample_id": 999})
    assert response.status_code == 404 and "抽查样本" in response.json()["detail"]
