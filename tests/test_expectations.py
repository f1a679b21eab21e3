"""Quality gates (issue #4): the GX-on-DuckDB fix, the feed suites and the batch runner.

Real DuckDB files, small hand-written batches. Each critical expectation is shown to catch
its fault, and the keys it returns are exactly the bad rows.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from pathlib import Path

import duckdb
import pytest

from beacon.config import BeaconConfig
from expectations import RESULTS_TABLE, QualitySettings, build_suite, validate_batch
from expectations.gx_duckdb import apply_duckdb_fix, remove_duckdb_fix
from ingest.contracts import DUCKDB_TYPES, contract_for

NOW = datetime(2026, 11, 24, 12, 0, 0)
T0 = datetime(2026, 11, 23, 9, 0, 0)


def _at(minutes: float) -> datetime:
    return T0 + timedelta(minutes=minutes)


def make_batch(path: Path, feed: str, rows: list[dict], table: str = "batch") -> Path:
    """A DuckDB file with ``main.<table>`` typed from the feed's contract."""
    contract = contract_for(feed)
    con = duckdb.connect(str(path))
    try:
        columns = ", ".join(f'"{f.name}" {DUCKDB_TYPES[f.type]}' for f in contract.fields)
        con.execute(f'CREATE OR REPLACE TABLE "{table}" ({columns})')
        names = ", ".join(f'"{n}"' for n in contract.names)
        marks = ", ".join("?" for _ in contract.names)
        for row in rows:
            unknown = set(row) - set(contract.names)
            assert not unknown, unknown
            con.execute(
                f'INSERT INTO "{table}" ({names}) VALUES ({marks})',
                [row.get(n) for n in contract.names],
            )
    finally:
        con.close()
    return path


def call(leg_id: str, **overrides) -> dict:
    """A clean, answered inbound leg; ``overrides`` inject one fault."""
    row = {
        "leg_id": leg_id,
        "call_id": f"c-{leg_id}",
        "leg_seq": 1,
        "direction": "inbound",
        "customer_id": f"cust-{leg_id}",
        "phone_number": "+442079460000",
        "queue": "billing",
        "agent_id": "a1",
        "arrived_at": _at(0),
        "queued_at": _at(1),
        "answered_at": _at(2),
        "ended_at": _at(10),
        "talk_seconds": 420.0,
        "hold_seconds": 30.0,
        "acw_seconds": 60.0,
        "disposition": "handled",
        "contact_reason": "billing_question",
        "emitted_at": _at(12),
    }
    row.update(overrides)
    return row


def ticket(event_id: str, **overrides) -> dict:
    row = {
        "event_id": event_id,
        "ticket_id": f"t-{event_id}",
        "event_type": "created",
        "occurred_at": _at(0),
        "channel": "email",
        "customer_id": "cust-1",
        "status": "new",
        "priority": "normal",
        "emitted_at": _at(1),
    }
    row.update(overrides)
    return row


def crm_event(event_id: str, **overrides) -> dict:
    row = {
        "event_id": event_id,
        "customer_id": f"cust-{event_id}",
        "event_type": "subscription_started",
        "occurred_at": _at(0),
        "segment": "smb",
        "mrr": 49.0,
        "amount": 49.0,
        "currency": "GBP",
        "emitted_at": _at(1),
    }
    row.update(overrides)
    return row


def results_rows(path: Path) -> list[tuple]:
    con = duckdb.connect(str(path), read_only=True)
    try:
        return con.execute(
            f"SELECT batch_id, feed, suite, expectation, severity, passed, failing_keys "
            f"FROM {RESULTS_TABLE} ORDER BY validated_at, expectation"
        ).fetchall()
    finally:
        con.close()


# --- the GX-on-DuckDB fix -------------------------------------------------------------------


