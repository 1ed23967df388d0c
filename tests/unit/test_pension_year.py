"""A whole 年度 of the 年金特徴 exchange on a generated ward: the ward's stage month by month against the
sample ward's pension insurers (sample_ward/pension_insurer.py), as `make demo` runs it.

What must hold at the end (issue 14, "how it will be checked"): every file the ward sent round-trips byte for
byte and its trailers match its records; every yen asked of the insurers is, per person and month, either
withheld or moved to 普通徴収 — nothing is left open and nothing counted twice; each planted bad file is
quarantined with its reason and nothing else is; the corrected file supersedes its first serial; every
person whose withholding stopped has new 普通徴収 installments summing to what moved.

The expected amounts are the insurers' (what their 22 files say was withheld) and the ward's own requests;
the reconciliation is recomputed here from the lake's rows, not read from the stage's counts.
"""

from __future__ import annotations

import shutil
from datetime import date
from pathlib import Path

import polars as pl
import pytest

pytestmark = pytest.mark.slow  # a generated ward, the cycle and twelve monthly runs

M, N = "131032", 2026
SEED = 13
RESIDENTS = 1000  # enough pensioners for deaths, 差止 and short pensions among them
MONTHS = [f"{N + (m < 4)}-{m:02d}" for m in (5, 6, 7, 8, 9, 10, 11, 12, 1, 2, 3)]


@pytest.fixture(scope="module")
def year(tmp_path_factory):
    from pipelines.notice_export import run as notice_export
    from pipelines.pension_special_collection import run as pension
    from pipelines.stages import stage_runner
    from sample_ward import generate_ward
    from sample_ward.pension_insurer import PensionInsurers, outbound_from_lake, write_month
    from sample_ward.population import build_population

    root = tmp_path_factory.mktemp("pension_year")
    generate_ward(root / "ward", residents=RESIDENTS, seed=SEED, fiscal_year=N)
    lake = root / "lake"
    shutil.copytree(root / "ward" / "landing", lake / "landing")
    insurers = PensionInsurers(build_population(RESIDENTS, SEED, N, M), SEED)
    reports = {}
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("JUMINZEI_LAKE", str(lake))
        patch.setenv("JUMINZEI_VAULT_KEY_FILE", str(root / "keys" / "vault.key"))
        patch.setenv("JUMINZEI_DATA_DOCS", str(root / "data_docs"))
        for stage in ("resident_snapshot", "returns_ingest", "record_merge", "tax_assessment"):
            assert stage_runner(stage)(fiscal_year=N, municipality=M)["status"] == "success"
        for month in MONTHS:
            write_month(lake / "landing", month, insurers.inbound(month, outbound_from_lake(lake, M, N, month)),
                        municipality=M, fiscal_year=N)
            for of in ([f"{N}-04"] if month == f"{N}-05" else []) + [month]:  # the 住民記録's deaths of the month
                rel, data = insurers.resident_changes_file(of)
                (lake / "landing" / rel).parent.mkdir(parents=True, exist_ok=True)
                (lake / "landing" / rel).write_bytes(data)
            reports[month] = pension(fiscal_year=N, municipality=M, processing_month=month)
            assert reports[month]["status"] == "success" and reports[month]["reconciliation"]["ok"], month
            if month == f"{N}-05":
                assert notice_export(fiscal_year=N, municipality=M, notice_date=f"{N}-05-20")["status"] == "success"
    return {"lake": lake, "insurers": insurers, "reports": reports}


def _read(lake: Path, zone: str, dataset: str) -> pl.DataFrame:
    from pipelines.lake import read_partition

    return read_partition(lake, zone, dataset, M, N)


