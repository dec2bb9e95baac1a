"""Each detector at the edges of its rule, over plain facts: no database, no HTTP.

Times are Beijing time unless a test says otherwise; 2020 is the year of the bulletins, and its
calendar has the National Day holiday 10-01..10-08 with Sunday 09-27 and Saturday 10-10 worked."""
from dataclasses import replace
from datetime import datetime, timedelta

import pytest

from service.clock import SHANGHAI
from service.detection.detectors import detect
from service.detection.facts import AccountFacts, DiscoveryFacts, Inspection, MessageFacts, PostFacts, Thresholds

AS_OF = datetime(2020, 6, 30, 23, 59, 59, tzinfo=SHANGHAI)  # 2020 Q2's monitoring time point


def beijing(*parts: int) -> datetime:
    return datetime(*parts, tzinfo=SHANGHAI)


def an_account(id: int = 1, **fields) -> AccountFacts:
    values = dict(
        id=id, name=f"账号{id}", platform="wechat", handle=f"handle{id}", status="active", filed=True, level="main",
        unit_id=id, unit_name=f"单位{id}", unit_group=id, region_code="120101", opened_at=beijing(2018, 1, 1),
        entered_at=beijing(2019, 1, 1), last_post_at=AS_OF - timedelta(days=1),
    )  # fmt: skip
    values.update(fields)
    return AccountFacts(**values)


def inspect(*accounts: AccountFacts, as_of: datetime = AS_OF, **facts) -> dict[str, list]:
    """rule → the detections of that rule."""
    found: dict[str, list] = {}
    for detection in detect(Inspection(as_of=as_of, thresholds=Thresholds(), accounts=list(accounts), **facts)):
        found.setdefault(detection.rule.code, []).append(detection)
    return found


def a_post(id: int, account_id: int, published_at: datetime, text: str, title: str | None = None) -> PostFacts:
    return PostFacts(id, account_id, f"p{id}", published_at, title, text, None)


def a_message(id: int, received_at: datetime, replied_at: datetime | None = None, account_id: int = 1) -> MessageFacts:
    return MessageFacts(id, account_id, f"m{id}", received_at, replied_at, "请问社保卡补办需要带什么材料？")


# --- dormant.no_update_14d and dormant.zombie_90d -------------------------------------------------


def test_an_account_silent_13_days_23_hours_is_not_flagged():
    assert inspect(an_account(last_post_at=AS_OF - timedelta(days=13, hours=23))) == {}


def test_an_account_silent_exactly_14_days_is_flagged_dormant_with_its_last_post_and_days_silent():
    last_post = AS_OF - timedelta(days=14)
    (finding,) = inspect(an_account(last_post_at=last_post))["dormant.no_update_14d"]
    assert finding.evidence["days_silent"] == 14
    assert finding.evidence["last_post_at"] == last_post.isoformat()
    assert finding.title == "「账号1」已 14 天未更新"
    assert finding.severity is None and finding.graded_severity == "medium"


def test_the_last_post_time_may_be_given_in_utc():
    # 2020-06-16 15:59:59 UTC is 23:59:59 Beijing time: exactly 14 days before the time point.
    from datetime import timezone

    last_post = datetime(2020, 6, 16, 15, 59, 59, tzinfo=timezone.utc)
    assert "dormant.no_update_14d" in inspect(an_account(last_post_at=last_post))
    assert inspect(an_account(last_post_at=last_post + timedelta(seconds=1))) == {}


def test_more_than_three_months_of_silence_is_a_zombie_on_the_same_problem_as_14_days():
    (zombie,) = inspect(an_account(last_post_at=AS_OF - timedelta(days=91)))["dormant.zombie_90d"]
    (dormant,) = inspect(an_account(last_post_at=AS_OF - timedelta(days=20)))["dormant.no_update_14d"]
    assert zombie.fingerprint == dormant.fingerprint  # one finding, whose rule and severity rise
    assert zombie.graded_severity.rank > dormant.graded_severity.rank
    assert "dormant.zombie_90d" not in inspect(an_account(last_post_at=AS_OF - timedelta(days=90)))


def test_suspended_accounts_answer_only_to_registry_rules():
    suspended = an_account(status="suspended", last_post_at=AS_OF - timedelta(days=200), filed=False)
    assert set(inspect(suspended)) == {"unregistered.not_filed"}


# --- dormant.never_posted ----------------------------------------------------------------------


