"""The DuckDB statements of ``sql/``: loaded by name, checked, run over frames or Parquet files.

One statement a file. Its header is a block of ``--`` comment lines before the SQL, with three keys::

    -- answers: what the statement answers, in one sentence
    -- basis: the law it follows (地方税法第…条), or "bookkeeping" for a pure sum
    -- params: $fiscal_year, $as_of  (every named parameter it uses; "none" when it has none)

and, under them, any further comment lines. The loader refuses a file without the three keys, with a
parameter it uses but does not declare (or declares but does not use), or with more than one statement.
The tables a statement reads are views the caller names (:func:`run_statement`'s ``tables``): a Polars
frame, or a list of Parquet files (an append-only ledger's partitions). Nothing here writes.
"""

from __future__ import annotations

import functools
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import polars as pl

from contracts.errors import ConfigError

SQL_DIR = Path(__file__).resolve().parent.parent / "sql"
_PARAM = re.compile(r"(?<![\w$])\$([a-z_][a-z0-9_]*)")
_HEADER_KEYS = ("answers", "basis", "params")


@dataclass(frozen=True)
class Statement:
    name: str
    answers: str
    basis: str
    params: tuple[str, ...]
    text: str


def _strip_comments_and_strings(sql: str) -> str:
    sql = re.sub(r"--[^\n]*", " ", sql)
    return re.sub(r"'(?:[^']|'')*'", "''", sql)


@functools.cache
def load_statement(name: str) -> Statement:
    """``sql/<name>.sql`` as a :class:`Statement`, or a ConfigError naming the file and what is wrong."""
    path = SQL_DIR / f"{name}.sql"
    if not path.is_file():
        raise ConfigError(f"sql/{name}.sql does not exist")
    text = path.read_text(encoding="utf-8")
    header: dict[str, str] = {}
    for line in text.splitlines():
        if not line.startswith("--"):
            break
        key, sep, value = line[2:].strip().partition(":")
        if sep and key.strip() in _HEADER_KEYS and key.strip() not in header:
            header[key.strip()] = value.strip()
    missing = [k for k in _HEADER_KEYS if not header.get(k)]
    if missing:
        raise ConfigError(f"sql/{name}.sql: its header comment lacks {', '.join(missing)} (-- answers: / -- basis: / "
                          "-- params: before the statement)")
    declared = () if header["params"] == "none" else tuple(
        p.strip().removeprefix("$") for p in header["params"].split(",") if p.strip())
    body = _strip_comments_and_strings(text)
    used = tuple(dict.fromkeys(_PARAM.findall(body)))
    if set(used) != set(declared):
        raise ConfigError(f"sql/{name}.sql: the header declares parameters {sorted(declared)} but the statement uses "
                          f"{sorted(used)}")
    if body.strip().rstrip(";").count(";"):
        raise ConfigError(f"sql/{name}.sql holds more than one statement (one statement a file)")
    return Statement(name, header["answers"], header["basis"], declared, text)


def run_statement(name: str, params: dict[str, Any], tables: dict[str, pl.DataFrame | list[Path]]) -> pl.DataFrame:
    """Run ``sql/<name>.sql`` with its named ``params`` over ``tables`` (view name → a frame, or Parquet files;
    an empty list of files needs a frame instead, as DuckDB cannot tell the columns of nothing)."""
    import duckdb

    statement = load_statement(name)
    given, wanted = set(params), set(statement.params)
    if given != wanted:
        raise ConfigError(f"sql/{name}.sql takes parameters {sorted(wanted)}, was given {sorted(given)}")
    with duckdb.connect(":memory:") as con:
        con.execute("SET threads TO 2")
        for view, source in tables.items():
            if isinstance(source, pl.DataFrame):
                con.register(view, source.to_arrow())
            else:
                files = [str(p) for p in source]
                if not files:
                    raise ConfigError(f"sql/{name}.sql: table {view} has no files")
                listed = ", ".join("'" + f.replace("'", "''") + "'" for f in files)
                con.execute(f"CREATE VIEW {view} AS SELECT * FROM read_parquet([{listed}])")
        return pl.from_arrow(con.sql(statement.text, params=params).to_arrow_table())


def statement_names() -> list[str]:
    return sorted(p.stem for p in SQL_DIR.glob("*.sql"))


__all__ = ["SQL_DIR", "Statement", "load_statement", "run_statement", "statement_names"]
