"""The generated population: the contract between the population builder and the document writers.

`population.build_population()` returns a :class:`Population`; `documents.write_documents()` renders it
into the wire formats. Column names and dtypes below are binding for both sides (checked by
:func:`Population.check`). Money is integer yen (Int64). Income facts are for calendar year Y-1 of
fiscal year Y (賦課期日 1 January Y).
"""

from __future__ import annotations

from dataclasses import dataclass

import polars as pl

# One row per generated person: registry residents, people removed during Y-1, 住登外 people living in
# the ward without registration, and outsiders (dependants living elsewhere etc.).
PERSONS: dict[str, pl.DataType] = {
    "person_id": pl.Int64(),                # generator id, 0..n-1, stable for a seed
    "atena_no": pl.String(),                # 宛名番号 (10 digits): the registry's, or 09… for a 住登外者 the ward confirmed; else null
    "household_id": pl.Int64(),             # generator household id (also for outsiders)
    "household_no": pl.String(),            # 世帯番号 (10 digits): the registry's, or 095… for confirmed 住登外; else null
    "relationship": pl.String(),            # 続柄 to the household head (世帯主, 妻, 子 …)
    "family_name_kanji": pl.String(),       # 氏 (may hold characters outside JIS X 0208 for a few)
    "given_name_kanji": pl.String(),        # 名
    "family_name_kana": pl.String(),        # 氏 カナ, full-width katakana
    "given_name_kana": pl.String(),         # 名 カナ
    "alias_kanji": pl.String(),             # 通称 (some foreign residents), else null
    "alias_kana": pl.String(),
    "birth_date": pl.Date(),                # 生年月日
    "sex": pl.Int8(),                       # 性別 1 男 / 2 女
    "resident_type": pl.Int8(),             # 住民区分 1 日本人住民 / 2 外国人住民
    "nationality": pl.String(),             # 国籍, null for Japanese
    "my_number": pl.String(),               # 個人番号, 12-digit string with valid check digit; null for a few
    "registry_status": pl.String(),         # resident | moved_out | deceased | not_registered | outsider
    "in_registry": pl.Boolean(),            # appears in the 1 January registry extract
    "ward_town_code": pl.String(),          # 町字コード of the ward address (residents, removed, 住登外)
    "ward_postal_code": pl.String(),        # 7 digits
    "ward_address": pl.String(),            # 東京都港区…番…号 (the registry address)
    "ward_address_detail": pl.String(),     # 方書 (building, room) or null
    "jan1_municipality_code": pl.String(),  # municipality of residence on 1 January Y (6 digits); null if deceased
    "jan1_address": pl.String(),            # full address on 1 January Y (outside the ward for moved_out/outsider)
    "jan1_postal_code": pl.String(),
    "became_resident_date": pl.Date(),      # 住民となった年月日 (a confirmed 住登外者: 居住開始年月日); else null
    "registered_municipality_code": pl.String(),  # a confirmed 住登外者's 住民票 municipality; else null
    "registered_address": pl.String(),      # its address there; else null
    "removal_reason": pl.String(),          # 消除事由: 転出 | 死亡 | null
    "removal_date": pl.Date(),              # 消除年月日 (within Y-1) or null
    "livelihood_assistance": pl.Boolean(),  # 生活保護 生活扶助 on 1 January Y
    "disability_certificate": pl.String(),  # 身体 | 精神 | 療育 | null
    "disability_grade": pl.String(),        # 身体 "1".."6", 精神 "1".."3", 療育 "A"/"B"
    "special_disability": pl.Boolean(),     # 特別障害者
    "widow": pl.Boolean(),                  # 寡婦
    "single_parent": pl.Boolean(),          # ひとり親
    "working_student": pl.Boolean(),        # 勤労学生
    "income_profile": pl.String(),          # salaried | pensioner | self_employed | landlord | student | none …
    "business_revenue": pl.Int64(),         # 事業(営業等) 収入金額
    "business_income": pl.Int64(),          # 事業(営業等) 所得金額
    "real_estate_income": pl.Int64(),       # 不動産所得
    "dividend_income": pl.Int64(),          # 配当所得 (総合課税 chosen)
    "misc_income": pl.Int64(),              # その他の雑所得
    "occasional_income": pl.Int64(),        # 一時所得 (before 1/2)
    "social_insurance_paid": pl.Int64(),    # 社会保険料 paid by the person outside payroll (国保, 国民年金 …)
    "small_enterprise_mutual_aid": pl.Int64(),
    "life_insurance_new_general": pl.Int64(),
    "life_insurance_old_general": pl.Int64(),
    "life_insurance_new_pension": pl.Int64(),
    "life_insurance_old_pension": pl.Int64(),
    "life_insurance_care_medical": pl.Int64(),
    "earthquake_insurance": pl.Int64(),
    "medical_expenses": pl.Int64(),
    "spouse_person_id": pl.Int64(),         # spouse (if married), else null
    "files_final_return": pl.Boolean(),     # files a 確定申告書 (e-Tax)
    "files_resident_return": pl.Boolean(),  # files a 特別区民税・都民税申告書
}

