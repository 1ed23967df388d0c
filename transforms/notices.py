"""The notices of the 当初賦課 as print and data records (通知書データ): pure Polars over whole frames.

From the assessment, the collection plan and the installment schedule (``pipelines.notice_export`` reads
them) this module builds one record per notice:

* :func:`tax_notices` — 納税通知書兼税額決定通知書 (普通徴収, with the 年金特別徴収 part of a pensioner):
  one per person whose tax is not wholly withheld from a salary (地方税法第319条の2, 第321条の7の2);
* :func:`special_collection_notices` — 特別徴収税額決定通知書 (給与所得等に係る): one per person withheld
  from a salary, keyed to the 特別徴収義務者 (指定番号) of the salary report the plan names
  (地方税法第321条の4第1項・第2項), with its twelve monthly amounts;
* :func:`forwarding_lists` — the 回送 list of documents sent on to the municipality where the person lived
  on 1 January (from ``curated/forwarding``).

Who receives what is decided here too: :func:`addressees` puts the 送付先 before the residence, and a
person on the DV等支援措置 list gets no address at all (their notices go to the hold queue,
:func:`held_notices`). :func:`dispatch_order` numbers the notices in postal order (発送連番), and
:func:`unencodable_characters` lists every character the print vendor's CP932 cannot hold (外字).

No I/O, no clock; every step is a join, a filter or a group-by — no loop over people.
"""

from __future__ import annotations

import polars as pl

I64 = pl.Int64

#: The kinds of notice (contracts.notice_export.NOTICE_KINDS) and the digit each carries in its 通知書番号
#: (``<年度><kind digit><宛名番号>``)
NOTICE_KINDS = {"tax_notice": "1", "special_collection": "2"}

#: Characters the print vendor's CP932 has under another code point than Unicode's canonical one: the
#: notice carries the CP932 form (the shapes are the same; JIS X 0208 1-33, 1-29, 1-61, 1-81, 1-82, 1-91).
CP932_VARIANTS = {
    "\u301c": "\uff5e",  # 〜 WAVE DASH → ～ FULLWIDTH TILDE
    "\u2016": "\u2225",  # ‖ DOUBLE VERTICAL LINE → ∥ PARALLEL TO
    "\u2212": "\uff0d",  # − MINUS SIGN → － FULLWIDTH HYPHEN-MINUS
    "\u00a2": "\uffe0",  # ¢ → ￠
    "\u00a3": "\uffe1",  # £ → ￡
    "\u00ac": "\uffe2",  # ¬ → ￢
    "\u2014": "\u2015",  # — EM DASH → ― HORIZONTAL BAR
}
#: What a print file carries in place of a character CP932 cannot hold (げた記号, JIS X 0208 2-14); the
#: encoding report tells the vendor which character each one stands for.
GETA = "\u3013"

ADDRESS_BASES = ("mailing_address", "residence")


# --------------------------------------------------------------------------------------------- addressees


def addressees(residents: pl.DataFrame, mailing: pl.DataFrame, protected: pl.Series) -> pl.DataFrame:
    """Where each resident's notices go: ``person_id``, ``addressee_name``, ``addressee_postal_code``,
    ``addressee_address``, ``addressee_address_detail``, ``address_basis``, ``taxpayer_name``,
    ``taxpayer_name_kana``, ``taxpayer_address`` (the residence, 方書 included) and ``protected``.

    The registered 送付先 comes first, else the residence of the 1 January snapshot. A person on the
    DV等支援措置 list (``protected``) has every address field null: no export may carry it."""
    res = residents.select(
        pl.col("atena_no").alias("person_id"),
        pl.col("name_kanji").alias("taxpayer_name"),
        pl.col("name_kana").alias("taxpayer_name_kana"),
        pl.col("postal_code").alias("_res_postal"), pl.col("address").alias("_res_address"),
        pl.concat_str(pl.col("address"), pl.col("address_detail"), separator="　", ignore_nulls=True).alias("_res_full"),
        pl.col("address_detail").alias("_res_detail"),
    )
    mail = mailing.select(
        "person_id", pl.col("addressee").alias("_mail_name"), pl.col("postal_code").alias("_mail_postal"),
        pl.col("address").alias("_mail_address"), pl.col("address_detail").alias("_mail_detail"),
    ).unique("person_id", keep="last")
    shielded = pl.DataFrame({"person_id": protected.cast(pl.String)}).unique().with_columns(
        pl.lit(True).alias("protected"))
    joined = res.join(mail, on="person_id", how="left").join(shielded, on="person_id", how="left").with_columns(
        pl.col("protected").fill_null(False))
    has_mail = pl.col("_mail_address").is_not_null()
    hide = pl.col("protected")

    def pick(mail_col: str, res_col: str) -> pl.Expr:
        return pl.when(hide).then(None).when(has_mail).then(pl.col(mail_col)).otherwise(pl.col(res_col))

    return joined.select(
        "person_id", "taxpayer_name", "taxpayer_name_kana",
        pl.when(hide).then(None).otherwise(pl.col("_res_full")).alias("taxpayer_address"),
        pick("_mail_name", "taxpayer_name").alias("addressee_name"),
        pick("_mail_postal", "_res_postal").alias("addressee_postal_code"),
        pick("_mail_address", "_res_address").alias("addressee_address"),
        pick("_mail_detail", "_res_detail").alias("addressee_address_detail"),
        pl.when(hide).then(None).when(has_mail).then(pl.lit("mailing_address")).otherwise(pl.lit("residence"))
        .alias("address_basis"),
        "protected",
    ).sort("person_id")


