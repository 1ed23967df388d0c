"""徴収方法 (transforms/collection_plan.py) on hand-built assessments and reports.

The amounts are worked out here: the 所得割 is split by income in proportion, each 特別徴収 part rounded
down to 100円 (地方税法第20条の4の2第3項); 給与特別徴収 carries the salary part, the 均等割 and 森林環境税
(第321条の3第1項), the other-income part unless the return says 自分で納付 (第321条の3第2項) and the
pension part of a person under 65; 年金特別徴収 the pension part of a person of 65 or more on 1 April on
the insurer's list, with the 均等割 when nothing is withheld from salary (第321条の7の2第1項).
"""

from __future__ import annotations

from datetime import date

import polars as pl
import pytest

from transforms.collection_plan import collection_plan, main_salary_reports, reason_code

FY = 2026
PER_CAPITA = {"per_capita_levy_municipal": 3_000, "per_capita_levy_prefectural": 1_000, "forest_environment_tax": 1_000}


def person(pid: str, *, levy: int, salary: int = 0, pension: int = 0, other: int = 0,
           birth: date = date(1980, 6, 1), per_capita: bool = True) -> dict:
    capita = PER_CAPITA if per_capita else dict.fromkeys(PER_CAPITA, 0)
    municipal = levy * 6 // 10 // 100 * 100
    return {"person_id": pid, "birth_date": birth, "salary_income": salary, "public_pension_income": pension,
            "total_income": salary + pension + other, "income_levy_municipal": municipal,
            "income_levy_prefectural": levy - municipal, **capita,
            "total_tax": levy + sum(capita.values())}


def report(pid: str, doc: str, payer: str | None = "000012345678", *, payment: int = 3_000_000, otsu: bool = False,
           ordinary: bool = False, remarks: str = "") -> dict:
    return {"person_id": pid, "doc_uid": doc, "designation_no": payer, "otsu": otsu, "payment": payment,
            "ordinary": ordinary, "remarks": remarks}


REPORT_SCHEMA = {"person_id": pl.String, "doc_uid": pl.String, "designation_no": pl.String, "otsu": pl.Boolean,
                 "payment": pl.Int64, "ordinary": pl.Boolean, "remarks": pl.String}


def plan(people: list[dict], reports: list[dict] = (), targets: list[dict] = (), choices: list[dict] = ()) -> dict:
    result = collection_plan(
        pl.DataFrame(people),
        pl.DataFrame(list(reports), schema=REPORT_SCHEMA),
        pl.DataFrame(list(targets), schema={"person_id": pl.String, "payer_code": pl.String, "first_year": pl.Boolean}),
        pl.DataFrame(list(choices), schema={"person_id": pl.String, "other_income_collection": pl.String}),
        fiscal_year=FY,
    )
    return {row["person_id"]: row for row in result.iter_rows(named=True)}


def routes(row: dict) -> tuple[int, int, int]:
    return row["salary_amount"], row["pension_amount"], row["ordinary_amount"]


def test_a_salaried_person_is_withheld_in_full_by_the_employer_of_the_report():
    rows = plan([person("1", levy=100_000, salary=3_000_000)], [report("1", "s1")])
    assert routes(rows["1"]) == (105_000, 0, 0)
    assert (rows["1"]["salary_payer"], rows["1"]["salary_doc_uid"]) == ("000012345678", "s1")


@pytest.mark.parametrize(("choice", "expected"), [
    # 所得割 200,000 over 給与 3,000,000 and 事業 1,000,000: 150,000 salary, 50,000 other
    ("self", (155_000, 0, 50_000)),      # 自分で納付: the other part by 普通徴収
    ("withhold", (205_000, 0, 0)),       # 給与から差引き
    (None, (205_000, 0, 0)),             # no choice stated: withheld (第321条の3第2項 as the ordinance applies it)
])
def test_other_income_follows_the_choice_on_the_return(choice, expected):
    choices = [] if choice is None else [{"person_id": "1", "other_income_collection": choice}]
    rows = plan([person("1", levy=200_000, salary=3_000_000, other=1_000_000)], [report("1", "s1")], [], choices)
    assert routes(rows["1"]) == expected
    assert (rows["1"]["salary_income_levy"], rows["1"]["other_income_levy"]) == (150_000, 50_000)


