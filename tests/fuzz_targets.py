"""What the fuzzer feeds (issue 16, point 7; docs/testing.md "Fuzzing"): every reader of a file the ward receives
and every calculator's JSON Lines interface, each with the promise it must keep for *any* input:

* a file reader returns its records (with warnings or quarantine rows), or refuses the file with an operator
  error (:class:`contracts.errors.JuminzeiError`, which names the file, record and field) — never another
  exception, which would reach the operator as a traceback;
* a calculator answers every non-blank input line with exactly one JSON line (a result or an error object) and
  never raises.

The inputs are drawn by :func:`fuzzed`: mostly the committed samples of ``data_samples/`` (good and bad) with a
few bytes flipped, replaced, inserted, deleted, lines repeated or swapped, or cut short — so that the reader gets
past its first check — and sometimes bytes of no format at all. ``tests/unit/test_fuzz.py`` runs each target with a
small budget in ``make test``; ``make fuzz`` (``python -m tests.fuzz_run``) with a long one, and prints the
executions and findings of each.
"""

from __future__ import annotations

import io
import json
from collections.abc import Callable
from dataclasses import dataclass
from functools import cache
from pathlib import Path

from hypothesis import strategies as st

REPO = Path(__file__).resolve().parent.parent
SAMPLES = REPO / "data_samples"

# bytes that matter to the readers: separators, quotes, line ends, NUL, Shift_JIS lead bytes, XML, digits
_INTERESTING = [b"\x00", b"\xff", b"\r", b"\n", b"\r\n", b",", b'"', b"\x81", b"\x82\xa0", b"\xef\xbb\xbf", b"<",
                b">", b"&", b"&#0;", b"]]>", b"0", b"9", b" ", b"-", b"\xb1", b"\x1a", b"\xe3\x81\x82"]


@cache
def samples(*patterns: str) -> tuple[bytes, ...]:
    found = tuple(p.read_bytes() for pattern in patterns for p in sorted(SAMPLES.glob(pattern)) if p.is_file())
    if not found:
        raise FileNotFoundError(f"no sample matches {patterns} under {SAMPLES}")
    return found


@st.composite
def fuzzed(draw, seeds: tuple[bytes, ...]) -> bytes:
    """A sample with a few edits, or (one time in ten) any bytes."""
    if draw(st.integers(0, 9)) == 0:
        return draw(st.binary(max_size=4096))
    data = bytearray(draw(st.sampled_from(seeds)))
    for _ in range(draw(st.integers(1, 6))):
        size = len(data)
        where = draw(st.integers(0, max(size - 1, 0)))
        op = draw(st.sampled_from(["flip", "set", "insert", "delete", "truncate", "repeat_line", "swap_lines"]))
        if op == "flip" and size:
            data[where] ^= 1 << draw(st.integers(0, 7))
        elif op == "set" and size:
            piece = draw(st.sampled_from(_INTERESTING))
            data[where:where + len(piece)] = piece
        elif op == "insert":
            data[where:where] = draw(st.one_of(st.sampled_from(_INTERESTING), st.binary(min_size=1, max_size=16)))
        elif op == "delete":
            del data[where:where + draw(st.integers(1, 64))]
        elif op == "truncate":
            del data[where:]
        elif op in ("repeat_line", "swap_lines"):
            lines = bytes(data).split(b"\n")
            if len(lines) > 1:
                i, j = draw(st.integers(0, len(lines) - 1)), draw(st.integers(0, len(lines) - 1))
                if op == "repeat_line":
                    lines.insert(j, lines[i])
                else:
                    lines[i], lines[j] = lines[j], lines[i]
                data = bytearray(b"\n".join(lines))
    return bytes(data)


@dataclass(frozen=True)
class Target:
    """One reader or calculator: ``call`` takes the drawn input; it may raise only ``allowed`` errors."""

    name: str
    strategy: Callable[[], st.SearchStrategy]
    call: Callable[[object], object]


def _operator_errors() -> tuple[type[BaseException], ...]:
    from contracts.errors import JuminzeiError

    return (JuminzeiError,)


def _refused_or_read(read: Callable[[bytes], object]) -> Callable[[bytes], object]:
    def call(data: bytes) -> object:
        try:
            return read(data)
        except _operator_errors() as refused:  # the promised refusal: it must name the file
            assert "fuzz" in str(refused), f"a refusal that does not name the file: {type(refused).__name__}"
            return refused
    return call


# ------------------------------------------------------------------------------------------- file readers
def _csv(fmt: str) -> Callable[[bytes], object]:
    from transforms.parse_csv import parse_csv_document

    return _refused_or_read(lambda data: parse_csv_document(data, fmt, file=f"fuzz/{fmt}.csv"))


def _etax(data: bytes) -> object:
    from transforms.parse_etax import parse_etax_returns

    return parse_etax_returns([("fuzz/return.xtx", data)])


def _registry(source: str) -> Callable[[bytes], object]:
    def read(data: bytes) -> object:
        from contracts.resident_snapshot import load_layout
        from transforms.resident_snapshot import decode_lines, split_fields, validate_fields

        decoded = decode_lines(data, f"fuzz/{source}.csv")
        if decoded.empty or decoded.header is None:
            return decoded
        layout = load_layout(source)
        return validate_fields(split_fields(decoded.lines, layout), layout)
    return _refused_or_read(read)


