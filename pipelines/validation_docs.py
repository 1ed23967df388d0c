"""Human-readable validation reports (Great Expectations Data Docs and static offline pages) for stage runs.

Pandera contracts stay the gates (STYLE rule 7): they decide whether a stage may write. This module
turns a stage's *business* expectations (one basis per person, no negative tax, totals in range, …)
into a Great Expectations (GE 1.x) validation result and Data Docs pages that operators and auditors
can open in a browser. A failed expectation never raises here: it is reported, the stage decides.

Where the files are (one fixed folder, ``Settings.data_docs``: ``JUMINZEI_DATA_DOCS`` or
``<home>/var/data_docs``; ``var/`` is git-ignored)::

    runs.html                                    offline index: every run of every stage, newest first
    runs/<stage>/municipality=<M>/fiscal_year=<N>/<run_id>.json   our summary of one run (stable)
    runs/<stage>/municipality=<M>/fiscal_year=<N>/<run_id>.html   offline page of one run, from that JSON
    index.html                                   the GE Data Docs home page: every run of every stage
    validations/<stage>/<table>/<M>/<N>/<run_id>/<time>/…html   one page per table and run
    expectations/<stage>/<table>/<M>/<N>.html    the latest expectation set of a table
    static/                                      GE's style sheets and images
    _gx/expectations/, _gx/validations/          GE's own stores, from which the index is rebuilt

The GE context is ephemeral (nothing in the repository tree, no ``great_expectations.yml``); only
the two stores above persist, so the index lists all runs ever made in this folder. Run name =
``run_id``, run time = the start time encoded in the run id, so rerunning a run id replaces its pages.

Each table is validated by its own ``ValidationDefinition`` (suite ``<stage>.<table>.<M>.<N>``) and the
site is then built once for this run's results and suites plus the index, as GE's
``UpdateDataDocsAction`` does. A ``Checkpoint`` is not used because its ``run`` passes one set of
batch parameters, i.e. one DataFrame, to all its validation definitions. Runs for different
municipalities or years write different suite and result files; when two runs finish at the same
moment the later one rewrites ``index.html`` and the next run lists both again.

Expectations are data, one mapping per expectation::

    {"type": "expect_column_values_to_be_unique", "kwargs": {"column": "person_id"},
     "meaning": "one basis per person (資料併合)"}

``type`` is the GE 1.x expectation name in snake_case; it is looked up generically in
``great_expectations.expectations`` by its CamelCase class name. ``meaning`` is what an operator
reads: it becomes the expectation's description (shown on the result page) and its notes.

Privacy: every expectation is evaluated with :data:`RESULT_FORMAT` (``BASIC`` with
``partial_unexpected_count`` 0), so results and pages carry counts and percentages of unexpected
values, never the values themselves (no 宛名番号, amounts or names of a person). Expectation types
whose *observed value* is one row's value (min, max, median, quantiles, most common or distinct
values) are refused for the same reason (:data:`VALUE_REVEALING_TYPES`). ``kwargs`` are written into
the pages and the run report: they must hold column names, bounds and code sets, never personal data.

Great Expectations takes seconds to import and prints/logs on its own: it is imported lazily inside
:func:`document_validation`, its progress bars are switched off, its loggers are limited to errors,
its warnings are dropped and anything it writes to stdout is swallowed. Only the columns an
expectation names are converted to pandas (GE does not take Polars frames); integer columns become
pandas' nullable integer types so that sums of yen stay exact.

Offline pages (closed networks such as LG-WAN): GE's page templates load Bootstrap, jQuery and fonts
from public CDNs and its logo from GE's server, and GE's ``index.html`` draws its run table with
JavaScript, so without internet that index is empty and the pages are unstyled. GE's output is left as
it is; after every run :func:`write_offline_report` renders, from our JSON summaries alone, one static
page per run (``<run_id>.html`` beside its JSON) and the index ``runs.html``. These pages have no
script, fetch nothing (inline CSS, and a Content-Security-Policy that forbids any fetch) and link
GE's pages relatively for readers who have internet. Every text is escaped with ``html.escape``; they
show the same counts, kwargs and meanings as the summary (never a value of a row). They hold no time
of rendering and no absolute path, so the same summaries give the same bytes, wherever the folder is;
a page is rewritten (atomically) only when its bytes change. ``runs.html`` is rebuilt from every
summary found under ``runs/``, so an earlier summary without a page gets one at the next run; when two
runs finish at the same moment, the next run lists both again (as with GE's index).
"""

from __future__ import annotations

import contextlib
import html
import io
import json
import logging
import math
import re
import warnings
from collections.abc import Mapping, Sequence
from datetime import UTC, datetime
from pathlib import Path, PurePosixPath
from typing import TYPE_CHECKING, Any

from contracts.errors import ConfigError
from pipelines.config import RUN_ID_RE, Settings, check_fiscal_year, check_municipality
from pipelines.lake import write_bytes_atomic, write_json_atomic

if TYPE_CHECKING:
    import polars as pl

    from pipelines.reports import RunReport