# 特別徴収義務者 (employers). One row per employer that pays at least one generated person.
EMPLOYERS: dict[str, pl.DataType] = {
    "employer_id": pl.Int64(),
    "designation_no": pl.String(),          # 特別徴収義務者指定番号 (the ward's number for this employer)
    "corporate_number": pl.String(),        # 法人番号, 13 digits with valid check digit (null for a sole proprietor)
    "name": pl.String(),                    # 名称
    "address": pl.String(),                 # 所在地
    "postal_code": pl.String(),
    "phone": pl.String(),
    "business_type": pl.String(),           # 事業種目
}

# One row per (person, employer) salary relationship in calendar year Y-1.
EMPLOYMENTS: dict[str, pl.DataType] = {
    "employment_id": pl.Int64(),
    "person_id": pl.Int64(),
    "employer_id": pl.Int64(),
    "employee_no": pl.String(),             # 受給者番号
    "is_primary": pl.Boolean(),             # 主たる給与 (甲欄, year-end adjustment done) vs 従たる (乙欄)
    "salary_revenue": pl.Int64(),           # 支払金額
    "withholding_tax": pl.Int64(),          # 源泉徴収税額
    "social_insurance": pl.Int64(),         # 社会保険料等の金額 withheld by this employer
    "start_date": pl.Date(),                # 中途就職 date within Y-1, else null
    "end_date": pl.Date(),                  # 中途退職 date within Y-1, else null (退職 ⇒ 普通徴収)
    "ordinary_collection": pl.Boolean(),    # 普通徴収 requested on the report
    "ordinary_collection_reason": pl.String(),  # 普A..普F or null
}

# One row per (person, pension payer) public pension in Y-1.
PENSIONS: dict[str, pl.DataType] = {
    "pension_id": pl.Int64(),
    "person_id": pl.Int64(),
    "payer_code": pl.String(),              # 特別徴収義務者コード (999 日本年金機構, 501, 594 …)
    "payer_name": pl.String(),
    "basic_pension_no": pl.String(),        # 基礎年金番号 (10)
    "pension_code": pl.String(),            # 年金コード (4)
    "pension_revenue": pl.Int64(),          # 支払金額
    "withholding_tax": pl.Int64(),
    "social_insurance": pl.Int64(),         # 介護保険料 etc. withheld
}

# Dependants claimed by a taxpayer (spouse and 扶養親族), whether or not they live in the ward.
DEPENDANTS: dict[str, pl.DataType] = {
    "taxpayer_person_id": pl.Int64(),
    "dependant_person_id": pl.Int64(),
    "kind": pl.String(),                    # spouse | dependant
    "living_together": pl.Boolean(),        # 同居 (for 同居老親等 and 同居特別障害者)
}

# ふるさと納税 and other donations in Y-1.
DONATIONS: dict[str, pl.DataType] = {
    "donation_id": pl.Int64(),
    "person_id": pl.Int64(),
    "recipient_municipality_code": pl.String(),  # 寄附先団体コード (6)
    "recipient_name": pl.String(),
    "amount": pl.Int64(),
    "donation_date": pl.Date(),
    "one_stop": pl.Boolean(),               # 申告特例 requested (→ 申告特例通知書 to the ward)
}

SCHEMAS: dict[str, dict[str, pl.DataType]] = {
    "persons": PERSONS,
    "employers": EMPLOYERS,
    "employments": EMPLOYMENTS,
    "pensions": PENSIONS,
    "dependants": DEPENDANTS,
    "donations": DONATIONS,
}


@dataclass(frozen=True)
class Population:
    """Everything the document writers need, for one municipality and fiscal year."""

    municipality_code: str
    fiscal_year: int
    seed: int
    persons: pl.DataFrame
    employers: pl.DataFrame
    employments: pl.DataFrame
    pensions: pl.DataFrame
    dependants: pl.DataFrame
    donations: pl.DataFrame

    def check(self) -> None:
        """Raise if any frame departs from the binding schema (names, order and dtypes)."""
        for name, schema in SCHEMAS.items():
            frame: pl.DataFrame = getattr(self, name)
            expected = list(schema.items())
            actual = list(frame.schema.items())
            if actual != expected:
                raise ValueError(f"population frame {name!r}: expected {expected}, got {actual}")
