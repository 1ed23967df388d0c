"""年金特別徴収 (公的年金からの特別徴収): the ward's side of the monthly exchange with the pension insurers.

Pure functions over frames; the stage (``pipelines.pension_special_collection``) reads the files, the lake
and the clock, and writes. The byte format is :mod:`transforms.pension_exchange_records`; its codes and the
meaning of each amount field are in ``contracts/pension_exchange/codes.yaml``.

The year (docs/pension-exchange.md; 地方税法第321条の7の2〜第321条の7の8, docs/sources.md T9, F3):

* **May — 特別徴収対象者情報 (00).** Each insurer lists the pensioners it can withhold from. Each record is tied
  to a 宛名番号 (:func:`target_documents`, then :func:`transforms.matching.match_documents` with
  ``key="basic_pension_no"``: the 基礎年金番号 looked up in the ward's register of earlier years and verified
  by birth date and name, else 4情報; ambiguous or conflicting → the review queue, never a guess).
  :func:`decide_targets` keeps one pension per person and the previous 年度's pension-route tax of a
  前年度継続者 (its 仮徴収 of April, June and August were decided then).
* **August — 依頼通知 (01) and next 年度's 仮徴収 (61).** :func:`request_records`: one 01 record per 00 record,
  特別徴収対象者 with the 本徴収 amounts of October, December and February of the installment schedule, or
  特別徴収非対象者 with 0; one 61 record per person withheld, with ½ of this 年度's pension-route tax for next
  April, June and August (地方税法第321条の7の8第1項, the rule of ``rules/installments``).
* **追加候補者 (30).** Matched like the 00 records (:func:`candidates`) and answered once by a 追加依頼通知
  (31) as 特別徴収非対象者 (:func:`addition_answers`).
* **Answers (02, 32, 42, 62) and results (22, odd months).** :func:`withholding_ledger`: one row per person, insurer
  and pension month, what was requested against what the 22 records say was withheld or not.
* **Stops.** :func:`stops`: withholding that stops (処理結果 other than 正常, a 22 record not 正常) moves the
  unpaid remainder — every requested month from the stop on that was not withheld — to 普通徴収
  (地方税法第321条の7の6, docs/pension-exchange.md).

Nothing here reads the clock, the disk or the environment, and nothing logs a value.
"""

from __future__ import annotations

from datetime import date

import polars as pl

I64 = pl.Int64
#: notice types the ward receives and sends (codes.yaml: notice_code)
INBOUND = ("00", "02", "22", "30", "32", "42", "62")
OUTBOUND = ("01", "31", "41", "61")
#: 特別徴収結果通知 arrive in odd months only (the insurers pay in even months; docs/sources.md#f3-2)
ODD_MONTHS_ONLY = frozenset({"22"})
#: 住民記録 異動事由 of a move out of the ward (contracts/layouts/resident_changes.yaml)
CHANGE_MOVED_OUT = "2"
#: the answer each outbound notice type expects
ANSWERS = {"01": "02", "31": "32", "41": "42", "61": "62"}
#: 処理結果 (codes.yaml: result) that leaves the request in force
RESULT_NORMAL = "00"
#: 特別徴収結果通知 各種区分 (codes.yaml: category_22): 00 正常; every other value means nothing was withheld
RESULT_22_NORMAL = "00"

#: every column of a data record of any notice type, in one frame (the 22 notice types share the record frame)
RECORD_SCHEMA: dict[str, pl.DataType] = {
    "month": pl.String(), "file": pl.String(), "medium_serial_no": pl.String(), "notice_code": pl.String(),
    "payer_code": pl.String(), "record_no": I64, "created_date": pl.Date(),
    "basic_pension_no": pl.String(), "pension_code": pl.String(), "birth_date": pl.Date(), "sex": pl.String(),
    "name_kana": pl.String(), "name_kanji": pl.String(), "postal_code": pl.String(), "address_kana": pl.String(),
    "address_kanji": pl.String(), "mutual_aid_certificate_no": pl.String(), "category": pl.String(),
    "result": pl.String(), "event_date": pl.Date(), "amount_1": I64, "amount_2": I64, "amount_3": I64,
}
#: the identity of a pension in every notice: the insurer, the 基礎年金番号 and the 年金コード
PENSION_KEY = ["payer_code", "basic_pension_no", "pension_code"]
#: the identity fields a request echoes from the 00 record it answers
IDENTITY = ["basic_pension_no", "pension_code", "birth_date", "sex", "name_kana", "name_kanji", "postal_code",
            "address_kana", "address_kanji", "mutual_aid_certificate_no"]


