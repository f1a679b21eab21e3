"""Run Beacon's DAGs through Airflow itself on this machine, without a scheduler.

``beacon run`` and the demo use this: the same DAG code a deployment schedules, executed
in-process with ``dag.test()`` against a SQLite metadata database. Airflow reads its
configuration from the environment when it is first imported, so :func:`configure` must run
before anything imports ``airflow``.
"""

from __future__ import annotations

import logging
import os
import sys
import warnings
from datetime import datetime
from pathlib import Path
from typing import Any

from beacon.config import PROJECT_ROOT

log = logging.getLogger(__name__)

DAGS_FOLDER = PROJECT_ROOT / "dags"
WAREHOUSE_POOL = "beacon_warehouse"


def configure(airflow_home: Path) -> None:
    """Point Airflow at a local home with SQLite metadata and Beacon's DAGs folder."""
    if "airflow" in sys.modules:
        current = os.environ.get("AIRFLOW_HOME")
        if current and Path(current).resolve() != airflow_home.resolve():
            log.warning("Airflow already imported with AIRFLOW_HOME=%s; keeping it", current)
        return
    airflow_home.mkdir(parents=True, exist_ok=True)
    os.environ["AIRFLOW_HOME"] = str(airflow_home.resolve())
    os.environ.setdefault("AIRFLOW__CORE__DAGS_FOLDER", str(DAGS_FOLDER))
    os.environ.setdefault("AIRFLOW__CORE__LOAD_EXAMPLES", "False")
    os.environ.setdefault(
        "AIRFLOW__DATABASE__SQL_ALCHEMY_CONN",
        f"sqlite:///{(airflow_home / 'airflow.db').resolve()}",
    )
    os.environ.setdefault("AIRFLOW__LOGGING__LOGGING_LEVEL", "WARNING")
    os.environ.setdefault("DO_NOT_TRACK", "1")
    # Airflow's in-process runner imports FastAPI's test client; its deprecation notice is
    # about Airflow's dependencies, not about anything a Beacon user can change
    warnings.filterwarnings("ignore", message=r"Using `httpx` with `starlette.testclient`")


def ensure_metadata() -> None:
    """Create or migrate the metadata database and the single-slot warehouse pool."""
    from airflow.models.pool import Pool
    from airflow.utils import db

    db.upgradedb()
    Pool.create_or_update_pool(
        WAREHOUSE_POOL,
        slots=1,
        description="One writer at a time on the DuckDB warehouse",
        include_deferred=False,
    )


def load_dag(dag_id: str):
    from airflow.dag_processing.dagbag import DagBag

    bag = DagBag(dag_folder=str(DAGS_FOLDER))
    if bag.import_errors:
        raise RuntimeError(f"DAG import errors: {bag.import_errors}")
    dag = bag.dags.get(dag_id)
    if dag is None:
        raise KeyError(f"no DAG {dag_id!r} in {DAGS_FOLDER}")
    return dag


def run_dag(
    dag_id: str, conf: dict[str, Any] | None = None, logical_date: datetime | None = None
) -> str:
    """Run one DAG to completion in this process; return the run's final state.

    ``logical_date`` runs a scheduled DAG for that date (a backfill); by default the run is
    for now. Asset events are recorded but start no other DAG: there is no scheduler.
    """
    ensure_metadata()
    dag = load_dag(dag_id)
    if logical_date is None:
        dag_run = dag.test(run_conf=conf or {})
    else:
        dag_run = dag.test(run_conf=conf or {}, logical_date=logical_date, run_after=logical_date)
    state = str(dag_run.state) if dag_run is not None else "unknown"
    log.info("%s finished: %s", dag_id, state)
    return state
