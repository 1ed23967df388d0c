"""Loading the rules as data (``rules/``): one file per fiscal year (年度) and one profile per
municipality kind (特別区, 市町村, 指定都市) plus the ward's own profile.

No value lives in code: the engine (:mod:`transforms.tax_engine`) asks for parameters by name. The
loader refuses floats (every rate is a decimal string, every amount an integer) and any parameter
without ``description``, ``source`` and ``status``, so a rule file that would make a yen uncertain
or unexplained does not load.

    rules = load_rules(2026)
    rules.amount("dependants.income_limit")      # 580000
    rules.percent("donation_credit.base_limit_percent")  # Fraction(30, 100)
    rules.source("dependants")                   # the legal basis, for the computation sheet
"""

from __future__ import annotations

import functools
from dataclasses import dataclass
from decimal import Decimal, InvalidOperation
from fractions import Fraction
from pathlib import Path
from typing import Any

import yaml

RULES_DIR = Path(__file__).resolve().parent.parent / "rules"
STATUSES = ("law", "official", "examples", "third_party")
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

    def source(self, name: str) -> str:
        return str(self.param(name.partition(".")[0]).get("source", ""))

    def status(self, name: str) -> str:
        return str(self.param(name.partition(".")[0]).get("status", ""))

    def check_documented(self) -> list[str]:
        """Problems: parameters without description/source/status or with an unknown status."""
        problems = []
        for name, spec in self.parameters.items():
            if not isinstance(spec, dict):
                problems.append(f"{self.file}: {name} is not a mapping")
                continue
            for key in ("description", "source", "status"):
                if not spec.get(key):
                    problems.append(f"{self.file}: {name} has no {key}")
            if spec.get("status") not in STATUSES:
                problems.append(f"{self.file}: {name} has status {spec.get('status')!r}, not one of {STATUSES}")
        return problems


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
    return Rules(path.name, header, data.get("parameters") or {})


@functools.cache
def load_profile(kind: str) -> Profile:
    """The profile of a municipality kind: ``special_ward``, ``city`` or ``designated_city``."""
    if kind not in KINDS:
        raise RuleError(f"municipality kind must be one of {', '.join(KINDS)}, got {kind!r}")
    data = _load_yaml(RULES_DIR / "profiles" / f"{kind}.yaml")
    header = {k: v for k, v in data.items() if k != "parameters"}
    return Profile(f"profiles/{kind}.yaml", header, data.get("parameters") or {})


@functools.cache
def load_municipality_profile(code: str = DEFAULT_MUNICIPALITY) -> Profile:
    """A municipality's profile: its kind's profile with the municipality's overrides applied."""
    path = RULES_DIR / "profiles" / f"municipality_{code}.yaml"
    if not path.exists():
        raise RuleError(f"there is no profile for municipality {code} (rules/profiles/municipality_{code}.yaml)")
    data = _load_yaml(path)
    base = load_profile(str(data["kind"]))
    parameters = {name: dict(spec) for name, spec in base.parameters.items()}
    for name, override in (data.get("overrides") or {}).items():
        if name not in parameters:
            raise RuleError(f"{path.name}: override of unknown parameter {name!r}")
        if isinstance(override, dict):
            parameters[name].update(override)
        else:
            parameters[name]["value"] = override
        parameters[name]["source"] = f"{parameters[name]['source']}; {data.get('source', '')}"
    header = {**base.header, "municipality": code, "name": data.get("name", code)}
    return Profile(f"profiles/municipality_{code}.yaml", header, parameters)
