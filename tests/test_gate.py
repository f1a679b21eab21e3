"""Quality gates in ingest: real GX validations of every batch on real DuckDB files.

Row-level critical failures are quarantined with the expectation's name; a file with too
many bad rows (or a broken batch-level check) is refused whole and degrades its feed until
a good file arrives; replay re-runs the gate. Counts reconcile per file throughout.
"""

from __future__ import annotations

import dataclasses
import json
from pathlib import Path

import pytest

from ingest.quarantine import replay
from tests.ingest_fixtures import Landing, call, ticket


def _gated(landing: Landing, **quality) -> Landing:
    """The landing's config with the gates on and ``quality`` settings changed."""
    config = landing.config
    landing.config = dataclasses.replace(
        config, quality=dataclasses.replace(config.quality, gates=True, **quality)
    )
    return landing


@pytest.fixture
def landing(tmp_path: Path) -> Landing:
    return _gated(Landing(tmp_path), max_bad_row_share=0.5)


def _reconciles(landing: Landing) -> None:
    rows = landing.query(
        "SELECT path, rows_read, rows_inserted + rows_updated + rows_duplicate + "
        "rows_quarantined FROM raw._files WHERE status = 'loaded'"
    )
    assert rows and all(read == accounted for _, read, accounted in rows), rows
    per_file = dict(
        landing.query(
            "SELECT f.path, count(q.line) FROM raw._files AS f LEFT JOIN raw._quarantine AS q "
            "USING (file_id) WHERE f.status = 'loaded' GROUP BY f.path"
        )
    )
    stored = dict(
        landing.query("SELECT path, rows_quarantined FROM raw._files WHERE status = 'loaded'")
    )
    assert per_file == stored


def test_rows_failing_a_critical_expectation_are_quarantined_with_its_name(landing):
    landing.jsonl(
        "calls/2026-10-01.jsonl",
        [
            call("L1"),
            # valid for the contract, but answered before it arrived
            call("L2", answered_at="2026-10-01T08:59:00Z"),
            call("L3"),
            # a talk time of 12 h: above the suite's sane maximum
            call("L4", talk_seconds=12 * 3600),
        ],
    )
    report = landing.ingest(["calls"])
    (result,) = report.files
    assert result.status == "loaded" and report.ok
    assert (result.rows_inserted, result.rows_quarantined) == (2, 2)
    assert result.quarantine_reasons == {
        "quality:order:answered_at>=arrived_at": 1,
        "quality:duration:talk_seconds": 1,
    }
    assert landing.query("SELECT leg_id FROM raw.calls ORDER BY 1") == [("L1",), ("L3",)]
    (raw_record,) = landing.query("SELECT raw_record FROM raw._quarantine WHERE line = 2")[0]
    record = json.loads(raw_record)
    assert record["leg_id"] == "L2" and record["answered_at"].endswith("Z")
    assert landing.query(
        "SELECT rows_checked, rows_failed, refused_reason FROM raw._gate_files"
    ) == [(4, 2, None)]
    failed = landing.query(
        "SELECT expectation, severity FROM raw._quality_results WHERE NOT passed "
        "AND severity = 'critical' ORDER BY 1"
    )
    assert failed == [
        ("duration:talk_seconds", "critical"),
        ("order:answered_at>=arrived_at", "critical"),
    ]
    assert landing.query("SELECT status FROM raw._feed_status WHERE feed = 'calls'") == [("ok",)]
    _reconciles(landing)


