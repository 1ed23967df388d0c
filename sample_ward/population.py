"""Synthetic people of a central Tokyo ward (港区) for one fiscal year: who lives where, and what they earned.

:func:`build_population` returns a :class:`~sample_ward.model.Population` (the binding contract
with the document writers). Everything is drawn from one seeded ``np.random.Generator(PCG64(seed))``:
the root generator is split with ``Generator.spawn`` into one independent stream per stage, so a change
in one stage (say, more donations) does not reshuffle the people of another. There is no Python loop
over people: all draws are NumPy arrays over whole groups, strings are assembled by Polars
expressions, and the only loops are over small category tables (household types, name groups …).

What is modelled, and why (each figure is an *own estimate* for Minato ward, not an official statistic):

* **Registry population** (住民基本台帳, 1 January Y): exactly ``residents`` people with
  ``registry_status == "resident"``, in households drawn from a table of household types
  (``HOUSEHOLD_TYPES``: ≈55 % single-person, couples, couples with children, single parents,
  three-generation households with 同居老親, shared flats with 兄弟姉妹/同居人/縁故者). The age
  pyramid comes out at ≈13 % under 15, ≈17 % aged 65+, most adults 25–55.
* **Removed during Y-1** (消除): whole households that moved out (転出, ≈4 % of residents, with a
  destination municipality and address elsewhere in Japan) and deaths (死亡, ≈0.8 %; half of them
  the husband of a now-widowed resident). They are in the registry extract so that their
  documents can be forwarded (回送).
* **住登外** (``not_registered``, ≈0.3 %): people who live in the ward on 1 January without a 住民票
  here. Not in the registry, ``atena_no`` null, ward address known.
* **Outsiders**: dependants who live elsewhere (parents in another prefecture, students away from
  home, a spouse who stayed behind during a 単身赴任) and a few people whose 1 January address was
  in another municipality but whose employer is likely to report them to the ward.
* **Foreign residents** (住民区分 2, ≈8 %): nationality, katakana or kanji names, some with a 通称.
* **Status facts**: 生活保護 生活扶助 (≈1.5 %, by household), 障害者手帳 (≈4 %, 身体/精神/療育 with
  grades; 特別障害者 = 身体 1–2 級, 精神 1 級, 療育 A), 寡婦, ひとり親, 勤労学生.
* **Income of calendar year Y-1** by profile (salaried, pensioner, self_employed, landlord, student,
  none), with two employers (主たる + 従たる), job changes (end_date/start_date), retirements,
  public pensions (999 日本年金機構 and 共済 payers), business and real-estate income, dividends,
  misc and occasional income, social insurance, life/earthquake insurance, medical expenses,
  dependants (including a few claimed twice, 扶養重複, and a few over the income limit) and
  ふるさと納税 donations (one-stop 申告特例 for most donors with ≤ 5 recipients).

Money is integer yen (Int64); amounts with no such income are 0, never null. Floats appear only
inside the random draws and are rounded (salaries to 1,000 yen) before leaving this module.
"""

from __future__ import annotations

import functools
from dataclasses import dataclass
from datetime import date
from pathlib import Path

import numpy as np
import polars as pl

from contracts.identifiers import corporate_number_check_digit_expr, my_number_check_digits

from .model import DEPENDANTS, DONATIONS, EMPLOYERS, EMPLOYMENTS, PENSIONS, PERSONS, Population

DATA_DIR = Path(__file__).with_name("data")

# --------------------------------------------------------------------------------------------------
# Codes used inside this module (int8 arrays); the strings that leave the module are mapped below.
# --------------------------------------------------------------------------------------------------
RESIDENT, MOVED_OUT, DECEASED, NOT_REGISTERED, OUTSIDER = 0, 1, 2, 3, 4
STATUS_NAMES = ("resident", "moved_out", "deceased", "not_registered", "outsider")

HEAD, SPOUSE, CHILD, ELDER, SIBLING, LODGER, RELATIVE = 0, 1, 2, 3, 4, 5, 6

NONE, SALARIED, PENSIONER, SELF_EMPLOYED, LANDLORD, STUDENT = 0, 1, 2, 3, 4, 5
PROFILE_NAMES = ("none", "salaried", "pensioner", "self_employed", "landlord", "student")

# Links of outsiders to the resident they belong to.
LINK_NONE, LINK_PARENT_OF, LINK_CHILD_OF, LINK_SPOUSE_OF, LINK_MISDIRECTED = 0, 1, 2, 3, 4


@dataclass(frozen=True)
class HouseholdType:
    """One row of the household-type table: share of households, how foreign, how long in the ward."""

    name: str
    share: float  # share of resident households
    moved_out_share: float  # share among households that moved out during Y-1 (younger, more mobile)
    foreign_rate: float  # probability that the household is a foreign household
    mean_years_in_ward: float  # mean of the exponential time since moving in


HOUSEHOLD_TYPES: tuple[HouseholdType, ...] = (
    HouseholdType("single_young", 0.42, 0.60, 0.13, 4.0),
    HouseholdType("single_old", 0.13, 0.02, 0.03, 20.0),
    HouseholdType("couple_young", 0.11, 0.15, 0.10, 5.0),
    HouseholdType("couple_old", 0.08, 0.01, 0.02, 22.0),
    HouseholdType("couple_children", 0.155, 0.12, 0.08, 7.0),
    HouseholdType("single_parent", 0.035, 0.03, 0.05, 6.0),
    HouseholdType("three_generation", 0.02, 0.005, 0.02, 15.0),
    HouseholdType("shared", 0.05, 0.065, 0.14, 3.0),
)
(H_SINGLE_YOUNG, H_SINGLE_OLD, H_COUPLE_YOUNG, H_COUPLE_OLD, H_COUPLE_CHILDREN, H_SINGLE_PARENT,
 H_THREE_GEN, H_SHARED) = range(len(HOUSEHOLD_TYPES))
H_ELSEWHERE = len(HOUSEHOLD_TYPES)  # households of outsiders and 住登外 single people
_WITH_SPOUSE = (H_COUPLE_YOUNG, H_COUPLE_OLD, H_COUPLE_CHILDREN, H_THREE_GEN)

# Rates (own estimates for Minato ward), relative to `residents`.
MOVED_OUT_RATE = 0.04  # 転出 during Y-1
DECEASED_RATE = 0.008  # 死亡 during Y-1
NOT_REGISTERED_RATE = 0.003  # 住登外
MISDIRECTED_RATE = 0.002  # outsiders whose employer reports them to the ward
LIVELIHOOD_ASSISTANCE_RATE = 0.015  # 生活保護 生活扶助 (people)
MY_NUMBER_MISSING_RATE = 0.0003  # people without a 個人番号 on file

# 扶養親族 / 同一生計配偶者 合計所得 limit by fiscal year (令和7年度税制改正: 48万 → 58万 from 年度 2026),
# and the 配偶者特別控除 upper limit (133万). Used only to decide who *claims* whom; the tax engine
# re-checks every claim (a few deliberate over-limit claims are planted).
def _dependant_income_limit(fiscal_year: int) -> int:
    return 580_000 if fiscal_year >= 2026 else 480_000


SPOUSE_SPECIAL_LIMIT = 1_330_000


# --------------------------------------------------------------------------------------------------
# Reference data (CSV files in data/, see data/README.md)
# --------------------------------------------------------------------------------------------------
@dataclass(frozen=True)
class ReferenceData:
    towns: pl.DataFrame
    family_names: pl.DataFrame
    given_names: pl.DataFrame
    foreign_names: pl.DataFrame
    nationalities: pl.DataFrame
    municipalities: pl.DataFrame
    pension_payers: pl.DataFrame
    employer_name_parts: pl.DataFrame
    building_name_parts: pl.DataFrame


def _read(name: str, ints: tuple[str, ...] = (), floats: tuple[str, ...] = ()) -> pl.DataFrame:
    frame = pl.read_csv(DATA_DIR / name, infer_schema=False)
    return frame.with_columns(
        *(pl.col(c).cast(pl.Int64) for c in ints), *(pl.col(c).cast(pl.Float64) for c in floats)
    )


@functools.lru_cache(maxsize=1)
def load_reference_data() -> ReferenceData:
    """Load the generator's data tables once per process (they are small: a few hundred rows each)."""
    return ReferenceData(
        towns=_read("minato_towns.csv", ints=("chome_first", "chome_last"),
                    floats=("residential_weight", "office_weight")),
        family_names=_read("family_names.csv", ints=("weight",)),
        given_names=_read("given_names.csv", ints=("sex", "weight")),
        foreign_names=_read("foreign_names.csv", ints=("sex", "weight")),
        nationalities=_read("nationalities.csv", ints=("weight",), floats=("alias_rate",)),
        municipalities=_read("municipalities.csv", ints=("weight_move", "weight_family", "weight_furusato")),
        pension_payers=_read("pension_payers.csv", ints=("weight_main", "weight_second")),
        employer_name_parts=_read("employer_name_parts.csv", ints=("weight",)),
        building_name_parts=_read("building_name_parts.csv", ints=("weight",)),
    )


# --------------------------------------------------------------------------------------------------
# Small helpers
# --------------------------------------------------------------------------------------------------
_EPOCH = date(1970, 1, 1)
_FW_DIGITS = str.maketrans("0123456789", "０１２３４５６７８９")
_KANJI_NUMERALS = ("", "一", "二", "三", "四", "五", "六", "七", "八", "九")


def _days(d: date) -> int:
    return (d - _EPOCH).days


def _year_start(years: np.ndarray) -> np.ndarray:
    """Days since 1970-01-01 of 1 January of each year."""
    return (np.asarray(years, dtype=np.int64) - 1970).astype("datetime64[Y]").astype("datetime64[D]").astype(np.int64)


def _is_leap(years: np.ndarray) -> np.ndarray:
    y = np.asarray(years)
    return ((y % 4 == 0) & (y % 100 != 0)) | (y % 400 == 0)


def _p(weights: np.ndarray | list[float]) -> np.ndarray:
    w = np.asarray(weights, dtype=np.float64)
    return w / w.sum()


def _age_pmf(kind: str, lo: int, hi: int, mu: float = 0.0, sd: float = 1.0) -> np.ndarray:
    """Probabilities over ages 0..110: a truncated normal bump, or an exponential tail for the old."""
    ages = np.arange(111, dtype=np.float64)
    if kind == "normal":
        w = np.exp(-0.5 * ((ages - mu) / sd) ** 2)
    else:  # "old": survival-like decay after 65
        w = np.exp(-(ages - lo) / mu)
    w[(ages < lo) | (ages > hi)] = 0.0
    return w / w.sum()


def _draw_ages(rng: np.random.Generator, n: int, pmf: np.ndarray) -> np.ndarray:
    return rng.choice(pmf.size, size=n, p=pmf).astype(np.int64)


def _fw(expr: pl.Expr) -> pl.Expr:
    """Integer expression → full-width digit string (addresses are written with full-width numerals)."""
    return expr.cast(pl.String).str.replace_many(list("0123456789"), list("０１２３４５６７８９"))


def _round_to(values: np.ndarray, unit: int) -> np.ndarray:
    return (np.round(np.asarray(values, dtype=np.float64) / unit) * unit).astype(np.int64)


def _lognormal(rng: np.random.Generator, median: np.ndarray | float, sigma: float, n: int) -> np.ndarray:
    return np.asarray(median, dtype=np.float64) * np.exp(rng.normal(0.0, sigma, n))


def _unique_ints(rng: np.random.Generator, n: int, low: int, high: int) -> np.ndarray:
    """n distinct integers in [low, high), in draw order (deterministic for the stream)."""
    out = np.empty(0, dtype=np.int64)
    while out.size < n:
        draws = np.concatenate([out, rng.integers(low, high, size=int((n - out.size) * 1.05) + 16)])
        _, first = np.unique(draws, return_index=True)
        out = draws[np.sort(first)]
    return out[:n]


