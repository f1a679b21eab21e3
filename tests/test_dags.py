"""The DAGs load cleanly, follow the house policy, and run end to end through Airflow
(``dag.test()``: every DAG, in turn, without a scheduler; tests/test_airflow_scheduler.py
runs them under a real scheduler)."""

from __future__ import annotations

import json
import threading
from http.server import BaseHTTPRequestHandler, HTTPServer

import duckdb
import pytest

from beacon import airflow_local, publish
from beacon.cli import main
from beacon.config import BeaconConfig
from tests.conftest import simulate_centre

FEED_DAGS = {f"beacon_ingest_{feed}": feed for feed in ("calls", "tickets", "crm")}
WAREHOUSE_TASKS = {"ingest", "ingest_calls", "ingest_tickets", "ingest_crm", "build_marts"}
WAREHOUSE_TASKS |= {"publish_marts"}


@pytest.fixture(scope="module")
def dagbag():
    from airflow.dag_processing.dagbag import DagBag

    return DagBag(dag_folder=str(airflow_local.DAGS_FOLDER))


def test_dags_import_without_errors(dagbag):
    assert dagbag.import_errors == {}
    assert set(dagbag.dag_ids) == {"beacon_pipeline", "beacon_transform", *FEED_DAGS}


def test_dags_follow_policy(dagbag):
    from beacon.orchestration import alert_on_failure

    for dag_id, dag in dagbag.dags.items():
        assert dag.tags and "beacon" in dag.tags, f"{dag_id} has no tags"
        assert dag.doc_md, f"{dag_id} has no doc_md"
        assert dag.start_date is not None and dag.start_date.tzinfo is not None, dag_id
        assert dag.catchup is False, dag_id
        assert dag.max_active_runs == 1, dag_id
        for task in dag.tasks:
            assert task.owner == "beacon", f"{dag_id}.{task.task_id} owner"
            assert task.doc or task.doc_md or task.python_callable.__doc__, task.task_id
            if task.trigger_rule == "one_failed":  # a run-state guard: nothing to retry
                continue
            assert task.retries >= 1, f"{dag_id}.{task.task_id} has no retries"
            assert task.retry_exponential_backoff, f"{dag_id}.{task.task_id} backoff"
            assert alert_on_failure in _callbacks(task), f"{dag_id}.{task.task_id} alert"


def _callbacks(task) -> list:
    callbacks = task.on_failure_callback
    return list(callbacks) if isinstance(callbacks, list | tuple) else [callbacks]


def test_every_warehouse_task_uses_the_single_writer_pool(dagbag):
    for dag in dagbag.dags.values():
        for task in dag.tasks:
            in_pool = task.pool == airflow_local.WAREHOUSE_POOL
            assert in_pool == (task.task_id in WAREHOUSE_TASKS), f"{dag.dag_id}.{task.task_id}"


def test_schedules_events_and_a_configurable_daily_time(dagbag, monkeypatch):
    from airflow.dag_processing.dagbag import DagBag

    from beacon.orchestration import LandingTrigger

    for dag_id, feed in FEED_DAGS.items():
        (asset,) = dagbag.dags[dag_id].timetable.asset_condition.objects
        assert asset.uri == f"beacon://landing/{feed}"
        (watcher,) = asset.watchers
        assert isinstance(watcher.trigger, LandingTrigger) and watcher.trigger.feed == feed
    transform = dagbag.dags["beacon_transform"]
    assert {a.uri for a in transform.timetable.asset_condition.objects} == {
        f"beacon://warehouse/raw/{feed}" for feed in FEED_DAGS.values()
    }
    assert dagbag.dags["beacon_pipeline"].timetable.expression == "0 6 * * *"

    monkeypatch.setenv("BEACON_DAILY_RUN_TIME", "07:45")
    monkeypatch.setenv("BEACON_DAILY_RUN_TIMEZONE", "Europe/London")
    timetable = DagBag(dag_folder=str(airflow_local.DAGS_FOLDER)).dags["beacon_pipeline"].timetable
    assert (timetable.expression, str(timetable.timezone)) == ("45 7 * * *", "Europe/London")


# --- the landing watcher, without a triggerer ---------------------------------------------