def test_a_file_with_too_many_bad_rows_is_refused_and_degrades_its_feed_until_a_good_one(
    tmp_path,
):
    landing = _gated(Landing(tmp_path), max_bad_row_share=0.25)
    landing.jsonl("calls/2026-10-01.jsonl", [call("L1"), call("L2")])
    assert landing.ingest(["calls"]).ok
    # 2 of 4 bad: one fails the contract, one the quality gate
    landing.jsonl(
        "calls/2026-10-02.jsonl",
        [
            call("L3", answered_at="2026-10-01T08:00:00Z"),
            call("L4", direction="sideways"),
            call("L5"),
            call("L1", emitted_at="2026-10-02T00:00:00Z", queue="tech"),  # a correction
        ],
    )
    report = landing.ingest(["calls"])
    (result,) = [r for r in report.files if r.status != "skipped"]
    assert result.status == "refused" and not report.ok
    assert "bad_row_share>0.25" in result.error
    assert (result.rows_read, result.rows_inserted, result.rows_updated) == (4, 0, 0)
    assert result.rows_quarantined == 4
    # nothing of the refused file reached raw: L1 keeps its first version
    assert landing.query("SELECT leg_id, queue FROM raw.calls ORDER BY 1") == [
        ("L1", "billing"),
        ("L2", "billing"),
    ]
    assert dict(landing.query("SELECT line, reason FROM raw._quarantine")) == {
        1: "quality:order:answered_at>=arrived_at",
        2: "unknown_value:direction",
        3: "quality_refused:bad_row_share>0.25",
        4: "quality_refused:bad_row_share>0.25",
    }
    ((status, reason),) = landing.query(
        "SELECT status, reason FROM raw._feed_status WHERE feed = 'calls'"
    )
    assert status == "degraded" and "calls/2026-10-02.jsonl" not in reason
    assert "bad_row_share" in reason
    # a re-run does not retry the refused file (it is accounted for)
    again = landing.ingest(["calls"])
    assert [r.status for r in again.files] == ["skipped", "skipped"]
    _reconciles(landing)

    # the next good file brings the feed back
    landing.jsonl("calls/2026-10-03.jsonl", [call("L6")])
    assert landing.ingest(["calls"]).ok
    assert landing.query("SELECT status FROM raw._feed_status WHERE feed = 'calls'") == [("ok",)]


def test_several_files_form_one_batch_and_a_key_redelivered_across_them_is_not_a_fault(landing):
    landing.jsonl("calls/2026-10-01.jsonl", [call("L1"), call("L2")])
    landing.jsonl(
        "calls/2026-10-02.jsonl",
        [call("L1", emitted_at="2026-10-02T00:00:00Z", queue="tech"), call("L3")],
    )
    report = landing.ingest(["calls"])
    assert report.ok and [r.status for r in report.files] == ["loaded", "loaded"]
    assert landing.query("SELECT leg_id, queue FROM raw.calls ORDER BY 1") == [
        ("L1", "tech"),
        ("L2", "billing"),
        ("L3", "billing"),
    ]
    batches = landing.query("SELECT DISTINCT batch_id FROM raw._gate_files")
    assert len(batches) == 1  # one GX validation for the run's calls
    assert landing.query(
        "SELECT expectation, passed FROM raw._quality_results WHERE expectation = 'unique:leg_id'"
    ) == [("unique:leg_id", True)]


def test_a_batch_compares_each_file_with_the_rows_its_earlier_files_wrote(landing):
    # the batch looks its stored keys up once, before its first commit: a later file of
    # the batch must still see what an earlier one inserted or updated since
    landing.jsonl("calls/2026-10-01.jsonl", [call("L1", emitted_at="2026-10-01T10:00:00Z")])
    landing.ingest(["calls"])
    landing.jsonl(
        "calls/2026-10-02.jsonl",
        [call("L1", emitted_at="2026-10-01T11:00:00Z", queue="tech"), call("L2")],
    )
    landing.jsonl(
        "calls/2026-10-03.jsonl",
        [
            call("L1", emitted_at="2026-10-01T10:30:00Z", queue="stale"),  # older than 11:00
            call("L2", queue="sales", emitted_at="2026-10-02T09:00:00Z"),  # newer than file 2
            call("L3"),
        ],
    )
    report = landing.ingest(["calls"])
    assert report.ok
    assert len(landing.query("SELECT DISTINCT batch_id FROM raw._gate_files")) == 2
    second, third = report.files[-2:]
    assert (second.rows_inserted, second.rows_updated, second.rows_duplicate) == (1, 1, 0)
    assert (third.rows_inserted, third.rows_updated, third.rows_duplicate) == (1, 1, 1)
    assert landing.query("SELECT leg_id, queue FROM raw.calls ORDER BY 1") == [
        ("L1", "tech"),
        ("L2", "sales"),
        ("L3", "billing"),
    ]


