"""Which registry rows are one and the same unit (主办单位).

Rule `duplicate.same_unit_platform` applies 国办发〔2018〕123号 《关于推进政务新媒体健康有序发展的意见》:
「一个单位原则上在同一平台只开设一个政务新媒体账号」. Counting a unit's accounts on a platform only
works if the unit is recognised under every spelling the registries file it under: 福建省尤溪县公安局,
尤溪縣公安局, "尤溪县 公安局" and （福建）尤溪县公安局 are all 尤溪县公安局 (region 350426), which ran
three WeChat accounts in the 2020 Fujian bulletin. Two rows are one unit when they share a unified social
credit code (统一社会信用代码), or when they sit in the same region and their names normalise alike.

Pure functions over plain records; the caller loads units from the registry.
"""

import json
import re
import unicodedata
from collections.abc import Iterable
from dataclasses import dataclass
from functools import cache, lru_cache
from pathlib import Path

import opencc

# 34 provincial-level divisions by the first two digits of GB/T 2260: full name first, then short forms.
PROVINCES_FILE = Path(__file__).with_name("data") / "provinces.json"

# Stripping a region name must leave a name, not a stray character: 福建省委 stays 福建省委, never 委.
MIN_NAME_LENGTH = 2

# NFKC has already turned full-width （）［］｛｝＜＞＂＇ and every wide or ideographic space into ASCII, so
# the whitespace Python knows apart from those, the ASCII brackets and quotes and the CJK ones NFKC keeps
# are enough. Zero-width characters ride along in copy-pasted names. The newline is missing on purpose:
# it separates the names of a batch (see _plain_names). One character class is several times faster
# than \s combined with a class.
_DROPPED = re.compile(
    r"[\t\x0b\x0c\r \x1c-\x1f\x85\u1680\u2028\u2029\u200b-\u200d\u2060\ufeff"
    r"()\[\]{}<>\"'`【】〔〕〖〗〘〙〚〛「」『』﹁﹂﹃﹄《》〈〉“”‘’]+"
)

# Suffixes that end the name of an administrative division (行政区划), longest first so that
# 广西壮族自治区 ends at 自治区 and not at 区. A bare 州 is left out: every prefecture named 州 today is a
# 自治州 or a 市, while 州 inside names (福州市, 通州区) would cut them in two.
_DIVISION_SUFFIXES = ("特别行政区", "自治区", "自治州", "自治县", "自治旗", "地区", "省", "市", "县", "区", "旗", "盟")
_DIVISION = re.compile(".+?(?:" + "|".join(_DIVISION_SUFFIXES) + ")")
_PROVINCE_SUFFIXES = ("省", "自治区", "特别行政区")

# Level names GB/T 2260 has used in place of a real division: 北京市市辖区东城区, 重庆市县巫山县.
_PLACEHOLDERS = ("省直辖县级行政区划", "自治区直辖县级行政区划", "直辖县级行政区划", "市辖区", "县")

# A short province form followed by one of these starts a longer division name, not the province:
# 吉林市公安局 is the prefecture 吉林市, not 吉林(省) + 市公安局.
_DIVISION_NAME_GOES_ON = ("省", "市", "县", "区", "州", "盟", "旗", "自治", "特别行政区")

_t2s: opencc.OpenCC | None = None


@dataclass(frozen=True)
class UnitRecord:
    id: int
    name: str
    region_code: str
    region_name: str | None
    credit_code: str | None


