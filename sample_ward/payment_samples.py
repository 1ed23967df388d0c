"""The collection samples of ``data_samples/payments/`` (a tool; cut by :mod:`sample_ward.samples`).

From the work lake of the 年金特徴 samples (the cycle and the 当初 dispatch of the sample ward), the sample ward's
payers, agents and bank (:mod:`sample_ward.payments`) deliver June and July; the collection stage posts them and
hands off its bank files. Cut from that:

* ``payments/inbound/`` one file of each channel the ward receives (コンビニ, MPN, eL-QR, 窓口, 特別徴収 納入,
  口座振替 振替結果), at most three data records, written again by the codec (its trailer recomputed);
* ``payments/bad/`` the same file with one fault: an impossible 領収日 (2026-02-31) in its first data record (that
  record quarantined, ``invalid_date``; the rest read), or for the 全銀 振替結果 a trailer total one yen off (the
  file refused whole);
* ``payments/outbound/`` what the ward sends the bank: the 口座振替 依頼 (全銀 91) and the refunds' 総合振込 (21);
* ``payments/landing/`` the desk inputs: 口座振替 registrations and 公金受取口座 (the header and three lines).
"""

from __future__ import annotations

import hashlib
from datetime import date
from pathlib import Path

PAYMENTS_ROOT = "payments"
PER_FILE = 3
#: the run ids of the two collection runs (fixed: the hand-off folders are named after them)
RUN_IDS = ("20260630T230000Z-collection-00000000", "20260731T230000Z-collection-00000000")
#: channel → its layout doc; the inbound file names start with the channel
CHANNELS = ("convenience", "mpn", "el_qr", "bank_counter", "special_remittance", "account_transfer_result")


def _cut_payment(data: bytes, name: str, channel: str) -> bytes:
    from transforms.payment_records import read_payment_file, write_payment_file

    pf = read_payment_file(data, file=name, channel=channel)
    return write_payment_file(pf.writable().head(PER_FILE), file=name, channel=channel, created=pf.created,
                              line_end=pf.line_end, final_line_end=pf.final_line_end, **pf.header_values)


def _cut_zengin(data: bytes, name: str, kind: str) -> bytes:
    from transforms.zengin_records import ZenginFile, read_zengin_file, write_zengin_file

    zf = read_zengin_file(data, file=name, kind=kind)
    headers = zf.headers.drop("group_no", "record_no", strict=False).row(0, named=True)
    records = zf.records.drop("group_no", "record_no", strict=False).head(PER_FILE)
    return write_zengin_file(ZenginFile(headers=headers, records=records, line_end=zf.line_end,
                                        final_line_end=zf.final_line_end), file=name, kind=kind)


def _bad_date(data: bytes, name: str, channel: str) -> bytes:
    """The first data record's 領収日 (``paid_on``) made 2026-02-31."""
    from transforms.payment_records import _layout_of

    layout = _layout_of(channel)
    field = next(f for f in layout.data.columns if f.id == "paid_on")
    text = data.decode("cp932")
    sep = "\r\n" if "\r\n" in text else "\n"
    lines = text.split(sep)
    if layout.format == "csv":
        cells = lines[1].split(",")
        cells[field.start - 1] = "20260231"
        lines[1] = ",".join(cells)
    else:
        raw = lines[1].encode("cp932")
        lines[1] = (raw[:field.start - 1] + b"20260231" + raw[field.start - 1 + 8:]).decode("cp932")
    return sep.join(lines).encode("cp932")


def _bad_trailer(data: bytes) -> bytes:
    """The 振替結果's trailer (データ区分 8) with its 合計金額 (bytes 8–19) one yen higher."""
    records = data.split(b"\r\n")
    i = next(k for k, r in enumerate(records) if r[:1] == b"8")
    total = int(records[i][7:19]) + 1
    records[i] = records[i][:7] + f"{total:012d}".encode() + records[i][19:]
    return b"\r\n".join(records)


