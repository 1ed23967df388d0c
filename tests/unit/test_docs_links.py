"""The repository stands on its own: its documentation links only to files inside it.

* Every markdown link ``[text](target)`` (and image) in README.md, docs/ and every other markdown file of
  the repository either points to a public web page (``http(s)://``) or is a relative path that resolves
  to an existing file or folder inside the repository, not under the generated ``var/`` or ``.venv/``.
  An anchor (``file.md#anchor`` or ``#anchor``) must exist in the markdown file it names: an explicit
  ``<a id="...">`` or a heading (GitHub's slug of it).
* The Layout table of README.md names only folders that exist, and every top-level folder of the
  repository appears in it.
* No file cites the team's research notes or design card, which live outside the repository
  (``formats.md §1.2``, ``tax-rules-detail §3``, ``DESIGN §3``, ``/work/shared/...``): cite
  ``docs/sources.md`` (``#f1-2`` …) and ``docs/architecture.md`` (§N) instead. Only
  tests may name ``../shared/peer-files``, the folder they read other implementations' files from.
"""

from __future__ import annotations

import os
import re
import subprocess
import unicodedata
from functools import cache
from pathlib import Path
from urllib.parse import unquote

import pytest

REPO = Path(__file__).resolve().parents[2]

# Folders that are never part of the repository's content (generated, ignored or tool state).
SKIPPED_DIRS = {".git", ".venv", "var", "node_modules", "__pycache__", ".pytest_cache", "build", "dist"}
GENERATED_ROOTS = {"var", ".venv", ".git"}

FENCE = re.compile(r"^ {0,3}(`{3,}|~{3,})")
INLINE_CODE = re.compile(r"(`+)(?:(?!\1).)+?\1")
LINK = re.compile(r"!?\[(?P<text>(?:[^\[\]]|\[[^\]]*\])*)\]\(\s*<?(?P<target>[^)\s>]+)>?(?:\s+(?:\"[^\"]*\"|'[^']*'))?\s*\)")
HEADING = re.compile(r"^ {0,3}(#{1,6})\s+(?P<text>.*?)\s*#*\s*$")
HTML_ID = re.compile(r"<[a-zA-Z][^>]*\s(?:id|name)\s*=\s*[\"'](?P<id>[^\"']+)[\"']")
ALLOWED_SCHEMES = ("http://", "https://")

# Citations of documents that live outside the repository (the team's research notes and design card).
OUTSIDE_CITATION = re.compile(
    r"\.\./shared/|/work/shared|\bformats\.md|\btax-rules(?:-detail)?\b|privacy-and-reliability|collection-formats"
    r"|\bDESIGN(?:\.md)?\s*§|\breference\s*§"
)
# Tests may read the peer files (files written by other implementations of our wire formats) from
# ../shared/peer-files, skipping when it is absent: that folder is named on purpose, never copied in.
PEER_FILES = re.compile(r"\.\./shared/peer-files")
# docs/sources.md maps the old citation forms to its entries, so it names them on purpose.
CITATION_SCAN_EXEMPT = frozenset({"docs/sources.md", "tests/unit/test_docs_links.py"})
TEXT_SUFFIXES = {".md", ".py", ".yaml", ".yml", ".toml", ".cfg", ".csv", ".txt", ".json", ".in", ""}


def _walk(suffixes: set[str]) -> list[Path]:
    """Files of the repository with one of ``suffixes``, skipping generated and tool folders."""
    found = []
    for root, dirs, files in os.walk(REPO):
        dirs[:] = [d for d in dirs if d not in SKIPPED_DIRS and not d.endswith(".egg-info")]
        found.extend(Path(root) / name for name in files if Path(name).suffix in suffixes)
    return sorted(found)


def markdown_files() -> list[Path]:
    return _walk({".md"})


def _rel(path: Path) -> str:
    return path.relative_to(REPO).as_posix()


