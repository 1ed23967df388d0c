"""Published municipal worked examples (計算例), one YAML file each in tests/worked_examples/.

Every figure in ``expected`` (calculator output keys) and ``expected_engine`` (intermediate columns of
the engine, or sums ``a+b``) was printed on the page named by ``source_url``; none was computed for
this project. The calculator (`juminzei.calc.calculate`, the same engine as the DAG) must match every
one to the yen. See tests/worked_examples/README.md for how each page became an input.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import yaml

from juminzei.calc import calculate
from transforms.tax_engine import OUTPUT_COLUMNS

CASES = sorted((Path(__file__).resolve().parent.parent / "worked_examples").glob("*.yaml"))


def _load(path: Path) -> dict:
    return yaml.safe_load(path.read_text(encoding="utf-8"))


def test_enough_published_examples_cover_the_required_topics():
    cases = [_load(p) for p in CASES]
    assert len(cases) >= 20
    covered = {topic for case in cases for topic in case.get("covers", [])}
    for topic in ("salary", "pension", "business", "spouse", "dependants", "adjustment_credit_small",
                  "adjustment_credit_large", "furusato", "exemption"):
        assert topic in covered, topic


@pytest.mark.parametrize("path", CASES, ids=[p.stem for p in CASES])
def test_worked_example_matches_every_published_figure(path: Path):
    case = _load(path)
    assert case["id"] == path.stem
    assert str(case["source_url"]).startswith("http"), "every case cites the page its figures come from"
    assert case["input"]["fiscal_year"] == case["fiscal_year_used"]
    expected = case.get("expected") or {}
    engine_expected = case.get("expected_engine") or {}
    assert expected or engine_expected, "a case must compare at least one published figure"
    assert set(expected) <= set(OUTPUT_COLUMNS)
    data = json.loads(json.dumps(case["input"], default=str))  # YAML dates → ISO strings, as on stdin
    (summary,) = calculate([data])
    assert "error" not in summary, summary
    mismatches = {key: (value, summary[key]) for key, value in expected.items() if summary[key] != value}
    if engine_expected:
        (detail,) = calculate([data], detail=True)
        for key, value in engine_expected.items():
            actual = sum(detail[part] for part in key.split("+"))
            if actual != value:
                mismatches[key] = (value, actual)
    assert not mismatches, f"{case['source_url']}: published vs computed {mismatches}"
