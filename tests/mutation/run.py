"""`make mutate`: mutation testing of the core with mutmut, and a report of the killed share per module.

A mutant is a small change to one function (``<`` for ``<=``, ``+ 1`` for ``+ 0``, a constant, a dropped
argument...). The unit tests that run that function are run against it; they must fail ("killed").
A mutant that passes ("survived") is a change to the code the tests would not notice. Issue 12 asks for
≥ 90 % killed in ``transforms/tax_engine.py`` and ``transforms/record_merge.py``, ≥ 80 % elsewhere
(``tests/mutation/targets.toml``), and every survivor either killed by a new test or listed in
``docs/testing.md`` with the reason it is equivalent or accepted.

How it runs: the tracked and untracked-but-not-ignored files of the checkout are mirrored into
``var/mutate/tree`` (only changed files are rewritten, so mutmut's cache of results stays valid for
unchanged functions; with modules named, the copy's ``only_mutate`` is narrowed to them, so a run checks
only their mutants not checked yet), mutmut runs there with the configuration in ``pyproject.toml`` ``[tool.mutmut]``,
and its verdicts are gathered into ``var/mutate/report.json`` and ``var/mutate/report.md``. The checkout
itself is never written to.

    make mutate                                   # every target (hours on 2 cores the first time)
    make mutate MUTATE=transforms/tax_engine.py   # one module or a glob of modules (space separated)
    make mutate MUTATE=transforms/tax_engine.py RECHECK=1   # only the last run's survivors again
    make mutate MUTATE=transforms/tax_engine.py RERUN=1     # every mutant of the module again

Exit status 0 when every module run meets its threshold with no unexplained survivor, 1 otherwise,
2 when mutmut itself fails.
"""

from __future__ import annotations

import argparse
import fnmatch
import functools
import json
import os
import re
import shutil
import subprocess
import sys
import tomllib
from collections import Counter
from dataclasses import asdict, dataclass, field
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]
TARGETS_FILE = Path(__file__).resolve().parent / "targets.toml"
TESTING_DOC = REPO / "docs" / "testing.md"
ACCEPTED_HEADING = "## Accepted surviving mutants"

#: mutmut's verdicts (``mutmut results --all true``) grouped as the report counts them.
KILLED = {"killed", "timeout", "caught by type check", "segfault"}
SURVIVED = {"survived", "suspicious"}
NO_TESTS = {"no tests"}
NOT_CHECKED = {"not checked", "skipped", "check was interrupted by user"}

# transforms.tax_engine.x_compute__mutmut_12 or transforms.lake.xǁLakeǁwrite__mutmut_3
_MUTANT_NAME = re.compile(r"^(?P<module>[A-Za-z_][\w.]*?)\.x(?:_|ǁ)")


# ----------------------------------------------------------------------------------- pure functions


def module_of(mutant: str) -> str:
    """The module path (``transforms/tax_engine.py``) a mutant name belongs to."""
    match = _MUTANT_NAME.match(mutant)
    if not match:
        raise ValueError(f"not a mutmut mutant name: {mutant!r}")
    return match["module"].replace(".", "/") + ".py"


def parse_results(text: str) -> dict[str, str]:
    """``mutmut results --all true`` output (``    name: verdict`` per line) → {name: verdict}."""
    verdicts: dict[str, str] = {}
    for line in text.splitlines():
        name, sep, verdict = line.strip().partition(": ")
        if sep and _MUTANT_NAME.match(name):
            verdicts[name] = verdict.strip()
    return verdicts