def _prose_lines(text: str, *, strip_code: bool = True) -> list[tuple[int, str]]:
    """(line number, line) outside fenced code blocks, with inline code spans removed unless ``strip_code``
    is false."""
    lines, fence = [], None
    for number, line in enumerate(text.splitlines(), start=1):
        opening = FENCE.match(line)
        if fence is None and opening:
            fence = opening.group(1)[0]
            continue
        if fence is not None:
            if opening and opening.group(1)[0] == fence:
                fence = None
            continue
        lines.append((number, INLINE_CODE.sub("", line) if strip_code else line))
    return lines


def links(path: Path) -> list[tuple[int, str]]:
    """(line number, target) of every markdown link and image of ``path`` outside code."""
    return [
        (number, match.group("target"))
        for number, line in _prose_lines(path.read_text(encoding="utf-8"))
        for match in LINK.finditer(line)
    ]


def github_slug(heading: str) -> str:
    """The anchor GitHub gives a heading: the rendered text lower-cased, punctuation and symbols removed,
    spaces turned into hyphens (letters of every script, digits, ``_`` and ``-`` are kept)."""
    text = re.sub(r"!?\[((?:[^\[\]]|\[[^\]]*\])*)\]\([^)]*\)", r"\1", heading)  # a link renders as its text
    text = re.sub(r"<[^>]+>", "", text)  # inline HTML renders as nothing
    kept = []
    for char in text.lower():
        category = unicodedata.category(char)
        if char in "-_ " or category[0] in "LNM":
            kept.append(char)
    return "".join(kept).replace(" ", "-")


@cache
def anchors(path: Path) -> frozenset[str]:
    """Every anchor a link may name in the markdown file ``path``."""
    text = path.read_text(encoding="utf-8")
    found: set[str] = set(match.group("id") for match in HTML_ID.finditer(text))
    seen: dict[str, int] = {}
    for _, line in _prose_lines(text, strip_code=False):
        heading = HEADING.match(line)
        if not heading:
            continue
        slug = github_slug(heading.group("text"))
        count = seen.get(slug, 0)
        seen[slug] = count + 1
        found.add(slug if count == 0 else f"{slug}-{count}")
    return frozenset(found)


def link_problem(source: Path, target: str) -> str | None:
    """Why ``target``, linked from ``source``, does not resolve inside the repository (None if it does)."""
    if target.startswith(ALLOWED_SCHEMES):
        return None
    if re.match(r"^[a-zA-Z][a-zA-Z0-9+.-]*:", target):
        return "links only to public web pages (http/https) or to files of the repository"
    path_part, _, anchor = target.partition("#")
    if not path_part:
        resolved = source
    else:
        if path_part.startswith("/"):
            return "is an absolute path; link relative to the file instead"
        resolved = (source.parent / unquote(path_part)).resolve()
        try:
            inside = resolved.relative_to(REPO.resolve())
        except ValueError:
            return "points outside the repository"
        if inside.parts and inside.parts[0] in GENERATED_ROOTS:
            return f"points into {inside.parts[0]}/, which is generated and not part of the repository"
        if not resolved.exists():
            return "names a file or folder that does not exist"
    if anchor and resolved.suffix == ".md" and resolved.is_file():
        if unquote(anchor) not in anchors(resolved):
            return f"names anchor #{anchor}, which {resolved.relative_to(REPO.resolve()).as_posix()} does not have"
    return None


def test_markdown_files_are_found():
    names = {_rel(p) for p in markdown_files()}
    assert {"README.md", "docs/architecture.md", "docs/sources.md"} <= names


@pytest.mark.parametrize("path", markdown_files(), ids=_rel)
def test_every_link_resolves_inside_the_repository(path):
    problems = [
        f"{_rel(path)}:{number}: link to {target!r} {problem}"
        for number, target in links(path)
        if (problem := link_problem(path, target)) is not None
    ]
    assert not problems, "\n".join(problems)


def test_readme_links_the_architecture_and_the_sources():
    targets = {target.partition("#")[0] for _, target in links(REPO / "README.md")}
    assert {"docs/architecture.md", "docs/sources.md"} <= targets


