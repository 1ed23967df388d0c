"""Defect categories planted in the generated return-ingest documents (stable names; tests score on them).

Every planted case is written to ``truth/documents.parquet`` (column ``defect`` of the affected record:
one category per record, the first planted) and to ``truth/defects.parquet`` (source, file, record_no,
field, category, description: one row per case, so a record very rarely has two rows — a lifecycle
record whose name also needed a CP932 substitution; a duplicated file has one row with record_no null). The categories fall into four families, which decide the record's
``expected_route``:

* :data:`MALFORMED` — the record (or the whole XML file) cannot be trusted as written; the ingest must
  reject it to the quarantine with a reason, file, record number and field: route ``quarantine``.
* :data:`HOSTILE_XML` — hostile XML files (entities, DTDs); never parse them with entity resolution or
  network access. Route ``quarantine``. They belong to no person.
* :data:`NOISE` — realistic dirt that a correct ingest must absorb (normalise, match on 4情報, flag for
  review). The record keeps the route of its person (``stage``, ``forward`` or ``non_registered``).
* :data:`LIFECYCLE` — records made obsolete by a later record or a later filing (訂正, 取消, the
  申告特例 voided by a return); still staged (route of the person) — the merge decides precedence.
* :data:`DUPLICATE_FILE` — a byte-identical second delivery under another name: every record of the
  copy has route ``duplicate_file``; defects.parquet has one row for the copy with ``record_no`` null.

Registry defects (planted by the population builder) use their own categories and are not listed here.
"""

from __future__ import annotations

# --- malformed records (expected_route = quarantine) -------------------------------------------------
WRONG_FIELD_COUNT = "wrong_field_count"
"""The CSV line has fewer or more fields than the layout (a field dropped or an extra comma)."""

NON_NUMERIC_AMOUNT = "non_numeric_amount"
"""An amount field holds something other than digits (letter O for zero, 円 suffix, 万 notation)."""

IMPOSSIBLE_DATE = "impossible_date"
"""A date (birth date or 中途就・退職 date) that does not exist, e.g. month 13 or 2月30日."""

UNKNOWN_ERA_CODE = "unknown_era_code"
"""A 元号 code outside the 法定調書 code list (1 昭和, 2 大正, 3 明治, 4 平成, 5 令和)."""

BAD_SUBMISSION_TYPE = "bad_submission_type"
"""提出区分 / 訂正表示 outside 0 新規, 1 追加, 2 訂正, 3 取消."""

TRUNCATED_LINE = "truncated_line"
"""The line is cut short (transmission error); it still ends with CRLF."""

INVALID_CP932_BYTES = "invalid_cp932_bytes"
"""The line contains a byte sequence that is not valid CP932 (an unassigned double-byte code)."""

EMPTY_MANDATORY_FIELD = "empty_mandatory_field"
"""A field marked ``required`` in the layout is empty (氏名, 住所 or 提出先市町村コード)."""

OVER_WIDTH_FIELD = "over_width_field"
"""A field longer than its layout width (e.g. 受給者番号 over 25 characters, 氏名 over 30)."""

BAD_MY_NUMBER_CHECK_DIGIT = "bad_my_number_check_digit"
"""A 12-digit 個人番号 whose check digit (平成26年総務省令第85号 第5条) is wrong."""

MALFORMED_XML = "malformed_xml"
"""The e-Tax file is not well-formed XML (cut off in the middle)."""

MISSING_REQUIRED_ELEMENT = "missing_required_element"
"""A required e-Tax element is absent (IT/NOZEISHA_NM)."""

WRONG_NAMESPACE = "wrong_namespace"
"""The e-Tax root element carries a namespace other than http://xml.e-tax.nta.go.jp/XSD/shotoku."""

MALFORMED: tuple[str, ...] = (
    WRONG_FIELD_COUNT,
    NON_NUMERIC_AMOUNT,
    IMPOSSIBLE_DATE,
    UNKNOWN_ERA_CODE,
    BAD_SUBMISSION_TYPE,
    TRUNCATED_LINE,
    INVALID_CP932_BYTES,
    EMPTY_MANDATORY_FIELD,
    OVER_WIDTH_FIELD,
    BAD_MY_NUMBER_CHECK_DIGIT,
    MALFORMED_XML,
    MISSING_REQUIRED_ELEMENT,
    WRONG_NAMESPACE,
)

# --- hostile XML (expected_route = quarantine; no person) ---------------------------------------------
XML_EXTERNAL_ENTITY = "xml_external_entity"
"""XXE: an internal DTD declaring an external entity (SYSTEM file:///…) referenced in the body."""

XML_ENTITY_EXPANSION = "xml_entity_expansion"
"""Billion laughs: nested internal entities that expand exponentially."""

XML_EXTERNAL_DTD = "xml_external_dtd"
"""A DOCTYPE that points to an external DTD over the network."""