log = logging.getLogger(__name__)

SITE_NAME = "juminzei"
DATASOURCE_NAME = "juminzei"
SUMMARY_VERSION = 1
#: The static, offline index of every run (beside GE's ``index.html``).
OFFLINE_INDEX = "runs.html"

#: Counts and percentages only: no sample of unexpected values (they would be personal data).
RESULT_FORMAT: dict[str, Any] = {"result_format": "BASIC", "partial_unexpected_count": 0}

#: Expectations whose observed value is a value taken from one row: refused (privacy, see module doc).
VALUE_REVEALING_TYPES = frozenset(
    {
        "expect_column_max_to_be_between",
        "expect_column_min_to_be_between",
        "expect_column_median_to_be_between",
        "expect_column_quantile_values_to_be_between",
        "expect_column_most_common_value_to_be_in_set",
        "expect_column_distinct_values_to_be_in_set",
        "expect_column_distinct_values_to_contain_set",
        "expect_column_distinct_values_to_equal_set",
        "unexpected_rows_expectation",
    }
)

#: kwargs that name columns; only these columns are converted to pandas.
_COLUMN_KWARGS = ("column", "column_A", "column_B")
_COLUMN_LIST_KWARGS = ("column_list", "column_set")
#: result keys copied into our summary (counts and aggregates, never values of a row).
_RESULT_KEYS = ("element_count", "unexpected_count", "unexpected_percent", "missing_count", "observed_value")

_NAME_RE = re.compile(r"^[a-z][a-z0-9_]*$")
_TYPE_RE = re.compile(r"^expect_[a-z0-9_]+$")

# ------------------------------------------------------------------------------------------ public


def document_validation(
    *,
    stage: str,
    municipality: str,
    fiscal_year: int,
    run_id: str,
    settings: Settings,
    tables: Mapping[str, pl.DataFrame],
    expectations: Mapping[str, Sequence[Mapping]],
    report: RunReport | None = None,
) -> dict:
    """Validate ``tables`` against ``expectations`` with GE, write Data Docs, return a summary.

    ``expectations`` maps a table name (a key of ``tables``) to its expectation specs (module doc).
    Returns ``{"success", "data_docs" (absolute GE index.html), "validation_result" (run summary JSON),
    "report_page" (this run's offline HTML page), "runs_index" (offline ``runs.html``),
    "expectations" (number evaluated), "failed" ([{table, type, kwargs, meaning, detail}]),
    "tables" ({name: rows}), "pages" ({table: absolute GE page of this run})}``. With ``report``, the
    summary is recorded as the report's ``validation`` field and check ``validation_report``.

    Raises :class:`ConfigError` for unusable arguments (unknown table or expectation type, missing
    meaning, value-revealing type); never for an expectation that is not met.
    """
    if not isinstance(stage, str) or not _NAME_RE.match(stage):
        raise ConfigError(f"Stage name {stage!r} is not usable; expected lower-case letters, digits and underscores.")
    check_municipality(municipality)
    check_fiscal_year(fiscal_year)
    if not isinstance(run_id, str) or not RUN_ID_RE.match(run_id):
        raise ConfigError(
            f"Run id {run_id!r} is not usable for the validation report; expected YYYYMMDDTHHMMSSZ-<stage>-<8 hex>."
        )
    specs = _check_specs(stage, tables, expectations)
    root = Path(settings.data_docs)
    row_counts = {name: int(tables[name].height) for name in sorted(tables)}

    with _quiet():
        results = _run_great_expectations(
            root=root, stage=stage, municipality=municipality, fiscal_year=fiscal_year, run_id=run_id,
            tables=tables, specs=specs,
        )

    failed = []
    outcomes: dict[str, list[dict]] = {}
    for table, entries in results["outcomes"].items():
        outcomes[table] = entries
        for entry in entries:
            if not entry["success"]:
                failed.append(
                    {"table": table, "type": entry["type"], "kwargs": entry["kwargs"], "meaning": entry["meaning"],
                     "detail": entry["detail"]}
                )
    evaluated = sum(len(entries) for entries in outcomes.values())
    success = not failed
    summary_path = (
        root / "runs" / stage / f"municipality={municipality}" / f"fiscal_year={fiscal_year}" / f"{run_id}.json"
    )
    summary = {
        "success": success,
        "data_docs": str(root / "index.html"),
        "validation_result": str(summary_path),
        "report_page": str(summary_path.with_suffix(".html")),
        "runs_index": str(root / OFFLINE_INDEX),
        "expectations": evaluated,
        "failed": failed,
        "tables": row_counts,
        "pages": results["pages"],
        # a dry run's validation is listed as such (its outputs were not written)
        "dry_run": bool(report.dry_run) if report is not None else False,
    }
    write_json_atomic(
        summary_path,
        {
            "summary_version": SUMMARY_VERSION,
            "stage": stage,
            "municipality": municipality,
            "fiscal_year": fiscal_year,
            "run_id": run_id,
            "great_expectations_version": results["version"],
            "result_format": RESULT_FORMAT,
            **summary,
            "results": outcomes,
        },
    )
    # The offline pages are rendered from the summary just written (and every earlier one), not from GE.
    write_offline_report(root)
    log.info(
        "validation report %s %s %s %s: %d of %d expectations met; %s",
        stage, municipality, fiscal_year, run_id, evaluated - len(failed), evaluated, summary["report_page"],
    )
    if report is not None:
        report.set_validation(summary)
        if not success:
            report.message(
                f"Validation report: {len(failed)} of {evaluated} expectations not met "
                f"({', '.join(sorted({f['table'] + ': ' + f['type'] for f in failed}))}); see {summary['report_page']}."
            )
    return summary


