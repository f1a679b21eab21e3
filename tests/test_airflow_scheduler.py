"""Under a real Airflow scheduler: a day's files land, the published marts change.

Starts the four Airflow 3 components of docker-compose.yml (api-server, scheduler,
dag-processor, triggerer) as separate processes on loopback, with the compose file's own
environment and init command, SQLite for the metadata instead of Postgres, and local folders
instead of volumes. A simulated mid-size centre's history is loaded and published first
(without Airflow, while Airflow starts); then one day's file per feed lands the way a
producer writes it (``name.tmp``, renamed) and the test waits until the serving copy holds
all three, printing the landing-to-published latency. Every process started here is stopped
(its whole process group) at the end, pass or fail.

Size: ``LATENCY_TEST_DAYS`` days of history (default 2; not a ``BEACON_`` variable, which
conftest clears) of 3,300 contacts a day and 50 agents; docs/orchestration.md has figures for
2 and 30.
"""

from __future__ import annotations

import contextlib
import json
import os
import shutil
import signal
import socket
import sqlite3
import subprocess
import sys
import threading
import time
import urllib.request
from datetime import UTC, datetime, timedelta
from pathlib import Path

import duckdb
import pytest
import yaml

from beacon import publish
from beacon.config import PROJECT_ROOT, BeaconConfig
from beacon.orchestration import FEEDS, save_seen, scan_feed
from tests.conftest import simulate_centre

pytestmark = pytest.mark.slow

AIRFLOW = str(Path(sys.executable).with_name("airflow"))
COMPONENTS = ("api-server", "scheduler", "dag-processor", "triggerer")
#: compose settings this test must change to run on one machine without Docker
LOCAL_OVERRIDES = {
    "AIRFLOW__DATABASE__SQL_ALCHEMY_CONN",  # SQLite instead of the postgres service
    "AIRFLOW__CORE__DAGS_FOLDER",  # the repository instead of the /opt/beacon mount
    "AIRFLOW__CORE__EXECUTION_API_SERVER_URL",  # loopback and a free port
    "BEACON_LANDING_DIR",  # temporary folders instead of the volumes
    "BEACON_WAREHOUSE_PATH",
    "BEACON_SERVING_DIR",
    "PYTHONPATH",  # the repository's deploy/ instead of the mount's
}
READY_SECONDS = 240
PUBLISHED_SECONDS = 240


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _compose_env() -> dict[str, str]:
    """The Airflow services' environment from docker-compose.yml, defaults substituted."""
    compose = yaml.safe_load((PROJECT_ROOT / "docker-compose.yml").read_text())
    env = compose["services"]["scheduler"]["environment"]
    resolved = {}
    for key, value in env.items():
        text = str(value)
        while "${" in text:  # ${VAR:-default} → default (the test sets no such variable)
            start = text.index("${")
            end = text.index("}", start)
            _, _, default = text[start + 2 : end].partition(":-")
            text = text[:start] + default + text[end + 1 :]
        resolved[key] = text
    return resolved


def _environment(tmp: Path, config: BeaconConfig, port: int) -> dict[str, str]:
    compose = _compose_env()
    local = {
        "AIRFLOW__DATABASE__SQL_ALCHEMY_CONN": f"sqlite:///{tmp / 'airflow' / 'airflow.db'}",
        "AIRFLOW__CORE__DAGS_FOLDER": str(PROJECT_ROOT / "dags"),
        "AIRFLOW__CORE__EXECUTION_API_SERVER_URL": f"http://127.0.0.1:{port}/execution/",
        "BEACON_LANDING_DIR": str(config.landing_dir),
        "BEACON_WAREHOUSE_PATH": str(config.warehouse_path),
        "BEACON_SERVING_DIR": str(config.serving_path),
        "PYTHONPATH": str(PROJECT_ROOT / "deploy"),
    }
    assert set(local) == LOCAL_OVERRIDES <= set(compose)
    env = {
        k: v
        for k, v in os.environ.items()
        if not k.startswith(("AIRFLOW", "BEACON_")) and k != "PYTHONPATH"
    }
    env.update(compose)
    env.update(local)
    # not deployment settings: where this test's Airflow lives and listens, and a daily run
    # kept away from the test's minutes
    later = datetime.now(UTC) + timedelta(hours=12)
    env.update(
        AIRFLOW_HOME=str(tmp / "airflow"),
        AIRFLOW__API__HOST="127.0.0.1",
        AIRFLOW__API__PORT=str(port),
        AIRFLOW__LOGGING__LOGGING_LEVEL="INFO",
        BEACON_DAILY_RUN_TIME=later.strftime("%H:%M"),
        BEACON_DAILY_RUN_TIMEZONE="UTC",
        BEACON_WATCH_INTERVAL_SECONDS="1",
    )
    return env


