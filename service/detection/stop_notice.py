"""停更声明: does one post announce that its own account stops updating, moves, merges or closes?

Rule: bulletins name accounts that 「发布停止更新声明后未及时清理注销」 (东莞市人社局洪梅分局,
榕城区环境保护局, 2020), and 国办发〔2018〕123号 《关于推进政务新媒体健康有序发展的意见》 has opening,
changing, suspending and closing an account filed. So a stop notice on an account the registry still
holds as active is a `dormant` finding ("stop declared, not closed"). This module only reads one post;
the detector compares what it finds with the registry.

A post is a stop notice when
- a standalone phrase (停更声明, 停止运营公告 …) stands in it, or
- one sentence names this account (本号, 本公众号, 该账号 …) as the thing that stops
  (停止更新, 迁移至, 已合并至, 即将注销 …);
unless, in that sentence, the nearest subject before the phrase or its object right after it is
something else (公交线路, 旧版客户端, 某公司, 栏目), the phrase is negated (本号不会停更), or the sentence
resumes, denies or reports (恢复更新, 谣言, 通报 …). The title is a sentence of its own. Every phrase list is in
data/stop_notice.json.

Text is compared after normalising: NFKC (full-width to half-width), the traditional forms of the
listed characters folded to simplified, spaces between Chinese characters removed. Evidence quotes the
sentence as written and names the phrase as listed.
"""
import json
import re
import unicodedata
from dataclasses import dataclass
from importlib import resources
from itertools import product

_DATA = json.loads(resources.files(__package__).joinpath("data/stop_notice.json").read_text("utf-8"))

# Chinese characters and the punctuation written between them; a space between two of them is layout
# (本 号 停 更), never a word break. Newlines are kept: they end sentences.
_CJK = r"[\u2e80-\u9fff\uf900-\ufaff\u201c\u201d\u2018\u2019]"
_SPACES_INSIDE_CHINESE = re.compile(rf"(?<={_CJK})[ \t\u200b-\u200d\ufeff]+(?={_CJK})")


def _phrases(node: dict) -> list[str]:
    return node["phrases"]


def _alternation(phrases: list[str]) -> str:
    # Longest first, so that 暂停更新 wins over 停更 and 本公众号 over 本号 at the same position.
    return "|".join(re.escape(p) for p in sorted(set(phrases), key=len, reverse=True))


_STANDALONE = frozenset(_phrases(_DATA["standalone"]))
_STOP_PHRASES = _phrases(_DATA["stop_phrases"])
_EXCLUSIONS = _DATA["exclusions"]
_NOTICE_PHRASE = re.compile(_alternation([*_STANDALONE, *_STOP_PHRASES]))
# Who stops: the account itself ("own"), unless it is reporting (本号讯), or someone else ("other").
_SUBJECT = re.compile(
    f"(?P<own>(?:{_alternation(_phrases(_DATA['self_references']))})"
    f"(?!{_alternation(_phrases(_DATA['self_references']['not_when_followed_by']))}))"
    f"|(?P<other>{_alternation(_phrases(_EXCLUSIONS['other_subjects']))})",
    re.IGNORECASE,
)
_COUNTER_PHRASE = re.compile(_alternation(_phrases(_EXCLUSIONS["counter_phrases"])))
_NEGATIONS = tuple(_phrases(_EXCLUSIONS["negations"]))
_SENTENCE_BREAK = re.compile(f"[{re.escape(_DATA['sentence_breaks'])}]+")
_CLAUSE_BREAK = re.compile(f"[{re.escape(_DATA['clause_breaks'])}]")
_EVIDENCE_MAX_CHARS: int = _DATA["evidence_max_chars"]
_SIMPLIFIED_OF: dict[str, str] = _DATA["traditional_to_simplified"]["characters"]
_TRADITIONAL = re.compile(f"[{''.join(_SIMPLIFIED_OF)}]")
_TO_SIMPLIFIED = str.maketrans(_SIMPLIFIED_OF)


@dataclass(frozen=True)
class StopNotice:
    """Evidence for the finding: the listed phrase that matched and the sentence it stands in."""

    phrase: str
    sentence: str


