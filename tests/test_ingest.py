"""ingest/: landing files → raw tables exactly once, bad rows quarantined with file and line.

Every test writes its own small files by hand (tests/ingest_fixtures.py) and ingests them
into a real DuckDB file under tmp_path.
"""

from __future__ import annotations

import json
import logging
import os
from datetime import datetime

import duckdb
import pytest

from tests.ingest_fixtures import Landing, call, ticket

CALL_FIELDS_SQL = "* EXCLUDE (_file_id, _ingested_at)"


@pytest.fixture
def landing(tmp_path) -> Landing:
    return Landing(tmp_path)


def assert_reconciled(landing: Landing, report) -> None:
    """rows_read = inserted + updated + duplicate + quarantined, in the report and manifest,
    and the quarantine table holds exactly the quarantined rows of each file."""
    for r in report.files:
        assert (
            r.rows_read == r.rows_inserted + r.rows_updated + r.rows_duplicate + r.rows_quarantined
        )
        assert sum(r.quarantine_reasons.values()) == r.rows_quarantined
    for file_id, read, ins, upd, dup, quar in landing.query(
        "SELECT file_id, rows_read, rows_inserted, rows_updated, rows_duplicate, rows_quarantined "
        "FROM raw._files WHERE status = 'loaded'"
    ):
        assert read == ins + upd + dup + quar, file_id
        in_table = landing.query(
            "SELECT count(*) FROM raw._quarantine WHERE file_id = ?", [file_id]
        )
        assert in_table[0][0] == quar, file_id


def result_for(report, path):
    (result,) = [r for r in report.files if r.path == path]
    return result


# --- formats -----------------------------------------------------------------------------

RECORDS = [
    call("L1"),
    call(
        "L2", leg_seq=2, talk_seconds=0, hold_seconds=None, agent_id=None, disposition="abandoned"
    ),
    call("L3", arrived_at="2026-10-01T11:00:00+02:00", ended_at="2026-10-01 09:30:00"),
    call("L4", emitted_at=None, contact_reason='billing, "quoted" reason', queued_at=""),
]


@pytest.mark.parametrize(
    "relpath,typed",
    [
        ("calls/2026-10-01.jsonl", False),
        ("calls/2026-10-01.jsonl.gz", False),
        ("calls/2026-10-01.csv", False),
        ("calls/2026-10-01.parquet", False),
        ("calls/2026-10-01.parquet", True),
    ],
    ids=["jsonl", "jsonl.gz", "csv", "parquet-text", "parquet-typed"],
)
def test_each_format_loads_the_same_rows(tmp_path, relpath, typed):
    reference = Landing(tmp_path / "reference")
    reference.jsonl("calls/2026-10-01.jsonl", RECORDS)
    reference.ingest()
    expected = reference.query(f"SELECT {CALL_FIELDS_SQL} FROM raw.calls ORDER BY leg_id")

    landing = Landing(tmp_path / "under-test")
    if relpath.endswith(".csv"):
        landing.csv(relpath, RECORDS)
    elif relpath.endswith(".parquet"):
        landing.parquet(relpath, [dict(r, queued_at=None) for r in RECORDS], typed=typed)
    else:
        landing.jsonl(relpath, RECORDS)
    report = landing.ingest()

    assert report.ok, report.files
    assert result_for(report, relpath).rows_inserted == 4
    assert landing.query(f"SELECT {CALL_FIELDS_SQL} FROM raw.calls ORDER BY leg_id") == expected
    # and the reference is what the contract says: typed, UTC, empty string = null
    row = reference.query(
        "SELECT leg_seq, talk_seconds, arrived_at, ended_at, queued_at, contact_reason, _line "
        "FROM raw.calls WHERE leg_id = 'L3'"
    )
    assert row == [
        (1, 250.5, datetime(2026, 10, 1, 9, 0), datetime(2026, 10, 1, 9, 30), None, None, 3)
    ]
    assert reference.query(
        "SELECT queued_at, contact_reason FROM raw.calls WHERE leg_id = 'L4'"
    ) == [(None, 'billing, "quoted" reason')]


def test_raw_tables_are_typed_from_the_contract_and_keyed(landing):
    landing.jsonl("tickets/t.jsonl", [ticket("E1", "assigned")])
    landing.ingest()
    types = dict(
        landing.query(
            "SELECT column_name, data_type FROM information_schema.columns "
            "WHERE table_schema = 'raw' AND table_name = 'tickets'"
        )
    )
    assert types["event_id"] == "VARCHAR"
    assert types["occurred_at"] == "TIMESTAMP"
    assert types["is_public"] == "BOOLEAN"
    assert types["group"] == "VARCHAR"  # a reserved word, quoted
    assert {"_file_id", "_line", "_ingested_at"} <= set(types)
    assert landing.query('SELECT "group" FROM raw.tickets') == [("billing-team",)]
    # the key is NOT NULL and unique by the merge, without an index (see docs/ingest.md)
    assert landing.query(
        "SELECT is_nullable FROM information_schema.columns "
        "WHERE table_schema = 'raw' AND table_name = 'tickets' AND column_name = 'event_id'"
    ) == [("NO",)]
    assert (
        landing.query(
            "SELECT constraint_type FROM information_schema.table_constraints "
            "WHERE table_schema = 'raw' AND table_name = 'tickets' "
            "AND constraint_type = 'PRIMARY KEY'"
        )
        == []
    )


# --- exactly once ------------------------------------------------------------------------


def test_rerun_is_a_no_op(landing):
    landing.jsonl("calls/a.jsonl", [call("L1"), call("L2", leg_seq="x")])
    landing.csv("tickets/b.csv", [ticket("E1")])
    first = landing.ingest()
    assert first.ok and [r.status for r in first.files] == ["loaded", "loaded"]
    before = landing.snapshot()

    again = landing.ingest()

    assert again.ok
    assert [r.status for r in again.files] == ["skipped", "skipped"]
    assert again.totals()["rows_read"] == 0 and again.changed_feeds == []
    assert landing.snapshot() == before
    # an mtime-only change (same content) is still recognised by checksum
    os.utime(landing.dir / "calls/a.jsonl", ns=(1, 1))
    assert [r.status for r in landing.ingest().files] == ["skipped", "skipped"]
    assert [r.status for r in landing.ingest(verify_checksums=True).files] == ["skipped"] * 2
    assert landing.snapshot() == before


