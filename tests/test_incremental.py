"""Incremental builds (issue #5, point 5): a daily build touches only what the new data
reaches, late data and corrections included, and gives exactly the marts of a full refresh.

A small simulated centre's files are delivered as a centre would: its first eight days at
once (the first build, a full refresh), then one day at a time, then a late file (the calls
of day 5, held back until then), then a redelivery that corrects old records (a call's
outcome, a call moved to the next day, a call moved to another customer, a reopen corrected
away, a CRM phone number that makes a caller ambiguous, a cancellation booked to another
customer). After each delivery: ingest, then ``beacon.transform.run_dbt`` (incremental).
At two checkpoints the warehouse is copied, its derived schemas dropped, and the copy built
from scratch (a full refresh of the same raw data, in a separate warehouse): every table of
``marts`` (facts, dimensions, marts, quality marts) and ``intermediate`` must hold the same
rows, compared row by row (all columns but the lineage column ``_built_run``).

Run with ``-s`` to see what each build rewrote: ``.venv/bin/pytest tests/test_incremental.py -s``.
"""

from __future__ import annotations

import json
import os
import shutil
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from pathlib import Path

import duckdb
import pytest

from beacon.config import BeaconConfig
from tests.conftest import simulate_centre

START = date(2026, 10, 1)
DAYS = 12
FIRST_BUILD_DAYS = 8
LATE = ("calls", START + timedelta(days=4))  # the calls of day 5 arrive after day 12
CORRECTED_DAY = START + timedelta(days=2)
FEEDS = ("calls", "tickets", "crm")
#: columns that say how a row was built, not what it says
LINEAGE = {"_built_run", "previous_team", "is_team_changed"}


@dataclass(frozen=True)
class Build:
    label: str
    mode: str
    rows_written: dict[str, tuple[int, int]]


@dataclass
class History:
    config: BeaconConfig
    builds: list[Build]
    #: per checkpoint: table → (rows, rows only in the incremental build, only in the full)
    comparisons: dict[str, dict[str, tuple[int, int, int]]]


def _deliver(source: Path, landing: Path, feed: str, day: date) -> None:
    for path in source.glob(f"{feed}/**/{feed}_{day.isoformat()}.*"):
        target = landing / path.relative_to(source)
        target.parent.mkdir(parents=True, exist_ok=True)
        shutil.copy2(path, target)


def _ingest_and_build(config: BeaconConfig, label: str, command: str = "run") -> Build:
    from beacon.transform import run_dbt
    from ingest import ingest_landing

    report = ingest_landing(config)
    assert report.ok, [f.error for f in report.files if f.error]
    result = run_dbt(config, command)
    return Build(label, result.mode, result.rows_written)


def _records(landing: Path, feed: str) -> list[dict]:
    rows: list[dict] = []
    for path in sorted(landing.glob(f"{feed}/**/*.jsonl")):
        rows += [json.loads(line) for line in path.read_text().splitlines() if line.strip()]
    return rows


def _later(record: dict, **changes) -> dict:
    """A redelivery of ``record``: the same key, emitted later, with ``changes``."""
    emitted = datetime.fromisoformat(record["emitted_at"].replace("Z", "+00:00"))
    return {**record, **changes, "emitted_at": (emitted + timedelta(days=9)).isoformat()}


def _shift(value: str | None, hours: int) -> str | None:
    if value is None:
        return None
    moment = datetime.fromisoformat(value.replace("Z", "+00:00")) + timedelta(hours=hours)
    return moment.isoformat()


