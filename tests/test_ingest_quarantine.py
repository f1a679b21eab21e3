"""Row-level quarantine you can act on: list it, replay it against today's contract."""

from __future__ import annotations

import dataclasses
import json
from datetime import date

import pytest

from beacon.config import BeaconConfig
from ingest.quarantine import replay
from tests.ingest_fixtures import Landing, call

ACCEPT_DROPPED = {"calls.disposition": ("dropped",)}


@pytest.fixture
def landing(tmp_path) -> Landing:
    return Landing(tmp_path)


def _accepting(landing: Landing, accepted=ACCEPT_DROPPED) -> BeaconConfig:
    return dataclasses.replace(landing.config, accepted_values=accepted)


def _reconciled(landing: Landing) -> None:
    """The manifest's counts still add up and match the quarantine table, replays included."""
    assert (
        landing.query(
            "SELECT f.path FROM raw._files f LEFT JOIN (SELECT file_id, count(*) n "
            "FROM raw._quarantine GROUP BY 1) q USING (file_id) WHERE f.status = 'loaded' AND "
            "(f.rows_read <> f.rows_inserted + f.rows_updated + f.rows_duplicate + "
            "f.rows_quarantined OR f.rows_quarantined <> coalesce(q.n, 0))"
        )
        == []
    )


def _land_dirty(landing: Landing) -> None:
    landing.jsonl(
        "calls/2026-10-01.jsonl",
        [
            call("L1"),
            call("L2", disposition="dropped"),
            call("L3", arrived_at="N/A"),
            call("L4", disposition="dropped", arrived_at="2026-09-01T10:00:00Z"),
        ],
    )
    landing.csv("calls/2026-10-02.csv", [call("L5", disposition="dropped"), call("L6")])
    landing.parquet("calls/2026-10-03.parquet", [call("L7", disposition="dropped")])
    landing.text(
        "calls/2026-10-04.csv",
        "leg_id,call_id,leg_seq,direction,queue,arrived_at,ended_at,disposition\n"
        "L8,C8,1,inbound,billing,2026-10-01T09:00:00Z\n",  # malformed: too few fields
    )


def test_replay_loads_rows_a_new_accepted_value_makes_valid_exactly_once(landing):
    _land_dirty(landing)
    first = landing.ingest()
    assert first.totals()["rows_quarantined"] == 6
    manifest = landing.query("SELECT * FROM raw._files ORDER BY file_id")

    # nothing changed in the contract: a replay re-checks and loads nothing
    nothing = replay(landing.config)
    assert (nothing.rows_checked, nothing.rows_replayed) == (6, 0)
    assert nothing.still_quarantined == {
        "unknown_value:disposition": 4,
        "bad_timestamp:arrived_at": 1,
        "malformed_record": 1,
    }
    assert landing.query("SELECT count(*) FROM raw._quarantine WHERE replayed_at IS NOT NULL") == [
        (0,)
    ]

    # 'dropped' is accepted now: the four rows load (JSONL, CSV and Parquet alike)
    report = replay(_accepting(landing))
    assert (report.rows_checked, report.rows_inserted, report.rows_updated) == (6, 4, 0)
    assert report.rows_duplicate == 0 and report.rows_still_quarantined == 2
    assert report.files == 3
    assert landing.query(
        "SELECT c.leg_id, c.disposition, f.path, c._line FROM raw.calls c "
        "JOIN raw._files f ON f.file_id = c._file_id WHERE disposition = 'dropped' ORDER BY 1"
    ) == [
        ("L2", "dropped", "calls/2026-10-01.jsonl", 2),
        ("L4", "dropped", "calls/2026-10-01.jsonl", 4),
        ("L5", "dropped", "calls/2026-10-02.csv", 1),
        ("L7", "dropped", "calls/2026-10-03.parquet", 1),
    ]
    assert landing.query(
        "SELECT record_key, reason, replay_result, replay_run_id = ? FROM raw._quarantine "
        "WHERE replayed_at IS NOT NULL ORDER BY 1",
        [report.run_id],
    ) == [
        ("L2", "unknown_value:disposition", "inserted", True),
        ("L4", "unknown_value:disposition", "inserted", True),
        ("L5", "unknown_value:disposition", "inserted", True),
        ("L7", "unknown_value:disposition", "inserted", True),
    ]
    # the replay's days: 1 October and the long-past 1 September
    assert landing.query(
        "SELECT DISTINCT event_date FROM raw._changed_days WHERE run_id = ? ORDER BY 1",
        [report.run_id],
    ) == [(date(2026, 9, 1),), (date(2026, 10, 1),)]
    assert landing.query("SELECT kind FROM raw._ingest_runs WHERE run_id = ?", [report.run_id]) == [
        ("replay",)
    ]
    # the files' manifest rows and reconciliation are untouched
    assert landing.query("SELECT * FROM raw._files ORDER BY file_id") == manifest
    _reconciled(landing)

    # again: the replayed rows are not looked at, nothing is added
    before = landing.snapshot()
    again = replay(_accepting(landing))
    assert (again.rows_checked, again.rows_replayed) == (2, 0)
    after = landing.snapshot()
    assert {k: v for k, v in after.items() if k != "_quarantine"} == {
        k: v for k, v in before.items() if k != "_quarantine"
    }
    assert after["_quarantine"] == before["_quarantine"]


