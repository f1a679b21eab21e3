"""The Airflow wiring the DAG files share: assets, the landing-zone watcher, task factories,
default task settings and the failure alert. No business logic: every task calls one
function of :mod:`beacon.pipeline`, which is tested without Airflow.

Assets (how the DAGs hand over to each other; docs/orchestration.md)::

    beacon://landing/<feed>        a file landed (watcher) or a producer announced a batch
          │                        (REST API asset event)  → DAG beacon_ingest_<feed>
    beacon://warehouse/raw/<feed>  new or changed raw rows → DAG beacon_transform
    beacon://warehouse/marts       a dbt build whose models and tests passed
    beacon://serving/marts         a new read-only serving version was published
"""

from __future__ import annotations

import asyncio
import json
import logging
import os
from collections.abc import AsyncIterator
from datetime import timedelta
from pathlib import Path
from typing import Any

from airflow.sdk import Asset, AssetWatcher, Param, get_current_context, task
from airflow.triggers.base import BaseEventTrigger, TriggerEvent

from beacon.airflow_local import WAREHOUSE_POOL

log = logging.getLogger(__name__)

FEEDS = ("crm", "calls", "tickets")
#: pool slots go to waiting ingests first, so one build covers all feeds that just landed
INGEST_PRIORITY, BUILD_PRIORITY, PUBLISH_PRIORITY = 10, 5, 5


# --- watching the landing zone ---------------------------------------------------------


def scan_feed(landing_dir: Path, feed: str) -> dict[str, list[int]]:
    """``{relpath: [size, mtime_ns]}`` of the files ingest would read under
    ``landing_dir/<feed>`` (the same rules as :func:`ingest.discover.discover`, quietly)."""
    from ingest.discover import detect_format, is_ignored

    found: dict[str, list[int]] = {}
    root = Path(landing_dir) / feed
    for dirpath, dirnames, filenames in os.walk(root):
        dirnames[:] = [d for d in dirnames if not is_ignored(d)]
        for name in filenames:
            if is_ignored(name) or detect_format(name) is None:
                continue
            path = Path(dirpath) / name
            try:
                stat = path.stat()
            except OSError:  # vanished between listing and stat
                continue
            found[path.relative_to(landing_dir).as_posix()] = [stat.st_size, stat.st_mtime_ns]
    return found


def new_files(seen: dict[str, list[int]], listing: dict[str, list[int]]) -> list[str]:
    """Files of ``listing`` that are not in ``seen`` with the same size and mtime."""
    return sorted(path for path, signature in listing.items() if seen.get(path) != signature)


def load_seen(path: Path) -> dict[str, list[int]]:
    try:
        return json.loads(path.read_text())
    except FileNotFoundError:
        return {}
    except ValueError:  # a torn or foreign file: treat everything as new (ingest dedupes)
        return {}


def save_seen(path: Path, listing: dict[str, list[int]]) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    tmp.write_text(json.dumps(listing))
    os.replace(tmp, path)


