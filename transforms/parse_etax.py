"""確定申告書 (国税連携 e-Tax分) XML → typed rows: returns, dependants and a quarantine (pure, no I/O).

Input: ``[(file, bytes), …]`` — ``file`` is the name the caller wants in every output row (the path
relative to ``landing/``), ``bytes`` the file as received. One return per file (record_no is always 1).
Layout: contracts/layouts/etax_return.yaml (docs/sources.md F2.2).

How it works
------------
The per-file loop only parses (:func:`transforms.safe_xml.parse_untrusted_xml`, never our own parser
settings), checks the root namespace, and copies the raw text of the elements we know into column
lists (one pass over IT, one pass over KOA020). Everything else — required elements, integer amounts,
era dates, My Number check digits, the 外字 flag — is checked and typed column-wise in Polars at the
end. A file with any problem is left out of ``returns`` (and its dependants out of ``dependants``) and
gets one quarantine row per problem.

Rules worth knowing
-------------------
* **Era codes.** e-Tax XML ``gen:era`` uses 1 明治, 2 大正, 3 昭和, 4 平成, 5 令和 (docs/sources.md F1.5).
  This is NOT the 法定調書/給与支払報告書 CSV system (1 昭和, 2 大正, 3 明治, 4 平成, 5 令和): never
  share a lookup table between the two. A date must exist and lie inside its era (令和元年4月30日 and
  平成31年5月1日 are impossible dates).
* **Amounts** are ASCII integer yen with an optional leading minus; the layout omits an element whose
  amount is 0, so an absent optional amount is 0 (Int64). The totals the layout always writes are
  required (:data:`REQUIRED_AMOUNTS`).
* **My Number.** An absent or empty ``NOZEISHA_BANGO`` is not an error: ``my_number`` is null and
  ``my_number_missing`` is True (match on 4情報 later). A present number that is not 12 ASCII digits
  with the check digit of 平成26年総務省令第85号 第5条 is quarantined (``bad_my_number_check_digit``).
* **外字.** Text is kept exactly as sent (e.g. 𠮷, variation selectors). ``gaiji_flag`` is True when the
  name, kana or an address holds a character outside JIS X 0208 (ASCII and JIS X 0201 half-width
  katakana count as inside).
* **Warnings.** A problem in a field whose layout entry says ``on_invalid: warn`` (an amount the
  taxation basis does not read, e.g. 源泉徴収税額; a relative's 個人番号) does not hold the return: the
  value is set to null (an amount becomes null, not 0), the return is staged and ``warnings`` gets a
  row (a relative's field names its position, ``jmz:SHINZOKU[n]``). Every other problem quarantines
  the whole return, its relatives with it.
* Messages name the file and the element, never the value (no My Number, name, date or amount).
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

import polars as pl
from lxml import etree

from contracts.identifiers import my_number_is_valid
from contracts.layouts import on_invalid
from transforms.safe_xml import UnsafeXmlError, parse_untrusted_xml

__all__ = [
    "SOURCE",
    "NS_SHOTOKU",
    "AMOUNT_ITEMS",
    "REQUIRED_AMOUNTS",
    "ETAX_ERAS",
    "QUARANTINE_SCHEMA",
    "REASON_CODES",
    "ParsedEtax",
    "parse_etax_returns",
]

SOURCE = "etax_return"
NS_SHOTOKU = "http://xml.e-tax.nta.go.jp/XSD/shotoku"
NS_GENERAL = "http://xml.e-tax.nta.go.jp/XSD/general"
NS_OWN = "urn:juminzei:synthetic"  # this project's dependants block (prefix jmz); not an official code

# e-Tax era codes (docs/sources.md F1.5; differs from the 法定調書 CSV system): code → (元号, first day,
# first day of the next era). Gregorian year = first-day year + era year − 1.
ETAX_ERAS: dict[str, tuple[str, dt.date, dt.date]] = {
    "1": ("明治", dt.date(1868, 10, 23), dt.date(1912, 7, 30)),
    "2": ("大正", dt.date(1912, 7, 30), dt.date(1926, 12, 25)),
    "3": ("昭和", dt.date(1926, 12, 25), dt.date(1989, 1, 8)),
    "4": ("平成", dt.date(1989, 1, 8), dt.date(2019, 5, 1)),
    "5": ("令和", dt.date(2019, 5, 1), dt.date(9999, 12, 31)),
}

# KOA020 amount items: item code → (column, 項目名). Column names are the ids of
# contracts/layouts/etax_return.yaml (a unit test keeps the two in step).
AMOUNT_ITEMS: dict[str, tuple[str, str]] = {
    # 第一表 収入金額等 (ABB00010)
    "ABB00030": ("revenue_business", "収入金額等 事業 営業等"),
    "ABB00050": ("revenue_real_estate", "収入金額等 不動産"),
    "ABB00070": ("revenue_dividend", "収入金額等 配当"),
    "ABB00080": ("revenue_salary", "収入金額等 給与"),
    "ABB00100": ("revenue_pension", "収入金額等 雑 公的年金等"),
    "ABB00110": ("revenue_misc_other", "収入金額等 雑 その他"),
    "ABB00230": ("revenue_occasional", "収入金額等 一時"),
    # 第一表 所得金額等 (ABB00270)
    "ABB00300": ("income_business", "所得金額等 事業 営業等"),
    "ABB00340": ("income_real_estate", "所得金額等 不動産"),
    "ABB00360": ("income_dividend", "所得金額等 配当"),
    "ABB00370": ("income_salary", "所得金額等 給与"),
    "ABB01060": ("income_pension", "所得金額等 雑 公的年金等"),
    "ABB01120": ("income_misc_other", "所得金額等 雑 その他"),
    "ABB01130": ("income_misc_total", "所得金額等 雑 計"),
    "ABB00400": ("income_transfer_occasional", "所得金額等 総合譲渡・一時"),
    "ABB00410": ("income_total", "所得金額等 合計"),
    # 第一表 所得から差し引かれる金額 (ABB00420)
    "ABB00440": ("deduction_medical", "医療費控除"),
    "ABB00450": ("deduction_social_insurance", "社会保険料控除"),
    "ABB00460": ("deduction_small_enterprise", "小規模企業共済等掛金控除"),
    "ABB00470": ("deduction_life_insurance", "生命保険料控除"),
    "ABB00480": ("deduction_earthquake", "地震保険料控除"),
    "ABB00490": ("deduction_donation", "寄附金控除"),
    "ABB00500": ("deduction_widow_single_parent", "寡婦、ひとり親控除"),
    "ABB00510": ("deduction_student_disability", "勤労学生、障害者控除"),
    "ABB00520": ("deduction_spouse", "配偶者（特別）控除"),
    "ABB00540": ("deduction_dependants", "扶養控除"),
    "ABB00550": ("deduction_basic", "基礎控除"),
    "ABB00555": ("deduction_subtotal", "所得控除 小計"),
    "ABB00560": ("deduction_total", "所得から差し引かれる金額 合計"),
    # 第一表 税金の計算 (ABB00570)
    "ABB00580": ("taxable_income", "課税される所得金額"),
    "ABB00590": ("tax_on_taxable_income", "上の税額"),
    "ABB00670": ("tax_after_credits", "差引所得税額"),
    "ABB01010": ("tax_net", "再差引所得税額（基準所得税額）"),
    "ABB01020": ("reconstruction_tax", "復興特別所得税額"),
    "ABB01030": ("income_tax_total", "所得税及び復興特別所得税の額"),
    "ABB00710": ("withheld_tax", "源泉徴収税額"),
    "ABB00720": ("tax_due", "申告納税額"),
    "ABB00750": ("tax_to_pay", "第3期分の税額 納める税金"),
    "ABB00760": ("tax_refund", "第3期分の税額 還付される税金"),
    # 第一表 その他 (ABB00770)
    "ABB00780": ("spouse_total_income", "配偶者の合計所得金額"),
    # 第二表
    "ABD00070": ("detail_withheld_total", "源泉徴収税額の合計額"),
    "ABH00215": ("premium_new_life", "新生命保険料"),
    "ABH00220": ("premium_old_life", "旧生命保険料"),
    "ABH00225": ("premium_new_pension", "新個人年金保険料"),
    "ABH00230": ("premium_old_pension", "旧個人年金保険料"),
    "ABH00235": ("premium_care_medical", "介護医療保険料"),
    "ABH00250": ("premium_earthquake", "地震保険料"),
    # 住民税に関する事項 (ABI)
    "ABI00240": ("resident_tax_furusato", "住民税 都道府県・市区町村への寄附（特例控除対象）"),
}
# Totals the layout always writes (required: true in the layout).
REQUIRED_AMOUNTS: tuple[str, ...] = (
    "ABB00410", "ABB00555", "ABB00560", "ABB00580", "ABB00590", "ABB00670", "ABB01010", "ABB01020",
    "ABB01030", "ABB00720",
)
# 住民税に関する事項 徴収方法 (ABI00010/gen:kubun_CD): [GUESS in the layout] 1 特別徴収, 2 自分で納付.
COLLECTION_CODES = ("1", "2")

REASON_CODES: tuple[str, ...] = (
    "xml_too_large", "xml_doctype_forbidden", "xml_entity_forbidden", "xml_malformed", "xml_encoding_forbidden",
    "wrong_namespace", "missing_required_element", "non_numeric_amount", "impossible_date",
    "unknown_era_code", "bad_my_number_check_digit", "invalid_code",
)
QUARANTINE_SCHEMA: dict[str, pl.DataType] = {
    "source": pl.String(), "file": pl.String(), "record_no": pl.Int64(), "field": pl.String(),
    "reason_code": pl.String(), "message": pl.String(),
}


@dataclass(frozen=True)
class ParsedEtax:
    """``returns``: one row per sound return; ``dependants``: one row per jmz:SHINZOKU of those returns;
    ``quarantine``: one row per problem that holds a return; ``warnings``: one row per invalid value of
    an ``on_invalid: warn`` field of a staged return, which was set to null (both with the columns of
    :data:`QUARANTINE_SCHEMA`)."""

    returns: pl.DataFrame
    dependants: pl.DataFrame
    quarantine: pl.DataFrame
    warnings: pl.DataFrame


def _s(local: str) -> str:
    return f"{{{NS_SHOTOKU}}}{local}"


def _g(local: str) -> str:
    return f"{{{NS_GENERAL}}}{local}"


# IT child element → {sub element (None = the element's own text): raw column}
_IT_FIELDS: dict[str, dict[str | None, str]] = {
    _s("ZEIMUSHO"): {_g("zeimusho_CD"): "tax_office_code"},
    _s("TEISYUTSU_DAY"): {_g("era"): "_submitted_era", _g("yy"): "_submitted_yy", _g("mm"): "_submitted_mm", _g("dd"): "_submitted_dd"},
    _s("NOZEISHA_ID"): {None: "etax_user_id"},
    _s("NOZEISHA_BANGO"): {_g("kojinbango"): "my_number"},
    _s("NOZEISHA_NM_KN"): {None: "name_kana"},
    _s("NOZEISHA_NM"): {None: "name_kanji"},
    _s("NOZEISHA_ZIP"): {_g("zip1"): "_zip1", _g("zip2"): "_zip2"},
    _s("NOZEISHA_ADR"): {None: "address"},
    _s("NOZEISHA_ADR_CODE"): {None: "address_code"},
    _s("ICHIGATSUIPPI_ADR"): {None: "jan1_address"},
    _s("ICHIGATSUIPPI_ADR_CODE"): {None: "jan1_address_code"},
    _s("SEIBETSU"): {_g("kubun_CD"): "_sex"},
    _s("BIRTHDAY"): {_g("era"): "_birth_era", _g("yy"): "_birth_yy", _g("mm"): "_birth_mm", _g("dd"): "_birth_dd"},
    _s("SHOKUGYO"): {None: "occupation"},
    _s("NENBUN"): {_g("era"): "_income_era", _g("yy"): "_income_yy"},
}
# raw column → element path shown to operators (relative to RKO0010/CONTENTS)
_IT_PATHS: dict[str, str] = {
    column: f"IT/{etree.QName(tag).localname}" + ("" if sub is None else f"/gen:{etree.QName(sub).localname}")
    for tag, subs in _IT_FIELDS.items()
    for sub, column in subs.items()
}
_REQUIRED_IT: tuple[str, ...] = (
    "tax_office_code", "_submitted_era", "_submitted_yy", "_submitted_mm", "_submitted_dd", "etax_user_id",
    "name_kana", "name_kanji", "address", "jan1_address", "jan1_address_code", "_sex", "_birth_era",
    "_birth_yy", "_birth_mm", "_birth_dd", "_income_era", "_income_yy",
)
_AMOUNT_TAGS: dict[str, str] = {_s(code): column for code, (column, _name) in AMOUNT_ITEMS.items()}
_AMOUNT_CODE_OF: dict[str, str] = {column: code for code, (column, _name) in AMOUNT_ITEMS.items()}
_ABI00010 = _s("ABI00010")
_KUBUN_CD = _g("kubun_CD")
_HONNIN = f"{{{NS_OWN}}}HONNIN"
_SHINZOKU = f"{{{NS_OWN}}}SHINZOKU"
_HONNIN_ATTRS = {"shogai": "_self_disability", "kafu": "_widow", "hitorioya": "_single_parent", "kinro_gakusei": "_working_student"}
_DEP_ATTRS = ("kubun", "nm", "bango", "birthday", "dokyo", "shogai", "shotoku")

_RAW_RETURN_COLUMNS: tuple[str, ...] = (
    *dict.fromkeys(c for subs in _IT_FIELDS.values() for c in subs.values()),
    *(column for column, _name in AMOUNT_ITEMS.values()),
    "_collection", *_HONNIN_ATTRS.values(),
)
_CONTENTS_PATH = f"{_s('RKO0010')}/{_s('CONTENTS')}"
_XML_SPACE = " \t\r\n"


def parse_etax_returns(files: list[tuple[str, bytes]]) -> ParsedEtax:
    """Parse e-Tax 確定申告書 files (see the module docstring); never raises on bad content."""
    raw: dict[str, list[str | None]] = {c: [] for c in ("file", *_RAW_RETURN_COLUMNS)}
    deps: dict[str, list[str | None]] = {c: [] for c in ("file", "dependant_no", *_DEP_ATTRS)}
    early: list[tuple[str, str | None, str, str]] = []  # file, field, reason, message
    for file, data in files:
        try:
            root = parse_untrusted_xml(data, source_name=file)
        except UnsafeXmlError as exc:
            early.append((file, None, exc.reason_code, exc.message))
            continue
        if not isinstance(root.tag, str) or etree.QName(root).namespace != NS_SHOTOKU:
            early.append((file, "DATA/@xmlns", "wrong_namespace",
                          f"e-Tax return {file}: the root element is not in the namespace {NS_SHOTOKU}; "
                          "expected an income tax return (所得税 RKO0010); the return was quarantined."))
            continue
        contents = root.find(_CONTENTS_PATH)
        it = contents.find(_s("IT")) if contents is not None else None
        koa = contents.find(_s("KOA020")) if contents is not None else None
        missing = [path for path, el in (("RKO0010/CONTENTS/IT", it), ("RKO0010/CONTENTS/KOA020", koa)) if el is None]
        if missing:
            for path in missing:
                early.append((file, path, "missing_required_element",
                              f"e-Tax return {file}: element {path} is missing; the return was quarantined."))
            continue
        row: dict[str, str | None] = {}
        for child in it:
            subs = _IT_FIELDS.get(child.tag)  # type: ignore[arg-type]
            if subs is None:
                continue
            for sub, column in subs.items():
                if sub is None:
                    row.setdefault(column, child.text)
                else:
                    found = child.find(sub)
                    row.setdefault(column, found.text if found is not None else None)
        dependant_no = 0
        for el in koa.iter():
            tag = el.tag
            column = _AMOUNT_TAGS.get(tag)  # type: ignore[arg-type]
            if column is not None:
                row.setdefault(column, el.text)
            elif tag == _ABI00010:
                code = el.find(_KUBUN_CD)
                row.setdefault("_collection", code.text if code is not None else None)
            elif tag == _HONNIN:
                for attr, col in _HONNIN_ATTRS.items():
                    row.setdefault(col, el.get(attr))
            elif tag == _SHINZOKU:
                dependant_no += 1
                deps["file"].append(file)
                deps["dependant_no"].append(str(dependant_no))
                for attr in _DEP_ATTRS:
                    deps[attr].append(el.get(attr))
        raw["file"].append(file)
        for column in _RAW_RETURN_COLUMNS:
            raw[column].append(row.get(column))
    raw_frame = pl.DataFrame(raw, schema={c: pl.String for c in raw})
    dep_frame = pl.DataFrame(deps, schema={c: pl.String for c in deps})
    return _type_and_check(raw_frame, dep_frame, early)


# --------------------------------------------------------------------------------------------------
# column-wise typing and checks
# --------------------------------------------------------------------------------------------------
def _clean(column: str) -> pl.Expr:
    """Raw text with XML whitespace stripped; empty → null."""
    e = pl.col(column).str.strip_chars(_XML_SPACE)
    return pl.when(e != "").then(e)


def _problem(frame: pl.DataFrame, condition: pl.Expr, field: str, reason: str, what: str) -> pl.DataFrame:
    """Quarantine rows for the rows of ``frame`` where ``condition`` holds (``what`` ends the sentence)."""
    return frame.filter(condition.fill_null(False)).select(
        pl.lit(SOURCE).alias("source"),
        pl.col("file"),
        pl.lit(1, pl.Int64).alias("record_no"),
        pl.lit(field).alias("field"),
        pl.lit(reason).alias("reason_code"),
        pl.format(f"e-Tax return {{}}: element {field} {what}; the return was quarantined.", pl.col("file")).alias("message"),
    )


def _warning(frame: pl.DataFrame, condition: pl.Expr, field: str | pl.Expr, reason: str, what: str) -> pl.DataFrame:
    """Warning rows (the value is emptied, the return staged) for the rows where ``condition`` holds."""
    path = field if isinstance(field, pl.Expr) else pl.lit(field)
    return frame.filter(condition.fill_null(False)).select(
        pl.lit(SOURCE).alias("source"),
        pl.col("file"),
        pl.lit(1, pl.Int64).alias("record_no"),
        path.alias("field"),
        pl.lit(reason).alias("reason_code"),
        pl.format(f"e-Tax return {{}}: element {{}} {what}; the value was set to empty and the return was staged.",
                  pl.col("file"), path).alias("message"),
    )


def _warns(field_id: str) -> bool:
    """The layout's decision for ``field_id`` (contracts/layouts/etax_return.yaml ``on_invalid``)."""
    return on_invalid(SOURCE, field_id) == "warn"


