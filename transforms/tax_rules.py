"""Loading the rules as data (``rules/``): one file per fiscal year (年度) and one profile per
municipality kind (特別区, 市町村, 指定都市) plus the ward's own profile.

No value lives in code: the engine (:mod:`transforms.tax_engine`) asks for parameters by name. The
loader refuses floats (every rate is a decimal string, every amount an integer) and any parameter
without ``description``, ``basis`` and ``status``, so a rule file that would make a yen uncertain
or unexplained does not load.

The ``basis`` (根拠) of a parameter is the law: a list of citations, each beginning with the name of a
law, cabinet order, ministerial order, notice (告示) or ordinance (条例) registered in ``rules/laws.yaml``,
at least one of them article-level (第…条, 附則, 別表). A municipal page, a 国税庁 タックスアンサー or a
worked example is never a basis: it may be listed under ``references`` as a second source for how a
figure is computed. The loader refuses a parameter whose basis names no law, naming the file and key.

    rules = load_rules(2026)
    rules.amount("dependants.income_limit")      # 580000
    rules.percent("donation_credit.base_limit_percent")  # Fraction(30, 100)
    rules.basis("dependants")                    # the legal basis, for the computation sheet
"""

from __future__ import annotations

import functools
import re
from dataclasses import dataclass
from decimal import Decimal, InvalidOperation
from fractions import Fraction
from pathlib import Path
from typing import Any

import yaml

RULES_DIR = Path(__file__).resolve().parent.parent / "rules"
LAWS_FILE = "laws.yaml"
STATUSES = ("law", "official", "examples", "third_party")
#: an article-level locator in a citation: 第N条 (also 第N条のM), 附則 …, 別表第N
ARTICLE_RE = re.compile(r"第[0-9０-９一二三四五六七八九十百千]+条|附則|別表第")
#: keys of the old format that mixed law and municipal pages in one string
RETIRED_KEYS = ("source", "amount_source")
#: keys of a municipality's override that document it rather than set a value
OVERRIDE_DOC_KEYS = {"basis", "references", "basis_notes"}
KINDS = ("special_ward", "city", "designated_city")
DEFAULT_MUNICIPALITY = "131032"


class RuleError(ValueError):
    """A rule file is missing, malformed or lacks a value the engine needs (names file and key)."""


def _load_yaml(path: Path) -> dict:
    if not path.exists():
        raise RuleError(f"rule file {path.relative_to(RULES_DIR.parent)} does not exist")
    with path.open(encoding="utf-8") as handle:
        data = yaml.safe_load(handle)
    if not isinstance(data, dict):
        raise RuleError(f"rule file {path.name} is not a mapping")
    _refuse_floats(data, path.name, "")
    return data


@functools.cache
def registered_laws() -> tuple[str, ...]:
    """The names in ``rules/laws.yaml`` that a basis citation may begin with (longest first)."""
    data = _load_yaml(RULES_DIR / LAWS_FILE)
    names = [str(entry["name"]) for entry in data.get("laws") or [] if isinstance(entry, dict) and entry.get("name")]
    if not names:
        raise RuleError(f"{LAWS_FILE} lists no laws")
    return tuple(sorted(names, key=len, reverse=True))


def names_a_law(citation: str) -> bool:
    """True if ``citation`` begins with a registered law's name (not a municipal page or an answer page)."""
    text = citation.strip()
    return any(text.startswith(name) for name in registered_laws())


def check_basis(spec: Any, file: str, key: str) -> list[str]:
    """Problems with the legal basis (and the references) of one parameter; each names file and key."""
    problems = []
    for retired in RETIRED_KEYS:
        if isinstance(spec, dict) and retired in spec:
            problems.append(
                f"{file}: {key} has {retired!r}; write the law under 'basis' and municipal or other pages under "
                "'references' (rules/README.md)"
            )
    basis = spec.get("basis") if isinstance(spec, dict) else None
    if not basis:
        problems.append(f"{file}: {key} has no legal basis ('basis': the article of the law or ordinance)")
        return problems
    if isinstance(basis, str) or not isinstance(basis, list) or not all(isinstance(b, str) and b.strip() for b in basis):
        problems.append(f"{file}: {key}.basis must be a list of citations (strings), got {basis!r}")
        return problems
    for citation in basis:
        if not names_a_law(citation):
            problems.append(
                f"{file}: {key}.basis {citation!r} names no law; a basis begins with a law or ordinance of "
                f"rules/{LAWS_FILE} (e.g. 地方税法第314条の2第1項); a municipal page belongs under 'references'"
            )
    if not any(ARTICLE_RE.search(citation) for citation in basis):
        problems.append(f"{file}: {key}.basis cites no article (第…条, 附則 or 別表): {basis!r}")
    references = spec.get("references", [])
    if not isinstance(references, list) or not all(isinstance(r, str) and r.strip() for r in references):
        problems.append(f"{file}: {key}.references must be a list of strings, got {references!r}")
    notes = spec.get("basis_notes")
    if notes is not None and not isinstance(notes, str):
        problems.append(f"{file}: {key}.basis_notes must be a string, got {notes!r}")
    return problems