def readme_layout_folders() -> list[str]:
    """The folder names in the code block of README.md's "## Layout" section."""
    text = (REPO / "README.md").read_text(encoding="utf-8")
    section = re.search(r"^## Layout\s*$(?P<body>.*?)(?=^## |\Z)", text, flags=re.M | re.S)
    assert section, "README.md has no '## Layout' section"
    block = re.search(r"```[^\n]*\n(?P<code>.*?)```", section.group("body"), flags=re.S)
    assert block, "README.md's Layout section has no code block"
    # An entry is a folder name ending in "/" followed by the padding before its description.
    return re.findall(r"(?:^|(?<=\s))([A-Za-z0-9_.-]+/)(?= {2,})", block.group("code"), flags=re.M)


def test_readme_layout_names_only_existing_folders():
    folders = readme_layout_folders()
    assert len(folders) >= 5, f"expected the Layout table's folder names, found {folders}"
    missing = [f for f in folders if not (REPO / f).is_dir() or f.rstrip("/") in GENERATED_ROOTS]
    assert not missing, f"README.md's Layout table names folders that are not in the repository: {missing}"


def _tracked_files() -> list[str] | None:
    try:
        result = subprocess.run(["git", "ls-files"], cwd=REPO, capture_output=True, text=True, check=True)
    except (OSError, subprocess.CalledProcessError):
        return None
    return result.stdout.splitlines() or None


def test_readme_layout_lists_every_top_level_folder():
    tracked = _tracked_files()
    if tracked is None:
        pytest.skip("not a git checkout: the repository's own folders cannot be told from local ones")
    top = {name.split("/", 1)[0] + "/" for name in tracked if "/" in name and not name.startswith(".")}
    unlisted = sorted(top - set(readme_layout_folders()))
    assert not unlisted, f"README.md's Layout table does not list {unlisted}"


@pytest.mark.slow
def test_no_citation_of_documents_outside_the_repository():
    problems = []
    for path in _walk(TEXT_SUFFIXES):
        name = _rel(path)
        if name in CITATION_SCAN_EXEMPT:
            continue
        try:
            text = path.read_text(encoding="utf-8")
        except UnicodeDecodeError:
            continue
        for number, line in enumerate(text.splitlines(), start=1):
            match = OUTSIDE_CITATION.search(line)
            if match and not (name.startswith("tests/") and PEER_FILES.search(line)):
                problems.append(f"{name}:{number}: cites {match.group(0)!r}")
    assert not problems, (
        "cite docs/sources.md (e.g. docs/sources.md#f1-2) or docs/architecture.md (§N) instead of documents "
        "outside the repository:\n" + "\n".join(problems)
    )


# ------------------------------------------------------------------------------ the checker can fail


def test_checker_refuses_links_outside_or_missing(tmp_path):
    readme = REPO / "README.md"
    assert link_problem(readme, "../shared/DESIGN.md") == "points outside the repository"
    assert link_problem(readme, "/work/shared/DESIGN.md").startswith("is an absolute path")
    assert link_problem(readme, "docs/no-such-page.md") == "names a file or folder that does not exist"
    assert link_problem(readme, "var/lake/").startswith("points into var/")
    assert link_problem(readme, "file:///etc/passwd").startswith("links only to public web pages")
    assert "does not have" in link_problem(readme, "docs/sources.md#no-such-entry")
    assert link_problem(readme, "docs/sources.md#f1-2") is None
    assert link_problem(readme, "docs/architecture.md#3-the-lake") is None
    assert link_problem(readme, "https://www.e-tax.nta.go.jp/shiyo/index.htm") is None


def test_slugs_follow_github():
    assert github_slug("3. The lake") == "3-the-lake"
    assert github_slug("`juminzei status`") == "juminzei-status"
    assert github_slug("Operator guide (税務課)") == "operator-guide-税務課"
    assert github_slug("Spouse and dependants (`taxation_basis_relatives`)") == (
        "spouse-and-dependants-taxation_basis_relatives"
    )
    assert github_slug("F1.2 [layout](x.md) — 98 columns") == "f12-layout--98-columns"


def test_layout_parser_reads_entries_not_descriptions():
    assert "sql/" in readme_layout_folders()  # an entry of its own since the collection ledger
    assert "worked_examples/" not in readme_layout_folders()
    assert "benchmarks/" not in readme_layout_folders()  # inside a description, not an entry