def test_changed_file_is_flagged_and_not_loaded(landing):
    landing.jsonl("calls/a.jsonl", [call("L1")])
    landing.ingest()
    landing.jsonl("calls/a.jsonl", [call("L1", queue="sales"), call("L2")])

    report = landing.ingest()

    assert not report.ok
    (result,) = report.files
    assert result.status == "changed"
    assert "changed since it was loaded" in result.error and "not loaded" in result.error.lower()
    assert landing.query("SELECT leg_id, queue FROM raw.calls") == [("L1", "billing")]
    statuses = landing.query(
        "SELECT status FROM raw._files WHERE path = 'calls/a.jsonl' ORDER BY 1"
    )
    assert statuses == [("changed",), ("loaded",)]
    # still flagged on the next run, without piling up manifest rows
    assert landing.ingest().files[0].status == "changed"
    assert landing.query("SELECT count(*) FROM raw._files") == [(2,)]


def test_a_crash_mid_file_leaves_nothing_behind(landing, monkeypatch):
    import ingest.load

    landing.jsonl("calls/a.jsonl", [call("L1"), call("L2", leg_seq=0)])

    def crash(*args, **kwargs):
        raise RuntimeError("simulated crash after the rows were written")

    monkeypatch.setattr(ingest.load, "_write_manifest", crash)
    with pytest.raises(RuntimeError):
        landing.ingest()
    monkeypatch.undo()

    assert landing.query("SELECT count(*) FROM raw.calls") == [(0,)]
    assert landing.query("SELECT count(*) FROM raw._quarantine") == [(0,)]
    assert landing.query("SELECT count(*) FROM raw._files") == [(0,)]
    report = landing.ingest()  # the next run loads the file whole
    assert (
        report.ok and report.files[0].rows_inserted == 1 and report.files[0].rows_quarantined == 1
    )


def test_counts_that_do_not_reconcile_roll_the_file_back(landing, monkeypatch):
    import ingest.load

    real_merge = ingest.load._merge

    def miscounting_merge(*args, **kwargs):
        merged = real_merge(*args, **kwargs)
        merged.inserted -= 1  # a bug that loses a row from the accounting
        return merged

    monkeypatch.setattr(ingest.load, "_merge", miscounting_merge)
    landing.jsonl("calls/a.jsonl", [call("L1"), call("L2")])
    report = landing.ingest()

    (result,) = report.files
    assert result.status == "failed" and "accounted for" in result.error
    assert landing.query("SELECT count(*) FROM raw.calls") == [(0,)]
    assert landing.query("SELECT status FROM raw._files") == [("failed",)]


# --- redeliveries ------------------------------------------------------------------------


def test_newer_emitted_at_wins_and_counts_as_update(landing):
    landing.jsonl("calls/2026-10-01.jsonl", [call("L1", queue="billing")])
    landing.ingest()
    landing.jsonl(
        "calls/2026-10-02.jsonl",
        [
            call(
                "L1",
                queue="sales",
                emitted_at="2026-10-01T10:00:00Z",
                arrived_at="2026-10-03T09:00:00Z",
            )
        ],
    )
    report = landing.ingest()

    result = report.files[-1]
    assert (result.rows_inserted, result.rows_updated, result.rows_duplicate) == (0, 1, 0)
    assert landing.query("SELECT queue, _line FROM raw.calls") == [("sales", 1)]
    assert landing.query(
        "SELECT f.path FROM raw.calls c JOIN raw._files f ON f.file_id = c._file_id"
    ) == [("calls/2026-10-02.jsonl",)]
    # the days touched include the event time the update moved away from
    assert landing.query(
        "SELECT min_event_at, max_event_at FROM raw._files WHERE path = 'calls/2026-10-02.jsonl'"
    ) == [(datetime(2026, 10, 1, 9), datetime(2026, 10, 3, 9))]
    assert report.changed_feeds == ["calls"]


def test_older_emitted_at_is_a_duplicate(landing):
    landing.jsonl(
        "calls/2026-10-01.jsonl", [call("L1", queue="billing", emitted_at="2026-10-01T12:00:00Z")]
    )
    landing.ingest()
    landing.jsonl(
        "calls/2026-10-02.jsonl", [call("L1", queue="stale", emitted_at="2026-10-01T11:00:00Z")]
    )
    report = landing.ingest()

    result = report.files[-1]
    assert (result.rows_inserted, result.rows_updated, result.rows_duplicate) == (0, 0, 1)
    assert landing.query("SELECT queue FROM raw.calls") == [("billing",)]
    assert report.changed_feeds == []


def test_identical_redelivery_is_a_duplicate(landing):
    landing.jsonl("calls/2026-10-01.jsonl", [call("L1"), call("L2")])
    landing.ingest()
    before = landing.query("SELECT * FROM raw.calls ORDER BY leg_id")
    landing.csv("calls/2026-10-02.csv", [call("L2"), call("L3")])  # same record, other format
    result = landing.ingest().files[-1]

    assert (result.rows_inserted, result.rows_updated, result.rows_duplicate) == (1, 0, 1)
    assert landing.query("SELECT * FROM raw.calls WHERE leg_id <> 'L3' ORDER BY leg_id") == before


def test_without_emitted_at_the_later_file_wins(landing):
    landing.jsonl("calls/2026-10-01.jsonl", [call("L1", emitted_at=None, queue="first")])
    landing.ingest()
    landing.jsonl("calls/2026-10-02.jsonl", [call("L1", emitted_at=None, queue="second")])
    result = landing.ingest().files[-1]
    assert (result.rows_updated, result.rows_duplicate) == (1, 0)
    assert landing.query("SELECT queue FROM raw.calls") == [("second",)]

    # "later" is the sorted path order, not arrival order: a late file for an earlier day
    # does not overwrite what a later file delivered
    landing.jsonl("calls/2026-09-30.jsonl", [call("L1", emitted_at=None, queue="late")])
    result = landing.ingest().files[0]
    assert result.path == "calls/2026-09-30.jsonl"
    assert (result.rows_updated, result.rows_duplicate) == (0, 1)
    assert landing.query("SELECT queue FROM raw.calls") == [("second",)]