def _plain_gx_not_null(path: Path):
    """One expectation through plain GX (no Beacon runner) on ``main.batch``."""
    import great_expectations as gx
    import great_expectations.expectations as gxe

    context = gx.get_context(mode="ephemeral")
    datasource = context.data_sources.add_sql("w", connection_string=f"duckdb:///{path}")
    batch = datasource.add_table_asset("b", table_name="batch")
    result = (
        batch.add_batch_definition_whole_table("all")
        .get_batch()
        .validate(gxe.ExpectColumnValuesToNotBeNull(column="leg_id"))
    )
    datasource.get_execution_engine().close()
    return result


def test_gx_on_duckdb_fails_without_the_fix_and_works_with_it(tmp_path):
    """GX issues #10738/#11579. If this starts failing on the first assert, GX fixed it
    upstream: drop ``expectations/gx_duckdb.py``."""
    path = make_batch(tmp_path / "w.duckdb", "calls", [call("a"), call("b")])
    apply_duckdb_fix()
    remove_duckdb_fix()
    try:
        broken = _plain_gx_not_null(path)
        assert not broken.success
        assert "list index out of range" in str(broken.exception_info)
    finally:
        apply_duckdb_fix()
    fixed = _plain_gx_not_null(path)
    assert fixed.success, fixed.exception_info
    assert fixed.result["element_count"] == 2


def test_the_fix_is_idempotent():
    from great_expectations.execution_engine.sqlalchemy_execution_engine import (
        SqlAlchemyExecutionEngine,
    )

    apply_duckdb_fix()
    patched = SqlAlchemyExecutionEngine.execute_query
    assert apply_duckdb_fix() is False
    assert SqlAlchemyExecutionEngine.execute_query is patched


# --- suites --------------------------------------------------------------------------------


@pytest.mark.parametrize("feed", ["calls", "tickets", "crm"])
def test_every_expectation_has_a_severity_and_a_unique_name(feed):
    suite = build_suite(feed, now=NOW)
    names = [e.meta["name"] for e in suite.expectations]
    assert len(names) == len(set(names))
    assert {e.meta["severity"] for e in suite.expectations} <= {"critical", "warning"}
    assert f"unique:{contract_for(feed).key}" in names
    # required fields, enums and the contract's columns all come from ingest/contracts.py
    contract = contract_for(feed)
    for f in contract.fields:
        if f.required:
            assert f"not_null:{f.name}" in names
        if f.enum:
            assert f"in_set:{f.name}" in names


def test_enum_values_come_from_the_contract_and_accepted_values():
    config = BeaconConfig(accepted_values={"calls.disposition": ("dropped",)})
    suite = build_suite("calls", now=NOW, accepted_values=config.accepted_values)
    (disposition,) = [e for e in suite.expectations if e.meta["name"] == "in_set:disposition"]
    assert set(disposition.value_set) == set(contract_for("calls").field("disposition").enum) | {
        "dropped"
    }


# --- the runner: each critical expectation catches its fault --------------------------------

CALL_FAULTS: dict[str, list[dict]] = {
    "not_null:direction": [call("n1", direction=None)],
    "not_null:queue": [call("n2", queue=None)],
    "in_set:direction": [call("e1", direction="sideways")],
    "in_set:disposition": [call("e2", disposition="dropped"), call("e3", disposition="lost")],
    "in_set:agent_resolution": [call("e4", agent_resolution="maybe")],
    "minimum:leg_seq": [call("s1", leg_seq=0)],
    "duration:talk_seconds": [call("d1", talk_seconds=-1.0), call("d2", talk_seconds=90000.0)],
    "duration:acw_seconds": [call("d3", acw_seconds=-5.0)],
    "order:queued_at>=arrived_at": [call("o1", queued_at=_at(-1), answered_at=_at(2))],
    "order:answered_at>=queued_at": [call("o2", answered_at=_at(0.5))],
    "order:ended_at>=answered_at": [call("o3", ended_at=_at(1.5), emitted_at=_at(12))],
    "order:emitted_at>=ended_at": [call("o4", emitted_at=_at(9))],
    "not_future:arrived_at": [
        call(
            "f1",
            arrived_at=NOW + timedelta(hours=1),
            queued_at=None,
            answered_at=None,
            ended_at=NOW + timedelta(hours=2),
            emitted_at=None,
            disposition="abandoned",
        )
    ],
}


