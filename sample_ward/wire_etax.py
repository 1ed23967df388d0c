"""確定申告書 (国税連携 e-Tax分) as e-Tax XML: one return per file, built as whole-column string
expressions (:mod:`~sample_ward.wire_xml`); only the file writes loop over returns.
Layout: contracts/layouts/etax_return.yaml."""

from __future__ import annotations

import datetime as dt

import numpy as np
import polars as pl

from sample_ward import defects as D
from sample_ward import wire_amounts as A
from sample_ward import wire_text as T
from sample_ward import wire_xml as X
from sample_ward.wire_common import (
    DOC_ADDRESS,
    DUPLICATE_FILE_RATE,
    MALFORMED_RATE,
    RATES,
    TRUTH_COLUMNS,
    Ctx,
    choose_rows,
    count,
    date_of,
    duplicate_files,
    emit,
    random_dates,
    with_route,
)
from sample_ward.wire_csv import other_numbers

ETAX_MALFORMED = (D.MALFORMED_XML, D.MISSING_REQUIRED_ELEMENT, D.WRONG_NAMESPACE)
HOSTILE_PER_RETURNS = 50_000  # one hostile file of each kind per this many returns (at least one)
XML_CHUNK = 10_000  # returns rendered and handed to the writer at a time


def etax_fragments(ctx: Ctx, people: pl.DataFrame, filers: pl.Series) -> pl.DataFrame:
    """Per filer: the repeated parts of KOA020-2 (所得の内訳, dependants) as XML strings."""
    pop = ctx.pop
    ids = filers.implode()
    employers = pop.employers.select("employer_id", "corporate_number", "address", "name")
    salary_items = pop.employments.filter(pl.col("person_id").is_in(ids)).join(employers, on="employer_id", how="left", validate="m:1", maintain_order="left").select(
        "person_id",
        pl.lit(0).alias("_k"),
        pl.col("employment_id").alias("_id"),
        pl.lit("給与").alias("kind"),
        pl.lit("給料").alias("item"),
        pl.coalesce("corporate_number", "address").alias("payer_no"),
        pl.col("name").alias("payer"),
        pl.col("salary_revenue").alias("revenue"),
        pl.col("withholding_tax").alias("tax"),
    )
    pension_items = pop.pensions.filter(pl.col("person_id").is_in(ids)).select(
        "person_id",
        pl.lit(1).alias("_k"),
        pl.col("pension_id").alias("_id"),
        pl.lit("雑（公的年金等）").alias("kind"),
        pl.lit("年金").alias("item"),
        pl.lit(None, pl.String).alias("payer_no"),
        pl.col("payer_name").alias("payer"),
        pl.col("pension_revenue").alias("revenue"),
        pl.col("withholding_tax").alias("tax"),
    )
    items = pl.concat([salary_items, pension_items], how="vertical").sort("person_id", "_k", "_id")
    items = items.select(
        "person_id",
        pl.concat_str(
            [
                pl.lit("<ABD00010>"),
                X.el("ABD00020", pl.col("kind")),
                X.el("ABD00025", pl.col("item")),
                X.el("ABD00030", X.xml_text(pl.col("payer_no"))),
                X.el("ABD00040", X.xml_text(pl.col("payer"))),
                X.amount_el("ABD00050", pl.col("revenue"), always=True),
                X.amount_el("ABD00060", pl.col("tax")),
                pl.lit("</ABD00010>"),
            ]
        ).alias("frag"),
    ).group_by("person_id", maintain_order=True).agg(pl.col("frag").str.join("").alias("abd_items"))
    facts = people.select(
        pl.col("person_id").alias("dependant_person_id"), "name_kanji", "my_number", "birth_date", "special_disability",
        "disabled", "total_income",
    )
    deps = (
        pop.dependants.filter(pl.col("taxpayer_person_id").is_in(ids)).join(facts, on="dependant_person_id", how="left", validate="m:1", maintain_order="left")
        .with_columns((pl.col("kind") != "spouse").cast(pl.Int8).alias("_k"))
        .sort("taxpayer_person_id", "_k", "birth_date", "dependant_person_id")
        .select(
            pl.col("taxpayer_person_id").alias("person_id"),
            pl.concat_str(
                [
                    pl.lit('<jmz:SHINZOKU kubun="'),
                    pl.when(pl.col("kind") == "spouse").then(pl.lit("1")).otherwise(pl.lit("2")),
                    pl.lit('" nm="'), X.xml_text(pl.col("name_kanji")).fill_null(""),
                    pl.lit('" bango="'), pl.col("my_number").fill_null(""),
                    pl.lit('" birthday="'), pl.col("birth_date").dt.strftime("%Y-%m-%d").fill_null(""),
                    pl.lit('" dokyo="'), pl.when(pl.col("living_together")).then(pl.lit("1")).otherwise(pl.lit("0")),
                    pl.lit('" shogai="'),
                    pl.when(pl.col("special_disability")).then(pl.lit("2")).when(pl.col("disabled")).then(pl.lit("1")).otherwise(pl.lit("0")),
                    pl.lit('" shotoku="'), pl.col("total_income").fill_null(0).cast(pl.String),
                    pl.lit('"/>'),
                ]
            ).alias("frag"),
        )
        .group_by("person_id", maintain_order=True)
        .agg(pl.col("frag").str.join("").alias("dep_items"))
    )
    return items.join(deps, on="person_id", how="full", coalesce=True, validate="1:1", maintain_order="left")