def test_a_record_with_emitted_at_beats_one_without(landing):
    landing.jsonl("calls/2026-10-01.jsonl", [call("L1", queue="stamped")])
    landing.ingest()
    landing.jsonl("calls/2026-10-02.jsonl", [call("L1", emitted_at=None, queue="unstamped")])
    result = landing.ingest().files[-1]
    assert (result.rows_updated, result.rows_duplicate) == (0, 1)
    assert landing.query("SELECT queue FROM raw.calls") == [("stamped",)]


def test_duplicates_within_a_file_collapse_first(landing):
    landing.jsonl(
        "calls/a.jsonl",
        [
            call("L1", queue="newest", emitted_at="2026-10-01T12:00:00Z"),
            call("L1", queue="older", emitted_at="2026-10-01T11:00:00Z"),
            call("L2", queue="first", emitted_at=None),
            call("L2", queue="later line", emitted_at=None),
            call("L3"),
            call("L3"),
        ],
    )
    report = landing.ingest()
    (result,) = report.files
    assert (result.rows_read, result.rows_inserted, result.rows_duplicate) == (6, 3, 3)
    assert landing.query("SELECT leg_id, queue, _line FROM raw.calls ORDER BY leg_id") == [
        ("L1", "newest", 1),
        ("L2", "later line", 4),
        ("L3", "billing", 6),
    ]
    assert_reconciled(landing, report)


def test_keys_stay_unique_without_a_key_index(landing):
    """The raw tables have no primary-key index: the within-file collapse and the merge
    (insert only keys not stored yet) keep one row per key, across formats and files."""
    landing.jsonl("calls/1.jsonl", [call("L1"), call("L2", emitted_at=None), call("L1", queue="b")])
    landing.csv(
        "calls/2.csv",
        [call("L1", emitted_at="2026-10-02T00:00:00Z"), call("L2"), call("L3"), call("L3")],
    )
    landing.parquet("calls/3.parquet", [call("L2"), call("L3", queue="x"), call("L4"), call("L4")])
    report = landing.ingest()
    assert report.ok
    assert landing.query("SELECT count(*), count(DISTINCT leg_id) FROM raw.calls") == [(4, 4)]
    assert [(r.rows_inserted, r.rows_updated, r.rows_duplicate) for r in report.files] == [
        (2, 0, 1),
        (1, 2, 1),
        (1, 1, 2),
    ]
    assert_reconciled(landing, report)


@pytest.mark.parametrize("ordered", [True, False])
def test_the_merge_restores_the_sessions_insertion_order(tmp_path, ordered):
    """The merge inserts without keeping order (raw's row order means nothing) and then
    restores the setting, which staging relies on to number rows by rowid."""
    from datetime import datetime as dt

    from ingest.contracts import CALLS
    from ingest.load import _merge
    from ingest.warehouse import ensure_schema

    con = duckdb.connect(str(tmp_path / "w.duckdb"))
    try:
        ensure_schema(con)
        con.execute(f"SET preserve_insertion_order = {str(ordered).lower()}")
        con.execute(
            "CREATE TEMP TABLE w AS SELECT 'L1' AS leg_id, 'C1' AS call_id, 1 AS leg_seq, "
            "'inbound' AS direction, NULL AS customer_id, NULL AS phone_number, "
            "'billing' AS queue, NULL AS agent_id, TIMESTAMP '2026-10-01 09:00' AS arrived_at, "
            "NULL AS queued_at, NULL AS answered_at, TIMESTAMP '2026-10-01 09:05' AS ended_at, "
            "NULL AS talk_seconds, NULL AS hold_seconds, NULL AS acw_seconds, "
            "'handled' AS disposition, NULL AS transferred_to_queue, NULL AS contact_reason, "
            "NULL AS agent_resolution, NULL AS ticket_id, NULL AS emitted_at, 1 AS _line"
        )
        merged = _merge(con, CALLS, "calls/a.jsonl", 1, "w", 1, dt(2026, 10, 2))
        setting = con.execute("SELECT current_setting('preserve_insertion_order')").fetchone()
    finally:
        con.close()
    assert merged.inserted == 1
    assert setting == (ordered,)


def test_a_duplicated_stored_key_fails_the_file_instead_of_updating_two_rows(landing):
    """Nothing but ingest writes raw; if a key were stored twice anyway (written by hand),
    a file redelivering it is rolled back and failed, not applied to both rows."""
    landing.jsonl("calls/1.jsonl", [call("L1"), call("L2")])
    landing.ingest()
    con = duckdb.connect(str(landing.warehouse))
    con.execute("INSERT INTO raw.calls SELECT * FROM raw.calls WHERE leg_id = 'L1'")
    con.close()
    landing.jsonl("calls/2.jsonl", [call("L1", queue="newer", emitted_at="2026-10-02T00:00:00Z")])
    result = result_for(landing.ingest(), "calls/2.jsonl")
    assert result.status == "failed" and "not unique" in result.error
    assert landing.query("SELECT leg_id, queue FROM raw.calls ORDER BY 1") == [
        ("L1", "billing"),
        ("L1", "billing"),
        ("L2", "billing"),
    ]


