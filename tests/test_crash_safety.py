"""Crash safety: an ingest killed with SIGKILL at any moment and run again loses nothing and
doubles nothing.

A simulated landing zone (mixed formats, dirty: quarantined rows and redeliveries) is
ingested once cleanly as the reference. Then a real ``beacon ingest`` subprocess is started
against a fresh warehouse and killed at seeded random moments, again and again, and finally
run to completion. The result must equal the reference row for row (lineage ids and
timestamps aside), every file must reconcile, and no file may be ``loaded`` twice.
"""

from __future__ import annotations

import os
import random
import signal
import subprocess
import sys
import time
from datetime import date
from pathlib import Path

import duckdb
import pytest

from beacon.config import BeaconConfig

PROJECT_ROOT = Path(__file__).resolve().parent.parent
KILLS = 10
SEED = 20261124

#: full-content comparisons: everything but the ids and times that depend on the run
COMPARED = {
    "calls": "SELECT * EXCLUDE (_file_id, _ingested_at) FROM raw.calls ORDER BY ALL",
    "tickets": "SELECT * EXCLUDE (_file_id, _ingested_at) FROM raw.tickets ORDER BY ALL",
    "crm": "SELECT * EXCLUDE (_file_id, _ingested_at) FROM raw.crm ORDER BY ALL",
    "lineage": "SELECT 'calls', t.leg_id, f.path FROM raw.calls t JOIN raw._files f "
    "ON f.file_id = t._file_id UNION ALL SELECT 'tickets', t.event_id, f.path "
    "FROM raw.tickets t JOIN raw._files f ON f.file_id = t._file_id UNION ALL "
    "SELECT 'crm', t.event_id, f.path FROM raw.crm t JOIN raw._files f "
    "ON f.file_id = t._file_id ORDER BY ALL",
    "manifest": "SELECT feed, path, size_bytes, sha256, format, status, rows_read, "
    "rows_inserted, rows_updated, rows_duplicate, rows_quarantined, min_event_at, "
    "max_event_at, error FROM raw._files ORDER BY ALL",
    "quarantine": "SELECT feed, path, line, record_key, reason, raw_record "
    "FROM raw._quarantine ORDER BY ALL",
    "changed_days": "SELECT f.path, d.feed, d.event_date, d.rows FROM raw._changed_days d "
    "JOIN raw._files f USING (file_id) ORDER BY ALL",
}


def _ingest_command(landing: Path, warehouse: Path) -> list[str]:
    return [
        sys.executable,
        "-m",
        "beacon.cli",
        "ingest",
        "--landing",
        str(landing),
        "--warehouse",
        str(warehouse),
    ]


def _env() -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("BEACON_")}
    env["PYTHONPATH"] = str(PROJECT_ROOT)
    return env


def _files_loaded(warehouse: Path) -> int:
    """Files the killed runs committed so far (0 before the first commit)."""
    if not warehouse.exists():
        return 0
    con = duckdb.connect(str(warehouse), read_only=True)
    try:
        return con.execute("SELECT count(*) FROM raw._files WHERE status = 'loaded'").fetchone()[0]
    except duckdb.CatalogException:  # killed before the schema was committed
        return 0
    finally:
        con.close()


def _snapshot(warehouse: Path) -> dict[str, list[tuple]]:
    con = duckdb.connect(str(warehouse), read_only=True)
    try:
        return {name: con.execute(sql).fetchall() for name, sql in COMPARED.items()}
    finally:
        con.close()


@pytest.fixture(scope="module")
def landing(tmp_path_factory) -> Path:
    from beacon.simulator import DirtConfig, SimulationConfig, simulate

    root = tmp_path_factory.mktemp("crash-landing")
    result = simulate(
        SimulationConfig(
            out_dir=root,
            seed=5,
            start_date=date(2026, 10, 1),
            days=12,
            contacts_per_day=1500,
            agents=30,
            formats=("jsonl", "csv", "parquet", "jsonl.gz"),
            dirt=DirtConfig.default_dirty(),
        )
    )
    return result.landing_dir


