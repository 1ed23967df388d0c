"""The pension-insurer simulator of the sample ward (sample_ward/pension_insurer.py; docs/sample-ward.md,
"Pension insurers"): every file it delivers reads back with the product's codec, the 00 records carry the
population's identity except where a variation is planted, the migration register agrees with the 00
files, each request gets one answer record, and the 22 results add up to what was requested, month by
month, with the four planted faults where they are said to be.

The requests are built here with the codec from the 00 records (as the ward would echo them); the
expected 仮徴収 split is computed here by hand, independently of the simulator."""

from __future__ import annotations

from datetime import date

import jaconv
import polars as pl
import pytest

from contracts.pension_exchange import landing_folder, load_exchange_layouts, parse_exchange_file_name
from contracts.resident_snapshot import load_layout
from sample_ward.pension_insurer import (
    GETA,
    VARIATIONS,
    PensionInsurers,
    outbound_from_lake,
    fiscal_year_of,
    halfwidth_kana,
    main,
    previous_year_register,
    previous_year_register_path,
    provisional_amounts,
    substitute_outside_jis,
    target_person_files,
    write_month,
    write_previous_year_register,
)
from sample_ward.population import build_population
from transforms.pension_exchange_records import (
    ControlBlock,
    ExchangeFile,
    FileLengthError,
    TrailerTotalsError,
    read_exchange_file,
    write_exchange_file,
)
from transforms.resident_snapshot import keyed_records

SEED = 20260101
FISCAL_YEAR = 2026
MONTHS = [f"{FISCAL_YEAR}-{m:02d}" for m in range(4, 13)] + [f"{FISCAL_YEAR + 1}-{m:02d}" for m in range(1, 4)]
KEY = ["payer_code", "basic_pension_no", "pension_code"]
REQUEST_SENT = date(2026, 8, 10)  # the ward's 01 (本徴収 of October, December, February)
STOP_SENT = date(2026, 11, 5)  # a 41 特別事情 (a stop) for one requested person: no December and February withholding
UNKNOWN_PENSION_NO = "0000000001"


@pytest.fixture(scope="module")
def pop():
    return build_population(2000, seed=11, fiscal_year=FISCAL_YEAR)


@pytest.fixture(scope="module")
def insurers(pop):
    return PensionInsurers(pop, SEED)


@pytest.fixture(scope="module")
def targets(insurers):
    """The 00 records as the ward reads them, with the truth beside each."""
    frames = [read_exchange_file(data, file=name).records["00"].with_columns(pl.lit(name).alias("file"))
              for name, data in insurers.target_person_files().items()]
    return pl.concat(frames).join(insurers.target_person_truth(), on=["file", "record_no", *KEY], how="left",
                                  validate="1:1")


def _exchange(code: str, payer: str, created: date, records: pl.DataFrame, serial: int = 1,
              municipality: str = "13103") -> tuple[str, bytes]:
    """An outbound file built with the product's codec, as the ward would send it."""
    layout = load_exchange_layouts().notice(code).data
    frame = records.with_columns(pl.lit(municipality).alias("municipality_code"), pl.lit(payer).alias("payer_code"),
                                 pl.lit(created, pl.Date).alias("created_date")).select(layout.column_names)
    groups = pl.DataFrame({"municipality_code": [municipality], "payer_code": [payer], "notice_code": [code],
                           "medium_code": ["1"], "created_date": pl.Series([created], dtype=pl.Date)})
    name = f"Z4{code}_{payer}_{created:%Y%m%d}_{serial:03d}.dta"
    return name, write_exchange_file(ExchangeFile(ControlBlock(municipality, f"{serial:03d}", created), groups,
                                                  {code: frame}), file=name)


def _amounts(index: int) -> tuple[int, int, int]:
    """The 本徴収 the hand-made request asks of its ``index``-th person: October takes the fraction."""
    return 3_000 + 100 * (index % 5), 2_000, 2_000


