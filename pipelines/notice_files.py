"""The hand-off files of notice_export: from the plan and the schedule to the folders of each recipient.

:func:`build` assembles (with :mod:`transforms.notices`) every notice record, decides what is held, and
shapes the files of each recipient by their layouts (``contracts/handoff/``):

==================  ===========================================================================
``print_vendor``    ``tax_notice.csv``/``.parquet`` (納税通知書), ``special_collection_employer``
                    and ``special_collection_employee`` (特別徴収税額決定通知書, paper employers),
                    ``encoding_report.csv`` (外字)
``eltax``           ``eltax_<指定番号>.csv`` per employer that chose the electronic notice (with its
                    own employees' 個人番号, read from the vault with an audit record)
``municipalities``  ``kaiso_<団体コード>.csv``: the 回送 list per destination
==================  ===========================================================================

:func:`check` reconciles the files with the plan to the yen and one notice per person and route.
The stage (``pipelines.notice_export``) writes them with :func:`pipelines.handoff.write_handoff`.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date

import polars as pl

from contracts.handoff_layouts import load_handoff_layout, to_export
from pipelines.handoff import HandoffFile
from pipelines.reports import RunReport

#: why the eLTAX file reads the vault (処理事由 of the audit record)
ELTAX_VAULT_REASON = ("特別徴収税額通知（eLTAX 電子通知）への個人番号の記録 "
                      "(地方税法第321条の4, 同施行規則第9条の2; 番号法第19条第9号)")


@dataclass
class NoticeFiles:
    tax: pl.DataFrame                 # every 納税通知書 record (held ones included)
    special: pl.DataFrame             # every 特別徴収税額決定通知書 record (held ones included)
    held: pl.DataFrame                # the hold queue (curated/notice_hold)
    forwarding: pl.DataFrame          # the 回送 list, every destination
    non_registered: pl.DataFrame | None = None  # the 住登外課税通知, every destination (held ones included)
    files: dict[str, list[HandoffFile]] = field(default_factory=dict)
    sent_tax: pl.DataFrame | None = None       # the 納税通知書 in the print file, in 発送連番 order
    sent_special: pl.DataFrame | None = None   # the 特別徴収 notices sent (paper or eLTAX)
    eltax_persons: pl.DataFrame | None = None  # person_id, designation_no of each eLTAX record


def slots(fiscal_year: int, profile) -> tuple[dict[str, list[str]], dict[str, list[int]]]:
    """The periods (YYYY-MM) and calendar months of each repeated group of the layouts."""
    from transforms.installments import (
        load_installment_rules,
        ordinary_slots,
        pension_slots,
        profile_schedule,
        salary_slots,
    )

    schedule = profile_schedule(profile)
    rules = load_installment_rules(fiscal_year)
    periods = {
        "installments": [s.period for s in ordinary_slots(fiscal_year, schedule["due_months"], schedule["due_day"])],
        "provisional": [s.period for s in pension_slots(fiscal_year, rules, "pension_provisional")],
        "main": [s.period for s in pension_slots(fiscal_year, rules, "pension_main")],
        "months": [s.period for s in salary_slots(fiscal_year, rules)],
    }
    return periods, {group: [int(p[5:]) for p in values] for group, values in periods.items()}


def build(*, assessment: pl.DataFrame, plan: pl.DataFrame, schedule: pl.DataFrame, residents: pl.DataFrame,
          mailing: pl.DataFrame, protected: pl.Series, reports: pl.DataFrame, summaries: pl.DataFrame,
          forwarding: pl.DataFrame, fiscal_year: int, municipality: str, notice_date: date, profile,
          my_numbers=None, registrations: pl.DataFrame | None = None) -> NoticeFiles:
    """Every notice record and every hand-off file. ``my_numbers(person_ids) -> DataFrame[atena_no,
    my_number]`` reads the vault for the eLTAX files (None: no eLTAX file is built, e.g. a preview).
    ``registrations``: staging/non_registered_residents (the 住登外者; None: none)."""
    from contracts.local_government_codes import load_local_government_codes
    from transforms import notices as n

    periods, months = slots(fiscal_year, profile)
    addressed = n.addressees(residents, mailing, protected)
    common = [pl.lit(fiscal_year, pl.Int64).alias("fiscal_year"), pl.lit(municipality).alias("municipality_code"),
              pl.lit(notice_date, pl.Date).alias("notice_date")]

    tax = n.tax_notices(assessment, plan, schedule, addressed, fiscal_year=fiscal_year,
                        ordinary_periods=periods["installments"], provisional_periods=periods["provisional"],
                        main_periods=periods["main"]).with_columns(common)
    employer_rows = n.employers(summaries, reports)
    special = n.special_collection_notices(assessment, plan, schedule, reports.filter(pl.col("is_current")),
                                           employer_rows, addressed, fiscal_year=fiscal_year,
                                           salary_periods=periods["months"]).with_columns(common)
    from transforms.non_registered import held_non_registered_notices, non_registered_notices

    if registrations is None:
        registrations = pl.DataFrame(schema={"atena_no": pl.String, "registered_municipality_code": pl.String,
                                             "registered_address": pl.String, "living_since": pl.Date,
                                             "confirmed_date": pl.Date})
    juto_gai = non_registered_notices(registrations, residents, assessment, protected, fiscal_year=fiscal_year,
                                      municipality=municipality, notice_date=notice_date)
    held = pl.concat([n.held_notices(tax, special), held_non_registered_notices(juto_gai)], how="vertical") \
        .sort("person_id", "notice_kind").with_columns(pl.lit(fiscal_year, pl.Int32).alias("fiscal_year"))

    names = load_local_government_codes().select(
        pl.col("code").alias("destination_municipality_code"),
        pl.coalesce(pl.concat_str("prefecture", "municipality", separator=""), "prefecture").alias("destination_name"))
    forwarded = n.forwarding_lists(forwarding, residents).join(names, on="destination_municipality_code", how="left") \
        .with_columns(pl.lit(fiscal_year, pl.Int64).alias("fiscal_year"), pl.lit(municipality).alias("municipality_code"))
    juto_gai = juto_gai.join(names.rename({"destination_municipality_code": "registered_municipality_code",
                                           "destination_name": "registered_municipality_name"}),
                             on="registered_municipality_code", how="left")

    out = NoticeFiles(tax=tax, special=special, held=held, forwarding=forwarded, non_registered=juto_gai)
    out.files = _files(out, months, my_numbers)
    return out


def _paper(layout_name: str, frame: pl.DataFrame, months: dict[str, list[int]], *, parquet: bool = True,
           counts: dict[str, int] | None = None) -> tuple[list[HandoffFile], pl.DataFrame]:
    """A print file as CP932 CSV (外字 → 〓) and, beside it, Parquet with the characters themselves."""
    from transforms.notices import cp932_form, replace_unencodable, unencodable_characters

    layout = load_handoff_layout(layout_name)
    shaped = cp932_form(to_export(frame, layout, months))
    report = unencodable_characters(shaped, layout.key)
    csv = HandoffFile(f"{layout_name}.csv", replace_unencodable(shaped, report), layout, "csv", months, dict(counts or {}))
    files = [csv]
    if parquet:
        files.append(HandoffFile(f"{layout_name}.parquet", shaped, layout, "parquet", months, dict(counts or {})))
    return files, report.with_columns(pl.lit(f"{layout_name}.csv").alias("print_file"))


def print_vendor_files(tax: pl.DataFrame, employer: pl.DataFrame, employee: pl.DataFrame,
                       months: dict[str, list[int]]) -> list[HandoffFile]:
    """The print vendor's files: the three print files (CSV and Parquet each) and the 外字 report of all."""
    reports = []
    vendor: list[HandoffFile] = []
    for name, frame in (("tax_notice", tax), ("special_collection_employer", employer),
                        ("special_collection_employee", employee)):
        files, report = _paper(name, frame, months, counts={"notices": frame.height})
        vendor += files
        reports.append(report)
    layout = load_handoff_layout("encoding_report")
    gaiji = pl.concat(reports, how="vertical").sort("print_file", "notice_no", "field", "position")
    vendor.append(HandoffFile("encoding_report.csv", to_export(gaiji, layout), layout, "csv"))
    return vendor


