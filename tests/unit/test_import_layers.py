"""No import runs upward (issue 11; docs/architecture.md, "Which way imports go").

The product is four layers with the command line on top:

    juminzei (CLI, calculator, Airflow helpers)
    dags → pipelines → transforms → contracts

A package may import itself and any layer below it, never one above. ``sample_ward/`` (the synthetic
sample-ward generator: a development, test and demo tool) stands beside the product: it may import the
four layers below ``juminzei`` (it writes what the contracts read), and the product never imports it,
except lazily inside ``juminzei/cli.py``'s ``cmd_generate`` (``juminzei generate``), which says so when
the generator is not installed. Because that door exists, ``sample_ward`` does not import ``juminzei``:
the two would otherwise depend on each other (the demo drives Airflow through ``bin/airflow`` instead).

:func:`upward_imports` reads every module with :mod:`ast` (nothing is imported or run): module-level and
function-level ``import x`` and ``from x import y``, relative imports resolved to absolute names, and
``importlib.import_module("literal")`` / ``__import__("literal")``. It takes a repository root, so the
tests below run it on the repository and on small planted trees that prove it fails.
"""

from __future__ import annotations

import ast
from dataclasses import dataclass
from pathlib import Path

import pytest

#: Reads every module of the tree: left out of mutation runs (docs/testing.md).
pytestmark = pytest.mark.slow

REPO = Path(__file__).resolve().parents[2]

#: The product's layers, lowest first: each may import itself and the layers before it.
LAYERS: tuple[str, ...] = ("contracts", "transforms", "pipelines", "dags", "juminzei")
#: Beside the product: may import the layers below juminzei and itself; the product never imports it.
SAMPLE_WARD = "sample_ward"
#: What sample_ward may import: not juminzei, whose generate command imports sample_ward (no cycle).
SAMPLE_WARD_MAY_IMPORT: tuple[str, ...] = (*LAYERS[:-1], SAMPLE_WARD)
#: The one place the product may import the generator: (file, function), lazily.
GENERATOR_DOOR = ("juminzei/cli.py", "cmd_generate")
#: Top-level folders holding Python that are deliberately outside the layers, and why.
OUTSIDE_LAYERS: dict[str, str] = {
    "tests": "the test suite: imports whatever it tests, and nothing imports it",
}
#: Top-level folders that are not part of the tree (the .gitignore'd environment and run state).
NOT_SOURCE = {"var", "build", "logs", "__pycache__"}


@dataclass(frozen=True, order=True)
class Import:
    """One import found in a module: where it is, what it names, and the functions around it."""

    path: str  # relative to the root, with forward slashes
    line: int
    target: str  # absolute dotted name
    functions: tuple[str, ...]  # enclosing def names, outermost first; () at module level


@dataclass(frozen=True)
class DynamicImport:
    """An ``import_module``/``__import__`` call whose argument is not a string literal."""

    path: str
    line: int
    functions: tuple[str, ...]


def _module_name(relative: Path) -> tuple[str, ...]:
    parts = relative.with_suffix("").parts
    return parts[:-1] if parts[-1] == "__init__" else parts


def _package_of(relative: Path) -> tuple[str, ...]:
    """The package a module's relative imports start from (its folder; the package itself for __init__)."""
    return relative.parent.parts


def _is_dynamic_import(call: ast.Call) -> bool:
    func = call.func
    if isinstance(func, ast.Name):
        return func.id in {"import_module", "__import__"}
    return isinstance(func, ast.Attribute) and func.attr == "import_module"