def test_an_account_opened_more_than_14_days_ago_that_never_posted_is_flagged():
    (finding,) = inspect(an_account(last_post_at=None, opened_at=AS_OF - timedelta(days=15)))["dormant.never_posted"]
    assert finding.evidence["days_since_opened"] == 15 and finding.evidence["posts"] == 0


def test_an_account_opened_less_than_14_days_ago_has_its_grace_period():
    assert inspect(an_account(last_post_at=None, opened_at=AS_OF - timedelta(days=13))) == {}


def test_without_an_opening_date_a_new_entry_gets_the_grace_period_from_its_entry():
    assert inspect(an_account(last_post_at=None, opened_at=None, entered_at=AS_OF - timedelta(days=3))) == {}


def test_a_replay_before_the_account_was_entered_still_inspects_it():
    # Entering an account into the service is not opening it (DESIGN.md).
    replayed = an_account(last_post_at=None, opened_at=None, entered_at=AS_OF + timedelta(days=900))
    assert "dormant.never_posted" in inspect(replayed)


# --- dormant.stop_declared ---------------------------------------------------------------------

NOTICE = "因机构改革，本公众号自即日起停止更新，相关信息请关注“东莞人社”。感谢大家一直以来的关注！"


def stop_notice_at(published_at: datetime, account_id: int = 1) -> dict[int, PostFacts]:
    return {account_id: a_post(7, account_id, published_at, NOTICE, title="关于本公众号停止更新的声明")}


def test_a_stop_notice_inside_its_notice_period_is_not_flagged_yet():
    # Posted Friday 2020-09-25: 15 working days, with the 8-day holiday and two worked weekend days,
    # run out at the end of Thursday 10-22 (09-27, 09-28..30, 10-09, 10-10, 10-12..16, 10-19..22).
    notice_time = beijing(2020, 9, 25, 10)
    account = an_account(last_post_at=notice_time)
    found = inspect(account, as_of=beijing(2020, 10, 22, 23, 59, 59), stop_notices=stop_notice_at(notice_time))
    assert "dormant.stop_declared" not in found


def test_a_stop_notice_past_its_notice_period_on_an_active_account_is_flagged_with_the_notice():
    notice_time = beijing(2020, 9, 25, 10)
    account = an_account(last_post_at=notice_time)
    found = inspect(account, as_of=beijing(2020, 10, 23), stop_notices=stop_notice_at(notice_time))
    (finding,) = found["dormant.stop_declared"]
    notice = finding.evidence["notice"]
    assert notice["phrase"] == "停止更新的声明" and notice["excerpt"] == notice["title"] == "关于本公众号停止更新的声明"
    assert finding.evidence["closing_due"] == "2020-10-23T00:00:00+08:00"


def test_a_stop_notice_on_a_closed_or_suspended_account_is_what_should_happen():
    notice_time = beijing(2020, 1, 6, 10)
    for status in ("suspended", "closed"):
        account = an_account(status=status, last_post_at=notice_time)
        assert "dormant.stop_declared" not in inspect(account, stop_notices=stop_notice_at(notice_time))


# --- unresponsive.overdue_replies ----------------------------------------------------------------


def test_a_message_received_just_before_national_day_is_due_after_the_holiday():
    # Tuesday 09-29: 09-30, 10-09, Saturday 10-10 (worked), 10-12, 10-13 are its five working days.
    waiting = [a_message(1, beijing(2020, 9, 29, 16))]
    assert inspect(an_account(last_post_at=beijing(2020, 10, 13)), as_of=beijing(2020, 10, 13, 23, 59, 59), waiting_messages=waiting) == {}
    found = inspect(an_account(last_post_at=beijing(2020, 10, 13)), as_of=beijing(2020, 10, 14), waiting_messages=waiting)
    (finding,) = found["unresponsive.overdue_replies"]
    assert finding.evidence["overdue_count"] == 1
    assert finding.evidence["oldest_waiting_working_days"] == 5


def test_an_adjusted_working_saturday_counts_as_a_working_day():
    # Friday 10-09: Saturday 10-10 is worked, so the fifth working day is Thursday 10-15, not Friday 10-16.
    waiting = [a_message(1, beijing(2020, 10, 9, 9))]
    found = inspect(an_account(last_post_at=beijing(2020, 10, 15)), as_of=beijing(2020, 10, 16), waiting_messages=waiting)
    assert "unresponsive.overdue_replies" in found