def parse_accepted(markdown: str) -> dict[str, str]:
    """The accepted survivors listed in docs/testing.md: {mutant name: reason}.

    The section under ``## Accepted surviving mutants`` holds a table whose first column is the mutant
    name in backticks and whose second column is the reason (equivalent, or why it is accepted).
    """
    accepted: dict[str, str] = {}
    inside = False
    for line in markdown.splitlines():
        if line.startswith("## "):
            inside = line.strip() == ACCEPTED_HEADING
            continue
        if not inside or not line.startswith("|"):
            continue
        cells = [cell.strip() for cell in line.strip().strip("|").split("|")]
        if len(cells) >= 2 and cells[0].startswith("`") and cells[0].endswith("`"):
            reason = cells[1]
            if not reason:
                raise ValueError(f"{TESTING_DOC.name}: accepted mutant {cells[0]} has no reason")
            accepted[cells[0].strip("`")] = reason
    return accepted


PATTERNS_HEADING = "## Accepted mutant patterns"


def parse_patterns(markdown: str) -> list[tuple[str, re.Pattern, str]]:
    """The accepted patterns of docs/testing.md: (module glob, compiled regex, reason) per table row under
    ``## Accepted mutant patterns``. A surviving mutant of a module the glob matches, whose diff (see
    :func:`mutant_diff`) the regex matches, counts as accepted with that reason: one row for a whole class
    of equivalent mutants (a dtype given to a null literal that a cast fixes, an ``otherwise`` no value
    reaches), each class argued once instead of mutant by mutant."""
    patterns = []
    inside = False
    for line in markdown.splitlines():
        if line.startswith("## "):
            inside = line.strip() == PATTERNS_HEADING
            continue
        if not inside or not line.startswith("|"):
            continue
        cells = [cell.strip() for cell in re.split(r"(?<!\\)\|", line.strip()[1:-1])]
        if len(cells) >= 3 and cells[0].startswith("`") and cells[1].startswith("`"):
            if not cells[2]:
                raise ValueError(f"{TESTING_DOC.name}: pattern {cells[1]} has no reason")
            regex = cells[1][1:-1].replace("\\|", "|")  # a | inside a table cell is written \|
            patterns.append((cells[0].strip("`"), re.compile(regex, re.MULTILINE), cells[2]))
    return patterns


def _function_name(mutant: str) -> str:
    """transforms.matching.x__text__mutmut_3 → x__text__mutmut_3 (the function in the mutated module)."""
    return mutant[_MUTANT_NAME.match(mutant).end() - 2:]


def mutant_diff(mutated_source: str, mutant: str) -> str:
    """The changed lines of one mutant against its original, from the mutated module mutmut writes
    (``mutants/<module>.py`` holds ``x_<f>__mutmut_orig`` and every ``x_<f>__mutmut_<n>``): ``-`` lines then
    ``+`` lines, each stripped of its indentation, the def line left out (its name differs)."""
    import difflib

    name = _function_name(mutant)
    original = name.rsplit("__mutmut_", 1)[0] + "__mutmut_orig"
    bodies = _function_bodies(mutated_source)
    if name not in bodies or original not in bodies:
        raise KeyError(f"{mutant}: not in the mutated module")
    changed = [line for line in difflib.ndiff(bodies[original], bodies[name]) if line[:2] in ("- ", "+ ")]
    removed = [line for line in changed if line.startswith("-")]
    added = [line for line in changed if line.startswith("+")]
    return "\n".join(removed + added)


@functools.lru_cache(maxsize=4)
def _function_bodies(mutated_source: str) -> dict[str, tuple[str, ...]]:
    """Every function of a mutated module → the lines after its ``def`` line, stripped of indentation.
    Parsed once per module: a module holds thousands of mutants, and parsing it for each survivor took
    minutes."""
    import ast

    lines = mutated_source.splitlines()
    return {
        node.name: tuple(line.strip() for line in lines[node.lineno:node.end_lineno])
        for node in ast.walk(ast.parse(mutated_source))
        if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef)
    }


def accepted_by_pattern(module: str, diff: str, patterns: list[tuple[str, re.Pattern, str]]) -> str | None:
    """The reason of the first pattern (of a module glob matching ``module``) whose regex finds ``diff``."""
    for glob, regex, reason in patterns:
        if fnmatch.fnmatch(module, glob) and regex.search(diff):
            return reason
    return None