@pytest.fixture(scope="module")
def outbound(insurers, targets):
    """The ward's files: a 01 per insurer in August for every resident 00 person (category 01 対象者), one of
    them sent as 03 非対象者 and one request for a pension no insurer knows; a 41 特別事情 in November."""
    files: dict[str, bytes] = {}
    residents = targets.filter(pl.col("variation").fill_null("") != "not_resident").sort(KEY)
    for payer in residents["payer_code"].unique().sort().to_list():
        mine = residents.filter(pl.col("payer_code") == payer).with_row_index("i")
        amounts = [_amounts(i) for i in mine["i"].to_list()]
        mine = mine.with_columns(
            pl.when(pl.col("i") == 1).then(pl.lit("03")).otherwise(pl.lit("01")).alias("category"),
            *[pl.Series(f"amount_{n}", [a[n - 1] for a in amounts], pl.Int64) for n in (1, 2, 3)])
        if payer == insurers.main_payer:
            stranger = mine.head(1).with_columns(pl.lit(UNKNOWN_PENSION_NO).alias("basic_pension_no"),
                                                 pl.lit(mine.height, pl.UInt32).alias("i"))
            mine = pl.concat([mine, stranger])
        name, data = _exchange("01", payer, REQUEST_SENT, mine)
        files[name] = data
    return files


def _answers(files: dict[str, bytes], code: str) -> pl.DataFrame:
    frames = [read_exchange_file(data, file=name).records[code] for name, data in files.items()
              if parse_exchange_file_name(name)["notice_code"] == code]
    return pl.concat(frames) if frames else pl.DataFrame()


@pytest.fixture(scope="module")
def with_stop(insurers, outbound):
    """``outbound`` plus a 41 特別事情 (各種区分 03, a stop) in November for the first person the August request got
    withheld from (a 41 転出 stops nothing of the 年度 since the 平成28年10月 reform)."""
    answers = _answers(insurers.inbound("2026-09", outbound), "02")
    first = answers.filter((pl.col("result") == "00") & (pl.col("category") == "01")
                           & (pl.col("payer_code") == insurers.main_payer)).sort(KEY).head(1)
    stop = first.with_columns(pl.lit("03").alias("category"), pl.lit(date(2026, 10, 31)).alias("event_date"),
                              *[pl.lit(0, pl.Int64).alias(f"amount_{n}") for n in (1, 2, 3)])
    name, data = _exchange("41", insurers.main_payer, STOP_SENT, stop)
    return {**outbound, name: data}, first.select(KEY).row(0)


@pytest.fixture(scope="module")
def year(insurers, with_stop):
    """Every month's delivery, each given the outbound files sent up to that month."""
    sent, _ = with_stop
    delivered = {}
    for month in MONTHS:
        upto = {n: d for n, d in sent.items() if parse_exchange_file_name(n)["created"][:6] <= month.replace("-", "")}
        delivered[month] = insurers.inbound(month, upto)
    return delivered


# ------------------------------------------------------------------------------------------ rules by hand

def _by_hand(previous: int) -> tuple[int, int, int]:
    """仮徴収: half of last year's tax, rounded down to 100 yen; three shares rounded down to 100 yen, the
    fraction in April (rules/installments/fiscal_year_2017.yaml pension_special_collection)."""
    half = previous // 2
    total = half - half % 100
    share = total // 3 - (total // 3) % 100
    return total - 2 * share, share, share


def test_the_provisional_split_follows_the_rule_text():
    assert _by_hand(60_000) == (10_000, 10_000, 10_000)  # 30,000 → 10,000 × 3
    assert _by_hand(61_000) == (10_300, 10_100, 10_100)  # 30,500 → 10,100 × 3 + 200 in April
    taxes = pl.Series([60_000, 61_000, 0, 100, 650, 61_001, 1_234_567], dtype=pl.Int64)
    april, june, august = provisional_amounts(pl.col("t"))
    got = pl.DataFrame({"t": taxes}).select(april, june, august).rows()
    assert got == [_by_hand(t) for t in taxes.to_list()]
    assert got[:5] == [(10_000, 10_000, 10_000), (10_300, 10_100, 10_100), (0, 0, 0), (0, 0, 0), (100, 100, 100)]


# ------------------------------------------------------------------------------------------ characters