class _Finder(ast.NodeVisitor):
    def __init__(self, root: Path, relative: Path) -> None:
        self.root = root
        self.path = relative.as_posix()
        self.package = _package_of(relative)
        self.functions: list[str] = []
        self.imports: list[Import] = []
        self.dynamic: list[DynamicImport] = []

    def _add(self, node: ast.AST, target: str) -> None:
        self.imports.append(Import(self.path, node.lineno, target, tuple(self.functions)))

    def _def(self, node: ast.FunctionDef | ast.AsyncFunctionDef) -> None:
        self.functions.append(node.name)
        self.generic_visit(node)
        self.functions.pop()

    visit_FunctionDef = _def
    visit_AsyncFunctionDef = _def

    def visit_Import(self, node: ast.Import) -> None:
        for alias in node.names:
            self._add(node, alias.name)

    def visit_ImportFrom(self, node: ast.ImportFrom) -> None:
        if node.level == 0:
            base: tuple[str, ...] = tuple((node.module or "").split("."))
        else:
            up = node.level - 1
            if up > len(self.package):
                raise ValueError(f"{self.path}:{node.lineno}: relative import goes above the repository root")
            base = self.package[: len(self.package) - up] + (tuple(node.module.split(".")) if node.module else ())
        # ``from a import b`` names the module a.b when there is one, else a (b is then a name in it)
        for alias in node.names:
            submodule = base + (alias.name,)
            folder = self.root.joinpath(*submodule)
            is_module = folder.with_suffix(".py").is_file() or (folder / "__init__.py").is_file()
            self._add(node, ".".join(submodule if is_module or node.module is None else base))

    def visit_Call(self, node: ast.Call) -> None:
        if _is_dynamic_import(node) and node.args:
            first = node.args[0]
            if isinstance(first, ast.Constant) and isinstance(first.value, str) and not first.value.startswith("."):
                self._add(node, first.value)
            else:
                self.dynamic.append(DynamicImport(self.path, node.lineno, tuple(self.functions)))
        self.generic_visit(node)


def _modules(root: Path, package: str) -> list[Path]:
    folder = root / package
    return sorted(p for p in folder.rglob("*.py") if "__pycache__" not in p.parts) if folder.is_dir() else []


def scan(root: Path) -> tuple[list[Import], list[DynamicImport]]:
    """Every import (and every dynamic import without a literal target) in the layered packages under ``root``."""
    imports: list[Import] = []
    dynamic: list[DynamicImport] = []
    for package in (*LAYERS, SAMPLE_WARD):
        for file in _modules(root, package):
            relative = file.relative_to(root)
            finder = _Finder(root, relative)
            finder.visit(ast.parse(file.read_bytes(), filename=str(file)))
            imports += finder.imports
            dynamic += finder.dynamic
    return sorted(set(imports)), dynamic


def _top_level_names(root: Path) -> set[str]:
    """The names an absolute import of this repository's own code can start with."""
    names = {p.name for p in root.iterdir() if p.is_dir() and not p.name.startswith(".") and p.name not in NOT_SOURCE}
    return names | {p.stem for p in root.glob("*.py")}


def _allowed(layer: str) -> tuple[str, ...]:
    if layer == SAMPLE_WARD:
        return SAMPLE_WARD_MAY_IMPORT
    return LAYERS[: LAYERS.index(layer) + 1]


def _rule(layer: str) -> str:
    if layer == SAMPLE_WARD:
        return (f"{SAMPLE_WARD} may import only {', '.join(reversed(SAMPLE_WARD_MAY_IMPORT[:-1]))} and itself; "
                f"juminzei imports {SAMPLE_WARD} for `juminzei generate`, so the reverse would be a cycle")
    below = LAYERS[: LAYERS.index(layer)]
    if not below:
        return f"{layer} may import no other layer"
    return f"{layer} may import only {', '.join(reversed(below))}"


def upward_imports(root: Path) -> list[str]:
    """One sentence per import under ``root`` that breaks the layering, ``file:line imports x (rule)``."""
    first_party = _top_level_names(root)
    problems = []
    imports, _ = scan(root)
    for found in imports:
        layer = found.path.split("/", 1)[0]
        top = found.target.split(".", 1)[0]
        if top not in first_party or top in _allowed(layer):
            continue
        if top == SAMPLE_WARD:
            if (found.path, GENERATOR_DOOR[1]) == GENERATOR_DOOR and GENERATOR_DOOR[1] in found.functions:
                continue
            rule = (f"the product never imports {SAMPLE_WARD}; only {GENERATOR_DOOR[0]}'s {GENERATOR_DOOR[1]} "
                    "may, inside the function")
        else:
            rule = _rule(layer)
        problems.append(f"{found.path}:{found.line} imports {found.target} ({rule})")
    return problems


