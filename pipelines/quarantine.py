"""Reading the quarantine zone (不備資料): what every stage held back, per stage, file and reason.

Every dataset under ``<lake>/quarantine/`` is read the same way, whatever stage wrote it:
``quarantine/<dataset>/municipality=<M>/fiscal_year=<N>/`` through its manifest. A dataset whose name
ends in ``_warnings`` (e.g. ``quarantine/returns_ingest_warnings``) holds *warnings*: the record was
staged, one optional field was set to null; any other dataset holds *quarantined* records (not staged).

Rows are shown with the columns every quarantine dataset shares: ``source``, ``file`` (relative to
the landing root), ``record_no`` (line number; 1 for an XML file), ``field``, ``reason_code`` and
``message``. Missing columns are shown empty. Quarantine rows hold no personal data by design (no My
Number, no name, no address; a My Number in a message is masked), but ``show`` is still written to the
audit log, like every look at rows that came from personal documents.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

import polars as pl

from pipelines.config import Settings

WARNINGS_SUFFIX = "_warnings"
COLUMNS: dict[str, pl.DataType] = {
    "source": pl.String(), "file": pl.String(), "record_no": pl.Int64(), "field": pl.String(),
    "reason_code": pl.String(), "message": pl.String(),
    "other_reasons": pl.List(pl.String()),  # further problems of the same record (returns_ingest), else empty
}
VIEW_REASON = "不備資料の確認 (juminzei quarantine show)"


@dataclass(frozen=True)
class QuarantinePartition:
    dataset: str
    municipality: str
    fiscal_year: int

    @property
    def stage(self) -> str:
        """The stage that wrote it (the dataset name without ``_warnings``)."""
        return self.dataset[: -len(WARNINGS_SUFFIX)] if self.is_warnings else self.dataset

    @property
    def is_warnings(self) -> bool:
        return self.dataset.endswith(WARNINGS_SUFFIX)

    @property
    def kind(self) -> str:
        return "warning" if self.is_warnings else "quarantined"


def partitions(lake: str | Path, municipality: str | None = None,
               fiscal_year: int | None = None) -> list[QuarantinePartition]:
    """Every visible partition of the quarantine zone (hidden and temporary folders skipped), sorted."""
    root = Path(lake) / "quarantine"
    found: list[QuarantinePartition] = []
    if not root.is_dir():
        return found
    for dataset in sorted(p for p in root.iterdir() if p.is_dir() and not p.name.startswith((".", "_"))):
        for m_dir in sorted(dataset.glob("municipality=*")):
            m = m_dir.name.partition("=")[2]
            if municipality is not None and m != municipality:
                continue
            for y_dir in sorted(m_dir.glob("fiscal_year=*")):
                year = y_dir.name.partition("=")[2]
                if not year.isdigit() or not (y_dir / "_manifest.json").is_file():
                    continue
                if fiscal_year is not None and int(year) != fiscal_year:
                    continue
                found.append(QuarantinePartition(dataset.name, m, int(year)))
    return found


def read_rows(lake: str | Path, parts: Iterable[QuarantinePartition]) -> pl.DataFrame:
    """The rows of ``parts`` with ``stage``, ``kind``, ``municipality``, ``fiscal_year`` and :data:`COLUMNS`."""
    from pipelines.lake import read_partition

    frames = []
    for part in parts:
        frame = read_partition(lake, "quarantine", part.dataset, part.municipality, part.fiscal_year)
        frames.append(frame.select(
            pl.lit(part.stage).alias("stage"), pl.lit(part.kind).alias("kind"),
            pl.lit(part.municipality).alias("municipality"), pl.lit(part.fiscal_year, pl.Int64).alias("fiscal_year"),
            *[(pl.col(c) if c in frame.columns else pl.lit(None)).cast(t).alias(c) for c, t in COLUMNS.items()],
        ))
    if not frames:
        return pl.DataFrame(schema={"stage": pl.String, "kind": pl.String, "municipality": pl.String,
                                    "fiscal_year": pl.Int64, **COLUMNS})
    return pl.concat(frames, how="vertical").sort("municipality", "fiscal_year", "stage", "kind", "file", "record_no",
                                                   nulls_last=True)


def summary(rows: pl.DataFrame) -> pl.DataFrame:
    """Counts per municipality, year, stage, kind, source, file and reason code."""
    keys = ["municipality", "fiscal_year", "stage", "kind", "source", "file", "reason_code"]
    return rows.group_by(keys).agg(pl.len().cast(pl.Int64).alias("rows")).sort(keys, nulls_last=True)


def select_rows(rows: pl.DataFrame, *, stage: str | None = None, file: str | None = None) -> pl.DataFrame:
    """The rows of one stage (``returns_ingest``; ``returns_ingest_warnings`` for its warnings only) and/or
    one file (its path relative to the landing root, or only its name)."""
    if stage is not None:
        if stage.endswith(WARNINGS_SUFFIX):
            rows = rows.filter((pl.col("stage") == stage[: -len(WARNINGS_SUFFIX)]) & (pl.col("kind") == "warning"))
        else:
            rows = rows.filter(pl.col("stage") == stage)
    if file is not None:
        name = pl.col("file").str.split("/").list.last()
        rows = rows.filter((pl.col("file") == file) | (name == file))
    return rows


def audit_show(settings: Settings, rows: pl.DataFrame, *, stage: str | None, file: str | None) -> None:
    """Audit record of showing quarantined rows (no 宛名番号: the rows name files and records only)."""
    from pipelines.audit import append_audit

    datasets = sorted({f"quarantine/{s}{WARNINGS_SUFFIX if k == 'warning' else ''}"
                       for s, k in rows.select("stage", "kind").unique().iter_rows()})
    append_audit(
        settings.lake, operation="quarantine_viewed", reason=VIEW_REASON, run_id=None,
        dataset=", ".join(datasets) or "quarantine", atena_nos=None, actor=settings.actor,
        department=settings.department, host=settings.host, settings=settings,
        details={"stage": stage, "file": file, "rows": rows.height},
    )


# ------------------------------------------------------------------------------------------- output
def format_summary(rows: pl.DataFrame) -> str:
    """The `juminzei quarantine list` text: per stage, kind, file and reason (fits in 100 columns)."""
    from pipelines.terminal import pad

    if not rows.height:
        return "quarantine: nothing quarantined and no warnings\n"
    lines: list[str] = []
    table = summary(rows)
    for (m, year, stage, kind), block in table.group_by(["municipality", "fiscal_year", "stage", "kind"],
                                                        maintain_order=True):
        files = block.get_column("file").n_unique()
        label = "quarantined (not staged)" if kind == "quarantined" else "with a warning (staged, a field set to null)"
        lines.append(f"{stage} {m}/{year}: {_count(block.get_column('rows').sum(), 'row')} {label} in "
                     f"{_count(files, 'file')}")
        lines.append(f"    {pad('source', 21)} {pad('file', 36)} {pad('reason', 28)} {'rows':>6}")
        for source, file, reason, count in block.select("source", "file", "reason_code", "rows").iter_rows():
            name = (file or "").split("/")[-1]
            if len(name) > 36:  # a long name gets its own line
                lines.append(f"    {pad(source or '', 21)} {name}")
                lines.append(f"    {pad('', 21)} {pad('', 36)} {pad(reason or '', 28)} {count:>6}")
            else:
                lines.append(f"    {pad(source or '', 21)} {pad(name, 36)} {pad(reason or '', 28)} {count:>6}")
    lines.append("Rows of one file: juminzei quarantine show --file <name>; of one stage: --stage <stage>.")
    return "\n".join(lines) + "\n"


def format_rows(rows: pl.DataFrame) -> str:
    """The `juminzei quarantine show` text: every row with record number, field, reason and message."""
    from pipelines.terminal import wrap

    if not rows.height:
        return "quarantine: no rows match\n"
    lines: list[str] = []
    for (m, year, stage, kind, file), block in rows.group_by(
            ["municipality", "fiscal_year", "stage", "kind", "file"], maintain_order=True):
        lines.append(f"{stage} {m}/{year}, {'quarantined' if kind == 'quarantined' else 'warnings'}: "
                     f"{_count(block.height, 'row')}")
        lines += wrap(f"file {file}", indent="  ")
        for record_no, field, reason, message, others in block.select(
                "record_no", "field", "reason_code", "message", "other_reasons").iter_rows():
            lines += wrap(f"record {record_no}  field {field or '(whole record)'}  reason {reason}", indent="  ")
            lines += wrap(message or "", indent="      ")
            if others:
                lines += wrap(f"also: {', '.join(others)}", indent="      ")
    return "\n".join(lines) + "\n"


def _count(n: int, noun: str) -> str:
    return f"{n} {noun}" if n == 1 else f"{n} {noun}s"