def switch_notices(*, assessment: pl.DataFrame, plan: pl.DataFrame, schedule: pl.DataFrame, residents: pl.DataFrame,
                   mailing: pl.DataFrame, protected: pl.Series, fiscal_year: int, municipality: str, notice_date: date,
                   profile) -> NoticeFiles:
    """The 納税通知書 (変更) of the persons whose pension withholding moved to 普通徴収 (``plan``/``schedule``:
    :func:`transforms.pension_collection.switched_plan`): the same print layout as the 当初 notices, the new
    普通徴収 期別 in its installment slots; the protected and the unaddressable held; only the print vendor's
    files (the 納税通知書 and its 外字 report)."""
    from transforms import notices as n

    periods, months = slots(fiscal_year, profile)
    addressed = n.addressees(residents, mailing, protected)
    tax = n.tax_notices(assessment, plan, schedule, addressed, fiscal_year=fiscal_year,
                        ordinary_periods=periods["installments"], provisional_periods=periods["provisional"],
                        main_periods=periods["main"]).with_columns(
        pl.lit(fiscal_year, pl.Int64).alias("fiscal_year"), pl.lit(municipality).alias("municipality_code"),
        pl.lit(notice_date, pl.Date).alias("notice_date"))
    no_special = pl.DataFrame(schema={"person_id": pl.String, "notice_no": pl.String, "designation_no": pl.String,
                                      "protected": pl.Boolean, "salary_amount": pl.Int64})
    held = n.held_notices(tax, no_special).with_columns(pl.lit(fiscal_year, pl.Int32).alias("fiscal_year"))
    sent = n.dispatch_order(tax.filter(~pl.col("protected") & pl.col("addressee_address").is_not_null()),
                            "addressee_postal_code", "addressee_address", "addressee_address_detail", "person_id")
    files, report = _paper("tax_notice", sent, months, counts={"notices": sent.height})
    layout = load_handoff_layout("encoding_report")
    files.append(HandoffFile("encoding_report.csv", to_export(report.sort("print_file", "notice_no", "field",
                                                                          "position"), layout), layout, "csv"))
    out = NoticeFiles(tax=tax, special=no_special, held=held, forwarding=pl.DataFrame(), sent_tax=sent)
    out.files = {"print_vendor": files}
    return out


