"""Write the four registry extracts (住民記録, 個人番号, 生活扶助, 障害者) of 1 January Y, with planted defects.

Formats are exactly those of ``docs/sample-ward.md`` ("Registry files"): UTF-8, one header row, comma,
``"`` quoting where needed, LF line ends, every value a string (dates ``YYYYMMDD``), rows sorted by
宛名番号. The files are what the ``resident_snapshot`` stage reads from ``<lake>/landing/``.

A small share of rows (``defect_rate``, ≈0.3 %, at least one per category) is deliberately broken,
see :mod:`sample_ward.registry_defects`. Broken rows are taken from people who receive no
income document at all (no salary, pension, return, donation or dependant claim), so that quarantining
them does not change where any document should go: the truth of ``documents.parquet`` stays valid.
Each broken row has a truth row (source, file relative to ``landing/``, line number with the header as
line 1, field, category, description).

Deterministic: the only randomness is a NumPy stream derived from ``seed``; frames are sorted before
writing; nothing depends on the clock or on hash order.
"""

from __future__ import annotations

import io
from dataclasses import dataclass
from datetime import date
from pathlib import Path

import numpy as np
import polars as pl

from . import registry_defects as rd
from .model import Population

RESIDENT_REGISTRY_COLUMNS: tuple[str, ...] = (
    "atena_no", "household_no", "relationship", "name_kanji", "name_kana", "alias_kanji", "alias_kana",
    "birth_date", "sex", "postal_code", "town_code", "address", "address_detail", "resident_type",
    "nationality", "became_resident_date", "removal_reason", "removal_date", "destination_municipality_code",
    "destination_address",
)
MY_NUMBER_COLUMNS: tuple[str, ...] = ("atena_no", "my_number")
LIVELIHOOD_ASSISTANCE_COLUMNS: tuple[str, ...] = ("atena_no", "case_no", "assistance_start_date")
DISABILITY_COLUMNS: tuple[str, ...] = ("atena_no", "certificate_type", "grade", "special")

DEFECTS_SCHEMA: dict[str, pl.DataType] = {
    "source": pl.String(), "file": pl.String(), "record_no": pl.Int64(), "field": pl.String(),
    "category": pl.String(), "description": pl.String(),
}

DEFAULT_DEFECT_RATE = 0.003
_REGISTRY_STREAM = 0x52454749  # "REGI": the registry's own random stream, independent of the population's


_REGISTRY_PERSON_COLUMNS: tuple[str, ...] = (
    "person_id", "atena_no", "household_no", "relationship", "family_name_kanji", "given_name_kanji",
    "family_name_kana", "given_name_kana", "alias_kanji", "alias_kana", "birth_date", "sex", "ward_postal_code",
    "ward_town_code", "ward_address", "ward_address_detail", "resident_type", "nationality", "became_resident_date",
    "removal_reason", "removal_date", "jan1_municipality_code", "jan1_address", "my_number", "registry_status",
    "livelihood_assistance", "disability_certificate", "disability_grade", "special_disability",
)


@dataclass(frozen=True)
class RegistryResult:
    """Where the files went (relative to ``landing/``), their data-row counts, and the planted defects."""

    files: dict[str, str]
    rows: dict[str, int]
    defects: pl.DataFrame


def registry_paths(municipality_code: str, fiscal_year: int) -> dict[str, str]:
    """Source → file path relative to ``landing/`` (as in docs/sample-ward.md)."""
    part = f"municipality={municipality_code}/fiscal_year={fiscal_year}"
    stamp = f"{municipality_code}_{fiscal_year}0101"
    return {
        "resident_registry": f"resident_registry/{part}/jumin_kiroku_{stamp}.csv",
        "my_number": f"my_number/{part}/kojin_bango_{stamp}.csv",
        "livelihood_assistance": f"livelihood_assistance/{part}/seikatsu_fujo_{stamp}.csv",
        "disability": f"disability/{part}/shogaisha_{stamp}.csv",
        "non_registered_register": f"non_registered_register/{part}/juto_gai_{stamp}.csv",
    }


# --------------------------------------------------------------------------------------------------
# Helpers
# --------------------------------------------------------------------------------------------------
def _ymd(col: str) -> pl.Expr:
    return pl.col(col).dt.strftime("%Y%m%d")


def _csv_bytes(frame: pl.DataFrame) -> bytes:
    buffer = io.BytesIO()
    frame.write_csv(buffer, include_header=True, separator=",", line_terminator="\n", quote_char='"',
                    quote_style="necessary", null_value="")
    return buffer.getvalue()