def test_characters_outside_jis_x_0208_become_the_geta_and_the_file_is_written():
    values = pl.Series(["𠮷田\u3000髙子", "辻\U000e0100本", "ABC 1-2", "港\u3000太郎", None])
    assert substitute_outside_jis(values).to_list() == [
        f"{GETA}田\u3000{GETA}子", "辻本", "ＡＢＣ\u3000１－２", "港\u3000太郎", None]
    assert GETA == "\u3013" and GETA.encode("iso2022_jp") == b"\x1b$B\x22\x2e\x1b(B"  # JIS 0x222E
    assert halfwidth_kana(pl.Series(["ヤマダ\u3000タロウ", "ヶ", "ヴィ"])).to_list() == ["ﾔﾏﾀﾞ ﾀﾛｳ", "ｹ", "ｳﾞｨ"]


def test_a_substituted_name_reaches_the_file_as_the_geta(targets):
    substituted = targets.filter(pl.col("variation") == "substituted_character")
    for row in substituted.iter_rows(named=True):
        assert GETA in (row["name_kanji"] or "") + (row["address_kanji"] or "")


# ----------------------------------------------------------------------------------------------- 00

def test_the_target_files_read_back_one_per_insurer(pop, insurers, targets):
    files = insurers.target_person_files()
    assert files == target_person_files(pop, SEED)
    for name, data in files.items():
        read = read_exchange_file(data, file=name)
        parsed = parse_exchange_file_name(name)
        assert parsed["notice_code"] == "00" and parsed["created"] == "20260520" and parsed["serial"] == "001"
        assert read.control == ControlBlock("13103", "001", date(2026, 5, 20), read.groups["trailer_record_no"][0])
        assert read.groups.select("payer_code", "notice_code", "medium_code", "record_count").row(0) == (
            parsed["payer_code"], "00", "1", read.records["00"].height)
    assert targets["category"].is_in(["01", "02"]).all()
    assert (targets["event_date"] == date(2026, 4, 1)).all()  # 捕捉年月日
    assert targets["person_id"].null_count() == 0
    assert targets.select(KEY).is_unique().all()


def test_records_without_a_variation_carry_the_populations_identity(pop, targets):
    exact = targets.filter(pl.col("variation").is_null())
    assert exact.height > 0.9 * targets.height
    persons = pop.persons.select(
        "person_id", "birth_date", pl.col("sex").cast(pl.String),
        (pl.col("family_name_kana") + " " + pl.col("given_name_kana")).alias("kana_fw"),
        (pl.col("family_name_kanji") + "\u3000" + pl.col("given_name_kanji")).alias("name"),
        pl.col("ward_postal_code").alias("postal"),
        pl.concat_str(["ward_address", "ward_address_detail"], separator="\u3000", ignore_nulls=True).alias("address"))
    expected = exact.select("file", "record_no", "person_id", *KEY).join(
        pop.pensions.select(*KEY, "person_id", "pension_revenue"), on=[*KEY, "person_id"], how="left",
        validate="1:1").join(persons, on="person_id", how="left", validate="m:1")
    got = exact.join(expected, on=["file", "record_no"], validate="1:1")
    assert got["pension_revenue"].null_count() == 0  # the 基礎年金番号, 年金コード and 義務者 of the person's pension
    assert (got["amount_1"] == got["pension_revenue"]).all()  # 年金年額
    assert (got["amount_2"] == 0).all() and (got["amount_3"] == 0).all()
    assert (got["birth_date"] == got["birth_date_right"]).all() and (got["sex"] == got["sex_right"]).all()
    assert got["name_kanji"].to_list() == got["name"].to_list()
    assert got["address_kanji"].to_list() == got["address"].to_list()
    assert got["postal_code"].to_list() == got["postal"].to_list()
    assert got["name_kana"].to_list() == [jaconv.z2h(k, kana=True, ascii=False, digit=False)
                                          for k in got["kana_fw"].to_list()]
    assert got["address_kana"].null_count() == got.height  # the population has no kana address
    mutual = got.filter(pl.col("payer_code") != "999")
    assert (mutual["mutual_aid_certificate_no"] == mutual["payer_code"] + "-" + mutual["basic_pension_no"]).all()
    assert got.filter(pl.col("payer_code") == "999")["mutual_aid_certificate_no"].null_count() == got.filter(
        pl.col("payer_code") == "999").height


