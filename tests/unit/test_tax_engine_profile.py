"""The municipality profile as the integer columns the tax engine reads (`profile_columns`).

Expected values are the statutory rates of a 特別区, written out here from the law, not read back from
the rule file through the code under test:
- 所得割: 特別区民税 6%, 都民税 4% (地方税法第35条・第314条の3, 特別区は第1条第2項で市町村の規定を準用);
- 調整控除: 3% / 2% (第37条・第314条の6);
- 寄附金税額控除の基本控除: 6% / 4% (第37条の2第1項・第314条の7第1項);
- 配当控除: 1.6% / 1.2% within the bracket, 0.8% / 0.6% above it (附則第5条第1項・第3項);
- credits computed for both levies are split 3/5 municipal, 2/5 prefectural (附則第5条の4の2, 第37条の2第2項);
- 均等割 3,000円 / 1,000円 (第310条・第38条);
- 東京都区部 is 1級地 (生活保護法による保護の基準 別表第9).
Rates are integers over the engine's scale of 100,000 (6% → 6,000), so no rate is ever a float.
"""

from __future__ import annotations

import copy
import re

import pytest

from transforms.tax_engine import profile_columns
from transforms.tax_rules import Profile, load_municipality_profile

MINATO = "131032"

SPECIAL_WARD_COLUMNS = {
    "income_rate_municipal": 6_000,
    "income_rate_prefectural": 4_000,
    "adjustment_rate_municipal": 3_000,
    "adjustment_rate_prefectural": 2_000,
    "donation_basic_rate_municipal": 6_000,
    "donation_basic_rate_prefectural": 4_000,
    "dividend_lower_rate_municipal": 1_600,
    "dividend_lower_rate_prefectural": 1_200,
    "dividend_upper_rate_municipal": 800,
    "dividend_upper_rate_prefectural": 600,
    "credit_share_num_municipal": 3,
    "credit_share_num_prefectural": 2,
    "credit_share_den": 5,
    "per_capita_municipal": 3_000,
    "per_capita_prefectural": 1_000,
    "grade": 1,
}


def _with_credit_share(municipal: list[int], prefectural: list[int]) -> Profile:
    profile = load_municipality_profile(MINATO)
    parameters = copy.deepcopy(profile.parameters)
    parameters["credit_share"]["municipal"] = municipal
    parameters["credit_share"]["prefectural"] = prefectural
    return Profile(profile.file, profile.header, parameters)


def test_the_special_ward_profile_becomes_the_statutory_integer_columns():
    assert profile_columns(load_municipality_profile(MINATO)) == SPECIAL_WARD_COLUMNS


def test_overrides_for_the_calculator_replace_only_what_they_name():
    profile = load_municipality_profile(MINATO)
    columns = profile_columns(profile, per_capita_municipal=3_500, per_capita_prefectural=1_500, grade=2)
    assert columns == {**SPECIAL_WARD_COLUMNS, "per_capita_municipal": 3_500,
                       "per_capita_prefectural": 1_500, "grade": 2}
    # one override at a time leaves the others at the profile's value
    assert profile_columns(profile, grade=3) == {**SPECIAL_WARD_COLUMNS, "grade": 3}
    assert profile_columns(profile, per_capita_prefectural=0) == {**SPECIAL_WARD_COLUMNS, "per_capita_prefectural": 0}


@pytest.mark.parametrize(
    ("municipal", "prefectural", "why"),
    [
        ([3, 5], [2, 4], "denominators differ"),
        ([3, 5], [3, 5], "shares of one denominator that add up to more than it"),
        ([2, 5], [2, 5], "shares of one denominator that add up to less than it"),
    ],
)
def test_a_credit_share_that_does_not_split_one_whole_is_refused(municipal, prefectural, why):
    profile = _with_credit_share(municipal, prefectural)
    message = f"{profile.file}: credit_share must be two shares of one denominator that add up to it"
    with pytest.raises(ValueError, match=re.escape(message)):
        profile_columns(profile)


def test_a_credit_share_over_another_denominator_that_splits_one_whole_is_accepted():
    # 6/10 + 4/10 is the same split as 3/5 + 2/5, written over another denominator
    columns = profile_columns(_with_credit_share([6, 10], [4, 10]))
    assert (columns["credit_share_num_municipal"], columns["credit_share_num_prefectural"],
            columns["credit_share_den"]) == (6, 4, 10)
