"""Fuzzing every reader and calculator (issue 16, point 7; the targets and their promise: tests/fuzz_targets.py).

``make test`` runs each target on a small, fixed draw (``FUZZ_EXAMPLES``, default 25; derandomised, so CI runs the
same inputs every time); ``make fuzz`` runs a long random budget and prints executions and findings per target.
A failure shows the smallest input hypothesis found, which then belongs in a unit test of its reader.
"""

from __future__ import annotations

import os

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tests.fuzz_targets import targets

#: many parser runs per target: left out of mutation runs (docs/testing.md)
pytestmark = pytest.mark.slow

TARGETS = {t.name: t for t in targets()}
BUDGET = settings(max_examples=int(os.environ.get("FUZZ_EXAMPLES", "25")), deadline=None, derandomize=True,
                  database=None, suppress_health_check=list(HealthCheck), print_blob=True)


@pytest.mark.parametrize("name", sorted(TARGETS))
def test_any_input_is_read_refused_or_answered_never_a_traceback(name):
    target = TARGETS[name]

    @BUDGET
    @given(st.data())
    def run(data):
        target.call(data.draw(target.strategy(), label=name))

    run()


def test_every_reader_and_calculator_is_a_target():
    """The readers of issue 16's list — CSV, e-Tax XML, the registry files, 500-byte pension records, 全銀
    records, payment files — and the three calculators' JSON interfaces."""
    kinds = {name.split(":")[0] for name in TARGETS}
    assert kinds == {"csv", "etax_xml", "registry", "pension_exchange_500", "zengin", "payments", "calc_jsonl",
                     "installments_jsonl", "late_charge_jsonl"}
    assert {n for n in TARGETS if n.startswith("payments:")} == {
        "payments:convenience", "payments:mpn", "payments:el_qr", "payments:bank_counter",
        "payments:special_remittance"}


def test_the_fuzzer_finds_a_reader_that_raises_something_else_than_an_operator_error():
    """The harness is not blind: a reader that chokes on a NUL byte (an IndexError, not a JuminzeiError) is found
    within the same budget, from the same samples."""
    from tests.fuzz_targets import Target, _refused_or_read, fuzzed, samples

    def fragile(data: bytes) -> object:
        if b"\x00" in data or len(data) < 100:
            raise IndexError("list index out of range")
        return data

    target = Target("fragile", lambda: fuzzed(samples("payments/inbound/mpn_*")), _refused_or_read(fragile))

    @BUDGET
    @given(st.data())
    def run(data):
        target.call(data.draw(target.strategy()))

    with pytest.raises(IndexError):
        run()