def _era_date(era: str, yy: str, mm: str, dd: str) -> tuple[pl.Expr, pl.Expr]:
    """(date or null, inside-its-era) from e-Tax era parts (docs/sources.md F1.5); non-numeric parts give null."""
    start_year = pl.col(era).replace_strict({k: v[1].year for k, v in ETAX_ERAS.items()}, default=None, return_dtype=pl.Int32)
    parts = [pl.col(p).str.strip_chars(_XML_SPACE) for p in (yy, mm, dd)]
    numeric = pl.all_horizontal([p.str.contains(r"^[0-9]{1,2}$") for p in parts])
    year = start_year + parts[0].cast(pl.Int32, strict=False) - 1
    text = pl.format("{}-{}-{}", year.cast(pl.String).str.zfill(4), parts[1].str.zfill(2), parts[2].str.zfill(2))
    date = pl.when(numeric & (parts[0].cast(pl.Int32, strict=False) >= 1)).then(text.str.to_date("%Y-%m-%d", strict=False))
    first = pl.col(era).replace_strict({k: v[1] for k, v in ETAX_ERAS.items()}, default=None, return_dtype=pl.Date)
    after = pl.col(era).replace_strict({k: v[2] for k, v in ETAX_ERAS.items()}, default=None, return_dtype=pl.Date)
    in_era = (date >= first) & (date < after)
    return date, in_era