def _refuse_floats(value: Any, file: str, where: str) -> None:
    if isinstance(value, float):
        raise RuleError(f"{file}: {where} is a float ({value!r}); write amounts as integers and rates as strings")
    if isinstance(value, dict):
        for key, item in value.items():
            _refuse_floats(item, file, f"{where}.{key}" if where else str(key))
    elif isinstance(value, list):
        for index, item in enumerate(value):
            _refuse_floats(item, file, f"{where}[{index}]")


def to_fraction(text: Any, *, file: str = "", key: str = "") -> Fraction:
    """An exact rate from a percent string such as ``"84.895"`` → Fraction(84895, 100000)."""
    if isinstance(text, bool) or not isinstance(text, (str, int)):
        raise RuleError(f"{file}: {key} must be a percent string such as \"6\" or \"84.895\", got {text!r}")
    try:
        value = Decimal(str(text))
    except InvalidOperation:
        raise RuleError(f"{file}: {key} is not a number: {text!r}") from None
    return Fraction(value) / 100


@dataclass(frozen=True)
class RuleSet:
    """The parameters of one file (a fiscal year or a profile), addressed as ``name.key.sub``."""

    file: str
    header: dict
    parameters: dict

    def param(self, name: str) -> dict:
        try:
            return self.parameters[name]
        except KeyError:
            raise RuleError(f"{self.file}: parameter {name!r} is missing") from None

    def get(self, path: str) -> Any:
        name, _, rest = path.partition(".")
        node: Any = self.param(name)
        for part in rest.split(".") if rest else []:
            if not isinstance(node, dict) or part not in node:
                raise RuleError(f"{self.file}: {path!r} is missing")
            node = node[part]
        return node

    def amount(self, path: str) -> int:
        value = self.get(path)
        if isinstance(value, bool) or not isinstance(value, int):
            raise RuleError(f"{self.file}: {path} must be an integer amount, got {value!r}")
        return value

    def percent(self, path: str) -> Fraction:
        return to_fraction(self.get(path), file=self.file, key=path)

    def table(self, path: str) -> list[dict]:
        value = self.get(path)
        if not isinstance(value, list):
            raise RuleError(f"{self.file}: {path} must be a table (list of rows)")
        return value

    def basis(self, name: str) -> tuple[str, ...]:
        """The legal basis (根拠) of a parameter: its citations of the law, in order."""
        return tuple(self.param(name.partition(".")[0]).get("basis") or ())

    def references(self, name: str) -> tuple[str, ...]:
        """Second sources (municipal worked examples, answer pages) for how the figure is computed."""
        return tuple(self.param(name.partition(".")[0]).get("references") or ())

    def basis_notes(self, name: str) -> str:
        """What of the basis could not be confirmed against the statute text (empty if nothing)."""
        return str(self.param(name.partition(".")[0]).get("basis_notes") or "")

    def status(self, name: str) -> str:
        return str(self.param(name.partition(".")[0]).get("status", ""))

    def check_documented(self) -> list[str]:
        """Problems: parameters without description, legal basis or status, or with an unknown status."""
        problems = []
        for name, spec in self.parameters.items():
            if not isinstance(spec, dict):
                problems.append(f"{self.file}: {name} is not a mapping")
                continue
            for key in ("description", "status"):
                if not spec.get(key):
                    problems.append(f"{self.file}: {name} has no {key}")
            if spec.get("status") not in STATUSES:
                problems.append(f"{self.file}: {name} has status {spec.get('status')!r}, not one of {STATUSES}")
            problems.extend(check_basis(spec, self.file, name))
        return problems

    def refuse_undocumented(self) -> None:
        """Raise a :class:`RuleError` listing every problem of :meth:`check_documented` (file and key)."""
        problems = self.check_documented()
        if problems:
            raise RuleError("; ".join(problems))


