"""Write the two files the ``notice_export`` stage reads from the landing zone: the registered mailing
addresses (送付先) and the DV等支援措置 list. (Who is withheld from a pension comes from the pension insurers'
特別徴収対象者情報: ``sample_ward.pension_insurer``.)

Layouts: ``contracts/layouts/{mailing_address,support_measures}.yaml``,
described in ``docs/sample-ward.md`` ("Notice inputs"). Same dialect as the registry files (UTF-8,
header row, comma, ``"`` quoting where needed, LF), rows sorted by 宛名番号.

* ``mailing_address``: about 1 % of residents with an income document registered a 送付先: the home
  of someone living elsewhere (c/o, 様方). Up to three of them are pensioners with a pension of at
  least :data:`GAIJI_PENSION_YEN` whose host carries a surname outside CP932 (:data:`GAIJI_SURNAMES`,
  外字), so that their 納税通知書 puts a 外字 in the print file and the encoding report lists it.
* ``support_measures``: about 0.3 % of residents (at least three), half of them employees so that the
  employer notices meet them; the previous fiscal year's list is written too (fiscal_year=Y-1), as the
  stage compares the two. The extract date is in the file name.

Deterministic: one NumPy stream derived from ``seed``; no clock, no hash order.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from pathlib import Path

import numpy as np
import polars as pl

from .model import Population

_STREAM = 0x4E4F5449  # "NOTI": this module's own random stream

MAILING_ADDRESS_COLUMNS = ("atena_no", "addressee", "postal_code", "address", "address_detail", "registered_on")
SUPPORT_MEASURE_COLUMNS = ("atena_no", "measure", "start_date", "end_date")

MAILING_SHARE = 0.01
SUPPORT_SHARE = 0.003
SUPPORT_MINIMUM = 3
#: surnames with a character CP932 cannot hold (𠮷 U+20BB7, 𡈽 U+2123D): the 外字 of the print files
GAIJI_SURNAMES = ("𠮷田", "𡈽屋", "𠮷川")
#: the pension from which a 送付先 person is taken for a 外字 host (large enough to be taxed)
GAIJI_PENSION_YEN = 2_500_000


@dataclass(frozen=True)
class NoticeInputsResult:
    """Where the files went (relative to ``landing/``) and their data-row counts."""

    files: dict[str, str]
    rows: dict[str, int]


def support_list_date(fiscal_year: int) -> date:
    """The day of the year's DV等支援措置 extract: 15 May, a few days before the notices go out (the
    特別徴収税額 reach the employers by 31 May, 地方税法第321条の4第1項)."""
    return date(fiscal_year, 5, 15)


def notice_input_paths(municipality_code: str, fiscal_year: int) -> dict[str, str]:
    """Source → file path relative to ``landing/`` (``support_measures_previous``: last year's list)."""
    def part(year: int) -> str:
        return f"municipality={municipality_code}/fiscal_year={year}"

    def support(year: int) -> str:
        stamp = support_list_date(year).strftime("%Y%m%d")
        return f"support_measures/{part(year)}/shien_sochi_{municipality_code}_{stamp}.csv"

    return {
        "mailing_address": f"mailing_address/{part(fiscal_year)}/sofusaki_{municipality_code}_{fiscal_year}0501.csv",
        "support_measures": support(fiscal_year),
        "support_measures_previous": support(fiscal_year - 1),
    }


def write_notice_inputs(pop: Population, landing_dir: Path, seed: int) -> NoticeInputsResult:
    """Write the notice inputs of ``pop`` under ``landing_dir``; return their paths and row counts."""
    rng = np.random.Generator(np.random.PCG64(np.random.SeedSequence([seed, _STREAM])))
    paths = notice_input_paths(pop.municipality_code, pop.fiscal_year)
    residents = pop.persons.filter(pl.col("in_registry") & (pl.col("registry_status") == "resident")) \
        .sort(pl.col("atena_no").cast(pl.Int64))
    frames = {
        "mailing_address": mailing_addresses(pop, residents, rng),
    }
    current, previous = support_measures(pop, residents, rng)
    frames["support_measures"], frames["support_measures_previous"] = current, previous
    rows = {}
    for source, frame in frames.items():
        rows[source] = _write(Path(landing_dir) / paths[source], frame)
    return NoticeInputsResult(files=paths, rows=rows)


def mailing_addresses(pop: Population, residents: pl.DataFrame, rng: np.random.Generator) -> pl.DataFrame:
    """About 1 % of residents with an income document: c/o someone living outside the ward."""
    with_income = residents.join(
        pl.concat([pop.employments["person_id"], pop.pensions["person_id"]]).unique().to_frame(), on="person_id",
    ).sort(pl.col("atena_no").cast(pl.Int64))
    hosts = pop.persons.filter(
        (pl.col("jan1_municipality_code") != pop.municipality_code) & pl.col("jan1_address").is_not_null()
        & pl.col("jan1_postal_code").is_not_null()
    ).sort("person_id")
    k = min(max(SUPPORT_MINIMUM, round(MAILING_SHARE * residents.height)), with_income.height)
    if k == 0 or hosts.height == 0:
        return pl.DataFrame({c: [] for c in MAILING_ADDRESS_COLUMNS}, schema={c: pl.String for c in MAILING_ADDRESS_COLUMNS})
    # the 外字 hosts go to pensioners with a pension large enough to be taxed: their 納税通知書 (年金特別徴収
    # part) is printed, so the 外字 reaches the print file
    pensioners = pop.pensions.filter(pl.col("pension_revenue") >= GAIJI_PENSION_YEN)["person_id"].unique().implode()
    is_pensioner = with_income["person_id"].is_in(pensioners).to_numpy()
    pool = np.flatnonzero(is_pensioner)
    planted_rows = np.sort(rng.choice(pool, size=min(len(GAIJI_SURNAMES), pool.size, k), replace=False)) \
        if pool.size else np.array([], dtype=np.int64)
    rest = np.setdiff1d(np.arange(with_income.height), planted_rows)
    others = rng.choice(rest, size=k - planted_rows.size, replace=False)
    chosen = np.sort(np.concatenate([planted_rows, others]))
    host_rows = rng.integers(0, hosts.height, size=k)
    days = rng.integers(0, 3 * 365, size=k)
    people = with_income[chosen.tolist()]
    host = hosts[host_rows.tolist()]
    registered = [date.fromordinal(date(pop.fiscal_year, 3, 31).toordinal() - int(d)).strftime("%Y%m%d") for d in days]
    surnames = host["family_name_kanji"].to_list()
    planted = set(planted_rows.tolist())
    for i, row in enumerate(chosen.tolist()):  # a handful of rows of a 1 % sample, not a loop over people
        if row in planted:
            surnames[i] = GAIJI_SURNAMES[sorted(planted).index(row)]
    return pl.DataFrame({
        "atena_no": people["atena_no"],
        "addressee": (pl.Series(surnames, dtype=pl.String) + "\u3000" + host["given_name_kanji"] + "様方").alias("addressee"),
        "postal_code": host["jan1_postal_code"],
        "address": host["jan1_address"],
        "address_detail": pl.Series([None] * k, dtype=pl.String),
        "registered_on": pl.Series(registered, dtype=pl.String),
    }).select(MAILING_ADDRESS_COLUMNS)


def support_measures(pop: Population, residents: pl.DataFrame, rng: np.random.Generator) -> tuple[pl.DataFrame, pl.DataFrame]:
    """This year's and last year's DV等支援措置 lists (see the module docstring)."""
    employed = residents.join(pop.employments.select("person_id").unique(), on="person_id") \
        .sort(pl.col("atena_no").cast(pl.Int64))
    k = min(max(SUPPORT_MINIMUM, round(SUPPORT_SHARE * residents.height)), residents.height)
    half = min(k // 2 + k % 2, employed.height)
    from_employed = employed["atena_no"].to_numpy()[np.sort(rng.choice(employed.height, size=half, replace=False))] \
        if half else np.array([], dtype=object)
    rest = residents.filter(~pl.col("atena_no").is_in(list(from_employed)))["atena_no"].to_numpy()
    from_rest = rest[np.sort(rng.choice(rest.size, size=min(k - half, rest.size), replace=False))]
    atena = sorted(set(from_employed.tolist()) | set(from_rest.tolist()), key=int)
    n = len(atena)
    measures = rng.choice(np.array(["1", "1", "1", "2", "3"]), size=n)
    today = support_list_date(pop.fiscal_year)
    started = [date.fromordinal(today.toordinal() - int(d)) for d in rng.integers(30, 2 * 365, size=n)]
    # 支援措置 runs for a year and is extended on request (住民基本台帳事務処理要領); the end is a year after
    # the start or its last extension
    ends = [date(today.year + (1 if (s.month, s.day) <= (today.month, today.day) else 0), s.month, min(s.day, 28))
            for s in started]
    current = pl.DataFrame({
        "atena_no": atena,
        "measure": measures.tolist(),
        "start_date": [s.strftime("%Y%m%d") for s in started],
        "end_date": [e.strftime("%Y%m%d") for e in ends],
    }, schema={c: pl.String for c in SUPPORT_MEASURE_COLUMNS})
    # last year's list: the persons whose measure had already started a year ago (their first year then
    # running), plus one whose measure ended since (so the lists differ as real ones do)
    year_ago = date(today.year - 1, today.month, today.day)
    earlier = [(a, m, s) for a, m, s in zip(atena, measures.tolist(), started, strict=True) if s <= year_ago]
    previous = pl.DataFrame({
        "atena_no": [a for a, _, _ in earlier],
        "measure": [m for _, m, _ in earlier],
        "start_date": [s.strftime("%Y%m%d") for _, _, s in earlier],
        "end_date": [date(s.year + 1, s.month, min(s.day, 28)).strftime("%Y%m%d") for _, _, s in earlier],
    }, schema={c: pl.String for c in SUPPORT_MEASURE_COLUMNS})
    others = residents.filter(~pl.col("atena_no").is_in(atena))["atena_no"]
    if others.len():
        ended = others[int(rng.integers(0, others.len()))]
        previous = pl.concat([previous, pl.DataFrame({
            "atena_no": [ended], "measure": ["1"],
            "start_date": [date(year_ago.year - 1, 9, 1).strftime("%Y%m%d")],
            "end_date": [date(year_ago.year, 9, 1).strftime("%Y%m%d")],
        })]).sort(pl.col("atena_no").cast(pl.Int64))
    return current, previous


def _write(path: Path, frame: pl.DataFrame) -> int:
    from .registry import _csv_bytes  # the registry files' dialect, written the same way

    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(_csv_bytes(frame))
    return frame.height