def _split_counts(total: int, n_categories: int) -> list[int]:
    return [total // n_categories + (1 if i < total % n_categories else 0) for i in range(n_categories)]


def _defect_total(rows: int, n_categories: int, rate: float) -> int:
    return max(n_categories, round(rows * rate))


_ERAS = ((date(2019, 5, 1), "令和", "R"), (date(1989, 1, 8), "平成", "H"), (date(1926, 12, 25), "昭和", "S"),
         (date(1912, 7, 30), "大正", "T"))


def wareki(d: date, style: int) -> str:
    """A date written in 和暦: style 0 ``昭和55年3月1日``, style 1 ``S55.03.01`` (元年 written as 1)."""
    for start, name, letter in _ERAS:
        if d >= start:
            year = d.year - start.year + 1
            if style == 0:
                return f"{name}{year}年{d.month}月{d.day}日"
            return f"{letter}{year:02d}.{d.month:02d}.{d.day:02d}"
    return f"明治{d.year - 1867}年{d.month}月{d.day}日"


def _pick(rng: np.random.Generator, preferred: np.ndarray, fallback: np.ndarray, k: int) -> np.ndarray:
    """k distinct positions, from ``preferred`` first (shuffled), then from ``fallback``."""
    first = rng.permutation(preferred)[:k]
    if first.size == k:
        return first
    rest = np.setdiff1d(fallback, first, assume_unique=False)
    return np.concatenate([first, rng.permutation(rest)[: k - first.size]])


def _unused_numbers(rng: np.random.Generator, used_sorted: np.ndarray, k: int) -> np.ndarray:
    """k distinct 10-digit numbers in the range of ``used_sorted`` (ascending) that are not in it."""
    lo, hi = int(used_sorted[0]), int(used_sorted[-1]) + 1000
    out = np.empty(0, np.int64)
    while out.size < k:
        draws = rng.integers(lo, hi, size=4 * k + 16)
        at = np.minimum(np.searchsorted(used_sorted, draws), used_sorted.size - 1)
        draws = np.concatenate([out, draws[used_sorted[at] != draws]])
        _, first = np.unique(draws, return_index=True)
        out = draws[np.sort(first)]
    return out[:k]


def _quiet_people(pop: Population) -> pl.Series:
    """person_ids who get no income document and appear in no claim: safe to break their registry rows."""
    busy = pl.concat([
        pop.employments["person_id"], pop.pensions["person_id"], pop.donations["person_id"],
        pop.dependants["taxpayer_person_id"], pop.dependants["dependant_person_id"],
    ]).unique()
    persons = pop.persons
    return persons.filter(
        ~pl.col("person_id").is_in(busy.implode()) & ~pl.col("files_final_return")
        & ~pl.col("files_resident_return") & (pl.col("income_profile") == "none")
    )["person_id"]


# --------------------------------------------------------------------------------------------------
# Writer
# --------------------------------------------------------------------------------------------------
def write_registry(pop: Population, landing_dir: Path, seed: int,
                   defect_rate: float = DEFAULT_DEFECT_RATE) -> RegistryResult:
    """Write the four registry files under ``landing_dir`` and return their truth rows.

    ``seed`` is the generator seed (the registry draws from its own stream derived from it).
    """
    rng = np.random.Generator(np.random.PCG64(np.random.SeedSequence([seed, _REGISTRY_STREAM])))
    paths = registry_paths(pop.municipality_code, pop.fiscal_year)
    quiet = _quiet_people(pop)
    defects: list[pl.DataFrame] = []
    rows: dict[str, int] = {}

    # One sort for all four files (10-digit zero-padded numbers: numeric order = text order).
    registry_people = pop.persons.filter(pl.col("in_registry")).select(_REGISTRY_PERSON_COLUMNS).sort(
        pl.col("atena_no").cast(pl.Int64))
    reg, reg_defects, atena_used = _resident_registry(registry_people, rng, quiet, defect_rate,
                                                      paths["resident_registry"])
    rows["resident_registry"] = _write(landing_dir / paths["resident_registry"], reg)
    defects.append(reg_defects)

    mn, mn_defects = _my_number_file(registry_people, rng, quiet, defect_rate, paths["my_number"])
    rows["my_number"] = _write(landing_dir / paths["my_number"], mn)
    defects.append(mn_defects)

    la, la_defects = _livelihood_file(registry_people, pop.fiscal_year, rng, atena_used, defect_rate,
                                      paths["livelihood_assistance"])
    rows["livelihood_assistance"] = _write(landing_dir / paths["livelihood_assistance"], la)
    defects.append(la_defects)

    ds, ds_defects = _disability_file(registry_people, rng, atena_used, defect_rate, paths["disability"])
    rows["disability"] = _write(landing_dir / paths["disability"], ds)
    defects.append(ds_defects)

    rows["non_registered_register"] = _write(landing_dir / paths["non_registered_register"],
                                             non_registered_register(pop))

    truth = pl.concat(defects).select(list(DEFECTS_SCHEMA)).cast(DEFECTS_SCHEMA).sort("source", "file", "record_no")
    return RegistryResult(files=paths, rows=rows, defects=truth)


def _person_fields() -> list[pl.Expr | str]:
    """The person fields the registry extract and the 住登外者 登録ファイル share, in their layouts' order
    (宛名番号 … 国籍), from the population's columns."""
    return [
        "atena_no", "household_no", "relationship",
        (pl.col("family_name_kanji") + "\u3000" + pl.col("given_name_kanji")).alias("name_kanji"),
        (pl.col("family_name_kana") + "\u3000" + pl.col("given_name_kana")).alias("name_kana"),
        "alias_kanji", "alias_kana",
        _ymd("birth_date").alias("birth_date"),
        pl.col("sex").cast(pl.String).alias("sex"),
        pl.col("ward_postal_code").alias("postal_code"),
        pl.col("ward_town_code").alias("town_code"),
        pl.col("ward_address").alias("address"),
        pl.col("ward_address_detail").alias("address_detail"),
        pl.col("resident_type").cast(pl.String).alias("resident_type"),
        "nationality",
    ]


def non_registered_register(pop: Population) -> bytes:
    """The 住登外者 登録ファイル (contracts/layouts/non_registered_register.yaml): the 住登外 persons the ward
    confirmed (those with a 宛名番号; population.py), in 宛名番号 order, without planted defects. 認定年月日:
    in March of the fiscal year, after the returns that showed them arrived."""
    people = pop.persons.filter((pl.col("registry_status") == "not_registered") & pl.col("atena_no").is_not_null())
    frame = people.sort("atena_no").select(
        *_person_fields(),
        _ymd("became_resident_date").alias("living_since"),
        "registered_municipality_code", "registered_address",
        pl.format("{}03{}", pl.lit(pop.fiscal_year),
                  (pl.col("person_id") % 28 + 1).cast(pl.String).str.zfill(2)).alias("confirmed_date"),
    )
    return _csv_bytes(frame)


def _write(path: Path, content: bytes) -> int:
    path.parent.mkdir(parents=True, exist_ok=True)
    with open(path, "wb") as fh:
        fh.write(content)
    return content.count(b"\n") - 1  # data rows (the header is line 1)


def _truth(source: str, file: str, record_no: np.ndarray, field: list[str | None], category: list[str],
           description: list[str]) -> pl.DataFrame:
    return pl.DataFrame({
        "source": [source] * len(category), "file": [file] * len(category),
        "record_no": np.asarray(record_no, dtype=np.int64), "field": pl.Series(field, dtype=pl.String),
        "category": pl.Series(category, dtype=pl.String), "description": pl.Series(description, dtype=pl.String),
    }, schema=DEFECTS_SCHEMA)


# In-band markers for the column-count defects: written inside a field, then replaced in one pass over
# the CSV bytes (no field contains a separator, quote or line end, so the markers are never quoted).
_DROP_FIELD = "\x1fDROP\x1f"
_EXTRA_FIELD = "\x1fEXTRA\x1f"


def _resident_registry(
    people: pl.DataFrame, rng: np.random.Generator, quiet: pl.Series, rate: float, file: str
) -> tuple[bytes, pl.DataFrame, np.ndarray]:
    """The 住民記録 extract (``people`` = registry persons sorted by 宛名番号) with its planted defects."""
    moved = pl.col("removal_reason") == "転出"
    frame = people.select(
        *_person_fields(),
        _ymd("became_resident_date").alias("became_resident_date"),
        "removal_reason",
        _ymd("removal_date").alias("removal_date"),
        pl.when(moved).then(pl.col("jan1_municipality_code")).alias("destination_municipality_code"),
        pl.when(moved).then(pl.col("jan1_address")).alias("destination_address"),
    )
    n = frame.height
    atena_used = frame["atena_no"].cast(pl.Int64).to_numpy()

    cats = [rd.REGISTRY_BAD_DATE, rd.REGISTRY_MISSING_NAME, rd.REGISTRY_BAD_SEX_CODE,
            rd.REGISTRY_DUPLICATE_ATENA_NO, rd.REGISTRY_WRONG_COLUMN_COUNT, rd.REGISTRY_NON_DIGIT_ATENA_NO]
    counts = _split_counts(_defect_total(n, len(cats), rate), len(cats))
    quiet_pos = np.flatnonzero(people["person_id"].is_in(quiet.implode()).to_numpy())
    chosen = _pick(rng, quiet_pos, np.arange(n), sum(counts))
    groups = np.split(chosen, np.cumsum(counts)[:-1])
    by_cat = {c: np.sort(g) for c, g in zip(cats, groups, strict=True)}

    # Planted facts per original row position: (position, is_inserted_copy, category, field, description).
    planted: list[tuple[int, int, str, str | None, str]] = []
    edits: dict[str, tuple[list[int], list[str]]] = {
        c: ([], []) for c in ("atena_no", "name_kanji", "sex", "birth_date", "became_resident_date",
                              "address_detail", "destination_address")}

    def edit(field: str, pos: int, value: str) -> None:
        edits[field][0].append(pos)
        edits[field][1].append(value)

    # Bad dates: impossible day, month 13, or 和暦 text; mostly birth_date, some became_resident_date.
    for i, pos in enumerate(by_cat[rd.REGISTRY_BAD_DATE].tolist()):
        field = "birth_date" if i % 3 != 2 else "became_resident_date"
        value = frame[field][pos]
        variant = i % 4
        if variant == 0:
            bad, what = f"{value[:4]}0230", "an impossible calendar day (30 February)"
        elif variant == 1:
            bad, what = f"{value[:4]}1301", "month 13"
        else:
            d = date(int(value[:4]), int(value[4:6]), int(value[6:8]))
            bad, what = wareki(d, variant - 2), "a 和暦 (Japanese era) date instead of Gregorian YYYYMMDD"
        edit(field, pos, bad)
        planted.append((pos, 0, rd.REGISTRY_BAD_DATE, field, f"{field} is {what}"))

    for pos in by_cat[rd.REGISTRY_MISSING_NAME].tolist():
        edit("name_kanji", pos, "")
        planted.append((pos, 0, rd.REGISTRY_MISSING_NAME, "name_kanji", "name_kanji (氏名) is empty"))

    bad_sex = ("0", "3", "9", "M")
    for i, pos in enumerate(by_cat[rd.REGISTRY_BAD_SEX_CODE].tolist()):
        edit("sex", pos, bad_sex[i % len(bad_sex)])
        planted.append((pos, 0, rd.REGISTRY_BAD_SEX_CODE, "sex", "sex (性別) is not 1 or 2"))

    fw = str.maketrans("0123456789", "０１２３４５６７８９")
    for i, pos in enumerate(by_cat[rd.REGISTRY_NON_DIGIT_ATENA_NO].tolist()):
        value = frame["atena_no"][pos]
        k = 3 + i % 6
        variant = i % 3
        if variant == 0:
            bad = value[:k] + "A" + value[k + 1:]
        elif variant == 1:
            bad = value[:k] + value[k].translate(fw) + value[k + 1:]
        else:
            bad = value[:5] + "-" + value[5:]
        edit("atena_no", pos, bad)
        planted.append((pos, 0, rd.REGISTRY_NON_DIGIT_ATENA_NO, "atena_no",
                        "atena_no (宛名番号) has a non-digit character"))

    n_columns = len(RESIDENT_REGISTRY_COLUMNS)
    for i, pos in enumerate(by_cat[rd.REGISTRY_WRONG_COLUMN_COUNT].tolist()):
        if i % 2 == 0:  # 方書 dropped together with its separator
            edit("address_detail", pos, _DROP_FIELD)
            note = f"line has {n_columns - 1} fields instead of {n_columns} (one field missing)"
        else:  # a trailing extra field
            edit("destination_address", pos, (frame["destination_address"][pos] or "") + _EXTRA_FIELD)
            note = f"line has {n_columns + 1} fields instead of {n_columns} (trailing extra field)"
        planted.append((pos, 0, rd.REGISTRY_WRONG_COLUMN_COUNT, None, note))

    frame = frame.with_columns(
        frame[c].clone().scatter(pos, pl.Series(vals, dtype=pl.String)) for c, (pos, vals) in edits.items() if pos)

    # Duplicates: a copy of the row inserted right after it (exact, or stale with another row's address).
    dup_pos = by_cat[rd.REGISTRY_DUPLICATE_ATENA_NO]
    stale = np.arange(dup_pos.size) % 2 == 1
    for pos, is_stale in zip(dup_pos.tolist(), stale.tolist(), strict=True):
        planted.append((pos, 1, rd.REGISTRY_DUPLICATE_ATENA_NO, "atena_no",
                        "second row with the same atena_no (宛名番号) as the line above"
                        + (" and an older address" if is_stale else " (exact copy)")))
    if dup_pos.size:
        order = np.insert(np.arange(n), dup_pos + 1, dup_pos)  # the copy of row p follows row p
        copy_at = dup_pos + 1 + np.arange(dup_pos.size)  # positions of the copies after insertion
        donors = rng.integers(0, n, size=dup_pos.size)
        frame = frame[order]
        stale_at = copy_at[stale].tolist()
        if stale_at:
            donor_rows = frame[donors[stale].tolist()]
            frame = frame.with_columns(
                frame[c].clone().scatter(stale_at, donor_rows[c])
                for c in ("postal_code", "town_code", "address", "address_detail"))

    # Line numbers: a row moves down by the number of copies inserted above it (a copy of row p sits
    # right after p, so it is shifted by the copies of rows before p, plus one for p itself).
    positions = np.array([x[0] for x in planted], dtype=np.int64)
    shift = np.searchsorted(dup_pos, positions, side="left")
    line_no = positions + np.array([x[1] for x in planted], dtype=np.int64) + shift + 2

    content = _csv_bytes(frame)
    content = content.replace(("," + _DROP_FIELD).encode(), b"").replace(_EXTRA_FIELD.encode(), b",")
    truth = _truth("resident_registry", file, line_no, [x[3] for x in planted], [x[2] for x in planted],
                   [x[4] for x in planted])
    return content, truth, atena_used


def _my_number_file(
    people: pl.DataFrame, rng: np.random.Generator, quiet: pl.Series, rate: float, file: str
) -> tuple[bytes, pl.DataFrame]:
    frame = people.filter(pl.col("my_number").is_not_null()).select(
        "atena_no", "my_number", pl.col("person_id").alias("_person_id"))
    n = frame.height
    counts = _split_counts(_defect_total(n, 2, rate), 2)
    quiet_pos = np.flatnonzero(frame["_person_id"].is_in(quiet.implode()).to_numpy())
    chosen = _pick(rng, quiet_pos, np.arange(n), counts[0] + 2 * counts[1])
    bad_pos = np.sort(chosen[: counts[0]])
    pairs = chosen[counts[0]:].reshape(-1, 2)
    numbers = frame["my_number"]
    planted: list[tuple[int, str, str]] = []
    positions: list[int] = []
    values: list[str] = []
    for pos in bad_pos.tolist():
        value = numbers[pos]
        wrong_digit = (int(value[-1]) + 1 + int(rng.integers(0, 9))) % 10  # never the right digit
        positions.append(pos)
        values.append(value[:-1] + str(wrong_digit))
        planted.append((pos, rd.MY_NUMBER_BAD_CHECK_DIGIT, "my_number fails the 第5条 check digit"))
    for a, b in pairs.tolist():
        first, second = min(a, b), max(a, b)  # the later line carries the earlier line's number
        positions.append(second)
        values.append(numbers[first])
        planted.append((second, rd.MY_NUMBER_SHARED,
                        f"my_number is also on line {first + 2} under another atena_no (宛名番号)"))
    if positions:
        frame = frame.with_columns(numbers.clone().scatter(positions, pl.Series(values, dtype=pl.String)))
    planted.sort()
    truth = _truth("my_number", file, np.array([x[0] + 2 for x in planted]), ["my_number"] * len(planted),
                   [x[1] for x in planted], [x[2] for x in planted])
    return _csv_bytes(frame.select(MY_NUMBER_COLUMNS)), truth


def _with_unknown_rows(
    frame: pl.DataFrame, extra: pl.DataFrame, source: str, category: str, file: str, label: str
) -> tuple[pl.DataFrame, pl.DataFrame]:
    merged = pl.concat([frame.with_columns(pl.lit(False).alias("_planted")),
                        extra.with_columns(pl.lit(True).alias("_planted"))]).sort("atena_no")
    lines = np.flatnonzero(merged["_planted"].to_numpy()) + 2
    truth = _truth(source, file, lines, ["atena_no"] * lines.size, [category] * lines.size,
                   [f"{label} row for an atena_no (宛名番号) that is not in the resident registry"] * lines.size)
    return merged.drop("_planted"), truth


def _livelihood_file(
    people: pl.DataFrame, fiscal_year: int, rng: np.random.Generator, atena_used: np.ndarray, rate: float,
    file: str,
) -> tuple[bytes, pl.DataFrame]:
    p = people.filter(pl.col("livelihood_assistance")).select("atena_no", "household_no", "became_resident_date")
    # One case (ケース番号) per household, starting on one day at most ~12 years back and after moving in.
    households = p.group_by("household_no").agg(pl.col("became_resident_date").min().alias("since")).sort("household_no")
    jan1 = date(fiscal_year, 1, 1)
    horizon = (jan1 - date(1970, 1, 1)).days
    since = households["since"].cast(pl.Int32).to_numpy().astype(np.int64)
    earliest = np.maximum(since, horizon - 12 * 365)
    start = earliest + (rng.random(households.height) * np.maximum(horizon - earliest, 1)).astype(np.int64)
    case_no = 10_000_000 + rng.permutation(np.arange(households.height)) * 7 + rng.integers(0, 7, households.height)
    cases = households.select(
        "household_no",
        pl.Series("case_no", case_no).cast(pl.String).str.zfill(8),
        pl.Series("assistance_start_date", start).cast(pl.Int32).cast(pl.Date).dt.strftime("%Y%m%d"),
    )
    frame = p.join(cases, on="household_no", how="left", validate="m:1", maintain_order="left").select(
        LIVELIHOOD_ASSISTANCE_COLUMNS)
    k = max(1, round(frame.height * rate))
    unknown = _unused_numbers(rng, atena_used, k)
    extra = pl.DataFrame({
        "atena_no": pl.Series(unknown).cast(pl.String).str.zfill(10),
        "case_no": pl.Series(20_000_000 + rng.integers(0, 9_999_999, k)).cast(pl.String).str.zfill(8),
        "assistance_start_date": pl.Series(horizon - rng.integers(1, 3000, k)).cast(pl.Int32).cast(pl.Date)
        .dt.strftime("%Y%m%d"),
    })
    frame, truth = _with_unknown_rows(frame, extra, "livelihood_assistance",
                                      rd.LIVELIHOOD_ASSISTANCE_UNKNOWN_ATENA_NO, file, "生活扶助")
    return _csv_bytes(frame), truth


def _disability_file(
    people: pl.DataFrame, rng: np.random.Generator, atena_used: np.ndarray, rate: float, file: str
) -> tuple[bytes, pl.DataFrame]:
    frame = people.filter(
        (pl.col("registry_status") == "resident") & pl.col("disability_certificate").is_not_null()
    ).select(
        "atena_no", pl.col("disability_certificate").alias("certificate_type"), pl.col("disability_grade").alias("grade"),
        pl.when(pl.col("special_disability")).then(pl.lit("1")).otherwise(pl.lit("0")).alias("special"),
    )
    k = max(1, round(frame.height * rate))
    unknown = _unused_numbers(rng, atena_used, k)
    kinds = np.array(["身体", "精神", "療育"])[rng.integers(0, 3, k)]
    grades = np.where(kinds == "身体", rng.integers(1, 7, k).astype(str),
                      np.where(kinds == "精神", rng.integers(1, 4, k).astype(str), np.where(rng.random(k) < 0.4, "A", "B")))
    special = np.where(((kinds == "身体") & np.isin(grades, ["1", "2"])) | ((kinds == "精神") & (grades == "1"))
                       | ((kinds == "療育") & (grades == "A")), "1", "0")
    extra = pl.DataFrame({
        "atena_no": pl.Series(unknown).cast(pl.String).str.zfill(10),
        "certificate_type": kinds.tolist(), "grade": grades.tolist(), "special": special.tolist(),
    })
    frame, truth = _with_unknown_rows(frame, extra, "disability", rd.DISABILITY_UNKNOWN_ATENA_NO, file, "障害者")
    return _csv_bytes(frame), truth