def _corrections(config: BeaconConfig) -> dict[str, list[dict]]:
    """Redelivered records for old days, chosen from the data so that each one changes
    something the marts show."""
    landing = config.landing_dir
    calls = _records(landing, "calls")
    crm = _records(landing, "crm")
    tickets = _records(landing, "tickets")
    with duckdb.connect(str(config.warehouse_path), read_only=True) as con:
        day3_calls = [
            row[0]
            for row in con.execute(
                "select call_id from marts.fct_contacts where contact_type = 'call'"
                " and is_identified and is_resolved and started_date = ? order by call_id",
                [CORRECTED_DAY],
            ).fetchall()
        ]
        by_id = con.execute(
            "select call_id, customer_id from marts.fct_contacts where contact_type = 'call'"
            " and identified_by = 'customer_id' and started_date = ? order by call_id",
            [CORRECTED_DAY],
        ).fetchall()
        other_customer = con.execute(
            "select customer_id from marts.fct_issues where contacts > 1 order by issue_id limit 1"
        ).fetchone()[0]
        reopen_event = con.execute(
            "select substr(contact_id, 8) from marts.fct_contacts where contact_type = 'reopen'"
            " order by contact_id limit 1"
        ).fetchone()[0]
        by_phone = con.execute(
            "select contact_id, customer_id, started_at from marts.fct_contacts"
            " where identified_by = 'phone_number' order by contact_id limit 1"
        ).fetchone()
        cancellation = con.execute(
            "select customer_id from marts.fct_issues where cancelled_at is not null"
            " order by issue_id limit 1"
        ).fetchone()[0]
        phone = con.execute(
            "select phone_number from raw.calls where 'call:' || call_id = ? and phone_number"
            " is not null limit 1",
            [by_phone[0]],
        ).fetchone()[0]
    legs = {call_id: [r for r in calls if r["call_id"] == call_id] for call_id in day3_calls[:2]}
    resolved_call, moved_call = legs
    reassigned_call, _ = next(row for row in by_id if row[0] not in legs)
    corrected_calls = [
        _later(leg, agent_resolution="unresolved", contact_reason="billing")
        for leg in legs[resolved_call]
    ]
    corrected_calls += [
        _later(
            leg,
            **{
                f: _shift(leg.get(f), 24)
                for f in ("arrived_at", "queued_at", "answered_at", "ended_at")
            },
        )
        for leg in legs[moved_call]
    ]
    corrected_calls += [
        _later(leg, customer_id=other_customer)
        for leg in calls
        if leg["call_id"] == reassigned_call
    ]
    corrected_tickets = [
        _later(event, status="closed") for event in tickets if event["event_id"] == reopen_event
    ]
    # another customer held the caller's number at the time: the caller is ambiguous now
    started = by_phone[2]
    holder = max(
        (
            event
            for event in crm
            if event["customer_id"] != by_phone[1]
            and event["event_type"] == "customer_created"
            and datetime.fromisoformat(event["occurred_at"].replace("Z", "")) < started
        ),
        key=lambda event: event["occurred_at"],
    )
    corrected_crm = [_later(holder, phone_number=phone)]
    # a cancellation booked to the wrong customer, corrected to another one
    corrected_crm += [
        _later(event, customer_id=other_customer)
        for event in crm
        if event["customer_id"] == cancellation and event["event_type"] == "subscription_cancelled"
    ]
    return {"calls": corrected_calls, "tickets": corrected_tickets, "crm": corrected_crm}


def _full_refresh_twin(config: BeaconConfig, folder: Path) -> BeaconConfig:
    """A copy of the warehouse's raw data, built from scratch (a full refresh)."""
    from beacon.transform import run_dbt

    folder.mkdir(parents=True)
    twin = folder / "beacon.duckdb"
    shutil.copy2(config.warehouse_path, twin)
    with duckdb.connect(str(twin)) as con:
        for schema in ("staging", "intermediate", "marts", "transform"):
            con.execute(f"drop schema if exists {schema} cascade")
    twin_config = BeaconConfig.load(
        landing_dir=config.landing_dir, warehouse_path=twin, quality={"data_docs": False}
    )
    assert run_dbt(twin_config, "run").mode == "full"
    return twin_config


def _compare(incremental: Path, full: Path) -> dict[str, tuple[int, int, int]]:
    """Per table of marts and intermediate: (rows, rows only in ``incremental``, rows only in
    ``full``), as multisets over every column but the lineage ones."""
    compared: dict[str, tuple[int, int, int]] = {}
    with duckdb.connect() as con:
        con.execute(f"attach '{incremental}' as incremental (read_only)")
        con.execute(f"attach '{full}' as full_refresh (read_only)")
        tables = con.execute(
            "select table_schema, table_name from information_schema.tables"
            " where table_catalog = 'full_refresh' and table_type = 'BASE TABLE'"
            " and table_schema in ('marts', 'intermediate')"
            " and table_name not like 'int_rebuild_%' order by all"
        ).fetchall()
        assert len(tables) > 20
        for schema, table in tables:
            columns = [
                name
                for (name,) in con.execute(
                    "select column_name from information_schema.columns where table_catalog = ?"
                    " and table_schema = ? and table_name = ? order by ordinal_position",
                    ["full_refresh", schema, table],
                ).fetchall()
                if name not in LINEAGE
            ]
            select = ", ".join(f'"{c}"' for c in columns)
            a = f'select {select} from incremental.{schema}."{table}"'
            b = f'select {select} from full_refresh.{schema}."{table}"'
            rows = con.execute(f"select count(*) from ({b})").fetchone()[0]
            only_a = con.execute(f"select count(*) from ({a} except all {b})").fetchone()[0]
            only_b = con.execute(f"select count(*) from ({b} except all {a})").fetchone()[0]
            compared[f"{schema}.{table}"] = (rows, only_a, only_b)
    return compared