# --------------------------------------------------------------------------------------- checking


def _check_specs(
    stage: str, tables: Mapping[str, Any], expectations: Mapping[str, Sequence[Mapping]]
) -> dict[str, list[dict]]:
    """Normalised specs per table, or a :class:`ConfigError` naming the table and expectation."""
    specs: dict[str, list[dict]] = {}
    for name in tables:
        if not isinstance(name, str) or not _NAME_RE.match(name):
            raise ConfigError(f"Validation of {stage}: table name {name!r} is not usable; expected snake_case.")
    for table in sorted(expectations):
        if table not in tables:
            raise ConfigError(
                f"Validation of {stage}: expectations are given for table {table!r}, which is not among the "
                f"tables passed ({', '.join(sorted(tables)) or 'none'})."
            )
        checked = []
        for number, spec in enumerate(expectations[table], start=1):
            where = f"Validation of {stage}, table {table}, expectation {number}"
            if not isinstance(spec, Mapping):
                raise ConfigError(f"{where}: expected a mapping with type, kwargs and meaning.")
            kind = spec.get("type")
            if not isinstance(kind, str) or not _TYPE_RE.match(kind):
                raise ConfigError(
                    f"{where}: type {kind!r} is not usable; expected e.g. expect_column_values_to_be_unique."
                )
            if kind in VALUE_REVEALING_TYPES:
                raise ConfigError(
                    f"{where}: type {kind} would show a value of one row in the Data Docs (personal data); "
                    "use a count- or sum-based expectation instead."
                )
            kwargs = spec.get("kwargs", {})
            if not isinstance(kwargs, Mapping):
                raise ConfigError(f"{where} ({kind}): kwargs must be a mapping of argument names to values.")
            try:
                json.dumps(dict(kwargs), allow_nan=False)
            except (TypeError, ValueError):
                raise ConfigError(
                    f"{where} ({kind}): kwargs must be plain JSON values (strings, numbers, lists); "
                    "they are written into the run report."
                ) from None
            if "result_format" in kwargs:
                raise ConfigError(
                    f"{where} ({kind}): result_format is fixed to counts only (no values); remove it from kwargs."
                )
            meaning = spec.get("meaning")
            if not isinstance(meaning, str) or not meaning.strip():
                raise ConfigError(
                    f"{where} ({kind}): meaning is missing; say what the expectation means for an operator."
                )
            checked.append({"type": kind, "kwargs": dict(kwargs), "meaning": meaning.strip()})
        specs[table] = checked
    return specs


def _columns_needed(frame_columns: Sequence[str], specs: Sequence[Mapping]) -> list[str]:
    """Columns the expectations name (in frame order); all columns for table-structure checks."""
    wanted: set[str] = set()
    for spec in specs:
        kwargs = spec["kwargs"]
        if spec["type"].startswith("expect_table_column") or "row_condition" in kwargs:
            return list(frame_columns)  # these look at the whole table (column names, filters)
        for key in _COLUMN_KWARGS:
            if isinstance(kwargs.get(key), str):
                wanted.add(kwargs[key])
        for key in _COLUMN_LIST_KWARGS:
            if isinstance(kwargs.get(key), (list, tuple, set, frozenset)):
                wanted.update(c for c in kwargs[key] if isinstance(c, str))
    return [c for c in frame_columns if c in wanted]


def _to_pandas(frame: pl.DataFrame, columns: Sequence[str]):
    """The named columns as a pandas frame; a column-less frame keeps the row count."""
    import pandas as pd

    if not columns:
        return pd.DataFrame(index=pd.RangeIndex(frame.height))
    # Integer columns (yen, counts) stay integers even with nulls: pandas' nullable Int dtypes, not
    # float64 with NaN, so sums are exact.
    import pyarrow as pa

    nullable = {
        pa.int8(): pd.Int8Dtype(), pa.int16(): pd.Int16Dtype(), pa.int32(): pd.Int32Dtype(),
        pa.int64(): pd.Int64Dtype(), pa.uint8(): pd.UInt8Dtype(), pa.uint16(): pd.UInt16Dtype(),
        pa.uint32(): pd.UInt32Dtype(), pa.uint64(): pd.UInt64Dtype(),
    }
    return frame.select(list(columns)).to_pandas(types_mapper=nullable.get)