class Components:
    """The Airflow processes, each in its own process group, stopped together."""

    def __init__(self, env: dict[str, str], logs: Path) -> None:
        self.env, self.logs, self.procs = env, logs, {}

    def start(self, name: str, command: str) -> None:
        log = (self.logs / f"{name}.log").open("w")
        self.procs[name] = subprocess.Popen(
            ["bash", "-c", command.replace("airflow ", f"{AIRFLOW} ")],
            env=self.env,
            stdout=log,
            stderr=subprocess.STDOUT,
            start_new_session=True,  # its own process group: its workers are stopped with it
            cwd=self.logs,
        )

    def check_alive(self) -> None:
        for name, proc in self.procs.items():
            if proc.poll() is not None:
                raise AssertionError(f"airflow {name} exited: {proc.returncode}\n{self.tail(name)}")

    def tail(self, name: str, lines: int = 40) -> str:
        text = (self.logs / f"{name}.log").read_text(errors="replace").splitlines()
        return "\n".join(text[-lines:])

    def stop(self) -> None:
        for proc in self.procs.values():
            _signal_group(proc.pid, signal.SIGTERM)
        deadline = time.monotonic() + 30
        for proc in self.procs.values():
            with contextlib.suppress(subprocess.TimeoutExpired):
                proc.wait(timeout=max(0.1, deadline - time.monotonic()))
        for proc in self.procs.values():  # whatever is left of each group, forcibly
            _signal_group(proc.pid, signal.SIGKILL)
            proc.wait(timeout=10)
        time.sleep(0.5)
        left = [pid for pid in map(int, _group_members(self.procs)) if pid]
        assert not left, f"processes left running: {left}"


def _signal_group(pgid: int, sig: int) -> None:
    with contextlib.suppress(ProcessLookupError):
        os.killpg(pgid, sig)


def _group_members(procs: dict) -> list[str]:
    groups = {str(p.pid) for p in procs.values()}
    out = subprocess.run(["ps", "-eo", "pid=,pgid=,stat="], capture_output=True, text=True).stdout
    return [
        pid
        for pid, pgid, stat in (line.split() for line in out.splitlines())
        if pgid in groups and not stat.startswith("Z")
    ]


def _metadata(db: Path, sql: str) -> list[tuple]:
    if not db.exists():
        return []
    try:
        with sqlite3.connect(f"file:{db}?mode=ro", uri=True, timeout=5) as con:
            return con.execute(sql).fetchall()
    except sqlite3.OperationalError:  # not migrated yet, or busy
        return []


def _wait(what: str, condition, timeout: float, components: Components, every: float = 0.5):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        components.check_alive()
        result = condition()
        if result:
            return result
        time.sleep(every)
    logs = "\n".join(f"--- {n}\n{components.tail(n)}" for n in components.procs)
    raise AssertionError(f"timed out after {timeout:.0f}s waiting for {what}\n{logs}")


def _feeds_loaded_since(config: BeaconConfig, since: datetime) -> set[str] | None:
    """Feeds whose newest loaded file in the current serving version is from ``since`` on."""
    try:
        with publish.connect_serving(config) as con:
            rows = con.execute("select feed, last_loaded_at from _feed_status").fetchall()
    except (FileNotFoundError, duckdb.Error):
        return None
    return {feed for feed, at in rows if at is not None and at >= since.replace(tzinfo=None)}