def test_replayed_rows_follow_the_redelivery_rules(landing):
    landing.jsonl(
        "calls/2026-10-01.jsonl",
        [
            # older than what a later file delivers: a duplicate
            call("A", disposition="dropped", emitted_at="2026-10-01T10:00:00Z"),
            # newer than what a later file delivers: an update
            call("B", disposition="dropped", emitted_at="2026-10-01T12:00:00Z"),
            # same file, same emitted_at, later line than the valid version: an update
            call("C", queue="first"),
            call("C", queue="second", disposition="dropped"),
            # same file, earlier line than the valid version: a duplicate
            call("D", queue="first", disposition="dropped"),
            call("D", queue="second"),
            # twice in quarantine within one file: one wins, the other is a duplicate
            call("E", queue="old", disposition="dropped", emitted_at="2026-10-01T09:10:00Z"),
            call("E", queue="new", disposition="dropped", emitted_at="2026-10-01T09:20:00Z"),
        ],
    )
    landing.jsonl(
        "calls/2026-10-02.jsonl",
        [
            call("A", queue="later file", emitted_at="2026-10-01T11:00:00Z"),
            call("B", queue="later file", emitted_at="2026-10-01T11:00:00Z"),
        ],
    )
    landing.ingest()
    report = replay(_accepting(landing))
    assert (report.rows_inserted, report.rows_updated, report.rows_duplicate) == (1, 2, 3)
    assert landing.query("SELECT leg_id, queue, disposition FROM raw.calls ORDER BY 1") == [
        ("A", "later file", "handled"),
        ("B", "billing", "dropped"),
        ("C", "second", "dropped"),
        ("D", "second", "handled"),
        ("E", "new", "dropped"),
    ]
    assert landing.query(
        "SELECT record_key, line, replay_result FROM raw._quarantine ORDER BY line"
    ) == [
        ("A", 1, "duplicate"),
        ("B", 2, "updated"),
        ("C", 4, "updated"),
        ("D", 5, "duplicate"),
        ("E", 7, "duplicate"),
        ("E", 8, "inserted"),
    ]
    _reconciled(landing)


def test_reason_and_feed_filters(landing):
    landing.jsonl(
        "calls/a.jsonl",
        [call("L1", disposition="dropped"), call("L2", agent_resolution="escalated")],
    )
    landing.ingest()
    config = _accepting(
        landing,
        {"calls.disposition": ("dropped",), "calls.agent_resolution": ("escalated",)},
    )
    only = replay(config, reason="unknown_value:agent_resolution")
    assert (only.rows_checked, only.rows_inserted) == (1, 1)
    assert replay(config, feeds=["tickets"]).rows_checked == 0
    rest = replay(config, reason="unknown_value")  # a prefix matches every field
    assert (rest.rows_checked, rest.rows_inserted) == (1, 1)


def test_ingest_accepts_configured_values_too(tmp_path):
    landing = Landing(tmp_path, accepted_values=ACCEPT_DROPPED)
    landing.jsonl("calls/a.jsonl", [call("L1", disposition="dropped"), call("L2", direction="x")])
    (result,) = landing.ingest().files
    assert (result.rows_inserted, result.quarantine_reasons) == (1, {"unknown_value:direction": 1})