# ------------------------------------------------------------------------------ Great Expectations


@contextlib.contextmanager
def _quiet():
    """Keep GE's prints, warnings, progress bars and info logs out of our logs and CLI output."""
    swallowed = io.StringIO()
    with warnings.catch_warnings(), contextlib.redirect_stdout(swallowed):
        warnings.simplefilter("ignore")
        gx_logger = logging.getLogger("great_expectations")
        if gx_logger.level == logging.NOTSET:
            gx_logger.setLevel(logging.ERROR)
        yield
    if swallowed.getvalue():
        log.debug("Great Expectations wrote %d characters to stdout (suppressed).", len(swallowed.getvalue()))


def _run_time(run_id: str) -> datetime:
    return datetime.strptime(run_id[:16], "%Y%m%dT%H%M%SZ").replace(tzinfo=UTC)


def _store(cls: str, directory: Path) -> dict:
    return {
        "class_name": cls,
        "store_backend": {"class_name": "TupleFilesystemStoreBackend", "base_directory": str(directory)},
    }


def _memory_store(cls: str) -> dict:
    return {"class_name": cls, "store_backend": {"class_name": "InMemoryStoreBackend"}}


def _context(root: Path):
    """An ephemeral GE context whose result stores and Data Docs site live under ``root``."""
    import great_expectations as gx
    from great_expectations.data_context.types.base import DataContextConfig, ProgressBarsConfig

    config = DataContextConfig(
        stores={
            "expectations_store": _store("ExpectationsStore", root / "_gx" / "expectations"),
            "validation_results_store": _store("ValidationResultsStore", root / "_gx" / "validations"),
            "checkpoint_store": _memory_store("CheckpointStore"),
            "validation_definition_store": _memory_store("ValidationDefinitionStore"),
        },
        expectations_store_name="expectations_store",
        validation_results_store_name="validation_results_store",
        checkpoint_store_name="checkpoint_store",
        data_docs_sites={
            SITE_NAME: {
                "class_name": "SiteBuilder",
                "show_how_to_buttons": False,
                "store_backend": {"class_name": "TupleFilesystemStoreBackend", "base_directory": str(root)},
                "site_index_builder": {"class_name": "DefaultSiteIndexBuilder"},
            }
        },
        analytics_enabled=False,
        progress_bars=ProgressBarsConfig(globally=False, metric_calculations=False),
    )
    return gx.get_context(project_config=config, mode="ephemeral")


def _expectation(gxe, spec: Mapping, position: int) -> Any:
    """The GE expectation object for one spec; :class:`ConfigError` if GE has no such type or kwargs."""
    class_name = "".join(part.capitalize() for part in spec["type"].split("_"))
    cls = getattr(gxe, class_name, None)
    if cls is None:
        raise ConfigError(
            f"Expectation type {spec['type']} is not a Great Expectations expectation "
            f"(no great_expectations.expectations.{class_name})."
        )
    technical = ", ".join(f"{k}={v!r}" for k, v in sorted(spec["kwargs"].items()))
    try:
        return cls(
            **spec["kwargs"],
            # the description replaces GE's own sentence on the result page: meaning first, then the rule.
            # GE puts the description into the HTML as it is (notes it escapes itself): escape it.
            description=html.escape(f"{spec['meaning']} — {spec['type']}({technical})"),
            notes=spec["meaning"],
            meta={"meaning": spec["meaning"], "position": position},  # GE may reorder results
        )
    except Exception as error:  # pydantic validation of the kwargs
        raise ConfigError(
            f"Expectation {spec['type']} with kwargs {spec['kwargs']!r} is not accepted by Great Expectations: "
            f"{str(error).splitlines()[0]}"
        ) from None


def _detail(result: Mapping[str, Any], exception: Mapping[str, Any] | None, success: bool) -> str:
    """One sentence for the operator: counts, or the aggregate observed, or the error."""
    if exception and exception.get("raised_exception"):
        message = str(exception.get("exception_message") or "error").splitlines()[0][:200]
        return f"could not be evaluated: {message}"
    if result.get("unexpected_count") is not None:
        total = result.get("element_count")
        percent = result.get("unexpected_percent") or 0.0
        return f"{result['unexpected_count']:,} of {total:,} values unexpected ({percent:.2f}%)"
    if "observed_value" in result:
        return f"observed {_plain(result['observed_value'])!r}"
    return "met" if success else "not met"


def _plain(value: Any) -> Any:
    """A JSON-safe scalar (NaN → None, numpy → Python)."""
    if hasattr(value, "item") and not isinstance(value, (list, dict, str)):
        try:
            value = value.item()
        except (TypeError, ValueError):
            return str(value)
    if isinstance(value, float) and not math.isfinite(value):
        return None
    if isinstance(value, (bool, int, float, str)) or value is None:
        return value
    return str(value)