def test_a_pensioner_on_the_insurers_list_is_withheld_from_the_pension_with_the_per_capita_levy():
    rows = plan([person("1", levy=50_000, pension=2_000_000, birth=date(1955, 5, 1))], [],
                [{"person_id": "1", "payer_code": "001", "first_year": False}])
    assert routes(rows["1"]) == (0, 55_000, 0)
    assert (rows["1"]["pension_payer"], rows["1"]["pension_first_year"]) == ("001", False)


def test_a_working_pensioner_has_the_per_capita_levy_withheld_from_salary_not_pension():
    # 所得割 60,000 over 給与 1,000,000 and 年金 1,000,000: 30,000 each
    rows = plan([person("1", levy=60_000, salary=1_000_000, pension=1_000_000, birth=date(1955, 5, 1))],
                [report("1", "s1")], [{"person_id": "1", "payer_code": "001", "first_year": True}])
    assert routes(rows["1"]) == (35_000, 30_000, 0)


def test_the_pension_part_of_a_salaried_person_under_65_is_withheld_from_salary():
    # 64 on 1 April 2026 (born 1961-04-03); 所得割 90,000 over 給与 2,000,000 and 年金 1,000,000
    rows = plan([person("1", levy=90_000, salary=2_000_000, pension=1_000_000, birth=date(1961, 4, 3))],
                [report("1", "s1")])
    assert routes(rows["1"]) == (95_000, 0, 0)


def test_the_pension_part_of_a_salaried_person_of_65_not_on_the_list_is_paid_by_ordinary_collection():
    # 65 on 1 April 2026 (born 1961-04-02: the age is reached at the end of 1 April)
    rows = plan([person("1", levy=90_000, salary=2_000_000, pension=1_000_000, birth=date(1961, 4, 2))],
                [report("1", "s1")])
    assert routes(rows["1"]) == (65_000, 0, 30_000)


def test_a_pensioner_under_65_on_the_list_is_not_withheld_from_the_pension():
    rows = plan([person("1", levy=50_000, pension=2_000_000, birth=date(1961, 4, 3))], [],
                [{"person_id": "1", "payer_code": "001", "first_year": False}])
    assert routes(rows["1"]) == (0, 0, 55_000)
    assert rows["1"]["pension_payer"] is None


def test_each_withheld_part_is_rounded_down_to_100_yen_and_the_rest_is_ordinary():
    # 100,100 in thirds: 33,366.6 → 33,300 salary and 33,300 pension; other 33,500
    rows = plan([person("1", levy=100_100, salary=1_000_000, pension=1_000_000, other=1_000_000,
                        birth=date(1955, 5, 1))],
                [report("1", "s1")], [{"person_id": "1", "payer_code": "001", "first_year": False}],
                [{"person_id": "1", "other_income_collection": "self"}])
    row = rows["1"]
    assert (row["salary_income_levy"], row["pension_income_levy"], row["other_income_levy"]) == (33_300, 33_300, 33_500)
    assert routes(row) == (38_300, 33_300, 33_500)


def test_with_two_employers_the_one_not_in_otsu_withholds_all_salary_tax():
    reports = [report("1", "a", "000000000111", payment=5_000_000, otsu=True),
               report("1", "b", "000000000222", payment=2_000_000)]
    rows = plan([person("1", levy=300_000, salary=5_000_000)], reports)
    assert rows["1"]["salary_payer"] == "000000000222" and routes(rows["1"]) == (305_000, 0, 0)


def test_with_two_employers_in_the_same_column_the_larger_payment_withholds():
    reports = [report("1", "a", "000000000111", payment=2_000_000), report("1", "b", "000000000222", payment=3_000_000)]
    assert plan([person("1", levy=300_000, salary=5_000_000)], reports)["1"]["salary_payer"] == "000000000222"