@pytest.fixture(scope="module")
def history(tmp_path_factory) -> History:
    root = tmp_path_factory.mktemp("incremental")
    centre = simulate_centre(root / "centre", seed=5, days=DAYS, contacts_per_day=100, agents=6)
    landing = root / "landing"
    config = BeaconConfig.load(
        landing_dir=landing,
        warehouse_path=root / "wh" / "beacon.duckdb",
        quality={"data_docs": False},
    )
    days = [START + timedelta(days=n) for n in range(DAYS)]
    builds: list[Build] = []
    comparisons: dict[str, dict[str, tuple[int, int, int]]] = {}

    for day in days[:FIRST_BUILD_DAYS]:
        for feed in FEEDS:
            if (feed, day) != LATE:
                _deliver(centre.landing_dir, landing, feed, day)
    builds.append(_ingest_and_build(config, f"days 1-{FIRST_BUILD_DAYS}"))
    for n, day in enumerate(days[FIRST_BUILD_DAYS:], start=FIRST_BUILD_DAYS + 1):
        for feed in FEEDS:
            _deliver(centre.landing_dir, landing, feed, day)
        builds.append(_ingest_and_build(config, f"day {n}"))
    _deliver(centre.landing_dir, landing, *LATE)
    builds.append(_ingest_and_build(config, f"late {LATE[0]} of {LATE[1]}"))
    twin = _full_refresh_twin(config, root / "full-1")
    comparisons["after the late file"] = _compare(config.warehouse_path, twin.warehouse_path)

    for feed, records in _corrections(config).items():
        assert records, feed
        path = landing / feed / "redelivered" / f"{feed}_{CORRECTED_DAY.isoformat()}_fix.jsonl"
        path.parent.mkdir(parents=True)
        path.write_text("".join(json.dumps(r) + "\n" for r in records))
    # the last build runs the dbt tests too (reconciliations) on the incremental state
    builds.append(_ingest_and_build(config, f"corrections of {CORRECTED_DAY}", "build"))
    twin = _full_refresh_twin(config, root / "full-2")
    comparisons["after the corrections"] = _compare(config.warehouse_path, twin.warehouse_path)

    _print(builds, comparisons)
    return History(config, builds, comparisons)


def _print(builds: list[Build], comparisons: dict) -> None:
    tables = list(builds[0].rows_written)
    print("\nrows written per build (of rows in the table):")
    print(f"{'table':38}" + "".join(f"{b.label[:14]:>16}" for b in builds))
    for table in tables:
        cells = "".join(
            f"{b.rows_written[table][0]:>8,}/{b.rows_written[table][1]:<7,}" for b in builds
        )
        print(f"{table:38}{cells}")
    for checkpoint, compared in comparisons.items():
        rows = sum(r for r, _, _ in compared.values())
        print(f"{checkpoint}: {len(compared)} tables, {rows:,} rows compared")


def test_the_first_build_is_full_and_the_daily_ones_incremental(history):
    assert [b.mode for b in history.builds] == ["full"] + ["incremental"] * (
        len(history.builds) - 1
    )


@pytest.mark.parametrize("checkpoint", ["after the late file", "after the corrections"])
def test_incremental_builds_equal_a_full_refresh_row_by_row(history, checkpoint):
    compared = history.comparisons[checkpoint]
    different = {t: c for t, c in compared.items() if c[1] or c[2]}
    assert different == {}
    marts = [t for t in compared if t.startswith("marts.")]
    assert {t.split(".")[1].split("_")[0] for t in marts} >= {"fct", "dim", "mart"}
    assert all(compared[t][0] > 0 for t in marts), "every mart holds rows"


def test_a_daily_build_rewrites_only_the_days_and_customers_it_reaches(history):
    for build in history.builds[1:-2]:  # the days after the first build
        written = build.rows_written
        for table in ("marts.fct_contacts", "marts.fct_issues", "marts.fct_call_legs"):
            rows, total = written[table]
            # a Sunday brings tickets and CRM events but no calls (the phones are closed)
            assert (0 if table == "marts.fct_call_legs" else 1) <= rows < total / 2, (
                build.label,
                table,
                rows,
                total,
            )
        # the new day, the days of the customers it re-stitched and of the issues that
        # matured: not every day of the history
        days, total_days = written["marts.mart_daily_outcomes"]
        assert 0 < days < total_days, (build.label, days, total_days)
        assert written["marts.dim_customers"][0] < written["marts.dim_customers"][1] / 10