def test_landing_trigger_fires_for_a_new_file_once_and_remembers_it(tmp_path):
    import asyncio

    from beacon.orchestration import LandingTrigger

    landing, state = tmp_path / "landing", tmp_path / "state"
    (landing / "calls" / "2026").mkdir(parents=True)
    trigger = LandingTrigger(
        feed="calls", landing_dir=str(landing), state_dir=str(state), poke_interval=0.05
    )
    assert trigger.serialize()[0] == "beacon.orchestration.LandingTrigger"

    async def first_event(timeout: float):
        return await asyncio.wait_for(anext(trigger.run()), timeout)

    # files in flight (.tmp), dot-files and parked files are not announced
    for name in ("calls_2026-10-01.jsonl.tmp", ".hidden.jsonl", "_parked.jsonl"):
        (landing / "calls" / "2026" / name).write_text("{}\n")
    with pytest.raises(TimeoutError):
        asyncio.run(first_event(0.3))

    (landing / "calls" / "2026" / "calls_2026-10-01.jsonl.tmp").rename(
        landing / "calls" / "2026" / "calls_2026-10-01.jsonl"
    )
    event = asyncio.run(first_event(5))
    assert event.payload == {
        "feed": "calls",
        "new_files": 1,
        "files": ["calls/2026/calls_2026-10-01.jsonl"],
    }
    # a re-armed trigger (the triggerer makes a new one) does not announce it again
    with pytest.raises(TimeoutError):
        asyncio.run(first_event(0.3))
    (landing / "calls" / "2026" / "calls_2026-10-02.csv").write_text("leg_id\n")
    assert asyncio.run(first_event(5)).payload["files"] == ["calls/2026/calls_2026-10-02.csv"]


# --- alerts -----------------------------------------------------------------------------


@pytest.fixture
def webhook():
    """A webhook receiver on loopback; yields (url, received payloads)."""
    received: list[dict] = []

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self):
            received.append(json.loads(self.rfile.read(int(self.headers["Content-Length"]))))
            self.send_response(204)
            self.end_headers()

        def log_message(self, *args):
            pass

    server = HTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_port}/hook", received
    server.shutdown()
    server.server_close()


def test_alerts_go_to_the_log_always_and_to_a_webhook_and_email_when_configured(
    webhook, monkeypatch, caplog
):
    from beacon.alerts import send_alert

    url, received = webhook
    sent: list = []

    class FakeSMTP:
        def __init__(self, host, port, timeout):
            sent.append((host, port))

        def __enter__(self):
            return self

        def __exit__(self, *exc):
            return False

        def send_message(self, message):
            sent.append((message["To"], message["Subject"]))

    monkeypatch.setattr("smtplib.SMTP", FakeSMTP)
    assert send_alert(BeaconConfig(), "s", "b") == ["log"]
    assert "ALERT s" in caplog.text
    config = BeaconConfig(
        alert_webhook_url=url, alert_email="ops@example.com, lead@example.com", alert_smtp="mx:2525"
    )
    assert send_alert(config, "Beacon: x failed", "why", {"dag_id": "d"}) == [
        "log",
        "webhook",
        "email",
    ]
    assert received == [
        {"text": "Beacon: x failed\nwhy", "subject": "Beacon: x failed", "details": {"dag_id": "d"}}
    ]
    assert sent == [("mx", 2525), ("ops@example.com, lead@example.com", "Beacon: x failed")]
    # an unreachable webhook is logged, never raised over the failure it reports
    broken = BeaconConfig(alert_webhook_url="http://127.0.0.1:9/none")
    assert send_alert(broken, "s", "b") == ["log"]


# --- every DAG, end to end, through dag.test() ---------------------------------------------


def _snapshot(warehouse) -> dict[str, list]:
    """Everything a re-run could change: manifest, raw tables, quarantine, every mart."""
    with duckdb.connect(str(warehouse), read_only=True) as con:
        marts = [
            t
            for (t,) in con.execute(
                "select table_name from information_schema.tables where table_schema = 'marts'"
            ).fetchall()
        ]
        tables = [
            ("raw._files", "* exclude (started_at, finished_at)"),
            ("raw.calls", "* exclude (_ingested_at)"),
            ("raw.tickets", "* exclude (_ingested_at)"),
            ("raw.crm", "* exclude (_ingested_at)"),
            ("raw._quarantine", "* exclude (quarantined_at)"),
        ] + [(f'marts."{t}"', "*") for t in marts]
        return {
            table: _rounded(con.execute(f"select {columns} from {table} order by all").fetchall())
            for table, columns in tables
        }