@dataclass(frozen=True)
class _UnitRegion:
    """How a unit's own region can be written at the start of its name, and what to keep of it."""

    spellings: tuple[tuple[str, bool, bool], ...]  # (text, own, bare), longest first: 吉林市 before 吉林
    texts: tuple[str, ...]  # all the texts, for one str.startswith that rules most names out
    own_texts: tuple[str, ...]
    own_name: str | None  # the unit's own division as the key spells it
    own_certain: bool  # the own division was named with its suffix (尤溪县), not guessed from a bare tail

    def key(self, plain_name: str) -> str:
        # Names above the unit's own level (province, prefecture) are dropped where they lead into a name
        # of the unit's region (福建省三明市尤溪县… → 尤溪县…), as long as a name is left. The unit's own
        # level is kept: 尤溪县 is what tells 尤溪县公安局 from 三明市公安局 and from the province's 公安厅,
        # and a key that reads like the unit's usual name is one a finding can show. It is dropped only
        # where it repeats (尤溪县尤溪县公安局), and a short province form becomes the full one
        # (福建公安厅 → 福建省公安厅) so a provincial unit's spellings still meet.
        # Runs once per unit of a registry, so the loops stay inline.
        name = plain_name
        while name.startswith(self.texts):
            for text, own, bare in self.spellings:
                # A bare form followed by a suffix is a longer name: 吉林市 is not 吉林(省) + 市.
                if name.startswith(text) and not (bare and name.startswith(_DIVISION_NAME_GOES_ON, len(text))):
                    break
            else:
                break
            rest = name[len(text) :]
            if len(rest) < MIN_NAME_LENGTH:
                break
            if own and not (rest.startswith(self.own_texts) and self._starts_with_region(rest, own_only=True)):
                return f"{self.own_name}{rest}"
            if not own and self.own_certain and not (rest.startswith(self.texts) and self._starts_with_region(rest)):
                # A higher division followed by the body itself is that division's unit, not a prefix of
                # ours: 三明市人民政府 and 福建省人民政府 filed in 350426 are two units, and stripping both
                # to 人民政府 merged them. Where the own division is unknown or guessed, the province still goes.
                break
            name = rest
        return name

    def _starts_with_region(self, rest: str, *, own_only: bool = False) -> bool:
        return any(
            rest.startswith(text) and not (bare and rest.startswith(_DIVISION_NAME_GOES_ON, len(text)))
            for text, own, bare in self.spellings
            if own or not own_only
        )


def normalize_unit_name(name: str, region_code: str, region_name: str | None) -> str:
    """The key under which a unit's spellings meet: 福建省尤溪县公安局 in 350426 → 尤溪县公安局.

    Only names of the unit's own region are stripped; 天津市公安局 filed in 350426 keeps 天津市.
    """
    return _unit_region(region_code, region_name).key(_plain_names([name])[0])


def unit_groups(units: Iterable[UnitRecord]) -> dict[int, int]:
    """Unit id → the smallest unit id of the group of registry rows that are one unit.

    Rows join when they share a credit code or a (region code, normalised name); joining is transitive,
    so a row without a credit code still reaches, through its name, the rows that carry one.
    """
    units = list(units)
    parent: dict[int, int] = {}
    first_with_credit_code: dict[str, int] = {}
    first_with_name: dict[tuple[str, str], int] = {}

    def find(unit_id: int) -> int:
        root = unit_id
        while parent[root] != root:
            root = parent[root]
        while parent[unit_id] != root:  # path compression keeps later finds short
            parent[unit_id], unit_id = root, parent[unit_id]
        return root

    def join(a: int, b: int) -> None:
        root_a, root_b = find(a), find(b)
        # The smaller id stays the root, so each group's representative is its smallest id without a final pass.
        if root_a < root_b:
            parent[root_b] = root_a
        elif root_b < root_a:
            parent[root_a] = root_b

    for unit, plain_name in zip(units, _plain_names([unit.name for unit in units]), strict=True):
        unit_id = unit.id
        parent.setdefault(unit_id, unit_id)
        if credit_code := _credit_code_key(unit.credit_code):
            if (first := first_with_credit_code.setdefault(credit_code, unit_id)) != unit_id:
                join(first, unit_id)
        # A name that normalises to nothing (only brackets) says nothing about identity.
        if name := _unit_region(unit.region_code, unit.region_name).key(plain_name):
            if (first := first_with_name.setdefault((unit.region_code.strip(), name), unit_id)) != unit_id:
                join(first, unit_id)
    return {unit_id: find(unit_id) for unit_id in parent}


def _plain_names(names: list[str]) -> list[str]:
    """One spelling for what registries type many ways: width, script, spacing, brackets, Latin case."""
    global _t2s
    if _t2s is None:
        _t2s = opencc.OpenCC("t2s")  # loading the conversion dictionaries is the slow part: once per process
    if not names:
        return []
    # The batch goes through the bracket filter, OpenCC and casefold as one text, one line per name:
    # per-name calls cost several times the work itself, and no conversion phrase spans a newline, so each
    # line converts as it would alone. NFKC alone goes name by name: its quick check passes names already
    # in NFKC untouched, where one full-width character sends a whole joined text down the slow path.
    lines = [name if unicodedata.is_normalized("NFKC", name) else unicodedata.normalize("NFKC", name) for name in names]
    text = "\n".join(lines)
    if text.count("\n") != len(lines) - 1:  # a newline inside a name is whitespace, and goes anyway
        text = "\n".join(line.replace("\n", " ") for line in lines)
    text = _DROPPED.sub("", text)
    # casefold: 党员e家 and 党员Ｅ家 are one name once NFKC has made the letter ASCII.
    return _t2s.convert(text).casefold().split("\n")