def test_every_file_sent_round_trips_and_its_trailers_match(year):
    from transforms.pension_exchange_records import read_exchange_file, write_exchange_file

    sent = sorted((year["lake"] / "exports" / "pension_insurers").rglob("Z4*.dta"))
    # requests, next 仮徴収, stops after a death, answers to the 追加候補者
    assert {p.name[:4] for p in sent} == {"Z401", "Z461", "Z441", "Z431"}
    for path in sent:
        data = path.read_bytes()
        exchange = read_exchange_file(data, file=path.name)  # checks every trailer's count and totals
        assert write_exchange_file(exchange, file=path.name) == data
        for code, records in exchange.records.items():
            group = exchange.groups.filter(pl.col("notice_code") == code).row(0, named=True)
            assert group["record_count"] == records.height
            assert [group[f"total_amount_{i}"] for i in (1, 2, 3)] == [int(records[f"amount_{i}"].sum()) for i in (1, 2, 3)]


def test_every_yen_asked_for_is_withheld_or_moved_per_person(year):
    lake = year["lake"]
    ledger = _read(lake, "curated", "pension_ledger")
    moves = _read(lake, "curated", "pension_moves")
    assert ledger.filter(pl.col("status").is_in(["mismatch", "unexpected"])).height == 0
    rows = ledger.join(moves.select("atena_no", "payer_code", "period", pl.col("amount").alias("moved")),
                       on=["atena_no", "payer_code", "period"], how="left")
    # a month still without its result at the end of the 年度 is one the insurer no longer reports after a stop
    assert rows.filter((pl.col("status") == "pending") & pl.col("moved").is_null()).height == 0
    withheld_in_full = rows.filter(pl.col("status") == "withheld")
    assert withheld_in_full["moved"].null_count() == withheld_in_full.height  # a month withheld is not moved
    stopped = rows.filter(pl.col("status") != "withheld")
    # a month not withheld moved in full, or in the part the insurer could not withhold
    assert (stopped["moved"] == stopped["requested"] - stopped["withheld"].fill_null(0)).all()
    per_person = rows.group_by("atena_no").agg(
        pl.col("requested").sum(), pl.col("withheld").fill_null(0).sum(), pl.col("moved").fill_null(0).sum())
    assert (per_person["requested"] == per_person["withheld"] + per_person["moved"]).all()
    # what stopped: a request refused (02 年金額不足, 03 資格喪失), a payment not made (22 失権, 差止, 不足) or a
    # death the 住民記録 recorded (41 死亡)
    assert moves.height > 0
    assert set(moves["stop_reason"]) <= {"result_02", "result_03", "collection_01", "collection_02", "collection_03",
                                         "change_01"}
    # every pensioner the insurers say died is moved from the month of the death on
    deaths = year["insurers"].deaths().filter(pl.col("atena_no").is_not_null())
    after = ledger.join(deaths.select("atena_no", pl.col("death_date").dt.strftime("%Y-%m").alias("died")),
                        on="atena_no").filter(pl.col("period") > pl.col("died"))
    assert after.height > 0  # the seed has withheld pensioners who die during the 年度
    assert after.join(moves, on=["atena_no", "payer_code", "period"], how="anti").height == 0


def test_a_death_in_the_registry_sends_one_stop_notice_to_the_insurer(year):
    """資格喪失等の通知 (41, 各種区分 01 死亡) once per deceased pensioner still to be withheld from, in the month the
    住民記録 records the death, with the date of death; the insurer's answer (42) comes the month after."""
    from transforms.pension_exchange_records import read_exchange_file

    lake = year["lake"]
    sent = sorted((lake / "exports" / "pension_insurers").rglob("Z441_*.dta"))
    assert sent, "no stop notice was sent"
    every = pl.concat([read_exchange_file(p.read_bytes(), file=p.name).records["41"].with_columns(
        pl.lit(p.name.split("_")[2][:6]).alias("sent")) for p in sent])
    assert every.select("basic_pension_no", "pension_code").is_unique().all()
    assert set(every["category"]) == {"01", "02"}  # 死亡, and 転出 (the next test)
    stops = every.filter(pl.col("category") == "01")
    assert (stops["amount_1"] + stops["amount_2"] + stops["amount_3"] == 0).all()
    deaths = year["insurers"].deaths().select("payer_code", "basic_pension_no", "pension_code", "death_date")
    joined = stops.join(deaths, on=["payer_code", "basic_pension_no", "pension_code"], how="left")
    assert joined["death_date"].null_count() == 0 and (joined["event_date"] == joined["death_date"]).all()
    # sent in the month of the death
    assert (joined["sent"] == joined["death_date"].dt.strftime("%Y%m")).all()
    answers = [p for p in (lake / "landing" / "pension_exchange").rglob("Z442_*.dta")]
    assert len(answers) == len(sent)
    # every notice the ward sent has its answer by March, and no answer is to nothing sent
    answered = _read(lake, "curated", "pension_answers")
    assert set(answered["status"]) <= {"accepted", "refused"}
    assert set(answered["notice_code"]) == {"01", "31", "41", "61"}
    moves = _read(lake, "curated", "pension_moves")
    assert "change_01" in set(moves["stop_reason"])


