"""The `make mutate` report (tests/mutation/run.py): how mutmut's verdicts become a killed share per
module, and when a module fails (issue 12 item 4; docs/testing.md "Mutation testing").

The verdict lines below are written the way ``mutmut results --all true`` prints them (mutmut 3.8:
``    <module>.x_<function>__mutmut_<n>: <verdict>``, methods as ``x<U+01C1><Class><U+01C1><method>``).
"""

from __future__ import annotations

import os
import tomllib

import pytest

from tests.mutation import run

# These test tests/mutation/run.py, which is not mutated, and read the checkout's configuration, which a
# `make mutate MUTATE=…` run narrows in its copy: inside a mutation run they have nothing to say.
pytestmark = pytest.mark.skipif("MUTANT_UNDER_TEST" in os.environ, reason="inside a mutation run")

TARGETS = {"default_min_killed_percent": 80, "min_killed_percent": {"transforms/tax_engine.py": 90}}


def test_module_of_functions_and_methods():
    assert run.module_of("transforms.tax_engine.x_income_levy__mutmut_12") == "transforms/tax_engine.py"
    assert run.module_of("pipelines.lake.xǁLakeǁwrite_partition__mutmut_3") == "pipelines/lake.py"
    with pytest.raises(ValueError, match="not a mutmut mutant name"):
        run.module_of("transforms/tax_engine.py")


def test_parse_results_reads_every_verdict_and_ignores_other_lines():
    text = (
        "some warning from a library\n"
        "    transforms.corrections.x_history__mutmut_1: killed\n"
        "    transforms.corrections.x_history__mutmut_2: survived\n"
        "    transforms.corrections.xǁHistoryǁlatest__mutmut_1: no tests\n"
        "    transforms.corrections.x_history__mutmut_3: not checked\n"
    )
    assert run.parse_results(text) == {
        "transforms.corrections.x_history__mutmut_1": "killed",
        "transforms.corrections.x_history__mutmut_2": "survived",
        "transforms.corrections.xǁHistoryǁlatest__mutmut_1": "no tests",
        "transforms.corrections.x_history__mutmut_3": "not checked",
    }


def test_parse_accepted_reads_only_its_section_and_demands_a_reason():
    doc = (
        "# Testing\n\n## Other\n\n| `transforms.a.x_f__mutmut_1` | not this one |\n\n"
        f"{run.ACCEPTED_HEADING}\n\n| mutant | reason |\n|---|---|\n"
        "| `transforms.a.x_f__mutmut_2` | equivalent: the bound is never reached |\n"
        "\n## After\n| `transforms.a.x_f__mutmut_3` | nor this |\n"
    )
    assert run.parse_accepted(doc) == {"transforms.a.x_f__mutmut_2": "equivalent: the bound is never reached"}
    with pytest.raises(ValueError, match="has no reason"):
        run.parse_accepted(f"{run.ACCEPTED_HEADING}\n| `transforms.a.x_f__mutmut_2` |  |\n")


def _verdicts(module: str, **counts: int) -> dict[str, str]:
    names, n = {}, 0
    for verdict, count in counts.items():
        for _ in range(count):
            n += 1
            names[f"{module}.x_f__mutmut_{n}"] = verdict.replace("_", " ")
    return names


def test_killed_share_counts_timeouts_as_kills_and_excludes_accepted_equivalents():
    # 20 mutants: 16 killed, 2 timeout, 2 survived of which 1 accepted as equivalent.
    # killed share = 18 / (20 − 1) = 94.7 % ≥ 90, but one survivor is unexplained → not ok.
    verdicts = _verdicts("transforms.tax_engine", killed=16, timeout=2, survived=2)
    accepted = {"transforms.tax_engine.x_f__mutmut_19": "equivalent"}
    [result] = run.summarise(verdicts, accepted, TARGETS)
    assert (result.total, result.killed, result.survived, result.accepted) == (20, 18, 1, 1)
    assert result.killed_percent == pytest.approx(100 * 18 / 19)
    assert result.unexplained == ["transforms.tax_engine.x_f__mutmut_20"]
    assert not result.ok
    accepted["transforms.tax_engine.x_f__mutmut_20"] = "accepted: logging only"
    [result] = run.summarise(verdicts, accepted, TARGETS)
    assert result.ok and result.killed_percent == pytest.approx(100.0)