def months_of_year(fiscal_year: int) -> list[str]:
    """The twelve months of a 年度, April to March, as YYYY-MM."""
    return [f"{fiscal_year + (m < 4):04d}-{m:02d}" for m in (4, 5, 6, 7, 8, 9, 10, 11, 12, 1, 2, 3)]


def records_frame(records: pl.DataFrame, *, month: str, file: str, medium_serial_no: str, notice_code: str) -> pl.DataFrame:
    """The data records of one notice type of one file in :data:`RECORD_SCHEMA` (absent columns null)."""
    present = [c for c in RECORD_SCHEMA if c in records.columns and c not in ("month", "file", "medium_serial_no",
                                                                              "notice_code")]
    return records.select(
        pl.lit(month).alias("month"), pl.lit(file).alias("file"), pl.lit(medium_serial_no).alias("medium_serial_no"),
        pl.lit(notice_code).alias("notice_code"), *present,
    ).with_columns([pl.lit(None, dtype).alias(c) for c, dtype in RECORD_SCHEMA.items()
                    if c not in present and c not in ("month", "file", "medium_serial_no", "notice_code")]
                   ).select(list(RECORD_SCHEMA)).cast(RECORD_SCHEMA)


def current_files(files: pl.DataFrame) -> pl.DataFrame:
    """Which received files are in force: a file sent again corrected (the same notice type, insurer and
    作成年月日, a higher 媒体連番) supersedes the earlier one. ``files``: month, file, notice_code, payer_code,
    created_date, medium_serial_no; adds ``superseded_by`` (null for a file in force)."""
    newest = files.sort("medium_serial_no", "month", "file").group_by(
        "notice_code", "payer_code", "created_date", maintain_order=True).agg(pl.col("file").last().alias("_newest"))
    return files.join(newest, on=["notice_code", "payer_code", "created_date"], how="left").with_columns(
        pl.when(pl.col("file") != pl.col("_newest")).then(pl.col("_newest")).otherwise(pl.lit(None, pl.String))
        .alias("superseded_by")).drop("_newest")


# ------------------------------------------------------------------------------------------- May: 00
def doc_uid() -> pl.Expr:
    return pl.concat_str([pl.col("file"), pl.lit("#"), pl.col("record_no").cast(pl.String)])


def target_documents(targets: pl.DataFrame) -> pl.DataFrame:
    """The 00 records as documents of :func:`transforms.matching.match_documents` (``key="basic_pension_no"``):
    the insurer's 氏名 (kana and kanji), 生年月日, 性別 and 住所 (kanji)."""
    def text(column: str) -> pl.Expr:
        c = pl.col(column)
        return pl.when(c.str.strip_chars(" \u3000") != "").then(c).otherwise(pl.lit(None, pl.String))

    return targets.select(
        doc_uid().alias("doc_uid"),
        text("basic_pension_no").alias("basic_pension_no"),
        text("name_kana").alias("name_kana"),
        text("name_kanji").alias("name_kanji"),
        pl.col("birth_date"),
        pl.col("sex").cast(pl.Int8, strict=False).alias("sex"),
        text("address_kanji").alias("address"),
    )


def register_keys(register: pl.DataFrame) -> pl.DataFrame:
    """The ward's register of earlier years as rule 1 of the matching reads it: one 宛名番号 per 基礎年金番号.
    A number the register ties to two persons is left out (4情報 decides for it)."""
    pairs = register.select("atena_no", "basic_pension_no").unique()
    return pairs.filter(pl.col("basic_pension_no").is_unique()).sort("basic_pension_no")


def apply_review_decisions(matches: pl.DataFrame, decisions: pl.DataFrame) -> pl.DataFrame:
    """The matches with the operators' latest decisions on the records sent to review (``decisions``:
    item_key = doc_uid, decision ``person`` with its ``target`` 宛名番号, or ``none``): ``person`` ties the record
    to that 宛名番号, ``none`` leaves it unmatched for good (``match_decision`` no_candidate); either way the
    ``rule`` is ``review_decision``. A decision on a record that is no longer in review changes nothing."""
    chosen = decisions.filter(pl.col("decision").is_in(["person", "none"])).select(
        pl.col("item_key").alias("doc_uid"), pl.col("decision").alias("_decision"), pl.col("target").alias("_target"))
    joined = matches.join(chosen, on="doc_uid", how="left")
    applies = pl.col("_decision").is_not_null() & (pl.col("decision") == "review")
    return joined.with_columns(
        pl.when(applies & (pl.col("_decision") == "person")).then(pl.col("_target"))
        .when(applies).then(pl.lit(None, pl.String)).otherwise(pl.col("atena_no")).alias("atena_no"),
        pl.when(applies & (pl.col("_decision") == "person")).then(pl.lit("auto"))
        .when(applies).then(pl.lit("no_candidate")).otherwise(pl.col("decision")).alias("decision"),
        pl.when(applies).then(pl.lit("review_decision")).otherwise(pl.col("rule")).alias("rule"),
    ).drop("_decision", "_target")