def find_stop_notice(title: str | None, text: str) -> StopNotice | None:
    """The stop notice a post makes, or None. Pure and cheap: it runs on every post of every account."""
    for part in (title, text):
        if not part or _NOTICE_PHRASE.search(_normalise(part)) is None:  # most posts stop here
            continue
        for sentence in _SENTENCE_BREAK.split(part):
            notice = _notice_in(sentence.strip())
            if notice is not None:
                return notice
    return None


def sql_prefilter_phrases() -> list[str]:
    """Phrases for a SQL pre-filter (`text LIKE '%' || phrase || '%'` for any of them).

    Invariant: every post find_stop_notice flags contains at least one of these verbatim, because a
    notice is always found through a standalone or a stop phrase; phrases that contain a shorter one
    are left out (停更 already finds 停更声明), and the traditional spellings are added (停止運營).
    Normalising also removes spaces between Chinese characters, so a post that spells a phrase out
    with spaces (停 更) is found only when the filter compares `replace(text, ' ', '')`.
    """
    phrases = {*_STANDALONE, *_STOP_PHRASES}
    phrases |= {variant for phrase in phrases for variant in _traditional_spellings(phrase)}
    return sorted(p for p in phrases if not any(q != p and q in p for q in phrases))


def _normalise(text: str) -> str:
    text = unicodedata.normalize("NFKC", text)
    if _TRADITIONAL.search(text):  # translate() is the slow step; simplified posts skip it
        text = text.translate(_TO_SIMPLIFIED)
    return _SPACES_INSIDE_CHINESE.sub("", text)


def _notice_in(sentence: str) -> StopNotice | None:
    normalised = _normalise(sentence)
    if _COUNTER_PHRASE.search(normalised):
        return None
    for phrase in _NOTICE_PHRASE.finditer(normalised):
        if _account_stops(normalised, phrase):
            return StopNotice(phrase=phrase.group(), sentence=_evidence(sentence, normalised, phrase))
    return None


def _account_stops(sentence: str, phrase: re.Match[str]) -> bool:
    if sentence[: phrase.start()].endswith(_NEGATIONS):
        return False
    clause_end = _CLAUSE_BREAK.search(sentence, phrase.end())
    named_after = _SUBJECT.search(sentence, phrase.start(), clause_end.start() if clause_end else len(sentence))
    if named_after is not None and named_after.lastgroup == "other":  # 停止更新「每日一练」栏目: a column stops
        return False
    # The subject of a Chinese sentence comes before its verb: the nearest one decides who stops.
    named_before = list(_SUBJECT.finditer(sentence, 0, phrase.start()))
    if named_before:
        return named_before[-1].lastgroup == "own"
    if phrase.group() in _STANDALONE:  # a bare title: 停更声明
        return True
    # 即日起停止更新本公众号: the account is the object.
    return named_after is not None and named_after.lastgroup == "own"


def _evidence(sentence: str, normalised: str, phrase: re.Match[str]) -> str:
    """The sentence as written, or the part of it around the phrase, marked with … where it was cut."""
    if len(sentence) <= _EVIDENCE_MAX_CHARS:
        return sentence
    # Where the phrase starts in the sentence as written: the shortest prefix normalising up to it.
    low, high = 0, len(sentence)
    while low < high:
        middle = (low + high) // 2
        if len(_normalise(sentence[:middle])) < phrase.start():
            low = middle + 1
        else:
            high = middle
    room = _EVIDENCE_MAX_CHARS - 2  # one … at each end
    start = max(0, min(low - (room - len(phrase.group())) // 2, len(sentence) - room))
    end = start + room
    return ("…" if start > 0 else "") + sentence[start:end] + ("…" if end < len(sentence) else "")


def _traditional_spellings(phrase: str) -> set[str]:
    forms: dict[str, list[str]] = {}
    for traditional, simplified in _SIMPLIFIED_OF.items():
        forms.setdefault(simplified, []).append(traditional)
    spellings = {"".join(chars) for chars in product(*(forms.get(c, [c]) for c in phrase))}
    return spellings - {phrase}