def test_files_staged_while_the_batch_before_commits_load_as_if_one_at_a_time(tmp_path, caplog):
    # a batch per file: the next files are staged (on a thread of their own, into the other
    # gate) while each batch is validated and committed; the outcome is that of the files
    # loaded one by one in path order
    landing = _gated(Landing(tmp_path), max_bad_row_share=0.25, gate_batch_rows=1)
    landing.jsonl("calls/2026-10-01.jsonl", [call("L1"), call("L2")])
    landing.jsonl(
        "calls/2026-10-02.jsonl",
        [call("L1", emitted_at="2026-10-02T00:00:00Z", queue="tech"), call("L3")],
    )
    landing.jsonl(  # refused: half its rows are bad
        "calls/2026-10-03.jsonl", [call("L4", direction="sideways"), call("L2", queue="no")]
    )
    landing.text("calls/2026-10-04.jsonl", json.dumps([call("L5")], indent=2) + "\n")  # failed
    landing.jsonl(
        "calls/2026-10-05.jsonl",
        [call("L2", emitted_at="2026-10-05T00:00:00Z", queue="sales"), call("L6")],
    )
    with caplog.at_level("DEBUG", logger="ingest.load"):
        report = landing.ingest(["calls"])
    assert [(r.status, r.rows_inserted, r.rows_updated) for r in report.files] == [
        ("loaded", 2, 0),
        ("loaded", 1, 1),
        ("refused", 0, 0),
        ("failed", 0, 0),
        ("loaded", 1, 1),
    ]
    assert landing.query("SELECT leg_id, queue FROM raw.calls ORDER BY 1") == [
        ("L1", "tech"),
        ("L2", "sales"),
        ("L3", "billing"),
        ("L6", "billing"),
    ]
    assert landing.query("SELECT path, batch_id FROM raw._gate_files ORDER BY path") == [
        ("calls/2026-10-01.jsonl", f"run-{report.run_id}"),
        ("calls/2026-10-02.jsonl", f"run-{report.run_id}.2"),
        ("calls/2026-10-03.jsonl", f"run-{report.run_id}.3"),
        ("calls/2026-10-05.jsonl", f"run-{report.run_id}.4"),
    ]
    staged_on = {r.threadName for r in caplog.records if ": staged (" in r.getMessage()}
    assert staged_on == {"beacon-stage"}
    _reconciles(landing)
    assert landing.query("SELECT status FROM raw._feed_status WHERE feed = 'calls'") == [("ok",)]


def test_replay_re_runs_the_gate_and_loads_rows_once_the_cause_is_fixed(landing):
    landing.jsonl(
        "calls/2026-10-01.jsonl",
        [call("L1"), call("L2", talk_seconds=10 * 3600), call("L3")],
    )
    landing.ingest(["calls"])
    assert landing.query("SELECT count(*) FROM raw.calls") == [(2,)]

    # unchanged settings: the gate fails the row again, nothing is replayed
    still = replay(landing.config)
    assert still.rows_replayed == 0
    assert dict(still.still_quarantined) == {"quality:duration:talk_seconds": 1}
    assert landing.query("SELECT count(*) FROM raw.calls") == [(2,)]

    # a 12 h maximum accepts the 10 h call
    _gated(landing, max_duration_seconds=12 * 3600)
    done = replay(landing.config)
    assert (done.rows_inserted, done.rows_still_quarantined) == (1, 0)
    assert landing.query("SELECT leg_id, talk_seconds FROM raw.calls WHERE leg_id = 'L2'") == [
        ("L2", 36000.0)
    ]
    assert replay(landing.config).rows_checked == 0  # replayed once, never again


