"""Writers of the CSV sources: 給与支払報告書 (個人別明細書 + 総括表), 公的年金等支払報告書,
特別区民税・都民税申告書 and 申告特例通知書. Layouts: ``contracts/layouts/<source>.yaml``."""

from __future__ import annotations

import numpy as np
import polars as pl

from sample_ward import defects as D
from sample_ward import wire_amounts as A
from sample_ward import wire_text as T
from sample_ward.wire_common import (
    DOC_ADDRESS,
    ADDITIONAL_RATE,
    Ctx,
    dependant_slots,
    duplicate_files,
    emit,
    later_name,
    pick_duplicate_files,
    random_dates,
    spouse_details,
    with_route,
)
from sample_ward.wire_csv import (
    CODE_OF_SUBMISSION,
    FieldMap,
    assign_chunks,
    assign_files,
    lifecycle,
    line_expr,
    mark_duplicate_chunks,
    lines_chunked,
    plant,
    write_csv,
)

VARIANT_CHARS = "[" + "".join(T.KANJI_VARIANTS) + "]"
PENSION_FILE_MAX_RECORDS = 20_000
RESIDENT_FILE_MAX_RECORDS = 500


def _meta() -> list[pl.Expr]:
    """Truth and planting meta columns shared by every person-level CSV record."""
    return [
        pl.col("person_id").alias("_person_id"),
        pl.col("atena_no").alias("_atena_no"),
        pl.col("route").alias("_route"),
        pl.col("destination_code").alias("_destination"),
        pl.col("my_number").is_not_null().alias("_has_number"),
        pl.col("name_kanji").str.contains(VARIANT_CHARS).alias("_kanji_ok"),
        pl.lit(None, pl.String).alias("_defect"),
        pl.lit(None, pl.String).alias("_field"),
        pl.lit(None, pl.String).alias("_desc"),
    ]


PERSON_META_COLUMNS = ("person_id", "atena_no", "route", "destination_code", "my_number", "name_kanji", "name_kana_hw",
                       "ward_address", "ward_address_detail", "jan1_address", "birth_date", "age", "registry_status")
SALARY_PEOPLE_COLUMNS = PERSON_META_COLUMNS + (
    "resident_type", "social_insurance_paid", "small_enterprise_mutual_aid", "life_insurance_new_general",
    "life_insurance_old_general", "life_insurance_new_pension", "life_insurance_care_medical", "life_insurance_old_pension",
    "life_insurance_deduction", "earthquake_deduction", "spouse_id", "spouse_total_income", "spouse_aged_70", "spouse_deduction",
    "n_specific", "n_aged", "n_aged_cohabiting", "n_general", "n_under16", "n_disabled_special", "n_disabled_special_cohabiting",
    "n_disabled_other", "has_under23", "has_special_disabled_dep", "dependant_deduction", "student_disability_deduction",
    "widow_single_parent_deduction", "basic_deduction", "special_disability", "disabled", "widow", "working_student", "single_parent",
)
PENSION_PEOPLE_COLUMNS = PERSON_META_COLUMNS + (
    "spouse_id", "spouse_total_income", "spouse_aged_70", "spouse_deduction", "n_specific", "n_aged", "n_general", "n_under16",
    "n_disabled_special", "n_disabled_special_cohabiting", "n_disabled_other", "special_disability", "disabled", "widow", "single_parent",
)


def _scope_ids(people: pl.DataFrame, *, reports: bool = False) -> pl.DataFrame:
    """``person_id`` of the people whose documents reach the ward (see :func:`_in_scope`)."""
    scopes = ["all", "reports"] if reports else ["all"]
    return people.select("person_id", "doc_scope").filter(pl.col("doc_scope").is_in(scopes)).select("person_id")


def _in_scope(people: pl.DataFrame, columns: tuple[str, ...], *, reports: bool = False) -> pl.DataFrame:
    """People whose documents reach the ward, with the columns a writer needs: residents, people who
    moved out and 住登外 for every document; with ``reports`` also the deceased and the outsiders whose
    employer misdirected their salary report to the ward (wire_common.people_facts ``doc_scope``)."""
    scopes = ["all", "reports"] if reports else ["all"]
    return people.select(*columns, "doc_scope").filter(pl.col("doc_scope").is_in(scopes)).drop("doc_scope")


def _with_rowid(frame: pl.DataFrame) -> pl.DataFrame:
    return frame.with_columns(pl.int_range(pl.len(), dtype=pl.Int64).alias("_rowid"))


def _additional(ctx: Ctx, frame: pl.DataFrame, stream: str) -> pl.Series:
    """Records sent late in a 追加 (提出区分 1) file."""
    return pl.Series("_additional", ctx.rng(stream).random(frame.height) < ADDITIONAL_RATE)


# ----------------------------------------------------------------------------------------------------
# 給与支払報告書 個人別明細書 + 総括表
SALARY_FIELDS = FieldMap(
    amount="payment_amount",
    submission="submission_type",
    mandatory="recipient_name",
    width="employee_no",
    width_extra=26,
    date=("birth_month", "birth_day"),
    era="birth_era",
    my_number="recipient_my_number",
    kana="recipient_kana",
    kanji="recipient_name",
    invalid_bytes="recipient_name",
    fullwidth=("payment_amount", "withholding_tax", "birth_year", "birth_month", "birth_day"),
)
SUMMARY_FIELDS = FieldMap(
    amount="reported_total",
    submission="submission_type",
    mandatory="payer_name",
    width="designation_no",
    width_extra=13,
    date=("submit_month", "submit_day"),
    era="submit_era",
    fullwidth=("reported_total", "recipients_total"),
)
SUMMARY_CATEGORIES = (D.WRONG_FIELD_COUNT, D.NON_NUMERIC_AMOUNT, D.EMPTY_MANDATORY_FIELD, D.TRUNCATED_LINE, D.FULLWIDTH_DIGITS)