def decide_targets(targets: pl.DataFrame, matches: pl.DataFrame, register: pl.DataFrame) -> pl.DataFrame:
    """One row per 00 record: ``doc_uid``, the pension (:data:`PENSION_KEY`), ``category``,
    ``pension_annual_amount``, ``atena_no`` (null unless matched), ``match_decision``, ``match_rule``,
    ``previous_year_tax`` (前年度継続者: the register's; 新規者: 0), ``withholding`` (whether the ward may
    request withholding from it) and ``not_withheld_reason`` (null when it may):

    * ``not_matched`` — no 宛名番号 (review, or no candidate: the pensioner is not a resident);
    * ``another_pension`` — the person is listed for another pension too: one pension is withheld from,
      the one the 日本年金機構 (特別徴収義務者コード 999) pays first, else the largest (our reading of
      地方税法施行令第48条の9の10's order, docs/pension-exchange.md);
    * ``no_previous_record`` — a 前年度継続者 the register does not know: its 仮徴収 cannot be reconciled;
      the operator settles it and the request waits.
    """
    prior = register.select(*PENSION_KEY, pl.col("previous_year_tax").cast(I64)).unique(PENSION_KEY, keep="first")
    rows = targets.select(
        doc_uid().alias("doc_uid"), *PENSION_KEY, "category", pl.col("amount_1").alias("pension_annual_amount"),
        "file", "record_no",
    ).join(matches.select("doc_uid", "atena_no", pl.col("decision").alias("match_decision"),
                          pl.col("rule").alias("match_rule")), on="doc_uid", how="left", validate="1:1") \
        .join(prior, on=PENSION_KEY, how="left", validate="m:1")
    continuing = pl.col("category") == "02"
    rows = rows.with_columns(
        pl.when(continuing).then(pl.col("previous_year_tax")).otherwise(0).cast(I64).alias("previous_year_tax"),
        (continuing & pl.col("previous_year_tax").is_null()).alias("_no_previous"),
    )
    # one pension per person: 999 first, then the largest annual amount, then the lower 義務者コード, then the file
    ranked = rows.filter(pl.col("atena_no").is_not_null()).sort(
        pl.col("payer_code") != "999", pl.col("pension_annual_amount"), "payer_code", "doc_uid",
        descending=[False, True, False, False],
    ).with_columns(pl.int_range(pl.len()).over("atena_no").alias("_rank")).select("doc_uid", "_rank")
    rows = rows.join(ranked, on="doc_uid", how="left").with_columns(
        pl.when(pl.col("atena_no").is_null()).then(pl.lit("not_matched"))
        .when(pl.col("_rank") > 0).then(pl.lit("another_pension"))
        .when(pl.col("_no_previous")).then(pl.lit("no_previous_record"))
        .otherwise(pl.lit(None, pl.String)).alias("not_withheld_reason"),
    )
    return rows.with_columns(pl.col("not_withheld_reason").is_null().alias("withholding")).select(
        "doc_uid", "file", "record_no", *PENSION_KEY, "category", "pension_annual_amount", "atena_no",
        "match_decision", "match_rule", "previous_year_tax", "withholding", "not_withheld_reason",
    ).sort("doc_uid")


def candidates(records: pl.DataFrame, matches: pl.DataFrame) -> pl.DataFrame:
    """The 特別徴収追加候補者 (30) with their 宛名番号 (or none): ``doc_uid``, ``file``, ``record_no``, the pension,
    ``category`` (01 新規者, 02 住所変更者), ``pension_annual_amount``, ``atena_no``, ``match_decision``,
    ``match_rule``. Each is answered by :func:`addition_answers`."""
    rows = records.select(
        doc_uid().alias("doc_uid"), "file", "record_no", *PENSION_KEY, "category",
        pl.col("amount_1").alias("pension_annual_amount"))
    return rows.join(matches.select("doc_uid", "atena_no", pl.col("decision").alias("match_decision"),
                                    pl.col("rule").alias("match_rule")), on="doc_uid", how="left").sort("doc_uid")