def notice_no(fiscal_year: int, kind: str) -> pl.Expr:
    """通知書番号 of a person's notice of ``kind``: 年度 (4 digits), the kind's digit, the 宛名番号 (15 digits;
    never 12, so it cannot be read as a 個人番号)."""
    return pl.concat_str(pl.lit(f"{fiscal_year:04d}{NOTICE_KINDS[kind]}"), pl.col("person_id"))


# --------------------------------------------------------------------------------------------- figures

#: The computation lines every notice prints (課税明細), from curated/tax_assessment.
FIGURES = (
    "salary_revenue", "salary_income", "public_pension_revenue", "public_pension_income", "total_income",
    "income_deductions", "taxable_income",
    "income_levy_gross_municipal", "income_levy_gross_prefectural",
    "adjustment_credit_municipal", "adjustment_credit_prefectural",
    "other_credits_municipal", "other_credits_prefectural",
    "income_levy_municipal", "income_levy_prefectural",
    "per_capita_levy_municipal", "per_capita_levy_prefectural", "forest_environment_tax", "total_tax",
)


def figures(assessment: pl.DataFrame) -> pl.DataFrame:
    """The computation lines of :data:`FIGURES` per person. 税額控除 other than the 調整控除 (配当控除,
    住宅借入金等特別税額控除, 寄附金税額控除) and the 附則第3条の3 reduction print as one line each levy:
    what lies between the 調整控除後 levy and the 所得割 (the 100円 rounding included), so the lines
    always add up on paper."""
    return assessment.select(
        "person_id",
        *[pl.col(c).fill_null(0).cast(I64) for c in FIGURES if not c.startswith("other_credits")],
        *[(pl.col(f"levy_after_adjustment_{lv}") - pl.col(f"income_levy_{lv}")).cast(I64).alias(f"other_credits_{lv}")
          for lv in ("municipal", "prefectural")],
    ).select("person_id", *FIGURES)


# --------------------------------------------------------------------------------------------- 納税通知書


def _wide(schedule: pl.DataFrame, routes: list[str], prefix: str, count: int, slots: list[str]) -> pl.DataFrame:
    """One row per person: ``<prefix>_<i>_period``, ``_due_date`` and ``_amount`` for the ``count`` slots
    (periods ``slots`` in order) of the given routes, the amounts of one period summed (a first-year
    pensioner's 普通徴収 half shares the 期 of the ordinary route)."""
    index = pl.DataFrame({"period": slots, "_slot": list(range(1, len(slots) + 1))},
                         schema={"period": pl.String, "_slot": pl.Int32})
    per = schedule.filter(pl.col("route").is_in(routes)).group_by("person_id", "period").agg(
        pl.col("due_date").first(), pl.col("amount").sum()).join(index, on="period", how="inner")
    out = per.select("person_id").unique()
    for i in range(1, count + 1):
        one = per.filter(pl.col("_slot") == i).select(
            "person_id", pl.col("period").alias(f"{prefix}_{i}_period"),
            pl.col("due_date").alias(f"{prefix}_{i}_due_date"), pl.col("amount").alias(f"{prefix}_{i}_amount"))
        out = out.join(one, on="person_id", how="left")
    return out


