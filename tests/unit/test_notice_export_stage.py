"""The notice_export stage on a small generated ward: the plan and the installments reconcile with the
assessment to the yen, every salary withholding goes to the 指定番号 of one of the person's own salary
reports, and dispatch is fail-closed on the DV等支援措置 list (docs/notice-export.md; docs/sources.md T10).

The cycle up to tax_assessment runs once into a template lake; each test works on its own copy."""

from __future__ import annotations

import shutil
from pathlib import Path

import polars as pl
import pytest

#: Builds a generated ward and runs whole stages: left out of mutation runs (docs/testing.md).
pytestmark = pytest.mark.slow

M, N = "131032", 2026
NOTICE_DATE = "2026-05-20"  # the generated list is extracted on 15 May (sample_ward.notice_inputs)
UPSTREAM = ("resident_snapshot", "returns_ingest", "record_merge", "tax_assessment")


def _env(monkeypatch, root: Path, lake: Path) -> None:
    monkeypatch.setenv("JUMINZEI_LAKE", str(lake))
    monkeypatch.setenv("JUMINZEI_VAULT_KEY_FILE", str(root / "keys" / "vault.key"))
    monkeypatch.setenv("JUMINZEI_DATA_DOCS", str(root / "data_docs"))


@pytest.fixture(scope="module")
def template(tmp_path_factory) -> Path:
    from pipelines.stages import stage_runner
    from sample_ward import generate_ward

    root = tmp_path_factory.mktemp("notice_export")
    generate_ward(root / "ward", residents=400, seed=11, fiscal_year=N)
    lake = root / "lake"
    shutil.copytree(root / "ward" / "landing", lake / "landing")
    with pytest.MonkeyPatch.context() as patch:
        _env(patch, root, lake)
        for stage in UPSTREAM:
            assert stage_runner(stage)(fiscal_year=N, municipality=M)["status"] == "success"
        # May's 年金特徴 run: who is withheld from a pension (curated/pension_targets)
        pension = stage_runner("pension_special_collection")(fiscal_year=N, municipality=M, processing_month=f"{N}-05")
        assert pension["status"] == "success"
    return root


@pytest.fixture()
def lake(template, tmp_path, monkeypatch) -> Path:
    lake = tmp_path / "lake"
    shutil.copytree(template / "lake", lake)
    _env(monkeypatch, template, lake)
    return lake


def _support_folder(lake: Path, year: int = N) -> Path:
    return lake / "landing" / "support_measures" / f"municipality={M}" / f"fiscal_year={year}"


def _run(**options) -> dict:
    from pipelines.notice_export import run

    return run(fiscal_year=N, municipality=M, notice_date=NOTICE_DATE, **options)


def _read(lake: Path, zone: str, dataset: str) -> pl.DataFrame:
    from pipelines.lake import read_partition

    return read_partition(lake, zone, dataset, M, N)


def _exists(lake: Path, zone: str, dataset: str) -> bool:
    from pipelines.lake import partition_exists

    return partition_exists(lake, zone, dataset, M, N)


# --------------------------------------------------------------------------------------------- dispatch
def test_a_dispatch_writes_a_plan_and_installments_that_reconcile_with_the_assessment(lake):
    report = _run()
    assert report["status"] == "success" and report["reconciliation"]["ok"]
    assessment, plan = _read(lake, "curated", "tax_assessment"), _read(lake, "curated", "collection_plan")
    schedule = _read(lake, "curated", "installment_schedule")
    taxed = assessment.filter(pl.col("total_tax") > 0)
    # every person with tax has exactly one plan, and its routes sum to the tax, person by person
    assert sorted(plan["person_id"]) == sorted(taxed["person_id"])
    joined = plan.join(taxed.select("person_id", pl.col("total_tax").alias("assessed")), on="person_id")
    assert (joined["salary_amount"] + joined["pension_amount"] + joined["ordinary_amount"] == joined["assessed"]).all()
    assert report["counts"]["sum_total_tax"] == int(taxed["total_tax"].sum())
    # each 普通徴収 and 給与特別徴収 route is paid in installments that sum to it exactly
    for method, column in (("ordinary", "ordinary_amount"), ("salary", "salary_amount")):
        paid = schedule.filter(pl.col("method") == method).group_by("person_id").agg(pl.col("amount").sum())
        due = plan.filter(pl.col(column) > 0).select("person_id", column)
        assert due.join(paid, on="person_id", how="full", coalesce=True).filter(
            pl.col(column) != pl.col("amount")).height == 0
    # 給与特別徴収: 12 months June to May (地方税法第321条の5第1項)
    months = schedule.filter(pl.col("method") == "salary").group_by("person_id").agg(pl.col("period").sort())
    assert all(p == [f"2026-{m:02d}" for m in range(6, 13)] + [f"2027-{m:02d}" for m in range(1, 6)]
               for p in months["period"].to_list() if len(p) == 12)


