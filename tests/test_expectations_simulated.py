"""The feed suites on realistic data: what ingest loaded from a simulated centre passes
every critical expectation (no false alarms), and the warnings are only reported."""

from __future__ import annotations

from datetime import datetime

import duckdb
import pytest

from expectations import validate_batch
from ingest.sql import ident
from tests.conftest import simulate_centre


@pytest.fixture(scope="module")
def warehouse(tmp_path_factory):
    from ingest import ingest_landing

    centre = simulate_centre(
        tmp_path_factory.mktemp("quality-centre"), seed=5, days=6, contacts_per_day=300, agents=10
    )
    path = tmp_path_factory.mktemp("quality-warehouse") / "beacon.duckdb"
    report = ingest_landing(centre.config(path))
    assert report.ok
    return path


@pytest.mark.parametrize("feed", ["calls", "tickets", "crm"])
def test_loaded_simulated_data_passes_every_critical_expectation(warehouse, feed):
    con = duckdb.connect(str(warehouse))
    try:
        batch = f"_quality_batch_{feed}"
        con.execute(
            f"CREATE OR REPLACE TABLE main.{ident(batch)} AS SELECT * FROM raw.{ident(feed)}"
        )
        rows = con.execute(f"SELECT count(*) FROM main.{ident(batch)}").fetchall()[0][0]
    finally:
        con.close()
    assert rows > 0
    v = validate_batch(warehouse, feed, batch, batch_id=f"all-{feed}", now=datetime(2026, 10, 8))
    assert v.passed, v.summary()
    assert all(o.error is None for o in v.outcomes), [o.error for o in v.outcomes if o.error]


def test_the_checks_against_history_raise_no_false_alarm_on_clean_data(tmp_path):
    """A clean centre delivered in two ingest runs (days 1–4, then 5–6): the second run's
    gates compare with what the first loaded (volume, null drift, redeliveries, unknown
    customers, tickets' created events and stale tickets) and find nothing."""
    from beacon.config import BeaconConfig, QualityConfig
    from ingest import ingest_landing

    centre = simulate_centre(tmp_path / "centre", seed=9, days=6, contacts_per_day=300, agents=10)
    later = tmp_path / "later"
    for path in sorted(centre.landing_dir.rglob("*.jsonl")):
        if path.stem.rsplit("_", 1)[-1] >= "2026-10-05":
            target = later / path.relative_to(centre.landing_dir)
            target.parent.mkdir(parents=True, exist_ok=True)
            path.rename(target)
    warehouse = tmp_path / "beacon.duckdb"
    config = BeaconConfig(
        landing_dir=centre.landing_dir,
        warehouse_path=warehouse,
        quality=QualityConfig(data_docs=False),
    )
    assert ingest_landing(config).ok
    for path in sorted(later.rglob("*.jsonl")):
        target = centre.landing_dir / path.relative_to(later)
        target.parent.mkdir(parents=True, exist_ok=True)
        path.rename(target)
    report = ingest_landing(config)
    assert report.ok and report.totals()["files_loaded"] > 0
    con = duckdb.connect(str(warehouse), read_only=True)
    try:
        rows = con.execute(
            "SELECT feed, expectation, severity, passed FROM raw._quality_results "
            "WHERE batch_id = $run",
            {"run": f"run-{report.run_id}"},
        ).fetchall()
    finally:
        con.close()
    checked = {(feed, name) for feed, name, _, _ in rows}
    for feed in ("calls", "tickets"):
        for name in ("volume", "null_drift", "redelivery_share", "unknown_customer_share"):
            assert (feed, name) in checked
    assert ("tickets", "order:events>=created") in checked
    failed = {(feed, name) for feed, name, _, passed in rows if not passed}
    # the simulated days are in the past, and simulated tickets mostly lack a customer id;
    # crm volume: the simulated CRM backfills its customer base as old customer_created
    # events, so the same weekday a week before go-live holds only those (a known limit of
    # the volume check in a feed's first weeks, docs/quality.md)
    assert failed <= {
        ("calls", "freshness"),
        ("tickets", "freshness"),
        ("crm", "freshness"),
        ("tickets", "null_share:customer_id"),
        ("crm", "volume"),
    }, failed