def test_a_warehouse_whose_tables_have_a_primary_key_keeps_loading(landing):
    """Warehouses created before the key index was dropped keep it (DuckDB cannot drop a
    primary key in place): ingest works on them unchanged."""
    from ingest.contracts import CALLS
    from ingest.warehouse import feed_table_ddl

    landing.warehouse.parent.mkdir(parents=True)
    con = duckdb.connect(str(landing.warehouse))
    con.execute("CREATE SCHEMA raw")
    con.execute(
        feed_table_ddl(CALLS).replace('"leg_id" VARCHAR NOT NULL', '"leg_id" VARCHAR PRIMARY KEY')
    )
    con.close()
    landing.jsonl("calls/1.jsonl", [call("L1"), call("L2"), call("L1", queue="later line")])
    landing.jsonl("calls/2.jsonl", [call("L2", queue="newer", emitted_at="2026-10-02T00:00:00Z")])
    report = landing.ingest()
    assert report.ok
    assert landing.query("SELECT leg_id, queue FROM raw.calls ORDER BY 1") == [
        ("L1", "later line"),
        ("L2", "newer"),
    ]
    assert landing.query(
        "SELECT count(*) FROM information_schema.table_constraints "
        "WHERE table_schema = 'raw' AND table_name = 'calls' AND constraint_type = 'PRIMARY KEY'"
    ) == [(1,)]
    assert_reconciled(landing, report)


def test_within_file_winner_is_then_compared_with_the_stored_row(landing):
    landing.jsonl("calls/1.jsonl", [call("L1", queue="stored", emitted_at="2026-10-01T12:00:00Z")])
    landing.ingest()
    landing.jsonl(
        "calls/2.jsonl",
        [
            call("L1", queue="newer", emitted_at="2026-10-01T13:00:00Z"),
            call("L1", queue="older", emitted_at="2026-10-01T11:00:00Z"),
            call("L9"),
        ],
    )
    report = landing.ingest()
    result = report.files[-1]
    assert (result.rows_inserted, result.rows_updated, result.rows_duplicate) == (1, 1, 1)
    assert landing.query("SELECT queue FROM raw.calls WHERE leg_id = 'L1'") == [("newer",)]
    assert_reconciled(landing, report)


# --- quarantine --------------------------------------------------------------------------

GOOD = json.dumps(call("L0"))


@pytest.mark.parametrize(
    "line,reason,key",
    [
        ('{"leg_id": "L1", "call_id": ', "malformed_record", None),
        ("not json at all", "malformed_record", None),
        ("[1, 2, 3]", "not_an_object", None),
        ('"a string"', "not_an_object", None),
        ("null", "not_an_object", None),
        (json.dumps(call("L1", leg_id=None)), "missing_required:leg_id", None),
        (json.dumps(call("L1", leg_id="")), "missing_required:leg_id", None),
        (json.dumps(call("L1", queue="")), "missing_required:queue", "L1"),
        (json.dumps(call("L1", ended_at=None)), "missing_required:ended_at", "L1"),
        (json.dumps(call("L1", arrived_at="yesterday")), "bad_timestamp:arrived_at", "L1"),
        (
            json.dumps(call("L1", arrived_at="2026-10-01T25:00:00Z")),
            "bad_timestamp:arrived_at",
            "L1",
        ),
        (json.dumps(call("L1", arrived_at="epoch")), "bad_timestamp:arrived_at", "L1"),
        (
            json.dumps(call("L1", arrived_at="2026-10-01T24:00:00Z")),
            "bad_timestamp:arrived_at",
            "L1",
        ),
        (
            json.dumps(call("L1", arrived_at="0000-00-00T00:00:00Z")),
            "bad_timestamp:arrived_at",
            "L1",
        ),
        (json.dumps(call("L1", arrived_at="N/A")), "bad_timestamp:arrived_at", "L1"),
        (
            json.dumps(call("L1", emitted_at="2026-02-30T00:00:00Z")),
            "bad_timestamp:emitted_at",
            "L1",
        ),
        (json.dumps(call("L1", talk_seconds="abc")), "not_a_number:talk_seconds", "L1"),
        (json.dumps(call("L1", talk_seconds="NaN")), "not_a_number:talk_seconds", "L1"),
        (json.dumps(call("L1", talk_seconds=-3)), "below_minimum:talk_seconds", "L1"),
        (json.dumps(call("L1", hold_seconds=-0.5)), "below_minimum:hold_seconds", "L1"),
        (json.dumps(call("L1", leg_seq=0)), "below_minimum:leg_seq", "L1"),
        (json.dumps(call("L1", leg_seq=1.5)), "not_an_integer:leg_seq", "L1"),
        (json.dumps(call("L1", leg_seq="one")), "not_an_integer:leg_seq", "L1"),
        (json.dumps(call("L1", disposition="dropped")), "unknown_value:disposition", "L1"),
        (json.dumps(call("L1", direction="Inbound")), "unknown_value:direction", "L1"),
        (
            json.dumps(call("L1", agent_resolution="escalated")),
            "unknown_value:agent_resolution",
            "L1",
        ),
    ],
)
def test_each_quarantine_reason_with_file_line_and_raw_record(landing, line, reason, key):
    landing.text("calls/sub/day.jsonl", f"{GOOD}\n{line}\n{GOOD.replace('L0', 'L2')}\n")
    report = landing.ingest()

    (result,) = report.files
    assert result.status == "loaded"
    assert (result.rows_read, result.rows_inserted, result.rows_quarantined) == (3, 2, 1)
    assert result.quarantine_reasons == {reason: 1}
    assert landing.query(
        "SELECT feed, path, line, record_key, reason, raw_record FROM raw._quarantine"
    ) == [("calls", "calls/sub/day.jsonl", 2, key, reason, line)]
    assert landing.query("SELECT leg_id FROM raw.calls ORDER BY 1") == [("L0",), ("L2",)]
    assert_reconciled(landing, report)


def test_an_array_on_the_first_line_is_a_bad_record_not_an_array_file(landing):
    landing.text("calls/a.jsonl", f"[1, 2]\n{GOOD}\n")
    landing.text("calls/b.jsonl", json.dumps([call("L1"), call("L2")], indent=2) + "\n")
    a, b = landing.ingest().files
    assert (a.status, a.rows_inserted, a.quarantine_reasons) == ("loaded", 1, {"not_an_object": 1})
    assert b.status == "failed" and "JSON array" in b.error


def test_a_row_with_several_problems_gets_the_first_in_contract_order(landing):
    landing.jsonl("calls/a.jsonl", [call("L1", leg_seq=0, arrived_at="bad", disposition="x")])
    landing.ingest()
    assert landing.query("SELECT reason FROM raw._quarantine") == [("below_minimum:leg_seq",)]


