"""Crash safety: an ingest killed with SIGKILL at any moment and run again loses nothing and
doubles nothing.

A simulated landing zone (mixed formats, dirty: quarantined rows and redeliveries) is
ingested once cleanly as the reference. Then a real ``beacon ingest`` subprocess (quality
gates on, a few files per gate batch) is started against a fresh warehouse and killed at
seeded random moments (during start-up and validation, or after a random number of further
file commits), again and again, and finally run to completion. The result must equal the
reference row for row (lineage ids and timestamps aside), every file must reconcile, and no
file may be ``loaded`` twice.
"""

from __future__ import annotations

import os
import random
import signal
import subprocess
import sys
import threading
import time
from datetime import date
from pathlib import Path

import duckdb
import pytest

from beacon.config import BeaconConfig, QualityConfig

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


#: the quality gates validate a few files at a time, so that commits (and kills) spread
#: over the run and several gate batches per feed are exercised
GATE_BATCH_ROWS = 5000


def _env() -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("BEACON_")}
    env["PYTHONPATH"] = str(PROJECT_ROOT)
    env["BEACON_QUALITY_GATE_BATCH_ROWS"] = str(GATE_BATCH_ROWS)
    env["BEACON_QUALITY_DATA_DOCS"] = "false"
    return env


class _CommitCounter:
    """Counts the files a running ``beacon ingest`` reports as committed (its log lines)."""

    def __init__(self, proc: subprocess.Popen) -> None:
        self.count = 0
        self._changed = threading.Condition()
        self._thread = threading.Thread(target=self._read, args=(proc,), daemon=True)
        self._thread.start()

    def _read(self, proc: subprocess.Popen) -> None:
        for line in proc.stderr:
            if " ingest.load: " in line and " read, " in line:
                with self._changed:
                    self.count += 1
                    self._changed.notify_all()
        with self._changed:
            self.count = -1  # the process ended
            self._changed.notify_all()

    def wait_for(self, n: int, timeout: float) -> None:
        with self._changed:
            self._changed.wait_for(lambda: self.count >= n or self.count < 0, timeout)

    def join(self) -> None:
        self._thread.join(timeout=30)


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
    quality = QualityConfig(gate_batch_rows=GATE_BATCH_ROWS, data_docs=False)
    reference = ingest_landing(
        BeaconConfig(landing_dir=landing, warehouse_path=reference_wh, quality=quality)
    )
    assert reference.ok
    assert reference.totals()["rows_quarantined"] > 0  # the dirt reaches the quarantine
    assert reference.totals()["rows_updated"] + reference.totals()["rows_duplicate"] > 0
    expected = _snapshot(reference_wh)

    # the victim: a real `beacon ingest` process, killed at random moments: either while
    # it starts (imports, schema, staging and validating its first batch), or at a random
    # moment after a random number of further files were committed (each committed file
    # logs one line), so that the kills fall all over the run
    total_files = len(reference.files)
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
            stderr=subprocess.PIPE,
            text=True,
        )
        commits = _CommitCounter(proc)
        if rng.random() < 0.25:
            time.sleep(rng.uniform(0, 3.0))
        else:
            commits.wait_for(rng.randint(1, max(1, total_files // KILLS)), timeout=120)
            time.sleep(rng.uniform(0, 0.5))
        if proc.poll() is None:
            proc.send_signal(signal.SIGKILL)
            landed_kills += 1
        proc.wait()
        commits.join()
        if proc.returncode == 0:
            break  # it finished before the kill: everything is loaded
        progress.append(_files_loaded(warehouse))
    assert landed_kills >= KILLS // 2, f"only {landed_kills} kills hit a running ingest"
    # the kills fell all over the run: files were committed between kills, and the kills
    # stopped runs that still had files to load
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
