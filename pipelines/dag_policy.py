"""The policy every juminzei DAG follows (STYLE rule 3), as plain data without Airflow imports.

DAG files read these values; `tests/dags/test_dag_policy.py` checks every DAG in the DagBag against
them, so a new DAG cannot drift from the house rules.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

TIMEZONE = ZoneInfo("Asia/Tokyo")

# A static start date in Asia/Tokyo, before the first fiscal year the system assesses.
START_DATE = datetime(2025, 1, 1, tzinfo=TIMEZONE)

# Fixed tag vocabulary: one cycle tag per DAG plus any of the others.
CYCLE_TAGS = frozenset(
    {
        "cycle:snapshot",      # 賦課期日 resident snapshot
        "cycle:ingest",        # 資料 受付 (return-ingest window)
        "cycle:merge",         # 資料併合
        "cycle:assessment",    # 税額計算 / 当初賦課
        "cycle:notice",        # 通知書 export
        "cycle:collection",    # 年金特徴, 収納, 滞納整理
    }
)
OTHER_TAGS = frozenset({"juminzei", "my_number", "outward", "pii"})
ALLOWED_TAGS = CYCLE_TAGS | OTHER_TAGS

OWNER = "zeimuka"  # 税務課 (tax division) operations

DEFAULT_ARGS: dict = {
    "owner": OWNER,
    "retries": 2,
    "retry_delay": timedelta(minutes=5),
}

# The cycle order `make demo` runs the DAGs in (docs/architecture.md §4). Later issues append their DAG ids.
CYCLE_ORDER: tuple[str, ...] = ("resident_snapshot", "returns_ingest", "record_merge", "tax_assessment",
                                "pension_special_collection", "notice_export", "collection")


def run_params(dry_run_description: str, *, dry_run_default: bool = False, **extra: dict) -> dict[str, dict]:
    """The operator form every stage DAG shares (STYLE rule 4), as ``Param`` keyword arguments:
    fiscal year, municipality, dry run, plus stage-specific fields. DAG files wrap each in ``Param``.
    ``dry_run_default``: true for a stage whose output leaves the building (notice_export), so that
    only an operator's explicit choice sends anything."""
    return {
        "fiscal_year": {
            "default": None,
            "type": ["null", "integer"],
            "minimum": 2020,
            "maximum": 2100,
            "title": "Fiscal year (年度)",
            "description": "The 年度 to process. Empty: the year of the run date (Asia/Tokyo).",
        },
        "municipality": {
            "default": "131032",
            "type": "string",
            "pattern": "^[0-9]{6}$",
            "title": "Municipality code (団体コード)",
            "description": "6-digit 全国地方公共団体コード; 131032 is 港区.",
        },
        **extra,
        "dry_run": {
            "default": dry_run_default,
            "type": "boolean",
            "title": "Dry run",
            "description": dry_run_description,
        },
    }


def asset_uri(zone: str, dataset: str) -> str:
    """URI of the Airflow Asset that stands for one lake dataset (all municipalities and years)."""
    return f"juminzei://lake/{zone}/{dataset}"