def test_tickets_and_crm_are_gated_too_and_data_docs_are_written(landing):
    landing.jsonl(
        "tickets/2026-10-01.jsonl",
        [
            ticket("E1", "created"),
            # emitted before it occurred: the order check fails it
            ticket("E2", occurred_at="2026-10-01T10:00:00Z", emitted_at="2026-10-01T09:00:00Z"),
        ],
    )
    report = landing.ingest(["tickets"])
    (result,) = report.files
    assert result.quarantine_reasons == {"quality:order:emitted_at>=occurred_at": 1}
    run_id = report.run_id
    docs = landing.warehouse.parent / "quality" / "data_docs" / "tickets" / f"run-{run_id}"
    assert (docs / "index.html").is_file()


def test_with_the_gates_off_nothing_is_validated(tmp_path):
    landing = _gated(Landing(tmp_path))
    landing.config = dataclasses.replace(
        landing.config, quality=dataclasses.replace(landing.config.quality, gates=False)
    )
    landing.jsonl("calls/2026-10-01.jsonl", [call("L1"), call("L2", talk_seconds=12 * 3600)])
    report = landing.ingest(["calls"])
    assert report.ok and report.files[0].rows_inserted == 2
    assert landing.query(
        "SELECT count(*) FROM information_schema.tables WHERE table_name = '_quality_results'"
    ) in ([(0,)], [(1,)])
    assert landing.query("SELECT count(*) FROM raw._gate_files") == [(0,)]


_IMPORTS_GX = """
import dataclasses, json, sys
from pathlib import Path
from beacon.config import BeaconConfig, QualityConfig
from ingest import ingest_landing

config = BeaconConfig(
    landing_dir=Path(sys.argv[1]), warehouse_path=Path(sys.argv[2]),
    quality=QualityConfig(gates=True, max_bad_row_share=0.5),
)
report = ingest_landing(config)
print(json.dumps([report.ok, [f.status for f in report.files],
                  "great_expectations" in sys.modules]))
"""


def test_gx_is_imported_only_by_a_run_with_a_file_to_validate(landing, tmp_path):
    """GX takes seconds to import: ingest warms it up as soon as a file waits in a gate,
    and a run that finds nothing new never imports it (a fresh interpreter each time)."""
    import subprocess
    import sys

    landing.jsonl("calls/2026-10-01.jsonl", [call("L1"), call("L2")])
    # a script file, not ``python -c``: pyspark, which GX imports when it is installed,
    # exits quietly from a main module without a file (it takes it for a doctest run)
    script = tmp_path / "ingest_once.py"
    script.write_text(_IMPORTS_GX)

    def run() -> list:
        done = subprocess.run(
            [sys.executable, str(script), str(landing.dir), str(landing.warehouse)],
            capture_output=True,
            text=True,
            check=True,
        )
        return json.loads(done.stdout.strip().splitlines()[-1])

    assert run() == [True, ["loaded"], True]
    assert run() == [True, ["skipped"], False]
    assert landing.query("SELECT count(*) FROM raw.calls") == [(2,)]