class LandingTrigger(BaseEventTrigger):
    """Fires when a feed file lands in ``<landing_dir>/<feed>/`` (any sub-folder).

    Producers need no marker: a file is complete when it appears under its final name
    (the feed contract: write ``name.tmp``, then rename). The trigger compares the folder
    with the files it has already announced, kept in ``<state_dir>/<feed>.json``
    (default: ``.watch/`` beside the warehouse), so a restarted triggerer announces only
    what landed meanwhile; announcing a file twice is harmless (ingest loads it once).
    Folders and interval come from Beacon's configuration at run time
    (``BEACON_LANDING_DIR``, ``BEACON_WAREHOUSE_PATH``, ``BEACON_WATCH_INTERVAL_SECONDS``)
    unless given. The scan runs in a thread, off the triggerer's event loop.
    """

    def __init__(
        self,
        feed: str,
        landing_dir: str | None = None,
        state_dir: str | None = None,
        poke_interval: float | None = None,
    ) -> None:
        super().__init__()
        self.feed = feed
        self.landing_dir = landing_dir
        self.state_dir = state_dir
        self.poke_interval = poke_interval

    def serialize(self) -> tuple[str, dict[str, Any]]:
        return (
            f"{type(self).__module__}.{type(self).__qualname__}",
            {
                "feed": self.feed,
                "landing_dir": self.landing_dir,
                "state_dir": self.state_dir,
                "poke_interval": self.poke_interval,
            },
        )

    def _resolve(self) -> tuple[Path, Path, float]:
        from beacon.config import BeaconConfig

        config = BeaconConfig.load()
        landing = Path(self.landing_dir) if self.landing_dir else config.landing_dir
        state_dir = (
            Path(self.state_dir) if self.state_dir else config.warehouse_path.parent / ".watch"
        )
        interval = self.poke_interval or config.watch_interval_seconds
        return landing.resolve(), state_dir / f"{self.feed}.json", interval

    async def run(self) -> AsyncIterator[TriggerEvent]:
        landing, state_path, interval = await asyncio.to_thread(self._resolve)
        seen = await asyncio.to_thread(load_seen, state_path)
        while True:
            listing = await asyncio.to_thread(scan_feed, landing, self.feed)
            new = new_files(seen, listing)
            if new:
                await asyncio.to_thread(save_seen, state_path, listing)
                self.log.info("%s: %d new file(s) landed: %s", self.feed, len(new), new[:10])
                yield TriggerEvent({"feed": self.feed, "new_files": len(new), "files": new[:50]})
                return
            await asyncio.sleep(interval)


# --- assets -------------------------------------------------------------------------------


def landing_asset(feed: str) -> Asset:
    """``beacon://landing/<feed>``, watched by a :class:`LandingTrigger`."""
    return Asset(
        name=f"beacon_landing_{feed}",
        uri=f"beacon://landing/{feed}",
        group="beacon",
        watchers=[AssetWatcher(name=f"beacon_landing_{feed}", trigger=LandingTrigger(feed=feed))],
    )


LANDING_ASSETS = {feed: landing_asset(feed) for feed in FEEDS}
RAW_ASSETS = {feed: Asset(f"beacon://warehouse/raw/{feed}", group="beacon") for feed in FEEDS}
MARTS_ASSET = Asset("beacon://warehouse/marts", group="beacon")
SERVING_ASSET = Asset("beacon://serving/marts", group="beacon")


# --- task settings, configuration, alerts --------------------------------------------------


def default_args(**overrides: Any) -> dict[str, Any]:
    """Every task: owner, retries with exponential backoff, the failure alert."""
    return {
        "owner": "beacon",
        "retries": 2,
        "retry_delay": timedelta(seconds=30),
        "retry_exponential_backoff": True,
        "max_retry_delay": timedelta(minutes=10),
        "on_failure_callback": alert_on_failure,
        **overrides,
    }


def run_params() -> dict[str, Param]:
    """A run may override where it reads and writes (``beacon run``, tests)."""
    return {
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
        "serving_dir": Param(
            None,
            type=["null", "string"],
            description="Serving copy folder (default: BEACON_SERVING_DIR, else beside the "
            "warehouse)",
        ),
    }


def run_config():
    """The run's configuration: BEACON_* settings (or beacon.toml), the run's params on top."""
    from beacon.config import BeaconConfig

    params = get_current_context()["params"]
    return BeaconConfig.load(
        **{key: params.get(key) or None for key in ("landing_dir", "warehouse_path", "serving_dir")}
    )


def run_id() -> str:
    return str(get_current_context()["run_id"])


def daily_schedule():
    """The daily run at ``daily_run_time`` in ``daily_run_timezone`` (read when the DAG
    file is parsed: a schedule must be known then)."""
    from airflow.sdk import CronTriggerTimetable

    from beacon.config import BeaconConfig

    config = BeaconConfig.load()
    hour, minute = (int(part) for part in config.daily_run_time.split(":"))
    return CronTriggerTimetable(f"{minute} {hour} * * *", timezone=config.daily_run_timezone)


