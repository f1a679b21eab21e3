"""
### Beacon transform: raw changed → dbt build and tests → publish the serving copy

Runs whenever any raw Asset (`beacon://warehouse/raw/<feed>`) gets an event, i.e. after an
ingest that inserted or updated rows. Never twice at once (`max_active_runs=1`): events that
arrive during a run are collected and start one further run.

* `build_marts`: `dbt build` (models and tests) → `beacon://warehouse/marts`. A failing model
  or test fails the task at once (no retry) and alerts.
* `publish_marts`: only after a successful build (and `beacon.publish` checks the recorded
  build outcome again): copies every table of the `marts` schema into a new serving version
  (a DuckDB file plus Parquet per mart, with `_published` and `_feed_status`) and swaps it in
  atomically → `beacon://serving/marts`. BI reads `<serving_dir>/beacon.duckdb` read-only and
  never blocks the pipeline.
* Both tasks run in the one-slot pool `beacon_warehouse`.
* With `transform.engine = "spark"` (`BEACON_TRANSFORM_ENGINE=spark`, docs/spark.md) the same
  `build_marts` exports the raw layer and builds the models on Spark, and `publish_marts` is
  skipped: the marts are read from the Spark warehouse.
"""

from __future__ import annotations

from datetime import UTC, datetime

from airflow.sdk import AssetAny, dag

from beacon.orchestration import (
    RAW_ASSETS,
    build_task,
    default_args,
    publish_task,
    run_params,
)


@dag(
    dag_id="beacon_transform",
    description="Build and test the marts when raw data changed, then publish them",
    schedule=AssetAny(*RAW_ASSETS.values()),
    start_date=datetime(2026, 1, 1, tzinfo=UTC),
    catchup=False,
    max_active_runs=1,
    tags=["beacon", "dbt", "publish", "event-driven"],
    doc_md=__doc__,
    default_args=default_args(),
    params=run_params(),
)
def beacon_transform():
    build_task() >> publish_task()


beacon_transform()
