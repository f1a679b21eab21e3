"""
### Beacon pipeline: landing zone → DuckDB raw tables → dbt marts

Loads the three feeds (`calls`, `tickets`, `crm`) from the landing zone exactly once into the
warehouse, then builds and tests the dbt project (staging → intermediate → marts).

* **Inputs**: files under `landing/<feed>/` in the feed contracts' shape (README, "Point Beacon
  at your feeds").
* **Outputs**: the `raw` schema (one Asset per feed) and the marts (`beacon://warehouse/marts`).
* **Configuration**: `BEACON_*` environment variables or `beacon.toml`; a run can override
  `landing_dir` and `warehouse_path` through its conf (`beacon run` does).
* **Re-running** any run is safe: files already loaded are skipped by checksum, and the marts
  are rebuilt from the raw tables.
* Every task that opens the warehouse shares the one-slot pool `beacon_warehouse`:
  DuckDB allows one writer.
* Failures are loud: a file that cannot be loaded or a failing dbt test fails the task at
  once (no retry: bad data stays bad); other errors are retried with backoff.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from airflow.sdk import Asset, Param, dag, get_current_context, task

FEEDS = ("crm", "calls", "tickets")
WAREHOUSE_POOL = "beacon_warehouse"
RAW_ASSETS = {feed: Asset(f"beacon://warehouse/raw/{feed}") for feed in FEEDS}
MARTS_ASSET = Asset("beacon://warehouse/marts")


def _config():
    """The run's configuration: BEACON_* settings, with the run's conf on top."""
    from beacon.config import BeaconConfig

    params = get_current_context()["params"]
    return BeaconConfig.load(
        landing_dir=params.get("landing_dir") or None,
        warehouse_path=params.get("warehouse_path") or None,
    )


@dag(
    dag_id="beacon_pipeline",
    description="Ingest call, ticket and CRM feeds and build the outcome marts",
    schedule=None,
    start_date=datetime(2026, 1, 1, tzinfo=UTC),
    catchup=False,
    max_active_runs=1,
    tags=["beacon", "ingest", "dbt"],
    doc_md=__doc__,
    default_args={
        "owner": "beacon",
        "retries": 2,
        "retry_delay": timedelta(seconds=30),
        "retry_exponential_backoff": True,
        "pool": WAREHOUSE_POOL,
    },
    params={
        "landing_dir": Param(
            None,
            type=["null", "string"],
            description="Landing folder (default: BEACON_LANDING_DIR)",
        ),
        "warehouse_path": Param(
            None,
            type=["null", "string"],
            description="DuckDB file (default: BEACON_WAREHOUSE_PATH)",
        ),
    },
)
def beacon_pipeline():
    def ingest_task(feed: str):
        @task(task_id=f"ingest_{feed}", outlets=[RAW_ASSETS[feed]])
        def ingest_feed() -> dict:
            """Load new files of one feed; fail loudly if a file could not be loaded."""
            from airflow.sdk.exceptions import AirflowFailException

            from beacon.pipeline import IngestFailed
            from beacon.pipeline import ingest_feed as run

            try:
                return run(_config(), feed)
            except IngestFailed as exc:  # bad data: a retry would fail the same way
                raise AirflowFailException(str(exc)) from exc

        return ingest_feed()

    @task(task_id="build_marts", outlets=[MARTS_ASSET])
    def build_marts() -> dict:
        """Build and test every dbt model; a failing test stops the run."""
        from airflow.sdk.exceptions import AirflowFailException

        from beacon.pipeline import build_marts as run
        from beacon.transform import TransformError

        try:
            return run(_config())
        except TransformError as exc:  # a model or data test failed: retrying changes nothing
            raise AirflowFailException(str(exc)) from exc

    loads = [ingest_task(feed) for feed in FEEDS]
    marts = build_marts()
    for load in loads:
        load >> marts


beacon_pipeline()