def _files(notices: NoticeFiles, months: dict[str, list[int]], my_numbers) -> dict[str, list[HandoffFile]]:
    from transforms.notices import cp932_form, dispatch_order, replace_unencodable, unencodable_characters

    tax = dispatch_order(notices.tax.filter(~pl.col("protected") & pl.col("addressee_address").is_not_null()),
                         "addressee_postal_code", "addressee_address", "addressee_address_detail", "person_id")
    special = notices.special.filter(~pl.col("protected"))
    envelopes = special.select("designation_no", "employer_postal_code", "employer_address").unique("designation_no") \
        .sort(pl.col("employer_postal_code").fill_null("9999999"), "employer_address", "designation_no") \
        .with_columns(pl.int_range(1, pl.len() + 1, dtype=pl.Int64).alias("dispatch_seq"))
    special = special.join(envelopes.select("designation_no", "dispatch_seq"), on="designation_no", how="left") \
        .sort("dispatch_seq", "person_id") \
        .with_columns(pl.int_range(1, pl.len() + 1, dtype=pl.Int64).over("designation_no").alias("page_seq"))
    notices.sent_tax, notices.sent_special = tax, special
    employer_paper = special.filter(pl.col("notice_method_employer") == "paper")
    employee_paper = special.filter(pl.col("notice_method_employee") == "paper")

    vendor = print_vendor_files(tax, employer_paper, employee_paper, months)

    eltax: list[HandoffFile] = []
    electronic = special.filter((pl.col("notice_method_employer") == "eltax") | (pl.col("notice_method_employee") == "eltax"))
    notices.eltax_persons = electronic.select("person_id", "designation_no")
    if my_numbers is not None and electronic.height:
        layout = load_handoff_layout("eltax_special_collection")
        numbers = my_numbers(electronic.get_column("person_id")).select(
            pl.col("atena_no").alias("person_id"), "my_number")
        rows = electronic.join(numbers, on="person_id", how="left").with_columns(
            pl.col("notice_method_employee").alias("employee_copy")).sort("designation_no", "person_id")
        shaped = cp932_form(to_export(rows, layout, months))
        shaped = replace_unencodable(shaped, unencodable_characters(shaped, layout.key))
        sums = _sums_by(shaped, "designation_no", layout.amount_columns(months))
        for (designation,), part in shaped.group_by("designation_no", maintain_order=True):
            eltax.append(HandoffFile(f"eltax_{_safe(designation)}.csv", part, layout, "csv", months,
                                     {"notices": part.height}, sums[designation]))

    layout = load_handoff_layout("forwarding_list")
    sendable = notices.forwarding.filter(pl.col("destination_municipality_code").is_not_null())
    shaped = cp932_form(to_export(sendable, layout))
    shaped = replace_unencodable(shaped, unencodable_characters(shaped, layout.key))
    kaiso = [HandoffFile(f"kaiso_{code}.csv", part, layout, "csv", None, {"documents": part.height})
             for (code,), part in shaped.group_by("destination_municipality_code", maintain_order=True)]

    layout = load_handoff_layout("non_registered_notice")
    shaped = cp932_form(to_export(notices.non_registered.filter(~pl.col("protected")), layout))
    shaped = replace_unencodable(shaped, unencodable_characters(shaped, layout.key))
    juto_gai = [HandoffFile(f"juto_gai_{code}.csv", part, layout, "csv", None, {"notices": part.height})
                for (code,), part in shaped.group_by("registered_municipality_code", maintain_order=True)]
    return {"print_vendor": vendor, "eltax": eltax, "municipalities": kaiso + juto_gai}