def alert_on_failure(context: Any) -> None:
    """A task failed for good (retries exhausted, or bad data that no retry fixes)."""
    from beacon.alerts import send_alert
    from beacon.config import BeaconConfig

    ti = context.get("task_instance") or context.get("ti")
    dag_id = getattr(ti, "dag_id", "?")
    task_id = getattr(ti, "task_id", "?")
    exception = context.get("exception")
    subject = f"Beacon: {dag_id}.{task_id} failed"
    body = "\n".join(
        [
            f"run: {context.get('run_id')}",
            f"try: {getattr(ti, 'try_number', '?')}",
            f"error: {exception}",
            f"log: {getattr(ti, 'log_url', '') or '(see the Airflow UI)'}",
        ]
    )
    try:
        config = BeaconConfig.load()
    except Exception as exc:  # a broken configuration must not swallow the alert
        log.error("alert configuration unreadable (%s); logging only", exc)
        config = BeaconConfig()
    send_alert(
        config,
        subject,
        body,
        {"dag_id": dag_id, "task_id": task_id, "run_id": context.get("run_id")},
    )


# --- tasks (each calls one beacon.pipeline function) ---------------------------------------


def ingest_task(feed: str, task_id: str, skip_unchanged: bool):
    """Load a feed's new files; a file that cannot be loaded or a batch the quality gate
    refuses fails the task at once (bad data stays bad: no retry) and marks the feed
    degraded. With ``skip_unchanged`` a run that changed no raw row is skipped, so it
    emits no raw asset event and triggers no rebuild."""

    @task(
        task_id=task_id,
        outlets=[RAW_ASSETS[feed]],
        pool=WAREHOUSE_POOL,
        priority_weight=INGEST_PRIORITY,
        weight_rule="absolute",
    )
    def ingest_feed() -> dict:
        """``beacon.pipeline.ingest_feed``: load the feed's new landing files into raw."""
        from airflow.sdk.exceptions import AirflowFailException, AirflowSkipException

        from beacon.pipeline import IngestFailed, raw_changed
        from beacon.pipeline import ingest_feed as run

        try:
            totals = run(run_config(), feed)
        except IngestFailed as exc:
            raise AirflowFailException(str(exc)) from exc
        if skip_unchanged and not raw_changed(totals):
            raise AirflowSkipException(f"{feed}: no new or changed rows")
        return totals

    return ingest_feed()


def build_task(trigger_rule: str = "all_success"):
    """dbt build (models and tests); a failing test fails at once and stops publishing."""

    @task(
        task_id="build_marts",
        outlets=[MARTS_ASSET],
        pool=WAREHOUSE_POOL,
        priority_weight=BUILD_PRIORITY,
        weight_rule="absolute",
        trigger_rule=trigger_rule,
    )
    def build_marts() -> dict:
        """``beacon.pipeline.build_marts``: dbt build, models and tests; recorded."""
        from airflow.sdk.exceptions import AirflowFailException

        from beacon.pipeline import build_marts as run
        from beacon.transform import TransformError

        try:
            return run(run_config(), run=run_id())
        except TransformError as exc:  # a model or data test failed: retrying changes nothing
            raise AirflowFailException(str(exc)) from exc

    return build_marts()


def publish_task():
    """Copy the marts of the build that just passed to a new serving version, atomically."""

    @task(
        task_id="publish_marts",
        outlets=[SERVING_ASSET],
        pool=WAREHOUSE_POOL,
        priority_weight=PUBLISH_PRIORITY,
        weight_rule="absolute",
    )
    def publish_marts() -> dict:
        """``beacon.pipeline.publish_marts``: a new serving version, swapped in atomically."""
        from airflow.sdk.exceptions import AirflowFailException, AirflowSkipException

        from beacon.pipeline import publish_marts as run
        from beacon.publish import PublishRefused

        config = run_config()
        if config.transform.engine != "duckdb":
            # the marts are tables of the Spark warehouse: BI reads them there (docs/spark.md)
            raise AirflowSkipException(
                f"marts built on {config.transform.engine}: nothing to publish from DuckDB"
            )
        try:
            published = run(config, run=run_id())
        except PublishRefused as exc:
            raise AirflowFailException(str(exc)) from exc
        get_current_context()["outlet_events"][SERVING_ASSET].extra = {
            key: published[key] for key in ("version", "published_at", "degraded_feeds")
        }
        return published

    return publish_marts()