def test_each_planted_variation_is_there_and_is_what_it_says(pop, targets):
    kinds = targets["variation"].drop_nulls().unique().to_list()
    for kind in ("old_address", "kana_only_name", "kanji_variant", "not_resident"):
        assert kind in kinds, kind
    assert set(kinds) <= set(VARIATIONS)
    persons = pop.persons.select(
        "person_id", "registry_status", "family_name_kana", "given_name_kana",
        (pl.col("family_name_kanji") + "\u3000" + pl.col("given_name_kanji")).alias("name"),
        pl.concat_str(["ward_address", "ward_address_detail"], separator="\u3000", ignore_nulls=True).alias("address"))
    planted = targets.filter(pl.col("variation").is_not_null()).join(persons, on="person_id", validate="m:1")
    kana_only = planted.filter(pl.col("variation") == "kana_only_name")
    assert kana_only["name_kanji"].null_count() == kana_only.height and kana_only["name_kana"].null_count() == 0
    moved = planted.filter(pl.col("variation") == "old_address")
    assert (moved["address_kanji"] != moved["address"]).all()
    assert (moved["address_kanji"].str.starts_with("東京都港区")).all()
    variant = planted.filter(pl.col("variation") == "kanji_variant")
    assert (variant["name_kanji"] != variant["name"]).all()
    assert (variant["name_kanji"].str.len_chars() == variant["name"].str.len_chars()).all()
    away = planted.filter(pl.col("variation") == "not_resident")
    assert 1 <= away.height <= 2
    assert away["registry_status"].is_in(["moved_out", "outsider"]).all() and (away["category"] == "01").all()
    assert away["address_kanji"].str.starts_with("東京都港区").all()  # stale: an address in the ward


# ------------------------------------------------------------------------------------- the register

def test_the_register_is_the_continuing_persons_of_the_00_files(pop, insurers, targets, tmp_path):
    register = insurers.previous_year_register()
    assert register.equals(previous_year_register(pop, SEED))
    assert register.columns == ["atena_no", "basic_pension_no", "pension_code", "payer_code", "previous_year_tax"]
    assert register.schema["previous_year_tax"] == pl.Int64
    continuing = targets.filter(pl.col("category") == "02").select("atena_no", *KEY).sort("atena_no", *KEY)
    assert register.select("atena_no", *KEY).sort("atena_no", *KEY).equals(continuing)
    assert register["atena_no"].null_count() == 0 and register["atena_no"].is_unique().all()
    assert (register["previous_year_tax"] >= 0).all() and (register["previous_year_tax"] % 100 == 0).all()
    assert (register["previous_year_tax"] > 0).any()

    layout = load_layout("pension_previous_year")
    assert (layout.source, layout.key) == ("pension_previous_year", ("payer_code", "basic_pension_no", "pension_code"))
    path = write_previous_year_register(pop, SEED, tmp_path)
    assert path == tmp_path / previous_year_register_path("131032", FISCAL_YEAR)
    assert path.name == layout.expected_file("131032", FISCAL_YEAR)
    header, *rows = path.read_text(encoding="utf-8").splitlines()
    assert header.split(",") == layout.names
    lines = pl.DataFrame({"file": path.name, "record_no": range(2, len(rows) + 2), "line": rows},
                         schema={"file": pl.String, "record_no": pl.Int64, "line": pl.String})
    checked = keyed_records(lines, layout)
    assert checked.height == register.height and checked["_reason"].null_count() == register.height


# ---------------------------------------------------------------------------------------- answers