def _sums_by(frame: pl.DataFrame, key: str, columns: list[str]) -> dict[str, dict[str, int]]:
    """``sum_<column>`` of every amount column per value of ``key``, in one group-by (many small files)."""
    totals = frame.group_by(key).agg([pl.col(c).sum().cast(pl.Int64).alias(f"sum_{c}") for c in columns])
    return {row.pop(key): row for row in totals.iter_rows(named=True)}


def _safe(designation: str) -> str:
    """A 指定番号 as a file-name part (ASCII letters, digits, '-' and '_'; anything else '_')."""
    return "".join(c if c.isascii() and (c.isalnum() or c in "-_") else "_" for c in designation)


def check(report: RunReport, plan: pl.DataFrame, notices: NoticeFiles) -> None:
    """Reconcile the notices with the plan (to the yen, one notice per person and route) into the report."""
    tax, special, held = notices.tax, notices.special, notices.held
    held_tax = held.filter(pl.col("notice_kind") == "tax_notice")
    held_special = held.filter(pl.col("notice_kind") == "special_collection")
    sent_tax = tax.join(held_tax, on="notice_no", how="anti")
    sent_special = special.join(held_special, on="notice_no", how="anti")

    expected_tax = plan.filter((pl.col("ordinary_amount") > 0) | (pl.col("pension_amount") > 0)).height
    expected_special = plan.filter(pl.col("salary_amount") > 0).height
    report.add_check("one 納税通知書 per person with a 普通徴収 or 年金特別徴収 amount (sent + held)",
                     sent_tax.height + held_tax.height == expected_tax and tax["notice_no"].is_unique().all(),
                     expected=expected_tax, actual=sent_tax.height + held_tax.height)
    report.add_check("one 特別徴収税額決定通知書 per person withheld from a salary (sent + held)",
                     sent_special.height + held_special.height == expected_special
                     and special["notice_no"].is_unique().all(),
                     expected=expected_special, actual=sent_special.height + held_special.height)
    plan_tax = int((plan["ordinary_amount"] + plan["pension_amount"]).sum() or 0)
    notice_tax = int((sent_tax["ordinary_amount"] + sent_tax["pension_amount"]).sum() or 0) \
        + int(held_tax["amount"].sum() or 0)
    report.add_check("納税通知書 amounts (sent + held) = the plan's 普通徴収 + 年金特別徴収", notice_tax == plan_tax,
                     expected=plan_tax, actual=notice_tax)
    plan_salary = int(plan["salary_amount"].sum() or 0)
    notice_salary = int(sent_special["salary_amount"].sum() or 0) + int(held_special["amount"].sum() or 0)
    report.add_check("特別徴収税額決定通知書 amounts (sent + held) = the plan's 給与特別徴収", notice_salary == plan_salary,
                     expected=plan_salary, actual=notice_salary)
    months = [c for c in special.columns if c.startswith("month_") and c.endswith("_amount")]
    monthly = int(sent_special.select(pl.sum_horizontal(months)).to_series().sum() or 0) if months else 0
    sent_salary = int(sent_special["salary_amount"].sum() or 0)
    report.add_check("the twelve monthly amounts of every sent 特別徴収 notice sum to its annual amount",
                     monthly == sent_salary, expected=sent_salary, actual=monthly)
    installments = int(sent_tax["ordinary_installments_total"].sum() or 0)
    ordinary_due = int(sent_tax["ordinary_amount"].sum() or 0) + _first_year_half(sent_tax)
    report.add_check("the 期別 amounts of every sent 納税通知書 sum to its 普通徴収 (and a first-year pensioner's half)",
                     installments == ordinary_due, expected=ordinary_due, actual=installments)
    wrong_payer = special.filter(pl.col("designation_no").is_null()
                                 | (pl.col("designation_no") != pl.col("salary_payer"))).height
    report.add_check("every 特別徴収 notice goes to the 指定番号 of its source report", wrong_payer == 0,
                     expected=0, actual=wrong_payer)
    unknown_employer = special.filter(pl.col("employer_name").is_null()).height
    report.add_check("every 特別徴収義務者 of a notice has a name and address", unknown_employer == 0,
                     expected=0, actual=unknown_employer)

    persons_with_tax = plan.height
    notified = pl.concat([sent_tax.select("person_id"), sent_special.select("person_id")]).unique().height
    held_only = plan.join(pl.concat([sent_tax.select("person_id"), sent_special.select("person_id")]),
                          on="person_id", how="anti").height
    report.set_count("persons_notified", notified)
    report.set_count("persons_held", held_only)
    report.add_check("persons with tax = persons notified + persons whose every notice is held",
                     notified + held_only == persons_with_tax, expected=persons_with_tax, actual=notified + held_only)
    report.set_count("tax_notices", sent_tax.height)
    report.set_count("special_collection_notices", sent_special.height)
    report.set_count("notices_held", held.height)
    report.set_count("sum_held_amount", int(held["amount"].sum() or 0))
    report.set_count("forwarded_documents", notices.forwarding.height)
    report.set_count("forwarded_without_destination",
                     notices.forwarding.filter(pl.col("destination_municipality_code").is_null()).height)
    juto_gai = notices.non_registered
    sent_juto_gai = juto_gai.filter(~pl.col("protected")).height
    held_juto_gai = held.filter(pl.col("notice_kind") == "non_registered_notice").height
    report.set_count("non_registered_notices", sent_juto_gai)
    report.set_count("non_registered_notices_held", held_juto_gai)
    report.add_check("one 住登外課税通知 per assessed 住登外者 (sent + held)",
                     sent_juto_gai + held_juto_gai == juto_gai.height and juto_gai["notice_no"].is_unique().all(),
                     expected=juto_gai.height, actual=sent_juto_gai + held_juto_gai)