def _run_great_expectations(
    *, root: Path, stage: str, municipality: str, fiscal_year: int, run_id: str,
    tables: Mapping[str, pl.DataFrame], specs: Mapping[str, list[dict]],
) -> dict:
    import great_expectations as gx
    import great_expectations.expectations as gxe
    from great_expectations.core.run_identifier import RunIdentifier
    from great_expectations.data_context.types.resource_identifiers import (
        ExpectationSuiteIdentifier,
        ValidationResultIdentifier,
    )

    # Build every expectation first: a wrong type or kwargs fails before anything is written.
    built = {
        table: [_expectation(gxe, spec, position) for position, spec in enumerate(table_specs)]
        for table, table_specs in specs.items()
    }
    root.mkdir(parents=True, exist_ok=True)
    context = _context(root)
    datasource = context.data_sources.add_pandas(DATASOURCE_NAME)
    run = RunIdentifier(run_name=run_id, run_time=_run_time(run_id))
    outcomes: dict[str, list[dict]] = {}
    identifiers: list = []
    validation_ids: dict[str, Any] = {}
    for table in sorted(built):
        frame = tables[table]
        suite_name = f"{stage}.{table}.{municipality}.{fiscal_year}"
        suite = gx.ExpectationSuite(
            name=suite_name,
            expectations=built[table],
            meta={"notes": f"{stage}: table {table}, municipality {municipality}, fiscal year {fiscal_year}"},
        )
        suite = context.suites.add_or_update(suite)
        batch = datasource.add_dataframe_asset(table).add_batch_definition_whole_dataframe("whole_table")
        definition = context.validation_definitions.add(
            gx.ValidationDefinition(name=suite_name, data=batch, suite=suite)
        )
        data = _to_pandas(frame, _columns_needed(frame.columns, specs[table]))
        result = definition.run(batch_parameters={"dataframe": data}, result_format=RESULT_FORMAT, run_id=run)
        del data
        by_position = {int(evr.expectation_config.meta["position"]): evr for evr in result.results}
        if sorted(by_position) != list(range(len(specs[table]))):
            raise RuntimeError(f"Great Expectations returned results that do not match the expectations of {table}.")
        entries = []
        for position, spec in enumerate(specs[table]):
            evr = by_position[position]
            raw = evr.result or {}
            exception = evr.exception_info if isinstance(evr.exception_info, Mapping) else None
            entries.append(
                {
                    **spec,
                    "success": bool(evr.success),
                    "result": {k: _plain(raw[k]) for k in _RESULT_KEYS if k in raw},
                    "detail": _detail(raw, exception, bool(evr.success)),
                }
            )
        outcomes[table] = entries
        suite_id = ExpectationSuiteIdentifier(name=suite_name)
        validation_ids[table] = ValidationResultIdentifier(
            expectation_suite_identifier=suite_id, run_id=run, batch_identifier=result.batch_id
        )
        identifiers.extend([validation_ids[table], suite_id])

    context.build_data_docs(site_names=[SITE_NAME], resource_identifiers=identifiers, build_index=True)
    pages = {}
    for table, identifier in validation_ids.items():
        [site] = context.get_docs_sites_urls(resource_identifier=identifier, site_names=[SITE_NAME])
        pages[table] = _file_url_to_path(site["site_url"])
    return {"outcomes": outcomes, "pages": pages, "version": gx.__version__}


def _file_url_to_path(url: str) -> str:
    from urllib.parse import unquote, urlparse

    parsed = urlparse(url)
    return unquote(parsed.path) if parsed.scheme == "file" else url


# ------------------------------------------------------------------------------ offline HTML pages

#: CSS of the offline pages, inline: nothing is fetched (no fonts, images or scripts).
_OFFLINE_CSS = """
body { font-family: system-ui, "Hiragino Sans", "Yu Gothic", "Meiryo", sans-serif; margin: 1.5em; color: #111;
       background: #fff; line-height: 1.4; }
h1 { font-size: 1.4em; margin: 0 0 .6em 0; }
h2 { font-size: 1.15em; margin: 1.6em 0 .4em 0; }
table { border-collapse: collapse; margin: .4em 0 1em 0; }
th, td { border: 1px solid #999; padding: .25em .5em; vertical-align: top; text-align: left; }
th { background: #e8e8e8; }
td.num { text-align: right; font-variant-numeric: tabular-nums; white-space: nowrap; }
code { font-family: ui-monospace, "Consolas", "MS Gothic", monospace; font-size: .92em; }
.ok { color: #0a5c0a; font-weight: bold; }
.failed { color: #a00000; font-weight: bold; }
tr.failed-row td { background: #fde8e8; }
.status { font-size: 1.2em; padding: .2em .6em; border: 2px solid currentColor; display: inline-block; }
.note { color: #444; font-size: .92em; }
ul.kwargs { margin: 0; padding-left: 1.1em; }
@media print { body { margin: 0; } a { color: #111; } tr.failed-row td { background: #eee; } }
"""

#: No network at all: the browser refuses any fetch (style sheets, images, scripts) the page might name.
_OFFLINE_HEAD = (
    '<meta charset="utf-8">\n'
    "<meta http-equiv=\"Content-Security-Policy\" content=\"default-src 'none'; style-src 'unsafe-inline'\">\n"
    '<meta name="viewport" content="width=device-width, initial-scale=1">\n'
)