def threshold_for(module: str, targets: dict) -> int:
    return int(targets.get("min_killed_percent", {}).get(module, targets["default_min_killed_percent"]))


@dataclass
class ModuleResult:
    """The verdicts of one module's mutants and whether the module meets its threshold."""

    module: str
    threshold: int
    total: int = 0
    killed: int = 0
    survived: int = 0
    no_tests: int = 0
    not_checked: int = 0
    accepted: int = 0
    unexplained: list[str] = field(default_factory=list)  # survived or untested, not accepted

    @property
    def killed_percent(self) -> float | None:
        """killed / (checked − accepted); None when nothing was checked."""
        denominator = self.total - self.not_checked - self.accepted
        return None if denominator <= 0 else 100 * self.killed / denominator

    @property
    def ok(self) -> bool:
        share = self.killed_percent
        return self.not_checked == 0 and share is not None and share >= self.threshold and not self.unexplained


def summarise(verdicts: dict[str, str], accepted: dict[str, str], targets: dict,
              by_pattern: dict[str, str] | None = None) -> list[ModuleResult]:
    """Per-module counts. An accepted mutant that is killed today is simply killed (the list is stale
    there, and the report says so); an unknown verdict counts as a survivor, never as a kill.
    ``by_pattern``: survivors accepted by a pattern of docs/testing.md (name → reason)."""
    accepted = {**(by_pattern or {}), **accepted}
    results: dict[str, ModuleResult] = {}
    for name in sorted(verdicts):
        verdict = verdicts[name]
        module = module_of(name)
        result = results.setdefault(module, ModuleResult(module, threshold_for(module, targets)))
        result.total += 1
        if verdict in KILLED:
            result.killed += 1
        elif verdict in NOT_CHECKED:
            result.not_checked += 1
        elif name in accepted:
            result.accepted += 1
        elif verdict in NO_TESTS:
            result.no_tests += 1
            result.unexplained.append(name)
        else:  # survived, suspicious, or anything mutmut may add later
            result.survived += 1
            result.unexplained.append(name)
    return [results[m] for m in sorted(results)]


def stale_acceptances(verdicts: dict[str, str], accepted: dict[str, str], modules: list[str]) -> list[str]:
    """Accepted names (of the modules run) that no longer exist or are now killed: to remove from the doc.
    A mutant not checked yet (an interrupted run) is not stale: nothing is known of it."""
    return sorted(
        name for name in accepted
        if module_of(name) in modules and (name not in verdicts or verdicts[name] in KILLED)
    )


def render_markdown(results: list[ModuleResult], stale: list[str]) -> str:
    lines = [
        "# Mutation testing report (make mutate)",
        "",
        "| module | mutants | killed | survived | no tests | accepted | not checked | killed % | needs | ok |",
        "|---|---:|---:|---:|---:|---:|---:|---:|---:|---|",
    ]
    for r in results:
        share = "–" if r.killed_percent is None else f"{r.killed_percent:.1f}"
        lines.append(
            f"| {r.module} | {r.total} | {r.killed} | {r.survived} | {r.no_tests} | {r.accepted} | "
            f"{r.not_checked} | {share} | {r.threshold} | {'yes' if r.ok else 'NO'} |"
        )
    for r in results:
        if r.unexplained:
            lines += ["", f"## {r.module}: survivors to kill with a test or accept in docs/testing.md", ""]
            lines += [f"- `{name}`" for name in r.unexplained]
    if stale:
        lines += ["", "## Listed as accepted in docs/testing.md but no longer surviving (remove them)", ""]
        lines += [f"- `{name}`" for name in stale]
    lines += ["", "See one mutant's diff: `cd var/mutate/tree && ../../../.venv/bin/mutmut show <name>`", ""]
    return "\n".join(lines)


# -------------------------------------------------------------------------------------- the run