def test_sigkill_at_random_moments_loses_and_doubles_nothing(landing, tmp_path):
    from ingest import ingest_landing

    # the reference: one clean, uninterrupted run in this process
    reference_wh = tmp_path / "reference" / "beacon.duckdb"
    started = time.monotonic()
    reference = ingest_landing(BeaconConfig(landing_dir=landing, warehouse_path=reference_wh))
    clean_seconds = time.monotonic() - started
    assert reference.ok
    assert reference.totals()["rows_quarantined"] > 0  # the dirt reaches the quarantine
    assert reference.totals()["rows_updated"] + reference.totals()["rows_duplicate"] > 0
    expected = _snapshot(reference_wh)

    # how long a `beacon ingest` process takes to start (interpreter, imports, schema) on
    # this machine now: an empty landing zone
    (tmp_path / "empty").mkdir()
    started = time.monotonic()
    subprocess.run(
        _ingest_command(tmp_path / "empty", tmp_path / "empty" / "w.duckdb"),
        env=_env(),
        check=True,
        capture_output=True,
    )
    startup_seconds = time.monotonic() - started

    # the victim: a real `beacon ingest` process, killed at random moments
    warehouse = tmp_path / "crashed" / "beacon.duckdb"
    rng = random.Random(SEED)
    landed_kills = 0
    attempts = 0
    progress = []
    while landed_kills < KILLS and attempts < 3 * KILLS:
        attempts += 1
        proc = subprocess.Popen(
            _ingest_command(landing, warehouse),
            env=_env(),
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        # after startup, each kill lets ~0.75/KILLS of the work through on average, so the
        # kills spread over the whole landing zone and the last run still has work to do
        time.sleep(startup_seconds + rng.uniform(0, 1.5 * clean_seconds / KILLS))
        if proc.poll() is None:
            proc.send_signal(signal.SIGKILL)
            landed_kills += 1
        proc.wait()
        if proc.returncode == 0:
            break  # it finished before the kill: everything is loaded
        progress.append(_files_loaded(warehouse))
    assert landed_kills >= KILLS // 2, f"only {landed_kills} kills hit a running ingest"
    # the kills fell all over the run: files were committed between kills, and the kills
    # stopped runs that still had files to load
    total_files = len(reference.files)
    assert len({n for n in progress if 0 < n < total_files}) >= KILLS // 2, progress

    # run to completion, then once more (a no-op)
    for _ in range(2):
        done = subprocess.run(
            _ingest_command(landing, warehouse), env=_env(), capture_output=True, text=True
        )
        assert done.returncode == 0, done.stderr[-2000:]

    actual = _snapshot(warehouse)
    for name in COMPARED:
        assert actual[name] == expected[name], f"{name} differs from the uninterrupted run"

    con = duckdb.connect(str(warehouse), read_only=True)
    try:
        assert (
            con.execute(
                "SELECT path, count(*) FROM raw._files WHERE status = 'loaded' "
                "GROUP BY path HAVING count(*) > 1"
            ).fetchall()
            == []
        )
        assert con.execute(
            "SELECT count(*) FROM raw._files WHERE status <> 'loaded'"
        ).fetchone() == (0,)
        unreconciled = con.execute(
            "SELECT f.path FROM raw._files f LEFT JOIN (SELECT file_id, count(*) AS n "
            "FROM raw._quarantine GROUP BY file_id) q USING (file_id) "
            "WHERE f.rows_read <> f.rows_inserted + f.rows_updated + f.rows_duplicate "
            "+ f.rows_quarantined OR f.rows_quarantined <> coalesce(q.n, 0)"
        ).fetchall()
        assert unreconciled == []
        # every stored row's lineage points at a loaded file; every quarantined row too
        for table in ("calls", "tickets", "crm"):
            assert con.execute(
                f"SELECT count(*) FROM raw.{table} t ANTI JOIN raw._files f "
                "ON f.file_id = t._file_id AND f.status = 'loaded'"
            ).fetchone() == (0,)
        assert con.execute(
            "SELECT count(*) FROM raw._quarantine q ANTI JOIN raw._files f "
            "ON f.file_id = q.file_id AND f.status = 'loaded'"
        ).fetchone() == (0,)
    finally:
        con.close()