def test_threshold_per_module_and_untested_mutants_count_against_it():
    # normalize: 8 killed, 2 without any test → 80 % meets the default 80 but the two are unexplained;
    # tax_engine: 17 of 20 = 85 % misses its 90.
    verdicts = {
        **_verdicts("transforms.normalize", killed=8, no_tests=2),
        **_verdicts("transforms.tax_engine", killed=17, survived=3),
    }
    normalize, tax_engine = run.summarise(verdicts, {}, TARGETS)
    assert (normalize.module, normalize.threshold, normalize.killed_percent) == ("transforms/normalize.py", 80, 80.0)
    assert normalize.no_tests == 2 and not normalize.ok
    assert (tax_engine.threshold, tax_engine.killed_percent, tax_engine.ok) == (90, 85.0, False)
    accepted = {name: "accepted" for name in normalize.unexplained}
    assert run.summarise(verdicts, accepted, TARGETS)[0].ok


def test_an_unfinished_run_or_an_unknown_verdict_is_never_ok():
    [partial] = run.summarise(_verdicts("transforms.a", killed=9, not_checked=1), {}, TARGETS)
    assert partial.killed_percent == 100.0 and not partial.ok
    [odd] = run.summarise({"transforms.a.x_f__mutmut_1": "something new"}, {}, TARGETS)
    assert odd.survived == 1 and not odd.ok


def test_stale_acceptances_are_reported():
    verdicts = {
        "transforms.a.x_f__mutmut_1": "killed", "transforms.a.x_f__mutmut_2": "survived",
        "transforms.a.x_f__mutmut_3": "not checked",
    }
    accepted = {
        "transforms.a.x_f__mutmut_3": "equivalent, not re-checked by an interrupted run",
        "transforms.a.x_f__mutmut_1": "was equivalent",
        "transforms.a.x_f__mutmut_2": "equivalent",
        "transforms.a.x_f__mutmut_9": "gone",
        "transforms.b.x_g__mutmut_1": "other module, not run",
    }
    assert run.stale_acceptances(verdicts, accepted, ["transforms/a.py"]) == [
        "transforms.a.x_f__mutmut_1", "transforms.a.x_f__mutmut_9",
    ]



def test_recheck_takes_the_survivors_and_untested_of_the_modules_named():
    verdicts = {
        "transforms.a.x_f__mutmut_1": "killed", "transforms.a.x_f__mutmut_2": "survived",
        "transforms.a.x_f__mutmut_3": "no tests", "transforms.a.x_f__mutmut_4": "not checked",
        "transforms.a.x_f__mutmut_5": "timeout", "transforms.a.x_f__mutmut_6": "suspicious",
        "transforms.b.x_g__mutmut_1": "survived",
    }
    assert run.recheck_names(verdicts, ["transforms/a.py"]) == [
        "transforms.a.x_f__mutmut_2", "transforms.a.x_f__mutmut_3", "transforms.a.x_f__mutmut_6",
    ]
    assert run.recheck_names(verdicts, []) == [
        "transforms.a.x_f__mutmut_2", "transforms.a.x_f__mutmut_3", "transforms.a.x_f__mutmut_6",
        "transforms.b.x_g__mutmut_1",
    ]
    assert run.recheck_names(verdicts, ["transforms/*.py"]) == run.recheck_names(verdicts, [])