def test_each_critical_calls_expectation_returns_exactly_its_bad_rows(tmp_path):
    clean = [call(f"ok{i}") for i in range(5)]
    # a leg that never queued (queued_at NULL) is not an order fault
    clean.append(call("ok-direct", queued_at=None))
    bad = [row for rows in CALL_FAULTS.values() for row in rows]
    path = make_batch(tmp_path / "w.duckdb", "calls", clean + bad)

    v = validate_batch(path, "calls", "batch", batch_id=7, now=NOW)

    assert not v.passed
    failing = v.failing_keys
    # the future leg also ends in the future: both of its timestamps fail
    expected = {
        name: tuple(sorted(r["leg_id"] for r in rows)) for name, rows in CALL_FAULTS.items()
    }
    expected["not_future:ended_at"] = ("f1",)
    assert failing == expected
    assert {o.expectation for o in v.critical_failures} == set(expected)
    for o in v.critical_failures:
        assert o.unexpected_count == len(expected[o.expectation])


def test_duplicate_keys_fail_the_batch_level_uniqueness_check(tmp_path):
    path = make_batch(tmp_path / "w.duckdb", "calls", [call("a"), call("a"), call("b")])
    v = validate_batch(path, "calls", "batch", now=NOW, persist=False)
    assert [o.expectation for o in v.critical_failures] == ["unique:leg_id"]
    (unique,) = v.critical_failures
    assert unique.observed_value == pytest.approx(2 / 3)
    assert unique.failing_keys is None  # a batch-level check lists no rows


def test_the_maximum_duration_and_future_tolerance_are_configurable(tmp_path):
    rows = [call("long", talk_seconds=7200.0), call("soon", emitted_at=NOW + timedelta(minutes=3))]
    path = make_batch(tmp_path / "w.duckdb", "calls", rows)
    default = validate_batch(path, "calls", "batch", now=NOW, persist=False)
    assert default.passed, default.summary()
    strict = validate_batch(
        path,
        "calls",
        "batch",
        now=NOW,
        persist=False,
        settings=QualitySettings(max_duration_seconds=3600, future_tolerance_seconds=60),
    )
    assert strict.failing_keys == {
        "duration:talk_seconds": ("long",),
        "not_future:emitted_at": ("soon",),
    }


def test_tickets_faults(tmp_path):
    faults = {
        "not_null:occurred_at": [ticket("t1", occurred_at=None)],
        "in_set:event_type": [ticket("t2", event_type="reopened")],
        "in_set:status": [ticket("t3", status="escalated")],
        "in_set:priority": [ticket("t4", priority="p1")],
        "order:emitted_at>=occurred_at": [ticket("t5", emitted_at=_at(-10))],
    }
    clean = [ticket("ok1"), ticket("ok2", event_type="commented", status=None, emitted_at=None)]
    path = make_batch(
        tmp_path / "w.duckdb", "tickets", clean + [r for rs in faults.values() for r in rs]
    )
    v = validate_batch(path, "tickets", "batch", now=NOW, persist=False)
    assert v.failing_keys == {n: tuple(r["event_id"] for r in rs) for n, rs in faults.items()}


def test_crm_faults_and_accepted_values(tmp_path):
    faults = {
        "not_null:customer_id": [crm_event("c1", customer_id=None)],
        "in_set:event_type": [crm_event("c2", event_type="churned")],
        "minimum:mrr": [crm_event("c3", mrr=-1.0)],
        "not_future:occurred_at": [crm_event("c4", occurred_at=NOW + timedelta(days=1))],
    }
    rows = [crm_event("ok1"), crm_event("ok2", amount=-20.0, event_type="refund_issued")]
    path = make_batch(
        tmp_path / "w.duckdb", "crm", rows + [r for rs in faults.values() for r in rs]
    )
    v = validate_batch(path, "crm", "batch", now=NOW, persist=False)
    # c4 occurred in the future but was emitted before: the order check sees it too
    assert v.failing_keys == {
        **{n: tuple(r["event_id"] for r in rs) for n, rs in faults.items()},
        "order:emitted_at>=occurred_at": ("c4",),
    }
    config = BeaconConfig(accepted_values={"crm.event_type": ("churned",)})
    accepted = validate_batch(path, "crm", "batch", now=NOW, persist=False, config=config)
    assert "in_set:event_type" not in accepted.failing_keys