def test_integral_numbers_and_strings_are_accepted(landing):
    landing.jsonl(
        "calls/a.jsonl", [call("L1", leg_seq="2", talk_seconds="12.5"), call("L2", leg_seq=3.0)]
    )
    report = landing.ingest()
    assert report.files[0].rows_quarantined == 0
    assert landing.query("SELECT leg_seq, talk_seconds FROM raw.calls ORDER BY 1") == [
        (2, 12.5),
        (3, 250.5),
    ]


@pytest.mark.parametrize(
    "record,reason",
    [
        (ticket("E1", "created", status=None), "missing_required:status"),
        (ticket("E1", "created", channel=None), "missing_required:channel"),
        (ticket("E1", "status_changed", status=None), "missing_required:status"),
        (ticket("E1", "assigned", group=None), "missing_required:group"),
        (ticket("E1", "commented", author_role=None), "missing_required:author_role"),
        (ticket("E1", "commented", is_public=None), "missing_required:is_public"),
        (ticket("E1", "commented", is_public="maybe"), "not_a_boolean:is_public"),
        (ticket("E1", "satisfaction_rated", rating=None), "missing_required:rating"),
        (
            ticket("E1", "merged", merged_into_ticket_id=None),
            "missing_required:merged_into_ticket_id",
        ),
        (ticket("E1", "created", status="escalated"), "unknown_value:status"),
        (ticket("E1", "escalated"), "unknown_value:event_type"),
    ],
)
def test_conditionally_required_fields(landing, record, reason):
    landing.jsonl("tickets/a.jsonl", [record])
    landing.ingest()
    assert landing.query("SELECT line, record_key, reason FROM raw._quarantine") == [
        (1, "E1", reason)
    ]


def test_conditional_fields_are_optional_for_other_event_types(landing):
    landing.jsonl(
        "tickets/a.jsonl",
        [
            ticket("E1", "assigned"),  # no status, channel, rating …
            ticket("E2", "status_changed", group=None),
            ticket("E3", "commented", is_public="no"),
            ticket("E4", "commented", is_public=False),
            ticket("E5", "commented", is_public="TRUE"),
        ],
    )
    report = landing.ingest()
    assert report.files[0].rows_quarantined == 0
    assert landing.query("SELECT event_id, is_public FROM raw.tickets ORDER BY 1") == [
        ("E1", None),
        ("E2", None),
        ("E3", False),
        ("E4", False),
        ("E5", True),
    ]


def test_blank_lines_are_not_records_but_keep_line_numbers(landing):
    text = f"{GOOD}\n\n   \n{json.dumps(call('L1', leg_seq=0))}\n{json.dumps(call('L2'))}\n\n"
    landing.text("calls/a.jsonl", text)
    report = landing.ingest()
    (result,) = report.files
    assert (result.rows_read, result.rows_inserted, result.rows_quarantined) == (3, 2, 1)
    assert landing.query("SELECT line FROM raw._quarantine") == [(4,)]
    assert landing.query("SELECT leg_id, _line FROM raw.calls ORDER BY 1") == [("L0", 1), ("L2", 5)]


def test_line_endings_bom_and_a_missing_final_newline(landing):
    good, bad = json.dumps(call("L1")), json.dumps(call("L2", leg_seq=0))
    landing.text("calls/crlf.jsonl", f"{good}\r\n{bad}\r\n")
    landing.text("calls/bom.jsonl", "\ufeff" + json.dumps(call("L3")) + "\n" + bad)
    landing.text("calls/no-final-newline.jsonl", json.dumps(call("L4")) + "\n" + bad)
    landing.text(
        "calls/crlf.csv",
        "leg_id,call_id,leg_seq,direction,queue,arrived_at,ended_at,"
        "disposition\r\nL5,C5,1,inbound,billing,2026-10-01T09:00:00Z,"
        "2026-10-01T09:05:00Z,handled\r\nL6,C6,0,inbound,billing,2026-10-01T09:00:00Z,"
        "2026-10-01T09:05:00Z,handled",
    )
    report = landing.ingest()
    assert report.ok
    assert [(r.rows_read, r.rows_inserted, r.rows_quarantined) for r in report.files] == [
        (2, 1, 1)
    ] * 4
    assert landing.query("SELECT leg_id FROM raw.calls ORDER BY 1") == [
        ("L1",),
        ("L3",),
        ("L4",),
        ("L5",),
    ]
    assert landing.query("SELECT DISTINCT line, reason FROM raw._quarantine") == [
        (2, "below_minimum:leg_seq")
    ]
    assert (
        landing.query(
            "SELECT raw_record FROM raw._quarantine WHERE path LIKE '%.jsonl' ORDER BY path"
        )
        == [(bad,)] * 3
    )


def test_a_csv_with_only_a_header_is_an_empty_batch(landing):
    landing.csv("calls/a.csv", [])
    (result,) = landing.ingest().files
    assert (result.status, result.rows_read) == ("loaded", 0)


def test_csv_malformed_rows_are_quarantined_with_their_record_number(landing):
    header = "leg_id,call_id,leg_seq,direction,queue,arrived_at,ended_at,disposition,extra_column"
    rows = [
        "L1,C1,1,inbound,billing,2026-10-01T09:00:00Z,2026-10-01T09:05:00Z,handled,x",
        "L2,C2,1,inbound,billing,2026-10-01T09:00:00Z,2026-10-01T09:05:00Z,handled",  # short
        'L3,C3,1,inbound,"multi\nline queue",2026-10-01T09:00:00Z,2026-10-01T09:05:00Z,handled,x',
        "L4,C4,1,inbound,billing,2026-10-01T09:00:00Z,2026-10-01T09:05:00Z,handled,x,y",  # long
        "L5,C5,0,inbound,billing,2026-10-01T09:00:00Z,2026-10-01T09:05:00Z,handled,x",  # leg_seq
        "L6,C6,1,inbound,billing,2026-10-01T09:00:00Z,2026-10-01T09:05:00Z,handled,x",
    ]
    landing.text("calls/a.csv", header + "\n" + "\n".join(rows) + "\n")
    report = landing.ingest()
    (result,) = report.files
    assert (result.rows_read, result.rows_inserted, result.rows_quarantined) == (6, 3, 3)
    quarantined = landing.query(
        "SELECT line, record_key, reason, raw_record FROM raw._quarantine ORDER BY line"
    )
    assert [(line, key, reason) for line, key, reason, _ in quarantined] == [
        (2, None, "malformed_record"),
        (4, None, "malformed_record"),
        (5, "L5", "below_minimum:leg_seq"),
    ]
    assert quarantined[0][3] == rows[1] and quarantined[1][3] == rows[3]
    assert json.loads(quarantined[2][3])["leg_seq"] == "0"
    assert landing.query("SELECT leg_id, queue, _line FROM raw.calls ORDER BY 1") == [
        ("L1", "billing", 1),
        ("L3", "multi\nline queue", 3),
        ("L6", "billing", 6),
    ]
    assert_reconciled(landing, report)