def addition_answers(candidate_records: pl.DataFrame, added: pl.DataFrame, sent: pl.DataFrame | None) -> pl.DataFrame:
    """The 特別徴収追加依頼通知 (31) that answer the 追加候補者 (30) not answered yet: one record per candidate
    pension, its identity as the insurer sent it, 各種区分 03 特別徴収非対象者 and amounts 0, with ``payer_code``
    and ``atena_no`` (null when the candidate is not tied to a resident).

    Every candidate is answered 非対象 this 年度 (our choice, docs/pension-exchange.md): the 当初賦課 has put the
    person's pension tax into 普通徴収 and told the taxpayer so; starting to withhold in the middle of the 年度
    would change the collection method of a notice already sent, which is a 賦課更正 (税額変更通知書). The
    answer closes the candidate at the insurer instead of leaving it waiting. ``candidate_records``: the 30
    records in force (:data:`RECORD_SCHEMA`); ``added``: :func:`candidates`; ``sent``: every record the ward has
    sent this 年度 (``notice_code`` and :data:`PENSION_KEY`), so that a candidate is answered once."""
    answered_before = sent.filter(pl.col("notice_code") == "31").select(PENSION_KEY).unique() \
        if sent is not None and "notice_code" in sent.columns else pl.DataFrame(schema=dict.fromkeys(PENSION_KEY, pl.String))
    rows = candidate_records.with_columns(doc_uid().alias("doc_uid")).sort("month", "file", "record_no") \
        .unique(PENSION_KEY, keep="last", maintain_order=True) \
        .join(answered_before, on=PENSION_KEY, how="anti") \
        .join(added.select("doc_uid", "atena_no"), on="doc_uid", how="left", validate="1:1")
    return rows.select(
        "payer_code", "atena_no", *IDENTITY, pl.lit("03").alias("category"),
        *[pl.lit(0, I64).alias(f"amount_{i}") for i in (1, 2, 3)],
    ).sort("payer_code", "basic_pension_no", "pension_code")


def next_assessment_day(fiscal_year: int) -> date:
    """The 賦課期日 of the next 年度: 1 January of the year it begins in (地方税法第318条)."""
    return date(fiscal_year + 1, 1, 1)


def move_out_stops(sent: pl.DataFrame | None, moves_out: pl.DataFrame, next_assessment_day: date) -> pl.DataFrame:
    """The 資格喪失等の通知 (41, 各種区分 02 転出) that withdraw next 年度's 仮徴収 of a person who moved out of the
    ward before the next 賦課期日 (``next_assessment_day``, 1 January): that 年度's tax is the new municipality's
    (地方税法第318条), so the 仮徴収 the ward's 61 asked for would be withheld for the wrong municipality. This
    年度's 本徴収 continues after the move (the 平成28年10月 reform; docs/sources.md T9), so nothing of this 年度
    stops. One record per pension whose 61 was sent and that has no 41 yet: its identity as sent, 異動年月日 the
    date of the move, amounts 0. ``sent``: every record sent this 年度 (``notice_code``, ``atena_no``,
    :data:`IDENTITY`, ``payer_code``); ``moves_out``: atena_no, change_date."""
    columns = ["payer_code", "atena_no", *IDENTITY, "category", "event_date", "amount_1", "amount_2", "amount_3"]
    if sent is None or "notice_code" not in sent.columns:
        return pl.DataFrame(schema={c: (pl.Date if c in ("birth_date", "event_date") else I64 if c.startswith("amount")
                                        else pl.String) for c in columns})
    stopped = sent.filter(pl.col("notice_code") == "41").select(PENSION_KEY).unique()
    moved = moves_out.filter(pl.col("change_date") < next_assessment_day) \
        .group_by("atena_no").agg(pl.col("change_date").min().alias("event_date"))
    rows = sent.filter(pl.col("notice_code") == "61").unique(PENSION_KEY, keep="last", maintain_order=True) \
        .drop("event_date", strict=False).join(stopped, on=PENSION_KEY, how="anti").join(moved, on="atena_no", how="inner")
    return rows.with_columns(pl.lit("02").alias("category"), *[pl.lit(0, I64).alias(f"amount_{i}") for i in (1, 2, 3)]) \
        .select(columns).sort("payer_code", "basic_pension_no", "pension_code")