def test_a_late_file_and_corrections_rewrite_their_old_days(history):
    late, corrections = history.builds[-2], history.builds[-1]
    assert late.rows_written["marts.fct_call_legs"][0] > 0
    assert corrections.rows_written["marts.fct_contacts"][0] > 0
    assert corrections.rows_written["marts.fct_tickets"][0] > 0
    assert corrections.rows_written["marts.dim_customers"][0] > 0


def test_a_build_with_nothing_new_rewrites_nothing(history):
    from beacon.transform import run_dbt

    result = run_dbt(history.config, "run")
    assert result.mode == "incremental"
    assert {table: rows for table, (rows, _) in result.rows_written.items() if rows} == {}


def test_a_build_drops_the_tables_of_models_beacon_no_longer_has(history):
    # a warehouse built by an earlier version holds the tables of models since merged into
    # others (macros/retired_models.sql); a build drops them, and only them
    from beacon.transform import run_dbt

    retired = (
        "int_contacts_unioned",
        "int_contacts_attributed",
        "int_contacts_stitched_into_issues",
    )
    with duckdb.connect(str(history.config.warehouse_path)) as con:
        for table in retired:
            con.execute(f"create table intermediate.{table} as select 1 as contact_id")
        before = _tables(con)

    run_dbt(history.config, "run")
    with duckdb.connect(str(history.config.warehouse_path)) as con:
        assert before - _tables(con) == {f"intermediate.{table}" for table in retired}
        assert _tables(con) - before == set()


def test_a_build_leaves_the_process_environment_as_it_found_it(history, monkeypatch):
    # dbt reads the warehouse path from BEACON_WAREHOUSE_PATH, which is also BeaconConfig's
    # setting: a configuration loaded later in the same process (an Airflow worker, a test)
    # must not take its warehouse from an earlier build
    from beacon.transform import run_dbt

    monkeypatch.delenv("BEACON_WAREHOUSE_PATH", raising=False)
    before = {name: value for name, value in os.environ.items() if name.startswith("BEACON_")}
    run_dbt(history.config, "run")
    after = {name: value for name, value in os.environ.items() if name.startswith("BEACON_")}
    assert after == before
    assert BeaconConfig.load().warehouse_path != history.config.warehouse_path


def _tables(con: duckdb.DuckDBPyConnection) -> set[str]:
    return {
        f"{schema}.{name}"
        for schema, name in con.execute(
            "select table_schema, table_name from information_schema.tables"
        ).fetchall()
    }


def test_an_incremental_build_tests_the_rows_written_since_the_last_tested_build(history, tmp_path):
    # macros/scoped_tests.sql: unique and not_null check the rows written since the last
    # build whose tests all passed, against the whole table
    from beacon.transform import TransformError, run_dbt

    warehouse = tmp_path / "beacon.duckdb"
    shutil.copy2(history.config.warehouse_path, warehouse)
    config = BeaconConfig.load(warehouse_path=warehouse, landing_dir=history.config.landing_dir)
    tested = run_dbt(config, "build")
    assert tested.mode == "incremental"

    def run_results() -> dict:
        return json.loads((tmp_path / ".dbt" / "target" / "run_results.json").read_text())

    def unit_tests_run() -> int:
        return sum(r["unique_id"].startswith("unit_test.") for r in run_results()["results"])

    # the same code passed its unit tests in the history's last build (a dbt build)
    assert unit_tests_run() == 0
    # a day's small models two at a time (beacon.transform.INCREMENTAL_DBT_THREADS)
    assert run_results()["args"]["threads"] == 2
    compiled = next((tmp_path / ".dbt" / "target" / "run").rglob("unique_fct_contacts_contact_id*"))
    with duckdb.connect(str(warehouse)) as con:
        (watermark,) = con.execute(
            "select max(build_id) from transform.builds "
            f"where tests_passed and build_id < {tested.build_id}"
        ).fetchone()
    assert f"_built_run > {watermark}" in compiled.read_text()

    def builds() -> list[tuple]:
        with duckdb.connect(str(warehouse)) as con:
            return con.execute(
                "select build_id, status, tests_passed from transform.builds "
                f"where build_id >= {tested.build_id} order by 1"
            ).fetchall()

    assert builds() == [(tested.build_id, "built", True)]
    # a row written after that build duplicates an old one: the next build's test sees it
    with duckdb.connect(str(warehouse)) as con:
        con.execute(
            "insert into marts.fct_contacts select * replace "
            f"({tested.build_id + 1} as _built_run) from marts.fct_contacts limit 1"
        )
    with pytest.raises(TransformError, match="unique_fct_contacts_contact_id"):
        run_dbt(config, "build")
    # dbt build skipped the models downstream of the failed test: the build failed, and
    # the next one is a full refresh that tests every row
    assert builds()[-1] == (tested.build_id + 1, "failed", False)
    compiled = next((tmp_path / ".dbt" / "target" / "run").rglob("unique_fct_contacts_contact_id*"))
    assert f"_built_run > {tested.build_id}" in compiled.read_text()  # the last tested build
    with duckdb.connect(str(warehouse)) as con:
        con.execute(f"delete from marts.fct_contacts where _built_run = {tested.build_id + 1}")
    assert run_dbt(config, "build").mode == "full"
    assert unit_tests_run() > 0
    assert run_results()["args"].get("threads") is None  # the profile's: one model at a time
    assert builds()[-1] == (tested.build_id + 2, "built", True)
    compiled = next((tmp_path / ".dbt" / "target" / "run").rglob("unique_fct_contacts_contact_id*"))
    assert "_built_run" not in compiled.read_text()