def test_warnings_are_reported_but_do_not_fail_the_batch(tmp_path):
    rows = [
        call(f"w{i}", customer_id=None, phone_number=None, contact_reason=None) for i in range(4)
    ]
    rows.append(call("known"))
    path = make_batch(tmp_path / "w.duckdb", "calls", rows)
    v = validate_batch(path, "calls", "batch", now=NOW)
    assert v.passed, v.summary()
    assert {o.expectation for o in v.warnings} == {
        "unidentified_share",
        "null_share:contact_reason",
    }
    assert all(o.failing_keys is None for o in v.warnings)
    assert "quality passed" in v.summary() and "unidentified_share" in v.summary()


def test_a_broken_schema_fails_the_batch(tmp_path):
    path = tmp_path / "w.duckdb"
    con = duckdb.connect(str(path))
    con.execute("CREATE TABLE batch AS SELECT 'a' AS leg_id, 'c' AS call_id")
    con.close()
    v = validate_batch(path, "calls", "batch", now=NOW)
    failed = {o.expectation for o in v.critical_failures}
    assert "columns" in failed
    assert "not_null:direction" in failed  # errors on a missing column count as failures
    errored = [o for o in v.outcomes if o.error]
    assert errored and all(not o.passed for o in errored)


def test_every_outcome_is_persisted_and_runs_append(tmp_path):
    path = make_batch(tmp_path / "w.duckdb", "calls", [call("a"), call("b", direction="x")])
    first = validate_batch(path, "calls", "batch", batch_id=41, now=NOW)
    validate_batch(path, "calls", "batch", batch_id=42, now=NOW + timedelta(minutes=1))
    rows = results_rows(path)
    assert len(rows) == 2 * len(first.outcomes)
    assert {r[0] for r in rows} == {"41", "42"}
    by_name = {r[3]: r for r in rows if r[0] == "41"}
    assert by_name["in_set:direction"][1:] == (
        "calls",
        "calls",
        "in_set:direction",
        "critical",
        False,
        1,
    )
    assert by_name["unidentified_share"][4:6] == ("warning", True)
    # the file is released: a plain DuckDB connection can open it read-write again
    duckdb.connect(str(path)).close()


def test_data_docs_are_written(tmp_path):
    path = make_batch(tmp_path / "w.duckdb", "calls", [call("a"), call("b", leg_seq=0)])
    docs = tmp_path / "quality" / "data_docs"
    v = validate_batch(path, "calls", "batch", now=NOW, data_docs_dir=docs)
    assert v.data_docs == docs / "index.html"
    assert v.data_docs.is_file()
    assert v.failing_keys == {"minimum:leg_seq": ("b",)}
    pages = list((docs / "validations").rglob("*.html"))
    assert pages, "one validation page per run"
    assert "calls" in v.data_docs.read_text()


def test_only_plain_table_names_in_main_are_accepted(tmp_path):
    path = make_batch(tmp_path / "w.duckdb", "calls", [call("a")])
    with pytest.raises(ValueError, match="identifier"):
        validate_batch(path, "calls", "raw.calls", now=NOW)
    with pytest.raises(ValueError, match="unknown feed"):
        validate_batch(path, "voice", "batch", now=NOW)


