"""Source documents of the return-ingest window, written in their wire formats, with their truth.

``write_documents(pop, landing_dir, seed)`` renders a :class:`~sample_ward.model.Population` into
``landing_dir/<source>/municipality=<M>/fiscal_year=<Y>/<YYYYMMDD>_…`` (docs/sample-ward.md):

==================  =========================================================  ===================
source              document                                                   format
==================  =========================================================  ===================
salary_report       給与支払報告書 個人別明細書, one file per employer submission   統一CSV, CP932
salary_summary      給与支払報告書 総括表, one per salary_report file (same name)   own CSV, CP932
pension_report      公的年金等支払報告書, files per payer code                     49+6 cols, CP932
etax_return         確定申告書 (国税連携 e-Tax分), one return per file              e-Tax XML, UTF-8
resident_return     特別区民税・都民税申告書                                        own CSV, CP932
furusato_notice     寄附金税額控除に係る申告特例通知書                               own CSV, CP932
==================  =========================================================  ===================

Layouts (column order, names, types) are read from ``contracts/layouts/<source>.yaml``. Every record
written has one row in the returned ``documents`` frame (truth/documents.parquet) and every planted
case one row in ``defects`` (truth/defects.parquet); categories are in :mod:`sample_ward.defects`.

Who gets documents (``doc_scope`` in :func:`~sample_ward.wire_common.people_facts`):

* ``resident`` → every document, route ``stage``;
* ``moved_out`` → every document, route ``forward`` to their 1 January municipality (employers, payers
  and donors used the old ward address; e-Tax filers named the ward as their 1 January address);
* ``not_registered`` (住登外) → every document, route ``non_registered``;
* ``deceased`` → salary and pension reports only (payers report the year up to the death; 死亡退職 is
  flagged), route ``stage``: matched to the 宛名, then not taxed (no 1 January residence);
* ``outsider`` with a salary who is nobody's dependant or spouse (population.py's misdirected
  employees) → salary reports only, route ``forward`` (their employer sent them to the ward);
* other outsiders (dependants living elsewhere) → none; they appear as dependants on documents.

Design: every CSV source is one Polars frame whose ``line`` column is built with one ``pl.concat_str``
over the layout's fields (:mod:`~sample_ward.wire_csv`) and encoded to CP932 once per file.
Malformed and noisy cases are planted on small random subsets (numpy generators seeded from ``seed``
and a per-purpose stream name), so the same population and seed give byte-identical files. e-Tax XML
documents are whole-column string expressions too (:mod:`~sample_ward.wire_etax`); only the
final file writes loop over returns. Modules: ``wire_common`` (context, person facts, truth),
``wire_csv`` (CSV engine), ``wire_sources`` (CSV formats), ``wire_etax``/``wire_xml`` (e-Tax),
``wire_text`` (text, eras, CP932), ``wire_amounts`` (the documents' 所得税 figures), ``wire_layouts``.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import polars as pl

from contracts.layouts import FORMATS
from sample_ward.model import Population
from sample_ward.wire_common import DEFECT_SCHEMA, DOCUMENT_SCHEMA, Ctx, FileWriter, people_facts
from sample_ward.wire_etax import write_etax
from sample_ward.wire_sources import write_furusato, write_pension, write_resident_returns, write_salary

__all__ = ["DEFECT_SCHEMA", "DOCUMENT_SCHEMA", "SOURCES", "DocumentsResult", "write_documents"]

SOURCES: tuple[str, ...] = FORMATS  # one file tree per document layout (contracts/layouts/)


@dataclass(frozen=True)
class DocumentsResult:
    documents: pl.DataFrame  # truth/documents.parquet rows (DOCUMENT_SCHEMA), sorted by source, file, record_no
    defects: pl.DataFrame  # truth/defects.parquet rows (DEFECT_SCHEMA), sorted by source, file, record_no, category


def write_documents(pop: Population, landing_dir: Path, seed: int) -> DocumentsResult:
    """Write every return-ingest document of ``pop`` under ``landing_dir`` (the ``landing/`` folder of the
    sample ward) and return their truth rows. Deterministic: the same population and seed give
    byte-identical files and identical truth frames."""
    pop.check()
    ctx = Ctx(pop, Path(landing_dir), int(seed))
    ctx.writer = FileWriter(ctx.landing)
    try:
        people, dependants = people_facts(ctx)
        # e-Tax first: its many small files are written while the CSV sources are being built
        write_etax(ctx, people)
        write_salary(ctx, people, dependants)
        write_pension(ctx, people)
        write_resident_returns(ctx, people, dependants)
        write_furusato(ctx, people)
    finally:
        ctx.writer.close()
    documents = pl.concat(ctx.documents, how="vertical") if ctx.documents else pl.DataFrame(schema=DOCUMENT_SCHEMA)
    defects = pl.concat(ctx.defects, how="vertical") if ctx.defects else pl.DataFrame(schema=DEFECT_SCHEMA)
    return DocumentsResult(
        documents=documents.sort("source", "file", "record_no"),
        defects=defects.sort("source", "file", "record_no", "category", nulls_last=False),
    )
