"""The pipeline's steps as plain functions: what Airflow tasks and the CLI call.

Each step opens the warehouse itself and closes it before returning, so steps can run in
separate processes one after another (DuckDB allows one writer at a time).
"""

from __future__ import annotations

import logging
from typing import Any

from beacon.config import BeaconConfig

log = logging.getLogger(__name__)


class IngestFailed(RuntimeError):
    """At least one landed file could not be loaded; the others were."""


def ingest_feed(config: BeaconConfig, feed: str) -> dict[str, int]:
    """Load a feed's new files; raise IngestFailed (after loading the rest) if any failed."""
    from ingest import ingest_landing

    report = ingest_landing(config, feeds=[feed])
    totals = report.totals(feed)
    if not report.ok:
        failed = [f"{r.path}: {r.error}" for r in report.files if r.error]
        raise IngestFailed(f"{feed}: {len(failed)} file(s) not loaded: " + "; ".join(failed))
    return totals


def raw_changed(totals: dict[str, int]) -> bool:
    """Whether an ingest (its :func:`ingest_feed` totals) inserted or updated any raw row."""
    return bool(totals.get("rows_inserted", 0) or totals.get("rows_updated", 0))


def build_marts(config: BeaconConfig, run: str | None = None) -> dict[str, int]:
    """Build and test the dbt project; raise TransformError if a model or test fails.

    The outcome is recorded beside the warehouse (:func:`beacon.publish.building`): only
    a successful build can be published.
    """
    from beacon.publish import building
    from beacon.transform import run_dbt

    with building(config, run=run):
        result = run_dbt(config, "build")
    return {"nodes": result.nodes}


def publish_marts(config: BeaconConfig, run: str | None = None) -> dict[str, Any]:
    """Publish the marts of the last successful build to the read-only serving copy.

    Only DuckDB's marts are published: with ``transform.engine = "spark"`` the marts are
    tables of the Spark warehouse, read there (docs/spark.md), and this refuses.
    """
    from beacon.publish import PublishRefused, publish

    if config.transform.engine != "duckdb":
        raise PublishRefused(
            f"the marts are built on {config.transform.engine} (transform.engine): "
            "BI reads them from that warehouse; there is nothing to publish from DuckDB"
        )

    return publish(config, source_run=run).as_dict()