def _household_index(sk: dict[str, np.ndarray]) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(unique household ids, first member of each, household position of each person), computed once."""
    if "_hh_index" not in sk:
        hh_u, first, inv = np.unique(sk["hh"], return_index=True, return_inverse=True)
        sk["_hh_index"] = (hh_u, first, inv)  # type: ignore[assignment]
    return sk["_hh_index"]  # type: ignore[return-value]


def _rank_within(groups: np.ndarray, order_key: np.ndarray) -> np.ndarray:
    """0-based rank of each row within its group, ordered by order_key (stable)."""
    order = np.lexsort((order_key, groups))
    g_sorted = groups[order]
    starts = np.r_[0, np.flatnonzero(g_sorted[1:] != g_sorted[:-1]) + 1]
    run_start = np.repeat(starts, np.diff(np.r_[starts, g_sorted.size]))
    ranks = np.empty(groups.size, dtype=np.int64)
    ranks[order] = np.arange(groups.size) - run_start
    return ranks


# --------------------------------------------------------------------------------------------------
# Skeleton: households, roles, ages, sexes, statuses, links
# --------------------------------------------------------------------------------------------------
_SKELETON_FIELDS = ("hh", "htype", "role", "age", "sex", "status", "nat", "family_key", "link", "link_kind",
                    "spouse", "move_in", "removal", "elsewhere_kind")


def _empty_block(n: int) -> dict[str, np.ndarray]:
    return {
        "hh": np.zeros(n, np.int64), "htype": np.full(n, H_ELSEWHERE, np.int64), "role": np.zeros(n, np.int64),
        "age": np.zeros(n, np.int64), "sex": np.ones(n, np.int64), "status": np.zeros(n, np.int64),
        "nat": np.full(n, -1, np.int64), "family_key": np.zeros(n, np.int64), "link": np.full(n, -1, np.int64),
        "link_kind": np.zeros(n, np.int64), "spouse": np.full(n, -1, np.int64),
        "move_in": np.zeros(n, np.int64), "removal": np.full(n, -1, np.int64),
        # which municipality weighting applies to the 1 January address outside the ward:
        # 0 none (lives in the ward), 1 "move" weights, 2 "family" weights
        "elsewhere_kind": np.zeros(n, np.int64),
    }


def _concat(blocks: list[dict[str, np.ndarray]]) -> dict[str, np.ndarray]:
    return {k: np.concatenate([b[k] for b in blocks]) for k in _SKELETON_FIELDS}


def _sample_households(
    rng: np.random.Generator, target_people: int, shares: np.ndarray, exact: bool, large_share: float = 0.0,
) -> dict[str, np.ndarray]:
    """Households until ``target_people`` people exist (cut the last one if ``exact``).

    Members are ordered head, spouse, children, elders, so cutting the last household drops its
    youngest-or-oldest members first and always leaves a coherent household. ``large_share`` (the
    ``large_families`` option, 0 by default) makes that share of the households with children large
    families (see :func:`_household_sizes`).
    """
    htypes = np.empty(0, np.int64)
    while True:
        more = rng.choice(len(shares), size=max(16, int(target_people / 1.6) - htypes.size + 16), p=shares)
        htypes = np.concatenate([htypes, more])
        n_children, n_elders, n_extra, sizes, large = _household_sizes(rng, htypes.size, htypes, large_share)
        if sizes.sum() >= target_people:
            break
    people = _expand_households(rng, htypes, n_children, n_elders, n_extra, sizes, large)
    cum = np.cumsum(sizes)
    n_keep_hh = int(np.searchsorted(cum, target_people) + 1)
    keep = people["hh"] < n_keep_hh
    if exact:
        keep &= np.arange(keep.size) < target_people
    return {k: v[keep] for k, v in people.items()}


#: Children of a large family (the ``large_families`` option): 5-8, so that its documents list 5th and
#: further dependants ('(個人番号)氏名' text of 統一CSV cols 132/133 and of the 住民税申告書).
LARGE_FAMILY_CHILDREN = ((5, 0.35), (6, 0.30), (7, 0.20), (8, 0.15))


def _household_sizes(
    rng: np.random.Generator, n: int, htypes: np.ndarray, large_share: float = 0.0,
) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """Members per household by type. With ``large_share`` > 0 that share of the couples with children
    and three-generation households have 5-8 children (three-generation ones two elders); without it
    no extra random draw is made, so the default ward is unchanged."""
    n_children = np.zeros(n, np.int64)
    n_elders = np.zeros(n, np.int64)
    n_extra = np.zeros(n, np.int64)
    cc = rng.choice([1, 2, 3], size=n, p=[0.45, 0.42, 0.13])
    sp = rng.choice([1, 2, 3], size=n, p=[0.62, 0.31, 0.07])
    tg = rng.choice([0, 1, 2, 3], size=n, p=[0.2, 0.35, 0.35, 0.1])
    el = rng.choice([1, 2], size=n, p=[0.55, 0.45])
    ex = rng.choice([1, 2], size=n, p=[0.85, 0.15])
    n_children = np.where(htypes == H_COUPLE_CHILDREN, cc, n_children)
    n_children = np.where(htypes == H_SINGLE_PARENT, sp, n_children)
    n_children = np.where(htypes == H_THREE_GEN, tg, n_children)
    n_elders = np.where(htypes == H_THREE_GEN, el, n_elders)
    n_extra = np.where(htypes == H_SHARED, ex, n_extra)
    large = np.zeros(n, bool)
    if large_share > 0:
        counts, weights = zip(*LARGE_FAMILY_CHILDREN, strict=True)
        many = rng.choice(counts, size=n, p=_p(list(weights)))
        large = np.isin(htypes, (H_COUPLE_CHILDREN, H_THREE_GEN)) & (rng.random(n) < large_share)
        n_children = np.where(large, many, n_children)
        n_elders = np.where(large & (htypes == H_THREE_GEN), 2, n_elders)
    has_spouse = np.isin(htypes, _WITH_SPOUSE)
    sizes = 1 + has_spouse + n_children + n_elders + n_extra
    return n_children, n_elders, n_extra, sizes, large


_HEAD_AGE_PMF = {
    H_SINGLE_YOUNG: _age_pmf("normal", 18, 64, 34.0, 10.5),
    H_SINGLE_OLD: _age_pmf("old", 65, 102, 10.0),
    H_COUPLE_YOUNG: _age_pmf("normal", 22, 64, 40.0, 10.0),
    H_COUPLE_OLD: _age_pmf("old", 65, 100, 9.0),
    H_COUPLE_CHILDREN: _age_pmf("normal", 25, 64, 44.0, 7.0),
    H_SINGLE_PARENT: _age_pmf("normal", 22, 64, 42.0, 7.0),
    H_THREE_GEN: _age_pmf("normal", 33, 64, 50.0, 7.0),
    H_SHARED: _age_pmf("normal", 18, 80, 33.0, 12.0),
}
_HEAD_MALE_RATE = {H_SINGLE_YOUNG: 0.53, H_SINGLE_OLD: 0.35, H_COUPLE_YOUNG: 0.9, H_COUPLE_OLD: 0.92,
                   H_COUPLE_CHILDREN: 0.92, H_SINGLE_PARENT: 0.12, H_THREE_GEN: 0.9, H_SHARED: 0.5}


def _expand_households(
    rng: np.random.Generator, htypes: np.ndarray, n_children: np.ndarray, n_elders: np.ndarray,
    n_extra: np.ndarray, sizes: np.ndarray, large: np.ndarray | None = None,
) -> dict[str, np.ndarray]:
    """One row per member with role, age and sex (household ids are local 0..H-1 here)."""
    n_hh = htypes.size
    head_age = np.zeros(n_hh, np.int64)
    head_male = np.zeros(n_hh, bool)
    u = rng.random(n_hh)
    for t, pmf in _HEAD_AGE_PMF.items():
        sel = np.flatnonzero(htypes == t)
        head_age[sel] = _draw_ages(rng, sel.size, pmf)
        head_male[sel] = u[sel] < _HEAD_MALE_RATE[t]
    spouse_age = head_age + np.round(rng.normal(-2.0, 3.0, n_hh)).astype(np.int64)
    spouse_age = np.where(htypes == H_COUPLE_OLD, np.clip(spouse_age, 60, 104), np.clip(spouse_age, 20, 104))
    spouse_age = np.where(head_male, spouse_age, np.clip(head_age + np.round(rng.normal(2.0, 3.0, n_hh)), 20, 104)).astype(np.int64)
    mother_age = np.where(htypes == H_SINGLE_PARENT, head_age, np.where(head_male, spouse_age, head_age))
    first_gap = np.clip(rng.normal(32.5, 4.5, n_hh), 18.0, 45.0)
    spacing = rng.uniform(1.5, 4.0, n_hh)
    elder_base = head_age + np.clip(np.round(rng.normal(30.0, 4.0, n_hh)), 22, 42).astype(np.int64)
    lone_elder_male = rng.random(n_hh) < 0.3
    shared_kind = rng.choice([SIBLING, LODGER, RELATIVE], size=n_hh, p=[0.4, 0.55, 0.05])
    if large is not None and large.any():  # large families: children born early and close together
        first_gap = np.where(large, rng.uniform(20.0, 24.0, n_hh), first_gap)
        spacing = np.where(large, rng.uniform(1.2, 2.0, n_hh), spacing)

    n = int(sizes.sum())
    hh = np.repeat(np.arange(n_hh), sizes)
    start = np.cumsum(sizes) - sizes
    pos = np.arange(n) - start[hh]
    t = htypes[hh]
    has_spouse = np.isin(t, _WITH_SPOUSE)
    first_child = np.where(t == H_SINGLE_PARENT, 1, 2)
    k_child = pos - first_child
    nc = n_children[hh]

    role = np.full(n, CHILD, np.int64)
    role[pos == 0] = HEAD
    role[(pos == 1) & has_spouse] = SPOUSE
    is_elder = (t == H_THREE_GEN) & (pos >= 2 + nc)
    role[is_elder] = ELDER
    is_shared_member = (t == H_SHARED) & (pos >= 1)
    role[is_shared_member] = shared_kind[hh][is_shared_member]

    age = np.zeros(n, np.int64)
    sex = np.where(rng.random(n) < 0.51, 1, 2).astype(np.int64)
    age = np.where(role == HEAD, head_age[hh], age)
    sex = np.where(role == HEAD, np.where(head_male[hh], 1, 2), sex)
    age = np.where(role == SPOUSE, spouse_age[hh], age)
    sex = np.where(role == SPOUSE, np.where(head_male[hh], 2, 1), sex)
    child_age = mother_age[hh] - np.round(first_gap[hh] + k_child * spacing[hh]).astype(np.int64)
    age = np.where(role == CHILD, np.clip(child_age, 0, 35), age)
    e_idx = pos - (2 + nc)
    two_elders = n_elders[hh] == 2
    elder_male = np.where(two_elders, e_idx == 0, lone_elder_male[hh])
    elder_age = np.clip(elder_base[hh] + np.where(elder_male & two_elders, 2, 0), 55, 104)
    age = np.where(role == ELDER, elder_age, age)
    sex = np.where(role == ELDER, np.where(elder_male, 1, 2), sex)
    sibling_age = np.clip(head_age[hh] + rng.integers(-8, 9, n), 18, 95)
    lodger_age = np.clip(np.round(rng.normal(32.0, 9.0, n)), 18, 80).astype(np.int64)
    age = np.where(role == SIBLING, sibling_age, age)
    age = np.where((role == LODGER) | (role == RELATIVE), lodger_age, age)

    # Spouses: the member at position 1 of a couple is the spouse of the member at position 0;
    # two elders of a three-generation household are a couple as well.
    idx = np.arange(n)
    spouse = np.full(n, -1, np.int64)
    is_sp = role == SPOUSE
    spouse[is_sp] = idx[is_sp] - 1
    spouse[idx[is_sp] - 1] = idx[is_sp]
    first_elder = (role == ELDER) & two_elders & (e_idx == 0)
    spouse[idx[first_elder]] = idx[first_elder] + 1
    spouse[idx[first_elder] + 1] = idx[first_elder]
    return {"hh": hh, "htype": t, "role": role, "age": age, "sex": sex, "spouse": spouse}


def _to_block(people: dict[str, np.ndarray], status: int, hh_offset: int, person_offset: int) -> dict[str, np.ndarray]:
    n = people["hh"].size
    block = _empty_block(n)
    for k in ("hh", "htype", "role", "age", "sex"):
        block[k] = people[k].copy()
    block["hh"] += hh_offset
    block["status"][:] = status
    sp = people["spouse"]
    # A truncated last household can lose its spouse: keep links only inside the block.
    block["spouse"] = np.where((sp >= 0) & (sp < n), sp + person_offset, -1)
    block["family_key"] = block["hh"].copy()
    return block


@dataclass
class _Calendar:
    """Dates of the fiscal year (as days since 1970-01-01)."""

    fiscal_year: int

    @property
    def income_year(self) -> int:
        return self.fiscal_year - 1

    @property
    def jan1(self) -> int:  # 賦課期日
        return _days(date(self.fiscal_year, 1, 1))

    @property
    def year_start(self) -> int:  # 1 January of the income year
        return _days(date(self.fiscal_year - 1, 1, 1))

    @property
    def year_days(self) -> int:
        return self.jan1 - self.year_start


def _mark_foreign(rng: np.random.Generator, block: dict[str, np.ndarray], ref: ReferenceData,
                  rate: float | None = None) -> None:
    """Mark whole households as foreign (住民区分 2) with one nationality per household."""
    hh_u, first, inv = np.unique(block["hh"], return_index=True, return_inverse=True)
    if rate is None:
        r = np.array([h.foreign_rate for h in HOUSEHOLD_TYPES] + [0.0])[block["htype"][first]]
    else:
        r = np.full(hh_u.size, rate)
    is_foreign = rng.random(hh_u.size) < r
    weights = _p(ref.nationalities["weight"].to_numpy().astype(float))
    nat = rng.choice(weights.size, size=hh_u.size, p=weights)
    block["nat"] = np.where(is_foreign, nat, -1)[inv]


def _build_skeleton(rng: np.random.Generator, residents: int, ref: ReferenceData,
                    large_families: float = 0.0) -> dict[str, np.ndarray]:
    """All people with household, role, age, sex, status, nationality and links (no names, no money yet)."""
    shares = _p([h.share for h in HOUSEHOLD_TYPES])
    moved_shares = _p([h.moved_out_share for h in HOUSEHOLD_TYPES])

    res = _to_block(_sample_households(rng, residents, shares, exact=True, large_share=large_families),
                    RESIDENT, 0, 0)
    _mark_foreign(rng, res, ref)
    hh_next = int(res["hh"].max()) + 1
    n = res["hh"].size

    moved = _to_block(
        _sample_households(rng, max(1, round(residents * MOVED_OUT_RATE)), moved_shares, exact=False),
        MOVED_OUT, hh_next, n,
    )
    _mark_foreign(rng, moved, ref)
    hh_next = int(moved["hh"].max()) + 1
    n += moved["hh"].size
    moved["elsewhere_kind"][:] = 1

    # Deaths: about half are husbands of women who now live alone (寡婦), the rest lived alone.
    n_dec = max(1, round(residents * DECEASED_RATE))
    widows = np.flatnonzero((res["htype"] == H_SINGLE_OLD) & (res["sex"] == 2) & (res["age"] >= 68))
    n_attached = min(n_dec // 2, widows.size)
    attached_to = np.sort(rng.choice(widows, size=n_attached, replace=False)) if n_attached else np.empty(0, np.int64)
    dec = _empty_block(n_dec)
    dec["status"][:] = DECEASED
    dec["hh"][:n_attached] = res["hh"][attached_to]
    dec["htype"][:n_attached] = H_SINGLE_OLD
    dec["role"][:n_attached] = SPOUSE  # 続柄 夫: the widow is now 世帯主
    dec["sex"][:n_attached] = 1
    dec["age"][:n_attached] = np.clip(res["age"][attached_to] + np.round(rng.normal(3, 3, n_attached)), 66, 104)
    dec["family_key"][:n_attached] = res["family_key"][attached_to]
    dec["link"][:n_attached] = attached_to  # remembered to mark the widow
    dec["nat"][:n_attached] = res["nat"][attached_to]
    n_alone = n_dec - n_attached
    dec["hh"][n_attached:] = hh_next + np.arange(n_alone)
    dec["htype"][n_attached:] = H_SINGLE_OLD
    dec["age"][n_attached:] = _draw_ages(rng, n_alone, _age_pmf("normal", 60, 104, 85.0, 8.0))
    dec["sex"][n_attached:] = np.where(rng.random(n_alone) < 0.5, 1, 2)
    dec["family_key"][n_attached:] = dec["hh"][n_attached:]
    alone = {k: v[n_attached:] for k, v in dec.items()}
    _mark_foreign(rng, alone, ref, rate=0.02)
    dec["nat"][n_attached:] = alone["nat"]
    hh_next += n_alone
    n += n_dec

    # 住登外: single people living in the ward without a 住民票 here.
    n_nr = max(1, round(residents * NOT_REGISTERED_RATE))
    nr = _empty_block(n_nr)
    nr["status"][:] = NOT_REGISTERED
    nr["hh"] = hh_next + np.arange(n_nr)
    nr["htype"][:] = H_SINGLE_YOUNG
    nr["age"] = np.clip(np.round(rng.normal(30.0, 8.0, n_nr)), 18, 64).astype(np.int64)
    nr["sex"] = np.where(rng.random(n_nr) < 0.55, 1, 2)
    nr["family_key"] = nr["hh"].copy()
    _mark_foreign(rng, nr, ref, rate=0.1)
    hh_next += n_nr
    n += n_nr

    outsiders, hh_next = _outsiders(rng, res, residents, hh_next, n)
    return _concat([res, moved, dec, nr, outsiders])


def _outsiders(
    rng: np.random.Generator, res: dict[str, np.ndarray], residents: int, hh_next: int, person_offset: int
) -> tuple[dict[str, np.ndarray], int]:
    """Dependants living elsewhere, and people reported to the ward although they live elsewhere."""
    blocks: list[dict[str, np.ndarray]] = []
    offset = person_offset
    japanese_adult = (res["role"] <= SPOUSE) & (res["nat"] < 0)

    # Parents in another prefecture (老人扶養 別居): 1 or 2 parents per selected resident.
    cand = np.flatnonzero(japanese_adult & (res["age"] >= 35) & (res["age"] <= 64))
    chosen = cand[rng.random(cand.size) < 0.03]
    base_age = res["age"][chosen] + np.clip(np.round(rng.normal(30.0, 4.0, chosen.size)), 21, 45).astype(np.int64)
    ok = base_age <= 100
    chosen, base_age = chosen[ok], base_age[ok]
    both = rng.random(chosen.size) < 0.5
    mother_only = rng.random(chosen.size) < 0.75
    n_par = np.where(both, 2, 1)
    rep = np.repeat(np.arange(chosen.size), n_par)
    first = np.ones(rep.size, bool)  # no parent chosen (a small ward) gives an empty block
    first[1:] = rep[1:] != rep[:-1]
    p = _empty_block(rep.size)
    p["status"][:] = OUTSIDER
    p["hh"] = hh_next + rep
    p["role"] = np.where(first, HEAD, SPOUSE)
    p["sex"] = np.where(both[rep], np.where(first, 1, 2), np.where(mother_only[rep], 2, 1))
    p["age"] = np.clip(base_age[rep] + np.where(both[rep] & first, 2, 0), 55, 104)
    child = chosen[rep]
    # The parents carry the child's family name unless the child is a married woman.
    married_woman = (res["sex"][child] == 2) & (res["spouse"][child] >= 0)
    p["family_key"] = np.where(married_woman, -(hh_next + rep) - 1, res["family_key"][child])
    p["link"] = child
    p["link_kind"][:] = LINK_PARENT_OF
    p["elsewhere_kind"][:] = 2
    idx = offset + np.arange(rep.size)
    pair = both[rep] & first
    p["spouse"][pair] = idx[pair] + 1
    p["spouse"][np.flatnonzero(pair) + 1] = idx[pair]
    blocks.append(p)
    hh_next += chosen.size
    offset += rep.size

    # Students living away from home (特定扶養), claimed by a resident parent.
    cand = np.flatnonzero(japanese_adult & (res["age"] >= 44) & (res["age"] <= 62)
                          & np.isin(res["htype"], (H_COUPLE_CHILDREN, H_SINGLE_PARENT)))
    chosen = cand[rng.random(cand.size) < 0.04]
    s = _empty_block(chosen.size)
    s["status"][:] = OUTSIDER
    s["hh"] = hh_next + np.arange(chosen.size)
    s["role"][:] = HEAD
    s["age"] = rng.integers(18, 23, chosen.size)
    s["sex"] = np.where(rng.random(chosen.size) < 0.5, 1, 2)
    s["family_key"] = res["family_key"][chosen]
    s["link"] = chosen
    s["link_kind"][:] = LINK_CHILD_OF
    s["elsewhere_kind"][:] = 2
    blocks.append(s)
    hh_next += chosen.size
    offset += chosen.size

    # A spouse who stayed at home while the resident works in the ward (単身赴任).
    cand = np.flatnonzero(japanese_adult & (res["htype"] == H_SINGLE_YOUNG) & (res["sex"] == 1)
                          & (res["age"] >= 35) & (res["age"] <= 59))
    chosen = cand[rng.random(cand.size) < 0.03]
    w = _empty_block(chosen.size)
    w["status"][:] = OUTSIDER
    w["hh"] = hh_next + np.arange(chosen.size)
    w["role"][:] = HEAD
    w["age"] = np.clip(res["age"][chosen] + np.round(rng.normal(-2, 3, chosen.size)), 30, 70).astype(np.int64)
    w["sex"][:] = 2
    w["family_key"] = res["family_key"][chosen]
    w["link"] = chosen
    w["link_kind"][:] = LINK_SPOUSE_OF
    w["spouse"] = chosen
    w["elsewhere_kind"][:] = 2
    res["spouse"][chosen] = offset + np.arange(chosen.size)
    blocks.append(w)
    hh_next += chosen.size
    offset += chosen.size

    # People who lived elsewhere on 1 January but whose employer reports them to the ward.
    n_mis = max(1, round(residents * MISDIRECTED_RATE))
    m = _empty_block(n_mis)
    m["status"][:] = OUTSIDER
    m["hh"] = hh_next + np.arange(n_mis)
    m["role"][:] = HEAD
    m["age"] = np.clip(np.round(rng.normal(36, 9, n_mis)), 23, 62).astype(np.int64)
    m["sex"] = np.where(rng.random(n_mis) < 0.55, 1, 2)
    m["family_key"] = -(m["hh"] + 1)
    m["link_kind"][:] = LINK_MISDIRECTED
    m["elsewhere_kind"][:] = 1
    blocks.append(m)
    hh_next += n_mis
    return _concat(blocks), hh_next


# --------------------------------------------------------------------------------------------------
# Names
# --------------------------------------------------------------------------------------------------
def _era(birth_year: np.ndarray) -> np.ndarray:
    return np.where(birth_year < 1955, 0, np.where(birth_year < 1990, 1, 2))


_ERA_NAMES = ("old", "mid", "new")
_GROUPS = ("japanese", "chinese", "korean", "western", "indian", "filipino", "vietnamese")


def _name_tables(ref: ReferenceData) -> tuple[pl.DataFrame, pl.DataFrame]:
    """Unified family and given name tables with a group code (0 = Japanese)."""
    group_code = {g: i for i, g in enumerate(_GROUPS)}
    fam = pl.concat([
        ref.family_names.select("kanji", "kana", "weight", pl.lit(0, pl.Int64).alias("group")),
        ref.foreign_names.filter(pl.col("part") == "family").select(
            pl.col("name").alias("kanji"), "kana", "weight",
            pl.col("group").replace_strict(group_code, return_dtype=pl.Int64).alias("group")),
    ])
    era_code = {e: i for i, e in enumerate(_ERA_NAMES)}
    giv = pl.concat([
        ref.given_names.select("kanji", "kana", "sex", "weight",
                               pl.col("era").replace_strict(era_code, return_dtype=pl.Int64).alias("era"),
                               pl.lit(0, pl.Int64).alias("group")),
        ref.foreign_names.filter(pl.col("part") == "given").select(
            pl.col("name").alias("kanji"), "kana", "sex", "weight", pl.lit(-1, pl.Int64).alias("era"),
            pl.col("group").replace_strict(group_code, return_dtype=pl.Int64).alias("group")),
    ])
    return fam, giv


def _sample_in_groups(
    rng: np.random.Generator, keys: np.ndarray, table_keys: np.ndarray, weights: np.ndarray
) -> np.ndarray:
    """For each row, an index into the table among rows whose key equals the row's key."""
    out = np.zeros(keys.size, np.int64)
    for k in np.unique(keys):
        rows = np.flatnonzero(keys == k)
        cand = np.flatnonzero(table_keys == k)
        if cand.size == 0:
            raise ValueError(f"no names for group key {k}")
        out[rows] = cand[rng.choice(cand.size, size=rows.size, p=_p(weights[cand]))]
    return out