def test_every_addition_candidate_is_answered_once_as_not_withheld(year):
    """Each 特別徴収追加候補者 (30) the insurers send gets one 追加依頼通知 (31) in the month it arrives, 各種区分
    03 特別徴収非対象者 with amounts 0 (docs/pension-exchange.md: the 当初 notice put the tax in 普通徴収), and
    nothing of the candidate is requested or withheld; the insurer's 32 answers it."""
    from transforms.pension_exchange_records import read_exchange_file

    lake = year["lake"]
    truth = year["insurers"].candidate_truth()
    assert truth.height >= 2 and truth["month_index"].n_unique() == 2  # July and November at this seed
    key = ["payer_code", "basic_pension_no", "pension_code"]
    answers = []
    for path in sorted((lake / "exports" / "pension_insurers").rglob("Z431_*.dta")):
        records = read_exchange_file(path.read_bytes(), file=path.name).records["31"]
        answers.append(records.with_columns(pl.lit(int(path.name.split("_")[2][4:6])).alias("sent_month")))
    sent = pl.concat(answers)
    assert sent.select(key).is_unique().all()
    assert set(sent["category"]) == {"03"} and (sent["amount_1"] + sent["amount_2"] + sent["amount_3"] == 0).all()
    months = {3: 7, 7: 11}  # index in the 年度 → calendar month
    expected = truth.select(*key, pl.col("month_index").replace_strict(months).alias("sent_month"))
    assert sent.select(*key, "sent_month").sort(key).equals(expected.sort(key))
    candidates = _read(lake, "curated", "pension_candidates")
    assert candidates.height == truth.height
    tied = candidates.join(truth.select(*key, pl.col("atena_no").alias("truth")), on=key)
    assert (tied["atena_no"] == tied["truth"]).all()  # every candidate tied to the right resident
    ledger = _read(lake, "curated", "pension_ledger")
    assert ledger.join(truth.select("atena_no", "payer_code"), on=["atena_no", "payer_code"], how="semi").height == 0
    replies = _read(lake, "curated", "pension_answers").filter(pl.col("notice_code") == "31")
    assert replies.height == truth.height and set(replies["status"]) == {"accepted"}