def unclassified_packages(root: Path) -> list[str]:
    """Top-level folders (or modules) holding Python that are neither a layer, sample_ward, nor named outside."""
    known = {*LAYERS, SAMPLE_WARD, *OUTSIDE_LAYERS}
    found = []
    for entry in sorted(root.iterdir()):
        if entry.name.startswith(".") or entry.name in NOT_SOURCE or entry.name in known:
            continue
        if entry.is_dir() and any("__pycache__" not in p.parts for p in entry.rglob("*.py")):
            found.append(f"{entry.name}/")
        elif entry.is_file() and entry.suffix == ".py":
            found.append(entry.name)
    return found


# ------------------------------------------------------------------------------------------ the repository


def test_no_import_runs_upward():
    problems = upward_imports(REPO)
    assert problems == [], "imports that run upward:\n" + "\n".join(problems)


def test_every_top_level_package_is_classified():
    unknown = unclassified_packages(REPO)
    assert unknown == [], (
        f"{unknown} hold Python but have no place in the layers: add them to LAYERS, or to OUTSIDE_LAYERS "
        "with the reason, in tests/unit/test_import_layers.py (and docs/architecture.md)"
    )


def test_every_layer_is_scanned():
    """The walk reads every layer (a renamed folder would otherwise pass by having nothing to check)."""
    imports, _ = scan(REPO)
    scanned = {found.path.split("/", 1)[0] for found in imports}
    assert scanned == {*LAYERS, SAMPLE_WARD}


def test_the_generator_door_is_used_lazily():
    """juminzei generate still reaches the generator, and only inside cmd_generate."""
    imports, _ = scan(REPO)
    doors = [f for f in imports if f.target.split(".")[0] == SAMPLE_WARD and not f.path.startswith(f"{SAMPLE_WARD}/")]
    assert doors and all((f.path, f.functions[:1]) == (GENERATOR_DOOR[0], (GENERATOR_DOOR[1],)) for f in doors), doors


def test_dynamic_imports_are_known():
    """A non-literal import_module cannot be checked by reading: each one is listed here after a look.

    pipelines/stages.py's ``stage_runner`` imports the stage named in ``STAGES``: all of them pipelines
    modules (checked below), so the call does not leave its layer.
    """
    _, dynamic = scan(REPO)
    assert {(d.path, d.functions) for d in dynamic} == {("pipelines/stages.py", ("stage_runner",))}
    from pipelines.stages import STAGES

    assert all(target.split(".", 1)[0] == "pipelines" for target in STAGES.values()), STAGES


# ------------------------------------------------------------------------------- the checker can fail


def _plant(root: Path, files: dict[str, str]) -> Path:
    for name, text in files.items():
        path = root / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text, encoding="utf-8")
    return root