def test_a_named_module_narrows_only_mutate_in_the_copy_and_nothing_else():
    pyproject = (
        '[tool.pytest.ini_options]\nmarkers = ["slow: x"]\n\n[tool.mutmut]\nsource_paths = ["transforms", "pipelines"]\n'
        'only_mutate = ["transforms/*.py", "pipelines/lake.py"]\ndo_not_mutate = ["*/__init__.py"]\n'
        'pytest_add_cli_args = ["-m", "not slow"]\n'
    )
    scoped = run.scoped_config(pyproject, ["transforms/tax_engine.py", "pipelines/lake.py"])
    assert tomllib.loads(scoped)["tool"]["mutmut"]["only_mutate"] == ["transforms/tax_engine.py", "pipelines/lake.py"]
    # every other setting is the checkout's
    before, after = tomllib.loads(pyproject), tomllib.loads(scoped)
    before["tool"]["mutmut"].pop("only_mutate"), after["tool"]["mutmut"].pop("only_mutate")
    assert before == after
    with pytest.raises(ValueError, match="not in the mutation scope"):
        run.scoped_config(pyproject, ["juminzei/cli.py"])


def test_a_changed_source_module_means_tracing_every_test_again():
    pyproject = '[tool.mutmut]\nsource_paths = ["transforms", "contracts", "pipelines"]\n'
    assert run.sources_changed(["docs/testing.md", "transforms/tax_engine.py"], pyproject)
    assert run.sources_changed(["pipelines/runtime.py"], pyproject)
    assert not run.sources_changed(["tests/unit/test_tax_engine.py", "docs/testing.md", "juminzei/cli.py"], pyproject)
    assert not run.sources_changed(["transforms/data/codes.csv"], pyproject)

def test_a_module_left_unmutated_by_a_run_scoped_elsewhere_is_found(tmp_path):
    # a run scoped to safe_xml copies tax_engine plain into mutants/; mutmut 3.8 would then take that copy,
    # newer than its source, for an up-to-date mutant file and mutate nothing in a later tax_engine run;
    # a module never mutated has no copy at all. Both must be written again, and the tests traced again.
    (tmp_path / "transforms").mkdir()
    (tmp_path / "mutants" / "transforms").mkdir(parents=True)
    (tmp_path / "transforms" / "__init__.py").write_text("")
    (tmp_path / "transforms" / "tax_engine.py").write_text("def f():\n    return 1\n")
    (tmp_path / "transforms" / "safe_xml.py").write_text("def g():\n    return 2\n")
    (tmp_path / "transforms" / "new.py").write_text("def h():\n    return 3\n")  # no copy yet
    (tmp_path / "mutants" / "transforms" / "tax_engine.py").write_text("def f():\n    return 1\n")
    (tmp_path / "mutants" / "transforms" / "safe_xml.py").write_text("def g():\n    return 2  # mutmut_1\n")
    copies = tmp_path / "mutants" / "transforms"
    assert run.unmutated_copies(tmp_path, ["transforms/*.py"]) == [copies / "new.py", copies / "tax_engine.py"]
    assert run.unmutated_copies(tmp_path, ["transforms/safe_xml.py"]) == []


def test_a_mutated_copy_cut_short_by_a_stopped_run_is_written_again(tmp_path):
    # a run stopped while mutmut wrote the mutants leaves a file that parses but lacks the module's later
    # definitions; mutmut takes it for up to date, and every test importing them fails to collect
    (tmp_path / "transforms").mkdir()
    copies = tmp_path / "mutants" / "transforms"
    copies.mkdir(parents=True)
    (tmp_path / "transforms" / "matching.py").write_text("SCHEMA = {}\ndef f():\n    return 1\ndef g():\n    return 2\n")
    (copies / "matching.py").write_text("SCHEMA = {}\ndef f():\n    return 1  # mutmut\n")
    assert run.unmutated_copies(tmp_path, ["transforms/matching.py"]) == [copies / "matching.py"]
    (copies / "matching.py").write_text("SCHEMA = {}\ndef f():\n    return 1  # mutmut\ndef g(:\n")
    assert run.unmutated_copies(tmp_path, ["transforms/matching.py"]) == [copies / "matching.py"]
    (copies / "matching.py").write_text("SCHEMA = {}\ndef f():\n    return 1  # mutmut\ndef g():\n    return 2\n"
                                        "def x_g__mutmut_1():\n    return 3\n")
    assert run.unmutated_copies(tmp_path, ["transforms/matching.py"]) == []