def notice_targets(decided: pl.DataFrame) -> pl.DataFrame:
    """The persons withheld from, as :func:`transforms.collection_plan.collection_plan` reads them."""
    return decided.filter("withholding").select(
        pl.col("atena_no").alias("person_id"), "payer_code", "basic_pension_no", "pension_code",
        (pl.col("category") == "01").alias("first_year"), pl.col("previous_year_tax").cast(I64),
    ).sort("person_id")


# ------------------------------------------------------------------------------------- August: 01, 61
def request_records(targets: pl.DataFrame, decided: pl.DataFrame, plan: pl.DataFrame, schedule: pl.DataFrame,
                    next_provisional: dict[str, pl.Expr], moved_out: pl.DataFrame | None = None
                    ) -> tuple[pl.DataFrame, pl.DataFrame]:
    """The 依頼通知 (01) and 仮徴収額変更通知 (61) data records, each with ``payer_code`` and ``atena_no``.

    ``targets``: the 00 records (:data:`RECORD_SCHEMA`), whose identity fields each request echoes;
    ``decided``: :func:`decide_targets`; ``plan``: ``curated/collection_plan`` (person_id, pension_amount,
    pension_payer); ``schedule``: ``curated/installment_schedule`` (person_id, route, period, amount);
    ``next_provisional``: the three 仮徴収 amounts of the next 年度 as expressions of ``pension_amount``
    (:func:`transforms.installments.pension_amounts` with the next 年度's rules).

    01: one record per 00 record — 各種区分 01 特別徴収対象者 with the 本徴収 amounts of October, December and
    February (金額1–3) when the person's pension route is this pension; else 03 特別徴収非対象者 with 0.
    61: one record per 特別徴収対象者, 金額1–3 next April, June and August — but none for a person in
    ``moved_out`` (atena_no: moved out of the ward before the next 賦課期日, see :func:`move_out_stops`).
    """
    main = schedule.filter(pl.col("route") == "pension_main").with_columns(
        pl.col("period").str.slice(5, 2).cast(pl.Int32).alias("_m"))
    by_month = main.group_by("person_id").agg(
        *[pl.col("amount").filter(pl.col("_m") == m).sum().alias(f"amount_{i}") for i, m in ((1, 10), (2, 12), (3, 2))])
    withheld = plan.filter(pl.col("pension_amount") > 0).select(
        pl.col("person_id").alias("atena_no"), pl.col("pension_payer").alias("payer_code"), "pension_amount")
    base = targets.drop("category", "amount_1", "amount_2", "amount_3").with_columns(doc_uid().alias("doc_uid")).join(
        decided.select("doc_uid", "atena_no", "withholding"), on="doc_uid", how="left", validate="1:1") \
        .join(withheld, on=["atena_no", "payer_code"], how="left", validate="m:1")
    chosen = pl.col("withholding").fill_null(False) & pl.col("pension_amount").is_not_null()
    requests = base.join(by_month.rename({"person_id": "atena_no"}), on="atena_no", how="left").with_columns(
        pl.when(chosen).then(pl.lit("01")).otherwise(pl.lit("03")).alias("category"),
        *[pl.when(chosen).then(pl.col(f"amount_{i}").fill_null(0)).otherwise(0).cast(I64).alias(f"amount_{i}")
          for i in (1, 2, 3)],
    ).sort("payer_code", "file", "record_no")
    requests = requests.select("payer_code", "atena_no", *IDENTITY, "category", "amount_1", "amount_2", "amount_3",
                               "pension_amount")
    staying = requests.join(moved_out.select("atena_no").unique(), on="atena_no", how="anti") \
        if moved_out is not None else requests
    provisional = staying.filter(pl.col("category") == "01").with_columns(
        pl.lit("00").alias("category"),
        *[expr.cast(I64).alias(f"amount_{i}") for i, expr in zip((1, 2, 3), next_provisional.values(), strict=True)],
    )
    return requests.drop("pension_amount"), provisional.drop("pension_amount")