def payment_samples(work: Path, municipality: str, fiscal_year: int, seed: int
                    ) -> tuple[dict[str, bytes], list[dict], dict[str, bytes]]:
    """``payments/...`` path → bytes, the index entries, and the print vendor's hand-offs of the collection
    (``exports/print_vendor/…/<run id>-<day>/``: the first day's 督促状 and the first day's 還付通知書, whole, with
    their manifests). ``work``: the exchange samples' work folder (its ``lake`` holds the dispatched 当初賦課)."""
    from pipelines.collection import run as collection
    from sample_ward.export_samples import _environment
    from sample_ward.payments import bank_answers, deliver, deliver_desk, desk_files, registrations, simulate

    lake = work / "lake"
    env = {"JUMINZEI_LAKE": str(lake), "JUMINZEI_VAULT_KEY_FILE": str(work / "keys" / "vault.key"),
           "JUMINZEI_DATA_DOCS": str(work / "data_docs"), "JUMINZEI_ACTOR": "sample-maker"}
    opening, through = date(fiscal_year, 5, 20), date(fiscal_year, 7, 31)
    with _environment(env):
        desk = desk_files(lake, municipality=municipality, fiscal_year=fiscal_year, seed=seed, opening=opening,
                          through=through)
        deliver_desk(lake / "landing", desk)
        registered = registrations(lake, municipality=municipality, fiscal_year=fiscal_year, seed=seed)
        files, planted = simulate(lake, municipality=municipality, fiscal_year=fiscal_year, seed=seed,
                                  opening=opening, through=through, registered=registered)
        deliver(lake / "landing", files, municipality=municipality, fiscal_year=fiscal_year)
        collection(fiscal_year=fiscal_year, municipality=municipality, processing_day=f"{fiscal_year}-06-30",
                   run_id=RUN_IDS[0])
        bank_answers(lake, municipality=municipality, fiscal_year=fiscal_year, seed=seed)
        collection(fiscal_year=fiscal_year, municipality=municipality, processing_day=through.isoformat(),
                   run_id=RUN_IDS[1])

    landing = lake / "landing" / "payments"
    planted_faults = ("_odd",)  # the planted odd records; a file refused whole is skipped below
    out: dict[str, bytes] = {}
    entries: list[dict] = []
    for channel in CHANNELS:
        candidates = sorted((p for p in landing.rglob(f"{channel}_*") if not any(t in p.name for t in planted_faults)),
                            key=lambda p: (p.stat().st_size, p.name))
        good = None
        for path in candidates:  # the smallest file the codec reads without a fault
            try:
                good = (path.name, _cut(path.read_bytes(), path.name, channel))
                break
            except ValueError:
                continue
        if good is None:
            continue
        name, data = good
        if channel == "account_transfer_result":
            bad, fault, reason = _bad_trailer(data), "the trailer's 合計金額 one yen higher", "ZenginTrailerTotalsError"
            record_no = None
        else:
            bad, fault, reason = _bad_date(data, name, channel), "an impossible 領収日 (2026-02-31)", "invalid_date"
            record_no = 2
        out[f"{PAYMENTS_ROOT}/inbound/{name}"] = data
        out[f"{PAYMENTS_ROOT}/bad/{name}"] = bad
        entries.append({"channel": channel, "direction": "inbound", "file": f"{PAYMENTS_ROOT}/inbound/{name}",
                        "sha256": hashlib.sha256(data).hexdigest(),
                        "doc": "docs/layouts/zengin.md" if channel == "account_transfer_result"
                        else "docs/layouts/payments.md",
                        "bad": {"file": f"{PAYMENTS_ROOT}/bad/{name}", "sha256": hashlib.sha256(bad).hexdigest(),
                                "fault": fault, "record_no": record_no, "reason_code": reason}})
    bank = lake / "exports" / "bank"
    for pattern, kind in (("koza_furikae_91_*.txt", "91"), ("sogo_furikomi_21_*.txt", "21")):
        found = sorted(bank.rglob(pattern), key=lambda p: (p.stat().st_size, p.name))
        if not found:
            continue
        data = _cut_zengin(found[0].read_bytes(), found[0].name, kind)
        rel = f"{PAYMENTS_ROOT}/outbound/{found[0].name}"
        out[rel] = data
        entries.append({"channel": f"zengin_{kind}", "direction": "outbound", "file": rel,
                        "sha256": hashlib.sha256(data).hexdigest(), "doc": "docs/layouts/zengin.md"})
    for rel, data in sorted(desk.items()):
        source = rel.split("/", 1)[0]
        if source == "support_measures":
            continue
        lines = data.split(b"\n")
        cut = b"\n".join(lines[:1 + PER_FILE]) + b"\n"
        path = f"{PAYMENTS_ROOT}/landing/{rel}"
        out[path] = cut
        entries.append({"channel": source, "direction": "landing", "file": path,
                        "sha256": hashlib.sha256(cut).hexdigest(), "layout": f"contracts/layouts/{source}.yaml"})
    printed: dict[str, bytes] = {}
    vendor = lake / "exports" / "print_vendor" / f"municipality={municipality}" / f"fiscal_year={fiscal_year}"
    for export in ("demand_notice", "refund_notice"):
        folder = next((f for f in sorted(vendor.glob("*-collection-*")) if (f / f"{export}.csv").is_file()), None)
        if folder is None:
            continue
        for path in sorted(folder.iterdir()):
            printed[f"exports/{path.relative_to(lake / 'exports').as_posix()}"] = path.read_bytes()
    return out, entries, printed


def _cut(data: bytes, name: str, channel: str) -> bytes:
    if channel == "account_transfer_result":
        return _cut_zengin(data, name, "91_result")
    return _cut_payment(data, name, channel)


__all__ = ["PAYMENTS_ROOT", "payment_samples"]