def test_a_trace_that_maps_no_function_to_a_test_is_taken_again(tmp_path):
    stats = tmp_path / "mutmut-stats.json"
    stats.write_text('{"tests_by_mangled_function_name": {}, "duration_by_test": {"t": 0.1}}')
    assert not run.traced_anything(stats)
    stats.write_text('{"tests_by_mangled_function_name": {"transforms.tax_engine.x_f": ["t"]}}')
    assert run.traced_anything(stats)
    stats.write_text("{not json")
    assert not run.traced_anything(stats)


def test_module_paths_become_mutmut_name_globs():
    assert run.mutmut_names(["transforms/tax_engine.py", "contracts/*.py"]) == [
        "transforms.tax_engine.*", "contracts.*.*",
    ]
    with pytest.raises(ValueError, match="ending in .py"):
        run.mutmut_names(["transforms"])


def test_the_committed_configuration_names_the_issues_targets():
    """pyproject's [tool.mutmut] mutates the core of issue 12 and targets.toml holds its thresholds."""
    pyproject = tomllib.loads((run.REPO / "pyproject.toml").read_text(encoding="utf-8"))["tool"]["mutmut"]
    assert set(pyproject["only_mutate"]) == {
        "transforms/*.py", "contracts/*.py", "pipelines/stage.py", "pipelines/lake.py", "pipelines/ledger.py",
    }
    targets = tomllib.loads(run.TARGETS_FILE.read_text(encoding="utf-8"))
    assert run.threshold_for("transforms/tax_engine.py", targets) == 90
    assert run.threshold_for("transforms/record_merge.py", targets) == 90
    assert run.threshold_for("pipelines/lake.py", targets) == 80
    assert run.parse_accepted((run.REPO / "docs" / "testing.md").read_text(encoding="utf-8")) is not None


MUTATED = '''
import polars as pl


def x_f__mutmut_orig(column):
    c = pl.col(column)
    return pl.when(c != "").then(c).otherwise(pl.lit(None, pl.String))


def x_f__mutmut_1(column):
    c = pl.col(column)
    return pl.when(c != "").then(c).otherwise(None)


def x_f__mutmut_2(column):
    c = pl.col(column)
    return pl.when(c == "").then(c).otherwise(None)


class Lake:
    def xǁLakeǁwrite__mutmut_orig(self, a):
        return a + 1

    def xǁLakeǁwrite__mutmut_1(self, a):
        return a + 2
'''


def test_a_mutants_diff_is_its_changed_lines_against_the_original():
    assert run.mutant_diff(MUTATED, "transforms.m.x_f__mutmut_1") == (
        '- return pl.when(c != "").then(c).otherwise(pl.lit(None, pl.String))\n'
        '+ return pl.when(c != "").then(c).otherwise(None)')
    assert run.mutant_diff(MUTATED, "pipelines.lake.xǁLakeǁwrite__mutmut_1") == "- return a + 1\n+ return a + 2"
    with pytest.raises(KeyError):
        run.mutant_diff(MUTATED, "transforms.m.x_f__mutmut_9")


def test_a_pattern_accepts_only_the_class_of_change_it_describes():
    doc = "\n".join([
        "## Accepted mutant patterns", "",
        "| modules | pattern | reason |", "|---|---|---|",
        r"| `transforms/*.py` | `^- (.*)\.otherwise\(pl\.lit\(None, pl\.\w+\)\)(.*)\n\+ \1\.otherwise\(None\)\2$` | a null literal takes the then-branch's dtype |",
        "", "## Next", "| `x` | `y` | z |",
    ])
    (pattern,) = run.parse_patterns(doc)
    only_the_literal = run.mutant_diff(MUTATED, "transforms.m.x_f__mutmut_1")
    also_the_condition = run.mutant_diff(MUTATED, "transforms.m.x_f__mutmut_2")
    assert run.accepted_by_pattern("transforms/m.py", only_the_literal, [pattern]) == "a null literal takes the then-branch's dtype"
    assert run.accepted_by_pattern("transforms/m.py", also_the_condition, [pattern]) is None  # a real change too
    assert run.accepted_by_pattern("pipelines/lake.py", only_the_literal, [pattern]) is None  # another module
    with pytest.raises(ValueError, match="has no reason"):
        run.parse_patterns("## Accepted mutant patterns\n| `a` | `b` |  |")