def test_freshness_warns_when_the_newest_event_lags_the_run(tmp_path):
    path = make_batch(tmp_path / "w.duckdb", "calls", [call("a"), call("b")])
    fresh = validate_batch(path, "calls", "batch", now=NOW, persist=False)
    assert "freshness" not in {o.expectation for o in fresh.warnings}
    stale = validate_batch(path, "calls", "batch", now=NOW + timedelta(days=3), persist=False)
    assert stale.passed
    assert "freshness" in {o.expectation for o in stale.warnings}


def test_volume_is_compared_with_the_same_weekday_of_the_trailing_four_weeks(tmp_path):
    path = tmp_path / "w.duckdb"
    con = duckdb.connect(str(path))
    con.execute("CREATE SCHEMA raw")
    # history: 10 legs on each of the four previous same weekdays, 100 on other days
    con.execute(
        "CREATE TABLE raw.calls AS SELECT $t0::TIMESTAMP - to_days(7 * w) AS arrived_at "
        "FROM range(1, 5) AS a(w), range(10) AS b(i) "
        "UNION ALL SELECT $t0::TIMESTAMP - to_days(3) FROM range(100)",
        {"t0": T0},
    )
    con.close()
    volume = {"volume"}

    make_batch(path, "calls", [call(f"n{i}") for i in range(10)])
    usual = validate_batch(path, "calls", "batch", now=NOW, persist=False)
    assert "volume" in {o.expectation for o in usual.outcomes}
    assert not volume & {o.expectation for o in usual.warnings}

    make_batch(path, "calls", [call(f"n{i}") for i in range(4)])  # 4 < 0.5 × 10
    low = validate_batch(path, "calls", "batch", now=NOW, persist=False)
    assert low.passed and volume <= {o.expectation for o in low.warnings}

    make_batch(path, "calls", [call(f"n{i}") for i in range(21)])  # 21 > 2 × 10
    high = validate_batch(path, "calls", "batch", now=NOW, persist=False)
    assert high.passed and volume <= {o.expectation for o in high.warnings}


def test_without_history_there_is_no_volume_check(tmp_path):
    path = make_batch(tmp_path / "w.duckdb", "calls", [call("a")])
    v = validate_batch(path, "calls", "batch", now=NOW, persist=False)
    assert "volume" not in {o.expectation for o in v.outcomes}


def test_an_open_connection_can_be_validated_on(tmp_path):
    """Ingest holds the file with its own settings; GX then works on cursors of it."""
    path = make_batch(tmp_path / "w.duckdb", "calls", [call("a"), call("b", leg_seq=0)])
    con = duckdb.connect(str(path), config={"threads": 1})
    try:
        v = validate_batch(con, "calls", "batch", batch_id="in-process", now=NOW)
        assert v.failing_keys == {"minimum:leg_seq": ("b",)}
        # the caller's connection is still open, and sees the persisted results
        rows = con.execute(
            f"SELECT count(*) FROM {RESULTS_TABLE} WHERE batch_id = 'in-process'"
        ).fetchall()
        assert rows == [(len(v.outcomes),)]
    finally:
        con.close()


def test_data_docs_by_default_go_beside_the_warehouse(tmp_path):
    path = make_batch(tmp_path / "w.duckdb", "calls", [call("a")])
    v = validate_batch(path, "calls", "batch", batch_id=12, now=NOW, data_docs_dir=True)
    assert v.data_docs == tmp_path / "quality" / "data_docs" / "calls" / "12" / "index.html"
    assert v.data_docs.is_file()


def test_the_default_docs_folder_stays_under_the_warehouse_dir(tmp_path):
    from expectations import default_data_docs_dir

    base = tmp_path / "quality" / "data_docs" / "calls"
    assert default_data_docs_dir(tmp_path / "w.duckdb", "calls", "../../x", NOW) == base / "_.._x"
    assert (
        default_data_docs_dir(tmp_path / "w.duckdb", "calls", None, NOW) == base / "20261124T120000"
    )


def test_the_benchmark_runs_and_gx_agrees_with_the_bare_query(capsys):
    from expectations.benchmark import main

    main(["--rows", "2000", "--repeat", "1"])  # asserts the violation counts agree
    assert "gates / bare" in capsys.readouterr().out


