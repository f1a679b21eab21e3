"""With the simulator's dirt switch on, every injected fault is caught: bad rows are
quarantined (by ingest's contract checks, or by the quality gates with the expectation's
name), redeliveries deduplicated, late files loaded; nothing is loaded silently and every
file's counts reconcile (issues #2, #3 and #4). The quarantine equals the list of injected
row faults in the ground truth, row for row."""

from __future__ import annotations

import gzip

import duckdb
import pyarrow.parquet as pq
import pytest

from tests.conftest import simulate_centre

#: faults ingest's contract checks catch → the quarantine reason they must get
CONTRACT_FAULTS = {
    "malformed_line": "malformed_record",
    "bad_timestamp": "bad_timestamp:",
    "negative_duration": "below_minimum:",
    "unknown_enum": "unknown_value:",
}
#: faults the contract accepts and the quality gates (GX, critical) catch
GATE_FAULTS = {
    "out_of_order": "quality:order:",
    "implausible_duration": "quality:duration:talk_seconds",
    "future_timestamp": "quality:not_future:emitted_at",
}
ROW_FAULTS = (*CONTRACT_FAULTS, *GATE_FAULTS)


@pytest.fixture(scope="module")
def dirty(tmp_path_factory):
    from beacon.simulator import DirtConfig
    from ingest import ingest_landing

    centre = simulate_centre(
        tmp_path_factory.mktemp("dirty-centre"),
        seed=3,
        days=10,
        contacts_per_day=300,
        agents=10,
        formats=("jsonl", "jsonl.gz", "csv", "parquet"),
        dirt=DirtConfig.default_dirty(),
    )
    warehouse = tmp_path_factory.mktemp("dirty-warehouse") / "beacon.duckdb"
    config = centre.config(warehouse)
    report = ingest_landing(config)
    con = duckdb.connect(str(warehouse), read_only=True)
    faults_path = str(centre.truth_dir / "faults.parquet").replace("'", "''")
    con.execute(f"create temp view faults as select * from read_parquet('{faults_path}')")
    yield centre, config, report, con
    con.close()


def test_every_fault_type_was_injected(dirty):
    _, _, _, con = dirty
    injected = dict(con.execute("select fault_type, count(*) from faults group by all").fetchall())
    for fault_type in (*ROW_FAULTS, "redelivery", "late_file"):
        assert injected.get(fault_type, 0) > 0, f"no {fault_type} injected"


def test_the_quarantine_is_exactly_the_list_of_injected_row_faults(dirty):
    _, _, report, con = dirty
    assert report.ok and report.totals()["files_refused"] == 0
    injected = con.execute(
        "select file, line, fault_type from faults where fault_type in ? order by all",
        [list(ROW_FAULTS)],
    ).fetchall()
    caught = con.execute("select path, line, reason from raw._quarantine order by all").fetchall()
    assert [(f, line) for f, line, _ in injected] == [(p, line) for p, line, _ in caught]
    expected = {**CONTRACT_FAULTS, **GATE_FAULTS}
    wrong = [
        (file, line, fault, reason)
        for (file, line, fault), (_, _, reason) in zip(injected, caught, strict=True)
        if not reason.startswith(expected[fault])
    ]
    assert wrong == []
    kinds = {fault for _, _, fault in injected}
    assert set(GATE_FAULTS) <= kinds  # the gates had something to catch


def test_gate_faults_are_recorded_as_failed_critical_expectations(dirty):
    _, _, _, con = dirty
    failed = {
        name
        for (name,) in con.execute(
            "select distinct expectation from raw._quality_results "
            "where severity = 'critical' and not passed"
        ).fetchall()
    }
    assert any(name.startswith("order:") for name in failed)
    assert {"duration:talk_seconds", "not_future:emitted_at"} <= failed
    assert (
        con.execute("select sum(rows_failed) from raw._gate_files").fetchall()[0][0]
        == con.execute(
            "select count(*) from faults where fault_type in ?", [list(GATE_FAULTS)]
        ).fetchall()[0][0]
    )