def test_a_survivor_accepted_by_a_pattern_is_counted_as_accepted():
    verdicts = {"transforms.m.x_f__mutmut_1": "survived", "transforms.m.x_f__mutmut_2": "survived",
                "transforms.m.x_f__mutmut_3": "killed"}
    (result,) = run.summarise(verdicts, {}, {"default_min_killed_percent": 80},
                              {"transforms.m.x_f__mutmut_1": "equivalent"})
    assert (result.accepted, result.survived, result.unexplained) == (1, 1, ["transforms.m.x_f__mutmut_2"])


def test_a_pipe_inside_a_pattern_is_written_escaped_in_the_table():
    (pattern,) = run.parse_patterns("## Accepted mutant patterns\n| `*` | `^\\+ (?:None\\|True)$` | reason |")
    assert pattern[1].pattern == "^\\+ (?:None|True)$" and pattern[2] == "reason"


def test_a_file_gone_from_the_checkout_leaves_the_mutated_copy_too(tmp_path):
    # mutmut copies the tree into mutants/ and never deletes there: a renamed data sample stayed behind
    # and the samples test saw both; mutmut's own files and caches stay
    (tmp_path / "data_samples").mkdir()
    (tmp_path / "data_samples" / "new.csv").write_text("x")
    copies = tmp_path / "mutants"
    (copies / "data_samples").mkdir(parents=True)
    (copies / "data_samples" / "new.csv").write_text("x")
    (copies / "data_samples" / "old.csv").write_text("x")
    (copies / "gone").mkdir()
    (copies / "gone" / "old.py").write_text("x")
    (copies / "mutmut-stats.json").write_text("{}")
    (copies / "transforms").mkdir()
    (copies / "transforms" / "notices.py.meta").write_text("{}")
    assert run.prune_copies(tmp_path) == ["gone/old.py", "data_samples/old.csv"]
    assert not (copies / "gone").exists()
    assert (copies / "data_samples" / "new.csv").exists() and (copies / "mutmut-stats.json").exists()
    assert (copies / "transforms" / "notices.py.meta").exists()


def test_the_mutants_of_named_functions_are_selected_by_mutmuts_own_names():
    # the names mutmut gives (as in `mutmut results`): x_<function> and xǁ<Class>ǁ<method>
    assert run.function_names(["transforms/resident_snapshot.py"], ["residents_frame", "SnapshotResult.staged"]) == [
        "transforms.resident_snapshot.x_residents_frame__mutmut_*",
        "transforms.resident_snapshot.x\u01c1SnapshotResult\u01c1staged__mutmut_*",
    ]
    with pytest.raises(ValueError, match="without globs"):
        run.function_names(["transforms/*.py"], ["f"])