def test_salary_withholding_goes_to_the_designation_number_of_one_of_the_persons_own_reports(lake):
    """The 特別徴収義務者 of a plan is the employer (指定番号) of a current salary report of that very person,
    never one of another person's, whatever the names (issue 13 item 4)."""
    _run()
    plan = _read(lake, "curated", "collection_plan").filter(pl.col("salary_amount") > 0)
    reports = _read(lake, "staging", "salary_reports").filter(pl.col("is_current")).select(
        pl.col("atena_no").alias("person_id"), pl.col("doc_uid").alias("salary_doc_uid"), "designation_no")
    matched = plan.join(reports, on=["person_id", "salary_doc_uid"], how="left")
    assert matched["designation_no"].null_count() == 0
    assert (matched["designation_no"].str.strip_chars() == matched["salary_payer"]).all()
    assert plan.height > 0


def test_a_rerun_with_the_same_inputs_leaves_every_partition_unchanged(lake):
    _run()
    before = {p: p.read_bytes() for p in sorted((lake / "curated").rglob("*.parquet"))}
    report = _run()
    assert all(o["unchanged"] for o in report["outputs"])
    assert {p: p.read_bytes() for p in sorted((lake / "curated").rglob("*.parquet"))} == before


# ---------------------------------------------------------------------------------- the interlock
def _assert_stopped(lake: Path, *fragments: str) -> None:
    from pipelines.notice_export import DispatchStopped

    with pytest.raises(DispatchStopped) as stopped:
        _run()
    for fragment in fragments:
        assert fragment in str(stopped.value)
    assert not _exists(lake, "curated", "collection_plan")
    assert not _exists(lake, "curated", "installment_schedule")
    assert not (lake / "exports").exists() and not (lake / "preview").exists()  # nothing left the building


def test_a_missing_support_list_stops_dispatch_and_writes_nothing(lake):
    shutil.rmtree(_support_folder(lake))
    _assert_stopped(lake, "DV等支援措置", "is missing")


def test_an_emptied_support_list_stops_dispatch_when_last_years_was_not(lake):
    (path,) = _support_folder(lake).glob("*.csv")
    path.write_bytes(path.read_bytes().splitlines(keepends=True)[0])  # the header only: "0件"
    assert sum(1 for _ in next(_support_folder(lake, N - 1).glob("*.csv")).open()) > 1
    _assert_stopped(lake, "is empty although last year's list")


def test_a_dispatch_uses_the_newest_support_list_taken_by_its_notice_date(lake):
    """Extracts taken for later dispatches (a pension switch in August) do not count for the notices of 20 May:
    the newest list on or before the notice date does, so a rerun of the 当初 dispatch still passes; the
    August list serves an August notice."""
    (may,) = _support_folder(lake).glob("*.csv")
    (_support_folder(lake) / f"shien_sochi_{M}_20260815.csv").write_bytes(may.read_bytes())
    report = _run()
    assert report["status"] == "success" and report["dispatch"]["interlock"] == "passed"
    august = run_at("2026-08-20")
    assert august["dispatch"]["interlock"] == "passed"


def run_at(notice_date: str) -> dict:
    from pipelines.notice_export import run

    return run(fiscal_year=N, municipality=M, notice_date=notice_date, dry_run=True)


def test_a_stale_support_list_stops_dispatch_but_a_dry_run_only_reports_it(lake):
    from pipelines.notice_export import DispatchStopped, run

    with pytest.raises(DispatchStopped, match="days before the notice date"):
        run(fiscal_year=N, municipality=M, notice_date="2026-07-01")
    report = run(fiscal_year=N, municipality=M, notice_date="2026-07-01", dry_run=True)
    assert report["status"] == "success" and report["outputs"] == []
    assert any("a dispatch now would stop" in m for m in report["messages"])
    assert not _exists(lake, "curated", "collection_plan")
    # with the interlock failing, not even a preview is rendered: a protected address could be in it
    assert not (lake / "exports").exists() and not (lake / "preview").exists()