def test_each_request_record_gets_one_answer_echoing_it(insurers, outbound):
    delivered = insurers.inbound("2026-09", outbound)  # answered on the 10th of the month after the request
    answers = _answers(delivered, "02")
    requests = pl.concat([read_exchange_file(d, file=n).records["01"] for n, d in outbound.items()])
    assert answers.height == requests.height
    assert sorted(n for n in delivered if n.startswith("Z402_")) == sorted(
        f"Z402_{n[5:8]}_20260910_001.dta" for n in outbound)  # 処理年月日: the 10th of the next month
    echoed = ["category", "amount_1", "amount_2", "amount_3", "birth_date", "name_kana", "name_kanji",
              "address_kanji"]
    joined = answers.join(requests, on=KEY, validate="1:1", suffix="_sent")
    for column in echoed:
        assert joined[column].equals(joined[f"{column}_sent"], null_equal=True), column
    assert (answers["event_date"] == date(2026, 9, 10)).all()
    unknown = answers.filter(pl.col("basic_pension_no") == UNKNOWN_PENSION_NO)
    assert unknown["result"].to_list() == ["01"]  # 該当者なし
    known = answers.filter(pl.col("basic_pension_no") != UNKNOWN_PENSION_NO)
    assert known["result"].is_in(["00", "02", "03"]).all()
    assert (known["result"] == "00").sum() > 0.9 * known.height
    dead = insurers.deaths().filter(pl.col("death_date") <= date(2026, 9, 10)).select(KEY)
    assert known.join(dead, on=KEY)["result"].to_list() == ["03"] * dead.height  # 資格喪失
    assert (known.filter(pl.col("category") == "03")["result"] == "00").all()  # 非対象者: nothing to refuse
    # nothing is answered twice, nor early: the months before and after have no 02
    assert not [n for n in insurers.inbound("2026-10", outbound) if n.startswith("Z402_")]
    assert not [n for n in insurers.inbound("2026-08", outbound) if n.startswith("Z402_")]


def test_additions_changes_and_provisional_changes_are_answered_too(insurers, targets):
    earliest = insurers.deaths().row(0, named=True)
    after = date(earliest["death_date"].year + (earliest["death_date"].month == 12),
                 earliest["death_date"].month % 12 + 1, 3)
    person = targets.filter((pl.col("payer_code") == earliest["payer_code"])
                            & (pl.col("basic_pension_no") == earliest["basic_pension_no"]))
    others = targets.filter((pl.col("payer_code") == earliest["payer_code"])
                            & (pl.col("basic_pension_no") != earliest["basic_pension_no"]))
    living, unrequested = others.head(2), others.slice(2, 1)
    add = pl.concat([person, living]).with_columns(pl.lit("01").alias("category"),
                                                   *[pl.lit(1_000, pl.Int64).alias(f"amount_{n}") for n in (1, 2, 3)])
    change = living.with_columns(pl.lit("11").alias("category"), pl.lit(after).alias("event_date"),
                                 *[pl.lit(500, pl.Int64).alias(f"amount_{n}") for n in (1, 2, 3)])
    provisional = living.with_columns(pl.lit("00").alias("category"),
                                      *[pl.lit(4_000, pl.Int64).alias(f"amount_{n}") for n in (1, 2, 3)])
    payer = earliest["payer_code"]
    change_unrequested = unrequested.with_columns(pl.lit("11").alias("category"), pl.lit(after).alias("event_date"),
                                                  *[pl.lit(500, pl.Int64).alias(f"amount_{n}") for n in (1, 2, 3)])
    sent = dict([_exchange("31", payer, after, add), _exchange("41", payer, after, change, serial=1),
                 _exchange("41", payer, after, change_unrequested, serial=2),
                 _exchange("61", payer, after, provisional)])
    answered = date(after.year + (after.month == 12), after.month % 12 + 1, 10)  # the 10th of the next month
    delivered = insurers.inbound(f"{answered:%Y-%m}", sent)
    day = f"{answered:%Y%m%d}"
    assert {f"Z432_{payer}_{day}_001.dta", f"Z442_{payer}_{day}_001.dta", f"Z442_{payer}_{day}_002.dta",
            f"Z462_{payer}_{day}_001.dta"} <= set(delivered)
    added = read_exchange_file(delivered[f"Z432_{payer}_{day}_001.dta"], file="32").records["32"]
    assert added["result"].to_list() == ["03", "00", "00"][:added.height]  # the dead person: 資格喪失
    first = read_exchange_file(delivered[f"Z442_{payer}_{day}_001.dta"], file="42").records["42"]
    assert first["result"].to_list() == ["00"] * living.height  # 税額変更 of a 本徴収 requested the same day
    second = read_exchange_file(delivered[f"Z442_{payer}_{day}_002.dta"], file="42").records["42"]
    assert second["result"].to_list() == ["99"] and second["category"].to_list() == ["11"]  # nothing to change
    provisional_answer = read_exchange_file(delivered[f"Z462_{payer}_{day}_001.dta"], file="62").records["62"]
    assert provisional_answer["amount_1"].to_list() == [4_000] * living.height