def tax_notices(assessment: pl.DataFrame, plan: pl.DataFrame, schedule: pl.DataFrame, addressed: pl.DataFrame, *,
                fiscal_year: int, ordinary_periods: list[str], provisional_periods: list[str],
                main_periods: list[str]) -> pl.DataFrame:
    """納税通知書 records of every person with a 普通徴収 or 年金特別徴収 amount (one notice each), with
    their addressee, the computation lines, the 期別 of the 普通徴収 (``installment_<i>_…``, both the
    ordinary route and a first-year pensioner's 普通徴収 half) and the 仮徴収/本徴収 of the pension route.
    ``protected`` persons are included (the caller holds them)."""
    notified = plan.filter((pl.col("ordinary_amount") > 0) | (pl.col("pension_amount") > 0))
    ordinary = _wide(schedule, ["ordinary"], "installment", len(ordinary_periods), ordinary_periods)
    provisional = _wide(schedule, ["pension_provisional"], "provisional", len(provisional_periods), provisional_periods)
    main = _wide(schedule, ["pension_main"], "main", len(main_periods), main_periods)
    ordinary_total = schedule.filter(pl.col("route") == "ordinary").group_by("person_id").agg(
        pl.col("amount").sum().alias("ordinary_installments_total"))
    provisional_total = schedule.filter(pl.col("route") == "pension_provisional").group_by("person_id").agg(
        pl.col("amount").sum().alias("_provisional_total"))
    return notified.select(
        "person_id", "ordinary_amount", "salary_amount", "pension_amount", "pension_payer", "pension_first_year",
        "ordinary_reason",
    ).with_columns(notice_no(fiscal_year, "tax_notice").alias("notice_no")) \
        .join(addressed, on="person_id", how="left") \
        .join(figures(assessment), on="person_id", how="left") \
        .join(ordinary_total, on="person_id", how="left") \
        .join(ordinary, on="person_id", how="left") \
        .join(provisional, on="person_id", how="left") \
        .join(main, on="person_id", how="left") \
        .join(provisional_total, on="person_id", how="left") \
        .with_columns(
            pl.col("ordinary_installments_total").fill_null(0),
            # 仮徴収 is half of last year's pension tax (第321条の7の8第1項); above this year's amount the
            # 本徴収 is nil and the excess is an overpayment (過誤納金) the ward refunds or applies (第17条・
            # 第17条の2): the notice says so
            (pl.col("_provisional_total").fill_null(0) - pl.col("pension_amount")).clip(lower_bound=0)
            .alias("pension_provisional_excess"),
        ) \
        .drop("_provisional_total") \
        .sort("person_id")


# --------------------------------------------------------------------------------------------- 特別徴収


def employers(summaries: pl.DataFrame, reports: pl.DataFrame) -> pl.DataFrame:
    """One row per 指定番号: the 特別徴収義務者's name and address and how it receives its notices.

    From the current 総括表 of the 指定番号 (the latest received, 地方税法第317条の6第1項 with 施行規則
    第10条); a 指定番号 without one takes the name and address of its latest 個人別明細書 and paper notices.
    ``notice_method_employer`` / ``notice_method_employee``: ``"paper"`` or ``"eltax"`` (総括表 items
    「特別徴収税額通知の受取方法」, 1 書面, 2 電子; 令和6年度から eLTAX の電子通知が正本)."""
    def method(col: str) -> pl.Expr:
        return pl.when(pl.col(col).fill_null("").str.strip_chars() == "2").then(pl.lit("eltax")).otherwise(pl.lit("paper"))

    designation = pl.col("designation_no").cast(pl.String).str.strip_chars()  # as the plan reads it
    from_summary = summaries.filter(pl.col("is_current")).with_columns(designation) \
        .sort("designation_no", "received_on", "file", "record_no") \
        .unique("designation_no", keep="last").select(
            "designation_no",
            pl.col("payer_name").alias("employer_name"),
            pl.col("payer_postal_code").alias("employer_postal_code"),
            pl.col("payer_address").alias("employer_address"),
            method("notice_method_employer").alias("notice_method_employer"),
            method("notice_method_employee").alias("notice_method_employee"),
        )
    from_reports = reports.filter(pl.col("is_current")).with_columns(designation) \
        .sort("designation_no", "received_on", "file", "record_no") \
        .unique("designation_no", keep="last").select(
            "designation_no",
            pl.col("payer_name").alias("employer_name"),
            pl.lit(None, pl.String).alias("employer_postal_code"),
            pl.col("payer_address").alias("employer_address"),
            pl.lit("paper").alias("notice_method_employer"),
            pl.lit("paper").alias("notice_method_employee"),
        ).join(from_summary, on="designation_no", how="anti")
    return pl.concat([from_summary, from_reports], how="vertical").sort("designation_no")