def test_a_feed_test_checks_the_rows_of_the_files_loaded_since_the_last_tested_build(
    history, tmp_path
):
    # a raw feed's rows carry their file (_file_id), and raw._changed_days the run that
    # loaded it: unique and not_null on a source check the rows of later runs' files
    from beacon.transform import TransformError, run_dbt

    warehouse = tmp_path / "beacon.duckdb"
    shutil.copy2(history.config.warehouse_path, warehouse)
    config = BeaconConfig.load(warehouse_path=warehouse, landing_dir=history.config.landing_dir)
    tested = run_dbt(config, "build")

    def compiled_leg_id_test() -> str:
        run = tmp_path / ".dbt" / "target" / "run"
        return next(run.rglob("source_unique_calls_calls_leg_id*")).read_text()

    def watermark_run(build_id: int) -> int:
        """upto_run of the newest build before ``build_id`` whose tests all passed."""
        with duckdb.connect(str(warehouse)) as con:
            return con.execute(
                "select upto_run from transform.builds where build_id = (select max(build_id) "
                f"from transform.builds where tests_passed and build_id < {build_id})"
            ).fetchone()[0]

    assert f"where run_id > {watermark_run(tested.build_id)})" in compiled_leg_id_test()
    with duckdb.connect(str(warehouse)) as con:
        # a later run's file repeats a leg already loaded (as a broken ingest could)
        run_id = con.execute("select max(run_id) + 1 from raw._ingest_runs").fetchone()[0]
        file_id = con.execute("select max(file_id) + 1 from raw._files").fetchone()[0]
        con.execute(
            f"insert into raw._ingest_runs select * replace ({run_id} as run_id) "
            "from raw._ingest_runs order by run_id desc limit 1"
        )
        con.execute(
            f"insert into raw.calls select * replace ({file_id} as _file_id) from raw.calls limit 1"
        )
        con.execute(
            "insert into raw._changed_days (run_id, file_id, feed, event_date, rows) "
            f"select {run_id}, {file_id}, 'calls', max(arrived_at)::date, 1 from raw.calls"
        )
    with pytest.raises(TransformError, match="source_unique_calls_calls_leg_id"):
        run_dbt(config, "build")
    # the duplicate was found among the rows of the runs after the last tested build
    assert watermark_run(tested.build_id + 1) < run_id
    assert f"where run_id > {watermark_run(tested.build_id + 1)})" in compiled_leg_id_test()


def test_a_failed_or_changed_build_makes_the_next_one_full(history, monkeypatch):
    from beacon import transform

    config = history.config
    with duckdb.connect(str(config.warehouse_path)) as con:
        con.execute(
            "update transform.builds set status = 'failed'"
            " where build_id = (select max(build_id) from transform.builds)"
        )
    plan = transform.begin_build(config)
    assert (plan.mode, plan.reason) == ("full", "the previous build is failed")
    transform.finish_build(config, plan, "built")  # as if it had built every model

    assert transform.begin_build(config, dbt_vars={"repeat_window_days": 3}).mode == "full"
    monkeypatch.setenv("BEACON_TRANSFORM_FULL_REFRESH", "true")
    forced = transform.begin_build(BeaconConfig.load(warehouse_path=config.warehouse_path))
    assert forced.reason == "full refresh asked for"