def test_a_move_out_keeps_this_years_withholding_and_withdraws_next_years_provisional_collection(year):
    """A 転出 recorded by the 住民記録 (異動事由 2): this 年度's withholding continues (the 平成28年10月 reform), the
    next 年度 is the new municipality's (賦課期日 1 January). Moved out by July → no 61 for the person; moved out
    after the 61 and before 1 January → one 41 各種区分 02 in the month of the move, 異動年月日 the move; moved out
    from January on → nothing (the person is still the ward's taxpayer next 年度)."""
    from transforms.pension_exchange_records import read_exchange_file

    lake = year["lake"]
    changes = pl.concat([pl.read_csv(p, schema_overrides={"atena_no": pl.String, "change": pl.String,
                                                          "change_date": pl.String})
                         for p in sorted((lake / "landing" / "resident_changes").rglob("*.csv"))])
    moves = changes.filter(pl.col("change") == "2").select(
        "atena_no", pl.col("change_date").str.strptime(pl.Date, "%Y%m%d"))
    outbound = _read(lake, "curated", "pension_outbound")
    asked_61 = outbound.filter(pl.col("notice_code") == "61").join(moves, on="atena_no")
    withheld = outbound.filter((pl.col("notice_code") == "01") & (pl.col("category") == "01")).join(moves, on="atena_no")
    assert withheld.height > 0  # the seed has withheld pensioners who move out
    july = date(N, 7, 31)
    assert asked_61.filter(pl.col("change_date") <= july).height == 0
    sent = [read_exchange_file(p.read_bytes(), file=p.name).records["41"].with_columns(
        pl.lit(p.name.split("_")[2][:6]).alias("sent")) for p in sorted((lake / "exports").rglob("Z441_*.dta"))]
    stops = pl.concat(sent).filter(pl.col("category") == "02")
    key = ["payer_code", "basic_pension_no", "pension_code"]
    expected = asked_61.filter(pl.col("change_date") < date(N + 1, 1, 1)).select(
        *key, pl.col("change_date").alias("event_date"), pl.col("change_date").dt.strftime("%Y%m").alias("sent"))
    assert expected.height > 0
    assert stops.select(*key, "event_date", "sent").sort(key).equals(expected.sort(key))
    # this 年度's 本徴収 of a person who moved out is not stopped by the move: the insurer goes on withholding
    # and reporting every month asked for (none is left pending at the end of the 年度 for the move)
    moved_keys = _read(lake, "curated", "pension_moves").join(withheld.select("atena_no"), on="atena_no", how="semi")
    assert "change_02" not in set(moved_keys["stop_reason"])
    stopped = stops.join(outbound.filter(pl.col("notice_code") == "61").select(*key, "atena_no"), on=key)
    ledger = _read(lake, "curated", "pension_ledger").join(stopped.select("atena_no"), on="atena_no", how="semi")
    assert ledger.height > 0 and ledger.filter(pl.col("status") == "pending").height == 0


def test_what_moved_becomes_new_ordinary_installments_of_the_same_amount(year):
    lake = year["lake"]
    moves = _read(lake, "curated", "pension_moves").group_by("month", "atena_no").agg(pl.col("amount").sum())
    switch = _read(lake, "curated", "pension_switch_installments").group_by("month", "person_id").agg(
        pl.col("amount").sum(), pl.col("due_date").min(), pl.col("notice_date").first())
    joined = moves.filter(pl.col("amount") > 0).join(switch.rename({"person_id": "atena_no"}),
                                                      on=["month", "atena_no"], how="full", coalesce=True)
    assert joined.filter(pl.col("amount") != pl.col("amount_right")).height == 0
    assert joined["amount_right"].null_count() == 0 and joined["amount"].null_count() == 0
    assert (joined["due_date"] > joined["notice_date"]).all()


def test_the_planted_faults_are_quarantined_and_nothing_else(year):
    lake, insurers = year["lake"], year["insurers"]
    faults = insurers.planted_faults()
    refused = faults.filter(pl.col("error").is_not_null())
    quarantine = _read(lake, "quarantine", "pension_special_collection")
    got = {(row["month"], row["file"].rsplit("/", 1)[1], row["reason_code"]) for row in quarantine.iter_rows(named=True)}
    codes = {"TrailerTotalsError": "trailer_totals", "FileLengthError": "record_length"}
    assert got == {(r["month"], r["file"], codes[r["error"]]) for r in refused.iter_rows(named=True)}
    files = _read(lake, "staging", "pension_files")
    staged = set(files.filter(pl.col("status") == "staged")["file"])
    for row in faults.filter(pl.col("error").is_null()).iter_rows(named=True):
        assert row["file"] in staged, row["kind"]  # the late, resent and corrected files are read
    (first,) = faults.filter((pl.col("kind") == "corrected_file") & pl.col("file").str.ends_with("_001.dta"))["file"]
    assert year["reports"]["2027-01"]["counts"]["files_superseded"] == 1
    records = _read(lake, "staging", "pension_records")
    ledger = _read(lake, "curated", "pension_ledger")
    assert first in set(records["file"]) and first not in set(ledger["result_file"].drop_nulls())
    received = sum(r["counts"]["files_received"] for r in year["reports"].values())
    assert received == files.height  # every file received is in exactly one place: staged or quarantined