# ------------------------------------------------------------------------------ results and the ledger
def requested_months(schedule: pl.DataFrame, requests: pl.DataFrame, answers: pl.DataFrame) -> pl.DataFrame:
    """What the ward asked to be withheld, one row per person, insurer and pension month (``period``):
    the 仮徴収 months of the schedule (decided the year before) and the 本徴収 months of every 01 request
    sent as 特別徴収対象者, with the 処理結果 of its 02 answer (``answer_result``, null until it arrives).
    ``requests``: the 01 records sent (atena_no, :data:`PENSION_KEY`, category); ``answers``: the 02 records
    in force."""
    provisional = schedule.filter(pl.col("route") == "pension_provisional").select(
        pl.col("person_id").alias("atena_no"), pl.col("payer").alias("payer_code"), "period",
        pl.col("amount").alias("requested"), pl.lit("pension_provisional").alias("route"),
        pl.lit(None, pl.String).alias("answer_result"))
    sent = requests.filter(pl.col("category") == "01").join(
        answers.select(*PENSION_KEY, pl.col("result").alias("answer_result")).unique(PENSION_KEY, keep="last"),
        on=PENSION_KEY, how="left").select("atena_no", "payer_code", "answer_result").unique(["atena_no", "payer_code"])
    main = schedule.filter(pl.col("route") == "pension_main").select(
        pl.col("person_id").alias("atena_no"), pl.col("payer").alias("payer_code"), "period",
        pl.col("amount").alias("requested"), pl.lit("pension_main").alias("route")) \
        .join(sent, on=["atena_no", "payer_code"], how="inner")
    return pl.concat([provisional, main]).filter(pl.col("requested") > 0).sort("atena_no", "payer_code", "period")


def result_period(event_date: pl.Expr, month: pl.Expr) -> pl.Expr:
    """The pension month a 22 record reports: its 徴収年月日 (the payment) when given, else the even month
    before the month the file came in."""
    from_month = pl.concat_str([month, pl.lit("-01")]).str.to_date() - pl.duration(days=1)
    return pl.coalesce(event_date, from_month).dt.strftime("%Y-%m")


#: the statuses of a month of the ledger (:func:`withholding_ledger`)
STATUSES = ("withheld", "not_withheld", "refused", "pending", "mismatch", "unexpected")


def withholding_ledger(requested: pl.DataFrame, results: pl.DataFrame, persons: pl.DataFrame) -> pl.DataFrame:
    """One row per person, insurer and pension month requested or reported: ``requested``, ``withheld``,
    ``not_withheld`` (null until the 22 record arrives), ``result_category``, ``answer_result`` and ``status``:

    * ``withheld`` — the 22 record says 正常 and the whole amount was withheld;
    * ``not_withheld`` — the 22 record says the amount, or part of it, could not be withheld (失権, 差止,
      年金額不足, …; withheld + not withheld = requested);
    * ``refused`` — a 本徴収 month of a request the insurer's 02 answer did not accept;
    * ``pending`` — no 22 record yet;
    * ``mismatch`` — the 22 record's amounts do not add up to what was requested (the ward asks the insurer);
    * ``unexpected`` — a 22 record for a month nothing was requested in.

    ``results``: the 22 records in force (:data:`RECORD_SCHEMA`); ``persons``: ``atena_no`` and
    :data:`PENSION_KEY` of every pension the ward knows (its targets)."""
    key = ["atena_no", *PENSION_KEY, "period"]
    pension = persons.select("atena_no", *PENSION_KEY).unique(["atena_no", "payer_code"], keep="first")
    reported = results.sort("file", "record_no").select(
        *PENSION_KEY, result_period(pl.col("event_date"), pl.col("month")).alias("period"),
        pl.col("category").alias("result_category"), pl.col("amount_1").alias("withheld"),
        pl.col("amount_2").alias("not_withheld"), pl.col("file").alias("result_file"),
    ).join(persons.select(*PENSION_KEY, "atena_no").unique(PENSION_KEY, keep="first"), on=PENSION_KEY, how="left") \
        .unique(key, keep="last", maintain_order=True)
    asked = requested.join(pension, on=["atena_no", "payer_code"], how="left")
    ledger = asked.join(reported, on=key, how="full", coalesce=True, nulls_equal=True)
    adds_up = (pl.col("withheld") + pl.col("not_withheld")) == pl.col("requested")
    return ledger.with_columns(
        pl.when(pl.col("requested").is_null()).then(pl.lit("unexpected"))
        .when(pl.col("answer_result").is_not_null() & (pl.col("answer_result") != RESULT_NORMAL)
              & pl.col("result_category").is_null()).then(pl.lit("refused"))
        .when(pl.col("result_category").is_null()).then(pl.lit("pending"))
        .when(~adds_up).then(pl.lit("mismatch"))
        .when((pl.col("result_category") == RESULT_22_NORMAL) & (pl.col("not_withheld") == 0)).then(pl.lit("withheld"))
        .otherwise(pl.lit("not_withheld")).alias("status"),
        pl.col("requested").fill_null(0),
    ).select(*key, "route", "requested", "withheld", "not_withheld", "result_category", "answer_result", "result_file",
             "status").sort("atena_no", "payer_code", "period")