def test_csv_extra_columns_are_ignored_and_optional_columns_may_be_absent(landing):
    landing.csv(
        "calls/a.csv",
        [dict(call("L1"), shoe_size="42")],
        header=[
            "shoe_size",
            "leg_id",
            "call_id",
            "leg_seq",
            "direction",
            "queue",
            "arrived_at",
            "ended_at",
            "disposition",
        ],
    )
    report = landing.ingest()
    assert report.ok and report.files[0].rows_inserted == 1
    assert landing.query("SELECT leg_id, talk_seconds, emitted_at FROM raw.calls") == [
        ("L1", None, None)
    ]


def test_parquet_bad_values_are_quarantined_with_row_number(landing):
    landing.parquet("calls/a.parquet", [call("L1"), call("L2", talk_seconds="-1"), call("L3")])
    landing.ingest()
    ((line, key, reason, raw),) = landing.query(
        "SELECT line, record_key, reason, raw_record FROM raw._quarantine"
    )
    assert (line, key, reason) == (2, "L2", "below_minimum:talk_seconds")
    assert json.loads(raw)["talk_seconds"] == "-1"


def test_typed_parquet_columns_are_validated_without_text_and_like_text(tmp_path):
    # typed columns skip the text round trip (ingest.validate.native_expr): naive timestamps
    # still read in the feed's zone, a non-finite number is still bad, and the quarantined
    # row's raw record still holds text
    import pyarrow as pa
    import pyarrow.parquet as pq

    landing = Landing(tmp_path, feed_timezones={"calls": "America/New_York"})
    records = [
        call("L1", contact_reason=""),  # an empty string is null, typed file or not
        call("L2", talk_seconds=float("nan")),
        call("L3", leg_seq=2, contact_reason="billing"),
    ]
    columns = {name: [r.get(name) for r in records] for name in records[0]}
    naive = pa.timestamp("us")
    table = pa.table(
        {
            "leg_id": pa.array(columns["leg_id"]),
            "call_id": pa.array(columns["call_id"]),
            "leg_seq": pa.array(columns["leg_seq"], pa.int32()),
            "direction": pa.array(columns["direction"]),
            "customer_id": pa.array(columns["customer_id"]),
            "queue": pa.array(columns["queue"]),
            "agent_id": pa.array(columns["agent_id"]),
            "arrived_at": pa.array([datetime(2026, 10, 1, 9, 0)] * 3, naive),
            "answered_at": pa.array([datetime(2026, 10, 1, 9, 0, 30)] * 3, naive),
            "ended_at": pa.array([datetime(2026, 10, 1, 9, 5, 0, 250000)] * 3, naive),
            "talk_seconds": pa.array(columns["talk_seconds"], pa.float32()),
            "hold_seconds": pa.array(columns["hold_seconds"], pa.int64()),
            "disposition": pa.array(columns["disposition"]),
            "contact_reason": pa.array(columns["contact_reason"]),
        }
    )
    pq.write_table(table, landing._path("calls/a.parquet"))
    (result,) = landing.ingest().files
    assert (result.rows_inserted, result.rows_quarantined) == (2, 1)
    assert landing.query("SELECT leg_id, contact_reason FROM raw.calls ORDER BY 1") == [
        ("L1", None),
        ("L3", "billing"),
    ]
    assert landing.query(
        "SELECT leg_id, leg_seq, arrived_at, ended_at, talk_seconds, hold_seconds "
        "FROM raw.calls ORDER BY 1"
    ) == [
        ("L1", 1, datetime(2026, 10, 1, 13, 0), datetime(2026, 10, 1, 13, 5, 0, 250000), 250.5, 10),
        ("L3", 2, datetime(2026, 10, 1, 13, 0), datetime(2026, 10, 1, 13, 5, 0, 250000), 250.5, 10),
    ]
    ((reason, raw),) = landing.query("SELECT reason, raw_record FROM raw._quarantine")
    assert reason == "not_a_number:talk_seconds"
    record = json.loads(raw)
    assert (record["talk_seconds"], record["leg_seq"]) == ("nan", "1")
    assert record["arrived_at"] == "2026-10-01 09:00:00"


# --- time zones --------------------------------------------------------------------------