def test_the_gate_stages_quarantines_and_collapses_a_file_exactly_as_ingest_without_it(
    tmp_path,
):
    """With the gates on, a file is checked against its contract on its way into the gate's
    batch (``Gate.stage_checked``), not through a temp table of its own: the same files,
    ingested with the gates off and on (no file refused), give the same rows, quarantine
    (reasons, lines, keys, raw records) and counts, in every format."""
    first = Landing(tmp_path / "off")
    # a redelivery of L1 older than the first file's winner but newer than its loser
    later = [call("L1", queue="update", emitted_at="2026-10-01T11:30:00Z"), call("L9")]

    def land(landing: Landing, day: int) -> None:
        if day == 1:
            landing.text(
                "calls/2026-10-01.jsonl",
                "\n".join(
                    [
                        json.dumps(call("L1", queue="newest", emitted_at="2026-10-01T12:00:00Z")),
                        '{"leg_id": "L5", "call_id": ',
                        "",
                        "[1, 2, 3]",
                        "null",
                        json.dumps(call("L1", queue="older", emitted_at="2026-10-01T11:00:00Z")),
                        json.dumps(call("L6", arrived_at="yesterday")),
                        json.dumps(call("L2", queue="first", emitted_at=None)),
                        json.dumps(call("L7", talk_seconds="abc", leg_seq=0)),
                        json.dumps(call("L2", queue="later line", emitted_at=None)),
                        json.dumps(call("L8", direction="Inbound")),
                        json.dumps(call("L3")),
                        json.dumps(call("L3")),
                        json.dumps(call("L4", leg_id="")),
                    ]
                )
                + "\n",
            )
            header = "leg_id,call_id,leg_seq,direction,queue,arrived_at,ended_at,disposition,x"
            landing.text(
                "calls/2026-10-01.csv",
                header
                + "\nC1,C1,1,inbound,billing,2026-10-01T09:00:00Z,2026-10-01T09:05:00Z,handled,x"
                + "\nC2,C2,1,inbound,billing,2026-10-01T09:00:00Z,2026-10-01T09:05:00Z,handled"
                + "\nC5,C5,0,inbound,billing,2026-10-01T09:00:00Z,2026-10-01T09:05:00Z,handled,x"
                + "\nC1,C1,1,inbound,again,2026-10-01T09:00:00Z,2026-10-01T09:05:00Z,handled,x\n",
            )
            landing.parquet(
                "calls/2026-10-01.parquet",
                [call("P1"), call("P2", talk_seconds="-1"), call("P1", queue="second")],
            )
        else:
            landing.jsonl("calls/2026-10-02.jsonl", later)

    def contents(landing: Landing) -> list:
        return [
            landing.query(
                "SELECT * EXCLUDE (_file_id, _ingested_at) FROM raw.calls ORDER BY leg_id"
            ),
            landing.query(
                "SELECT path, line, record_key, reason, raw_record FROM raw._quarantine "
                "ORDER BY path, line"
            ),
            landing.query(
                "SELECT path, status, rows_read, rows_inserted, rows_updated, rows_duplicate, "
                "rows_quarantined FROM raw._files ORDER BY path"
            ),
        ]

    gated = _gated(Landing(tmp_path / "on"), max_bad_row_share=1.0)
    for landing in (first, gated):
        for day in (1, 2):
            land(landing, day)
            report = landing.ingest(["calls"])
            assert report.ok, [f.error for f in report.files]
    assert contents(gated) == contents(first)
    calls, quarantine, files = contents(gated)
    assert len(calls) == 6 and len(quarantine) == 10 and len(files) == 4
    # the gate saw each file's winners only, and failed none of them
    assert gated.query(
        "SELECT sum(rows_checked), sum(rows_failed), count(refused_reason) FROM raw._gate_files"
    ) == [(7, 0, 0)]


def test_a_file_that_fails_once_in_the_batch_leaves_nothing_there(landing, monkeypatch):
    """A file whose counts do not reconcile after its rows entered the gate's batch fails
    alone: its rows leave the batch (``Gate.discard``), so the batch's other file is
    validated and loaded without them."""
    import ingest.load

    real_stage = ingest.load.stage

    def miscounting_stage(con, file, contract, **kwargs):
        staged = real_stage(con, file, contract, **kwargs)
        if file.relpath.endswith("a.jsonl"):
            staged = dataclasses.replace(staged, rows_read=staged.rows_read + 1)
        return staged

    monkeypatch.setattr(ingest.load, "stage", miscounting_stage)
    landing.jsonl("calls/a.jsonl", [call("L1"), call("L2", talk_seconds=-1)])
    landing.jsonl("calls/b.jsonl", [call("L3"), call("L4")])
    report = landing.ingest(["calls"])
    failed, loaded = report.files
    assert failed.status == "failed" and "validation saw 2 records but 3" in failed.error
    assert loaded.status == "loaded" and loaded.rows_inserted == 2
    assert landing.query("SELECT leg_id FROM raw.calls ORDER BY 1") == [("L3",), ("L4",)]
    assert landing.query("SELECT count(*) FROM raw._quarantine") == [(0,)]
    assert landing.query("SELECT path, rows_checked FROM raw._gate_files") == [("calls/b.jsonl", 2)]
    # GX validated b's rows only
    assert landing.query("SELECT max(element_count) FROM raw._quality_results") == [(2,)]
    _reconciles(landing)