STOPS_SCHEMA: dict[str, pl.DataType] = {"atena_no": pl.String(), "payer_code": pl.String(), "stop_period": pl.String(),
                                        "stop_reason": pl.String()}


def death_stops(ledger: pl.DataFrame, deaths: pl.DataFrame) -> pl.DataFrame:
    """The withholdings a death recorded in the 住民記録 stops (``deaths``: atena_no, change_date): from the
    month of the death on (the pension is not paid to the deceased; 失権), with ``stop_reason`` ``change_01``
    (資格喪失等の通知 各種区分 01 死亡). Only a withholding with a month of the death or later still to come."""
    month = pl.col("change_date").dt.strftime("%Y-%m")
    died = deaths.select("atena_no", month.alias("stop_period")).unique("atena_no")
    ahead = ledger.join(died, on="atena_no", how="inner").filter(
        (pl.col("period") >= pl.col("stop_period")) & (pl.col("status") == "pending"))
    return ahead.select("atena_no", "payer_code", "stop_period", pl.lit("change_01").alias("stop_reason")) \
        .unique(["atena_no", "payer_code"]).sort("atena_no", "payer_code").cast(STOPS_SCHEMA)


def moves(ledger: pl.DataFrame, already: pl.DataFrame, stops: pl.DataFrame | None = None) -> pl.DataFrame:
    """The months that move to 普通徴収 and were not moved before: one row per person, insurer and month.

    A withholding stops at its first month ``refused`` or ``not_withheld`` (``stop_period``, with
    ``stop_reason``: ``result_<処理結果>`` of the 02 answer or ``collection_<各種区分>`` of the 22 record); from
    then on every month not reported withheld moves, with what was not withheld of it (``amount``;
    地方税法第321条の7の6: what the insurer cannot withhold is collected by 普通徴収). A ``mismatch`` month is
    not moved: the ward asks the insurer first. ``already``: atena_no, payer_code, period moved in earlier
    months, left out (a month moves once). ``stops``: stops the ward decided itself (:func:`death_stops`,
    :data:`STOPS_SCHEMA`); the earliest stop of a withholding counts."""
    found = ledger.filter(pl.col("status").is_in(["refused", "not_withheld"])).sort("period").group_by(
        "atena_no", "payer_code").agg(
        pl.col("period").first().alias("stop_period"),
        pl.when(pl.col("status").first() == "refused")
        .then(pl.concat_str([pl.lit("result_"), pl.col("answer_result").first()]))
        .otherwise(pl.concat_str([pl.lit("collection_"), pl.col("result_category").first()])).alias("stop_reason"))
    stopping = pl.concat([found.cast(STOPS_SCHEMA), *([stops.cast(STOPS_SCHEMA)] if stops is not None else [])]) \
        .sort("atena_no", "payer_code", "stop_period", "stop_reason").unique(["atena_no", "payer_code"], keep="first",
                                                                             maintain_order=True)
    moving = ledger.join(stopping, on=["atena_no", "payer_code"], how="inner").filter(
        (pl.col("period") >= pl.col("stop_period")) & pl.col("status").is_in(["refused", "not_withheld", "pending"]))
    return moving.join(already.select("atena_no", "payer_code", "period"), on=["atena_no", "payer_code", "period"],
                       how="anti").select(
        "atena_no", "payer_code", "period", "route",
        (pl.col("requested") - pl.col("withheld").fill_null(0)).cast(I64).alias("amount"),
        "stop_period", "stop_reason",
    ).sort("atena_no", "payer_code", "period")


def switch_notice_date(month: str, day: int) -> date:
    """The date of the 普通徴収 notices of a month's stops: day ``day`` of the processing month."""
    year, m = (int(x) for x in month.split("-"))
    return date(year, m, day)