def test_without_the_pension_exchange_of_may_the_notices_are_refused(lake):
    """Without May's 年金特徴 run nobody is known to be withheld from a pension: the notices would put every
    pensioner's tax into 普通徴収, so the stage refuses and names the run that is missing."""
    from contracts.errors import ConfigError

    shutil.rmtree(lake / "curated" / "pension_targets")
    with pytest.raises(ConfigError, match="run pension_special_collection for 2026-05"):
        _run()


# ------------------------------------------------------------------------------------------ hand-offs
def _folder(lake: Path, recipient: str, report: dict, root: str = "exports") -> Path:
    (handoff,) = [h for h in report["handoffs"] if h["recipient"] == recipient]
    assert handoff["path"].startswith(f"{root}/{recipient}/municipality={M}/fiscal_year={N}/")
    return lake / handoff["path"]


def _manifest(folder: Path) -> dict:
    import json

    return json.loads((folder / "manifest.json").read_text(encoding="utf-8"))


def _vault_numbers(lake: Path) -> set[str]:
    from pipelines.config import Settings
    from pipelines.lake import read_vault

    vault = read_vault(Settings.from_env(), M, N, reason="test: the My Number scan of the exports", run_id=None)
    return set(vault["my_number"].drop_nulls().to_list())


def _twelve_digit_runs(folder: Path) -> set[str]:
    """Every standalone run of 12 digits in every file of a folder (CSV decoded, Parquet text columns, PDF text)."""
    import re

    from pipelines.notice_pdf import pdf_text

    runs: set[str] = set()
    for path in sorted(p for p in folder.rglob("*") if p.is_file()):
        if path.suffix == ".parquet":
            frame = pl.read_parquet(path)
            text = "\n".join(frame.select(pl.col(pl.String)).write_csv().splitlines())
        elif path.suffix == ".pdf":
            text = pdf_text(path.read_bytes())
        else:
            raw = path.read_bytes()
            text = raw.decode("cp932") if path.suffix == ".csv" and b"\r\n" in raw and not raw.startswith(b"print_file") \
                else raw.decode("utf-8")
        runs |= set(re.findall(r"(?<![0-9])[0-9]{12}(?![0-9])", text))
    return runs


def test_a_dispatch_hands_off_print_data_eltax_and_forwarding_lists_that_reconcile_to_the_yen(lake):
    report = _run()
    assert report["status"] == "success" and report["reconciliation"]["ok"], report["reconciliation"]
    assert report["dispatch"]["mode"] == "dispatch" and report["dispatch"]["explicit"] is True
    plan = _read(lake, "curated", "collection_plan")
    held = _read(lake, "curated", "notice_hold")
    vendor = _manifest(_folder(lake, "print_vendor", report))
    tax = vendor["control_totals"]["tax_notice.csv"]
    employer = vendor["control_totals"]["special_collection_employer.csv"]
    eltax = _manifest(_folder(lake, "eltax", report))
    eltax_salary = sum(t["sum_salary_amount"] for t in eltax["control_totals"].values())
    # 納税通知書: the 普通徴収 and 年金特別徴収 of the plan, less what is held, to the yen
    held_tax = held.filter(pl.col("notice_kind") == "tax_notice")
    assert tax["sum_ordinary_amount"] + tax["sum_pension_amount"] + int(held_tax["amount"].sum()) == \
        int((plan["ordinary_amount"] + plan["pension_amount"]).sum())
    # 特別徴収: paper employers + eLTAX employers + held = the plan's 給与特別徴収
    held_special = held.filter(pl.col("notice_kind") == "special_collection")
    assert employer["sum_salary_amount"] + eltax_salary + int(held_special["amount"].sum()) == \
        int(plan["salary_amount"].sum())
    # one notice per person and route: a notice number is never repeated across the files and the hold queue
    frame = pl.read_parquet(_folder(lake, "print_vendor", report) / "tax_notice.parquet")
    assert frame["notice_no"].is_unique().all() and not set(frame["notice_no"]) & set(held["notice_no"])
    # the 発送連番 runs 1..n in postal-code order
    assert frame["dispatch_seq"].to_list() == list(range(1, frame.height + 1))
    codes = frame["addressee_postal_code"].to_list()
    assert codes == sorted(codes)
    # every file is as its manifest says
    from pipelines.handoff import verify_handoff

    for handoff in report["handoffs"]:
        assert verify_handoff(lake / handoff["path"]) == []


def test_no_my_number_of_the_ward_is_in_any_paper_export_preview_or_report(lake):
    report = _run()
    numbers = _vault_numbers(lake)
    assert numbers
    for handoff in report["handoffs"]:
        if handoff["recipient"] != "eltax":
            assert not _twelve_digit_runs(lake / handoff["path"]) & numbers, handoff["path"]
    assert not _twelve_digit_runs(lake / "preview") & numbers   # the operator's sample PDFs
    assert not _twelve_digit_runs(lake / "reports") & numbers