_SUMMARY_GLOB = "runs/*/municipality=*/fiscal_year=*/*.json"
#: Folders between ``root`` and a run page: runs/<stage>/municipality=<M>/fiscal_year=<N>/.
_RUN_PAGE_DEPTH = 4


def write_offline_report(data_docs: str | Path) -> Path:
    """(Re)write the static HTML pages of every run summary under ``data_docs`` and the index ``runs.html``.

    For each ``runs/<stage>/municipality=<M>/fiscal_year=<N>/<run_id>.json`` the page ``<run_id>.html``
    beside it is rendered from that JSON alone; ``runs.html`` lists every summary, newest first. The
    pages need no network (no script, no external URL, inline CSS) and depend only on the summaries,
    not on the folder's location or the time, so rebuilding gives the same bytes; a file is rewritten
    (atomically) only when its bytes change. A summary that cannot be read is listed as unreadable.
    Returns the path of ``runs.html``.
    """
    root = Path(data_docs)
    entries = []
    for path in sorted(root.glob(_SUMMARY_GLOB)):
        stage, municipality_part, year_part = path.parts[-4:-1]
        entry = {
            "stage": stage,
            "municipality": municipality_part.split("=", 1)[1],
            "fiscal_year": year_part.split("=", 1)[1],
            "run_id": path.stem,
            "href": "/".join(path.relative_to(root).with_suffix(".html").parts),
            "summary": None,
        }
        try:
            summary = json.loads(path.read_text(encoding="utf-8"))
        except (OSError, UnicodeDecodeError, json.JSONDecodeError):
            summary = None
        if isinstance(summary, dict):
            entry["summary"] = summary
            _write_if_changed(path.with_suffix(".html"), render_run_page(summary))
        entries.append(entry)
    index = root / OFFLINE_INDEX
    _write_if_changed(index, _render_runs_index(entries))
    return index


def render_run_page(summary: Mapping[str, Any]) -> bytes:
    """The static HTML page of one run, from its summary JSON (as written by :func:`document_validation`)."""
    up = "../" * _RUN_PAGE_DEPTH
    results = summary.get("results") if isinstance(summary.get("results"), Mapping) else {}
    failed = summary.get("failed") if isinstance(summary.get("failed"), list) else []
    rows = summary.get("tables") if isinstance(summary.get("tables"), Mapping) else {}
    evaluated = summary.get("expectations")
    status = _status_label(summary)
    title = (
        f"検証結果 / Validation report {_text(summary.get('stage'))} {_text(summary.get('municipality'))} "
        f"{_text(summary.get('fiscal_year'))} {_text(summary.get('run_id'))}"
    )
    out = [
        "<!DOCTYPE html>\n",
        '<html lang="ja">\n<head>\n',
        _OFFLINE_HEAD,
        f"<title>{_e(title)}</title>\n<style>{_OFFLINE_CSS}</style>\n</head>\n<body>\n",
        f"<p class=\"note\"><a href=\"{_href(up + OFFLINE_INDEX)}\">検証結果の一覧 / All validation runs</a></p>\n",
        f"<h1>{_e(title)}</h1>\n",
        f"<p><span class=\"status {status.lower()}\">{_e(status)}</span></p>\n",
        "<table>\n",
    ]
    facts = [
        ("処理 / Stage", _text(summary.get("stage"))),
        ("団体コード / Municipality", _text(summary.get("municipality"))),
        ("年度 / Fiscal year", _text(summary.get("fiscal_year"))),
        ("実行ID / Run id", _text(summary.get("run_id"))),
        ("種別 / Kind", _kind_label(summary)),
        ("実行開始 (UTC) / Run started (UTC)", _run_started(summary.get("run_id"))),
        ("評価した期待 / Expectations evaluated", _number(evaluated)),
        ("満たさない期待 / Expectations not met", _number(len(failed))),
        ("検証した行数 / Rows validated", ", ".join(
            f"{_text(name)}: {_number(count)}" for name, count in sorted(rows.items())
        ) or "-"),
        ("Great Expectations の版 / version", _text(summary.get("great_expectations_version"))),
    ]
    out.extend(f"<tr><th>{_e(label)}</th><td>{_e(value)}</td></tr>\n" for label, value in facts)
    out.append("</table>\n")
    out.append(
        "<p class=\"note\">件数のみ: この報告は、どの人・どの値が期待を満たさなかったかを示しません。金額は円、"
        "3桁区切り。 Counts only: this report never shows which person or which value did not meet an "
        "expectation; amounts are yen with thousands separators. <em>不適合率 / unexpected %</em> is Great "
        "Expectations' share of the non-null values when nulls are counted separately. 実行の要約 / Run summary: "
        f"<a href=\"{_href(str(summary.get('run_id')) + '.json')}\">JSON</a>. "
        f"<a href=\"{_href(up + 'index.html')}\">Great Expectations Data Docs</a> (needs internet access for "
        "styling and for its run list).</p>\n"
    )
    pages = summary.get("pages") if isinstance(summary.get("pages"), Mapping) else {}
    for table in sorted(results):
        entries = results[table] if isinstance(results[table], list) else []
        not_met = sum(1 for e in entries if isinstance(e, Mapping) and e.get("success") is not True)
        out.append(
            f"<h2>表 / table {_e(table)}: {_e(_number(rows.get(table)))} 行 rows, "
            f"期待 {len(entries) - not_met} / {len(entries)} expectations met</h2>\n"
        )
        link = _site_link(pages.get(table), summary)
        if link is not None:
            out.append(
                f"<p class=\"note\"><a href=\"{_href(up + link)}\">表 {_e(table)} の Great Expectations のページ / "
                f"Great Expectations page of table {_e(table)}</a> (needs internet access for styling)</p>\n"
            )
        out.append("<table>\n<tr>" + "".join(f"<th>{_e(label)}</th>" for label in _RESULT_COLUMNS) + "</tr>\n")
        for number, entry in enumerate(entries, start=1):
            out.append(_expectation_row(number, entry if isinstance(entry, Mapping) else {}))
        out.append("</table>\n")
    out.append("</body>\n</html>\n")
    return "".join(out).encode("utf-8")


