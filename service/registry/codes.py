"""The two codes a registry row is keyed by: the unified social credit code (统一社会信用代码,
GB 32100-2015) of a unit, and the six-digit administrative division code (行政区划代码,
GB/T 2260) of its region."""
import re

CREDIT_CODE_ALPHABET = "0123456789ABCDEFGHJKLMNPQRTUWXY"  # 31 characters: no I, O, S, V, Z
CREDIT_CODE_WEIGHTS = (1, 3, 9, 27, 19, 26, 16, 17, 20, 29, 25, 13, 8, 24, 10, 30, 28)

# First two digits of GB/T 2260: provinces, autonomous regions, municipalities, Taiwan, HK, Macao.
PROVINCE_PREFIXES = frozenset(
    "11 12 13 14 15 21 22 23 31 32 33 34 35 36 37 41 42 43 44 45 46 50 51 52 53 54 61 62 63 64 65 71 81 82".split()
)
REGION_CODE = re.compile(r"^\d{6}$")


def credit_code_check_character(first17: str) -> str:
    total = sum(CREDIT_CODE_ALPHABET.index(c) * w for c, w in zip(first17, CREDIT_CODE_WEIGHTS, strict=True))
    return CREDIT_CODE_ALPHABET[(31 - total % 31) % 31]


def normalize_credit_code(raw: str) -> str:
    """The canonical form of a credit code, or ValueError with a Chinese reason."""
    code = raw.strip().upper().replace(" ", "")
    if len(code) != 18:
        raise ValueError(f"统一社会信用代码应为 18 位，实际为 {len(code)} 位")
    bad = sorted({c for c in code if c not in CREDIT_CODE_ALPHABET})
    if bad:
        raise ValueError(f"统一社会信用代码含有不允许的字符：{''.join(bad)}（不使用 I、O、S、V、Z）")
    expected = credit_code_check_character(code[:17])
    if code[17] != expected:
        raise ValueError(f"统一社会信用代码校验位错误：第 18 位应为 {expected}，实际为 {code[17]}")
    return code


def normalize_region_code(raw: str) -> str:
    code = raw.strip()
    if not REGION_CODE.match(code):
        raise ValueError("地区代码应为 6 位数字的行政区划代码，如 350426")
    if code[:2] not in PROVINCE_PREFIXES:
        raise ValueError(f"地区代码 {code} 的前两位不是有效的省级代码")
    return code


def region_prefix(code: str) -> str:
    """The prefix every code under a region shares: 350000 → 35, 350400 → 3504, 350426 → 350426."""
    if code.endswith("0000"):
        return code[:2]
    if code.endswith("00"):
        return code[:4]
    return code


def region_covers(outer: str, inner: str) -> bool:
    return inner.startswith(region_prefix(outer))