def _exchange(data: bytes) -> object:
    from transforms.pension_exchange_records import read_exchange_file

    return read_exchange_file(data, file="fuzz/exchange.dta")


def _zengin(kind: str) -> Callable[[bytes], object]:
    def read(data: bytes) -> object:
        from transforms.zengin_records import read_zengin_file, unknown_codes

        read_file = read_zengin_file(data, file=f"fuzz/zengin_{kind}.txt", kind=kind)
        unknown_codes(read_file, kind=kind)
        return read_file
    return _refused_or_read(read)


def _payments(channel: str) -> Callable[[bytes], object]:
    from transforms.payment_records import read_payment_file

    return _refused_or_read(lambda data: read_payment_file(data, file=f"fuzz/{channel}.dat", channel=channel))


# ----------------------------------------------------------------------------------------- calculators
_JSON_SCALARS = st.one_of(st.none(), st.booleans(), st.integers(-10**20, 10**20),
                          st.floats(allow_nan=False, allow_infinity=False), st.text(max_size=12),
                          st.sampled_from(["2026-06-30", "2026-02-30", "2026-13-01", "0001-01-01", "9999-12-31",
                                           "ordinary", "salary", "pension", "special_ward", "", "1e3", "-0"]))


def _json_lines(keys: list[str]) -> st.SearchStrategy:
    value = st.recursive(_JSON_SCALARS, lambda inner: st.one_of(
        st.lists(inner, max_size=3), st.dictionaries(st.sampled_from(keys), inner, max_size=4)), max_leaves=8)
    obj = st.dictionaries(st.sampled_from(keys), value, max_size=len(keys))
    line = st.one_of(obj.map(lambda o: json.dumps(o, ensure_ascii=False)), st.text(max_size=40).filter(
        lambda t: "\n" not in t and "\r" not in t), value.map(json.dumps))
    return st.lists(line, min_size=1, max_size=4)


CALC_KEYS = ["fiscal_year", "taxpayer", "income", "deductions", "relatives", "birth_date", "salary_revenue",
             "public_pension_revenue", "spouse", "dependants", "municipality_kind", "x", "business_income",
             "disability", "widow", "furusato", "donations", "housing_loan", "id"]
INSTALLMENT_KEYS = ["fiscal_year", "method", "annual_tax", "pension_annual_tax", "provisional", "start_month",
                    "notice_date", "x", "id"]
LATE_CHARGE_KEYS = ["tax_amount", "due_date", "payments", "computed_on", "x", "id", "paid_on", "amount"]


def _one_answer_per_line(run: Callable[[io.StringIO, io.StringIO], int]) -> Callable[[list[str]], object]:
    def call(lines: list[str]) -> object:
        out = io.StringIO()
        run(io.StringIO("\n".join(lines) + "\n"), out)
        answers = out.getvalue().splitlines()
        asked = [line for line in lines if line.strip()]
        assert len(answers) == len(asked), f"{len(asked)} lines asked, {len(answers)} answered"
        for answer in answers:
            json.loads(answer)
        return answers
    return call


def _calc(stream_in, stream_out) -> int:
    from juminzei.calc import run_calculator

    return run_calculator(stream_in, stream_out)


def _installments(stream_in, stream_out) -> int:
    from juminzei.installments import run_installments

    return run_installments(stream_in, stream_out)


def _late_charge(stream_in, stream_out) -> int:
    from juminzei.late_charge import run_late_charge

    return run_late_charge(stream_in, stream_out)


def _files(*patterns: str) -> Callable[[], st.SearchStrategy]:
    return lambda: fuzzed(samples(*patterns))


def targets() -> list[Target]:
    out = [
        Target(f"csv:{fmt}", _files(f"landing/{fmt}/**/*.csv", f"bad/{fmt}/**/*.csv"), _csv(fmt))
        for fmt in ("salary_report", "salary_summary", "pension_report", "resident_return", "furusato_notice")
    ]
    out.append(Target("etax_xml", _files("landing/etax_return/**/*.xtx", "bad/etax_return/**/*.xtx"),
                      _refused_or_read(_etax)))
    out += [Target(f"registry:{source}", _files(f"landing/{source}/**/*.csv", f"bad/{source}/**/*.csv"),
                   _registry(source))
            for source in ("resident_registry", "my_number", "non_registered_register", "resident_changes")]
    out.append(Target("pension_exchange_500", _files("exchange/inbound/*.dta", "exchange/bad/*.dta",
                                                     "landing/pension_exchange/**/*.dta"),
                      _refused_or_read(_exchange)))
    out += [Target("zengin:21", _files("payments/outbound/sogo_furikomi_21_*.txt"), _zengin("21")),
            Target("zengin:91_result", _files("payments/inbound/account_transfer_result_*.txt",
                                              "payments/bad/account_transfer_result_*.txt"), _zengin("91_result"))]
    out += [Target(f"payments:{channel}", _files(f"payments/inbound/{channel}_*", f"payments/bad/{channel}_*"),
                   _payments(channel))
            for channel in ("convenience", "mpn", "el_qr", "bank_counter", "special_remittance")]
    out += [Target("calc_jsonl", lambda: _json_lines(CALC_KEYS), _one_answer_per_line(_calc)),
            Target("installments_jsonl", lambda: _json_lines(INSTALLMENT_KEYS), _one_answer_per_line(_installments)),
            Target("late_charge_jsonl", lambda: _json_lines(LATE_CHARGE_KEYS), _one_answer_per_line(_late_charge))]
    return out