def etax_document(ctx: Ctx) -> pl.Expr:
    """The whole return as one string expression over the returns frame."""
    c = pl.col
    has_number = c("_my_number").is_not_null()
    it = pl.concat_str(
        [
            pl.lit('<IT><ZEIMUSHO ID="ZEIMUSHO"><gen:zeimusho_CD>'), c("_office_cd"), pl.lit("</gen:zeimusho_CD><gen:zeimusho_NM>"),
            c("_office_nm"), pl.lit("</gen:zeimusho_NM></ZEIMUSHO>"),
            X.date_parts("TEISYUTSU_DAY", pl.lit("5"), T.era_year(c("_submitted")), c("_submitted").dt.month(), c("_submitted").dt.day()),
            X.it_text("NOZEISHA_ID", c("_etax_id")),
            pl.when(has_number).then(pl.concat_str([pl.lit('<NOZEISHA_BANGO ID="NOZEISHA_BANGO"><gen:kojinbango>'), c("_my_number"),
                                                    pl.lit("</gen:kojinbango></NOZEISHA_BANGO>")])).otherwise(pl.lit("")),
            X.it_text("NOZEISHA_NM_KN", X.xml_text(c("_kana"))),
            X.it_text("NOZEISHA_NM", X.xml_text(c("_name"))),
            pl.when(c("_zip").is_not_null()).then(pl.concat_str([
                pl.lit('<NOZEISHA_ZIP ID="NOZEISHA_ZIP"><gen:zip1>'), c("_zip").str.slice(0, 3), pl.lit("</gen:zip1><gen:zip2>"),
                c("_zip").str.slice(3, 4), pl.lit("</gen:zip2></NOZEISHA_ZIP>")])).otherwise(pl.lit("")),
            X.it_text("NOZEISHA_ADR", X.xml_text(c("_address"))),
            X.it_text("NOZEISHA_ADR_CODE", c("_address_code")),
            X.it_text("ICHIGATSUIPPI_ADR", X.xml_text(c("_jan1_address"))),
            X.it_text("ICHIGATSUIPPI_ADR_CODE", c("_jan1_code")),
            pl.lit('<SEIBETSU ID="SEIBETSU"><gen:kubun_CD>'), c("sex").cast(pl.String), pl.lit("</gen:kubun_CD></SEIBETSU>"),
            X.date_parts("BIRTHDAY", T.era_code(c("birth_date"), T.ETAX), T.era_year(c("birth_date")), c("birth_date").dt.month(), c("birth_date").dt.day()),
            X.it_text("SHOKUGYO", c("_occupation")),
            pl.lit('<TETSUZUKI ID="TETSUZUKI"><gen:procedure_CD>RKO0010</gen:procedure_CD></TETSUZUKI>'),
            pl.lit(f'<NENBUN ID="NENBUN"><gen:era>5</gen:era><gen:yy>{ctx.reiwa_income_year}</gen:yy></NENBUN>'),
            pl.lit('<SHINKOKU_KBN ID="SHINKOKU_KBN"><gen:kubun_CD>1</gen:kubun_CD></SHINKOKU_KBN></IT>'),
        ]
    )
    a = X.amount_el
    misc_total = c("pension_income") + c("misc_income")
    header1 = pl.concat_str(
        [
            pl.lit('<ABA00000><ABA00010 IDREF="NENBUN"/><ABA00020 IDREF="SHINKOKU_KBN"/><ABA00030 IDREF="ZEIMUSHO"/>'
                   '<ABA00040 IDREF="TEISYUTSU_DAY"/><ABA00050><ABA00060>'),
            pl.when(c("_zip").is_not_null()).then(pl.lit('<ABA00080 IDREF="NOZEISHA_ZIP"/>')).otherwise(pl.lit("")),
            pl.lit('<ABA00090 IDREF="NOZEISHA_ADR"/></ABA00060>'),
            pl.when(has_number).then(pl.lit('<ABA00125 IDREF="NOZEISHA_BANGO"/>')).otherwise(pl.lit("")),
            pl.lit('<ABA00130 IDREF="NOZEISHA_NM_KN"/><ABA00140 IDREF="NOZEISHA_NM"/>'),
            pl.when(c("_occupation").is_not_null()).then(pl.lit('<ABA00160 IDREF="SHOKUGYO"/>')).otherwise(pl.lit("")),
            pl.lit('<ABA00200 IDREF="BIRTHDAY"/></ABA00050></ABA00000>'),
        ]
    )
    abb = X.group(
        "ABB00000",
        [
            X.group("ABB00010", [
                X.group("ABB00020", [a("ABB00030", c("business_revenue"))]),
                a("ABB00050", c("real_estate_income").clip(lower_bound=0)),
                a("ABB00070", c("dividend_income")),
                a("ABB00080", c("salary_revenue_total")),
                X.group("ABB00090", [a("ABB00100", c("pension_revenue_total")), a("ABB00110", c("misc_income"))]),
                a("ABB00230", pl.when(c("occasional_income") > 0).then(c("occasional_income") + 500_000).otherwise(0)),
            ], always=True),
            X.group("ABB00270", [
                X.group("ABB00280", [a("ABB00300", c("business_income"))]),
                a("ABB00340", c("real_estate_income")),
                a("ABB00360", c("dividend_income")),
                a("ABB00370", c("salary_income")),
                X.group("ABB01050", [
                    a("ABB01060", c("pension_income")),
                    X.group("ABB01100", [a("ABB01120", c("misc_income"))]),
                    a("ABB01130", misc_total),
                ]),
                a("ABB00400", c("occasional_half")),
                a("ABB00410", c("total_income"), always=True),
            ], always=True),
            X.group("ABB00420", [
                a("ABB00440", c("medical_deduction")),
                a("ABB00450", c("social_insurance_total")),
                a("ABB00460", c("small_enterprise_mutual_aid")),
                a("ABB00470", c("life_insurance_deduction")),
                a("ABB00480", c("earthquake_deduction")),
                a("ABB00490", c("donation_deduction")),
                a("ABB00500", c("widow_single_parent_deduction")),
                a("ABB00510", c("student_disability_deduction")),
                a("ABB00520", c("spouse_deduction")),
                a("ABB00540", c("dependant_deduction")),
                a("ABB00550", c("basic_deduction")),
                a("ABB00555", c("_deductions"), always=True),
                a("ABB00560", c("_deductions"), always=True),
            ], always=True),
            X.group("ABB00570", [
                a("ABB00580", c("_taxable"), always=True),
                a("ABB00590", c("_tax"), always=True),
                a("ABB00670", c("_tax"), always=True),
                a("ABB01010", c("_tax"), always=True),
                a("ABB01020", c("_reconstruction"), always=True),
                a("ABB01030", c("_tax_total"), always=True),
                a("ABB00710", c("_withheld")),
                a("ABB00720", c("_due"), always=True),
                X.group("ABB00740", [a("ABB00750", c("_to_pay")), a("ABB00760", c("_refund"))]),
            ], always=True),
            X.group("ABB00770", [a("ABB00780", c("spouse_total_income"))]),
        ],
        always=True,
    )
    premiums = [
        a("ABH00215", c("life_insurance_new_general")),
        a("ABH00220", c("life_insurance_old_general")),
        a("ABH00225", c("life_insurance_new_pension")),
        a("ABH00230", c("life_insurance_old_pension")),
        a("ABH00235", c("life_insurance_care_medical")),
        a("ABH00250", c("earthquake_insurance")),
    ]

    def insurance_item(kind: str, value: pl.Expr) -> pl.Expr:
        return pl.when(value > 0).then(
            pl.concat_str([pl.lit(f"<ABH00120><ABH00130>{kind}</ABH00130><ABH00140>"), value.cast(pl.String), pl.lit("</ABH00140></ABH00120>")])
        ).otherwise(pl.lit(""))

    abh = X.group("ABH00000", [
        X.group("ABH00110", [
            insurance_item("源泉徴収票のとおり", c("salary_social_insurance")),
            insurance_item("介護保険料等（公的年金等から徴収）", c("pension_social_insurance")),
            insurance_item("国民健康保険料・国民年金保険料", c("social_insurance_paid")),
        ]),
        *premiums,
    ])
    other_income = c("business_income").abs() + c("real_estate_income").abs() + c("dividend_income") + c("misc_income") + c("occasional_income")
    abi = X.group("ABI00000", [
        pl.when(other_income > 0).then(pl.concat_str([
            pl.lit("<ABI00010><gen:kubun_CD>"),
            pl.when(c("salary_revenue_total") > 0).then(pl.lit("1")).otherwise(pl.lit("2")),
            pl.lit("</gen:kubun_CD></ABI00010>"),
        ])).otherwise(pl.lit("")),
        a("ABI00240", c("donation_total")),
    ])
    abd = pl.when(c("abd_items").is_not_null()).then(
        pl.concat_str([pl.lit("<ABD00000>"), c("abd_items"), a("ABD00070", c("_withheld")), pl.lit("</ABD00000>")])
    ).otherwise(pl.lit(""))
    flag01 = lambda e: pl.when(e).then(pl.lit("1")).otherwise(pl.lit("0"))  # noqa: E731
    own = pl.concat_str([
        pl.lit('<jmz:SHINZOKU_LIST><jmz:HONNIN shogai="'),
        pl.when(c("special_disability")).then(pl.lit("2")).when(c("disabled")).then(pl.lit("1")).otherwise(pl.lit("0")),
        pl.lit('" kafu="'), flag01(c("widow")), pl.lit('" hitorioya="'), flag01(c("single_parent")),
        pl.lit('" kinro_gakusei="'), flag01(c("working_student")), pl.lit('"/>'),
        c("dep_items").fill_null(""), pl.lit("</jmz:SHINZOKU_LIST>"),
    ])
    return pl.concat_str([
        pl.lit(X.XML_DECLARATION + X.ROOT_OPEN + "\n" + f'<RKO0010 VR="{X.RKO0010_VR}" id="RKO0010">\n<CATALOG id="catalog0"/>\n<CONTENTS id="contents0">\n'),
        it, pl.lit("\n"),
        pl.lit(f'<KOA020 VR="{X.KOA020_VR}" page="1" softNM="juminzei-synthetic" sakuseiNM="'), X.xml_text(c("_name")),
        pl.lit('" sakuseiDay="'), c("_submitted").dt.strftime("%Y-%m-%d"), pl.lit('">\n'),
        pl.lit('<KOA020-1 page="1">'), header1, abb, pl.lit("</KOA020-1>\n"),
        pl.lit('<KOA020-2 page="1"><ABC00000><ABC00010 IDREF="NENBUN"/><ABC00020><ABC00040 IDREF="NOZEISHA_ADR"/>'
               '<ABC00060 IDREF="NOZEISHA_NM_KN"/><ABC00070 IDREF="NOZEISHA_NM"/></ABC00020></ABC00000>'),
        abd, abh, abi, own, pl.lit("</KOA020-2>\n</KOA020>\n</CONTENTS>\n</RKO0010>\n</DATA>\n"),
    ])