def test_a_notice_the_ward_does_not_send_or_a_month_outside_the_year_is_refused(insurers):
    with pytest.raises(ValueError, match="outside 年度 2026"):
        insurers.inbound("2027-04", {})
    with pytest.raises(ValueError, match="YYYY-MM"):
        insurers.inbound("2026-5", {})
    name, data = next(iter(insurers.target_person_files().items()))
    with pytest.raises(ValueError, match="通知内容コード 00 is not a notice the ward sends"):
        insurers.inbound("2026-06", {name: data})
    assert fiscal_year_of("2027-03") == 2026 and fiscal_year_of("2026-04") == 2026


# ------------------------------------------------------------------------------------------ results

def _results(year, insurers) -> dict[int, pl.DataFrame]:
    """Payment month index (0 = April) → the 22 records about it, read as the ward would: the corrected file
    replaces its first serial, the refused files are left out (their records come from the same
    computation, checked separately)."""
    faults = insurers.planted_faults()
    refused = set(faults.filter(pl.col("error").is_not_null())["file"].to_list())
    superseded = set(faults.filter(pl.col("ward_action").str.contains("superseded"))["file"].to_list())
    by_payment: dict[int, list[pl.DataFrame]] = {}
    for files in year.values():
        for name, data in files.items():
            parsed = parse_exchange_file_name(name)
            if parsed["notice_code"] != "22" or name in refused or name in superseded:
                continue
            created = date(int(parsed["created"][:4]), int(parsed["created"][4:6]), 1)
            payment = (created.year - FISCAL_YEAR) * 12 + created.month - 4 - 1
            by_payment.setdefault(payment, []).append(read_exchange_file(data, file=name).records["22"])
    return {p: pl.concat(f) for p, f in by_payment.items()}


def _expected(insurers, outbound, stopped, payment: int) -> pl.DataFrame:
    """What was requested for a payment, by hand: 仮徴収 from the register, 本徴収 from the 01 accepted (02 00)."""
    if payment in (0, 2, 4):
        register = insurers.previous_year_register()
        share = {0: 0, 2: 1, 4: 2}[payment]
        return register.select(*KEY, pl.Series([_by_hand(t)[share] for t in register["previous_year_tax"].to_list()],
                                               dtype=pl.Int64).alias("requested")).filter(pl.col("requested") > 0)
    answers = _answers(insurers.inbound("2026-09", outbound), "02").filter(
        (pl.col("result") == "00") & (pl.col("category") == "01"))
    column = {6: "amount_1", 8: "amount_2", 10: "amount_3"}[payment]
    expected = answers.select(*KEY, pl.col(column).alias("requested"))
    if payment > 7:  # the 41 of November stops December and February
        expected = expected.join(pl.DataFrame([stopped], schema=KEY, orient="row"), on=KEY, how="anti")
    return expected


def test_withheld_and_not_withheld_add_up_to_what_was_requested(insurers, outbound, with_stop, year):
    _, stopped = with_stop
    results = _results(year, insurers)
    deaths = insurers.deaths().select(*KEY, "death_date")
    short = pl.DataFrame(schema={k: pl.String for k in KEY})
    for payment in (0, 2, 4, 6, 8, 10):
        got = results[payment]
        # a pension too small at one payment ends the withholding: the later payments are neither made nor reported
        expected = _expected(insurers, outbound, stopped, payment).join(short, on=KEY, how="anti")
        short = pl.concat([short, got.filter(pl.col("category") == "03").select(KEY)]).unique()
        joined = got.join(expected, on=KEY, how="full", validate="1:1", coalesce=True)
        assert joined["requested"].null_count() == 0, f"payment {payment}: a 22 record nobody requested"
        assert joined["amount_1"].null_count() == 0, f"payment {payment}: a request without its 22 record"
        assert (joined["amount_1"] + joined["amount_2"] == joined["requested"]).all()
        assert (joined["amount_3"] == 0).all()
        normal = joined.filter(pl.col("category") == "00")
        assert (normal["amount_2"] == 0).all() and normal.height > 0.9 * joined.height
        assert (joined.filter(pl.col("category") != "00")["amount_1"] == 0).all()
        paid_on = date(FISCAL_YEAR + (payment >= 9), (payment + 3) % 12 + 1, 15)
        assert (joined["event_date"] <= paid_on).all() and (joined["event_date"] >= paid_on.replace(day=13)).all()
        dead = joined.join(deaths, on=KEY).filter(pl.col("death_date") < paid_on.replace(day=1))
        assert (dead["category"] == "01").all()  # 失権 from the death month on
    assert stopped in results[6].select(KEY).rows() and stopped not in results[8].select(KEY).rows()