def test_planted_upward_imports_are_reported_with_file_and_line(tmp_path):
    root = _plant(tmp_path, {
        "contracts/__init__.py": "",
        "contracts/x.py": '"""A contract."""\n\nimport polars as pl\nfrom transforms.y import RULES\n',
        "contracts/ok.py": "from contracts.x import RULES\nfrom . import x\n",
        "transforms/__init__.py": "",
        "transforms/y.py": "from contracts.x import pl\nRULES = ()\n",
        "transforms/z.py": "def f():\n    import sample_ward.model\n",
        "transforms/rel.py": "from ..pipelines import stage\nfrom .y import RULES\n",
        "transforms/dyn.py": "import importlib\n\n\ndef g():\n    return importlib.import_module('pipelines.lake')\n",
        "pipelines/__init__.py": "",
        "pipelines/stage.py": "from transforms import y\nfrom contracts import x\n",
        "pipelines/up.py": "import dags.record_merge\nimport juminzei.cli\nfrom tests import helpers\n",
        "dags/d.py": "def t():\n    from contracts.errors import RunSkipped\n    from pipelines.stage import run\n",
        "juminzei/__init__.py": "",
        "juminzei/cli.py": (
            "from sample_ward import generate_ward\n\n\n"
            "def cmd_generate():\n    from sample_ward import generate_ward\n\n\n"
            "def cmd_other():\n    from sample_ward.demo import main\n"
        ),
        "juminzei/calc.py": "from dags import d\nfrom pipelines import stage\n",
        "sample_ward/__init__.py": "import juminzei\nfrom .model import Population\n",
        "sample_ward/model.py": "from contracts.x import RULES\nfrom tests import helpers\n",
        "tests/helpers.py": "import sample_ward\nimport pipelines.up\n",
    })
    assert upward_imports(root) == [
        "contracts/x.py:4 imports transforms.y (contracts may import no other layer)",
        "juminzei/cli.py:1 imports sample_ward (the product never imports sample_ward; only juminzei/cli.py's "
        "cmd_generate may, inside the function)",
        "juminzei/cli.py:9 imports sample_ward.demo (the product never imports sample_ward; only juminzei/cli.py's "
        "cmd_generate may, inside the function)",
        "pipelines/up.py:1 imports dags.record_merge (pipelines may import only transforms, contracts)",
        "pipelines/up.py:2 imports juminzei.cli (pipelines may import only transforms, contracts)",
        "pipelines/up.py:3 imports tests.helpers (pipelines may import only transforms, contracts)",
        "sample_ward/__init__.py:1 imports juminzei (sample_ward may import only dags, pipelines, transforms, "
        "contracts and itself; juminzei imports sample_ward for `juminzei generate`, so the reverse would be a cycle)",
        "sample_ward/model.py:2 imports tests.helpers (sample_ward may import only dags, pipelines, transforms, "
        "contracts and itself; juminzei imports sample_ward for `juminzei generate`, so the reverse would be a cycle)",
        "transforms/dyn.py:5 imports pipelines.lake (transforms may import only contracts)",
        "transforms/rel.py:1 imports pipelines.stage (transforms may import only contracts)",
        "transforms/z.py:2 imports sample_ward.model (the product never imports sample_ward; only juminzei/cli.py's "
        "cmd_generate may, inside the function)",
    ]


def test_the_minimal_planted_tree_of_the_issue(tmp_path):
    """contracts/x.py importing transforms.y and transforms/z.py importing sample_ward: exactly those two."""
    root = _plant(tmp_path, {
        "contracts/x.py": "import re\n\nfrom transforms.y import Y\n",
        "transforms/y.py": "from contracts import x\n",
        "transforms/z.py": "from sample_ward import generate_ward\n",
        "sample_ward/__init__.py": "from transforms.y import Y\n",
    })
    assert upward_imports(root) == [
        "contracts/x.py:3 imports transforms.y (contracts may import no other layer)",
        "transforms/z.py:1 imports sample_ward (the product never imports sample_ward; only juminzei/cli.py's "
        "cmd_generate may, inside the function)",
    ]


def test_a_copy_of_the_repository_with_one_upward_import_fails(tmp_path):
    """The real tree, copied, with the import this issue removed put back: reported at its line."""
    import shutil

    for package in (*LAYERS, SAMPLE_WARD):
        shutil.copytree(REPO / package, tmp_path / package, ignore=shutil.ignore_patterns("__pycache__", "data"))
    assert upward_imports(tmp_path) == []
    safe_xml = tmp_path / "transforms" / "safe_xml.py"
    lines = safe_xml.read_text(encoding="utf-8").splitlines(keepends=True)
    line_no = next(i for i, line in enumerate(lines, 1) if line.startswith("from contracts.errors import"))
    lines[line_no - 1] = "from pipelines.stage import JuminzeiError\n"
    safe_xml.write_text("".join(lines), encoding="utf-8")
    assert upward_imports(tmp_path) == [
        f"transforms/safe_xml.py:{line_no} imports pipelines.stage (transforms may import only contracts)"
    ]


def test_an_unclassified_package_is_reported(tmp_path):
    root = _plant(tmp_path, {
        "contracts/x.py": "",
        "tests/test_x.py": "",
        "notices/__init__.py": "",
        "docs/conf.txt": "",
        ".venv/lib/site.py": "",
        "var/lake/run.py": "",
        "tool.py": "",
    })
    assert unclassified_packages(root) == ["notices/", "tool.py"]