def source_files(repo: Path) -> list[str]:
    """Tracked and untracked-but-not-ignored files (what a commit of the working tree would hold)."""
    listed = subprocess.run(
        ["git", "ls-files", "--cached", "--others", "--exclude-standard", "-z"],
        cwd=repo, capture_output=True, check=True,
    ).stdout.decode("utf-8").split("\0")
    return sorted(name for name in listed if name and (repo / name).is_file())


def mirror(repo: Path, tree: Path) -> list[str]:
    """Make ``tree`` hold exactly the checkout's source files (mutmut's ``mutants/`` aside); return the
    files written. Unchanged files are left alone so mutmut keeps its results for them."""
    wanted = source_files(repo)
    written = []
    for name in wanted:
        source, target = repo / name, tree / name
        if target.is_file() and target.read_bytes() == source.read_bytes():
            continue
        target.parent.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(source, target)
        written.append(name)
    keep = set(wanted)
    for path in sorted(tree.rglob("*"), reverse=True):
        relative = path.relative_to(tree).as_posix()
        if relative in {"mutants", "shared"} or relative.startswith(("mutants/", "shared/")) or "__pycache__" in relative:
            continue
        if path.is_file() and relative not in keep:
            path.unlink()
        elif path.is_dir() and not any(path.iterdir()):
            path.rmdir()
    return written


def prune_copies(tree: Path) -> list[str]:
    """Delete the files of ``tree/mutants`` whose source in ``tree`` is gone. mutmut copies the tree into
    ``mutants/`` but never deletes there, so a file removed or renamed in the checkout (a data sample, a
    test) stayed behind and the tests saw both. mutmut's own files (``mutmut-*``, ``*.meta``, ``*.spans``)
    and caches are kept. Returns the paths deleted, relative to ``mutants/``."""
    copies = tree / "mutants"
    deleted = []
    if not copies.is_dir():
        return deleted
    for path in sorted(copies.rglob("*"), reverse=True):
        relative = path.relative_to(copies).as_posix()
        if "__pycache__" in relative or path.name.startswith("mutmut") or path.suffix in (".meta", ".spans"):
            continue
        if path.is_file() and not (tree / relative).exists():
            path.unlink()
            deleted.append(relative)
        elif path.is_dir() and not any(path.iterdir()):
            path.rmdir()
    return deleted


def refresh_data_copies(tree: Path) -> list[str]:
    """Copy into ``tree/mutants`` every file of ``tree`` that is not Python source and whose copy there is
    missing or differs. mutmut writes the ``.py`` files again when their source changes, but the other
    files of a mutated package (a layout ``contracts/handoff/*.yaml``, a rule file) only on its first run,
    so a changed layout left the tests of every later run reading the old one ("failed to collect stats").
    Returns the paths written, relative to ``tree``."""
    copies = tree / "mutants"
    written = []
    if not copies.is_dir():
        return written
    for path in sorted(tree.rglob("*")):
        relative = path.relative_to(tree).as_posix()
        if (not path.is_file() or path.suffix == ".py" or "__pycache__" in relative
                or relative.startswith(("mutants/", "shared/")) or relative in {"pyproject.toml"}):
            continue
        copy = copies / relative
        if copy.is_file() and copy.read_bytes() == path.read_bytes():
            continue
        copy.parent.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(path, copy)
        written.append(relative)
    return written


def scoped_config(pyproject: str, modules: list[str]) -> str:
    """The ``pyproject.toml`` of the copy with ``only_mutate`` narrowed to ``modules`` (each a path or glob
    within the configured scope), so that ``mutmut run`` without names checks only what is not checked
    yet there: results of unchanged functions are kept, run after run."""
    line = re.compile(r"^only_mutate = \[.*\]$", re.MULTILINE)
    found = line.search(pyproject)
    if not found:
        raise ValueError("pyproject.toml [tool.mutmut] has no one-line only_mutate = [...]")
    scope = tomllib.loads(found.group(0))["only_mutate"]
    outside = [m for m in modules if not any(fnmatch.fnmatch(m, pattern) for pattern in scope)]
    if outside:
        raise ValueError(f"not in the mutation scope {scope}: {', '.join(outside)}")
    return line.sub("only_mutate = " + json.dumps(modules, ensure_ascii=False), pyproject, count=1)