def special_collection_notices(assessment: pl.DataFrame, plan: pl.DataFrame, schedule: pl.DataFrame,
                               reports: pl.DataFrame, employer_rows: pl.DataFrame, addressed: pl.DataFrame, *,
                               fiscal_year: int, salary_periods: list[str]) -> pl.DataFrame:
    """特別徴収税額決定通知書 records: one per person withheld from a salary, for the 特別徴収義務者 whose
    指定番号 is on the salary report the plan names (``salary_doc_uid``), never found by a name.

    ``month_<i>_amount`` are the twelve monthly amounts in the order of ``salary_periods`` (June … May)."""
    withheld = plan.filter(pl.col("salary_amount") > 0).select(
        "person_id", "salary_amount", "ordinary_amount", "pension_amount", "salary_doc_uid", "salary_payer")
    report_keys = reports.select(
        pl.col("doc_uid").alias("salary_doc_uid"),
        pl.col("designation_no").cast(pl.String).str.strip_chars().alias("report_designation_no"),
        pl.col("employee_no"),
    )
    index = pl.DataFrame({"period": salary_periods, "_slot": list(range(1, len(salary_periods) + 1))},
                         schema={"period": pl.String, "_slot": pl.Int32})
    months = schedule.filter(pl.col("route") == "salary").join(index, on="period", how="inner").select(
        "person_id", pl.concat_str(pl.lit("month_"), pl.col("_slot").cast(pl.String).str.zfill(2), pl.lit("_amount"))
        .alias("_column"), "amount")
    wide = months.pivot(on="_column", index="person_id", values="amount", aggregate_function="sum") \
        if months.height else pl.DataFrame({"person_id": []}, schema={"person_id": pl.String})
    for i in range(1, len(salary_periods) + 1):
        name = f"month_{i:02d}_amount"
        if name not in wide.columns:
            wide = wide.with_columns(pl.lit(None, I64).alias(name))
    wide = wide.select("person_id", *[pl.col(f"month_{i:02d}_amount").cast(I64).fill_null(0)
                                      for i in range(1, len(salary_periods) + 1)])
    return withheld.with_columns(notice_no(fiscal_year, "special_collection").alias("notice_no")) \
        .join(report_keys, on="salary_doc_uid", how="left") \
        .with_columns(pl.col("report_designation_no").alias("designation_no")) \
        .join(employer_rows, on="designation_no", how="left") \
        .join(addressed.select("person_id", "taxpayer_name", "taxpayer_name_kana", "taxpayer_address", "protected"),
              on="person_id",
              how="left") \
        .join(figures(assessment), on="person_id", how="left") \
        .join(wide, on="person_id", how="left") \
        .sort("designation_no", "person_id")


# --------------------------------------------------------------------------------------------- hold queue


def held_notices(tax: pl.DataFrame, special: pl.DataFrame) -> pl.DataFrame:
    """The notices that go to the hold queue instead of any export (``curated/notice_hold``): every notice
    of a protected person, and a 納税通知書 with no address to send it to. No address is kept."""
    tax_held = tax.filter(pl.col("protected") | pl.col("addressee_address").is_null()).select(
        "person_id", "notice_no", pl.lit("tax_notice").alias("notice_kind"),
        pl.lit(None, pl.String).alias("designation_no"),
        pl.when(pl.col("protected")).then(pl.lit("support_measures")).otherwise(pl.lit("no_address")).alias("reason"),
        (pl.col("ordinary_amount") + pl.col("pension_amount")).alias("amount"),
    )
    special_held = special.filter(pl.col("protected")).select(
        "person_id", "notice_no", pl.lit("special_collection").alias("notice_kind"), "designation_no",
        pl.lit("support_measures").alias("reason"), pl.col("salary_amount").alias("amount"),
    )
    return pl.concat([tax_held, special_held], how="vertical").sort("person_id", "notice_kind")


# --------------------------------------------------------------------------------------------- order, 外字


def dispatch_order(frame: pl.DataFrame, postal: str, *tiebreak: str) -> pl.DataFrame:
    """``frame`` sorted in postal order (郵便番号, then ``tiebreak``) with ``dispatch_seq`` 1..n (発送連番:
    the print vendor bundles by postal code for the 区内特別郵便 / バーコード付郵便 discounts)."""
    return frame.sort(pl.col(postal).fill_null("9999999"), *tiebreak).with_columns(
        pl.int_range(1, pl.len() + 1, dtype=I64).alias("dispatch_seq"))


def cp932_form(frame: pl.DataFrame) -> pl.DataFrame:
    """Every String column with the characters of :data:`CP932_VARIANTS` replaced by their CP932 form."""
    source, target = list(CP932_VARIANTS), list(CP932_VARIANTS.values())
    return frame.with_columns(pl.col(pl.String).str.replace_many(source, target))