_JIS0208_LEAD = set(range(0x81, 0x85)) | set(range(0x88, 0xA0)) | set(range(0xE0, 0xEB))


def _outside_jis0208(char: str) -> bool:
    """True for a character outside JIS X 0208 (ASCII and JIS X 0201 half-width katakana are inside)."""
    if char.isascii() or "\uff61" <= char <= "\uff9f":
        return False
    try:
        encoded = char.encode("cp932")
    except UnicodeEncodeError:
        return True  # e.g. 𠮷 (U+20BB7), variation selectors
    # CP932 rows 0x87 (NEC 13区), 0xED-0xEE and 0xFA-0xFC (IBM extensions) are not JIS X 0208.
    return len(encoded) != 2 or encoded[0] not in _JIS0208_LEAD


def _gaiji_pattern(series: list[pl.Series]) -> str | None:
    chars: set[str] = set()
    for s in series:
        for text in s.drop_nulls().unique().to_list():
            if not text.isascii():
                chars.update(text)
    gaiji = sorted(c for c in chars if _outside_jis0208(c))
    if not gaiji:
        return None
    return "[" + "".join("\\" + c if c in "\\]^-[" else c for c in gaiji) + "]"


def _gaiji_flag(columns: list[str], pattern: str | None) -> pl.Expr:
    if pattern is None:
        return pl.lit(False)
    return pl.any_horizontal([pl.col(c).str.contains(pattern).fill_null(False) for c in columns])


