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

# The cycle order `make demo` runs the DAGs in (DESIGN §4). Later issues append their DAG ids.
CYCLE_ORDER: tuple[str, ...] = ("resident_snapshot", "returns_ingest")


def asset_uri(zone: str, dataset: str) -> str:
    """URI of the Airflow Asset that stands for one lake dataset (all municipalities and years)."""
    return f"juminzei://lake/{zone}/{dataset}"