def test_naive_timestamps_use_the_feed_time_zone_and_offsets_are_honoured(tmp_path):
    landing = Landing(
        tmp_path,
        feed_timezones={"calls": "America/New_York", "tickets": "Europe/Berlin", "crm": "UTC"},
    )
    landing.jsonl(
        "calls/a.jsonl",
        [
            call("NAIVE", arrived_at="2026-10-01T09:00:00", ended_at="2026-10-01 09:05:00.250"),
            call("ZULU", arrived_at="2026-10-01T09:00:00Z", ended_at="2026-10-01T09:05:00+00:00"),
            call(
                "OFFSET",
                arrived_at="2026-10-01T09:00:00+02:00",
                ended_at="2026-10-01T09:05:00-0500",
            ),
            call("WINTER", arrived_at="2026-12-01T09:00:00", ended_at="2026-12-01T09:05:00"),
        ],
    )
    landing.csv("tickets/a.csv", [ticket("E1", occurred_at="2026-10-01 09:00:00")])
    landing.csv(
        "crm/a.csv",
        [
            {
                "event_id": "X1",
                "customer_id": "CU1",
                "event_type": "customer_created",
                "occurred_at": "2026-10-01T09:00:00",
            }
        ],
    )
    assert landing.ingest().ok
    assert landing.query("SELECT leg_id, arrived_at, ended_at FROM raw.calls ORDER BY 1") == [
        ("NAIVE", datetime(2026, 10, 1, 13, 0), datetime(2026, 10, 1, 13, 5, 0, 250000)),
        ("OFFSET", datetime(2026, 10, 1, 7, 0), datetime(2026, 10, 1, 14, 5)),
        ("WINTER", datetime(2026, 12, 1, 14, 0), datetime(2026, 12, 1, 14, 5)),
        ("ZULU", datetime(2026, 10, 1, 9, 0), datetime(2026, 10, 1, 9, 5)),
    ]
    assert landing.query("SELECT occurred_at FROM raw.tickets") == [(datetime(2026, 10, 1, 7, 0),)]
    assert landing.query("SELECT occurred_at FROM raw.crm") == [(datetime(2026, 10, 1, 9, 0),)]


# --- discovery ---------------------------------------------------------------------------


def test_tmp_dot_and_underscore_files_are_never_read(landing, caplog):
    landing.jsonl("calls/2026/10/good.jsonl", [call("L1")])
    garbage = "this would fail if it were read\n"
    for relpath in [
        "calls/2026/10/good.jsonl.tmp",
        "calls/.partial.jsonl",
        "calls/_parked.jsonl",
        "calls/_rejected/old.jsonl",
        "calls/.staging/x.jsonl",
        "calls/2026/.hidden/y.csv",
        "calls/notes.txt",
        "calls/data.json",
    ]:
        landing.text(relpath, garbage)
    with caplog.at_level(logging.WARNING, logger="ingest"):
        report = landing.ingest()
    assert report.ok
    assert [r.path for r in report.files] == ["calls/2026/10/good.jsonl"]
    assert landing.query("SELECT path FROM raw._files") == [("calls/2026/10/good.jsonl",)]
    warned = " ".join(r.getMessage() for r in caplog.records)
    assert "calls/notes.txt" in warned and "calls/data.json" in warned
    assert "partial" not in warned and "parked" not in warned


def test_files_are_processed_in_sorted_relative_path_order(landing):
    for day in ("2026-10-10", "2026-10-02", "2026-09-30"):
        landing.jsonl(f"calls/{day[:7]}/calls_{day}.jsonl", [call(f"L{day}")])
    report = landing.ingest()
    assert [r.path for r in report.files] == sorted(r.path for r in report.files)
    assert landing.query("SELECT path FROM raw._files ORDER BY file_id") == [
        (r.path,) for r in report.files
    ]


def test_feeds_argument_limits_the_run(landing):
    landing.jsonl("calls/a.jsonl", [call("L1")])
    landing.jsonl("tickets/a.jsonl", [ticket("E1")])
    report = landing.ingest(["tickets"])
    assert [r.feed for r in report.files] == ["tickets"]
    assert (
        report.totals("tickets")["rows_inserted"] == 1 and report.totals("calls")["rows_read"] == 0
    )
    with pytest.raises(ValueError, match="unknown feed"):
        landing.ingest(["phone"])


# --- whole-file failures -----------------------------------------------------------------


def test_a_broken_file_fails_alone_with_a_clear_error(landing, caplog):
    landing.jsonl("calls/1-good.jsonl", [call("L1")])
    landing.text("calls/2-empty.jsonl", "")
    landing.text("calls/3-blank.jsonl", "\n  \n")
    landing.text("calls/4-array.jsonl", json.dumps([call("L2"), call("L3")]))
    landing.text(
        "calls/5-latin1.jsonl", GOOD.replace("billing", "caf\xe9").encode("latin-1") + b"\n"
    )
    (landing.dir / "calls/6-truncated.jsonl.gz").write_bytes(
        __import__("gzip").compress((GOOD + "\n").encode() * 50)[:60]
    )
    landing.text("calls/7-not-gzip.jsonl.gz", "")
    (landing.dir / "calls/7-not-gzip.jsonl.gz").write_bytes(b"plain text, not gzip\n")
    landing.text("calls/8-no-key.csv", "call_id,queue\nC1,billing\n")
    landing.text("calls/9-garbage.parquet", "PAR1 not really parquet")
    landing.text("calls/a-pretty.jsonl", json.dumps(call("L4"), indent=2) + "\n")
    landing.text(
        "calls/a2-latin1.csv",
        "leg_id,call_id,leg_seq,direction,queue,arrived_at,ended_at,disposition\n"
        "L9,C9,1,inbound,caf\xe9,2026-10-01T09:00:00Z,2026-10-01T09:05:00Z,handled\n".encode(
            "latin-1"
        ),
    )
    landing.jsonl("calls/b-good.jsonl", [call("L5")])
    landing.csv("tickets/c-good.csv", [ticket("E1")])

    with caplog.at_level(logging.ERROR, logger="ingest"):
        report = landing.ingest()

    assert not report.ok
    status = {r.path.split("/")[1]: (r.status, r.error) for r in report.files}
    assert status["1-good.jsonl"] == ("loaded", None)
    assert status["b-good.jsonl"] == ("loaded", None)
    assert status["c-good.csv"] == ("loaded", None)
    expected_errors = {
        "2-empty.jsonl": "empty",
        "3-blank.jsonl": "no records",
        "4-array.jsonl": "JSON array",
        "5-latin1.jsonl": "UTF-8",
        "6-truncated.jsonl.gz": "truncated",
        "7-not-gzip.jsonl.gz": "gzip",
        "8-no-key.csv": "lacks required column(s) leg_id",
        "9-garbage.parquet": "Parquet",
        "a-pretty.jsonl": "no line is a JSON object",
        "a2-latin1.csv": "UTF-8",
    }
    for name, fragment in expected_errors.items():
        state, error = status[name]
        assert state == "failed", name
        assert fragment in error, (name, error)
    assert landing.query("SELECT leg_id FROM raw.calls ORDER BY 1") == [("L1",), ("L5",)]
    assert landing.query("SELECT count(*) FROM raw._files WHERE status = 'failed'") == [(10,)]
    assert landing.query("SELECT count(*) FROM raw._quarantine") == [(0,)]
    assert all(name in caplog.text for name in expected_errors)

    # failed files are retried on the next run, reusing their manifest row
    again = landing.ingest()
    assert sorted(r.status for r in again.files) == ["failed"] * 10 + ["skipped"] * 3
    assert landing.query("SELECT count(*) FROM raw._files") == [(13,)]