def _assign_names(
    rng: np.random.Generator, sk: dict[str, np.ndarray], birth_year: np.ndarray, ref: ReferenceData
) -> dict[str, pl.Series]:
    fam, giv = _name_tables(ref)
    group_of_nat = ref.nationalities["name_group"].replace_strict(
        {g: i for i, g in enumerate(_GROUPS)}, return_dtype=pl.Int64).to_numpy()
    group = np.where(sk["nat"] >= 0, group_of_nat[np.maximum(sk["nat"], 0)], 0)
    n = group.size

    # Family names: one per family key. Lodgers, relatives and (in Chinese and Korean households)
    # wives keep their own family name.
    own_name = np.isin(sk["role"], (LODGER, RELATIVE)) | ((sk["role"] == SPOUSE) & np.isin(group, (1, 2)))
    key = np.where(own_name, -(np.arange(n) + 10_000_000_000), sk["family_key"])
    ukeys, first, inv = np.unique(key, return_index=True, return_inverse=True)
    fam_group = fam["group"].to_numpy()
    fam_idx_u = _sample_in_groups(rng, group[first], fam_group, fam["weight"].to_numpy().astype(float))
    fam_idx = fam_idx_u[inv]

    # Given names by group, sex and (for Japanese names) the era of birth.
    era = np.where(group == 0, _era(birth_year), -1)
    gkey = group * 100 + sk["sex"] * 10 + (era + 1)
    giv_key = (giv["group"].to_numpy() * 100 + giv["sex"].to_numpy() * 10 + (giv["era"].to_numpy() + 1))
    giv_idx = _sample_in_groups(rng, gkey, giv_key, giv["weight"].to_numpy().astype(float))

    # 通称 (alias): a Japanese name used by some foreign residents, chosen per household.
    alias_rate = ref.nationalities["alias_rate"].to_numpy()
    hh_u, hh_first, hh_inv = _household_index(sk)
    hh_nat = sk["nat"][hh_first]
    hh_alias = (hh_nat >= 0) & (rng.random(hh_u.size) < np.where(hh_nat >= 0, alias_rate[np.maximum(hh_nat, 0)], 0))
    has_alias = hh_alias[hh_inv] & (sk["nat"] >= 0)
    alias_fam_u = _sample_in_groups(rng, np.zeros(hh_u.size, np.int64), fam_group,
                                    fam["weight"].to_numpy().astype(float))
    alias_fam = alias_fam_u[hh_inv]
    alias_giv = _sample_in_groups(rng, sk["sex"] * 10 + (_era(birth_year) + 1), giv_key, giv["weight"].to_numpy().astype(float))

    fk, fa = fam["kanji"], fam["kana"]
    gk, ga = giv["kanji"], giv["kana"]
    mask = pl.Series(has_alias)
    alias_kanji = pl.select(
        pl.when(mask).then(fk.gather(alias_fam) + "\u3000" + gk.gather(alias_giv))).to_series()
    alias_kana = pl.select(
        pl.when(mask).then(fa.gather(alias_fam) + "\u3000" + ga.gather(alias_giv))).to_series()
    return {
        "family_name_kanji": fk.gather(fam_idx),
        "given_name_kanji": gk.gather(giv_idx),
        "family_name_kana": fa.gather(fam_idx),
        "given_name_kana": ga.gather(giv_idx),
        "alias_kanji": alias_kanji,
        "alias_kana": alias_kana,
    }