def test_cli_list_and_replay(landing, monkeypatch, capsys):
    from beacon.cli import main

    _land_dirty(landing)
    landing.ingest()
    assert main(["quarantine", "list", "--warehouse", str(landing.warehouse)]) == 0
    out = capsys.readouterr().out
    assert "unknown_value:disposition" in out and "4" in out
    assert "calls/2026-10-01.jsonl:2  key=L2  unknown_value:disposition" in out
    assert "calls/2026-10-04.csv:1  key=None  malformed_record" in out

    assert main(["quarantine", "list", "--warehouse", str(landing.warehouse), "--reason",
                 "bad_timestamp", "--feed", "calls"]) == 0  # fmt: skip
    out = capsys.readouterr().out
    assert "bad_timestamp:arrived_at" in out and "unknown_value" not in out

    monkeypatch.setenv("BEACON_ACCEPTED_VALUES", "calls.disposition=dropped")
    assert main(["quarantine", "replay", "--warehouse", str(landing.warehouse)]) == 0
    out = capsys.readouterr().out
    assert "6 quarantined rows re-checked: 4 now valid (4 inserted" in out
    assert main(["quarantine", "list", "--warehouse", str(landing.warehouse)]) == 0
    out = capsys.readouterr().out
    line = next(x for x in out.splitlines() if "unknown_value:disposition" in x)
    assert line.split()[-2:] == ["0", "4"]  # open, replayed


def test_accepted_values_configuration():
    config = BeaconConfig.load(accepted_values={"calls.disposition": ["dropped", "voicemail"]})
    assert config.accepted_values == {"calls.disposition": ("dropped", "voicemail")}
    with pytest.raises(ValueError, match="accepted_values.calls.queue"):
        BeaconConfig(accepted_values={"calls.queue": ("x",)})  # no enum: free text already
    with pytest.raises(ValueError, match="accepted_values.phone.disposition"):
        BeaconConfig(accepted_values={"phone.disposition": ("x",)})
    from beacon.config import _from_env

    assert _from_env({"BEACON_ACCEPTED_VALUES": "calls.disposition=a, b;tickets.status=c"}) == {
        "accepted_values": {"calls.disposition": ("a", "b"), "tickets.status": ("c",)}
    }


def test_parquet_and_csv_quarantined_rows_keep_a_replayable_record(landing):
    landing.parquet("calls/a.parquet", [call("L1", disposition="dropped")], typed=True)
    landing.ingest()
    ((raw,),) = landing.query("SELECT raw_record FROM raw._quarantine")
    assert json.loads(raw)["disposition"] == "dropped"
    assert replay(_accepting(landing)).rows_inserted == 1
    assert landing.query("SELECT talk_seconds, arrived_at IS NOT NULL FROM raw.calls") == [
        (250.5, True)
    ]


def test_a_replay_that_fails_half_way_leaves_each_file_whole(landing, monkeypatch):
    import ingest.quarantine

    _land_dirty(landing)
    landing.ingest()
    real = ingest.quarantine.record_changed_days
    calls = []

    def fail_on_second_file(*args, **kwargs):
        calls.append(args)
        if len(calls) == 2:
            raise RuntimeError("simulated crash in the second file's transaction")
        return real(*args, **kwargs)

    monkeypatch.setattr(ingest.quarantine, "record_changed_days", fail_on_second_file)
    with pytest.raises(RuntimeError):
        replay(_accepting(landing))
    monkeypatch.undo()
    # the first file (two rows) is replayed and marked; the second is untouched
    assert landing.query(
        "SELECT path, count(*) FROM raw._quarantine WHERE replayed_at IS NOT NULL GROUP BY 1"
    ) == [("calls/2026-10-01.jsonl", 2)]
    assert landing.query("SELECT count(*) FROM raw.calls WHERE disposition = 'dropped'") == [(2,)]
    report = replay(_accepting(landing))
    assert (report.rows_checked, report.rows_inserted) == (4, 2)
    assert landing.query("SELECT count(*) FROM raw.calls WHERE disposition = 'dropped'") == [(4,)]
    _reconciled(landing)


def test_list_upgrades_a_warehouse_from_before_replay(landing, capsys):
    import duckdb

    from beacon.cli import main

    landing.jsonl("calls/a.jsonl", [call("L1", disposition="dropped")])
    landing.ingest()
    con = duckdb.connect(str(landing.warehouse))
    for column in ("replayed_at", "replay_run_id", "replay_result"):
        con.execute(f"ALTER TABLE raw._quarantine DROP COLUMN {column}")
    con.close()
    assert main(["quarantine", "list", "--warehouse", str(landing.warehouse)]) == 0
    assert "unknown_value:disposition" in capsys.readouterr().out
