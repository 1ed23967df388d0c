"""The 年金特徴 half of ``data_samples/``: the monthly exchange files that enter and leave the ward.

The samples' generated ward (``sample_ward.samples.WARD``) runs a whole 年度 of the exchange in a temporary
lake, as ``make demo`` does (the cycle, then ``pension_special_collection`` month by month against the
sample ward's pension insurers, ``sample_ward.pension_insurer``). From what went back and forth, a few
records of each kind of file are kept and written again through the codec
(:mod:`transforms.pension_exchange_records`, which recomputes the trailers):

* ``exchange/outbound/<name>``: what the ward sends — the 依頼通知 (01), next 年度's 仮徴収 (61), the 追加依頼通知
  (31) and, when the year had a death of a pensioner withheld from, a 資格喪失等の通知 (41);
* ``exchange/inbound/<name>``: what the insurers send besides May's 00 (sampled with the landing files) — an
  依頼処理結果 (02), a 特別徴収結果通知 (22), a 追加候補者情報 (30) and its 追加依頼処理結果 (32) — and
  ``exchange/bad/<name>``: the same file with one fault the stage must quarantine the file for (its reason code
  in the index).

Deterministic: fixed ward, records chosen by sorted keys. The index entries are in ``samples.json``
(``exchange``); ``tests/unit/test_data_samples.py`` reads each file back through the stage's own reader.
"""

from __future__ import annotations

import shutil
from pathlib import Path

EXCHANGE_ROOT = "exchange"
PER_FILE = 3
CYCLE = ("resident_snapshot", "returns_ingest", "record_merge", "tax_assessment")
#: the kinds of file sampled: 通知内容コード → (direction, the fault of the bad sibling of an inbound file)
KINDS = {"01": ("outbound", None), "61": ("outbound", None), "41": ("outbound", None), "31": ("outbound", None),
         "02": ("inbound", ("result of record 1 set to XX, a code the layout does not know", "field_value")),
         "22": ("inbound", ("合計金額 金額1 of the trailer one yen more than its records", "trailer_totals")),
         "30": ("inbound", ("category of record 1 set to XX, a code the layout does not know", "field_value")),
         "32": ("inbound", ("result of record 1 set to XX, a code the layout does not know", "field_value"))}


def _cut(data: bytes, name: str) -> bytes:
    """The first records of a file (by 基礎年金番号), written again: trailers and counts recomputed."""
    from transforms.pension_exchange_records import ExchangeFile, read_exchange_file, write_exchange_file

    exchange = read_exchange_file(data, file=name)
    (code,) = exchange.records
    records = exchange.records[code].sort("basic_pension_no", "pension_code").head(PER_FILE)
    groups = exchange.groups.select("municipality_code", "payer_code", "notice_code", "medium_code", "created_date")
    return write_exchange_file(ExchangeFile(exchange.control, groups, {code: records.drop("record_no", strict=False)}),
                               file=name)


def _bad(code: str, data: bytes) -> bytes:
    from contracts.pension_exchange import load_exchange_layouts

    lay = load_exchange_layouts()
    if code == "22":  # the trailer's 合計金額 金額1, one yen more
        total = lay.trailer.field("total_amount_1")
        at = len(data) - lay.record_length + total.start - 1
        value = str(int(data[at:at + total.length]) + 1).rjust(total.length, "0").encode("ascii")
        return data[:at] + value + data[at + total.length:]
    # the first data record's 処理結果 (各種区分 in a 30, which has no 処理結果)
    field = lay.notice(code).data.field("category" if code == "30" else "result")
    at = lay.control_length + lay.record_length + field.start - 1
    return data[:at] + b"XX" + data[at + field.length:]


def exchange_samples(ward: Path, work: Path, municipality: str, fiscal_year: int, residents: int,
                     seed: int) -> tuple[dict[str, bytes], list[dict]]:
    """``exchange/...`` path → bytes, and the index entries (one per sampled file)."""
    import hashlib

    from pipelines.pension_special_collection import run as pension
    from pipelines.stages import stage_runner
    from sample_ward.export_samples import _environment
    from sample_ward.pension_insurer import PensionInsurers, outbound_from_lake, write_month
    from sample_ward.population import build_population

    lake = work / "lake"
    shutil.copytree(ward / "landing", lake / "landing")
    env = {"JUMINZEI_LAKE": str(lake), "JUMINZEI_VAULT_KEY_FILE": str(work / "keys" / "vault.key"),
           "JUMINZEI_DATA_DOCS": str(work / "data_docs"), "JUMINZEI_ACTOR": "sample-maker"}
    insurers = PensionInsurers(build_population(residents, seed, fiscal_year, municipality), seed)
    months = [f"{fiscal_year + (m < 4)}-{m:02d}" for m in (5, 6, 7, 8, 9, 10, 11, 12, 1, 2, 3)]
    with _environment(env):
        for stage in CYCLE:
            stage_runner(stage)(fiscal_year=fiscal_year, municipality=municipality)
        for month in months:
            write_month(lake / "landing", month, insurers.inbound(month, outbound_from_lake(lake, municipality,
                                                                                            fiscal_year, month)),
                        municipality=municipality, fiscal_year=fiscal_year)
            rel, data = insurers.resident_changes_file(month)
            (lake / "landing" / rel).parent.mkdir(parents=True, exist_ok=True)
            (lake / "landing" / rel).write_bytes(data)
            pension(fiscal_year=fiscal_year, municipality=municipality, processing_month=month)
            if month == f"{fiscal_year}-05":
                stage_runner("notice_export")(fiscal_year=fiscal_year, municipality=municipality,
                                              notice_date=f"{fiscal_year}-05-20", requested_by="sample-maker")
    sent = {p.name: p for p in sorted((lake / "exports" / "pension_insurers").rglob("Z4*.dta"))}
    received = {p.name: p for p in sorted((lake / "landing" / "pension_exchange").rglob("Z4*.dta"))
                if "month=" in p.parent.name}
    faulty = set(insurers.planted_faults()["file"].to_list())
    files: dict[str, bytes] = {}
    entries: list[dict] = []
    for code, (direction, fault) in KINDS.items():
        pool = sent if direction == "outbound" else {n: p for n, p in received.items() if n not in faulty}
        names = sorted(n for n in pool if n[2:4] == code)
        if not names:
            continue
        # the smallest file of the kind (fewest bytes), then by name
        name = min(names, key=lambda n: (pool[n].stat().st_size, n))
        data = _cut(pool[name].read_bytes(), name)
        rel = f"{EXCHANGE_ROOT}/{direction}/{name}"
        files[rel] = data
        entry = {"notice_code": code, "direction": direction, "file": rel, "sha256": hashlib.sha256(data).hexdigest(),
                 "layout": "contracts/pension_exchange/", "doc": "docs/layouts/pension_exchange.md"}
        if fault is not None:
            bad = _bad(code, data)
            files[f"{EXCHANGE_ROOT}/bad/{name}"] = bad
            entry["bad"] = {"file": f"{EXCHANGE_ROOT}/bad/{name}", "sha256": hashlib.sha256(bad).hexdigest(),
                            "fault": fault[0], "reason_code": fault[1]}
        entries.append(entry)
    return files, entries


__all__ = ["EXCHANGE_ROOT", "KINDS", "exchange_samples"]