def _type_and_check(raw: pl.DataFrame, deps: pl.DataFrame, early: list[tuple[str, str | None, str, str]]) -> ParsedEtax:
    amount_columns = [column for column, _name in AMOUNT_ITEMS.values()]
    code_cols = [c for c in raw.columns if c.startswith("_") or c in ("my_number", "tax_office_code", "etax_user_id",
                                                                     "address_code", "jan1_address_code", *amount_columns)]
    text_cols = ["name_kanji", "name_kana", "address", "jan1_address", "occupation"]
    raw = raw.with_columns(*[_clean(c).alias(c) for c in code_cols],
                           *[pl.when(pl.col(c).str.strip_chars(_XML_SPACE + "\u3000") != "").then(pl.col(c)).alias(c) for c in text_cols])
    birth, birth_in_era = _era_date("_birth_era", "_birth_yy", "_birth_mm", "_birth_dd")
    submitted, submitted_in_era = _era_date("_submitted_era", "_submitted_yy", "_submitted_mm", "_submitted_dd")
    checked = raw.with_columns(
        birth.alias("birth_date"), birth_in_era.alias("_birth_ok"),
        submitted.alias("submitted_date"), submitted_in_era.alias("_submitted_ok"),
    )
    problems: list[pl.DataFrame] = []
    for column in _REQUIRED_IT:
        problems.append(_problem(checked, pl.col(column).is_null(), _IT_PATHS[column], "missing_required_element", "is missing or empty"))
    for code in REQUIRED_AMOUNTS:
        column = AMOUNT_ITEMS[code][0]
        problems.append(_problem(checked, pl.col(column).is_null(), f"KOA020/{code}", "missing_required_element",
                                 f"({AMOUNT_ITEMS[code][1]}) is missing or empty"))
    warnings: list[pl.DataFrame] = []
    for code, (column, name_ja) in AMOUNT_ITEMS.items():
        check = _warning if _warns(column) else _problem
        (warnings if _warns(column) else problems).append(
            check(checked, ~_amount_ok(column), f"KOA020/{code}", "non_numeric_amount",
                  f"({name_ja}) is not an integer yen amount in ASCII digits"))
    for era, date_ok, path in (("_birth_era", "_birth_ok", "IT/BIRTHDAY"), ("_submitted_era", "_submitted_ok", "IT/TEISYUTSU_DAY")):
        known = pl.col(era).is_in(list(ETAX_ERAS))
        problems.append(_problem(checked, pl.col(era).is_not_null() & ~known, f"{path}/gen:era", "unknown_era_code",
                                 "holds an era code outside the e-Tax codes 1 明治 … 5 令和 (docs/sources.md F1.5)"))
        parts_present = pl.all_horizontal([pl.col(era.replace("era", p)).is_not_null() for p in ("yy", "mm", "dd")])
        problems.append(_problem(checked, known & parts_present & ~pl.col(date_ok).fill_null(False), path, "impossible_date",
                                 "is not a date that exists within its era"))
    income_known = pl.col("_income_era").is_in(list(ETAX_ERAS))
    problems.append(_problem(checked, pl.col("_income_era").is_not_null() & ~income_known, "IT/NENBUN/gen:era", "unknown_era_code",
                             "holds an era code outside the e-Tax codes 1 明治 … 5 令和 (docs/sources.md F1.5)"))
    problems.append(_problem(checked, pl.col("_income_yy").is_not_null() & ~pl.col("_income_yy").str.contains(r"^[0-9]{1,2}$"),
                             "IT/NENBUN/gen:yy", "impossible_date", "is not a year of the era"))
    problems.append(_problem(checked, pl.col("my_number").is_not_null() & ~my_number_is_valid("my_number"),
                             "IT/NOZEISHA_BANGO/gen:kojinbango", "bad_my_number_check_digit",
                             "is not a 12-digit 個人番号 with a valid check digit (平成26年総務省令第85号 第5条)"))
    problems.append(_problem(checked, pl.col("_sex").is_not_null() & ~pl.col("_sex").is_in(["1", "2"]),
                             "IT/SEIBETSU/gen:kubun_CD", "invalid_code", "is not 1 (男) or 2 (女)"))
    problems.append(_problem(checked, pl.col("_collection").is_not_null() & ~pl.col("_collection").is_in(list(COLLECTION_CODES)),
                             "KOA020/ABI00010/gen:kubun_CD", "invalid_code", "(住民税の徴収方法) is not 1 or 2"))
    problems.append(_problem(checked, pl.col("_self_disability").is_not_null() & ~pl.col("_self_disability").is_in(["0", "1", "2"]),
                             "KOA020-2/jmz:SHINZOKU_LIST/jmz:HONNIN/@shogai", "invalid_code",
                             "(本人 障害者区分) is not 0, 1 or 2"))

    # dependants (own jmz block): same rules, reported against the taxpayer's return
    deps = deps.with_columns(
        *[_clean(c).alias(c) for c in ("kubun", "bango", "birthday", "dokyo", "shogai", "shotoku")],
        pl.when(pl.col("nm").str.strip_chars(_XML_SPACE + "\u3000") != "").then(pl.col("nm")).alias("nm"),
    ).with_columns(pl.col("birthday").str.to_date("%Y-%m-%d", strict=False).alias("birth_date"))
    dep_field = "KOA020-2/jmz:SHINZOKU_LIST/jmz:SHINZOKU"
    problems.append(_problem(deps, pl.col("birthday").is_not_null() & pl.col("birth_date").is_null(), f"{dep_field}/@birthday",
                             "impossible_date", "holds a birth date that is not an existing YYYY-MM-DD date"))
    bad_bango = pl.col("bango").is_not_null() & ~my_number_is_valid("bango")
    bango_check = (warnings, _warning) if _warns("relative_my_number") else (problems, _problem)
    bango_check[0].append(bango_check[1](
        deps, bad_bango,
        pl.format(f"{dep_field}[{{}}]/@bango", pl.col("dependant_no")) if _warns("relative_my_number") else f"{dep_field}/@bango",
        "bad_my_number_check_digit", "is not a 12-digit 個人番号 with a valid check digit (平成26年総務省令第85号 第5条)"))
    deps = deps.with_columns(pl.when(bad_bango).then(pl.lit(None, pl.String)).otherwise(pl.col("bango")).alias("bango"))
    problems.append(_problem(deps, pl.col("shotoku").is_not_null() & ~pl.col("shotoku").str.contains(r"^-?[0-9]{1,15}$"),
                             f"{dep_field}/@shotoku", "non_numeric_amount", "is not an integer yen amount in ASCII digits"))
    problems.append(_problem(deps, pl.col("kubun").is_not_null() & ~pl.col("kubun").is_in(["1", "2"]), f"{dep_field}/@kubun",
                             "invalid_code", "is not 1 (配偶者) or 2 (扶養親族)"))
    problems.append(_problem(deps, pl.col("dokyo").is_not_null() & ~pl.col("dokyo").is_in(["0", "1"]), f"{dep_field}/@dokyo",
                             "invalid_code", "is not 0 or 1 (同居)"))
    problems.append(_problem(deps, pl.col("shogai").is_not_null() & ~pl.col("shogai").is_in(["0", "1", "2"]),
                             f"{dep_field}/@shogai", "invalid_code", "is not 0, 1 or 2 (障害者区分)"))

    early_frame = pl.DataFrame(
        {"source": [SOURCE] * len(early), "file": [e[0] for e in early], "record_no": [1] * len(early),
         "field": [e[1] for e in early], "reason_code": [e[2] for e in early], "message": [e[3] for e in early]},
        schema=QUARANTINE_SCHEMA,
    )
    quarantine = pl.concat([early_frame, *problems], how="vertical").sort("file", "field", "reason_code", nulls_last=False)
    bad_files = quarantine.select(pl.col("file").unique())

    good = checked.join(bad_files, on="file", how="anti")
    good_deps = deps.join(bad_files, on="file", how="anti")
    warned = pl.concat([pl.DataFrame(schema=QUARANTINE_SCHEMA), *warnings], how="vertical").join(
        bad_files, on="file", how="anti").sort("file", "field", "reason_code")
    pattern = _gaiji_pattern([good[c] for c in ("name_kanji", "name_kana", "address", "jan1_address")] + [good_deps["nm"]])
    returns = good.select(
        "file",
        pl.lit(1, pl.Int64).alias("record_no"),
        "etax_user_id",
        "my_number",
        pl.col("my_number").is_null().alias("my_number_missing"),
        "name_kanji",
        "name_kana",
        "birth_date",
        pl.col("_sex").cast(pl.Int8).alias("sex"),
        pl.when(pl.col("_zip1").is_not_null() & pl.col("_zip2").is_not_null())
        .then(pl.concat_str("_zip1", "_zip2")).alias("postal_code"),
        "address",
        "address_code",
        "jan1_address",
        "jan1_address_code",
        "tax_office_code",
        "occupation",
        "submitted_date",
        (pl.col("_income_era").replace_strict({k: v[1].year for k, v in ETAX_ERAS.items()}, default=None, return_dtype=pl.Int32)
         + pl.col("_income_yy").cast(pl.Int32) - 1).alias("income_year"),  # 年分 (calendar year of the income)
        _gaiji_flag(["name_kanji", "name_kana", "address", "jan1_address"], pattern).alias("gaiji_flag"),
        # absent = 0; an invalid value of a warn amount (the others hold the return) = null
        *[pl.when(pl.col(c).is_null()).then(pl.lit(0, pl.Int64)).when(_amount_ok(c)).then(pl.col(c).cast(pl.Int64, strict=False))
          .otherwise(pl.lit(None, pl.Int64)).alias(c) for c in amount_columns],
        pl.col("_collection").alias("resident_tax_collection"),  # ABI00010 徴収方法 code
        pl.col("_self_disability").cast(pl.Int8, strict=False).alias("self_disability"),
        *[(pl.col(src) == "1").alias(dst) for src, dst in (("_widow", "widow"), ("_single_parent", "single_parent"),
                                                         ("_working_student", "working_student"))],
    ).sort("file")
    dependants = good_deps.select(
        "file",
        pl.col("dependant_no").cast(pl.Int32),
        pl.col("kubun").replace_strict({"1": "spouse", "2": "dependant"}, default=None, return_dtype=pl.String).alias("relationship"),
        pl.col("nm").alias("name_kanji"),
        pl.lit(None, pl.String).alias("name_kana"),  # the jmz block carries no kana
        "birth_date",
        pl.col("bango").alias("my_number"),
        pl.col("bango").is_null().alias("my_number_missing"),
        (pl.col("dokyo") == "1").alias("cohabiting"),
        pl.col("shogai").cast(pl.Int8, strict=False).alias("disability"),
        pl.col("shotoku").cast(pl.Int64).alias("total_income"),
        _gaiji_flag(["nm"], pattern).alias("gaiji_flag"),
    ).sort("file", "dependant_no")
    return ParsedEtax(returns=returns, dependants=dependants, quarantine=quarantine, warnings=warned)


def _amount_ok(column: str) -> pl.Expr:
    """Absent, or an integer yen amount in ASCII digits (an optional leading minus)."""
    return pl.col(column).is_null() | pl.col(column).str.contains(r"^-?[0-9]{1,15}$")
