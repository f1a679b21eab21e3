"""Airflow local settings for Beacon's deployment: warm task start-up.

Airflow imports this module (found through ``PYTHONPATH``, see docker-compose.yml) in every
Airflow process at start. In the **scheduler** only, it imports the libraries Beacon's tasks
use. The LocalExecutor forks its workers from the scheduler, and each task is forked from a
worker, so every task starts with Great Expectations, dbt and DuckDB already imported instead
of importing them cold (≈ 5 s per task on two cores, 10 s and more under load: most of an
ingest task's time). Measured under the real scheduler (tests/test_airflow_scheduler.py):
landing to published 58.6 s without, 28.6 s with it (docs/orchestration.md).

Nothing else changes: other Airflow processes (api-server, dag-processor, triggerer, CLI
commands) skip the preload, and a failed preload only costs the speed-up.
"""

from __future__ import annotations

import importlib
import logging
import sys

#: what ingest, dbt and publishing tasks import (measured: what a first ingest still had to
#: import after ``beacon.pipeline``)
PRELOAD = (
    "duckdb",
    "pyarrow",
    "sqlalchemy",
    "duckdb_engine",
    "great_expectations",
    "great_expectations.execution_engine.sqlalchemy_execution_engine",
    "great_expectations.render",
    "dbt.cli.main",
    "dbt.adapters.duckdb",
    "ingest.load",
    "ingest.gate",
    "expectations.runner",
    "beacon.pipeline",
    "beacon.publish",
    "beacon.transform",
    "beacon.orchestration",
    "airflow.sdk.execution_time.task_runner",
    "airflow.dag_processing.dagbag",
    "airflow.dag_processing.bundles.manager",
)


def _preload() -> None:
    log = logging.getLogger("beacon.preload")
    for name in PRELOAD:
        try:
            importlib.import_module(name)
        except Exception as exc:  # a missing optional module must not stop the scheduler
            log.warning("preload of %s failed: %s", name, exc)


if len(sys.argv) > 1 and sys.argv[1] == "scheduler":
    _preload()