#: the columns of a table's expectations, Japanese first (the operators' language) and English
_RESULT_COLUMNS = (
    "#", "意味 / Meaning", "期待 / Expectation", "引数 / Arguments", "結果 / Result", "不適合 / Unexpected",
    "値の数 / Values", "空 / Null", "不適合率 % / Unexpected %", "観測値 / Observed",
)
#: the columns of the offline index of runs
_INDEX_COLUMNS = (
    "実行開始 (UTC) / Run started (UTC)", "処理 / Stage", "団体コード / Municipality", "年度 / Fiscal year",
    "実行ID / Run id", "種別 / Kind", "結果 / Result", "期待 / Expectations", "満たさない / Not met",
)


def _expectation_row(number: int, entry: Mapping[str, Any]) -> str:
    result = entry.get("result") if isinstance(entry.get("result"), Mapping) else {}
    ok = entry.get("success") is True
    kwargs = entry.get("kwargs") if isinstance(entry.get("kwargs"), Mapping) else {}
    arguments = "".join(
        f"<li><code>{_e(key)}</code> = <code>{_e(_argument(value))}</code></li>"
        for key, value in sorted(kwargs.items())
    )
    percent = result.get("unexpected_percent")
    percent_text = f"{percent:.2f}" if isinstance(percent, (int, float)) and not isinstance(percent, bool) else "-"
    observed = f'<td class="num">{_e(_number(result.get("observed_value")))}</td>'
    if not ok and "observed_value" not in result and result.get("unexpected_count") is None:
        observed = f"<td>{_e(_text(entry.get('detail')) or '-')}</td>"  # e.g. "could not be evaluated: …"
    cells = [
        f'<td class="num">{number}</td>',
        f'<td lang="ja">{_e(_text(entry.get("meaning")))}</td>',
        f"<td><code>{_e(_text(entry.get('type')))}</code></td>",
        f'<td><ul class="kwargs">{arguments}</ul></td>' if arguments else "<td>-</td>",
        '<td class="ok">ok</td>' if ok else '<td class="failed">FAILED</td>',
        f'<td class="num">{_e(_number(result.get("unexpected_count")))}</td>',
        f'<td class="num">{_e(_number(result.get("element_count")))}</td>',
        f'<td class="num">{_e(_number(result.get("missing_count")))}</td>',
        f'<td class="num">{_e(percent_text)}</td>',
        observed,
    ]
    row_class = "" if ok else ' class="failed-row"'
    return f"<tr{row_class}>{''.join(cells)}</tr>\n"