def test_a_changed_layout_reaches_the_mutated_copy_and_python_sources_are_left_to_mutmut(tmp_path):
    # mutmut copies a mutated package's other files (layouts, rule files) only on its first run: a changed
    # tax_notice.yaml stayed old in mutants/ and the samples test failed in mutmut's tracing run
    (tmp_path / "contracts" / "handoff").mkdir(parents=True)
    (tmp_path / "contracts" / "handoff" / "tax_notice.yaml").write_text("new")
    (tmp_path / "contracts" / "handoff" / "same.yaml").write_text("same")
    (tmp_path / "contracts" / "notices.py").write_text("source")
    (tmp_path / "pyproject.toml").write_text("whole")
    copies = tmp_path / "mutants"
    (copies / "contracts" / "handoff").mkdir(parents=True)
    (copies / "contracts" / "handoff" / "tax_notice.yaml").write_text("old")
    (copies / "contracts" / "handoff" / "same.yaml").write_text("same")
    (copies / "contracts" / "notices.py").write_text("mutated")
    (copies / "pyproject.toml").write_text("scoped")
    assert run.refresh_data_copies(tmp_path) == ["contracts/handoff/tax_notice.yaml"]
    assert (copies / "contracts" / "handoff" / "tax_notice.yaml").read_text() == "new"
    assert (copies / "contracts" / "notices.py").read_text() == "mutated"
    assert (copies / "pyproject.toml").read_text() == "scoped"
    assert run.refresh_data_copies(tmp_path / "nothing") == []


def test_the_committed_null_literal_pattern_accepts_each_way_of_dropping_the_dtype_and_nothing_else():
    from pathlib import Path

    doc = (Path(__file__).resolve().parents[2] / "docs" / "testing.md").read_text(encoding="utf-8")
    patterns = run.parse_patterns(doc)
    original = '- return pl.when(c != "").then(c).otherwise(pl.lit(None, pl.String))\n'
    for dropped in ("None", "pl.lit(None, None)", "pl.lit(None, )"):
        diff = original + f'+ return pl.when(c != "").then(c).otherwise({dropped})'
        assert run.accepted_by_pattern("transforms/m.py", diff, patterns), dropped
    for changed in ('+ return pl.when(c == "").then(c).otherwise(None)',
                    '+ return pl.when(c != "").then(c).otherwise(pl.lit("", ))',
                    '+ return pl.when(c != "").then(c).otherwise(pl.lit(None, pl.Int64))'):
        assert run.accepted_by_pattern("transforms/m.py", original + changed, patterns) is None, changed


def test_the_committed_join_and_dtype_patterns_accept_only_their_own_change():
    from pathlib import Path

    doc = (Path(__file__).resolve().parents[2] / "docs" / "testing.md").read_text(encoding="utf-8")
    patterns = run.parse_patterns(doc)
    accepted = [
        ('- moving = ledger.join(stopping, on=["a", "b"], how="inner").filter(\n',
         '+ moving = ledger.join(stopping, on=["a", "b"], ).filter('),
        ('- x = pl.col("c").replace_strict(back, return_dtype=pl.String)).alias("n"),\n',
         '+ x = pl.col("c").replace_strict(back, return_dtype=None)).alias("n"),'),
        ('- x = pl.col("c").replace_strict(back, return_dtype=pl.String)).alias("n"),\n',
         '+ x = pl.col("c").replace_strict(back, )).alias("n"),'),
        ('- .join(d.select("k", "v"), on="k", how="left", validate="1:1") \\\n',
         '+ .join(d.select("k", "v"), on="k", how="left", ) \\'),
    ]
    for original, mutant in accepted:
        assert run.accepted_by_pattern("transforms/m.py", original + mutant, patterns), mutant
    refused = [
        ('- moving = ledger.join(stopping, on=["a", "b"], how="inner").filter(\n',
         '+ moving = ledger.join(stopping, on=["a", "b"], how="left").filter('),
        ('- x = pl.col("c").replace_strict(back, return_dtype=pl.String)).alias("n"),\n',
         '+ x = pl.col("c").replace_strict(None, return_dtype=pl.String)).alias("n"),'),
        ('- .join(d.select("k", "v"), on="k", how="left", validate="1:1") \\\n',
         '+ .join(d.select("k", "v"), on="k", validate="1:1") \\'),
        ('- .join(d.select("k", "v"), on="k", how="left", validate="1:1") \\\n',
         '+ .join(d.select("k", "v"), on="k", how="left", ) ')]
    for original, mutant in refused:
        assert run.accepted_by_pattern("transforms/m.py", original + mutant, patterns) is None, mutant