@lru_cache(maxsize=8192)  # about 3,000 county-level divisions nationally: every region stays cached
def _unit_region(region_code: str, region_name: str | None) -> _UnitRegion:
    region_code = region_code.strip()
    province = _provinces().get(region_code[:2], ())
    # The region code is validated by the registry, the region name is free text: the province
    # comes from the code, and a region name that names another province adds nothing.
    divisions = _divisions_below_province(_plain_names([region_name])[0], province) if region_name else []

    if region_code.endswith("0000"):  # a provincial unit: its own level is the province
        own, above = list(province), []
    elif divisions:  # the last division named is the unit's own, those before it are above
        own, above = divisions[-1:], [*province, *divisions[:-1]]
    else:  # own division unknown: only the province can safely go
        own, above = [], list(province)

    spellings = {name: (name, False, _is_bare(name)) for name in above}
    spellings.update({name: (name, True, _is_bare(name)) for name in own})
    longest_first = tuple(sorted(spellings.values(), key=lambda spelling: len(spelling[0]), reverse=True))
    return _UnitRegion(
        spellings=longest_first,
        texts=tuple(spelling[0] for spelling in longest_first),
        own_texts=tuple(own),
        own_name=own[0] if own else None,
        own_certain=bool(own) and not _is_bare(own[0]),
    )


def _divisions_below_province(region_name: str, province: tuple[str, ...]) -> list[str]:
    """福建省三明市尤溪县 → [三明市, 尤溪县]: the prefecture and county parts of a region name."""
    rest = region_name
    for form in sorted(province, key=len, reverse=True):
        if rest.startswith(form) and not (_is_bare(form) and rest.startswith(_DIVISION_NAME_GOES_ON, len(form))):
            rest = rest[len(form) :]
            break

    divisions: list[str] = []
    position = 0
    while position < len(rest):
        placeholder = next((p for p in _PLACEHOLDERS if rest.startswith(p, position)), None)
        if placeholder is not None:
            position += len(placeholder)
            continue
        match = _DIVISION.match(rest, position)
        if match is None:
            break
        divisions.append(match.group())
        position = match.end()
    tail = rest[position:]
    if tail and divisions and tail in _DIVISION_SUFFIXES:
        # 沙市区 first splits as 沙市 + 区, 梅县区 as 梅县 + 区: the lone suffix belongs to the name before it.
        divisions[-1] += tail
    elif tail:
        divisions.append(tail)  # a division written without its suffix (…三明市尤溪) is still a division

    if divisions and (divisions[0].endswith(_PROVINCE_SUFFIXES) or divisions[0] in _province_full_names()):
        # The region name names another province than the region code: the code wins. The four
        # municipalities end in 市 like any prefecture, so they are known by name: 天津市 filed with
        # 350426 taken as the unit's own division kept 福建省 in 福建省尤溪县公安局.
        return []
    return divisions


def _is_bare(region: str) -> bool:
    """Written without its division suffix, as 福建 for 福建省."""
    return not region.endswith(_DIVISION_SUFFIXES)


@cache
def _provinces() -> dict[str, tuple[str, ...]]:
    with PROVINCES_FILE.open(encoding="utf-8") as file:
        return {code: tuple(names) for code, names in json.load(file).items()}


@cache
def _province_full_names() -> frozenset[str]:
    return frozenset(name for names in _provinces().values() for name in names if not _is_bare(name))


def _credit_code_key(credit_code: str | None) -> str | None:
    # Registries paste codes with spaces, in lower case or full width; the 18 characters are what count.
    if not credit_code:
        return None
    return "".join(unicodedata.normalize("NFKC", credit_code).split()).upper() or None


def plain_names(names: Iterable[str]) -> list[str]:
    """Names as registries mean them, for comparing account names too: width, script, spacing, brackets, case."""
    return _plain_names(list(names))