def test_a_fixed_file_loads_under_its_failed_manifest_row(landing):
    landing.text("calls/a.jsonl", "")
    (failed,) = landing.ingest().files
    landing.jsonl("calls/a.jsonl", [call("L1")])
    (loaded,) = landing.ingest().files
    assert loaded.status == "loaded" and loaded.file_id == failed.file_id
    assert landing.query("SELECT file_id, status, error FROM raw._files") == [
        (failed.file_id, "loaded", None)
    ]


# --- report and logs ---------------------------------------------------------------------


def test_report_totals_and_log_line(landing, caplog):
    landing.jsonl(
        "calls/2026/10/calls_2026-10-01.jsonl",
        [call("L1"), call("L1"), "{bad", call("L2", arrived_at="x")],
    )
    landing.jsonl("tickets/a.jsonl", [ticket("E1")])
    with caplog.at_level(logging.INFO, logger="ingest"):
        report = landing.ingest()
    assert report.totals() == {
        "rows_read": 5,
        "rows_inserted": 2,
        "rows_updated": 0,
        "rows_duplicate": 1,
        "rows_quarantined": 2,
        "files_loaded": 2,
        "files_skipped": 0,
        "files_failed": 0,
        "files_changed": 0,
        "files_refused": 0,
    }
    assert report.totals("calls")["rows_read"] == 4
    assert report.changed_feeds == ["calls", "tickets"]
    assert report.quarantine_reasons() == {"malformed_record": 1, "bad_timestamp:arrived_at": 1}
    assert (
        "calls/2026/10/calls_2026-10-01.jsonl: 4 read, 1 inserted, 0 updated, 1 duplicates, "
        "2 quarantined (1 bad_timestamp:arrived_at, 1 malformed_record)"
    ) in caplog.text
    caplog.clear()
    with caplog.at_level(logging.INFO, logger="ingest"):
        landing.ingest()
    assert "2 file(s) already loaded, skipped" in caplog.text


def test_manifest_records_the_file(landing):
    path = landing.jsonl(
        "calls/a.jsonl", [call("L1", arrived_at="2026-10-02T09:00:00Z"), call("L2")]
    )
    landing.ingest()
    ((feed, relpath, size, sha, fmt, status, read, min_at, max_at, started, finished),) = (
        landing.query(
            "SELECT feed, path, size_bytes, sha256, format, status, rows_read, min_event_at, "
            "max_event_at, started_at, finished_at FROM raw._files"
        )
    )
    import hashlib

    assert (feed, relpath, size, fmt, status, read) == (
        "calls",
        "calls/a.jsonl",
        path.stat().st_size,
        "jsonl",
        "loaded",
        2,
    )
    assert sha == hashlib.sha256(path.read_bytes()).hexdigest()
    assert (min_at, max_at) == (datetime(2026, 10, 1, 9), datetime(2026, 10, 2, 9))
    assert started <= finished


def test_connect_applies_resource_settings(tmp_path):
    from beacon.config import BeaconConfig
    from ingest.warehouse import connect

    config = BeaconConfig(
        warehouse_path=tmp_path / "deep" / "w.duckdb", duckdb_threads=1, duckdb_memory_limit="512MB"
    )
    con = connect(config.warehouse_path, config=config)
    try:
        threads, memory = con.execute(
            "SELECT current_setting('threads'), current_setting('memory_limit')"
        ).fetchone()
    finally:
        con.close()
    assert threads == 1 and memory.replace(" ", "").startswith(("488.2MiB", "512.0MB", "512MB"))
    ro = connect(config.warehouse_path, read_only=True)
    ro.close()


def test_a_checkpoint_waits_while_another_cursor_writes(tmp_path):
    # ingest checkpoints after each feed while its staging thread may be recording a failed
    # file in a transaction of its own: DuckDB refuses that checkpoint; it is deferred, and
    # nothing committed is lost
    from ingest.load import checkpoint

    con = duckdb.connect(str(tmp_path / "w.duckdb"))
    try:
        con.execute("CREATE TABLE t (i INTEGER)")
        con.execute("CREATE SEQUENCE s")
        con.execute("INSERT INTO t VALUES (1)")
        other = con.cursor()
        other.execute("BEGIN")  # as a failed file's manifest row: a new file_id, a row
        other.execute("INSERT INTO t VALUES (nextval('s') + 1)")
        assert checkpoint(con) is False
        other.execute("COMMIT")
        assert checkpoint(con) is True
        assert con.execute("SELECT sum(i) FROM t").fetchone() == (3,)
    finally:
        con.close()


def test_ingest_leaves_every_commit_in_the_database_file(tmp_path):
    # closing ingest's connection (after its staging cursor and Great Expectations' cursors)
    # checkpoints: what it loaded is in the file itself, with no write-ahead log left to
    # replay, so a copy or backup of the file alone is complete
    from beacon.config import QualityConfig

    landing = Landing(tmp_path, quality=QualityConfig(gates=True))
    landing.jsonl("calls/a.jsonl", [call("L1"), call("L2")])
    landing.jsonl("tickets/b.jsonl", [ticket("E1", "created")])
    report = landing.ingest()

    assert report.ok and [r.status for r in report.files] == ["loaded", "loaded"]
    assert not landing.warehouse.with_name(landing.warehouse.name + ".wal").exists()
    assert landing.query("SELECT count(*) FROM raw.calls") == [(2,)]
