"""The DAGs load cleanly, follow the house policy, and run end to end through Airflow."""

from __future__ import annotations

import duckdb
import pytest

from beacon import airflow_local
from tests.conftest import simulate_centre


@pytest.fixture(scope="module")
def dagbag():
    from airflow.dag_processing.dagbag import DagBag

    return DagBag(dag_folder=str(airflow_local.DAGS_FOLDER))


def test_dags_import_without_errors(dagbag):
    assert dagbag.import_errors == {}
    assert "beacon_pipeline" in dagbag.dag_ids


def test_dags_follow_policy(dagbag):
    for dag_id, dag in dagbag.dags.items():
        assert dag.tags, f"{dag_id} has no tags"
        assert dag.doc_md, f"{dag_id} has no doc_md"
        assert dag.start_date is not None and dag.start_date.tzinfo is not None, dag_id
        assert dag.catchup is False, dag_id
        for task in dag.tasks:
            assert task.retries >= 1, f"{dag_id}.{task.task_id} has no retries"
            assert task.owner == "beacon", f"{dag_id}.{task.task_id} owner"


def test_every_warehouse_task_uses_the_single_writer_pool(dagbag):
    dag = dagbag.dags["beacon_pipeline"]
    for task in dag.tasks:
        assert task.pool == airflow_local.WAREHOUSE_POOL, task.task_id


def _snapshot(warehouse) -> dict[str, list]:
    """Everything a re-run could change: manifest, raw tables, quarantine, the mart."""
    with duckdb.connect(str(warehouse), read_only=True) as con:
        return {
            table: con.execute(f"select {columns} from {table} order by all").fetchall()
            for table, columns in [
                ("raw._files", "* exclude (started_at, finished_at)"),
                ("raw.calls", "* exclude (_ingested_at)"),
                ("raw.tickets", "* exclude (_ingested_at)"),
                ("raw.crm", "* exclude (_ingested_at)"),
                ("raw._quarantine", "* exclude (quarantined_at)"),
                ("marts.mart_daily_outcomes", "*"),
            ]
        }


def test_pipeline_dag_runs_end_to_end_and_a_rerun_changes_nothing(tmp_path):
    centre = simulate_centre(tmp_path / "centre", days=10, contacts_per_day=150, agents=8)
    warehouse = tmp_path / "wh" / "beacon.duckdb"
    conf = {"landing_dir": str(centre.landing_dir), "warehouse_path": str(warehouse)}

    assert airflow_local.run_dag("beacon_pipeline", conf=conf) == "success"

    with duckdb.connect(str(warehouse), read_only=True) as con:
        files = con.execute(
            "select count(*), count(*) filter (where status = 'loaded') from raw._files"
        ).fetchall()[0]
        contacts, handled, issues = con.execute(
            "select sum(contacts), sum(handled), sum(issues_started) from marts.mart_daily_outcomes"
        ).fetchall()[0]
        legs_handled = con.execute(
            "select count(*) from raw.calls"
            " where answered_at is not null and direction in ('inbound', 'callback')"
        ).fetchall()[0][0]
    landed = [p for p in centre.landing_dir.rglob("*") if p.is_file()]
    assert files == (len(landed), len(landed))
    assert {p.relative_to(centre.landing_dir).parts[0] for p in landed} == {
        "calls",
        "tickets",
        "crm",
    }
    assert handled == legs_handled > 0
    assert contacts > issues > 0

    before = _snapshot(warehouse)
    assert airflow_local.run_dag("beacon_pipeline", conf=conf) == "success"
    assert _snapshot(warehouse) == before