# --------------------------------------------------------------------------------------------------
# Addresses
# --------------------------------------------------------------------------------------------------
def _ward_addresses(rng: np.random.Generator, n_hh: int, ref: ReferenceData) -> pl.DataFrame:
    """One ward address per household: many in shared buildings (mansions, towers) with 方書.

    Columns: town_code, postal_code, address, address_detail (null for houses).
    """
    towns = ref.towns
    n_buildings = max(8, n_hh // 12)
    row_w = _p(towns["residential_weight"].to_numpy())

    def places(n: int) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
        row = rng.choice(row_w.size, size=n, p=row_w)
        lo = towns["chome_first"].to_numpy()[row]
        hi = towns["chome_last"].to_numpy()[row]
        chome = lo + (rng.random(n) * (hi - lo + 1)).astype(np.int64)
        ban = np.minimum(rng.geometric(0.09, n), 40)  # 番: low numbers are more frequent
        go = rng.integers(1, 26, n)
        return row, chome, ban, go

    b_row, b_chome, b_ban, b_go = places(n_buildings)
    tower = rng.random(n_buildings) < 0.18
    floors = np.where(tower, rng.integers(20, 55, n_buildings), rng.integers(3, 15, n_buildings))
    units = np.where(tower, rng.integers(8, 21, n_buildings), rng.integers(2, 9, n_buildings))
    parts = ref.building_name_parts
    pre = parts.filter(pl.col("kind") == "prefix")
    suf = parts.filter(pl.col("kind") == "suffix")
    b_pre = rng.choice(pre.height, size=n_buildings, p=_p(pre["weight"].to_numpy()))
    b_suf = rng.choice(suf.height, size=n_buildings, p=_p(suf["weight"].to_numpy()))
    b_suf = np.where(tower, int(suf["text"].index_of("タワー")), b_suf)
    b_num = np.where(rng.random(n_buildings) < 0.12, rng.integers(2, 6, n_buildings), 0)
    room_style = rng.choice(3, size=n_buildings, p=[0.6, 0.2, 0.2])  # 号室 / 号 / bare number
    b_weight = np.where(tower, 8.0, 1.0) * rng.pareto(2.0, n_buildings) + 0.2

    in_building = rng.random(n_hh) < 0.75
    bld = rng.choice(n_buildings, size=n_hh, p=_p(b_weight))
    h_row, h_chome, h_ban, h_go = places(n_hh)
    row = np.where(in_building, b_row[bld], h_row)
    chome = np.where(in_building, b_chome[bld], h_chome)
    ban = np.where(in_building, b_ban[bld], h_ban)
    go = np.where(in_building, b_go[bld], h_go)
    floor = 1 + (rng.random(n_hh) * floors[bld]).astype(np.int64)
    unit = 1 + (rng.random(n_hh) * units[bld]).astype(np.int64)
    room = floor * 100 + unit

    frame = pl.DataFrame({
        "row": row, "chome": chome, "ban": ban, "go": go, "in_building": in_building,
        "pre": pre["text"].fill_null("").gather(b_pre[bld]), "suf": suf["text"].gather(b_suf[bld]),
        "num": b_num[bld], "room": room, "room_style": room_style[bld],
    })
    town = towns.with_row_index("row").select(
        pl.col("row").cast(pl.Int64), "town_id", "town", "postal_code")
    frame = frame.join(town, on="row", how="left", validate="m:1", maintain_order="left")
    kanji_chome = pl.Series(_KANJI_NUMERALS)
    base = pl.col("town")
    return frame.select(
        (pl.col("town_id") + pl.col("chome").cast(pl.String).str.zfill(3)).alias("town_code"),
        pl.col("postal_code"),
        pl.when(pl.col("chome") > 0)
        .then(pl.concat_str([
            pl.lit("東京都港区"), base,
            pl.col("chome").replace_strict(list(range(10)), kanji_chome.to_list(), return_dtype=pl.String),
            pl.lit("丁目"), _fw(pl.col("ban")), pl.lit("番"), _fw(pl.col("go")), pl.lit("号")]))
        .otherwise(pl.concat_str([pl.lit("東京都港区"), base, _fw(pl.col("ban")), pl.lit("番地")]))
        .alias("address"),
        pl.when(pl.col("in_building")).then(pl.concat_str([
            pl.when(pl.col("num") > 0).then(pl.lit("第") + _fw(pl.col("num"))).otherwise(pl.lit("")),
            pl.col("pre"), pl.col("town"), pl.col("suf"),
            _fw(pl.col("room")),
            pl.col("room_style").replace_strict([0, 1, 2], ["号室", "号", ""], return_dtype=pl.String),
        ])).alias("address_detail"),
    )


def _elsewhere_addresses(rng: np.random.Generator, kinds: np.ndarray, ref: ReferenceData) -> pl.DataFrame:
    """Addresses in other municipalities: kind 1 = where people move to, 2 = where families live."""
    mun = ref.municipalities.filter(pl.col("postal_code").is_not_null())
    n = kinds.size
    idx = np.zeros(n, np.int64)
    for kind, col in ((1, "weight_move"), (2, "weight_family")):
        sel = np.flatnonzero(kinds == kind)
        idx[sel] = rng.choice(mun.height, size=sel.size, p=_p(mun[col].to_numpy().astype(float)))
    chome_last = mun["chome_last"].cast(pl.Int64).to_numpy()[idx]
    chome = np.where(chome_last > 0, 1 + (rng.random(n) * np.maximum(chome_last, 1)).astype(np.int64), 0)
    frame = pl.DataFrame({"i": idx, "chome": chome, "ban": rng.integers(1, 31, n), "go": rng.integers(1, 26, n)})
    m = mun.with_row_index("i").select(pl.col("i").cast(pl.Int64), "municipality_code", "prefecture", "name",
                                         "town", "postal_code")
    frame = frame.join(m, on="i", how="left", validate="m:1", maintain_order="left")
    kanji = pl.Series(_KANJI_NUMERALS).to_list()
    return frame.select(
        "municipality_code", "postal_code",
        pl.when(pl.col("chome") > 0).then(pl.concat_str([
            "prefecture", "name", "town",
            pl.col("chome").replace_strict(list(range(10)), kanji, return_dtype=pl.String),
            pl.lit("丁目"), _fw(pl.col("ban")), pl.lit("番"), _fw(pl.col("go")), pl.lit("号")]))
        .otherwise(pl.concat_str(["prefecture", "name", "town", _fw(pl.col("ban")), pl.lit("番地")]))
        .alias("address"),
    )


def _registered_elsewhere(ref: ReferenceData, confirmed: np.ndarray, outside: pl.Series,
                          ward_code: str) -> dict[str, pl.Series]:
    """Where a confirmed 住登外者's 住民票 is: a municipality other than the ward, picked by person index
    (no draw), and an address there. Null for everybody else."""
    mun = ref.municipalities.filter(pl.col("postal_code").is_not_null() & (pl.col("municipality_code") != ward_code)) \
        .select("municipality_code", "prefecture", "name", "town")
    n = confirmed.size
    pick = (np.arange(n, dtype=np.int64) * 7919) % mun.height
    rows = mun[pick].with_columns(pl.Series("ban", np.arange(n) % 30 + 1), pl.Series("keep", confirmed & outside.to_numpy()))
    return {
        "registered_municipality_code": rows.select(pl.when("keep").then("municipality_code")).to_series()
        .alias("registered_municipality_code"),
        "registered_address": rows.select(pl.when("keep").then(pl.concat_str(
            ["prefecture", "name", "town", _fw(pl.col("ban")), pl.lit("番地")]))).to_series().alias("registered_address"),
    }


# --------------------------------------------------------------------------------------------------
# Registry facts: dates, 宛名番号, 世帯番号, 個人番号
# --------------------------------------------------------------------------------------------------
def _birth_dates(rng: np.random.Generator, age: np.ndarray, cal: _Calendar) -> np.ndarray:
    """Birth day such that the age on 31 December of the income year is ``age`` (the tax-law age)."""
    year = cal.income_year - age
    return _year_start(year) + (rng.random(age.size) * np.where(_is_leap(year), 366, 365)).astype(np.int64)


def _registry_dates(rng: np.random.Generator, sk: dict[str, np.ndarray], birth: np.ndarray, cal: _Calendar) -> None:
    """Removal dates (消除) within Y-1 and move-in dates (住民となった年月日) per household (``birth`` may be edited)."""
    n = sk["hh"].size
    hh_u, first, inv = _household_index(sk)
    # 転出 peaks in March and April (school and job year); deaths spread over the year.
    month_w = _p([1, 1.3, 2.6, 2.4, 1, 0.9, 0.9, 0.9, 1, 0.9, 0.8, 0.9])
    month = rng.choice(12, size=hh_u.size, p=month_w)
    month_start = np.array([_days(date(cal.income_year, m + 1, 1)) for m in range(12)] + [cal.jan1])
    hh_moved_out = month_start[month] + (rng.random(hh_u.size) * (month_start[month + 1] - month_start[month])).astype(np.int64)
    person_death = cal.year_start + (rng.random(n) * cal.year_days).astype(np.int64)
    removal = np.where(sk["status"] == MOVED_OUT, hh_moved_out[inv], -1)
    removal = np.where(sk["status"] == DECEASED, person_death, removal)
    sk["removal"] = removal

    mean_years = np.array([h.mean_years_in_ward for h in HOUSEHOLD_TYPES] + [25.0])[sk["htype"][first]]
    mean_years = np.where(sk["nat"][first] >= 0, np.minimum(mean_years, 3.5), mean_years)
    years_back = rng.exponential(mean_years)
    ref_day = np.where(removal[first] >= 0, removal[first], cal.jan1)
    head_birth = birth[first]
    earliest = head_birth + 18 * 365
    hh_move_in = np.maximum(ref_day - (years_back * 365.25).astype(np.int64) - 1, earliest)
    hh_move_in = np.minimum(hh_move_in, ref_day - 1)
    # A child of a household that moved out cannot be born after the move: such births move to
    # shortly before it (the child is then 0 or 1 years old, as the caller recomputes the ages).
    late_birth = (removal >= 0) & (birth >= removal)
    birth[late_birth] = removal[late_birth] - 1 - (rng.random(late_birth.sum()) * 200).astype(np.int64)
    move_in = np.maximum(hh_move_in[inv], birth)
    # A husband who died during the year was registered before his death.
    sk["move_in"] = np.where(removal >= 0, np.minimum(move_in, removal - 1), move_in)


def _sequential_numbers(rng: np.random.Generator, order: np.ndarray, base: int, max_gap: int) -> np.ndarray:
    """10-digit numbers issued in ``order`` with small random gaps (numbers of removed people etc.)."""
    gaps = rng.integers(1, max_gap + 1, size=order.size)
    numbers = np.empty(order.size, np.int64)
    numbers[order] = base + np.cumsum(gaps)
    if numbers.size and numbers.max() >= 10**10:
        raise ValueError("number range exhausted")
    return numbers


def _my_numbers(rng: np.random.Generator, n: int) -> pl.Series:
    """Unique 12-digit 個人番号 strings with valid check digits (leading zeros kept; ~10 % start with 0)."""
    base = _unique_ints(rng, n, 1, 10**11)  # base 0 would give the all-zero number, never issued
    check = my_number_check_digits(base)
    number = base * 10 + check
    out = pl.Series("my_number", number).cast(pl.String).str.zfill(12)
    missing = rng.random(n) < MY_NUMBER_MISSING_RATE
    if not missing.any():  # always at least one, so the "no number" path is exercised
        missing[rng.integers(0, n)] = True
    return pl.select(pl.when(pl.Series(missing)).then(None).otherwise(out)).to_series().alias("my_number")


# --------------------------------------------------------------------------------------------------
# Status facts: 生活扶助, 障害者, 寡婦, ひとり親
# --------------------------------------------------------------------------------------------------
def _livelihood_assistance(rng: np.random.Generator, sk: dict[str, np.ndarray]) -> np.ndarray:
    hh_u, first, inv = _household_index(sk)
    counts = np.bincount(inv, minlength=hh_u.size)
    htype = sk["htype"][first]
    weight = np.select(
        [htype == H_SINGLE_OLD, htype == H_SINGLE_PARENT, htype == H_SINGLE_YOUNG],
        [5.0, 5.0, 1.0], default=0.25)
    eligible = sk["status"][first] == RESIDENT
    target = LIVELIHOOD_ASSISTANCE_RATE * np.count_nonzero(sk["status"] == RESIDENT)
    scale = target / max(1e-9, float((weight * counts * eligible).sum()))
    chosen = eligible & (rng.random(hh_u.size) < np.minimum(1.0, weight * scale))
    return chosen[inv] & (sk["status"] == RESIDENT)


def _disability(rng: np.random.Generator, age: np.ndarray) -> tuple[pl.Series, pl.Series, np.ndarray]:
    n = age.size
    rate = np.where(age < 20, 0.015, np.where(age < 65, 0.028, 0.09))
    has = rng.random(n) < rate
    kind = rng.choice(3, size=n, p=[0.6, 0.25, 0.15])  # 身体 / 精神 / 療育
    kind = np.where((age < 20) & (kind == 1), 2, kind)  # young people: 療育 rather than 精神
    g_body = rng.choice(6, size=n, p=[0.25, 0.15, 0.17, 0.28, 0.07, 0.08]) + 1
    g_mind = rng.choice(3, size=n, p=[0.1, 0.55, 0.35]) + 1
    g_ryo = rng.random(n) < 0.4  # A
    # grade labels: index 0..5 = 身体 1..6, 6..8 = 精神 1..3, 9 = 療育 A, 10 = 療育 B, 11 = none
    grade = np.where(kind == 0, g_body - 1, np.where(kind == 1, 5 + g_mind, np.where(g_ryo, 9, 10)))
    special = has & (((kind == 0) & (g_body <= 2)) | ((kind == 1) & (g_mind == 1)) | ((kind == 2) & g_ryo))
    cert_labels = pl.Series(["身体", "精神", "療育", None], dtype=pl.String)
    grade_labels = pl.Series(["1", "2", "3", "4", "5", "6", "1", "2", "3", "A", "B", None], dtype=pl.String)
    cert = cert_labels.gather(np.where(has, kind, 3))
    grade_s = grade_labels.gather(np.where(has, grade, 11))
    return cert, grade_s, special


# --------------------------------------------------------------------------------------------------
# Income
# --------------------------------------------------------------------------------------------------
def salary_income_estimate(revenue: np.ndarray, fiscal_year: int) -> np.ndarray:
    """給与所得 approximation (closed forms of 所得税法第28条; no 4,000-yen table) — used to decide claims only."""
    r = np.asarray(revenue, dtype=np.float64)
    minimum = 650_000 if fiscal_year >= 2026 else 550_000
    deduction = np.select(
        [r <= 1_625_000, r <= 1_800_000, r <= 3_600_000, r <= 6_600_000, r <= 8_500_000],
        [minimum, r * 0.4 - 100_000, r * 0.3 + 80_000, r * 0.2 + 440_000, r * 0.1 + 1_100_000], default=1_950_000)
    deduction = np.maximum(deduction, minimum)
    return np.maximum(0, r - deduction).astype(np.int64)


def pension_income_estimate(revenue: np.ndarray, age: np.ndarray) -> np.ndarray:
    """公的年金等の雑所得 approximation (flat 110万 / 60万 minimum deductions) — for claims only."""
    r = np.asarray(revenue, dtype=np.int64)
    return np.maximum(0, r - np.where(age >= 65, 1_100_000, 600_000))


def _national_tax_estimate(taxable: np.ndarray) -> np.ndarray:
    """所得税 + 復興特別所得税 on a taxable amount (quick table), floored to 100 yen: for 源泉徴収税額 only."""
    t = np.floor(np.maximum(0, taxable) / 1000) * 1000
    tax = np.select(
        [t <= 1_949_000, t <= 3_299_000, t <= 6_949_000, t <= 8_999_000, t <= 17_999_000, t <= 39_999_000],
        [t * 0.05, t * 0.10 - 97_500, t * 0.20 - 427_500, t * 0.23 - 636_000, t * 0.33 - 1_536_000,
         t * 0.40 - 2_796_000], default=t * 0.45 - 4_796_000)
    return (np.floor(tax * 1.021 / 100) * 100).astype(np.int64)


@dataclass
class _Income:
    profile: np.ndarray
    part_time: np.ndarray
    salary_total: np.ndarray  # planned salary revenue (before employment split)
    works_as_pensioner: np.ndarray
    pensioner: np.ndarray


def _income_profiles(rng: np.random.Generator, sk: dict[str, np.ndarray], welfare: np.ndarray,
                     child_in_household: np.ndarray) -> _Income:
    n = sk["age"].size
    age, sex, role = sk["age"], sk["sex"], sk["role"]
    u = rng.random(n)
    profile = np.full(n, NONE, np.int64)
    part_time = np.zeros(n, bool)
    profile = np.where((age >= 15) & (age <= 18), STUDENT, profile)
    profile = np.where((age >= 19) & (age <= 22), np.where(u < 0.62, STUDENT, SALARIED), profile)
    adult = (age >= 23) & (age <= 64)
    wife = (role == SPOUSE) & (sex == 2)
    with_kids = child_in_household
    wife_none = np.where(with_kids, 0.38, 0.2)
    wife_part = np.where(with_kids, 0.27, 0.15)
    prof_adult = np.select(
        [u < 0.80, u < 0.89, u < 0.91], [SALARIED, SELF_EMPLOYED, LANDLORD], default=NONE)
    prof_adult = np.where((age <= 25) & (u > 0.93), STUDENT, prof_adult)
    prof_wife = np.where(u < wife_none, NONE, SALARIED)
    part_time = adult & wife & (u >= wife_none) & (u < wife_none + wife_part)
    profile = np.where(adult, np.where(wife, prof_wife, prof_adult), profile)
    profile = np.where(age >= 65, PENSIONER, profile)
    # Pensions from 60 for some (繰上げ, 特別支給); they keep their main profile.
    pensioner = (age >= 65) | ((age >= 60) & (rng.random(n) < 0.15))
    works = (age >= 65) & (rng.random(n) < np.select([age < 70, age < 75], [0.30, 0.18], default=0.05))
    # Outsider parents are old-age pensioners with little else; misdirected people are employees.
    profile = np.where(sk["link_kind"] == LINK_MISDIRECTED, SALARIED, profile)
    profile = np.where(sk["link_kind"] == LINK_CHILD_OF, STUDENT, profile)
    works &= sk["link_kind"] != LINK_PARENT_OF
    # 生活扶助 households: almost no earned income (a little part-time work for some).
    profile = np.where(welfare & (age < 65) & (age >= 15), np.where(u < 0.15, SALARIED, NONE), profile)
    part_time |= welfare & (profile == SALARIED)
    works &= ~welfare
    part_time |= (profile == SALARIED) & (age >= 19) & (age <= 22) & (rng.random(n) < 0.2)
    return _Income(profile=profile, part_time=part_time, salary_total=np.zeros(n, np.int64),
                   works_as_pensioner=works, pensioner=pensioner)


def _salary_amounts(rng: np.random.Generator, sk: dict[str, np.ndarray], inc: _Income) -> np.ndarray:
    n = sk["age"].size
    age, sex = sk["age"], sk["sex"]
    # Median full-time salary in Minato by age: rises to ~8.5M at 50, falls after 55.
    median = 3_300_000 + 170_000 * np.clip(age - 22, 0, 30) - 150_000 * np.clip(age - 55, 0, 15)
    median = np.where(sex == 2, median * 0.8, median)
    full = _lognormal(rng, median, 0.45, n)
    top = rng.random(n) < 0.025
    full = np.where(top, full * rng.uniform(2.0, 6.0, n), full)
    part = np.select(
        [rng.random(n) < 0.4, rng.random(n) < 0.35],
        [rng.uniform(850_000, 1_030_000, n), rng.uniform(1_030_000, 1_300_000, n)],
        default=rng.uniform(300_000, 2_100_000, n))
    student_job = rng.random(n) < np.where(sk["age"] <= 18, 0.15, 0.5)
    student_pay = np.where(sk["age"] <= 18, rng.uniform(50_000, 900_000, n), rng.uniform(150_000, 1_700_000, n))
    senior = _lognormal(rng, 2_600_000, 0.5, n)
    salary = np.zeros(n)
    salary = np.where((inc.profile == SALARIED) & ~inc.part_time, full, salary)
    salary = np.where((inc.profile == SALARIED) & inc.part_time, part, salary)
    salary = np.where((inc.profile == STUDENT) & student_job, student_pay, salary)
    salary = np.where(inc.works_as_pensioner, senior, salary)
    salary = np.where(sk["welfare"], np.minimum(salary, 600_000), salary)
    return _round_to(salary, 1000)


# --------------------------------------------------------------------------------------------------
# Employers (特別徴収義務者)
# --------------------------------------------------------------------------------------------------
def _employers(rng: np.random.Generator, n_employers: int, ref: ReferenceData) -> tuple[pl.DataFrame, np.ndarray]:
    """Employer table and each employer's attractiveness weight (a few large firms, many small ones)."""
    parts = ref.employer_name_parts
    kinds = parts["kind"].to_numpy()

    def pick(kind: str, n: int) -> np.ndarray:
        rows = np.flatnonzero(kinds == kind)
        return rows[rng.choice(rows.size, size=n, p=_p(parts["weight"].to_numpy()[rows].astype(float)))]

    n = n_employers
    form = rng.choice(3, size=n, p=[0.86, 0.09, 0.05])  # company / sole proprietor / other corporation
    stem = pick("stem", n)
    csuf = pick("company_suffix", n)
    legal = pick("legal_form", n)
    ssuf = pick("sole_proprietor_suffix", n)
    other = pick("other_corporation", n)
    front = rng.random(n) < 0.5  # 前株 or 後株
    text = parts["text"]
    extra = parts["extra"].fill_null("")
    btype = parts["business_type"].fill_null("")
    name = pl.select(
        pl.when(pl.Series(form == 0)).then(
            pl.when(pl.Series(front)).then(text.gather(legal) + text.gather(stem) + text.gather(csuf))
            .otherwise(text.gather(stem) + text.gather(csuf) + text.gather(legal)))
        .when(pl.Series(form == 1)).then(text.gather(stem) + text.gather(ssuf))
        .otherwise(text.gather(other) + text.gather(stem) + extra.gather(other))
    ).to_series()
    business = pl.select(
        pl.when(pl.Series(form == 0)).then(btype.gather(csuf))
        .when(pl.Series(form == 1)).then(btype.gather(ssuf))
        .otherwise(btype.gather(other))).to_series()

    # 法人番号: 12-digit base = 登記所コード (4) + 種別 (2) + 一連番号 (6), check digit in front.
    registry_office = np.array(["0104", "0100", "0110", "0111", "0112", "0113", "0105", "0106"])
    kind_code = np.where(form == 0, np.where(np.isin(legal, np.flatnonzero(text.to_numpy() == "合同会社")), "03",
                                             np.where(np.isin(legal, np.flatnonzero(text.to_numpy() == "有限会社")), "02", "01")), "05")
    serial = _unique_ints(rng, n, 1, 10**6)
    base12 = pl.Series(registry_office[rng.integers(0, registry_office.size, n)]) + pl.Series(kind_code) \
        + pl.Series(serial).cast(pl.String).str.zfill(6)
    corporate = pl.select(
        pl.when(pl.Series(form == 1)).then(None)
        .otherwise(corporate_number_check_digit_expr(base12).cast(pl.String) + base12)).to_series()

    # 指定番号: the ward's own number for the employer, 8–10 digits.
    width = rng.choice([8, 9, 10], size=n, p=[0.5, 0.3, 0.2])
    des = _unique_ints(rng, n, 10**7, 10**8)
    designation = pl.select(
        pl.Series(des).cast(pl.String) + pl.Series(rng.integers(0, 100, n)).cast(pl.String).str.zfill(2)
        .str.slice(0, pl.Series(width - 8))).to_series()

    # Location: ~65 % in the ward (business districts), others elsewhere in Japan (mostly Tokyo).
    in_ward = rng.random(n) < 0.65
    towns = ref.towns
    trow = rng.choice(towns.height, size=n, p=_p(towns["office_weight"].to_numpy()))
    lo = towns["chome_first"].to_numpy()[trow]
    hi = towns["chome_last"].to_numpy()[trow]
    chome = lo + (rng.random(n) * (hi - lo + 1)).astype(np.int64)
    mun = ref.municipalities.filter(pl.col("postal_code").is_not_null())
    mrow = rng.choice(mun.height, size=n, p=_p(mun["weight_move"].to_numpy().astype(float)))
    mchome_last = mun["chome_last"].cast(pl.Int64).to_numpy()[mrow]
    mchome = np.where(mchome_last > 0, 1 + (rng.random(n) * np.maximum(mchome_last, 1)).astype(np.int64), 0)
    floor_ = rng.integers(1, 40, n)
    has_floor = rng.random(n) < 0.7
    frame = pl.DataFrame({
        "in_ward": in_ward,
        "ward_town": towns["town"].gather(trow), "ward_postal": towns["postal_code"].gather(trow),
        "chome": np.where(in_ward, chome, mchome),
        "ban": rng.integers(1, 30, n), "go": rng.integers(1, 25, n),
        "pref": mun["prefecture"].gather(mrow), "mname": mun["name"].gather(mrow), "mtown": mun["town"].gather(mrow),
        "mpostal": mun["postal_code"].gather(mrow), "marea": mun["phone_area_code"].gather(mrow),
        "bld": text.gather(stem) + pl.Series(np.where(rng.random(n) < 0.5, "ビル", "タワー")),
        "floor": floor_, "has_floor": has_floor,
        "p1": rng.integers(1000, 10000, n), "p2": rng.integers(0, 10000, n),
    })
    kanji = list(_KANJI_NUMERALS)
    chome_txt = pl.when(pl.col("chome") > 0).then(
        pl.col("chome").replace_strict(list(range(10)), kanji, return_dtype=pl.String) + pl.lit("丁目")
        + _fw(pl.col("ban")) + pl.lit("番") + _fw(pl.col("go")) + pl.lit("号")
    ).otherwise(_fw(pl.col("ban")) + pl.lit("番地"))
    floor_txt = pl.when(pl.col("has_floor")).then(pl.lit("\u3000") + pl.col("bld") + _fw(pl.col("floor")) + pl.lit("階")).otherwise(pl.lit(""))
    area = pl.when(pl.col("in_ward")).then(pl.lit("03")).otherwise(pl.col("marea"))
    local_len = 10 - area.str.len_chars() - 4
    addr = frame.select(
        pl.when(pl.col("in_ward")).then(pl.lit("東京都港区") + pl.col("ward_town") + chome_txt + floor_txt)
        .otherwise(pl.col("pref") + pl.col("mname") + pl.col("mtown") + chome_txt + floor_txt).alias("address"),
        pl.when(pl.col("in_ward")).then(pl.col("ward_postal")).otherwise(pl.col("mpostal")).alias("postal_code"),
        (area + pl.lit("-") + pl.col("p1").cast(pl.String).str.slice(0, local_len) + pl.lit("-")
         + pl.col("p2").cast(pl.String).str.zfill(4)).alias("phone"),
    )
    employers = pl.DataFrame({
        "employer_id": np.arange(n, dtype=np.int64),
        "designation_no": designation,
        "corporate_number": corporate,
        "name": name,
        "address": addr["address"],
        "postal_code": addr["postal_code"],
        "phone": addr["phone"],
        "business_type": business,
    })
    weight = rng.pareto(1.1, n) + 0.05
    return employers, weight


def _employments(
    rng: np.random.Generator, sk: dict[str, np.ndarray], inc: _Income, cal: _Calendar, n_employers: int,
    employer_weight: np.ndarray,
) -> pl.DataFrame:
    """Salary relationships: primary employer, job changes, retirements, second (乙欄) employers."""
    n = sk["age"].size
    age = sk["age"]
    earner = inc.salary_total > 0
    full_time = earner & (inc.profile == SALARIED) & ~inc.part_time
    y0, days = cal.year_start, cal.year_days

    changer = full_time & (age >= 23) & (age <= 59) & (rng.random(n) < 0.06)
    leaver = earner & ~changer & (rng.random(n) < np.where((age >= 58) & (age <= 66), 0.08, 0.015))
    new_grad = full_time & ~changer & ~leaver & (age >= 22) & (age <= 23) & (rng.random(n) < 0.7)
    second = full_time & ~leaver & (rng.random(n) < 0.05)

    end1 = y0 + rng.integers(31, 300, n)  # end of first job (February–October)
    start2 = np.minimum(end1 + 1 + rng.integers(0, 60, n), y0 + days - 31)
    leave_day = y0 + rng.integers(31, days - 1, n)
    april1 = _days(date(cal.income_year, 4, 1))

    rows: list[dict[str, np.ndarray]] = []
    idx = np.arange(n)

    def add(sel: np.ndarray, amount: np.ndarray, primary: bool, start: np.ndarray | None, end: np.ndarray | None,
            reason: np.ndarray) -> None:
        rows.append({
            "person": idx[sel], "amount": amount[sel], "primary": np.full(sel.sum(), primary),
            "start": (start[sel] if start is not None else np.full(sel.sum(), -1)),
            "end": (end[sel] if end is not None else np.full(sel.sum(), -1)),
            "reason": reason[sel],
        })

    salary = inc.salary_total.astype(np.float64)
    frac1 = (end1 - y0 + 1) / days
    # 普通徴収 reasons (特別区 standard): 0 none, 1 普A 従業員2人以下, 2 普B 乙欄, 3 普C 給与が少ない,
    # 4 普D 支払が不定期, 5 普E 事業専従者, 6 普F 退職者.
    none_reason = np.zeros(n, np.int64)
    reason_f = np.full(n, 6, np.int64)
    reason_b = np.full(n, 2, np.int64)
    ur = rng.random(n)
    small_pay = salary < 1_000_000
    base_reason = np.select([ur < 0.02, small_pay & (ur < 0.5), ur < 0.025, ur < 0.03], [1, 3, 4, 5], default=0)

    plain = earner & ~changer & ~leaver & ~new_grad
    add(plain, _round_to(salary, 1000), True, None, None, base_reason)
    add(new_grad, _round_to(salary * (days - (april1 - y0)) / days, 1000), True, np.full(n, april1), None, none_reason)
    leave_frac = (leave_day - y0 + 1) / days
    add(leaver, _round_to(salary * leave_frac, 1000), True, None, leave_day, reason_f)
    add(changer, _round_to(salary * frac1, 1000), True, None, end1, reason_f)
    add(changer, _round_to(salary * (1 - (start2 - y0) / days) * rng.uniform(0.9, 1.25, n), 1000), True, start2, None,
        base_reason)
    add(second, _round_to(rng.uniform(100_000, 2_000_000, n), 1000), False, None, None, reason_b)

    emp = {k: np.concatenate([r[k] for r in rows]) for k in rows[0]}
    m = emp["person"].size
    order = np.lexsort((emp["start"], ~emp["primary"], emp["person"]))
    emp = {k: v[order] for k, v in emp.items()}
    employer = rng.choice(n_employers, size=m, p=_p(employer_weight))
    amount = np.maximum(emp["amount"], 1000)

    # 社会保険料 withheld: ~14.5 % of pay (health, pension, employment insurance) for full-time work,
    # nothing for small part-time jobs and second employers; only health insurance from age 70.
    p_age = age[emp["person"]]
    rate = np.where(p_age >= 70, 0.05, np.where(p_age >= 40, 0.155, 0.145))
    insured = emp["primary"] & (amount >= 1_060_000)
    social = np.where(insured, np.round(np.minimum(amount, 13_000_000) * rate + np.maximum(0, amount - 13_000_000) * 0.05), 0).astype(np.int64)
    # 源泉徴収税額: year-end adjusted for the primary employer (甲欄), about 3 % for 乙欄.
    taxable = salary_income_estimate(amount, cal.fiscal_year) - social - 480_000
    withholding = np.where(emp["primary"], _national_tax_estimate(taxable.astype(np.float64)),
                           (np.floor(amount * 0.03063)).astype(np.int64))
    withholding = np.where(emp["end"] >= 0, (withholding * 1.1).astype(np.int64), withholding)

    employee_rank = _rank_within(employer, emp["person"])
    offset = rng.integers(1, 5000, size=n_employers)
    employee_no = pl.Series(employee_rank + offset[employer] + 1).cast(pl.String).str.zfill(6)
    reason = pl.Series([None, "普A", "普B", "普C", "普D", "普E", "普F"], dtype=pl.String).gather(emp["reason"])
    start = pl.Series(emp["start"]).cast(pl.Int32)
    end = pl.Series(emp["end"]).cast(pl.Int32)
    frame = pl.DataFrame({
        "employment_id": np.arange(m, dtype=np.int64),
        "person_id": emp["person"].astype(np.int64),
        "employer_id": employer.astype(np.int64),
        "employee_no": employee_no,
        "is_primary": emp["primary"],
        "salary_revenue": amount.astype(np.int64),
        "withholding_tax": np.maximum(withholding, 0).astype(np.int64),
        "social_insurance": social,
        "start_date": start,
        "end_date": end,
        "reason": reason,
    })
    return frame.select(
        "employment_id", "person_id", "employer_id", "employee_no", "is_primary", "salary_revenue",
        "withholding_tax", "social_insurance",
        pl.when(pl.col("start_date") >= 0).then(pl.col("start_date")).cast(pl.Date).alias("start_date"),
        pl.when(pl.col("end_date") >= 0).then(pl.col("end_date")).cast(pl.Date).alias("end_date"),
        pl.col("reason").is_not_null().alias("ordinary_collection"),
        pl.col("reason").alias("ordinary_collection_reason"),
    )


# --------------------------------------------------------------------------------------------------
# Pensions (公的年金等)
# --------------------------------------------------------------------------------------------------
def _pensions(rng: np.random.Generator, sk: dict[str, np.ndarray], inc: _Income, ref: ReferenceData) -> pl.DataFrame:
    n = sk["age"].size
    age = sk["age"]
    who = np.flatnonzero(inc.pensioner)
    k = who.size
    payers = ref.pension_payers
    main_payer = rng.choice(payers.height, size=k, p=_p(payers["weight_main"].to_numpy().astype(float)))
    national_only = rng.random(k) < np.where(sk["nat"][who] >= 0, 0.6, 0.25)
    national_only |= sk["welfare"][who]
    rev_national = rng.uniform(550_000, 830_000, k)
    rev_employee = np.clip(_lognormal(rng, 1_900_000, 0.3, k), 900_000, 3_300_000)
    parent = sk["link_kind"][who] == LINK_PARENT_OF
    rev_main = np.where(national_only, rev_national, rev_employee)
    rev_main = np.where(parent, rng.uniform(600_000, 1_900_000, k), rev_main)
    rev_main = np.where(age[who] < 65, rev_main * 0.6, rev_main)
    has_second = (rng.random(k) < 0.15) & ~national_only
    second_payer = rng.choice(payers.height, size=k, p=_p(payers["weight_second"].to_numpy().astype(float)))
    second_payer = np.where(second_payer == main_payer, (main_payer + 1) % payers.height, second_payer)
    rev_second = rng.uniform(150_000, 1_200_000, k)

    person = np.concatenate([who, who[has_second]])
    payer = np.concatenate([main_payer, second_payer[has_second]])
    revenue = _round_to(np.concatenate([rev_main, rev_second[has_second]]), 1)
    is_main = np.concatenate([np.ones(k, bool), np.zeros(has_second.sum(), bool)])
    p_age = age[person]
    # 源泉徴収: 5.105 % above the deduction; 介護保険料 etc. withheld from the main pension (65+, ≥18万).
    threshold = np.where(p_age >= 65, 1_580_000, 1_080_000)
    withholding = np.floor(np.maximum(0, revenue - threshold) * 0.05105).astype(np.int64)
    social = np.where(is_main & (p_age >= 65) & (revenue >= 180_000),
                      np.round(revenue * rng.uniform(0.06, 0.11, person.size)), 0).astype(np.int64)
    order = np.lexsort((~is_main, person))
    basic_no = _unique_ints(rng, n, 10**9, 10**10)  # 基礎年金番号, one per person
    frame = pl.DataFrame({
        "person_id": person[order].astype(np.int64),
        "payer": payer[order],
        "pension_revenue": revenue[order],
        "withholding_tax": withholding[order],
        "social_insurance": social[order],
    }).with_row_index("pension_id").with_columns(pl.col("pension_id").cast(pl.Int64))
    pay = payers.with_row_index("payer").select(pl.col("payer").cast(pl.Int64), "payer_code", "payer_name", "pension_code")
    frame = frame.with_columns(pl.col("payer").cast(pl.Int64)).join(pay, on="payer", how="left", validate="m:1",
                                                                     maintain_order="left")
    return frame.select(
        "pension_id", "person_id", "payer_code", "payer_name",
        pl.Series("basic_pension_no", basic_no).gather(frame["person_id"]).cast(pl.String).str.zfill(10),
        "pension_code", "pension_revenue", "withholding_tax", "social_insurance",
    )


# --------------------------------------------------------------------------------------------------
# Dependants and donations
# --------------------------------------------------------------------------------------------------
def _dependants(
    rng: np.random.Generator, sk: dict[str, np.ndarray], total_income: np.ndarray, has_income: np.ndarray,
    is_student: np.ndarray, fiscal_year: int,
) -> pl.DataFrame:
    """Who claims whom (配偶者 and 扶養親族). Claims follow the income rules with deliberate exceptions.

    * ≈3 % of people over the income limit are claimed anyway (the engine must refuse those claims);
    * ≈0.5 % of claimed children are also claimed by the other parent (扶養重複).
    Children, elders and outsiders are claimed first; a spouse is claimed only if nobody claims them
    as a dependant already, so the planted 扶養重複 are the only double claims.
    """
    n = sk["age"].size
    limit = _dependant_income_limit(fiscal_year)
    idx = np.arange(n)
    alive = sk["status"] != DECEASED
    claimed = np.zeros(n, bool)
    taxpayers: list[np.ndarray] = []
    deps: list[np.ndarray] = []
    kinds: list[np.ndarray] = []  # 0 spouse, 1 dependant
    together: list[np.ndarray] = []

    def claim(tp: np.ndarray, dep: np.ndarray, kind: int, living: np.ndarray, within: np.ndarray,
              p_ok: float) -> np.ndarray:
        u = rng.random(tp.size)
        ok = (tp >= 0) & (tp != dep) & ~claimed[dep]
        tp_safe = np.maximum(tp, 0)
        ok &= has_income[tp_safe] & alive[tp_safe] & alive[dep] & np.where(within, u < p_ok, u < 0.03)
        claimed[dep[ok]] = True
        taxpayers.append(tp[ok])
        deps.append(dep[ok])
        kinds.append(np.full(int(ok.sum()), kind))
        together.append(living[ok])
        return ok

    _, first, inv = _household_index(sk)
    head_of_hh = first[inv]
    head_sp = sk["spouse"][head_of_hh]

    # Children living with their parents: claimed by the higher-earning parent.
    children = np.flatnonzero((sk["role"] == CHILD) & (sk["age"] <= 30))
    h = head_of_hh[children]
    s = head_sp[children]
    s_safe = np.maximum(s, 0)
    s_ok = (s >= 0) & (sk["hh"][s_safe] == sk["hh"][children])
    parent = np.where(s_ok & (total_income[s_safe] > total_income[h]), s, h)
    other = np.where(parent == h, np.where(s_ok, s, -1), h)
    c_inc = total_income[children]
    c_age = sk["age"][children]
    within = (c_inc <= limit) | (is_student[children] & (c_age >= 19) & (c_age <= 22) & (c_inc <= 1_230_000))
    ok = claim(parent, children, 1, np.ones(children.size, bool), within, 0.97)
    # 扶養重複: the other parent claims the same child as well.
    dup_tp, dup_dep = other[ok], children[ok]
    dup = (dup_tp >= 0) & (rng.random(dup_tp.size) < 0.005)
    dup &= has_income[np.maximum(dup_tp, 0)]
    taxpayers.append(dup_tp[dup])
    deps.append(dup_dep[dup])
    kinds.append(np.ones(int(dup.sum()), np.int64))
    together.append(np.ones(int(dup.sum()), bool))

    # Elderly parents living with the head (同居老親等).
    elders = np.flatnonzero(sk["role"] == ELDER)
    eh = head_of_hh[elders]
    es = head_sp[eh]
    es_safe = np.maximum(es, 0)
    etp = np.where((es >= 0) & (total_income[es_safe] > total_income[eh]), es, eh)
    claim(etp, elders, 1, np.ones(elders.size, bool), total_income[elders] <= limit, 0.9)

    # Outsiders: parents elsewhere (老人扶養, 別居) and students away from home (特定扶養).
    for kind_code, p_ok, lim in ((LINK_PARENT_OF, 0.85, limit), (LINK_CHILD_OF, 0.95, 1_230_000)):
        who = np.flatnonzero(sk["link_kind"] == kind_code)
        claim(sk["link"][who], who, 1, np.zeros(who.size, bool), total_income[who] <= lim, p_ok)

    # Spouses: the higher earner claims the other (配偶者控除 / 配偶者特別控除 up to 合計所得 133万).
    sp = sk["spouse"]
    pair = sp > idx
    a, b = idx[pair], sp[pair]
    tp = np.where(total_income[a] >= total_income[b], a, b)
    dp = np.where(tp == a, b, a)
    claim(tp, dp, 0, sk["hh"][a] == sk["hh"][b], total_income[dp] <= SPOUSE_SPECIAL_LIMIT, 0.96)

    frame = pl.DataFrame({
        "taxpayer_person_id": np.concatenate(taxpayers).astype(np.int64),
        "dependant_person_id": np.concatenate(deps).astype(np.int64),
        "kind": pl.Series(["spouse", "dependant"]).gather(np.concatenate(kinds)),
        "living_together": np.concatenate(together).astype(bool),
    })
    return frame.unique(["taxpayer_person_id", "dependant_person_id"], keep="first", maintain_order=True).sort(
        "taxpayer_person_id", "dependant_person_id")


def _donations(rng: np.random.Generator, total_income: np.ndarray, alive_taxpayer: np.ndarray,
               cal: _Calendar, ref: ReferenceData, municipality_code: str) -> tuple[pl.DataFrame, np.ndarray]:
    """ふるさと納税: ~10 % of taxpayers, 1–8 donations each; returns donations and the donors' recipient counts."""
    n = total_income.size
    p = np.clip(0.07 + 0.05 * total_income / 5_000_000, 0, 0.6) * alive_taxpayer
    donor = np.flatnonzero(rng.random(n) < p)
    k = rng.choice(np.arange(1, 9), size=donor.size, p=_p([35, 22, 15, 10, 8, 5, 3, 2]))
    person = np.repeat(donor, k)
    m = person.size
    mun = ref.municipalities.filter((pl.col("weight_furusato") > 0) & (pl.col("municipality_code") != municipality_code))
    recipient = rng.choice(mun.height, size=m, p=_p(mun["weight_furusato"].to_numpy().astype(float)))
    recipient_names = mun.select(
        pl.when(pl.col("kind") == "prefecture").then(pl.col("prefecture"))
        .otherwise(pl.col("prefecture") + pl.col("name"))).to_series()
    scale = np.clip(total_income[person] / 6_000_000, 0.3, 8.0)
    amount = np.clip(_round_to(_lognormal(rng, 15_000 * scale, 0.6, m), 1000), 5_000, 500_000)
    month = rng.choice(12, size=m, p=_p([3, 3, 3, 3, 4, 5, 5, 5, 6, 7, 10, 30]))
    month_start = np.array([_days(date(cal.income_year, mm + 1, 1)) for mm in range(12)] + [cal.jan1])
    day = month_start[month] + (rng.random(m) * (month_start[month + 1] - month_start[month])).astype(np.int64)
    frame = pl.DataFrame({
        "person_id": person.astype(np.int64),
        "recipient_municipality_code": mun["municipality_code"].gather(recipient),
        "recipient_name": recipient_names.gather(recipient),
        "amount": amount.astype(np.int64),
        "donation_date": pl.Series(day).cast(pl.Int32).cast(pl.Date),
    }).sort("person_id", "donation_date", "recipient_municipality_code", maintain_order=True)
    recipients = frame.group_by("person_id", maintain_order=True).agg(
        pl.col("recipient_municipality_code").n_unique().alias("n"))
    n_recipients = np.zeros(n, np.int64)
    n_recipients[recipients["person_id"].to_numpy()] = recipients["n"].to_numpy()
    return frame, n_recipients


# --------------------------------------------------------------------------------------------------
# The builder
# --------------------------------------------------------------------------------------------------
def build_population(residents: int, seed: int, fiscal_year: int, municipality_code: str = "131032",
                     large_families: float = 0.0) -> Population:
    """Build the ward's people for fiscal year ``fiscal_year`` (residents on 1 January, income of Y-1).

    ``residents`` is the number of people with ``registry_status == "resident"``; removed, 住登外 and
    outsider people come on top. ``large_families`` (0 to 1, default 0) is the share of resident
    households with children that are large families (5-8 children; three-generation ones with two
    elders), to exercise the 5th and further dependants of the documents. Same arguments → identical
    frames; the default gives the same ward as before the option existed.
    """
    if residents < 1:
        raise ValueError("residents must be at least 1")
    if not 0.0 <= large_families <= 1.0:
        raise ValueError(f"large_families must be a share between 0 and 1, got {large_families!r}")
    if not (isinstance(municipality_code, str) and len(municipality_code) == 6 and municipality_code.isdigit()):
        raise ValueError(f"municipality_code must be 6 digits, got {municipality_code!r}")
    ref = load_reference_data()
    cal = _Calendar(fiscal_year)
    root = np.random.Generator(np.random.PCG64(seed))
    # One child stream per stage (SeedSequence spawn keys 0..11; the second one is kept free so that the
    # other streams keep their keys).
    (r_skel, _r_reserved, r_birth, r_names, r_addr, r_registry, r_status, r_income, r_employ, r_pension,
     r_deps, r_gifts) = root.spawn(12)

    sk = _build_skeleton(r_skel, residents, ref, large_families)
    n = sk["hh"].size
    birth = _birth_dates(r_birth, sk["age"], cal)
    _registry_dates(r_registry, sk, birth, cal)  # may move a few births earlier (see there)
    birth_year = (birth.astype("datetime64[D]").astype("datetime64[Y]").astype(np.int64) + 1970)
    sk["age"] = cal.income_year - birth_year
    names = _assign_names(r_names, sk, birth_year, ref)

    status = sk["status"]
    in_registry = np.isin(status, (RESIDENT, MOVED_OUT, DECEASED))
    in_ward = np.isin(status, (RESIDENT, MOVED_OUT, DECEASED, NOT_REGISTERED))

    # Ward addresses per household (registry and 住登外); outside addresses per household elsewhere.
    hh_u, hh_first, hh_inv = _household_index(sk)
    ward_addr = _ward_addresses(r_addr, hh_u.size, ref)
    kind_hh = sk["elsewhere_kind"][hh_first]
    other_addr = _elsewhere_addresses(r_addr, kind_hh, ref)
    hh_inv_s = pl.Series(hh_inv)

    reg_idx = np.flatnonzero(in_registry)
    atena = np.full(n, -1, np.int64)
    atena[reg_idx] = _sequential_numbers(r_registry, np.lexsort((reg_idx, sk["move_in"][reg_idx])), 100_000_000, 12)
    reg_hh = np.unique(sk["hh"][reg_idx])
    first_move = np.full(reg_hh.size, np.iinfo(np.int64).max)
    np.minimum.at(first_move, np.searchsorted(reg_hh, sk["hh"][reg_idx]), sk["move_in"][reg_idx])
    hh_numbers = _sequential_numbers(r_registry, np.lexsort((reg_hh, first_move)), 200_000_000, 9)
    household_no = np.full(n, -1, np.int64)
    household_no[reg_idx] = hh_numbers[np.searchsorted(reg_hh, sk["hh"][reg_idx])]
    # 住登外 confirmed by the ward (two in three, by person index: no draw, so nothing else moves): a 宛名番号
    # of the 住登外 range (09…) and a 世帯番号 per household (095…); the rest stay unconfirmed candidates.
    confirmed = np.flatnonzero((status == NOT_REGISTERED) & (np.arange(n) % 3 != 0))
    atena[confirmed] = 900_000_000 + np.arange(confirmed.size)
    juto_hh = np.unique(sk["hh"][confirmed])
    household_no[confirmed] = 950_000_000 + np.searchsorted(juto_hh, sk["hh"][confirmed])
    my_number = _my_numbers(r_registry, n)

    # Status facts.
    welfare = _livelihood_assistance(r_status, sk)
    sk["welfare"] = welfare
    cert, grade, special = _disability(r_status, sk["age"])
    child_in_hh = np.bincount(hh_inv, weights=(sk["role"] == CHILD), minlength=hh_u.size)[hh_inv] > 0

    # Income.
    inc = _income_profiles(r_income, sk, welfare, child_in_hh)
    inc.salary_total = _salary_amounts(r_income, sk, inc)
    n_employers = max(30, round(residents * 0.03))
    employers, emp_weight = _employers(r_employ, n_employers, ref)
    employments = _employments(r_employ, sk, inc, cal, n_employers, emp_weight)
    used = np.unique(employments["employer_id"].to_numpy())
    remap = np.full(n_employers, -1, np.int64)
    remap[used] = np.arange(used.size)
    employers = employers.filter(pl.Series(np.isin(np.arange(n_employers), used))).with_columns(
        pl.Series("employer_id", np.arange(used.size, dtype=np.int64)))
    employments = employments.with_columns(pl.Series("employer_id", remap[employments["employer_id"].to_numpy()]))
    pensions = _pensions(r_pension, sk, inc, ref)

    salary_rev = np.zeros(n, np.int64)
    np.add.at(salary_rev, employments["person_id"].to_numpy(), employments["salary_revenue"].to_numpy())
    pension_rev = np.zeros(n, np.int64)
    np.add.at(pension_rev, pensions["person_id"].to_numpy(), pensions["pension_revenue"].to_numpy())

    rng = r_income
    age = sk["age"]
    profile = inc.profile
    adult = age >= 20
    # Business (事業 営業等): revenue and income after expenses (some losses).
    self_emp = profile == SELF_EMPLOYED
    side_business = (profile == PENSIONER) & (rng.random(n) < 0.04)
    biz_rev = np.where(self_emp, np.clip(_lognormal(rng, 8_000_000, 0.9, n), 500_000, 200_000_000),
                       np.where(side_business, np.clip(_lognormal(rng, 3_000_000, 0.7, n), 300_000, 30_000_000), 0))
    biz_rev = _round_to(biz_rev, 1)
    margin = np.where(rng.random(n) < 0.04, -rng.uniform(0.0, 0.3, n), rng.uniform(0.1, 0.55, n))
    biz_inc = _round_to(biz_rev * margin, 1)
    landlord = (profile == LANDLORD) | ((profile == PENSIONER) & (rng.random(n) < 0.07)) \
        | (adult & (salary_rev > 10_000_000) & (rng.random(n) < 0.04))
    re_inc = np.where(landlord, _lognormal(rng, np.where(profile == LANDLORD, 3_000_000, 1_500_000), 0.8, n), 0)
    re_inc = np.where(landlord & (rng.random(n) < 0.06), -rng.uniform(100_000, 2_000_000, n), re_inc)
    re_inc = _round_to(re_inc, 1)
    p_div = np.where(adult & (age >= 25), np.where((salary_rev > 10_000_000) | (age >= 65), 0.06, 0.025), 0.0)
    dividends = np.where(rng.random(n) < p_div, np.clip(_lognormal(rng, 250_000, 1.0, n), 10_000, 30_000_000), 0)
    dividends = _round_to(dividends, 1)
    misc = np.where(adult & (rng.random(n) < 0.04), np.clip(_lognormal(rng, 150_000, 1.0, n), 5_000, 3_000_000), 0)
    misc = _round_to(misc, 1)
    occasional = np.where(adult & (rng.random(n) < 0.008), rng.uniform(500_000, 4_000_000, n), 0)
    occasional = _round_to(occasional, 1000)
    for arr in (biz_rev, biz_inc, re_inc, dividends, misc, occasional):
        arr[welfare] = 0

    total_income = (salary_income_estimate(salary_rev, fiscal_year) + pension_income_estimate(pension_rev, age)
                    + biz_inc + re_inc + dividends + misc + np.maximum(0, occasional - 500_000) // 2)
    has_income = (salary_rev > 0) | (pension_rev > 0) | (biz_rev > 0) | (re_inc != 0) | (dividends > 0) | (misc > 0)

    # Social insurance paid outside payroll (国民年金, 国民健康保険, 後期高齢者医療 …).
    pays_national = ((profile == SELF_EMPLOYED) | (profile == LANDLORD) | ((profile == NONE) & (age >= 20) & (age <= 59)
                     & (sk["spouse"] < 0))) & ~welfare & (age < 65)
    kokuho = np.minimum(np.maximum(total_income, 0) * 0.11 + 60_000, 1_060_000)
    social_paid = np.where(pays_national, 210_120 + kokuho, 0)
    social_paid = np.where((profile == PENSIONER) & ~welfare & (rng.random(n) < 0.5), rng.uniform(30_000, 200_000, n),
                           social_paid)
    social_paid = np.where((salary_rev > 0) & (rng.random(n) < 0.03), rng.uniform(50_000, 250_000, n), social_paid)
    social_paid = _round_to(social_paid, 1)
    mutual_aid = np.where(self_emp & (rng.random(n) < 0.15), rng.integers(1, 71, n) * 12_000,
                          np.where((salary_rev > 3_000_000) & (rng.random(n) < 0.06), rng.integers(12, 24, n) * 12_000, 0))
    insurable = adult & has_income & ~welfare & (age >= 25)
    buys_life = insurable & (rng.random(n) < 0.45)
    life_new_general = np.where(buys_life & (rng.random(n) < 0.6), rng.uniform(20_000, 150_000, n), 0)
    life_old_general = np.where(buys_life & (rng.random(n) < 0.25), rng.uniform(40_000, 200_000, n), 0)
    life_new_pension = np.where(buys_life & (rng.random(n) < 0.3), rng.uniform(60_000, 120_000, n), 0)
    life_old_pension = np.where(buys_life & (rng.random(n) < 0.08), rng.uniform(60_000, 150_000, n), 0)
    life_care = np.where(buys_life & (rng.random(n) < 0.3), rng.uniform(20_000, 100_000, n), 0)
    quake = np.where(insurable & (rng.random(n) < 0.2), rng.uniform(5_000, 60_000, n), 0)
    medical = np.where(adult & (rng.random(n) < np.where(age >= 65, 0.06, 0.02)),
                       np.clip(_lognormal(rng, 250_000, 0.7, n), 101_000, 3_000_000), 0)

    # Donations before the filing decision: more than five recipients means a return is needed.
    alive_taxpayer = (total_income > 1_500_000) & (status != DECEASED)
    donations, n_recipients = _donations(r_gifts, total_income, alive_taxpayer, cal, ref, municipality_code)
    donor = n_recipients > 0
    many = n_recipients > 5

    second_salary = np.zeros(n, np.int64)
    sec = ~employments["is_primary"].to_numpy()
    np.add.at(second_salary, employments["person_id"].to_numpy()[sec], employments["salary_revenue"].to_numpy()[sec])
    left_job = np.zeros(n, bool)
    ended = employments.filter(pl.col("end_date").is_not_null())["person_id"].to_numpy()
    later = employments.filter(pl.col("start_date").is_not_null())["person_id"].to_numpy()
    left_job[np.setdiff1d(ended, later)] = True

    u = rng.random(n)
    alive = status != DECEASED
    must_file = (
        (biz_rev > 0) | (re_inc != 0) | (salary_rev > 20_000_000) | (dividends > 0) | (occasional > 0)
        | ((medical > 0) & (u < 0.9)) | ((second_salary > 200_000) & (u < 0.7))
        | ((misc > 200_000) & (salary_rev > 0)) | (left_job & (u < 0.5))
        | ((pension_rev > 4_000_000) | ((pension_rev > 0) & (misc + re_inc + dividends > 200_000)))
    ) & alive
    # 申告特例 (one-stop): asked by most donors with ≤ 5 recipients who expect no return. Some ask and
    # then file anyway (the return voids the one-stop): donors with > 5 recipients (most must file),
    # a few filers who asked anyway, and 5 % of the other donors.
    r = rng.random(n)
    one_stop_person = donor & np.select([many, must_file], [r < 0.15, r < 0.1], default=r < 0.85)
    final = must_file | (many & (rng.random(n) < 0.8) & alive) | (donor & (rng.random(n) < 0.05) & alive)
    donations = donations.with_columns(
        pl.Series("one_stop", one_stop_person[donations["person_id"].to_numpy()]))
    medical = np.where(final, medical, 0)  # 医療費控除 needs a return
    resident_return = ~final & (status != DECEASED) & (
        ((pension_rev > 0) & ((social_paid > 0) | (life_new_general > 0)) & (u < 0.3))
        | ((profile == NONE) & (age >= 20) & (age <= 64) & (sk["spouse"] < 0) & (rng.random(n) < 0.35))
        | ((misc > 0) & (salary_rev == 0) & (pension_rev == 0) & (u < 0.5)))

    is_student = profile == STUDENT
    working_student = is_student & (salary_rev > 1_000_000) & (salary_rev <= 1_600_000) & (rng.random(n) < 0.7)
    dependants = _dependants(r_deps, sk, total_income, has_income, is_student, fiscal_year)

    # 寡婦 / ひとり親 (facts; the engine applies the income tests).
    single_parent = (sk["htype"] == H_SINGLE_PARENT) & (sk["role"] == HEAD)
    widow = np.zeros(n, bool)
    attached = (status == DECEASED) & (sk["link"] >= 0)
    widow[sk["link"][attached]] = True
    lone_woman = (sk["sex"] == 2) & (sk["spouse"] < 0) & ~single_parent & (status != DECEASED)
    widow |= lone_woman & (((age >= 60) & (rng.random(n) < 0.4)) | ((age >= 40) & (age < 60) & (rng.random(n) < 0.04)))

    # Dates and addresses per person.
    became = sk["move_in"]  # days since 1970: negative before 1970, so masks (not sentinels) mark nulls
    removal = sk["removal"]  # always within Y-1 when set, -1 otherwise
    ward = ward_addr.select(pl.all().gather(hh_inv_s))
    other = other_addr.select(pl.all().gather(hh_inv_s))
    in_ward_s = pl.Series(in_ward)
    lives_in_ward = pl.Series(np.isin(status, (RESIDENT, NOT_REGISTERED)))
    lives_elsewhere = pl.Series(np.isin(status, (MOVED_OUT, OUTSIDER)))
    persons = pl.DataFrame({
        "person_id": np.arange(n, dtype=np.int64),
        "atena_no": pl.select(pl.when(pl.Series(atena >= 0)).then(pl.Series(atena).cast(pl.String).str.zfill(10))).to_series(),
        "household_id": sk["hh"].astype(np.int64),
        "household_no": pl.select(pl.when(pl.Series(household_no >= 0))
                                  .then(pl.Series(household_no).cast(pl.String).str.zfill(10))).to_series(),
        "relationship": _relationships(sk),
        **names,
        "birth_date": pl.Series(birth).cast(pl.Int32).cast(pl.Date),
        "sex": sk["sex"].astype(np.int8),
        "resident_type": np.where(sk["nat"] >= 0, 2, 1).astype(np.int8),
        "nationality": pl.select(pl.when(pl.Series(sk["nat"] >= 0)).then(
            ref.nationalities["nationality"].gather(np.maximum(sk["nat"], 0)))).to_series(),
        "my_number": my_number,
        "registry_status": pl.Series(STATUS_NAMES).gather(status),
        "in_registry": in_registry,
        "ward_town_code": pl.select(pl.when(in_ward_s).then(ward["town_code"])).to_series(),
        "ward_postal_code": pl.select(pl.when(in_ward_s).then(ward["postal_code"])).to_series(),
        "ward_address": pl.select(pl.when(in_ward_s).then(ward["address"])).to_series(),
        "ward_address_detail": pl.select(pl.when(in_ward_s).then(ward["address_detail"])).to_series(),
        "jan1_municipality_code": pl.select(
            pl.when(lives_in_ward).then(pl.lit(municipality_code))
            .when(lives_elsewhere).then(other["municipality_code"])).to_series(),
        "jan1_address": pl.select(
            pl.when(lives_in_ward).then(ward["address"]).when(lives_elsewhere).then(other["address"])).to_series(),
        "jan1_postal_code": pl.select(
            pl.when(lives_in_ward).then(ward["postal_code"]).when(lives_elsewhere).then(other["postal_code"])).to_series(),
        "became_resident_date": pl.select(
            pl.when(pl.Series(in_registry)).then(pl.Series(became).cast(pl.Int32))
            .when(pl.Series(atena >= 0)).then(pl.max_horizontal(  # a confirmed 住登外者: 居住開始 up to 3 years back
                pl.Series(birth).cast(pl.Int32),
                pl.lit(int(np.datetime64(f"{cal.income_year}-01-01", "D").astype(np.int64)))
                - pl.Series(np.arange(n) % 1000, dtype=pl.Int32)))).to_series().cast(pl.Date),
        **_registered_elsewhere(ref, atena >= 0, ~pl.Series(in_registry), municipality_code),
        "removal_reason": pl.select(pl.when(pl.Series(status == MOVED_OUT)).then(pl.lit("転出"))
                                    .when(pl.Series(status == DECEASED)).then(pl.lit("死亡"))).to_series(),
        "removal_date": pl.select(pl.when(pl.Series(removal >= 0)).then(pl.Series(removal).cast(pl.Int32))).to_series().cast(pl.Date),
        "livelihood_assistance": welfare,
        "disability_certificate": cert,
        "disability_grade": grade,
        "special_disability": special,
        "widow": widow,
        "single_parent": single_parent,
        "working_student": working_student,
        "income_profile": pl.Series(PROFILE_NAMES).gather(profile),
        "business_revenue": biz_rev,
        "business_income": np.where(biz_rev > 0, biz_inc, 0),
        "real_estate_income": re_inc,
        "dividend_income": dividends,
        "misc_income": misc,
        "occasional_income": occasional,
        "social_insurance_paid": social_paid,
        "small_enterprise_mutual_aid": mutual_aid.astype(np.int64),
        "life_insurance_new_general": _round_to(life_new_general, 1),
        "life_insurance_old_general": _round_to(life_old_general, 1),
        "life_insurance_new_pension": _round_to(life_new_pension, 1),
        "life_insurance_old_pension": _round_to(life_old_pension, 1),
        "life_insurance_care_medical": _round_to(life_care, 1),
        "earthquake_insurance": _round_to(quake, 1),
        "medical_expenses": _round_to(medical, 1),
        "spouse_person_id": pl.select(pl.when(pl.Series(sk["spouse"] >= 0)).then(pl.Series(sk["spouse"]))).to_series(),
        "files_final_return": final,
        "files_resident_return": resident_return,
    })
    persons = persons.with_columns(
        (pl.col(c).cast(t) for c, t in PERSONS.items())).select(list(PERSONS))
    donations = donations.with_row_index("donation_id").with_columns(pl.col("donation_id").cast(pl.Int64))
    population = Population(
        municipality_code=municipality_code,
        fiscal_year=fiscal_year,
        seed=seed,
        persons=persons,
        employers=employers.select(list(EMPLOYERS)).cast(EMPLOYERS),
        employments=employments.select(list(EMPLOYMENTS)).cast(EMPLOYMENTS),
        pensions=pensions.select(list(PENSIONS)).cast(PENSIONS),
        dependants=dependants.select(list(DEPENDANTS)).cast(DEPENDANTS),
        donations=donations.select(list(DONATIONS)).cast(DONATIONS),
    )
    population.check()
    return population


def _relationships(sk: dict[str, np.ndarray]) -> pl.Series:
    """続柄 to the household head."""
    role, sex = sk["role"], sk["sex"]
    _, first, inv = _household_index(sk)
    head_age = sk["age"][first][inv]
    older = sk["age"] > head_age
    code = np.select(
        [role == HEAD, (role == SPOUSE) & (sex == 2), role == SPOUSE, role == CHILD,
         (role == ELDER) & (sex == 1), role == ELDER,
         (role == SIBLING) & (sex == 1) & older, (role == SIBLING) & (sex == 1),
         (role == SIBLING) & (sex == 2) & older, role == SIBLING, role == LODGER],
        list(range(11)), default=11)
    labels = pl.Series(["世帯主", "妻", "夫", "子", "父", "母", "兄", "弟", "姉", "妹", "同居人", "縁故者"])
    return labels.gather(code)