def _rounded(rows: list[tuple]) -> list[tuple]:
    """Doubles to 9 significant digits: a parallel sum of doubles may differ in the last bit
    from one build to the next (e.g. ``mart_segment_monthly.handling_cost``)."""
    return [tuple(float(f"{v:.9g}") if isinstance(v, float) else v for v in row) for row in rows]


def _serving_marts(config: BeaconConfig) -> dict[str, list]:
    with publish.connect_serving(config) as con:
        names = [n for (n,) in con.execute("select mart from _published order by mart").fetchall()]
        return {
            n: _rounded(con.execute(f'select * from marts."{n}" order by all').fetchall())
            for n in names
        }


@pytest.fixture(scope="module")
def event_driven(tmp_path_factory):
    """The event path, DAG by DAG: each feed's ingest DAG, then the transform DAG."""
    root = tmp_path_factory.mktemp("dags")
    centre = simulate_centre(root / "centre", days=8, contacts_per_day=120, agents=6)
    config = centre.config(root / "wh" / "beacon.duckdb")
    conf = {"landing_dir": str(centre.landing_dir), "warehouse_path": str(config.warehouse_path)}
    states = {dag_id: airflow_local.run_dag(dag_id, conf=conf) for dag_id in FEED_DAGS}
    states["again"] = airflow_local.run_dag("beacon_ingest_calls", conf=conf)  # nothing new
    states["beacon_transform"] = airflow_local.run_dag("beacon_transform", conf=conf)
    return centre, config, conf, states


def test_ingest_dags_then_transform_dag_load_build_and_publish(event_driven):
    centre, config, _, states = event_driven
    assert set(states.values()) == {"success"}, states

    with duckdb.connect(str(config.warehouse_path), read_only=True) as con:
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
    assert handled == legs_handled > 0
    assert contacts > issues > 0
    assert _serving_marts(config) == {
        name.split('"')[1]: rows
        for name, rows in _snapshot(config.warehouse_path).items()
        if name.startswith("marts.")
    }
    assert publish.published_metadata(config)["source_run"].startswith("manual__")


def test_daily_pipeline_backfill_is_idempotent_and_writes_one_report_per_day(event_driven):
    _, config, conf, _ = event_driven
    before = _snapshot(config.warehouse_path)
    serving_before = _serving_marts(config)

    args = ["backfill", "--from", "2026-10-07", "--to", "2026-10-08"]
    args += ["--landing", conf["landing_dir"], "--warehouse", conf["warehouse_path"]]
    assert main(args) == 0

    assert _snapshot(config.warehouse_path) == before
    assert _serving_marts(config) == serving_before
    # each run reports the day that just ended, from the serving copy
    reports = sorted((config.serving_path / "reports").glob("*.html"))
    assert [p.name for p in reports] == ["2026-10-06.html", "2026-10-07.html"]
    text = reports[-1].read_text()
    assert "Wednesday 7 October 2026" in text and "Numbers can be trusted today" in text


def test_a_bad_file_fails_its_ingest_dag_loudly_and_alerts(event_driven, webhook, monkeypatch):
    centre, config, conf, _ = event_driven
    url, received = webhook
    monkeypatch.setenv("BEACON_ALERT_WEBHOOK_URL", url)
    bad = centre.landing_dir / "calls" / "calls_broken.jsonl.gz"
    bad.write_bytes(b"\x1f\x8b\x08\x00 not really gzip")
    try:
        assert airflow_local.run_dag("beacon_ingest_calls", conf=conf) == "failed"
    finally:
        bad.unlink()
    (alert,) = received
    assert alert["subject"] == "Beacon: beacon_ingest_calls.ingest failed"
    assert "calls_broken.jsonl.gz" in alert["text"]
    with duckdb.connect(str(config.warehouse_path), read_only=True) as con:
        assert con.execute(
            "select status from raw._feed_status where feed = 'calls'"
        ).fetchall() == [("degraded",)]
