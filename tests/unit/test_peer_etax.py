"""An e-Tax 所得税確定申告 XTX written by another implementation, read by the real parser.

The file is ../shared/peer-files/etax_xtx_shotoku/kazukinagata__shinkoku__income_tax_r07.GENERATED-758baf6.xtx
(never copied into the repository; the test skips when the folder is absent). Its provenance note
(../shared/peer-files/SOURCES.md) records, independently of our parser, what is wrong with it:

* the 個人番号 ``123456789012`` has a wrong check digit (the valid one ends in 8): 平成26年総務省令第85号
  第5条 — a return whose 個人番号 fails the check is not a return we may attach to a person;
* ``gen:zeimusho_CD`` (提出先税務署) and ``NOZEISHA_ID`` (利用者識別番号) are empty.

So the outcome the format demands is a refusal with those reasons, not a staged return, and the
refusal must not echo the number, the name or the address. A second test repairs only the check digit
(computed here from the 省令's formula, not by our code) and shows the file is still refused, for the
empty elements alone: the refusal of the first test is not only the check digit's.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from transforms.parse_etax import parse_etax_returns

PEER = (Path(__file__).resolve().parents[2] / ".." / "shared" / "peer-files" / "etax_xtx_shotoku"
        / "kazukinagata__shinkoku__income_tax_r07.GENERATED-758baf6.xtx")
LANDING_NAME = "etax_return/20260315_etax_000001.xtx"  # the landing name pattern of contracts/layouts/etax_return.yaml
PEER_NUMBER = "123456789012"  # SOURCES.md: the fixture's 個人番号, check digit wrong


def peer_bytes() -> bytes:
    if not PEER.is_file():
        pytest.skip(f"peer file not available: {PEER} (../shared/peer-files is not part of the repository)")
    return PEER.read_bytes()


def check_digit(first_eleven: str) -> int:
    """平成26年総務省令第85号 第5条: Σ Pn×Qn over n = 1…11 counted from the right, Qn = n+1 for n ≤ 6 and
    n−5 for n ≥ 7; remainder r = Σ mod 11; check digit 0 when r ≤ 1, else 11 − r."""
    digits = [int(c) for c in reversed(first_eleven)]
    total = sum(p * (n + 1 if n <= 6 else n - 5) for n, p in enumerate(digits, start=1))
    remainder = total % 11
    return 0 if remainder <= 1 else 11 - remainder


def test_the_check_digit_formula_agrees_with_the_provenance_note():
    # SOURCES.md: "valid would end in 8".
    assert check_digit(PEER_NUMBER[:11]) == 8
    assert int(PEER_NUMBER[11]) != check_digit(PEER_NUMBER[:11])


def test_the_peer_return_is_refused_for_its_documented_defects():
    data = peer_bytes()
    assert PEER_NUMBER.encode() in data, "the peer file changed: its provenance note no longer describes it"
    parsed = parse_etax_returns([(LANDING_NAME, data)])

    assert parsed.returns.height == 0
    assert parsed.dependants.height == 0
    reasons = {(row["field"], row["reason_code"]) for row in parsed.quarantine.iter_rows(named=True)}
    assert ("IT/NOZEISHA_BANGO/gen:kojinbango", "bad_my_number_check_digit") in reasons
    assert ("IT/ZEIMUSHO/gen:zeimusho_CD", "missing_required_element") in reasons
    assert ("IT/NOZEISHA_ID", "missing_required_element") in reasons
    # One document, one record: every row names the file and record 1.
    assert set(parsed.quarantine["file"]) == {LANDING_NAME}
    assert set(parsed.quarantine["record_no"]) == {1}
    # The refusal never repeats personal data of the document (number, name, address, telephone).
    text = "\n".join(parsed.quarantine["message"].to_list())
    for personal in (PEER_NUMBER, "山田", "太郎", "千代田", "090-1234-5678"):
        assert personal not in text


def test_with_a_valid_check_digit_the_return_is_still_refused_for_the_empty_elements():
    data = peer_bytes()
    repaired_number = PEER_NUMBER[:11] + str(check_digit(PEER_NUMBER[:11]))
    repaired = data.replace(PEER_NUMBER.encode(), repaired_number.encode())
    parsed = parse_etax_returns([(LANDING_NAME, repaired)])

    assert parsed.returns.height == 0
    reasons = set(parsed.quarantine["reason_code"])
    assert "bad_my_number_check_digit" not in reasons
    assert reasons == {"missing_required_element"}
    fields = set(parsed.quarantine["field"])
    assert {"IT/ZEIMUSHO/gen:zeimusho_CD", "IT/NOZEISHA_ID"} <= fields