def test_a_report_asking_for_ordinary_collection_is_passed_over_for_one_that_withholds():
    reports = [report("1", "a", "000000000111", payment=5_000_000, remarks="普F"),
               report("1", "b", "000000000222", payment=1_000_000)]
    assert plan([person("1", levy=300_000, salary=5_000_000)], reports)["1"]["salary_payer"] == "000000000222"


@pytest.mark.parametrize(("ordinary", "remarks", "reason"), [
    (True, "", None), (False, "普Ｂ", "普B"), (False, "退職 普F 5/31", "普F"), (True, "普A", "普A"),
])
def test_without_a_withholding_employer_the_salary_tax_is_ordinary(ordinary, remarks, reason):
    rows = plan([person("1", levy=100_000, salary=3_000_000)], [report("1", "a", ordinary=ordinary, remarks=remarks)])
    assert routes(rows["1"]) == (0, 0, 105_000)
    assert rows["1"]["ordinary_reason"] == reason and rows["1"]["salary_payer"] is None


def test_a_report_without_a_designation_number_cannot_withhold():
    rows = plan([person("1", levy=100_000, salary=3_000_000)], [report("1", "a", payer="  ")])
    assert routes(rows["1"]) == (0, 0, 105_000)


def test_no_tax_no_plan_and_every_plan_sums_to_the_assessment():
    people = [person("0", levy=0, per_capita=False)] + [
        person(str(i), levy=100 * (i * 37 % 997), salary=(i % 3) * 1_000_000, pension=(i % 2) * 900_000,
               other=(i % 5) * 100_000, birth=date(1950 + i % 30, 1 + i % 12, 1)) for i in range(1, 200)]
    reports = [report(str(i), f"s{i}") for i in range(1, 200) if i % 3]
    targets = [{"person_id": str(i), "payer_code": "001", "first_year": i % 4 == 0} for i in range(1, 200, 2)]
    choices = [{"person_id": str(i), "other_income_collection": "self"} for i in range(1, 200, 7)]
    rows = plan(people, reports, targets, choices)
    assert "0" not in rows and len(rows) == 199
    for row in rows.values():
        assert sum(routes(row)) == row["total_tax"] and min(routes(row)) >= 0, row
        assert row["salary_amount"] % 100 == 0 and row["pension_amount"] % 100 == 0


def test_reason_codes_are_read_in_full_or_half_width():
    frame = pl.DataFrame({"r": ["普A", "普Ｃ", "普通徴収", "", None, "x普Fy"]})
    assert frame.select(reason_code(pl.col("r")).alias("c"))["c"].to_list() == ["普A", "普C", None, None, None, "普F"]


def test_the_main_report_ignores_people_without_a_withholding_report():
    reports = pl.DataFrame([report("1", "a", ordinary=True), report("2", "b")], schema=REPORT_SCHEMA)
    assert main_salary_reports(reports).collect()["person_id"].to_list() == ["2"]


def test_a_route_that_carries_nothing_names_no_withholder():
    """A pensioner of 66 on the insurer's list who also earns a salary: a pension of 10,000 yen against a
    salary of 4,990,000 yen leaves the pension part of a 所得割 of 30,000 at 30,000 × 10,000 ÷ 5,000,000 = 60
    yen, 0 after the 100円 floor; the 均等割 goes with the salary (第321条の7の2第1項). Nothing is withheld
    from the pension, so no insurer is named (a 0円 notice would go to it otherwise)."""
    rows = plan([person("1", levy=30_000, salary=4_990_000, pension=10_000, birth=date(1960, 1, 10))],
                [report("1", "s1")], [{"person_id": "1", "payer_code": "999", "first_year": True}])
    assert routes(rows["1"]) == (35_000, 0, 0)
    assert (rows["1"]["salary_payer"], rows["1"]["pension_payer"], rows["1"]["pension_first_year"]) == (
        "000012345678", None, None)