def test_the_evidence_counts_every_overdue_message_and_shows_the_oldest_first():
    waiting = [a_message(i, beijing(2020, 6, d, 9)) for i, d in enumerate((10, 1, 5, 28), start=1)]
    (finding,) = inspect(an_account(), waiting_messages=waiting)["unresponsive.overdue_replies"]
    assert finding.evidence["overdue_count"] == 3  # 06-28 still has working days left
    assert finding.evidence["oldest_received_at"] == "2020-06-01T09:00:00+08:00"
    assert [e["interaction_id"] for e in finding.evidence["examples"]] == [2, 3, 1]


# --- duplicate.same_unit_platform ----------------------------------------------------------------


def test_three_wechat_accounts_of_one_unit_are_one_duplicate_finding_listing_all_three():
    accounts = [an_account(i, unit_id=7, unit_group=7, unit_name="尤溪县公安局", name=n) for i, n in
                enumerate(("尤溪警察蜀黍", "福建省尤溪县公安局", "尤溪公安党员e家"), start=1)]  # fmt: skip
    (finding,) = inspect(*accounts)["duplicate.same_unit_platform"]
    assert finding.account_ids == (1, 2, 3) and finding.evidence["count"] == 3
    assert finding.subject == "unit:7:wechat"


def test_a_unit_on_wechat_and_weibo_once_each_is_not_a_duplicate():
    accounts = [an_account(1, unit_group=7), an_account(2, unit_group=7, platform="weibo")]
    assert "duplicate.same_unit_platform" not in inspect(*accounts)


def test_registry_entries_of_one_unit_are_judged_as_one_unit():
    # Two registry rows for one unit (the runner groups them: unit_group), one account each.
    accounts = [an_account(1, unit_id=3, unit_group=3), an_account(2, unit_id=9, unit_group=3)]
    (finding,) = inspect(*accounts)["duplicate.same_unit_platform"]
    assert finding.evidence["unit_ids"] == [3, 9]


def test_a_suspended_second_account_is_not_counted_as_a_duplicate():
    accounts = [an_account(1, unit_group=7), an_account(2, unit_group=7, status="suspended")]
    assert "duplicate.same_unit_platform" not in inspect(*accounts)


# --- unregistered ---------------------------------------------------------------------------------


def test_an_account_not_filed_is_flagged_and_noted_when_also_long_inactive():
    (quiet,) = inspect(an_account(filed=False, last_post_at=AS_OF - timedelta(days=120)))["unregistered.not_filed"]
    (busy,) = inspect(an_account(filed=False))["unregistered.not_filed"]
    assert quiet.evidence["long_inactive"] is True and quiet.title.endswith("且长期未更新")
    assert busy.evidence["long_inactive"] is False


def discovery(name: str, handle: str | None = None, platform: str = "wechat") -> DiscoveryFacts:
    return DiscoveryFacts(5, platform, handle, name, None, "440500", AS_OF - timedelta(days=1))


@pytest.mark.parametrize(
    ("seen", "flagged"),
    [
        (discovery("别的名字", handle="gh_touzishanwei"), False),  # same platform + handle
        (discovery("投资汕尾 "), False),  # the registered name, typed with a space
        (discovery("投资汕尾", platform="weibo"), True),  # a name on another platform is another account
        (discovery("汕尾市人民政府"), True),
    ],
)
def test_a_discovered_account_is_matched_by_handle_then_by_a_close_name_on_the_same_platform(seen, flagged):
    found = inspect(
        an_account(),
        discoveries=[seen],
        registry_handles={("wechat", "gh_touzishanwei"): 1},
        registry_names={"wechat": [("投资汕尾", 1)]},
    )
    assert ("unregistered.discovered" in found) is flagged


def test_accounts_with_normal_activity_have_no_finding():
    praised = [an_account(i, name=n, last_post_at=AS_OF - timedelta(hours=5 * i)) for i, n in
               enumerate(("网信天津", "天津教育", "平安天津", "天津交通运输"), start=1)]  # fmt: skip
    answered = [a_message(1, beijing(2020, 6, 1, 9), replied_at=beijing(2020, 6, 2, 9))]
    assert inspect(*praised, waiting_messages=answered) == {}


def test_thresholds_come_from_settings():
    from service.config import Settings

    limits = Thresholds.from_settings(Settings(dormant_days=7, reply_working_days=3))
    found = detect(Inspection(as_of=AS_OF, thresholds=limits, accounts=[an_account(last_post_at=AS_OF - timedelta(days=8))]))
    assert [d.rule.code for d in found] == ["dormant.no_update_14d"]
    assert replace(limits, dormant_days=14).reply_working_days == 3