def test_a_landed_day_is_published_under_the_real_scheduler(tmp_path):
    from beacon.pipeline import build_marts, publish_marts
    from ingest import ingest_landing

    days = int(os.environ.get("LATENCY_TEST_DAYS", "2"))
    centre = simulate_centre(
        tmp_path / "centre", days=days + 1, contacts_per_day=3300, agents=50, seed=5
    )
    config = centre.config(tmp_path / "wh" / "beacon.duckdb")
    held = tmp_path / "held"
    for feed in FEEDS:  # the last day waits outside the landing zone
        last = sorted((centre.landing_dir / feed).rglob("*.*"))[-1]
        target = held / last.relative_to(centre.landing_dir)
        target.parent.mkdir(parents=True)
        last.rename(target)

    # the watchers are told the history is known: only the new day will trigger anything
    for feed in FEEDS:
        save_seen(
            config.warehouse_path.parent / ".watch" / f"{feed}.json",
            scan_feed(config.landing_dir, feed),
        )

    port = _free_port()
    env = _environment(tmp_path, config, port)
    (tmp_path / "airflow").mkdir()
    components = Components(env, tmp_path / "airflow")
    compose = yaml.safe_load((PROJECT_ROOT / "docker-compose.yml").read_text())["services"]
    db = tmp_path / "airflow" / "airflow.db"
    starter = None
    try:
        # in a thread: the compose file's init (migrate, the single-writer pool), then three
        # of its services; the scheduler comes later
        started = time.monotonic()
        init: dict = {}

        def init_and_start() -> None:
            init["result"] = subprocess.run(
                [
                    "bash",
                    "-c",
                    compose["airflow-init"]["command"].replace("airflow ", f"{AIRFLOW} "),
                ],
                env=env,
                capture_output=True,
                text=True,
                timeout=READY_SECONDS,
            )
            if init["result"].returncode == 0:
                for name in ("api-server", "dag-processor", "triggerer"):
                    components.start(name, compose[name]["command"])

        starter = threading.Thread(target=init_and_start)
        starter.start()

        # meanwhile: the history, loaded and published without Airflow
        assert ingest_landing(config).ok
        build_marts(config)
        before = publish_marts(config, run="history")["version"]
        history_done = time.monotonic()
        starter.join()
        result = init["result"]
        assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-3000:]

        # A DAG's latest missed daily run starts as soon as a scheduler first sees it
        # (catchup=False); here that would compete with the measurement, so the daily DAG
        # is paused through the REST API before the scheduler starts.
        _wait(
            "the DAGs and the api-server",
            lambda: (
                len(_metadata(db, "select dag_id from dag where is_paused = 0")) == 5
                and _http_ok(f"http://127.0.0.1:{port}/api/v2/version")
            ),
            READY_SECONDS,
            components,
        )
        token = _token(port, tmp_path / "airflow")
        _api(port, token, "PATCH", "/api/v2/dags/beacon_pipeline", {"is_paused": True})
        components.start("scheduler", compose["scheduler"]["command"])
        _wait(
            "the landing watchers and the scheduler",
            lambda: (
                _metadata(
                    db,
                    "select count(*) from trigger where classpath like '%LandingTrigger' "
                    "and triggerer_id is not null",
                )
                == [(3,)]
                and _metadata(
                    db,
                    "select count(*) from job where job_type = 'SchedulerJob'"
                    " and state = 'running'",
                )
                == [(1,)]
            ),
            READY_SECONDS,
            components,
        )
        ready = time.monotonic()

        # a producer writes each feed's day as name.tmp, then renames it into place
        staged = []
        for path in sorted(held.rglob("*.*")):
            final = config.landing_dir / path.relative_to(held)
            tmp = final.with_name(final.name + ".tmp")
            shutil.copyfile(path, tmp)
            staged.append((tmp, final))
        landed_at = datetime.now(UTC)
        t0 = time.monotonic()
        for tmp, final in staged:
            tmp.rename(final)

        first = _wait(
            "a new published version",
            lambda: publish.current_version(config.serving_path) not in (None, before),
            PUBLISHED_SECONDS,
            components,
        )
        first_latency = time.monotonic() - t0
        _wait(
            "all three feeds of the day in the published copy",
            lambda: _feeds_loaded_since(config, landed_at) == set(FEEDS),
            PUBLISHED_SECONDS,
            components,
        )
        latency = time.monotonic() - t0
        assert first
        runs = _metadata(
            db, "select dag_id, state, count(*) from dag_run group by 1, 2 order by 1, 2"
        )
        print(
            f"\nlanding-to-published latency: {latency:.1f}s for one day of a mid-size centre "
            f"(3,300 contacts, 50 agents; {days} days of history); first new version after "
            f"{first_latency:.1f}s; Airflow ready {ready - started:.0f}s after start "
            f"(history loaded in {history_done - started:.0f}s meanwhile); runs: {runs}"
        )
        meta = publish.published_metadata(config)
        assert meta["degraded_feeds"] == []
        assert meta["source_run"] and meta["source_run"] != "history"
        assert latency < PUBLISHED_SECONDS

        # an external producer announces a batch through the REST API: the feed's ingest runs
        asset_id = _api(port, token, "GET", "/api/v2/assets?uri_pattern=beacon://landing/crm")[
            "assets"
        ][0]["id"]
        _api(port, token, "POST", "/api/v2/assets/events", {"asset_id": asset_id, "extra": {}})
        _wait(
            "the ingest run an announced batch starts",
            lambda: (
                _metadata(db, "select count(*) from dag_run where dag_id = 'beacon_ingest_crm'")
                >= [(2,)]
            ),
            PUBLISHED_SECONDS,
            components,
        )
    finally:
        if starter is not None:
            starter.join()
        components.stop()


def _http_ok(url: str) -> bool:
    try:
        with urllib.request.urlopen(url, timeout=5) as response:
            return response.status == 200
    except OSError:
        return False


def _token(port: int, home: Path) -> str:
    """A bearer token for the compose file's user (simple auth manager, generated password)."""
    passwords = json.loads((home / "simple_auth_manager_passwords.json.generated").read_text())
    username, password = next(iter(passwords.items()))
    body = {"username": username, "password": password}
    return _api(port, None, "POST", "/auth/token", body)["access_token"]


def _api(port: int, token: str | None, method: str, path: str, body: dict | None = None) -> dict:
    request = urllib.request.Request(
        f"http://127.0.0.1:{port}{path}",
        data=json.dumps(body).encode() if body is not None else None,
        method=method,
        headers={"Content-Type": "application/json"}
        | ({"Authorization": f"Bearer {token}"} if token else {}),
    )
    with urllib.request.urlopen(request, timeout=30) as response:
        return json.loads(response.read() or b"{}")