def test_an_eltax_file_carries_its_own_employees_numbers_and_nobody_elses(lake):
    report = _run()
    from pipelines.config import Settings
    from pipelines.lake import read_vault

    vault = read_vault(Settings.from_env(), M, N, reason="test", run_id=None).select("atena_no", "my_number")
    reports = _read(lake, "staging", "salary_reports").filter(pl.col("is_current")).select(
        pl.col("atena_no").alias("person_id"), "designation_no")
    folder = _folder(lake, "eltax", report)
    files = sorted(folder.glob("eltax_*.csv"))
    assert files
    for path in files:
        rows = pl.read_csv(path.read_bytes().decode("cp932").encode(), infer_schema=False)
        (designation,) = rows["designation_no"].unique().to_list()
        # each person has a salary report of this very employer, and the number is that person's own
        assert rows.join(reports.filter(pl.col("designation_no") == designation), on="person_id", how="anti").height == 0
        paired = rows.join(vault, left_on="person_id", right_on="atena_no", how="left")
        assert (paired["my_number"] == paired["my_number_right"]).all()


def test_every_employer_notice_lists_only_employees_of_that_employers_reports(lake):
    report = _run()
    frame = pl.read_parquet(_folder(lake, "print_vendor", report) / "special_collection_employer.parquet")
    plan = _read(lake, "curated", "collection_plan").select("person_id", "salary_payer", "salary_doc_uid")
    reports = _read(lake, "staging", "salary_reports").select(
        pl.col("doc_uid").alias("salary_doc_uid"), pl.col("atena_no").alias("report_person"), "designation_no")
    joined = frame.select("person_id", "designation_no").join(plan, on="person_id").join(
        reports.rename({"designation_no": "report_designation"}), on="salary_doc_uid")
    assert joined.height == frame.height > 0
    assert (joined["designation_no"] == joined["report_designation"]).all()
    assert (joined["person_id"] == joined["report_person"]).all()
    # one envelope per employer: its records are consecutive and share the 発送連番
    runs = frame.select((pl.col("designation_no") != pl.col("designation_no").shift()).cum_sum().alias("run"),
                        "designation_no").unique()
    assert runs["designation_no"].is_unique().all()


def test_a_protected_persons_address_is_in_no_export_and_their_notices_are_held(lake):
    report = _run()
    support = pl.read_csv(next(_support_folder(lake).glob("*.csv")), infer_schema=False)
    residents = _read(lake, "staging", "residents").filter(pl.col("atena_no").is_in(support["atena_no"].implode()))
    plan = _read(lake, "curated", "collection_plan").filter(pl.col("person_id").is_in(support["atena_no"].implode()))
    assert plan.height > 0  # the generated list protects persons with tax (half of them employees)
    held = _read(lake, "curated", "notice_hold")
    assert set(plan["person_id"]) <= set(held["person_id"])
    assert set(held.filter(pl.col("reason") == "support_measures")["person_id"]) <= set(support["atena_no"])
    protected = set(support["atena_no"])
    assert residents.height > 0
    for handoff in report["handoffs"]:
        for path in (lake / handoff["path"]).glob("*.parquet"):
            frame = pl.read_parquet(path)
            assert not set(frame["person_id"]) & protected, path
    # no record of theirs anywhere: neither their 宛名番号 nor their name (with their address) in any file
    everyone = _read(lake, "staging", "residents").group_by("name_kanji").len()
    unique = set(everyone.filter(pl.col("len") == 1)["name_kanji"])  # a namesake may get a notice of their own
    names = [n for n in residents["name_kanji"].drop_nulls().to_list() if n in unique]
    for path in (lake / "exports").rglob("*.csv"):
        text = path.read_bytes().decode("cp932", errors="replace")
        assert not any(atena in text for atena in protected), path
        assert not any(name in text for name in names if len(name) >= 4), path


def test_a_dry_run_renders_previews_only_and_a_dispatch_then_hands_off(lake):
    report = _run(dry_run=True)
    assert report["status"] == "success" and report["outputs"] == []
    assert report["dispatch"]["mode"] == "preview" and report["dispatch"]["explicit"] is False
    assert not (lake / "exports").exists()
    assert {h["recipient"] for h in report["handoffs"]} == {"print_vendor", "municipalities"}
    assert all(h["path"].startswith("preview/") for h in report["handoffs"])
    samples = list((lake / "preview" / "samples").rglob("*.pdf"))
    assert 0 < len(samples) <= 20
    assert not _exists(lake, "curated", "collection_plan") and not _exists(lake, "curated", "notice_hold")
    dispatched = _run()
    assert {h["recipient"] for h in dispatched["handoffs"]} == {"print_vendor", "eltax", "municipalities"}
    assert all(h["path"].startswith("exports/") for h in dispatched["handoffs"])