def test_results_come_in_odd_months_only_but_for_the_late_file(insurers, year):
    late = insurers.planted_faults().filter(pl.col("kind") == "late_file").row(0, named=True)
    for month, files in year.items():
        results = [n for n in files if n.startswith("Z422_")]
        if int(month[5:]) % 2 == 0:  # only the late file, and the refused files sent again the month after
            resent = insurers.planted_faults().filter((pl.col("kind") == "resent_file") & (pl.col("month") == month))
            assert sorted(results) == sorted(([late["file"]] if month == late["month"] else [])
                                             + resent["file"].to_list()), month
        else:
            assert results, month
            assert all(parse_exchange_file_name(n)["created"][:6] == month.replace("-", "") for n in results)
    november = year["2026-11"]
    assert late["file"] not in november and late["file"] in year["2026-12"]
    assert parse_exchange_file_name(late["file"])["created"].startswith("202611")


def test_every_delivered_file_reads_but_the_planted_faults(insurers, year):
    faults = insurers.planted_faults()
    errors = dict(zip(faults["file"], faults["error"], strict=True))
    seen = set()
    for files in year.values():
        for name, data in files.items():
            error = errors.get(name)
            if error == "TrailerTotalsError":
                with pytest.raises(TrailerTotalsError, match="合計金額 金額1"):
                    read_exchange_file(data, file=name)
            elif error == "FileLengthError":
                with pytest.raises(FileLengthError):
                    read_exchange_file(data, file=name)
                assert (len(data) - 96) % 500 == 499
            else:
                read = read_exchange_file(data, file=name)
                assert read.control.medium_serial_no == parse_exchange_file_name(name)["serial"]
            seen.add(name)
    assert set(faults["file"]) <= seen  # every planted fault was delivered
    assert faults["month"].to_list() == ["2026-07", "2026-09", "2026-08", "2026-10", "2026-12", "2027-01", "2027-01"]
    # a refused file comes again the month after, correct, with the next 媒体連番
    for refused, resent in zip(faults.filter(pl.col("error").is_not_null())["file"],
                               faults.filter(pl.col("kind") == "resent_file")["file"], strict=True):
        assert resent == refused.replace("_001.dta", "_002.dta")


def test_the_corrected_file_differs_from_its_first_serial_in_one_record(insurers, year):
    first, second = insurers.planted_faults().filter(pl.col("kind") == "corrected_file")["file"].to_list()
    assert first.replace("_001.dta", "_002.dta") == second
    january = year["2027-01"]
    wrong = read_exchange_file(january[first], file=first).records["22"]
    right = read_exchange_file(january[second], file=second).records["22"]
    assert wrong.height == right.height
    differs = wrong.join(right, on="record_no", suffix="_right").filter(pl.col("amount_1") != pl.col("amount_1_right"))
    assert differs.height == 1 and (differs["amount_1"] - differs["amount_1_right"]).to_list() == [1_000]


def test_same_inputs_give_the_same_bytes(pop, insurers, with_stop):
    sent, _ = with_stop
    again = PensionInsurers(pop, SEED)
    for month in ("2026-05", "2026-08", "2026-11", "2026-12", "2027-01"):
        assert again.inbound(month, sent) == insurers.inbound(month, sent), month
    assert again.target_person_truth().equals(insurers.target_person_truth())
    assert again.deaths().equals(insurers.deaths())
    other = PensionInsurers(pop, SEED + 1)
    assert other.target_person_files() != insurers.target_person_files()


