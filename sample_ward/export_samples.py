"""The export half of ``data_samples/``: a few notices of every hand-off, written by the system itself.

The cycle runs on the samples' generated ward (``sample_ward.samples.WARD``) in a temporary lake up to
``notice_export`` (notice date 20 May); from each hand-off it writes, a few records are taken — the ones a
recipient most needs to see (a 外字 in a name, a 年金特別徴収 part, one employer's whole envelope, one
eLTAX employer, one destination of the 回送 list and of the 住登外課税通知) — and written again through the system's own writer
(:func:`pipelines.handoff.write_handoff`, the layouts of ``contracts/handoff/``) under a fixed run id, so
that the sample files and their ``manifest.json`` are byte for byte what a recipient receives, only
shorter. Deterministic: fixed ward, fixed run id, records chosen by sorted keys.

``data_samples/exports/<recipient>/municipality=131032/fiscal_year=2026/<run id>/`` holds them.
"""

from __future__ import annotations

import contextlib
import os
import shutil
from pathlib import Path

#: the run id the sample hand-offs carry (a dispatch on the notice date, 20 May)
SAMPLE_RUN_ID = "20260520T010000Z-notice_export-00000000"
NOTICE_DATE = "2026-05-20"
EXPORTS_ROOT = "exports"
#: records per print file (the 外字 and pension cases first)
PER_FILE = 3
CYCLE = ("resident_snapshot", "returns_ingest", "record_merge", "tax_assessment")


@contextlib.contextmanager
def _environment(values: dict[str, str]):
    saved = {k: os.environ.get(k) for k in values}
    os.environ.update(values)
    try:
        yield
    finally:
        for key, value in saved.items():
            if value is None:
                os.environ.pop(key, None)
            else:
                os.environ[key] = value


def export_samples(ward: Path, work: Path, municipality: str, fiscal_year: int) -> dict[str, bytes]:
    """``exports/...`` path → bytes of every sample hand-off file (manifests included)."""
    import polars as pl

    from pipelines.stages import stage_runner

    lake = work / "lake"
    shutil.copytree(ward / "landing", lake / "landing")
    env = {"JUMINZEI_LAKE": str(lake), "JUMINZEI_VAULT_KEY_FILE": str(work / "keys" / "vault.key"),
           "JUMINZEI_DATA_DOCS": str(work / "data_docs"), "JUMINZEI_ACTOR": "sample-maker"}
    with _environment(env):
        for stage in CYCLE:
            stage_runner(stage)(fiscal_year=fiscal_year, municipality=municipality)
        stage_runner("pension_special_collection")(fiscal_year=fiscal_year, municipality=municipality,
                                                   processing_month=f"{fiscal_year}-05")
        report = stage_runner("notice_export")(fiscal_year=fiscal_year, municipality=municipality,
                                               notice_date=NOTICE_DATE, requested_by="sample-maker")
        folders = {h["recipient"]: lake / h["path"] for h in report["handoffs"]}
        out_lake = work / "samples"
        files = _cut(folders, out_lake, municipality, fiscal_year, pl)
    return files


def _cut(folders: dict[str, Path], out_lake: Path, municipality: str, fiscal_year: int, pl) -> dict[str, bytes]:
    from contracts.handoff_layouts import load_handoff_layout, to_export
    from pipelines.handoff import HandoffFile, write_handoff
    from pipelines.notice_files import print_vendor_files
    from transforms.notices import unencodable_characters

    months = {"months": [6, 7, 8, 9, 10, 11, 12, 1, 2, 3, 4, 5], "installments": [6, 8, 10, 1],
              "provisional": [4, 6, 8], "main": [10, 12, 2]}
    source = {"tax_assessment": {"dataset": "curated/tax_assessment", "note": "the samples' generated ward"},
              "notice_date": NOTICE_DATE, "stage_run_id": SAMPLE_RUN_ID}

    # print vendor: a 外字 notice, a pensioner's notice, then the first in 発送連番; one paper employer
    vendor = folders["print_vendor"]
    tax = pl.read_parquet(vendor / "tax_notice.parquet")
    gaiji = unencodable_characters(tax.select("notice_no", "addressee_name", "taxpayer_name"), "notice_no")
    chosen = pl.concat([
        tax.filter(pl.col("notice_no").is_in(gaiji["notice_no"].implode())).head(1),
        tax.filter(pl.col("pension_amount") > 0).head(1),
        tax.head(PER_FILE),
    ]).unique("notice_no", keep="first", maintain_order=True).head(PER_FILE).sort("dispatch_seq") \
        .with_columns(pl.int_range(1, pl.len() + 1, dtype=pl.Int64).alias("dispatch_seq"))
    employer = pl.read_parquet(vendor / "special_collection_employer.parquet")
    first = employer.sort("dispatch_seq")["designation_no"].head(1)
    envelope = employer.filter(pl.col("designation_no").is_in(first.implode())).head(PER_FILE) \
        .with_columns(pl.lit(1, pl.Int64).alias("dispatch_seq"))
    employee = pl.read_parquet(vendor / "special_collection_employee.parquet")
    employee = employee.filter(pl.col("designation_no").is_in(first.implode())).head(PER_FILE) \
        .with_columns(pl.lit(1, pl.Int64).alias("dispatch_seq"))
    vendor_files = print_vendor_files(chosen, envelope, employee, months)

    # eLTAX: the first employer's file, a few records; 回送: the first destination's list
    eltax_layout = load_handoff_layout("eltax_special_collection")
    first_eltax = sorted(folders["eltax"].glob("eltax_*.csv"))[0] if "eltax" in folders else None
    eltax_files = []
    if first_eltax is not None:
        frame = pl.read_csv(first_eltax.read_bytes().decode("cp932").encode("utf-8"), infer_schema=False).head(PER_FILE)
        eltax_files.append(HandoffFile(first_eltax.name, to_export(frame, eltax_layout, months), eltax_layout, "csv",
                                       months, {"notices": frame.height}))
    kaiso_layout = load_handoff_layout("forwarding_list")
    first_kaiso = sorted(folders["municipalities"].glob("kaiso_*.csv"))[0]
    frame = pl.read_csv(first_kaiso.read_bytes().decode("cp932").encode("utf-8"), infer_schema=False).head(PER_FILE)
    kaiso_files = [HandoffFile(first_kaiso.name, to_export(frame, kaiso_layout), kaiso_layout, "csv", None,
                               {"documents": frame.height})]
    # 住登外課税通知: the first destination's file
    juto_layout = load_handoff_layout("non_registered_notice")
    first_juto = sorted(folders["municipalities"].glob("juto_gai_*.csv"))[0]
    frame = pl.read_csv(first_juto.read_bytes().decode("cp932").encode("utf-8"), infer_schema=False).head(PER_FILE)
    kaiso_files.append(HandoffFile(first_juto.name, to_export(frame, juto_layout), juto_layout, "csv", None,
                                   {"notices": frame.height}))

    files: dict[str, bytes] = {}
    for recipient, items in (("print_vendor", vendor_files), ("eltax", eltax_files), ("municipalities", kaiso_files)):
        if not items:
            continue
        written = write_handoff(out_lake, recipient=recipient, municipality=municipality, fiscal_year=fiscal_year,
                                run_id=SAMPLE_RUN_ID, files=items, source=source)
        folder = out_lake / written["path"]
        for path in sorted(folder.iterdir()):
            files[f"{EXPORTS_ROOT}/{written['path'].removeprefix('exports/')}/{path.name}"] = path.read_bytes()
    return files


__all__ = ["SAMPLE_RUN_ID", "EXPORTS_ROOT", "export_samples"]