def _render_runs_index(entries: Sequence[Mapping[str, Any]]) -> bytes:
    """``runs.html``: one row per run summary, newest run first (run ids start with the UTC start time)."""
    ordered = sorted(
        entries, key=lambda e: (e["run_id"], e["stage"], e["municipality"], e["fiscal_year"]), reverse=True
    )
    out = [
        "<!DOCTYPE html>\n",
        '<html lang="ja">\n<head>\n',
        _OFFLINE_HEAD,
        f"<title>検証結果の一覧 / Validation runs</title>\n<style>{_OFFLINE_CSS}</style>\n</head>\n<body>\n",
        "<h1>検証結果の一覧 / Validation runs</h1>\n",
        f"<p class=\"note\">{len(ordered)} 件、新しい順 / run(s), newest first. 実行IDからその実行の報告を開けます / "
        "Each run id opens that run's report; this page and the run pages work without internet access. "
        f"<a href=\"{_href('index.html')}\">Great Expectations Data Docs</a> (needs internet access for styling "
        "and for its run list).</p>\n",
        "<table>\n<tr>" + "".join(f"<th>{_e(label)}</th>" for label in _INDEX_COLUMNS) + "</tr>\n",
    ]
    for entry in ordered:
        summary = entry["summary"]
        if summary is None:
            status, evaluated, failed, kind = "unreadable", "-", "-", "-"
            run_cell = _e(entry["run_id"])
        else:
            status = _status_label(summary)
            evaluated = _number(summary.get("expectations"))
            failed_list = summary.get("failed")
            failed = _number(len(failed_list)) if isinstance(failed_list, list) else "-"
            run_cell = f"<a href=\"{_href(entry['href'])}\">{_e(entry['run_id'])}</a>"
            kind = _kind_label(summary)
        status_class = {"ok": "ok", "FAILED": "failed"}.get(status, "")
        row_class = ' class="failed-row"' if status != "ok" else ""
        out.append(
            f"<tr{row_class}><td>{_e(_run_started(entry['run_id']))}</td><td>{_e(entry['stage'])}</td>"
            f"<td>{_e(entry['municipality'])}</td><td class=\"num\">{_e(entry['fiscal_year'])}</td>"
            f"<td>{run_cell}</td><td>{_e(kind)}</td><td class=\"{status_class}\">{_e(status)}</td>"
            f"<td class=\"num\">{_e(evaluated)}</td><td class=\"num\">{_e(failed)}</td></tr>\n"
        )
    out.append("</table>\n</body>\n</html>\n")
    return "".join(out).encode("utf-8")


def _kind_label(summary: Mapping[str, Any]) -> str:
    """本実行 (a real run, outputs written) or 試行 (a dry run: checked, nothing written but the reports)."""
    return "試行 / dry run" if summary.get("dry_run") is True else "本実行 / run"


def _write_if_changed(path: Path, data: bytes) -> None:
    try:
        if path.read_bytes() == data:
            return
    except OSError:
        pass
    write_bytes_atomic(path, data)


def _e(value: Any) -> str:
    return html.escape(str(value), quote=True)


def _href(relative: str) -> str:
    """A relative link, percent-encoded and escaped for an attribute."""
    from urllib.parse import quote

    return html.escape(quote(relative, safe="/=.-_~"), quote=True)


def _text(value: Any) -> str:
    return "" if value is None else str(value)


def _number(value: Any) -> str:
    """Integers with thousands separators (yen, counts), other values as text, ``-`` when absent.

    A float that is a whole number (a sum of yen as Great Expectations reports it) is shown as an integer
    (3,500, not 3,500.00); other floats with two decimals.
    """
    if value is None:
        return "-"
    if isinstance(value, bool):
        return str(value).lower()
    if isinstance(value, int):
        return f"{value:,}"
    if isinstance(value, float):
        if value.is_integer():
            return f"{int(value):,}"
        return f"{value:,.2f}"
    return str(value)


def _argument(value: Any) -> str:
    """An expectation argument as text: strings as they are, numbers (bounds in yen) with thousands
    separators, lists as [a、b] (the Japanese enumeration comma, so that 10,000 stays one number) and
    mappings as {"k": v}."""
    if isinstance(value, str):
        return value
    return _argument_part(value)


def _argument_part(value: Any) -> str:
    if isinstance(value, bool) or value is None:
        return json.dumps(value)
    if isinstance(value, (int, float)):
        return _number(value)
    if isinstance(value, str):
        return json.dumps(value, ensure_ascii=False)
    if isinstance(value, Mapping):
        return "{" + ", ".join(f"{json.dumps(str(k), ensure_ascii=False)}: {_argument_part(v)}"
                               for k, v in sorted(value.items(), key=lambda item: str(item[0]))) + "}"
    if isinstance(value, (list, tuple)):
        return "[" + "、".join(_argument_part(item) for item in value) + "]"  # 、 : not a thousands separator
    return json.dumps(value, ensure_ascii=False, default=str)


def _status_label(summary: Mapping[str, Any]) -> str:
    return "ok" if summary.get("success") is True else "FAILED"


def _run_started(run_id: Any) -> str:
    if isinstance(run_id, str) and RUN_ID_RE.match(run_id):
        try:
            return _run_time(run_id).strftime("%Y-%m-%d %H:%M:%S")
        except ValueError:
            return "-"
    return "-"


def _site_link(page: Any, summary: Mapping[str, Any]) -> str | None:
    """A GE page's path relative to the Data Docs folder (as recorded in the summary), or ``None``.

    Computed from the summary's own ``data_docs`` so that the link, and the page's bytes, do not depend
    on where the folder is now.
    """
    if not isinstance(page, str) or not isinstance(summary.get("data_docs"), str):
        return None
    try:
        relative = PurePosixPath(page).relative_to(PurePosixPath(summary["data_docs"]).parent)
    except ValueError:
        return None
    return None if ".." in relative.parts else str(relative)


__all__ = [
    "OFFLINE_INDEX", "RESULT_FORMAT", "VALUE_REVEALING_TYPES", "document_validation", "render_run_page",
    "write_offline_report",
]