def test_deaths_are_a_small_share_of_the_listed_pensioners(insurers, targets):
    deaths = insurers.deaths()
    assert 1 <= deaths.height <= max(1, round(0.02 * targets.height))
    assert deaths["death_date"].is_between(date(2026, 4, 1), date(2027, 2, 28)).all()
    listed = deaths.join(targets.select(*KEY, "person_id", "atena_no"), on=KEY, validate="1:1", maintain_order="left")
    assert listed["person_id"].equals(deaths["person_id"]) and listed["atena_no"].equals(deaths["atena_no"])


# ------------------------------------------------------------------------------------------ landing

def test_a_month_is_written_atomically_and_never_rewritten(insurers, tmp_path):
    files = insurers.inbound("2026-05", {})
    paths = write_month(tmp_path, "2026-05", files, municipality="131032")
    folder = tmp_path / landing_folder("131032", 2026, "2026-05")
    assert [p.name for p in paths] == sorted(files) and all(p.parent == folder for p in paths)
    assert sorted(p.name for p in folder.iterdir()) == sorted(files)  # no temporary left behind
    assert all(p.read_bytes() == files[p.name] for p in paths)
    assert write_month(tmp_path, "2026-05", files, municipality="131032") == paths  # the same bytes: left alone
    name = next(iter(files))
    with pytest.raises(FileExistsError, match="never modified"):
        write_month(tmp_path, "2026-05", {name: files[name] + b" "}, municipality="131032")


def test_the_command_line_reads_the_wards_exports_and_writes_the_month(tmp_path, capsys):
    pop = build_population(300, seed=5, fiscal_year=FISCAL_YEAR)
    insurers = PensionInsurers(pop, 5)
    first_name, first_data = next(iter(insurers.target_person_files().items()))
    request = read_exchange_file(first_data, file=first_name).records["00"]
    payer = request["payer_code"][0]
    request = request.with_columns(pl.lit("01").alias("category"),
                                   *[pl.lit(1_000, pl.Int64).alias(f"amount_{n}") for n in (1, 2, 3)])
    name, data = _exchange("01", payer, REQUEST_SENT, request)
    parent = tmp_path / "lake" / "exports" / "pension_insurers" / "municipality=131032" / "fiscal_year=2026"
    for run in ("20260810T000000Z-pension_special_collection-00000000",
                "20260811T000000Z-pension_special_collection-00000001"):
        (parent / run).mkdir(parents=True)  # the hand-off folders: the month is the manifest's series
        (parent / run / "manifest.json").write_text('{"series": "2026-08"}', encoding="utf-8")
        (parent / run / name).write_bytes(data if run.endswith("1") else b"not read: an older run")
    landing = tmp_path / "lake" / "landing"
    code = main(["--landing", str(landing), "--lake", str(tmp_path / "lake"), "--month", "2026-09",
                 "--residents", "300", "--seed", "5", "--fiscal-year", "2026", "--previous-year-register"])
    assert code == 0, capsys.readouterr().err
    written = sorted(p.name for p in (landing / landing_folder("131032", 2026, "2026-09")).iterdir())
    # the August request, answered on 10 September, beside September's results (22) of the August payment
    assert [n for n in written if n.startswith("Z402_")] == [f"Z402_{payer}_20260910_001.dta"]
    assert {n[:4] for n in written} == {"Z402", "Z422"}
    assert (landing / previous_year_register_path("131032", 2026)).is_file()
    assert main(["--landing", str(landing), "--lake", str(tmp_path / "lake"), "--month", "2027-08",
                 "--residents", "300", "--seed", "5", "--fiscal-year", "2026"]) == 2
    assert "not in 年度 2026" in capsys.readouterr().err
    assert outbound_from_lake(tmp_path / "lake", "131032", 2026, "2026-08") == {name: data}  # the newest run
    assert outbound_from_lake(tmp_path / "lake", "131032", 2026, "2026-07") == {}
