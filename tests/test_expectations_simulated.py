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
