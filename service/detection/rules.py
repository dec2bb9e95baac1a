"""Every rule the detectors apply: its code, finding type, the problem it belongs to, its
severity, a Chinese title and the source it rests on (DOMAIN.md). One place to read them all.

`problem` is the fingerprint's first half: rules of one problem share one finding, so
the silence ladder dormant.no_update_14d → dormant.zombie_90d raises one finding's rule
and severity instead of opening a second finding."""
from dataclasses import dataclass

from service.findings.models import FindingType, Severity

GUOBAN_2019_19 = "国办秘函〔2019〕19号《政府网站与政务新媒体检查指标》"
GUOBAN_2018_123 = "国办发〔2018〕123号《关于推进政务新媒体健康有序发展的意见》"


@dataclass(frozen=True)
class Rule:
    code: str
    type: FindingType
    problem: str
    severity: Severity
    title: str
    description: str
    single_veto: bool = False  # 单项否决: one such finding makes the account unqualified


RULES: dict[str, Rule] = {
    rule.code: rule
    for rule in (
        Rule(
            "dormant.no_update_14d", FindingType.dormant, "dormant.silence", Severity.medium,
            "内容不更新：监测时间点前2周内无更新",
            f"监测时间点前 2 周内无更新，为单项否决指标（{GUOBAN_2019_19}：「监测时间点前2周内无更新」）。",
            single_veto=True,
        ),
        Rule(
            "dormant.zombie_90d", FindingType.dormant, "dormant.silence", Severity.high,
            "僵尸账号：超过3个月未更新",
            f"超过 3 个月无更新，列入僵尸账号（贵州省 2025 年僵尸账号标准；亦违反{GUOBAN_2019_19}「2周内无更新」单项否决）。",
            single_veto=True,
        ),
        Rule(
            "dormant.never_posted", FindingType.dormant, "dormant.never_posted", Severity.high,
            "开设后从未发布内容",
            f"账号开设超过 2 周仍无任何发布（{GUOBAN_2019_19}：「监测时间点前2周内无更新」）。",
            single_veto=True,
        ),
        Rule(
            "dormant.stop_declared", FindingType.dormant, "dormant.stop_declared", Severity.high,
            "发布停止更新声明后未及时清理注销",
            "账号已发布停更、迁移或注销声明，公示期满仍在登记中为正常运行状态（通报用语：「发布停止更新声明后未及时清理注销」；"
            f"{GUOBAN_2018_123}：开设、变更、暂停、关闭应备案；云南省：停更声明公示不少于 15 个工作日后注销）。",
        ),
        Rule(
            "off_topic.posts", FindingType.off_topic, "off_topic.posts", Severity.medium,
            "发布与政务工作无关的信息",
            "账号在监测时间点前的内容窗口内发布了与政务工作无关的社会信息、心灵鸡汤、娱乐八卦、广告等内容"
            f"（通报用语：「发布与政务工作无关的社会信息、心灵鸡汤」；{GUOBAN_2018_123}：政务新媒体不得发布商业广告）。"
            "每条帖子的判定附分数与依据；编辑人工标注优先于模型。",
        ),
        Rule(
            "duplicate.same_unit_platform", FindingType.duplicate, "duplicate.same_unit_platform", Severity.medium,
            "同一单位在同一平台开设多个账号",
            f"{GUOBAN_2018_123}：「一个单位原则上在同一平台只开设一个政务新媒体账号」，功能相近、用户关注度低的应整合或关停。",
        ),
        Rule(
            "duplicate.near_identical_content", FindingType.duplicate, "duplicate.near_identical_content", Severity.low,
            "同一单位同一平台的账号发布内容高度雷同",
            f"同一单位在同一平台的多个账号发布近乎相同的内容，属功能重复的冗余账号（{GUOBAN_2018_123}：功能相近的应整合）。"
            "同一内容分发到单位的微信和微博属正常做法，不在此列。",
        ),
        Rule(
            "unresponsive.overdue_replies", FindingType.unresponsive, "unresponsive.overdue_replies", Severity.high,
            "留言超期未回复",
            f"公众留言超过规定工作日未作出有效回复（{GUOBAN_2019_19}「互动回应差」单项否决；湖南省 2022 年：简单咨询 5 个工作日内答复）。",
            single_veto=True,
        ),
        Rule(
            "unregistered.not_filed", FindingType.unregistered, "unregistered.not_filed", Severity.medium,
            "账号未登记备案",
            f"账号已开设但未按规定备案（{GUOBAN_2018_123}：开设、变更、暂停、关闭均应备案；通报用语「瞒报漏报、未上报备案」）。",
        ),
        Rule(
            "unregistered.discovered", FindingType.unregistered, "unregistered.discovered", Severity.medium,
            "平台上发现未登记的政务账号",
            f"其他系统在平台上发现的政务账号在登记库中找不到（{GUOBAN_2018_123}：开设政务新媒体应备案；通报用语「瞒报漏报」）。",
        ),
    )
}  # fmt: skip