def test_a_switch_sends_a_new_tax_notice_with_the_remainder_in_the_ordinary_installments(year, tmp_path):
    """The 納税通知書 (変更) of a month's switch (notice_export with pension_switch_month): one per person
    switched, dated as the switch; its 普通徴収 期別 are June's ordinary ones plus what moved, split over the
    納期 still ahead; its routes still sum to the tax; a hand-off of its own that supersedes nothing."""
    from pipelines.notice_export import run as notice_export

    lake = year["lake"]
    moves = _read(lake, "curated", "pension_moves")
    month = moves.group_by("month").len().sort("len", "month", descending=[True, False])["month"][0]
    notice_date = moves.filter(pl.col("month") == month)["notice_date"][0]
    # a fresh DV等支援措置 extract for the notice date (the interlock allows 14 days): the May list re-taken
    folder = lake / "landing" / "support_measures" / f"municipality={M}" / f"fiscal_year={N}"
    (may,) = sorted(folder.glob("shien_sochi_*.csv"))
    fresh = folder / f"shien_sochi_{M}_{notice_date.replace(day=notice_date.day - 5):%Y%m%d}.csv"
    fresh.write_bytes(may.read_bytes())
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("JUMINZEI_LAKE", str(lake))
        patch.setenv("JUMINZEI_VAULT_KEY_FILE", str(lake.parent / "keys" / "vault.key"))
        patch.setenv("JUMINZEI_DATA_DOCS", str(lake.parent / "data_docs"))
        report = notice_export(fiscal_year=N, municipality=M, pension_switch_month=month)
    fresh.unlink()
    assert report["status"] == "success" and report["reconciliation"]["ok"]
    (handoff,) = report["handoffs"]
    assert handoff["recipient"] == "print_vendor" and not handoff.get("supersedes")
    notices = pl.read_parquet(lake / handoff["path"] / "tax_notice.parquet")
    switched = moves.filter(pl.col("month") == month)["atena_no"].unique()
    held = report["counts"]["switch_notices_held"]
    assert notices.height + held == switched.len() and set(notices["person_id"]) <= set(switched)
    assert (notices["notice_date"] == notice_date).all()
    plan = _read(lake, "curated", "collection_plan")
    schedule = _read(lake, "curated", "installment_schedule")
    moved = moves.filter(pl.col("month") <= month).group_by(pl.col("atena_no").alias("person_id")).agg(
        pl.col("amount").sum().alias("moved"))
    june = schedule.filter(pl.col("route") == "ordinary").group_by("person_id").agg(pl.col("amount").sum().alias("june"))
    got = notices.join(plan.select("person_id", pl.col("ordinary_amount").alias("ordinary_before"),
                                   pl.col("pension_amount").alias("pension_before")), on="person_id") \
        .join(moved, on="person_id").join(june, on="person_id", how="left")
    assert (got["ordinary_amount"] == got["ordinary_before"] + got["moved"]).all()
    assert (got["pension_amount"] == got["pension_before"] - got["moved"]).all()
    assert (got["ordinary_installments_total"] == got["june"].fill_null(0) + got["moved"]).all()
    slots = [c for c in notices.columns if c.startswith("installment_") and c.endswith("_amount")]
    assert (notices.select(pl.sum_horizontal(slots)).to_series() == notices["ordinary_amount"]).all()
    assert (notices["salary_amount"] + notices["pension_amount"] + notices["ordinary_amount"] == notices["total_tax"]).all()