def _unencodable(chars: list[str]) -> list[str]:
    out = []
    for char in chars:  # distinct characters of the whole file: a few thousand at most, never per person
        try:
            char.encode("cp932")
        except UnicodeEncodeError:
            out.append(char)
    return sorted(out)


def unencodable_characters(frame: pl.DataFrame, key: str) -> pl.DataFrame:
    """外字 report: one row per record, field and character that CP932 cannot hold — ``key`` (the record's
    key, e.g. the 通知書番号), ``field``, ``character``, ``code_point`` (U+XXXX) and ``position`` (1-based,
    in characters, the first occurrence) — so the print vendor can map it to its own 外字 font.

    The distinct characters of each column are tested once; only the rows holding one of the bad ones
    are split into characters (a 1,000,000-resident ward's print file stays within memory)."""
    import re

    columns = [c for c, t in frame.schema.items() if t == pl.String and c != key]
    schema = {key: pl.String, "field": pl.String, "character": pl.String, "code_point": pl.String, "position": I64}
    if not columns or not frame.height:
        return pl.DataFrame(schema=schema)
    distinct = pl.collect_all([
        frame.lazy().select(pl.col(c).filter(pl.col(c).str.contains(r"[^\x00-\x7F]")).unique().str.split("")
                            .explode().unique().alias("c"))
        for c in columns])
    chars = pl.concat(distinct).get_column("c").drop_nulls().unique().to_list()
    bad = _unencodable([c for c in chars if c])
    if not bad:
        return pl.DataFrame(schema=schema)
    pattern = "[" + "".join(re.escape(c) for c in bad) + "]"
    hits = []
    for column in columns:
        rows = frame.select(pl.col(key), pl.col(column)).filter(pl.col(column).str.contains(pattern))
        if not rows.height:
            continue
        chars_of = rows.select(pl.col(key), pl.col(column).str.split("").alias("character")) \
            .with_columns(pl.int_ranges(1, pl.col("character").list.len() + 1).alias("position")) \
            .explode("character", "position").filter(pl.col("character").is_in(bad))
        hits.append(chars_of.group_by(key, "character").agg(pl.col("position").min().cast(I64))
                    .with_columns(pl.lit(column).alias("field")))
    if not hits:
        return pl.DataFrame(schema=schema)
    points = {c: f"U+{ord(c):04X}" for c in bad}
    out = pl.concat(hits, how="vertical").with_columns(
        pl.col("character").replace_strict(points, return_dtype=pl.String).alias("code_point"))
    return out.select(key, "field", "character", "code_point", "position").sort(key, "field", "position")


def replace_unencodable(frame: pl.DataFrame, report: pl.DataFrame) -> pl.DataFrame:
    """``frame`` with every character of the 外字 report replaced by :data:`GETA` (〓)."""
    bad = report.get_column("character").unique().sort().to_list()
    if not bad:
        return frame
    return frame.with_columns(pl.col(pl.String).str.replace_many(bad, [GETA] * len(bad)))


# --------------------------------------------------------------------------------------------- 回送


def forwarding_lists(forwarding: pl.DataFrame, residents: pl.DataFrame) -> pl.DataFrame:
    """The 回送 list: one row per current forwarded document, with the destination 団体コード, the
    document (source, file, record), the reason and, when the person was our resident, the name, birth
    date and the address they moved to (住民票の転出先). Sorted by destination, then document. A document
    whose destination is unknown has a null code: it stays with the operator (it cannot be sent)."""
    people = residents.select(
        pl.col("atena_no"), "name_kanji", "name_kana", "birth_date",
        pl.col("removal_date").alias("moved_out_on"), pl.col("destination_address").alias("moved_to_address"))
    return forwarding.filter(pl.col("is_current")).join(people, on="atena_no", how="left").select(
        "destination_municipality_code", "destination_basis", "source", "file",
        "record_no", "doc_uid", "reason", "atena_no", "name_kanji", "name_kana", "birth_date", "moved_out_on",
        "moved_to_address",
    ).sort("destination_municipality_code", "source", "file", "record_no", nulls_last=True)


__all__ = [
    "NOTICE_KINDS", "CP932_VARIANTS", "GETA", "ADDRESS_BASES", "FIGURES", "addressees", "notice_no", "figures",
    "tax_notices", "employers", "special_collection_notices", "held_notices", "dispatch_order", "cp932_form",
    "unencodable_characters", "replace_unencodable", "forwarding_lists",
]
