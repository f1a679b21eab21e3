"""Run the dbt project (staging → intermediate → marts) against the warehouse, in-process.

dbt's ``dbtRunner`` is not safe to call concurrently in one process; Beacon calls it from one
task at a time (the warehouse pool has a single slot), which also respects DuckDB's single
writer.
"""

from __future__ import annotations

import json
import logging
import os
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from beacon.config import DBT_PROJECT_DIR, BeaconConfig

log = logging.getLogger(__name__)


class TransformError(RuntimeError):
    """dbt failed: a model did not build or a test failed. Marts were not all rebuilt."""


@dataclass(frozen=True)
class TransformResult:
    """A dbt command that succeeded (a failure raises TransformError instead)."""

    command: str
    nodes: int


def run_dbt(
    config: BeaconConfig,
    command: str = "build",
    extra_args: Sequence[str] = (),
    work_dir: Path | None = None,
) -> TransformResult:
    """Run one dbt command on the configured warehouse and raise TransformError on failure.

    dbt's target and log folders go to ``work_dir`` (default: ``.dbt`` beside the warehouse
    file) so the project folder can be mounted read-only.
    """
    from dbt.cli.main import dbtRunner  # heavy import; keep it out of module import

    warehouse = config.warehouse_path.resolve()
    work = (work_dir or warehouse.parent / ".dbt").resolve()
    work.mkdir(parents=True, exist_ok=True)
    os.environ["BEACON_WAREHOUSE_PATH"] = str(warehouse)
    os.environ.setdefault("DO_NOT_TRACK", "1")
    args = [
        command,
        "--project-dir",
        str(DBT_PROJECT_DIR),
        "--profiles-dir",
        str(DBT_PROJECT_DIR),
        "--target-path",
        str(work / "target"),
        "--log-path",
        str(work / "logs"),
        "--vars",
        json.dumps(config.metrics.as_dbt_vars()),
        *extra_args,
    ]
    log.info("dbt %s on %s", command, warehouse)
    try:
        result = dbtRunner().invoke(args)
    finally:
        _release_warehouse()
    failures: list[str] = []
    nodes = 0
    if result.result is not None and hasattr(result.result, "results"):
        for node_result in result.result.results:
            nodes += 1
            status = str(node_result.status).lower()
            if status in {"error", "fail", "runtime error"}:
                failures.append(f"{node_result.node.unique_id}: {status}: {node_result.message}")
    if not result.success:
        if result.exception is not None:
            failures.append(f"dbt {command} raised: {result.exception}")
        elif not failures:
            failures.append(f"dbt {command} failed")
        raise TransformError("; ".join(failures))
    log.info("dbt %s: %d nodes passed", command, nodes)
    return TransformResult(command=command, nodes=nodes)


def _release_warehouse() -> None:
    """Close the DuckDB database dbt-duckdb keeps open in this process after a run.

    dbt-duckdb caches its database handle at class level (``DuckDBConnectionManager._ENV``);
    left open, it holds DuckDB's file lock, so the next step (ingest, a reader, the next
    task in the same process) cannot open the warehouse. There is no public API for this.
    """
    try:
        from dbt.adapters.duckdb.connections import DuckDBConnectionManager
    except ImportError:  # another adapter (e.g. Spark) is in use
        return
    env = DuckDBConnectionManager._ENV
    if env is not None:
        env.close()
    DuckDBConnectionManager.close_all_connections()
