"""The two files the notice_export stage reads from the landing zone besides the lake, checked and
typed: 送付先 (registered mailing addresses) and the DV等支援措置 list (whose address must never leave the
building), and the interlock on the last. (Who is withheld from a pension comes from the lake:
``curated/pension_targets``, :mod:`transforms.pension_collection`.)

Layouts: ``contracts/layouts/{mailing_address,support_measures}.yaml``
(the registry dialect, parsed by :func:`transforms.resident_snapshot.keyed_records`). A malformed
record of the first is quarantined with its reason like any registry record; the support list is
fail-closed: a record that cannot be read stops the dispatch (:func:`suppression_problems`), as the
person it should protect cannot be known.

Pure functions over frames; the stage (``pipelines.notice_export``) reads and writes.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date

import polars as pl

from contracts.notice_export import NOTICE_INPUT_SOURCES as SOURCES

#: shien_sochi_<団体コード>_<YYYYMMDD>.csv: the date of the extract is in the name, so that an empty
#: list still says when it was taken
_SUPPORT_FILE = re.compile(r"^shien_sochi_(?P<municipality>[0-9]{6})_(?P<as_of>[0-9]{8})\.csv$")


def check_records(lines: pl.DataFrame, source: str, residents: pl.DataFrame | None) -> pl.DataFrame:
    """Parse and check one source's lines (``file, record_no, line``) against its layout; ``_reason`` is
    null for a record that stages. ``residents`` (``atena_no``): a 宛名番号 outside it is held, except on
    the support list, whose every record counts whoever it names."""
    from contracts.resident_snapshot import load_layout
    from transforms.resident_snapshot import keyed_records

    state = None
    if residents is not None and source != "support_measures":
        state = residents.select("atena_no", pl.lit("staged").alias("_registry")).unique("atena_no")
    return keyed_records(lines, load_layout(source), state)


def mailing_addresses(checked: pl.DataFrame) -> pl.DataFrame:
    """The staged 送付先, one per 宛名番号."""
    return checked.filter(pl.col("_reason").is_null()).select(
        pl.col("atena_no").alias("person_id"), "addressee", "postal_code", "address", "address_detail",
        pl.col("registered_on").str.strptime(pl.Date, "%Y%m%d"),
    ).sort("person_id")


@dataclass(frozen=True)
class SupportList:
    """One DV等支援措置 extract: its file, the date in its name, its records (checked)."""

    file: str
    as_of: date
    records: pl.DataFrame

    @property
    def unreadable(self) -> pl.DataFrame:
        return self.records.filter(pl.col("_reason").is_not_null())

    def persons(self, on: date) -> pl.Series:
        """宛名番号 under a measure on ``on``, and every usable 宛名番号 of a record that could not be
        read in full (fail-closed: an unreadable end date protects the person all the same)."""
        readable = self.records.filter(pl.col("_reason").is_null()).filter(
            pl.col("end_date").str.strptime(pl.Date, "%Y%m%d") >= on)
        damaged = self.records.filter(pl.col("_reason").is_not_null() & pl.col("_ok_atena_no"))
        return pl.concat([readable["atena_no"], damaged["atena_no"]]).unique().sort()


def support_file_date(name: str, municipality: str) -> date | None:
    """The extract date in a support-list file name, or None when the name is not of the layout."""
    found = _SUPPORT_FILE.match(name)
    if not found or found["municipality"] != municipality:
        return None
    try:
        return date(int(found["as_of"][:4]), int(found["as_of"][4:6]), int(found["as_of"][6:]))
    except ValueError:
        return None


def suppression_problems(current: SupportList | None, previous: SupportList | None, *, notice_date: date,
                         max_age_days: int) -> list[str]:
    """Why dispatch must stop, as operator sentences; empty when the list may be trusted.

    Fail-closed (the 明和町 2020 case: a vendor delivered an empty list and a protected address went
    out): the list must exist, be dated no later than the notices and at most ``max_age_days`` before
    them, hold no unreadable record, and not be empty when last year's was not."""
    if current is None:
        return ["the DV等支援措置 list (support_measures, shien_sochi_<団体コード>_<YYYYMMDD>.csv) is missing "
                "from the landing folder of this fiscal year"]
    problems = []
    age = (notice_date - current.as_of).days
    if age < 0:
        problems.append(f"{current.file} is dated {current.as_of.isoformat()}, after the notice date "
                        f"{notice_date.isoformat()}: the notice date or the file name is wrong")
    elif age > max_age_days:
        problems.append(f"{current.file} was extracted on {current.as_of.isoformat()}, {age} days before the "
                        f"notice date {notice_date.isoformat()}; at most {max_age_days} days are allowed: "
                        "deliver a fresh extract")
    for row in current.unreadable.sort("record_no").head(5).iter_rows(named=True):
        problems.append(f"{current.file} line {row['record_no']} cannot be read ({row['_reason']}, field "
                        f"{row['_field'] or '-'}); the person it protects cannot be known: correct the list")
    if current.records.height == 0 and previous is not None and previous.records.height > 0:
        problems.append(f"{current.file} is empty although last year's list {previous.file} had "
                        f"{previous.records.height} persons: confirm with the 住民記録 section and deliver the list")
    return problems
