"""Late data → changed days: ingest tells the transform which event days changed."""

from __future__ import annotations

from datetime import date

import pytest

from ingest.changes import changed_days, latest_run_id
from ingest.warehouse import connect
from tests.ingest_fixtures import Landing, call, ticket


@pytest.fixture
def landing(tmp_path) -> Landing:
    return Landing(tmp_path)


def _changes(landing: Landing, **kwargs):
    con = connect(landing.warehouse, read_only=True)
    try:
        return changed_days(con, **kwargs), latest_run_id(con)
    finally:
        con.close()


def test_a_late_file_for_a_long_past_day_reports_that_day(landing):
    landing.jsonl(
        "calls/2026-10-01.jsonl",
        [call("L1"), call("L2", arrived_at="2026-10-02T23:30:00+02:00")],  # 21:30 UTC
    )
    landing.jsonl("tickets/2026-10-01.jsonl", [ticket("E1")])
    report = landing.ingest()
    days, watermark = _changes(landing)
    assert watermark == report.run_id
    assert days == {"calls": [date(2026, 10, 1), date(2026, 10, 2)], "tickets": [date(2026, 10, 1)]}

    # today: a file for June lands, plus a correction moving L1 from 1 to 5 October,
    # plus a redelivery that changes nothing
    landing.jsonl(
        "calls/2026-11-24.jsonl",
        [
            call("OLD", arrived_at="2026-06-15T08:00:00Z", ended_at="2026-06-15T08:05:00Z"),
            call("L1", arrived_at="2026-10-05T09:00:00Z", emitted_at="2026-10-05T10:00:00Z"),
            call("L2", arrived_at="2026-10-02T23:30:00+02:00"),
        ],
    )
    report = landing.ingest()
    days, new_watermark = _changes(landing, since_run_id=watermark)
    # June 15 (new), 1 October (L1's old day), 5 October (its new day); not 2 October
    assert days == {"calls": [date(2026, 6, 15), date(2026, 10, 1), date(2026, 10, 5)]}
    assert new_watermark == report.run_id > watermark
    assert _changes(landing, since_run_id=watermark, feeds=["tickets"])[0] == {}

    # a no-op run changes no day
    landing.ingest()
    assert _changes(landing, since_run_id=new_watermark)[0] == {}
    # the same question by time: runs started since the second run's start
    ((second_started,),) = landing.query(
        "SELECT started_at FROM raw._ingest_runs WHERE run_id = ?", [new_watermark]
    )
    assert _changes(landing, since=second_started)[0] == days


def test_runs_are_recorded_with_their_counts_and_days_per_file(landing):
    landing.jsonl("calls/a.jsonl", [call("L1"), call("L2", leg_seq=0)])
    report = landing.ingest()
    ((run_id, kind, feeds, files, ins, upd, finished),) = landing.query(
        "SELECT run_id, kind, feeds, files_loaded, rows_inserted, rows_updated, "
        "finished_at IS NOT NULL FROM raw._ingest_runs"
    )
    assert (run_id, kind, feeds, files, ins, upd, finished) == (
        report.run_id,
        "ingest",
        "calls,tickets,crm",
        1,
        1,
        0,
        True,
    )
    assert landing.query(
        "SELECT d.run_id, f.path, d.feed, d.event_date, d.rows FROM raw._changed_days d "
        "JOIN raw._files f USING (file_id)"
    ) == [(run_id, "calls/a.jsonl", "calls", date(2026, 10, 1), 1)]


def test_a_rolled_back_file_reports_no_day(landing, monkeypatch):
    import ingest.load

    def crash(*args, **kwargs):
        raise RuntimeError("simulated crash before the manifest row")

    landing.jsonl("calls/a.jsonl", [call("L1")])
    monkeypatch.setattr(ingest.load, "_write_manifest", crash)
    with pytest.raises(RuntimeError):
        landing.ingest()
    monkeypatch.undo()
    assert landing.query("SELECT count(*) FROM raw._changed_days") == [(0,)]
    # the interrupted run stays without finished_at; the next run reports the day
    landing.ingest()
    runs = landing.query(
        "SELECT r.run_id, r.finished_at IS NULL, count(d.run_id) FROM raw._ingest_runs r "
        "LEFT JOIN raw._changed_days d USING (run_id) GROUP BY ALL ORDER BY r.run_id"
    )
    assert [(unfinished, n) for _, unfinished, n in runs] == [(True, 0), (False, 1)]
