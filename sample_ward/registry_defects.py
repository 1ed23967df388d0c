"""Categories of the malformed rows planted in the registry files (stable names: tests score against them).

The generator writes a small share (≈0.3 %, at least one of each category) of deliberately broken rows
into the four registry files, so the ``resident_snapshot`` stage's quarantine can be scored. Each
planted row has one row in ``truth/defects.parquet``: ``source``, ``file`` (relative to ``landing/``),
``record_no`` (1-based line number, the header being line 1), ``field`` (null when the whole record
is wrong), ``category`` (one of the names below) and ``description`` (what is wrong, never personal data).

The document-side categories live in ``sample_ward/defects.py``; all registry names start with
their source so the two sets cannot collide.
"""

from __future__ import annotations

# resident_registry (住民記録) ------------------------------------------------------------------------
REGISTRY_BAD_DATE = "registry_bad_date"
"""A date field is not a real Gregorian YYYYMMDD date: an impossible day (``20250230``), a month 13,
or the date written in 和暦 (``昭和55年3月1日``, ``H02.03.01``). The rest of the row is intact."""

REGISTRY_MISSING_NAME = "registry_missing_name"
"""``name_kanji`` (氏名) is empty. The kana name is still there, which is how such rows occur in practice."""

REGISTRY_BAD_SEX_CODE = "registry_bad_sex_code"
"""``sex`` (性別) is not ``1`` or ``2`` (e.g. ``0``, ``3``, ``9`` or ``M``)."""

REGISTRY_DUPLICATE_ATENA_NO = "registry_duplicate_atena_no"
"""A second row reuses the 宛名番号 of the row just above it (an exact copy, or a stale copy with an
older address). The *second* row is the planted one; the first row is the person's real record."""

REGISTRY_WRONG_COLUMN_COUNT = "registry_wrong_column_count"
"""The line has 19 or 21 fields instead of 20 (a field dropped, or a trailing extra field)."""

REGISTRY_NON_DIGIT_ATENA_NO = "registry_non_digit_atena_no"
"""``atena_no`` (宛名番号) contains a non-digit (a letter, a full-width digit or a hyphen)."""

# my_number (個人番号) --------------------------------------------------------------------------------
MY_NUMBER_BAD_CHECK_DIGIT = "my_number_bad_check_digit"
"""12 digits whose last digit is not the 平成26年総務省令第85号 第5条 check digit."""

MY_NUMBER_SHARED = "my_number_shared"
"""A (valid) 個人番号 that is also on another line under a different 宛名番号. The planted line is the
later one in the file; the description names the line it collides with."""

# livelihood_assistance (生活保護 生活扶助) and disability (障害者) ----------------------------------------
LIVELIHOOD_ASSISTANCE_UNKNOWN_ATENA_NO = "livelihood_assistance_unknown_atena_no"
"""A 生活扶助 row for a 宛名番号 that is not in the resident registry extract."""

DISABILITY_UNKNOWN_ATENA_NO = "disability_unknown_atena_no"
"""A 障害者 row for a 宛名番号 that is not in the resident registry extract."""

# category → source (the landing folder the category is planted in)
CATEGORY_SOURCE: dict[str, str] = {
    REGISTRY_BAD_DATE: "resident_registry",
    REGISTRY_MISSING_NAME: "resident_registry",
    REGISTRY_BAD_SEX_CODE: "resident_registry",
    REGISTRY_DUPLICATE_ATENA_NO: "resident_registry",
    REGISTRY_WRONG_COLUMN_COUNT: "resident_registry",
    REGISTRY_NON_DIGIT_ATENA_NO: "resident_registry",
    MY_NUMBER_BAD_CHECK_DIGIT: "my_number",
    MY_NUMBER_SHARED: "my_number",
    LIVELIHOOD_ASSISTANCE_UNKNOWN_ATENA_NO: "livelihood_assistance",
    DISABILITY_UNKNOWN_ATENA_NO: "disability",
}

ALL_CATEGORIES: tuple[str, ...] = tuple(CATEGORY_SOURCE)