# --- checks against history (raw.<feed>, raw.crm) -------------------------------------------


def _history(path: Path, feed: str, rows: list[dict]) -> None:
    """``raw.<feed>`` holding ``rows`` (earlier batches), typed by the contract."""
    make_batch(path, feed, rows, table="_history")
    con = duckdb.connect(str(path))
    try:
        con.execute("CREATE SCHEMA IF NOT EXISTS raw")
        con.execute(f'CREATE OR REPLACE TABLE raw."{feed}" AS SELECT * FROM _history')
        con.execute("DROP TABLE _history")
    finally:
        con.close()


def _outcome(v, name):
    (o,) = [o for o in v.outcomes if o.expectation == name]
    return o


def test_redeliveries_from_earlier_batches_warn_above_the_share(tmp_path):
    path = tmp_path / "w.duckdb"
    _history(path, "calls", [call(f"old{i}") for i in range(10)])
    make_batch(path, "calls", [call("old0")] + [call(f"new{i}") for i in range(19)])
    few = validate_batch(path, "calls", "batch", now=NOW, persist=False)
    assert _outcome(few, "redelivery_share").passed  # 1 of 20 keys: 5 % ≤ 10 %
    make_batch(path, "calls", [call(f"old{i}") for i in range(3)] + [call("new")])
    many = validate_batch(path, "calls", "batch", now=NOW, persist=False)
    o = _outcome(many, "redelivery_share")
    assert many.passed and not o.passed and o.severity == "warning"
    assert o.observed_value["sample"] == [
        {"batch_rows": 4, "redelivered_rows": 3, "share": pytest.approx(0.75)}
    ]
    relaxed = validate_batch(
        path,
        "calls",
        "batch",
        now=NOW,
        persist=False,
        settings=QualitySettings(max_redelivery_share=0.8),
    )
    assert _outcome(relaxed, "redelivery_share").passed


def test_customers_unknown_to_the_crm_warn_above_the_share(tmp_path):
    path = tmp_path / "w.duckdb"
    make_batch(path, "calls", [call("a", customer_id="cust-known"), call("b")])
    no_crm = validate_batch(path, "calls", "batch", now=NOW, persist=False)
    assert "unknown_customer_share" not in {o.expectation for o in no_crm.outcomes}
    _history(path, "crm", [crm_event("e1", customer_id="cust-known")])
    # 1 of the 2 rows with a customer_id is unknown (rows without one do not count)
    make_batch(
        path,
        "calls",
        [call("a", customer_id="cust-known"), call("b", customer_id="cust-ghost")]
        + [call(f"anon{i}", customer_id=None) for i in range(8)],
    )
    v = validate_batch(path, "calls", "batch", now=NOW, persist=False)
    o = _outcome(v, "unknown_customer_share")
    assert v.passed and not o.passed
    assert o.observed_value["sample"][0]["unknown_to_crm"] == 1
    assert o.observed_value["sample"][0]["rows_with_customer"] == 2
    # tickets are checked the same way; the crm feed itself is not
    make_batch(path, "tickets", [ticket("t1", customer_id="cust-ghost")])
    assert not _outcome(
        validate_batch(path, "tickets", "batch", now=NOW, persist=False), "unknown_customer_share"
    ).passed
    make_batch(path, "crm", [crm_event("e2", customer_id="cust-new")])
    crm = validate_batch(path, "crm", "batch", now=NOW, persist=False)
    assert "unknown_customer_share" not in {o.expectation for o in crm.outcomes}


def test_an_empty_crm_does_not_make_every_customer_unknown(tmp_path):
    path = tmp_path / "w.duckdb"
    _history(path, "crm", [])
    make_batch(path, "calls", [call("a", customer_id="cust-1")])
    v = validate_batch(path, "calls", "batch", now=NOW, persist=False)
    assert _outcome(v, "unknown_customer_share").passed


