"""住登外課税通知 (notices of taxing a 住登外者) for ``notice_export``.

A 住登外者 lived in the ward on 1 January without a 住民票 here; the ward taxes them as its resident
(地方税法第294条第3項) and notifies the municipality that holds their 住民票, which then does not tax
them for the 年度 (第294条第4項). One notice per assessed 住登外者, to their registered municipality; a
protected person's notice (DV等支援措置) is held with the rest of their notices, since it carries the
address where they live. Columns: :data:`NOTICE_COLUMNS`; docs/layouts/non_registered_notice.md.
"""

from __future__ import annotations

from datetime import date

import polars as pl

#: the kind digit of a 住登外課税通知's number (年度 + kind + 宛名番号; 1 納税通知書, 2 特別徴収)
NOTICE_KIND_DIGIT = "3"
NOTICE_COLUMNS = (
    "registered_municipality_code", "notice_no", "fiscal_year", "municipality_code", "notice_date", "person_id",
    "name_kanji", "name_kana", "birth_date", "registered_address", "residence_postal_code", "residence_address",
    "residence_address_detail", "living_since", "taxation", "total_tax", "protected",
)


def non_registered_notices(registrations: pl.DataFrame, residents: pl.DataFrame, assessment: pl.DataFrame,
                           protected: pl.Series, *, fiscal_year: int, municipality: str,
                           notice_date: date) -> pl.DataFrame:
    """One row per 住登外者 (``registrations``: staging/non_registered_residents) that the assessment
    holds, with the person (``residents``: staging/residents), the registered municipality, the
    taxation (``taxed`` when ``total_tax`` > 0, else ``exempt``) and whether the person is protected.
    Sorted by destination, then 宛名番号."""
    people = residents.select(
        pl.col("atena_no").alias("person_id"), "name_kanji", "name_kana", "birth_date",
        pl.col("postal_code").alias("residence_postal_code"), pl.col("address").alias("residence_address"),
        pl.col("address_detail").alias("residence_address_detail"))
    taxed = assessment.select("person_id", pl.col("total_tax").cast(pl.Int64))
    return (
        registrations.rename({"atena_no": "person_id"})
        .join(people, on="person_id", how="inner", validate="1:1")
        .join(taxed, on="person_id", how="inner", validate="1:1")
        .select(
            "registered_municipality_code",
            pl.concat_str([pl.lit(str(fiscal_year)), pl.lit(NOTICE_KIND_DIGIT), pl.col("person_id")]).alias("notice_no"),
            pl.lit(fiscal_year, pl.Int64).alias("fiscal_year"),
            pl.lit(municipality).alias("municipality_code"),
            pl.lit(notice_date, pl.Date).alias("notice_date"),
            "person_id", "name_kanji", "name_kana", "birth_date", "registered_address", "residence_postal_code",
            "residence_address", "residence_address_detail", "living_since",
            pl.when(pl.col("total_tax") > 0).then(pl.lit("taxed")).otherwise(pl.lit("exempt")).alias("taxation"),
            "total_tax",
            pl.col("person_id").is_in(protected.implode()).alias("protected"),
        )
        .sort("registered_municipality_code", "person_id")
    )


def held_non_registered_notices(notices: pl.DataFrame) -> pl.DataFrame:
    """The 住登外課税通知 of protected persons, as rows of the hold queue (contract ``NoticeHold``). The
    notice carries no amount (the person's tax is on their own notices, held too): ``amount`` 0, so the hold
    queue's amounts still sum to the tax held."""
    return notices.filter(pl.col("protected")).select(
        "person_id", "notice_no", pl.lit("non_registered_notice").alias("notice_kind"),
        pl.lit(None, pl.String).alias("designation_no"), pl.lit("support_measures").alias("reason"),
        pl.lit(0, pl.Int64).alias("amount"),
    )


__all__ = ["NOTICE_KIND_DIGIT", "NOTICE_COLUMNS", "non_registered_notices", "held_non_registered_notices"]