def _first_year_half(tax: pl.DataFrame) -> int:
    """The 普通徴収 half of first-year pensioners: what the 期別 carry beyond ``ordinary_amount``."""
    return int((tax["ordinary_installments_total"] - tax["ordinary_amount"]).filter(
        tax["pension_first_year"].fill_null(False)).sum() or 0)


def check_files(report: RunReport, notices: NoticeFiles) -> None:
    """The files' control totals equal the notices they were made from; each eLTAX file holds only its
    employer's employees."""
    by_name = {f.name: f for files in notices.files.values() for f in files}
    tax_file = by_name.get("tax_notice.csv")
    if tax_file is not None:
        sent = notices.tax.filter(~pl.col("protected") & pl.col("addressee_address").is_not_null())
        report.add_check("tax_notice.csv: rows and 年税額 equal the sent 納税通知書",
                         tax_file.frame.height == sent.height
                         and int(tax_file.frame["total_tax"].sum() or 0) == int(sent["total_tax"].sum() or 0),
                         expected=int(sent["total_tax"].sum() or 0), actual=int(tax_file.frame["total_tax"].sum() or 0))
    wrong = 0
    for item in notices.files.get("eltax", []):
        designation = item.frame["designation_no"].unique().to_list()
        persons = item.frame.select("person_id")
        allowed = notices.special.filter(pl.col("designation_no").is_in(designation)).select("person_id")
        wrong += persons.join(allowed, on="person_id", how="anti").height + (len(designation) != 1)
    report.add_check("each eLTAX file holds one employer's own employees and no one else", wrong == 0,
                     expected=0, actual=wrong)


__all__ = ["NoticeFiles", "build", "check", "check_files", "slots", "print_vendor_files", "ELTAX_VAULT_REASON"]