HOSTILE_XML: tuple[str, ...] = (XML_EXTERNAL_ENTITY, XML_ENTITY_EXPANSION, XML_EXTERNAL_DTD)

# --- noise the ingest must absorb (route of the person) ------------------------------------------------
MY_NUMBER_MISSING = "my_number_missing"
"""The document carries no 個人番号 (blank field / element omitted): match on 4情報."""

MY_NUMBER_OF_OTHER_PERSON = "my_number_of_other_person"
"""A valid-check-digit 個人番号 that belongs to ANOTHER resident: the vault person's 5情報 disagree
with the document; flag it, never attach the document to the number's owner."""

KANA_VARIANT = "kana_variant"
"""Kana spelling variant of the name: small/large kana (ｯ/ﾂ), long vowel (ｰ/ｳ), ｦ/ｵ, spaces, or
full-width kana in a half-width column (and the reverse in full-width columns)."""

KANJI_VARIANT = "kanji_variant"
"""旧字/新字 (or 異体字) variant in the kanji name, e.g. 渡辺/渡邊, 斉藤/齊藤, 高橋/髙橋."""

FULLWIDTH_DIGITS = "fullwidth_digits"
"""Amounts and date parts written with full-width digits (０-９) in a CP932 file."""

NON_JIS_CHAR_SUBSTITUTED = "non_jis_char_substituted"
"""A name/address character outside JIS X 0208 that CP932 cannot encode was written as 〓 (geta);
variation selectors were dropped. (In e-Tax XML the real character is kept and nothing is recorded.)"""

CP932_EXTENSION_CHAR = "cp932_extension_char"
"""A character outside JIS X 0208 written with a CP932 vendor extension code (NEC/IBM 拡張, e.g. 髙 﨑)."""

NOISE: tuple[str, ...] = (
    MY_NUMBER_MISSING,
    MY_NUMBER_OF_OTHER_PERSON,
    KANA_VARIANT,
    KANJI_VARIANT,
    FULLWIDTH_DIGITS,
    NON_JIS_CHAR_SUBSTITUTED,
    CP932_EXTENSION_CHAR,
)

# --- lifecycle (route of the person) -------------------------------------------------------------------
SUPERSEDED_BY_CORRECTION = "superseded_by_correction"
"""An original record (提出区分 0) whose amounts are wrong; a later file re-sends it with 提出区分 2 (訂正)
under the same 指定番号/受給者番号 (or payer code/受給者番号) with the true values."""

CANCELLED_LATER = "cancelled_later"
"""A record sent in error (the same employee reported twice under a mistyped 受給者番号); a later file
sends 提出区分 3 (取消) for that 受給者番号. It must not count as income."""

ONE_STOP_VOIDED_BY_RETURN = "one_stop_voided_by_return"
"""申告特例通知書 of a donor who also files a 確定申告書 or 住民税申告書: the one-stop special case does not
apply (地方税法附則第7条); the notice must be voided and the donation taken from the return."""

ONE_STOP_VOIDED_OVER_FIVE = "one_stop_voided_over_five"
"""申告特例通知書 of a donor who asked for one-stop at more than five recipient municipalities: the special
case does not apply; all of that donor's notices must be voided."""

LIFECYCLE: tuple[str, ...] = (
    SUPERSEDED_BY_CORRECTION,
    CANCELLED_LATER,
    ONE_STOP_VOIDED_BY_RETURN,
    ONE_STOP_VOIDED_OVER_FIVE,
)

# --- file level ----------------------------------------------------------------------------------------
DUPLICATE_FILE = "duplicate_file"
"""A byte-identical copy of an earlier file delivered again under a different name (later received
date). Records of the copy have route ``duplicate_file``; the ledger (sha256) must catch it."""

ALL_CATEGORIES: tuple[str, ...] = MALFORMED + HOSTILE_XML + NOISE + LIFECYCLE + (DUPLICATE_FILE,)

# The routes in truth/documents.parquet (docs/sample-ward.md).
ROUTE_STAGE = "stage"
ROUTE_FORWARD = "forward"
ROUTE_NON_REGISTERED = "non_registered"
ROUTE_QUARANTINE = "quarantine"
ROUTE_DUPLICATE_FILE = "duplicate_file"
ROUTES: tuple[str, ...] = (
    ROUTE_STAGE,
    ROUTE_FORWARD,
    ROUTE_NON_REGISTERED,
    ROUTE_QUARANTINE,
    ROUTE_DUPLICATE_FILE,
)


def route_for(category: str | None, person_route: str) -> str:
    """The expected route of a record that carries ``category`` and belongs to a person whose
    documents would otherwise take ``person_route``."""
    if category in MALFORMED or category in HOSTILE_XML:
        return ROUTE_QUARANTINE
    if category == DUPLICATE_FILE:
        return ROUTE_DUPLICATE_FILE
    return person_route