def test_every_injected_bad_row_is_quarantined_at_its_file_and_line(dirty):
    _, _, report, con = dirty
    assert report.ok
    missed = con.execute(
        """
        select faults.fault_type, faults.file, faults.line
        from faults
        anti join raw._quarantine as q on q.path = faults.file and q.line = faults.line
        where faults.fault_type in ?
        """,
        [list(ROW_FAULTS)],
    ).fetchall()
    assert missed == []


def test_no_bad_row_is_loaded(dirty):
    _, _, _, con = dirty
    for feed in ("calls", "tickets", "crm"):
        loaded_bad = con.execute(
            f"""
            select count(*) from raw.{feed} as r
            join raw._files as f on r._file_id = f.file_id
            join faults on faults.file = f.path and faults.line = r._line
            where faults.fault_type in ?
            """,
            [list(ROW_FAULTS)],
        ).fetchall()[0][0]
        assert loaded_bad == 0, feed


def test_every_redelivery_is_deduplicated(dirty):
    _, _, _, con = dirty
    rows = con.execute(
        """
        select faults.feed, faults.record_key, f.rows_duplicate + f.rows_updated
        from faults join raw._files as f on f.path = faults.file
        where faults.fault_type = 'redelivery'
        """
    ).fetchall()
    assert rows
    for feed, key, deduplicated_in_file in rows:
        key_column = "leg_id" if feed == "calls" else "event_id"
        copies = con.execute(
            f"select count(*) from raw.{feed} where {key_column} = ?", [key]
        ).fetchall()[0][0]
        assert copies == 1, (feed, key)
        assert deduplicated_in_file >= 1


def test_late_files_are_loaded(dirty):
    _, _, _, con = dirty
    late = con.execute(
        """
        select distinct faults.file, f.status, f.rows_inserted + f.rows_updated
        from faults left join raw._files as f on f.path = faults.file
        where faults.fault_type = 'late_file'
        """
    ).fetchall()
    assert late and all(status == "loaded" and loaded > 0 for _, status, loaded in late)


def test_counts_reconcile_per_file_against_the_files_themselves(dirty):
    centre, _, report, con = dirty
    for result in report.files:
        assert result.rows_read == (
            result.rows_inserted
            + result.rows_updated
            + result.rows_duplicate
            + result.rows_quarantined
        ), result.path
        path = centre.landing_dir / result.path
        if path.name.endswith(".parquet"):
            records = pq.ParquetFile(path).metadata.num_rows
        elif path.name.endswith(".jsonl.gz"):
            with gzip.open(path, "rt") as lines:
                records = sum(1 for line in lines if line.strip())
        elif path.name.endswith(".jsonl"):
            records = sum(1 for line in path.open() if line.strip())
        else:
            continue  # CSV records can span lines; the reconciliation above covers them
        assert result.rows_read == records, result.path
    quarantined = con.execute("select count(*) from raw._quarantine").fetchall()[0][0]
    assert quarantined == sum(r.rows_quarantined for r in report.files) > 0


def test_marts_build_on_dirty_data(dirty):
    from beacon.pipeline import build_marts

    centre, config, _, con = dirty
    con.close()  # one writer: release the file for dbt
    build_marts(config)
    con = duckdb.connect(str(config.warehouse_path), read_only=True)
    try:
        # the quality marts tell the same story as the ground truth
        health = con.execute(
            "select sum(rows_read), sum(rows_inserted + rows_updated + rows_duplicate "
            "+ rows_quarantined), sum(rows_quarantined_by_quality_gate), sum(files_refused) "
            "from marts.mart_feed_health_daily"
        ).fetchall()[0]
        faults_path = str(centre.truth_dir / "faults.parquet").replace("'", "''")
        gate_faults = con.execute(
            f"select count(*) from read_parquet('{faults_path}') where fault_type in ?",
            [list(GATE_FAULTS)],
        ).fetchall()[0][0]
        assert health[0] == health[1] > 0
        assert health[2] == gate_faults > 0 and health[3] == 0
        statuses = con.execute("select feed, feed_status from marts.mart_feed_status").fetchall()
        assert sorted(statuses) == [("calls", "ok"), ("crm", "ok"), ("tickets", "ok")]
    finally:
        con.close()