@dataclass(frozen=True)
class Rules(RuleSet):
    """The rules of one fiscal year (年度)."""

    @property
    def fiscal_year(self) -> int:
        return int(self.header["fiscal_year"])

    @property
    def income_year(self) -> int:
        return int(self.header["income_year"])

    @property
    def label(self) -> str:
        return str(self.header["label"])


@dataclass(frozen=True)
class Profile(RuleSet):
    """Rates and amounts of one municipality kind (or one municipality with its overrides)."""

    @property
    def kind(self) -> str:
        return str(self.header["kind"])

    def levy_name(self, levy: str) -> str:
        return str(self.header["levy_names"][levy])


def available_fiscal_years() -> list[int]:
    return sorted(int(p.stem.removeprefix("fiscal_year_")) for p in RULES_DIR.glob("fiscal_year_*.yaml"))


@functools.cache
def load_rules(fiscal_year: int) -> Rules:
    """The rules of ``fiscal_year``; a RuleError names the years that exist if it has none."""
    path = RULES_DIR / f"fiscal_year_{int(fiscal_year)}.yaml"
    if not path.exists():
        years = ", ".join(str(y) for y in available_fiscal_years())
        raise RuleError(f"there are no rules for fiscal year {fiscal_year}; rules exist for {years} (rules/)")
    data = _load_yaml(path)
    if int(data.get("fiscal_year", -1)) != int(fiscal_year):
        raise RuleError(f"{path.name} says fiscal_year {data.get('fiscal_year')!r}, expected {fiscal_year}")
    header = {k: v for k, v in data.items() if k != "parameters"}
    rules = Rules(path.name, header, data.get("parameters") or {})
    rules.refuse_undocumented()
    return rules


@functools.cache
def load_profile(kind: str) -> Profile:
    """The profile of a municipality kind: ``special_ward``, ``city`` or ``designated_city``."""
    if kind not in KINDS:
        raise RuleError(f"municipality kind must be one of {', '.join(KINDS)}, got {kind!r}")
    data = _load_yaml(RULES_DIR / "profiles" / f"{kind}.yaml")
    header = {k: v for k, v in data.items() if k != "parameters"}
    profile = Profile(f"profiles/{kind}.yaml", header, data.get("parameters") or {})
    profile.refuse_undocumented()
    return profile


@functools.cache
def load_municipality_profile(code: str = DEFAULT_MUNICIPALITY) -> Profile:
    """A municipality's profile: its kind's profile with the municipality's overrides applied."""
    path = RULES_DIR / "profiles" / f"municipality_{code}.yaml"
    if not path.exists():
        raise RuleError(f"there is no profile for municipality {code} (rules/profiles/municipality_{code}.yaml)")
    data = _load_yaml(path)
    file = f"profiles/{path.name}"
    problems = check_basis(data, file, "(header)")
    base = load_profile(str(data["kind"]))
    parameters = {name: dict(spec) for name, spec in base.parameters.items()}
    for name, override in (data.get("overrides") or {}).items():
        if name not in parameters:
            raise RuleError(f"{file}: override of unknown parameter {name!r}")
        if not isinstance(override, dict):
            override = {"value": override}
        # an override that sets a value rests on the municipality's own ordinance: it must cite it
        sets_value = bool(set(override) - OVERRIDE_DOC_KEYS - set(RETIRED_KEYS))
        if sets_value or set(override) & ({"basis"} | set(RETIRED_KEYS)):
            problems.extend(check_basis(override, file, f"overrides.{name}"))
        merged = parameters[name]
        for key, value in override.items():
            if key in ("basis", "references"):  # the ward's ordinance is cited after the law it applies
                merged[key] = [*merged.get(key, []), *value]
            elif key == "basis_notes" and merged.get(key):
                merged[key] = f"{merged[key]} {value}"
            else:
                merged[key] = value
    if problems:
        raise RuleError("; ".join(problems))
    header = {**base.header, "municipality": code, "name": data.get("name", code),
              "basis": list(data.get("basis") or []), "references": list(data.get("references") or [])}
    profile = Profile(file, header, parameters)
    profile.refuse_undocumented()
    return profile