def salary_frame(ctx: Ctx, people: pl.DataFrame, deps: pl.DataFrame) -> pl.DataFrame:
    """One line per employment of an in-scope person (個人別明細書, 統一CSV)."""
    pop = ctx.pop
    iy = ctx.income_year
    employers = pop.employers.select(pl.all().name.prefix("er_"))
    slots = dependant_slots(deps, split_under16=True, columns={"kana": pl.col("name_kana_hw"), "name": pl.col("name_kanji"),
                                                               "my_number": pl.col("my_number")})
    jobs = pop.employments.join(_scope_ids(people, reports=True), on="person_id", how="semi", maintain_order="left").sort(
        "person_id", "employment_id"
    )
    jobs = jobs.with_columns(
        (
            pl.col("is_primary") & pl.col("end_date").is_null()
            & (pl.col("is_primary") & pl.col("end_date").is_null()).cum_sum().over("person_id").eq(1)
        ).alias("_yea"),
        (pl.col("ordinary_collection") | pl.col("end_date").is_not_null()).alias("_ordinary"),
        _additional(ctx, jobs, "salary/additional"),
    )
    lookups = [
        (people.select(SALARY_PEOPLE_COLUMNS), "person_id", "person_id"),
        (employers, "employer_id", "er_employer_id"),
        (slots, "person_id", "person_id"),
        (spouse_details(people), "spouse_id", "spouse_id"),
    ]
    yea = pl.col("_yea")

    def y(expr: pl.Expr) -> pl.Expr:  # only on the 年末調整 record
        return pl.when(yea).then(expr).otherwise(pl.lit(""))

    def count(column: str) -> pl.Expr:
        return y(T.amount(pl.col(column).fill_null(0)))

    spouse = pl.col("spouse_id").is_not_null()
    limit = A.dependant_income_limit(iy)
    spouse_target = spouse & (pl.col("spouse_total_income") <= limit) & (pl.col("spouse_deduction") > 0)
    job_salary_income = A.salary_income(pl.col("salary_revenue"), iy)
    adj1 = (
        pl.when((pl.col("salary_revenue") > 8_500_000)
                & (pl.col("special_disability") | pl.col("has_under23").fill_null(False) | pl.col("has_special_disabled_dep").fill_null(False)))
        .then(-((-(pl.min_horizontal(pl.col("salary_revenue"), pl.lit(10_000_000)) - 8_500_000)) // 10))
        .otherwise(0)
    )
    social = pl.col("social_insurance") + pl.col("social_insurance_paid") + pl.col("small_enterprise_mutual_aid")
    total_deductions = (
        social + pl.col("life_insurance_deduction") + pl.col("earthquake_deduction") + pl.col("spouse_deduction")
        + pl.col("dependant_deduction") + pl.col("student_disability_deduction") + pl.col("widow_single_parent_deduction")
        + pl.col("basic_deduction")
    )
    change_date = pl.coalesce("end_date", "start_date")
    fields: dict[str, pl.Expr] = {
        "document_type": pl.lit("315"),
        "payer_address": pl.col("er_address"),
        "payer_name": pl.col("er_name"),
        "payer_phone": pl.col("er_phone"),
        "submission_type": pl.lit("0"),
        "income_year": pl.lit(f"{ctx.reiwa_income_year:02d}"),
        "recipient_address": DOC_ADDRESS,
        "recipient_abroad": pl.lit("0"),
        "recipient_name": pl.col("name_kanji"),
        "payment_kind": pl.when(pl.col("is_primary")).then(pl.lit("給料・賞与")).otherwise(pl.lit("給料")),
        "payment_amount": T.amount(pl.col("salary_revenue"), blank_zero=False),
        "salary_income": y(T.amount(job_salary_income - adj1, blank_zero=False)),
        "total_income_deductions": y(T.amount(total_deductions, blank_zero=False)),
        "withholding_tax": T.amount(pl.col("withholding_tax"), blank_zero=False),
        "spouse_deduction_target": y(pl.when(spouse_target).then(pl.lit("1")).otherwise(pl.lit(""))),
        "spouse_aged": y(T.flag(spouse_target & pl.col("spouse_aged_70").fill_null(False))),
        "spouse_deduction_amount": y(T.amount(pl.col("spouse_deduction"))),
        "dependants_specific_main": count("n_specific"),
        "dependants_aged_main": count("n_aged"),
        "dependants_aged_cohabiting": count("n_aged_cohabiting"),
        "dependants_other_main": count("n_general"),
        "disabled_special": count("n_disabled_special"),
        "disabled_special_cohabiting": count("n_disabled_special_cohabiting"),
        "disabled_other": count("n_disabled_other"),
        "social_insurance": pl.when(yea).then(T.amount(social)).otherwise(T.amount(pl.col("social_insurance"))),
        "small_enterprise_mutual_aid": y(T.amount(pl.col("small_enterprise_mutual_aid"))),
        "life_insurance_deduction": y(T.amount(pl.col("life_insurance_deduction"))),
        "earthquake_insurance_deduction": y(T.amount(pl.col("earthquake_deduction"))),
        "old_private_pension_premium": y(T.amount(pl.col("life_insurance_old_pension"))),
        "spouse_total_income": y(pl.when(spouse).then(T.amount(pl.col("spouse_total_income"), blank_zero=False)).otherwise(pl.lit(""))),
        "birth_era": T.era_code(pl.col("birth_date"), T.LEGAL),
        "birth_year": T.pad2(T.era_year(pl.col("birth_date"))),
        "birth_month": T.pad2(pl.col("birth_date").dt.month()),
        "birth_day": T.pad2(pl.col("birth_date").dt.day()),
        "minor": T.flag(pl.col("age") < 18),
        "otsu_column": T.flag(~pl.col("is_primary")),
        "self_special_disabled": y(T.flag(pl.col("special_disability"))),
        "self_other_disabled": y(T.flag(pl.col("disabled"))),
        "widow": y(T.flag(pl.col("widow"))),
        "working_student": y(T.flag(pl.col("working_student"))),
        "foreigner": T.flag(pl.col("resident_type") == 2),
        "death_retirement": T.flag((pl.col("registry_status") == "deceased") & pl.col("end_date").is_not_null()),
        "job_change_type": pl.when(pl.col("end_date").is_not_null()).then(pl.lit("2"))
        .when(pl.col("start_date").is_not_null()).then(pl.lit("1")).otherwise(pl.lit("")),
        "job_change_year": T.pad2(T.era_year(change_date)),
        "job_change_month": T.pad2(change_date.dt.month()),
        "job_change_day": T.pad2(change_date.dt.day()),
        "remarks": pl.col("ordinary_collection_reason").str.replace_many(["A", "B", "C", "D", "E", "F"], ["Ａ", "Ｂ", "Ｃ", "Ｄ", "Ｅ", "Ｆ"]),
        "new_life_premium": y(T.amount(pl.col("life_insurance_new_general"))),
        "old_life_premium": y(T.amount(pl.col("life_insurance_old_general"))),
        "care_medical_premium": y(T.amount(pl.col("life_insurance_care_medical"))),
        "new_private_pension_premium": y(T.amount(pl.col("life_insurance_new_pension"))),
        "dependants_under16": count("n_under16"),
        "national_pension_premium": y(T.amount(pl.col("social_insurance_paid"))),
        "payer_corporate_number": pl.col("er_corporate_number"),
        "recipient_my_number": pl.col("my_number"),
        "spouse_kana": y(pl.col("spouse_kana_hw")),
        "spouse_name": y(pl.col("spouse_name")),
        "spouse_nonresident": y(pl.when(spouse).then(pl.lit("00")).otherwise(pl.lit(""))),
        "spouse_my_number": y(pl.col("spouse_my_number")),
        "dependants_5th_plus": y(pl.col("dependants_5th_plus")),
        "young_dependants_5th_plus": y(pl.col("young_dependants_5th_plus")),
        "ordinary_collection": T.flag(pl.col("_ordinary")),
        "recipient_kana": pl.col("name_kana_hw"),
        "employee_no": pl.col("employee_no"),
        "destination_municipality_code": pl.lit(ctx.municipality),
        "designation_no": pl.col("er_designation_no"),
        "basic_deduction": y(T.amount(pl.col("basic_deduction"))),
        "income_adjustment_deduction": y(T.amount(adj1)),
        "single_parent": y(T.flag(pl.col("single_parent"))),
        "creation_type": pl.when(pl.col("salary_revenue") <= 5_000_000).then(pl.lit("1")).otherwise(pl.lit("2")),
    }
    for prefix in ("dependant", "young_dependant"):
        for k in range(1, 5):
            fields[f"{prefix}_{k}_kana"] = y(pl.col(f"{prefix}_{k}_kana"))
            fields[f"{prefix}_{k}_name"] = y(pl.col(f"{prefix}_{k}_name"))
            fields[f"{prefix}_{k}_nonresident"] = y(pl.when(pl.col(f"{prefix}_{k}_name").is_not_null()).then(pl.lit("00")).otherwise(pl.lit("")))
            fields[f"{prefix}_{k}_my_number"] = y(pl.col(f"{prefix}_{k}_my_number"))
    fields["submission_type"] = pl.when(pl.col("_additional")).then(pl.lit("1")).otherwise(pl.lit("0"))
    frame = lines_chunked(jobs, lookups, [
        line_expr("salary_report", fields).alias("line"),
        *_meta(),
        pl.col("er_designation_no").alias("_group"),
        pl.col("employee_no").alias("_sort"),
        pl.concat_str([pl.col("er_designation_no"), pl.lit(":"), pl.col("employee_no")]).alias("_doc_key"),
        pl.col("_ordinary"),
        pl.col("end_date").is_not_null().alias("_leaver"),
        pl.when(pl.col("_additional")).then(pl.lit("追加")).otherwise(pl.lit("新規")).alias("_submission"),
        pl.when(pl.col("_additional")).then(pl.lit("additional")).otherwise(pl.lit("main")).alias("_kind"),
    ])
    return _with_rowid(frame)


def summary_path(detail: str) -> str:
    """salary_report/…/<date>_kyuyo_<no>_<seq>.csv → salary_summary/…/<date>_soukatsu_<no>_<seq>.csv"""
    return detail.replace("salary_report/", "salary_summary/", 1).replace("_kyuyo_", "_soukatsu_")


def write_salary(ctx: Ctx, people: pl.DataFrame, deps: pl.DataFrame) -> None:
    frame = salary_frame(ctx, people, deps)
    windows = [(ctx.day(1, 20), ctx.day(1, 31), 0.85), (ctx.day(1, 5), ctx.day(1, 19), 0.10), (ctx.day(2, 1), ctx.day(2, 20), 0.05)]
    files = dict(source="salary_report", stem="kyuyo", chunk=None, windows=windows, stream="salary/files")
    frame = mark_duplicate_chunks(ctx, assign_chunks(frame, None), "salary/duplicates")
    frame = lifecycle(ctx, frame, "salary_report", stream="salary/lifecycle", key_field="employee_no", amount_field="payment_amount",
                      submission_field="submission_type", exclude=pl.col("_in_dup"))
    frame = assign_files(ctx, frame, **files)
    dup_files = sorted(set(frame.filter(pl.col("_in_dup")).get_column("file").to_list()))
    eligible = ~pl.col("_in_dup") & pl.col("_kind").is_in(["main", "additional"])
    frame = with_route(plant(ctx, "salary_report", frame, "salary_report", SALARY_FIELDS, people, eligible))
    summary = salary_summaries(ctx, frame)
    summary = with_route(plant(ctx, "salary_summary", summary, "salary_summary", SUMMARY_FIELDS, people,
                               ~pl.col("file").is_in([summary_path(f) for f in dup_files]), SUMMARY_CATEGORIES))
    write_csv(ctx, frame)
    write_csv(ctx, summary)
    delays = ctx.rng("salary/dup-dates").integers(2, 20, size=len(dup_files))
    names = {f: later_name(ctx, f, int(d)) for f, d in zip(dup_files, delays)}
    copies = duplicate_files(ctx, "salary_report", frame, names)
    summary_copies = duplicate_files(ctx, "salary_summary", summary, {summary_path(k): summary_path(v) for k, v in names.items()})
    emit(ctx, "salary_report", frame, copies)
    emit(ctx, "salary_summary", summary, summary_copies)


def salary_summaries(ctx: Ctx, detail: pl.DataFrame) -> pl.DataFrame:
    """One 総括表 record per 明細 file, with the counts of that file as the employer wrote it."""
    per_file = detail.group_by("file").agg(
        pl.col("_group").first().alias("designation_no"),
        pl.col("_submission").first(),
        pl.col("_received").first(),
        (~pl.col("_ordinary")).sum().alias("special"),
        (pl.col("_ordinary") & pl.col("_leaver")).sum().alias("retired"),
        (pl.col("_ordinary") & ~pl.col("_leaver")).sum().alias("other"),
        pl.len().alias("total"),
    ).sort("file")
    rng = ctx.rng("salary/summary")
    n = per_file.height
    extra = (rng.random(n) * 3 * per_file.get_column("total").to_numpy()).astype(np.int64)
    submitted = per_file.get_column("_received").to_numpy() - rng.integers(0, 6, n).astype("timedelta64[D]")
    pay_methods = np.array(["月給　毎月２５日", "月給　毎月末日", "月給　毎月２０日", "日給　毎週金曜日"], dtype=object)
    frame = per_file.join(
        ctx.pop.employers.select("designation_no", "corporate_number", "name", "postal_code", "address", "phone", "business_type"),
        on="designation_no", how="left", validate="m:1", maintain_order="left",
    ).sort("file").with_columns(
        pl.Series("_submitted", submitted).cast(pl.Date),
        pl.Series("_extra", extra),
        pl.Series("_notice", rng.choice(np.array(["1", "2"], dtype=object), size=n, p=[0.6, 0.4]).tolist(), dtype=pl.String),
        pl.Series("_pay", rng.choice(pay_methods, size=n).tolist(), dtype=pl.String),
    )
    fields = {
        "destination_municipality_code": pl.lit(ctx.municipality),
        "destination_name": pl.lit("港区"),
        "income_year": pl.lit(f"{ctx.reiwa_income_year:02d}"),
        "submit_era": T.era_code(pl.col("_submitted"), T.LEGAL),
        "submit_year": T.pad2(T.era_year(pl.col("_submitted"))),
        "submit_month": T.pad2(pl.col("_submitted").dt.month()),
        "submit_day": T.pad2(pl.col("_submitted").dt.day()),
        "designation_no": pl.col("designation_no"),
        "payer_number": pl.col("corporate_number"),
        "payer_name": pl.col("name"),
        "payer_postal_code": pl.col("postal_code"),
        "payer_address": pl.col("address"),
        "payer_phone": pl.col("phone"),
        "contact_section": pl.lit("総務部　総務課"),
        "contact_phone": pl.col("phone"),
        "business_type": pl.col("business_type"),
        "pay_period_from": pl.lit("01"),
        "pay_period_to": pl.lit("12"),
        "pay_method": pl.col("_pay"),
        "payment_slip": pl.lit("1"),
        "recipients_total": (pl.col("total") + pl.col("_extra")).cast(pl.String),
        "reported_special": pl.col("special").cast(pl.String),
        "reported_ordinary_retired": pl.col("retired").cast(pl.String),
        "reported_ordinary_other": pl.col("other").cast(pl.String),
        "reported_total": pl.col("total").cast(pl.String),
        "notice_method_employer": pl.col("_notice"),
        "notice_method_employee": pl.col("_notice"),
        "submission_type": pl.col("_submission").replace_strict(CODE_OF_SUBMISSION),
    }
    frame = frame.select(
        line_expr("salary_summary", fields).alias("line"),
        pl.col("file").str.replace("salary_report/", "salary_summary/", literal=True).str.replace("_kyuyo_", "_soukatsu_", literal=True).alias("file"),
        pl.lit(1, pl.Int64).alias("record_no"),
        pl.lit(None, pl.Int64).alias("_person_id"),
        pl.lit(None, pl.String).alias("_atena_no"),
        pl.lit(D.ROUTE_STAGE).alias("_route"),
        pl.lit(None, pl.String).alias("_destination"),
        pl.lit(False).alias("_has_number"),
        pl.lit(False).alias("_kanji_ok"),
        pl.lit(None, pl.String).alias("_defect"),
        pl.lit(None, pl.String).alias("_field"),
        pl.lit(None, pl.String).alias("_desc"),
        pl.concat_str([pl.col("designation_no"), pl.lit(":"), pl.col("file").str.extract(r"_(\d{3})\.csv$")]).alias("_doc_key"),
        pl.col("_submission"),
        pl.col("_received"),
    )
    return _with_rowid(frame)


# ----------------------------------------------------------------------------------------------------
# 公的年金等支払報告書
PAYER_ADDRESSES = {"999": "東京都杉並区高井戸西三丁目５番２４号"}  # synthetic; the population carries no payer address
PENSION_FIELDS = FieldMap(
    amount="art203_3_1_payment",
    submission="submission_type",
    mandatory="recipient_name",
    width="recipient_no",
    width_extra=12,
    date=("birth_month", "birth_day"),
    era="birth_era",
    my_number="recipient_my_number",
    kana="recipient_kana",
    kanji="recipient_name",
    invalid_bytes="recipient_name",
    fullwidth=("art203_3_1_payment", "art203_3_1_withholding_tax", "birth_year", "birth_month", "birth_day"),
)


def pension_frame(ctx: Ctx, people: pl.DataFrame) -> pl.DataFrame:
    """One line per pension of an in-scope person. The 扶養親族等申告書 data (spouse, dependants, own
    status) is written on the person's largest pension when no employer did a 年末調整."""
    pop = ctx.pop
    with_yea = pop.employments.filter(pl.col("is_primary") & pl.col("end_date").is_null()).select("person_id")
    pens = (
        pop.pensions.join(_scope_ids(people, reports=True), on="person_id", how="semi", maintain_order="left")
        .with_columns(pl.col("person_id").is_in(with_yea.get_column("person_id").implode()).alias("_has_yea"))
        .sort(["person_id", "pension_revenue", "pension_id"], descending=[False, True, False])
        .with_columns(((pl.int_range(pl.len()).over("person_id") == 0) & ~pl.col("_has_yea")).alias("_main"))
        .sort("person_id", "pension_id")
    )
    pens = pens.with_columns(_additional(ctx, pens, "pension/additional"))
    main = pl.col("_main")

    def m(expr: pl.Expr) -> pl.Expr:
        return pl.when(main).then(expr).otherwise(pl.lit(""))

    limit = A.dependant_income_limit(ctx.income_year)
    spouse_target = pl.col("spouse_id").is_not_null() & (pl.col("spouse_total_income") <= limit) & (pl.col("spouse_deduction") > 0)
    recipient_no = pl.concat_str([pl.col("basic_pension_no"), pl.col("pension_code")])
    fields: dict[str, pl.Expr] = {
        "document_type": pl.lit("331"),
        "payer_address": pl.col("payer_code").replace_strict(PAYER_ADDRESSES, default="東京都千代田区霞が関三丁目２番１号", return_dtype=pl.String),
        "payer_name": pl.col("payer_name"),
        "submission_type": pl.lit("0"),
        "income_year": pl.lit(f"{ctx.reiwa_income_year:02d}"),
        "recipient_address": DOC_ADDRESS,
        "recipient_abroad": pl.lit("0"),
        "recipient_name": pl.col("name_kanji"),
        "birth_era": T.era_code(pl.col("birth_date"), T.LEGAL),
        "birth_year": T.pad2(T.era_year(pl.col("birth_date"))),
        "birth_month": T.pad2(pl.col("birth_date").dt.month()),
        "birth_day": T.pad2(pl.col("birth_date").dt.day()),
        "art203_3_1_payment": T.amount(pl.col("pension_revenue"), blank_zero=False),
        "art203_3_1_withholding_tax": T.amount(pl.col("withholding_tax"), blank_zero=False),
        "self_special_disabled": m(T.flag(pl.col("special_disability"))),
        "self_other_disabled": m(T.flag(pl.col("disabled"))),
        "spouse_deduction_target": m(pl.when(spouse_target & pl.col("spouse_aged_70").fill_null(False)).then(pl.lit("2"))
                                     .when(spouse_target).then(pl.lit("1")).otherwise(pl.lit(""))),
        "dependants_aged": m(T.amount(pl.col("n_aged").fill_null(0))),
        "dependants_other": m(T.amount(pl.col("n_general").fill_null(0))),
        "disabled_special": m(T.amount(pl.col("n_disabled_special").fill_null(0))),
        "disabled_other": m(T.amount(pl.col("n_disabled_other").fill_null(0))),
        "social_insurance": T.amount(pl.col("social_insurance")),
        "dependants_specific": m(T.amount(pl.col("n_specific").fill_null(0))),
        "disabled_special_cohabiting": m(T.amount(pl.col("n_disabled_special_cohabiting").fill_null(0))),
        "self_widow": m(T.flag(pl.col("widow"))),
        "dependants_under16": m(T.amount(pl.col("n_under16").fill_null(0))),
        "recipient_kana": pl.col("name_kana_hw"),
        "recipient_no": recipient_no,
        "destination_municipality_code": pl.lit(ctx.municipality),
        "designation_no": pl.col("payer_code"),
        "recipient_my_number": pl.col("my_number"),
        "single_parent": m(T.flag(pl.col("single_parent"))),
        "basic_pension_no": pl.col("basic_pension_no"),
        "pension_code": pl.col("pension_code"),
        "creation_type": pl.when(pl.col("pension_revenue") > 600_000).then(pl.lit("2")).otherwise(pl.lit("1")),
    }
    fields["submission_type"] = pl.when(pl.col("_additional")).then(pl.lit("1")).otherwise(pl.lit("0"))
    frame = lines_chunked(pens, [(people.select(PENSION_PEOPLE_COLUMNS), "person_id", "person_id")], [
        line_expr("pension_report", fields).alias("line"),
        *_meta(),
        pl.col("payer_code").alias("_group"),
        recipient_no.alias("_sort"),
        pl.concat_str([pl.col("payer_code"), pl.lit(":"), recipient_no]).alias("_doc_key"),
        pl.when(pl.col("_additional")).then(pl.lit("追加")).otherwise(pl.lit("新規")).alias("_submission"),
        pl.when(pl.col("_additional")).then(pl.lit("additional")).otherwise(pl.lit("main")).alias("_kind"),
    ])
    return _with_rowid(frame)


def write_pension(ctx: Ctx, people: pl.DataFrame) -> None:
    frame = pension_frame(ctx, people)
    if frame.height == 0:
        return
    windows = [(ctx.day(1, 8), ctx.day(1, 31), 0.95), (ctx.day(2, 1), ctx.day(2, 10), 0.05)]
    files = dict(source="pension_report", stem="nenkin", chunk=PENSION_FILE_MAX_RECORDS, windows=windows, stream="pension/files")
    frame = mark_duplicate_chunks(ctx, assign_chunks(frame, PENSION_FILE_MAX_RECORDS), "pension/duplicates")
    frame = lifecycle(ctx, frame, "pension_report", stream="pension/lifecycle", key_field="recipient_no", amount_field="art203_3_1_payment",
                      submission_field="submission_type", exclude=pl.col("_in_dup"))
    frame = assign_files(ctx, frame, **files)
    dup_files = sorted(set(frame.filter(pl.col("_in_dup")).get_column("file").to_list()))
    eligible = ~pl.col("_in_dup") & pl.col("_kind").is_in(["main", "additional"])
    frame = with_route(plant(ctx, "pension_report", frame, "pension_report", PENSION_FIELDS, people, eligible))
    write_csv(ctx, frame)
    delays = ctx.rng("pension/dup-dates").integers(2, 20, size=len(dup_files))
    copies = duplicate_files(ctx, "pension_report", frame, {f: later_name(ctx, f, int(d)) for f, d in zip(dup_files, delays)})
    emit(ctx, "pension_report", frame, copies)


# ----------------------------------------------------------------------------------------------------
# 特別区民税・都民税申告書 (own layout)
RESIDENT_FIELDS = FieldMap(
    amount="total_income",
    submission="submission_type",
    mandatory="name",
    width="name",
    width_extra=26,
    width_filler="ア",
    date=("birth_date",),
    my_number="my_number",
    kana="name_kana",
    kana_fullwidth=True,
    kanji="name",
    invalid_bytes="name",
    fullwidth=("total_income", "salary_revenue", "birth_date"),
)


def _batch_files(ctx: Ctx, frame: pl.DataFrame, *, source: str, stem: str, by: list[str], chunk: int | None) -> tuple[pl.DataFrame, int]:
    """Files of records batched by received date (and ``by``), ``chunk`` records at most; seq numbers
    run over the fiscal year in order of receipt. Returns the frame with ``file`` and the last seq."""
    keys = ["_received", *by]
    frame = frame.sort([*keys, "_sort"]).with_columns(
        (pl.int_range(pl.len()).over(keys) // (chunk or 10**12)).alias("_chunk")
    )
    batches = frame.select(*keys, "_chunk").unique().sort([*keys, "_chunk"]).with_row_index("_seq", offset=1)
    part = ctx.partition(source)
    frame = frame.join(batches, on=[*keys, "_chunk"], how="left", validate="m:1", maintain_order="left").with_columns(
        pl.format(f"{part}/{{}}_{stem}_{{}}.csv", pl.col("_received").dt.strftime("%Y%m%d"), pl.col("_seq").cast(pl.String).str.zfill(5)).alias("file")
    )
    frame = frame.sort("file", "_sort").with_columns((pl.int_range(pl.len()).over("file") + 1).cast(pl.Int64).alias("record_no"))
    return frame.drop("_seq", "_chunk"), batches.height


def _dup_by_seq(ctx: Ctx, dup_files: list[str], stem: str, last_seq: int, stream: str) -> dict[str, str]:
    delays = ctx.rng(stream).integers(2, 20, size=len(dup_files))
    return {rel: later_name(ctx, rel, int(d), f"_{stem}_{last_seq + i:05d}.csv") for i, (rel, d) in enumerate(zip(dup_files, delays), start=1)}


def write_resident_returns(ctx: Ctx, people: pl.DataFrame, deps: pl.DataFrame) -> None:
    filers = people.filter((pl.col("doc_scope") == "all") & pl.col("files_resident_return")).sort("person_id")
    n = filers.height
    if n == 0:
        return
    rng = ctx.rng("resident/dates")
    windows = [(ctx.day(2, 16), ctx.day(3, 16), 0.85), (ctx.day(1, 20), ctx.day(2, 15), 0.10), (ctx.day(3, 17), ctx.day(4, 30), 0.05)]
    filers = filers.with_columns(
        pl.Series("_received", random_dates(rng, n, windows)).cast(pl.Date),
        pl.Series("_order", rng.random(n)),
        pl.Series("_lag", rng.integers(0, 4, n)),
    ).sort("_received", "_order").with_columns(
        pl.concat_str([pl.lit("JS"), (pl.int_range(pl.len()) + 1).cast(pl.String).str.zfill(8)]).alias("_receipt_no"),
    )
    slots = dependant_slots(deps, split_under16=False, columns={
        "name": pl.col("name_kanji"),
        "kana": pl.col("name_kana_fw"),
        "my_number": pl.col("my_number"),
        "birth_date": T.ymd(pl.col("birth_date")),
        "cohabiting": pl.when(pl.col("living_together")).then(pl.lit("1")).otherwise(pl.lit("0")),
        "disability": pl.when(pl.col("special_disability")).then(pl.lit("2")).when(pl.col("disabled")).then(pl.lit("1")).otherwise(pl.lit("0")),
    }).rename(lambda c: c.replace("dependant_", "rr_dep_", 1) if c.startswith("dependant_") else c).rename(
        {"dependants_5th_plus": "rr_dependants_5th_plus"}
    )
    filers = filers.join(slots, on="person_id", how="left", validate="1:1", maintain_order="left").join(
        spouse_details(people), on="spouse_id", how="left", validate="m:1", maintain_order="left"
    )
    no_revenue = (
        (pl.col("salary_revenue_total") == 0) & (pl.col("pension_revenue_total") == 0) & (pl.col("business_revenue") == 0)
        & (pl.col("real_estate_income") == 0) & (pl.col("dividend_income") == 0) & (pl.col("misc_income") == 0)
        & (pl.col("occasional_income") == 0)
    )
    spouse = pl.col("spouse_id").is_not_null()
    fields: dict[str, pl.Expr] = {
        "submission_type": pl.lit("0"),
        "receipt_no": pl.col("_receipt_no"),
        "fiscal_year": pl.lit(str(ctx.fiscal_year)),
        "destination_municipality_code": pl.lit(ctx.municipality),
        "submitted_date": T.ymd(pl.col("_received") - pl.duration(days=pl.col("_lag"))),
        "my_number": pl.col("my_number"),
        "name_kana": pl.col("name_kana_fw"),
        "name": pl.col("name_kanji"),
        "birth_date": T.ymd(pl.col("birth_date")),
        "sex": pl.col("sex").cast(pl.String),
        "postal_code": pl.col("ward_postal_code"),
        "address": pl.col("ward_address"),
        "address_detail": pl.col("ward_address_detail"),
        "relationship": pl.col("relationship"),
        "salary_revenue": T.amount(pl.col("salary_revenue_total")),
        "salary_income": T.amount(pl.col("salary_income")),
        "pension_revenue": T.amount(pl.col("pension_revenue_total")),
        "pension_income": T.amount(pl.col("pension_income")),
        "business_revenue": T.amount(pl.col("business_revenue")),
        "business_income": T.amount(pl.col("business_income")),
        "real_estate_income": T.amount(pl.col("real_estate_income")),
        "dividend_income": T.amount(pl.col("dividend_income")),
        "misc_income": T.amount(pl.col("misc_income")),
        "occasional_income": T.amount(pl.col("occasional_income")),
        "total_income": T.amount(pl.col("total_income")),
        "social_insurance": T.amount(pl.col("social_insurance_total")),
        "small_enterprise_mutual_aid": T.amount(pl.col("small_enterprise_mutual_aid")),
        "life_insurance_new_general": T.amount(pl.col("life_insurance_new_general")),
        "life_insurance_old_general": T.amount(pl.col("life_insurance_old_general")),
        "life_insurance_new_pension": T.amount(pl.col("life_insurance_new_pension")),
        "life_insurance_old_pension": T.amount(pl.col("life_insurance_old_pension")),
        "life_insurance_care_medical": T.amount(pl.col("life_insurance_care_medical")),
        "earthquake_insurance": T.amount(pl.col("earthquake_insurance")),
        "medical_expenses": T.amount(pl.col("medical_expenses")),
        "self_disability": pl.when(pl.col("special_disability")).then(pl.lit("2")).when(pl.col("disabled")).then(pl.lit("1")).otherwise(pl.lit("0")),
        "widow": T.flag(pl.col("widow")),
        "single_parent": T.flag(pl.col("single_parent")),
        "working_student": T.flag(pl.col("working_student")),
        "spouse_name": pl.col("spouse_name"),
        "spouse_kana": pl.col("spouse_kana_fw"),
        "spouse_my_number": pl.col("spouse_my_number"),
        "spouse_birth_date": T.ymd(pl.col("spouse_birth_date")),
        "spouse_total_income": pl.when(spouse).then(T.amount(pl.col("spouse_total_income"), blank_zero=False)).otherwise(pl.lit("")),
        "dependants_5th_plus": pl.col("rr_dependants_5th_plus"),
        "donation_furusato": T.amount(pl.col("donation_total")),
        "donation_count": T.amount(pl.col("donation_count")),
        "no_income": T.flag(no_revenue),
    }
    for k in range(1, 5):
        for part_name in ("name", "kana", "my_number", "birth_date", "cohabiting", "disability"):
            fields[f"dependant_{k}_{part_name}"] = pl.col(f"rr_dep_{k}_{part_name}")
    frame = filers.select(
        line_expr("resident_return", fields).alias("line"),
        *_meta(),
        "_received",
        pl.col("_receipt_no").alias("_sort"),
        pl.col("_receipt_no").alias("_doc_key"),
        pl.lit("新規").alias("_submission"),
    )
    frame, last_seq = _batch_files(ctx, frame, source="resident_return", stem="juminzei_shinkoku", by=[], chunk=RESIDENT_FILE_MAX_RECORDS)
    frame = _with_rowid(frame)
    dup_files = pick_duplicate_files(ctx, frame.group_by("file").agg(pl.len().alias("n")), "resident/duplicates", max_records=RESIDENT_FILE_MAX_RECORDS)
    frame = with_route(plant(ctx, "resident_return", frame, "resident_return", RESIDENT_FIELDS, people, ~pl.col("file").is_in(dup_files)))
    write_csv(ctx, frame)
    copies = duplicate_files(ctx, "resident_return", frame, _dup_by_seq(ctx, dup_files, "juminzei_shinkoku", last_seq, "resident/dup-dates"))
    emit(ctx, "resident_return", frame, copies)


# ----------------------------------------------------------------------------------------------------
# 寄附金税額控除に係る申告特例通知書 (own layout)
FURUSATO_FIELDS = FieldMap(
    amount="donation_amount",
    submission="submission_type",
    mandatory="name",
    width="notice_no",
    width_extra=6,
    date=("donation_date",),
    my_number="my_number",
    kana="name_kana",
    kanji="name",
    invalid_bytes="name",
    fullwidth=("donation_amount", "donation_date", "birth_date"),
)


def write_furusato(ctx: Ctx, people: pl.DataFrame) -> None:
    """One notice per (donor, recipient municipality) of the one-stop donations of in-scope donors,
    sent by the recipient in up to three batches in January-February."""
    scope = _in_scope(people, PERSON_META_COLUMNS + ("sex", "ward_postal_code", "files_final_return", "files_resident_return"))
    gifts = ctx.pop.donations.filter(pl.col("one_stop")).join(scope.select("person_id"), on="person_id", how="inner", validate="m:1", maintain_order="left")
    if gifts.height == 0:
        return
    notices = gifts.group_by("person_id", "recipient_municipality_code").agg(
        pl.col("recipient_name").first(),
        pl.col("amount").sum().alias("_amount"),
        pl.len().alias("_count"),
        pl.col("donation_date").max().alias("_last_date"),
    ).sort("recipient_municipality_code", "person_id")
    notices = notices.join(scope, on="person_id", how="left", validate="m:1", maintain_order="left")
    rng = ctx.rng("furusato/dates")
    recipients = notices.select("recipient_municipality_code").unique().sort("recipient_municipality_code")
    batch_dates = np.sort(np.stack([random_dates(rng, recipients.height, [(ctx.day(1, 5), ctx.day(2, 10), 1.0)]) for _ in range(3)], axis=1), axis=1)
    recipients = recipients.with_columns(pl.Series(f"_b{i}", batch_dates[:, i]).cast(pl.Date) for i in range(3))
    n = notices.height
    notices = notices.join(recipients, on="recipient_municipality_code", how="left", validate="m:1", maintain_order="left").with_columns(
        pl.Series("_batch", rng.integers(0, 3, n)), pl.Series("_lag", rng.integers(1, 5, n)),
    ).with_columns(
        pl.when(pl.col("_batch") == 0).then(pl.col("_b0")).when(pl.col("_batch") == 1).then(pl.col("_b1")).otherwise(pl.col("_b2")).alias("_notice_date"),
    ).with_columns(
        pl.min_horizontal(pl.col("_notice_date") + pl.duration(days=pl.col("_lag")), pl.lit(ctx.day(2, 28))).alias("_received"),
        (pl.int_range(pl.len()).over("recipient_municipality_code") + 1).alias("_serial"),
        pl.len().over("person_id").alias("_n_recipients"),
    ).with_columns(
        pl.concat_str([pl.col("recipient_municipality_code"), pl.lit("-"), pl.col("_serial").cast(pl.String).str.zfill(7)]).alias("_notice_no"),
    )
    voided_by_return = pl.col("files_final_return") | pl.col("files_resident_return")
    fields = {
        "submission_type": pl.lit("0"),
        "notice_no": pl.col("_notice_no"),
        "recipient_municipality_code": pl.col("recipient_municipality_code"),
        "recipient_name": pl.col("recipient_name"),
        "notice_date": T.ymd(pl.col("_notice_date")),
        "destination_municipality_code": pl.lit(ctx.municipality),
        "donation_year": pl.lit(str(ctx.income_year)),
        "my_number": pl.col("my_number"),
        "name_kana": pl.col("name_kana_hw"),
        "name": pl.col("name_kanji"),
        "postal_code": pl.col("ward_postal_code"),
        "address": DOC_ADDRESS,
        "birth_date": T.ymd(pl.col("birth_date")),
        "sex": pl.col("sex").cast(pl.String),
        "donation_date": T.ymd(pl.col("_last_date")),
        "donation_amount": T.amount(pl.col("_amount"), blank_zero=False),
        "donation_count": pl.col("_count").cast(pl.String),
        "one_stop_cancelled": pl.lit("0"),
    }
    frame = notices.select(
        line_expr("furusato_notice", fields).alias("line"),
        *[e for e in _meta() if e.meta.output_name() not in ("_defect", "_desc")],
        pl.when(voided_by_return).then(pl.lit(D.ONE_STOP_VOIDED_BY_RETURN))
        .when(pl.col("_n_recipients") > 5).then(pl.lit(D.ONE_STOP_VOIDED_OVER_FIVE))
        .otherwise(pl.lit(None, pl.String)).alias("_defect"),
        pl.when(voided_by_return).then(pl.lit("donor also files a 確定申告書/住民税申告書: the one-stop notice must be voided"))
        .when(pl.col("_n_recipients") > 5).then(pl.lit("donor asked for one-stop at more than five municipalities: void"))
        .otherwise(pl.lit(None, pl.String)).alias("_desc"),
        "_received",
        "recipient_municipality_code",
        pl.col("_notice_no").alias("_sort"),
        pl.col("_notice_no").alias("_doc_key"),
        pl.lit("新規").alias("_submission"),
    )
    frame, last_seq = _batch_files(ctx, frame, source="furusato_notice", stem="tokurei", by=["recipient_municipality_code"], chunk=None)
    frame = _with_rowid(frame.drop("recipient_municipality_code"))
    dup_files = pick_duplicate_files(ctx, frame.group_by("file").agg(pl.len().alias("n")), "furusato/duplicates")
    frame = with_route(plant(ctx, "furusato_notice", frame, "furusato_notice", FURUSATO_FIELDS, people, ~pl.col("file").is_in(dup_files)))
    write_csv(ctx, frame)
    copies = duplicate_files(ctx, "furusato_notice", frame, _dup_by_seq(ctx, dup_files, "tokurei", last_seq, "furusato/dup-dates"))
    emit(ctx, "furusato_notice", frame, copies)