def test_null_rate_drift_is_measured_against_the_feeds_history(tmp_path):
    path = tmp_path / "w.duckdb"
    # history: contact_reason set on 90 % of legs, agent_id always
    _history(
        path,
        "calls",
        [call(f"h{i}", contact_reason=None if i % 10 == 0 else "billing") for i in range(20)],
    )
    same = [call(f"s{i}", contact_reason=None if i % 10 == 0 else "x") for i in range(10)]
    make_batch(path, "calls", same)
    assert _outcome(
        validate_batch(path, "calls", "batch", now=NOW, persist=False), "null_drift"
    ).passed
    # 40 % null (+30 points) is drift, though below the fixed 50 % cap of null_share
    drifted = [call(f"d{i}", contact_reason=None if i < 4 else "x") for i in range(10)]
    make_batch(path, "calls", drifted)
    v = validate_batch(path, "calls", "batch", now=NOW, persist=False)
    o = _outcome(v, "null_drift")
    assert not o.passed and _outcome(v, "null_share:contact_reason").passed
    (row,) = o.observed_value["sample"]
    assert row["field"] == "contact_reason"
    assert row["batch_null_share"] == pytest.approx(0.4)
    assert row["history_null_share"] == pytest.approx(0.1)
    # the allowed increase is configurable
    old = validate_batch(
        path,
        "calls",
        "batch",
        now=NOW,
        persist=False,
        settings=QualitySettings(max_null_share_increase=0.35),
    )
    assert _outcome(old, "null_drift").passed
    # only the trailing 28 days count: long ago contact_reason was never empty
    _history(
        path,
        "calls",
        [call(f"h{i}", contact_reason=None if i < 8 else "x") for i in range(20)]
        + [call(f"ancient{i}", arrived_at=_at(-60 * 24 * 60)) for i in range(200)],
    )
    assert _outcome(
        validate_batch(path, "calls", "batch", now=NOW, persist=False), "null_drift"
    ).passed


def test_a_tickets_events_must_not_precede_its_created_event(tmp_path):
    """created ≤ solved across rows, with the created event in the batch or in raw.tickets."""
    path = tmp_path / "w.duckdb"
    rows = [
        ticket("a0", ticket_id="A", occurred_at=_at(0)),
        ticket(
            "a1", ticket_id="A", event_type="status_changed", status="solved", occurred_at=_at(-5)
        ),
        ticket(
            "a2", ticket_id="A", event_type="status_changed", status="solved", occurred_at=_at(0)
        ),
        ticket(
            "b1", ticket_id="B", event_type="status_changed", status="solved", occurred_at=_at(-1)
        ),
        ticket(
            "c1", ticket_id="C", event_type="assigned", status=None, group="g", occurred_at=_at(-9)
        ),
    ]
    make_batch(path, "tickets", rows)
    v = validate_batch(path, "tickets", "batch", now=NOW, persist=False)
    # B and C have no created event (yet): not judged
    assert v.failing_keys == {"order:events>=created": ("a1",)}
    assert _outcome(v, "order:events>=created").unexpected_count == 1
    # B's created event was loaded by an earlier batch, after B's solved event
    _history(path, "tickets", [ticket("b0", ticket_id="B", occurred_at=_at(0))])
    v = validate_batch(path, "tickets", "batch", now=NOW, persist=False)
    assert v.failing_keys == {"order:events>=created": ("a1", "b1")}
    # a batch that redelivers B's created event earlier replaces raw's version
    make_batch(path, "tickets", rows + [ticket("b0", ticket_id="B", occurred_at=_at(-2))])
    v = validate_batch(path, "tickets", "batch", now=NOW, persist=False)
    assert v.failing_keys == {"order:events>=created": ("a1",)}


