"""
### Beacon pipeline: the whole run, daily — landing zone → raw → dbt marts → serving copy → report

Loads the three feeds (`calls`, `tickets`, `crm`) from the landing zone exactly once into the
warehouse, builds and tests the dbt project (staging → intermediate → marts), publishes the
marts to the read-only serving copy, and writes the day's report.

* **Schedule**: daily at `daily_run_time` in `daily_run_timezone` (`BEACON_DAILY_RUN_TIME`,
  default 06:00 UTC). New files normally arrive through the event-driven DAGs
  (`beacon_ingest_<feed>` → `beacon_transform`) within a minute; this run is the daily
  sweep that also catches anything a watcher missed, and the report.
* **Backfill** a date range: `airflow backfill create --dag-id beacon_pipeline --from-date
  2026-10-01 --to-date 2026-10-07`, or without a scheduler `beacon backfill --from … --to …`.
  Re-running any day is idempotent: files already loaded are skipped by checksum, the marts
  are rebuilt from the raw tables, a new serving version holds the same marts, and the
  day's report file is replaced, never duplicated.
* **Outputs**: the `raw` schema (one Asset per feed), the marts (`beacon://warehouse/marts`),
  the serving copy (`beacon://serving/marts`) and `<serving>/reports/<day>.html`, the daily
  outcome report of the day that just ended (docs/report.md).
* **Configuration**: `BEACON_*` environment variables or `beacon.toml`; a run can override
  `landing_dir`, `warehouse_path` and `serving_dir` through its conf (`beacon run` does).
* Every task that opens the warehouse shares the one-slot pool `beacon_warehouse`.
* Failures are loud: a file that cannot be loaded, a batch the quality gate refuses (the
  feed is then marked degraded in `raw._feed_status`) or a failing dbt test fails its task
  at once (no retry: bad data stays bad); other errors are retried with backoff; the final
  failure alerts (log, and webhook / e-mail if configured).
* The marts are built and published even when an ingest task failed (`all_done`): from the
  last good data of that feed, which the raw tables still hold consistently; the serving
  copy's `_feed_status` and the report show the feed degraded, and `ingest_failed` fails
  the run. A failing dbt test publishes nothing: the serving copy keeps the last good build.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

from airflow.sdk import dag, get_current_context, task

from beacon.orchestration import (
    FEEDS,
    SERVING_ASSET,
    build_task,
    daily_schedule,
    default_args,
    ingest_task,
    publish_task,
    run_config,
    run_params,
)


@dag(
    dag_id="beacon_pipeline",
    description="Daily: ingest every feed, build and test the marts, publish, report",
    schedule=daily_schedule(),
    start_date=datetime(2026, 1, 1, tzinfo=UTC),
    catchup=False,
    max_active_runs=1,
    tags=["beacon", "ingest", "dbt", "publish", "report"],
    doc_md=__doc__,
    default_args=default_args(),
    params=run_params(),
)
def beacon_pipeline():
    loads = [ingest_task(feed, f"ingest_{feed}", skip_unchanged=False) for feed in FEEDS]
    marts = build_task(trigger_rule="all_done")
    published = publish_task()

    @task(task_id="daily_report", inlets=[SERVING_ASSET])
    def daily_report() -> str:
        """The daily outcome report (HTML) of the day that just ended, from the serving
        copy (``reporting.publish_report``; docs/report.md)."""
        from reporting import publish_report

        context = get_current_context()
        config = run_config()
        when = context.get("logical_date") or context["dag_run"].run_after
        day = when.astimezone(ZoneInfo(config.daily_run_timezone)).date() - timedelta(days=1)
        return str(publish_report(config, day))

    @task(task_id="ingest_failed", trigger_rule="one_failed", retries=0, on_failure_callback=None)
    def ingest_failed() -> None:
        """Fails the run when a feed could not be loaded, after the marts were published."""
        from airflow.sdk.exceptions import AirflowFailException

        raise AirflowFailException("a feed could not be loaded: see the failed ingest task")

    loads >> marts >> published >> daily_report()
    loads >> ingest_failed()


beacon_pipeline()