def unmutated_copies(tree: Path, patterns: list[str]) -> list[Path]:
    """The files under ``tree/mutants`` of the modules matching ``patterns`` that hold no mutants: missing,
    a plain copy, or cut short (``_complete``). A run scoped to other modules copies a module plain, and mutmut 3.8 then takes a copy
    newer than its source for an up-to-date mutant file, so a later run scoped to the module would find
    nothing to mutate ("Unable to force test failures"). Removing the plain copy makes mutmut write the
    mutants again (its verdicts of unchanged functions are kept in the ``.meta`` file beside it); and as
    the last trace of the tests ran the module unmutated, it mapped none of its functions to a test, so
    the tests must be traced again, or every mutant would be "no tests"."""
    found = []
    for pattern in patterns:
        for source in sorted(tree.glob(pattern)):
            if source.name == "__init__.py":
                continue
            copy = tree / "mutants" / source.relative_to(tree)
            if not copy.is_file() or copy.read_bytes() == source.read_bytes() or not _complete(source, copy):
                found.append(copy)
    return found


def _top_level_names(text: str) -> set[str] | None:
    """The names a module defines at its top level (functions, classes, assignments); None when it does
    not parse."""
    import ast

    try:
        module = ast.parse(text)
    except SyntaxError:
        return None
    names = set()
    for node in module.body:
        if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef | ast.ClassDef):
            names.add(node.name)
        elif isinstance(node, ast.Assign):
            names.update(t.id for t in node.targets if isinstance(t, ast.Name))
        elif isinstance(node, ast.AnnAssign) and isinstance(node.target, ast.Name):
            names.add(node.target.id)
    return names


def _complete(source: Path, copy: Path) -> bool:
    """Whether a mutated copy holds everything its source defines. A run stopped while mutmut wrote the
    mutants leaves a truncated file that mutmut then takes for up to date (newer than its source), and
    every test importing a name past the cut fails ("failed to collect stats")."""
    wanted = _top_level_names(source.read_text(encoding="utf-8"))
    held = _top_level_names(copy.read_text(encoding="utf-8"))
    return wanted is not None and held is not None and wanted <= held


def traced_anything(stats: Path) -> bool:
    """Whether mutmut's trace maps any function to a test. A trace taken while the mutant files were plain
    copies maps none, and mutmut would then find no test for any mutant run after run."""
    try:
        return bool(json.loads(stats.read_text(encoding="utf-8")).get("tests_by_mangled_function_name"))
    except (OSError, ValueError):
        return False


def sources_changed(written: list[str], pyproject: str) -> bool:
    """Whether any written file is Python under one of mutmut's ``source_paths``."""
    roots = tomllib.loads(pyproject)["tool"]["mutmut"]["source_paths"]
    return any(name.endswith(".py") and name.split("/", 1)[0] in roots for name in written)


def mutmut_names(patterns: list[str]) -> list[str]:
    """``transforms/tax_engine.py`` or ``transforms/*.py`` → mutmut's name globs (``transforms.tax_engine.*``)."""
    names = []
    for pattern in patterns:
        if not pattern.endswith(".py"):
            raise ValueError(f"MUTATE takes module paths ending in .py (got {pattern!r})")
        names.append(pattern[:-3].replace("/", ".") + ".*")
    return names


def function_names(modules: list[str], functions: list[str]) -> list[str]:
    """mutmut's name globs of the mutants of ``functions`` (module-level names, or ``Class.method``) in each
    of ``modules``: ``transforms/x.py`` + ``f`` → ``transforms.x.x_f__mutmut_*``."""
    names = []
    for module in modules:
        if not module.endswith(".py") or any(c in module for c in "*?["):
            raise ValueError(f"FUNCTIONS takes module paths without globs (got {module!r})")
        prefix = module[:-3].replace("/", ".")
        for function in functions:
            # mutmut names a method xǁClassǁmethod (U+01C1, as in its results), a function x_function
            mangled = "xǁ" + function.replace(".", "ǁ") if "." in function else "x_" + function
            names.append(f"{prefix}.{mangled}__mutmut_*")
    return names