def test_an_unchanged_rerun_hands_off_nothing_again(lake):
    first = _run()
    before = sorted(p.relative_to(lake) for p in (lake / "exports").rglob("*"))
    second = _run()
    assert all(h["unchanged"] for h in second["handoffs"])
    assert {h["run_id"] for h in second["handoffs"]} == {first["run_id"]}
    assert sorted(p.relative_to(lake) for p in (lake / "exports").rglob("*")) == before


def test_an_acknowledged_handoff_keeps_only_its_manifest_and_records_the_deletion(lake):
    import json

    from pipelines.audit import read_audit, verify_chain
    from pipelines.handoff import acknowledge

    report = _run()
    folder = _folder(lake, "print_vendor", report)
    (result,) = acknowledge(lake, report["run_id"], recipient="print_vendor", by="vendor-desk",
                            reason="受領書 2026-0001")
    assert sorted(p.name for p in folder.iterdir()) == ["manifest.json"]
    assert sorted(result["deleted"]) == sorted(e["name"] for e in _manifest(folder)["files"])
    assert _manifest(folder)["acknowledged"]["confirmation"] == "受領書 2026-0001"
    record = [r for r in read_audit(lake) if r["operation"] == "handoff_acknowledged_files_deleted"][-1]
    assert record["run_id"] == report["run_id"] and record["dataset"] == folder.relative_to(lake).as_posix()
    assert verify_chain(lake).ok
    stored = json.loads(Path(report["report_path"]).read_text(encoding="utf-8"))
    assert stored["handoff_acknowledgements"][0]["deleted"] == result["deleted"]
    # a second acknowledgement changes nothing
    (again,) = acknowledge(lake, report["run_id"], recipient="print_vendor", by="vendor-desk", reason="again")
    assert again["already"] is True


# ------------------------------------------------------------------------------------- 住登外課税通知
def _register(lake: Path) -> pl.DataFrame:
    folder = lake / "landing" / "non_registered_register" / f"municipality={M}" / f"fiscal_year={N}"
    return pl.read_csv(next(folder.glob("*.csv")), infer_schema=False)


def test_each_assessed_non_registered_person_is_notified_to_the_municipality_of_their_residence_record(lake):
    """地方税法第294条第3項・第4項: the ward taxes the 住登外者 of its register and tells the municipality
    that holds each one's 住民票; one file per destination, one record per person, no 個人番号."""
    register = _register(lake)
    assert register.height > 0  # the generated ward confirms two in three of its 住登外 persons
    report = _run()
    assert report["reconciliation"]["ok"], report["reconciliation"]
    assessed = _read(lake, "curated", "tax_assessment").filter(pl.col("person_id").is_in(register["atena_no"].implode()))
    assert report["counts"]["non_registered_notices"] == assessed.height > 0
    folder = _folder(lake, "municipalities", report)
    for row in register.iter_rows(named=True):
        path = folder / f"juto_gai_{row['registered_municipality_code']}.csv"
        notice = pl.read_csv(path.read_bytes().decode("cp932").encode(), infer_schema=False)
        mine = notice.filter(pl.col("person_id") == row["atena_no"])
        assert mine.height == 1
        assert mine.row(0, named=True)["registered_address"] == row["registered_address"]
        assert mine.row(0, named=True)["name_kanji"] == row["name_kanji"]
    from pipelines.handoff import verify_handoff

    assert verify_handoff(folder) == []


def test_a_protected_non_registered_persons_notice_to_their_municipality_is_held(lake):
    register = _register(lake)
    person = register["atena_no"][0]
    support = next(_support_folder(lake).glob("*.csv"))
    support.write_bytes(support.read_bytes() + f"{person},1,20250401,20270401\n".encode())
    report = _run()
    assert report["reconciliation"]["ok"], report["reconciliation"]
    held = _read(lake, "curated", "notice_hold").filter(pl.col("person_id") == person)
    assert "non_registered_notice" in held["notice_kind"].to_list()
    assert report["counts"]["non_registered_notices_held"] == 1
    for path in _folder(lake, "municipalities", report).glob("juto_gai_*.csv"):
        assert person not in path.read_bytes().decode("cp932"), path