# ------------------------------------------------------------------------------------- switch notices
def switched_plan(plan: pl.DataFrame, schedule: pl.DataFrame, moves: pl.DataFrame, switch: pl.DataFrame,
                  month: str) -> tuple[pl.DataFrame, pl.DataFrame]:
    """The plan and installments of the persons whose withholding moved to 普通徴収 in ``month``, as their
    new 納税通知書 (変更) prints them: every move up to ``month`` taken out of the pension route
    (``pension_amount`` less what moved; the moved 仮徴収/本徴収 months dropped) and put into 普通徴収
    (``ordinary_amount`` plus what moved; the switch installments added to the ordinary ones of June). The
    routes still sum to the assessed tax. ``moves``/``switch``: curated/pension_moves and
    curated/pension_switch_installments (every month so far)."""
    persons = moves.filter(pl.col("month") == month).select(pl.col("atena_no").alias("person_id")).unique()
    upto = moves.filter(pl.col("month") <= month)
    moved = upto.group_by(pl.col("atena_no").alias("person_id")).agg(pl.col("amount").sum().alias("_moved"))
    new_plan = plan.join(persons, on="person_id", how="semi").join(moved, on="person_id", how="left").with_columns(
        (pl.col("pension_amount") - pl.col("_moved")).alias("pension_amount"),
        (pl.col("ordinary_amount") + pl.col("_moved")).alias("ordinary_amount"),
    ).drop("_moved").with_columns(  # nothing left to withhold: no pension route (and no 特別徴収義務者) any more
        pl.when(pl.col("pension_amount") > 0).then(pl.col("pension_payer")).alias("pension_payer"),
        pl.when(pl.col("pension_amount") > 0).then(pl.col("pension_first_year")).alias("pension_first_year"),
    ).sort("person_id")
    gone = upto.select(pl.col("atena_no").alias("person_id"), "period", "route")
    kept = schedule.join(persons, on="person_id", how="semi").join(gone, on=["person_id", "period", "route"], how="anti")
    added = switch.filter(pl.col("month") <= month).join(persons, on="person_id", how="semi").select(
        "person_id", pl.lit("ordinary").alias("method"), "sequence", "period", "due_date", "amount",
        pl.lit("ordinary").alias("route"), pl.lit(None, pl.String).alias("payer"))
    new_schedule = pl.concat([kept.select(added.columns), added.cast(kept.select(added.columns).schema)]) \
        .sort("person_id", "period", "route")
    return new_plan, new_schedule


# ----------------------------------------------------------------------------------------------- answers
def answered(outbound: pl.DataFrame, records: pl.DataFrame) -> pl.DataFrame:
    """Each record the ward sent (01, 31, 41, 61) with the insurer's answer (02, 32, 42, 62: the same
    pension, the 処理結果), and each answer that answers nothing the ward sent: ``notice_code`` (sent),
    :data:`PENSION_KEY`, ``atena_no``, ``sent_file``, ``answer_code``, ``result``, ``answer_file`` and
    ``status``: ``accepted`` (処理結果 00), ``refused`` (another 処理結果), ``pending`` (no answer yet) or
    ``unsolicited`` (an answer without a notice). The newest answer of a pension counts."""
    schema = {"notice_code": pl.String(), "payer_code": pl.String(), "basic_pension_no": pl.String(),
              "pension_code": pl.String(), "atena_no": pl.String(), "sent_file": pl.String(),
              "answer_code": pl.String(), "result": pl.String(), "answer_file": pl.String(), "status": pl.String()}
    if outbound is None or outbound.height == 0:
        sent = pl.DataFrame(schema={k: schema[k] for k in ("notice_code", *PENSION_KEY, "atena_no", "sent_file")})
    else:
        sent = outbound.filter(pl.col("notice_code").is_in(list(ANSWERS))).select(
            "notice_code", *PENSION_KEY, "atena_no", pl.col("file").alias("sent_file"))
    sent = sent.with_columns(pl.col("notice_code").replace_strict(ANSWERS, return_dtype=pl.String).alias("answer_code"))
    replies = records.filter(pl.col("notice_code").is_in(list(ANSWERS.values()))).sort("month", "file", "record_no") \
        .select(pl.col("notice_code").alias("answer_code"), *PENSION_KEY, "result", pl.col("file").alias("answer_file")) \
        .unique(["answer_code", *PENSION_KEY], keep="last", maintain_order=True)
    joined = sent.join(replies, on=["answer_code", *PENSION_KEY], how="full", coalesce=True)
    back = {v: k for k, v in ANSWERS.items()}
    return joined.with_columns(
        pl.coalesce("notice_code", pl.col("answer_code").replace_strict(back, return_dtype=pl.String)).alias("notice_code"),
        pl.when(pl.col("sent_file").is_null()).then(pl.lit("unsolicited"))
        .when(pl.col("answer_file").is_null()).then(pl.lit("pending"))
        .when(pl.col("result") == RESULT_NORMAL).then(pl.lit("accepted"))
        .otherwise(pl.lit("refused")).alias("status"),
    ).select(list(schema)).cast(schema).sort("notice_code", *PENSION_KEY)