def recheck_names(verdicts: dict[str, str], modules: list[str]) -> list[str]:
    """The survivors (and mutants without tests) of the last run, in the modules given (all when none)."""
    return sorted(
        name for name, verdict in verdicts.items()
        if verdict not in KILLED | NOT_CHECKED
        and (not modules or any(fnmatch.fnmatch(module_of(name), pattern) for pattern in modules))
    )


def _pattern_acceptances(tree: Path, verdicts: dict[str, str], patterns) -> dict[str, str]:
    """Survivors whose diff an accepted pattern matches (name → reason), read from the mutated modules."""
    if not patterns:
        return {}
    survivors = [n for n, v in verdicts.items() if v in SURVIVED or v in NO_TESTS]
    sources: dict[str, str] = {}
    out = {}
    for name in survivors:
        module = module_of(name)
        path = tree / "mutants" / module
        if module not in sources:
            sources[module] = path.read_text(encoding="utf-8") if path.is_file() else ""
        try:
            diff = mutant_diff(sources[module], name)
        except (KeyError, SyntaxError):
            continue
        reason = accepted_by_pattern(module, diff, patterns)
        if reason:
            out[name] = reason
    return out


def _verdicts(mutmut: Path, tree: Path, env: dict[str, str]) -> dict[str, str] | None:
    listed = subprocess.run(
        [str(mutmut), "results", "--all", "true"], cwd=tree, env=env, capture_output=True, text=True, check=False,
    )
    if listed.returncode != 0:
        print(listed.stderr[-4000:], file=sys.stderr)
        print("mutate: `mutmut results` failed (output above)", file=sys.stderr)
        return None
    return parse_results(listed.stdout)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("modules", nargs="*", help="module paths or globs (default: every target)")
    parser.add_argument("--max-children", type=int, default=os.cpu_count() or 2)
    parser.add_argument("--report-only", action="store_true", help="gather the last run's verdicts, run nothing")
    parser.add_argument("--rerun-all", action="store_true",
                        help="check every mutant of the modules again, not only those not checked yet")
    parser.add_argument("--functions", default="",
                        help="space-separated function names: check only their mutants, in the modules given "
                             "(the functions an issue changed, in a module never run whole)")
    parser.add_argument("--recheck", action="store_true",
                        help="run again only the last run's survivors (after writing the tests that should kill them)")
    args = parser.parse_args(argv)

    targets = tomllib.loads(TARGETS_FILE.read_text(encoding="utf-8"))
    work = REPO / "var" / "mutate"
    tree = work / "tree"
    tree.mkdir(parents=True, exist_ok=True)
    mutmut = Path(sys.executable).parent / "mutmut"
    if not mutmut.exists():
        print(f"mutate: mutmut is not installed in {Path(sys.executable).parent} (run `make venv`)", file=sys.stderr)
        return 2
    # JUMINZEI_HOME points at the copy, so nothing a test leaves behind can land in the checkout.
    env = {**os.environ, "PYTHONHASHSEED": "0", "TZ": "UTC", "JUMINZEI_HOME": str(tree / "mutants")}
    # Every worker imports the mutated modules (each holds all its mutants, so they are large): without
    # cached bytecode each worker compiled them again, 20-40 s a mutant. The cache lives in the copy.
    env.pop("PYTHONDONTWRITEBYTECODE", None)

    # The tests read other implementations' files from ../shared/peer-files beside the checkout.
    shared, link = REPO.parent / "shared", tree / "shared"
    if shared.is_dir() and not link.exists():
        link.symlink_to(shared, target_is_directory=True)

    if not args.report_only:
        written = mirror(REPO, tree)
        pruned = prune_copies(tree)
        refreshed = refresh_data_copies(tree)
        print(f"mutate: {tree.relative_to(REPO)} mirrors the checkout ({len(written)} files written, "
              f"{len(pruned)} stale copies removed, {len(refreshed)} data files refreshed)", flush=True)
        stats = tree / "mutants" / "mutmut-stats.json"
        if stats.exists() and (sources_changed(written, (REPO / "pyproject.toml").read_text(encoding="utf-8"))
                               or not traced_anything(stats)):
            # mutmut traces only *new* tests after a change, so a new or moved function would be mapped to
            # them alone and its mutants would "survive" the tests that do run it: trace every test again.
            stats.unlink()
            print("mutate: the mutated sources changed; every test is traced again", flush=True)
        if args.modules:
            config = tree / "pyproject.toml"
            config.write_text(scoped_config((REPO / "pyproject.toml").read_text(encoding="utf-8"), args.modules),
                              encoding="utf-8")
        scope = args.modules or tomllib.loads((tree / "pyproject.toml").read_text(encoding="utf-8"))["tool"]["mutmut"]["only_mutate"]
        unmutated = unmutated_copies(tree, scope)
        for copy in unmutated:
            copy.unlink(missing_ok=True)
        if unmutated and stats.exists():
            stats.unlink()
            print(f"mutate: {len(unmutated)} module(s) were not mutated when the tests were last traced; "
                  "every test is traced again", flush=True)
        if args.rerun_all and not args.modules:
            print("mutate: RERUN=1 needs MUTATE=<modules> (a whole rerun is `rm -rf var/mutate`)", file=sys.stderr)
            return 2
        names = mutmut_names(args.modules) if args.rerun_all else []
        if args.functions:
            if not args.modules:
                print("mutate: FUNCTIONS=... needs MUTATE=<modules>", file=sys.stderr)
                return 2
            names = function_names(args.modules, args.functions.split())
        if args.recheck:
            last = _verdicts(mutmut, tree, env)
            if last is None:
                return 2
            names = recheck_names(last, args.modules)
            print(f"mutate: re-checking {len(names)} survivors of the last run", flush=True)
        # with RECHECK and no survivor there is nothing to run (no names would mean "all not checked")
        command = [str(mutmut), "run", "--max-children", str(args.max_children), *names]
        if (names or not args.recheck) and subprocess.run(command, cwd=tree, env=env, check=False).returncode != 0:
            print("mutate: mutmut run failed (output above)", file=sys.stderr)
            return 2

    verdicts = _verdicts(mutmut, tree, env)
    if verdicts is None:
        return 2
    if args.modules:
        verdicts = {n: v for n, v in verdicts.items() if any(fnmatch.fnmatch(module_of(n), p) for p in args.modules)}
    doc = TESTING_DOC.read_text(encoding="utf-8")
    accepted = parse_accepted(doc)
    by_pattern = _pattern_acceptances(tree, verdicts, parse_patterns(doc))
    results = summarise(verdicts, accepted, targets, by_pattern)
    stale = stale_acceptances(verdicts, accepted, [r.module for r in results])

    report = {
        "accepted_by_pattern": by_pattern,
        "modules": [{**asdict(r), "killed_percent": r.killed_percent, "ok": r.ok} for r in results],
        "verdicts": dict(Counter(verdicts.values())),
        "stale_acceptances": stale,
    }
    (work / "report.json").write_text(json.dumps(report, indent=2, ensure_ascii=False) + "\n", encoding="utf-8")
    markdown = render_markdown(results, stale)
    (work / "report.md").write_text(markdown, encoding="utf-8")
    print(markdown.split("\n\n## ", 1)[0])
    print(f"\nfull report: {(work / 'report.md').relative_to(REPO)} and report.json")
    return 0 if results and all(r.ok for r in results) and not stale else 1


if __name__ == "__main__":
    raise SystemExit(main())
