"""
### Beacon ingest, one DAG per feed: a file lands → its rows are in `raw.<feed>` in seconds

`beacon_ingest_calls`, `beacon_ingest_tickets`, `beacon_ingest_crm`. Each is scheduled by
its landing Asset `beacon://landing/<feed>`, which an AssetWatcher keeps watching: a
`beacon.orchestration.LandingTrigger` in the triggerer scans `<landing_dir>/<feed>/` every
`watch_interval_seconds` (default 2 s) and fires when a feed file appears under its final
name (producers write `name.tmp` and rename, as the feed contract says). No polling DAG,
no marker files.

External producers can announce a batch instead (or as well) through Airflow's REST API:
`POST /api/v2/assets/events` with the id of `beacon://landing/<feed>` (docs/orchestration.md).

* **Output**: `beacon://warehouse/raw/<feed>` when raw rows were inserted or updated; a run
  that loaded nothing new is skipped and triggers no rebuild (`beacon_transform`).
* Exactly once: a file already loaded is skipped, so a duplicate announcement is harmless.
* The task runs in the one-slot pool `beacon_warehouse` (DuckDB allows one writer) with a
  higher priority than builds, so the feeds of one drop are all loaded before one build.
* A file that cannot be loaded or a batch the quality gate refuses fails the task at once
  (no retry: bad data stays bad), marks the feed degraded in `raw._feed_status` and alerts.
"""

from __future__ import annotations

from datetime import UTC, datetime

from airflow.sdk import dag

from beacon.orchestration import FEEDS, LANDING_ASSETS, default_args, ingest_task, run_params


def ingest_dag(feed: str):
    @dag(
        dag_id=f"beacon_ingest_{feed}",
        description=f"Load new {feed} files into raw.{feed} as soon as they land",
        schedule=[LANDING_ASSETS[feed]],
        start_date=datetime(2026, 1, 1, tzinfo=UTC),
        catchup=False,
        max_active_runs=1,
        tags=["beacon", "ingest", feed, "event-driven"],
        doc_md=__doc__,
        default_args=default_args(),
        params=run_params(),
    )
    def beacon_ingest():
        ingest_task(feed, "ingest", skip_unchanged=True)

    return beacon_ingest()


for _feed in FEEDS:
    ingest_dag(_feed)