def write_etax(ctx: Ctx, people: pl.DataFrame) -> None:
    """One e-Tax XML file per in-scope person who files a 確定申告書, plus planted and hostile files."""
    returns = people.filter((pl.col("doc_scope") == "all") & pl.col("files_final_return")).sort("person_id")
    n = returns.height
    part = ctx.partition("etax_return")
    rng = ctx.rng("etax/dates")
    windows = [(ctx.day(2, 16), ctx.day(3, 16), 0.80), (ctx.day(1, 5), ctx.day(2, 15), 0.06), (ctx.day(3, 17), ctx.day(4, 30), 0.14)]
    received = random_dates(rng, n, windows)
    submitted = received - rng.integers(0, 3, n).astype("timedelta64[D]")
    moved = pl.col("registry_status") == "moved_out"
    returns = returns.with_columns(
        pl.Series("_received", received).cast(pl.Date),
        pl.Series("_submitted", submitted).cast(pl.Date),
        pl.Series("_order", rng.random(n)),
        ((pl.col("person_id") * 2_654_435_761 + 12_345) % 10**16).cast(pl.String).str.zfill(16).alias("_etax_id"),
        pl.when(pl.col("person_id") % 2 == 0).then(pl.lit("00001")).otherwise(pl.lit("00002")).alias("_office_cd"),
        pl.when(pl.col("person_id") % 2 == 0).then(pl.lit("芝")).otherwise(pl.lit("麻布")).alias("_office_nm"),
        pl.when(moved).then(pl.col("jan1_address")).otherwise(DOC_ADDRESS).alias("_address"),
        pl.when(moved).then(pl.col("jan1_postal_code")).otherwise(pl.col("ward_postal_code")).alias("_zip"),
        pl.when(moved).then(pl.col("jan1_municipality_code").str.slice(0, 5)).otherwise(pl.lit(ctx.municipality5)).alias("_address_code"),
        pl.col("ward_address").alias("_jan1_address"),
        pl.lit(ctx.municipality5).alias("_jan1_code"),
        pl.col("income_profile").replace_strict(
            {"salaried": "会社員", "pensioner": "無職", "self_employed": "自営業", "landlord": "不動産賃貸業", "student": "学生"},
            default="無職", return_dtype=pl.String,
        ).alias("_occupation"),
    ).sort("_received", "_order").with_columns(
        (pl.int_range(pl.len()) + 1).alias("_seq"),
    ).with_columns(
        pl.format(f"{part}/{{}}_etax_{{}}.xtx", pl.col("_received").dt.strftime("%Y%m%d"), pl.col("_seq").cast(pl.String).str.zfill(7)).alias("file"),
    )
    # planted cases
    has_number = returns.get_column("my_number").is_not_null().to_numpy()
    variant_chars = "[" + "".join(T.KANJI_VARIANTS) + "]"
    can_kanji = returns.select(pl.col("name_kanji").str.contains(variant_chars)).to_series().to_numpy()
    plan = [(cat, None, count(MALFORMED_RATE, n)) for cat in ETAX_MALFORMED] + [
        (D.MY_NUMBER_MISSING, has_number, count(RATES[D.MY_NUMBER_MISSING], n)),
        (D.MY_NUMBER_OF_OTHER_PERSON, has_number, count(RATES[D.MY_NUMBER_OF_OTHER_PERSON], n)),
        (D.KANA_VARIANT, None, count(RATES[D.KANA_VARIANT], n)),
        (D.KANJI_VARIANT, can_kanji, count(RATES[D.KANJI_VARIANT], int(can_kanji.sum()))),
    ]
    eligible = np.ones(n, dtype=bool)
    if n:
        eligible[ctx.rng("etax/duplicates").choice(n, size=min(count(DUPLICATE_FILE_RATE, n), n), replace=False)] = False
    chosen = choose_rows(ctx.rng("plant/etax_return"), eligible, plan)
    dup_mask = ~eligible
    others = other_numbers(ctx, people, returns.get_column("person_id").to_numpy(), "other/etax_return")
    picks = ctx.rng("kana/etax_return").integers(0, 6, n)
    returns = returns.with_columns(
        pl.Series("_defect", chosen, dtype=pl.String),
        pl.Series("_other", others, dtype=pl.String),
        pl.Series("_pick", picks),
        pl.Series("_dup", dup_mask),
    )
    cat = pl.col("_defect")
    variants = T.kana_variants_fullwidth(pl.col("name_kana_fw"))
    chosen_variant = pl.lit(None, pl.String)
    for i, variant in enumerate(variants):
        chosen_variant = pl.when(pl.col("_pick") == i).then(variant).otherwise(chosen_variant)
    returns = returns.with_columns(
        pl.when(cat == D.MY_NUMBER_MISSING).then(pl.lit(None, pl.String))
        .when(cat == D.MY_NUMBER_OF_OTHER_PERSON).then(pl.col("_other"))
        .otherwise(pl.col("my_number")).alias("_my_number"),
        pl.when(cat == D.KANA_VARIANT)
        .then(pl.when(chosen_variant != pl.col("name_kana_fw")).then(chosen_variant).otherwise(variants[4]))
        .otherwise(pl.col("name_kana_fw")).alias("_kana"),
        pl.when(cat == D.KANJI_VARIANT)
        .then(pl.col("name_kanji").str.replace_many(list(T.KANJI_VARIANTS), list(T.KANJI_VARIANTS.values())))
        .otherwise(pl.col("name_kanji")).alias("_name"),
    )
    fragments = etax_fragments(ctx, people, returns.get_column("person_id"))
    returns = returns.join(fragments, on="person_id", how="left", validate="1:1", maintain_order="left")
    deductions = (
        pl.col("medical_deduction") + pl.col("social_insurance_total") + pl.col("small_enterprise_mutual_aid")
        + pl.col("life_insurance_deduction") + pl.col("earthquake_deduction") + pl.col("donation_deduction")
        + pl.col("widow_single_parent_deduction") + pl.col("student_disability_deduction") + pl.col("spouse_deduction")
        + pl.col("dependant_deduction") + pl.col("basic_deduction")
    )
    returns = returns.with_columns(deductions.alias("_deductions")).with_columns(
        ((pl.col("total_income") - pl.col("_deductions")).clip(lower_bound=0) // 1000 * 1000).alias("_taxable"),
        (pl.col("salary_withholding") + pl.col("pension_withholding")).alias("_withheld"),
    ).with_columns(A.income_tax(pl.col("_taxable")).alias("_tax")).with_columns(
        A.reconstruction_tax(pl.col("_tax")).alias("_reconstruction"),
    ).with_columns((pl.col("_tax") + pl.col("_reconstruction")).alias("_tax_total")).with_columns(
        (pl.col("_tax_total") - pl.col("_withheld")).alias("_due"),
    ).with_columns(
        pl.when(pl.col("_due") > 0).then(pl.col("_due") // 100 * 100).otherwise(0).alias("_to_pay"),
        pl.when(pl.col("_due") < 0).then(-pl.col("_due")).otherwise(0).alias("_refund"),
    )
    xml = etax_document(ctx)
    malformed = (
        pl.when(cat == D.MALFORMED_XML).then(pl.col("xml").str.slice(0, pl.col("xml").str.len_chars() * 3 // 5))
        .when(cat == D.MISSING_REQUIRED_ELEMENT).then(pl.col("xml").str.replace(r'<NOZEISHA_NM ID="NOZEISHA_NM">[^<]*</NOZEISHA_NM>', ""))
        .when(cat == D.WRONG_NAMESPACE).then(pl.col("xml").str.replace(f'xmlns="{X.NS_SHOTOKU}"', f'xmlns="{X.NS_WRONG}"', literal=True))
        .otherwise(pl.col("xml"))
    )
    assert ctx.writer is not None
    for start in range(0, n, XML_CHUNK):
        chunk = returns.slice(start, XML_CHUNK).select("file", "_defect", xml.alias("xml")).with_columns(malformed.cast(pl.Binary).alias("xml"))
        ctx.writer.write(chunk.get_column("file").to_list(), chunk.get_column("xml").to_list())
    field_of = {D.MY_NUMBER_MISSING: "NOZEISHA_BANGO", D.MY_NUMBER_OF_OTHER_PERSON: "NOZEISHA_BANGO", D.KANA_VARIANT: "NOZEISHA_NM_KN",
                D.KANJI_VARIANT: "NOZEISHA_NM", D.MISSING_REQUIRED_ELEMENT: "NOZEISHA_NM", D.WRONG_NAMESPACE: "DATA/@xmlns"}
    desc_of = {D.MY_NUMBER_MISSING: "NOZEISHA_BANGO omitted", D.MY_NUMBER_OF_OTHER_PERSON: "valid 個人番号 of another resident",
               D.KANA_VARIANT: "kana spelling variant of the name", D.KANJI_VARIANT: "旧字/異体字 variant of the name",
               D.MALFORMED_XML: "file cut off: not well-formed XML", D.MISSING_REQUIRED_ELEMENT: "required element NOZEISHA_NM missing",
               D.WRONG_NAMESPACE: f"root namespace {X.NS_WRONG} instead of {X.NS_SHOTOKU}"}
    returns = returns.with_columns(
        pl.lit(1, pl.Int64).alias("record_no"),
        pl.col("person_id").alias("_person_id"),
        pl.col("atena_no").alias("_atena_no"),
        pl.col("route").alias("_route"),
        pl.col("destination_code").alias("_destination"),
        pl.col("_etax_id").alias("_doc_key"),
        pl.lit("新規").alias("_submission"),
        cat.replace_strict(field_of, default=None, return_dtype=pl.String).alias("_field"),
        cat.replace_strict(desc_of, default=None, return_dtype=pl.String).alias("_desc"),
    )
    returns = with_route(returns)
    frame = returns.select(TRUTH_COLUMNS)
    # files delivered twice: new seq numbers after the last return, received 2-19 days later
    dup_list = sorted(returns.filter(pl.col("_dup")).get_column("file").to_list())
    delays = ctx.rng("etax/dup-dates").integers(2, 20, size=len(dup_list))
    names = {}
    next_seq = n + 1
    for rel, delay in zip(dup_list, delays):
        new_date = min(date_of(rel) + dt.timedelta(days=int(delay)), ctx.day(4, 30))
        names[rel] = f"{part}/{new_date:%Y%m%d}_etax_{next_seq:07d}.xtx"
        next_seq += 1
    copies = duplicate_files(ctx, "etax_return", frame, names)
    # hostile files
    hostile = []
    per_kind = max(1, n // HOSTILE_PER_RETURNS)
    makers = [(D.XML_EXTERNAL_ENTITY, X.hostile_xxe), (D.XML_ENTITY_EXPANSION, X.hostile_billion_laughs), (D.XML_EXTERNAL_DTD, X.hostile_external_dtd)]
    hostile_dates = random_dates(ctx.rng("etax/hostile"), per_kind * len(makers), [(ctx.day(2, 16), ctx.day(3, 16), 1.0)])
    i = 0
    for category, maker in makers:
        for _ in range(per_kind):
            date = hostile_dates[i].astype(dt.date)
            rel = f"{part}/{date:%Y%m%d}_etax_{next_seq:07d}.xtx"
            ctx.writer.write([rel], [maker(next_seq)])
            hostile.append({"file": rel, "record_no": 1, "_doc_key": f"{next_seq:016d}", "_person_id": None, "_atena_no": None,
                            "_route": D.ROUTE_QUARANTINE, "_destination": None, "_submission": "新規", "_received": date,
                            "_defect": category, "_field": None, "_desc": maker.__doc__.split("\n")[0]})
            next_seq += 1
            i += 1
    hostile_frame = pl.DataFrame(hostile, schema=frame.schema)
    emit(ctx, "etax_return", pl.concat([frame, hostile_frame], how="vertical"), copies)