def test_tickets_left_open_too_long_warn(tmp_path):
    path = tmp_path / "w.duckdb"
    old = NOW - timedelta(days=40)
    rows = [ticket(f"o{i}", ticket_id=f"T{i}", occurred_at=old) for i in range(10)]
    rows += [
        ticket(
            f"s{i}",
            ticket_id=f"T{i}",
            event_type="status_changed",
            status="solved",
            occurred_at=old + timedelta(days=1),
        )
        for i in range(9)
    ]
    rows.append(ticket("young", ticket_id="Y", occurred_at=NOW - timedelta(days=2)))
    make_batch(path, "tickets", rows)
    v = validate_batch(path, "tickets", "batch", now=NOW, persist=False)
    o = _outcome(v, "stale_open_share")  # T9: 1 of 10 month-old tickets, > 1 %
    assert v.passed and not o.passed and o.severity == "warning"
    assert o.observed_value["rows"] == 1
    assert o.observed_value["sample"][0]["ticket_id"] == "T9"
    # T9 was solved in an earlier batch
    _history(
        path,
        "tickets",
        [
            ticket(
                "s9",
                ticket_id="T9",
                event_type="status_changed",
                status="closed",
                occurred_at=old + timedelta(days=3),
            )
        ],
    )
    make_batch(path, "tickets", rows)
    assert _outcome(
        validate_batch(path, "tickets", "batch", now=NOW, persist=False), "stale_open_share"
    ).passed


# --- how ingest's gate calls it ---------------------------------------------------------------


def test_the_config_quality_section_sets_the_thresholds(tmp_path):
    path = make_batch(tmp_path / "w.duckdb", "calls", [call("long", talk_seconds=7200.0)])
    assert validate_batch(path, "calls", "batch", now=NOW, persist=False).passed
    config = BeaconConfig._from_mapping({"quality": {"max_duration_seconds": 3600}})
    strict = validate_batch(path, "calls", "batch", now=NOW, persist=False, config=config)
    assert strict.failing_keys == {"duration:talk_seconds": ("long",)}
    # explicit settings win over the config's
    explicit = validate_batch(
        path, "calls", "batch", now=NOW, persist=False, config=config, settings=QualitySettings()
    )
    assert explicit.passed
    assert QualitySettings.from_config(config).max_duration_seconds == 3600
    assert QualitySettings.from_config(None) == QualitySettings()


def test_a_batch_in_an_attached_catalog_with_row_ids(tmp_path):
    """The gate's shape: rows staged in an in-memory catalog, identified by a row id, keys
    unique per file; history in the warehouse's raw."""
    path = tmp_path / "w.duckdb"
    _history(path, "tickets", [ticket("b0", ticket_id="B", occurred_at=_at(0))])
    con = duckdb.connect(str(path))
    try:
        con.execute("ATTACH ':memory:' AS gate")
        columns = ", ".join(
            f'"{f.name}" {DUCKDB_TYPES[f.type]}' for f in contract_for("tickets").fields
        )
        con.execute(f"CREATE TABLE gate.main.batch ({columns}, _file INTEGER, _row BIGINT)")
        rows = [
            (
                ticket(
                    "x1",
                    ticket_id="B",
                    event_type="status_changed",
                    status="solved",
                    occurred_at=_at(-1),
                ),
                1,
                101,
            ),
            (ticket("x2", status="bogus"), 1, 102),
            (ticket("x3"), 1, 103),
            (ticket("x3"), 2, 201),  # the same key in another file: a redelivery, not a fault
        ]
        names = contract_for("tickets").names
        for row, file, rowid in rows:
            con.execute(
                f"INSERT INTO gate.main.batch VALUES ({', '.join('?' * (len(names) + 2))})",
                [row.get(n) for n in names] + [file, rowid],
            )
        v = validate_batch(
            con,
            "tickets",
            "batch",
            now=NOW,
            catalog="gate",
            index_column="_row",
            unique_within="_file",
            batch_id="run-1",
        )
        assert v.failing_keys == {"in_set:status": ("102",), "order:events>=created": ("101",)}
        assert _outcome(v, "unique:event_id").passed
        assert con.execute(
            f"SELECT count(*) FROM {RESULTS_TABLE} WHERE batch_id = 'run-1'"
        ).fetchall() == [(len(v.outcomes),)]
    finally:
        con.close()
