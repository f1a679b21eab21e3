"""Files in flight: files being written, rewritten, or arriving while an ingest runs."""

from __future__ import annotations

import os

import pytest

from tests.ingest_fixtures import Landing, call


@pytest.fixture
def landing(tmp_path) -> Landing:
    return Landing(tmp_path)


def test_a_tmp_file_is_read_only_once_renamed(landing):
    landing.jsonl("calls/a.jsonl.tmp", [call("L1")])
    landing.jsonl("calls/.b.jsonl", [call("L2")])
    report = landing.ingest()
    assert report.ok and report.files == []
    os.rename(landing.dir / "calls/a.jsonl.tmp", landing.dir / "calls/a.jsonl")
    os.rename(landing.dir / "calls/.b.jsonl", landing.dir / "calls/b.jsonl")
    report = landing.ingest()
    assert [(r.path, r.status, r.rows_inserted) for r in report.files] == [
        ("calls/a.jsonl", "loaded", 1),
        ("calls/b.jsonl", "loaded", 1),
    ]


def test_files_arriving_during_a_run_are_picked_up_by_the_next_run(landing, monkeypatch):
    import ingest.load

    landing.jsonl("calls/2026-10-01.jsonl", [call("L1")])
    landing.jsonl("calls/2026-10-02.jsonl", [call("L2")])
    real_prepare = ingest.load._Run._prepare

    def prepare_then_land_more(*args, **kwargs):
        result = real_prepare(*args, **kwargs)
        # a producer drops new files (one sorting before, one after) while the run goes on
        landing.jsonl("calls/2026-09-30.jsonl", [call("L0")])
        landing.jsonl("calls/2026-10-03.jsonl", [call("L3")])
        return result

    monkeypatch.setattr(ingest.load._Run, "_prepare", prepare_then_land_more)
    first = landing.ingest()
    monkeypatch.undo()

    # the run works on the snapshot discovery took at its start
    assert [r.path for r in first.files] == ["calls/2026-10-01.jsonl", "calls/2026-10-02.jsonl"]
    assert landing.query("SELECT leg_id FROM raw.calls ORDER BY 1") == [("L1",), ("L2",)]
    second = landing.ingest()
    assert [(r.path, r.status) for r in second.files] == [
        ("calls/2026-09-30.jsonl", "loaded"),
        ("calls/2026-10-01.jsonl", "skipped"),
        ("calls/2026-10-02.jsonl", "skipped"),
        ("calls/2026-10-03.jsonl", "loaded"),
    ]
    assert landing.query("SELECT count(*) FROM raw.calls") == [(4,)]


def test_a_file_rewritten_while_it_is_read_is_not_committed(landing, monkeypatch):
    import ingest.load

    path = landing.jsonl("calls/a.jsonl", [call("L1")])
    real_digest = ingest.load.digest_file

    def digest_then_append(*args, **kwargs):
        digest = real_digest(*args, **kwargs)
        with open(path, "a") as fh:  # a producer still writing under the final name
            fh.write('{"leg_id": "L2"')
        return digest

    monkeypatch.setattr(ingest.load, "digest_file", digest_then_append)
    (result,) = landing.ingest().files
    monkeypatch.undo()
    assert result.status == "failed" and "changed while it was being read" in result.error
    assert landing.query("SELECT count(*) FROM raw.calls") == [(0,)]
    assert landing.query("SELECT count(*) FROM raw._quarantine") == [(0,)]

    # the producer finishes the file; the next run loads it whole, under the same row
    landing.jsonl("calls/a.jsonl", [call("L1"), call("L2")])
    (again,) = landing.ingest().files
    assert (again.status, again.rows_inserted, again.file_id) == ("loaded", 2, result.file_id)


def test_a_changed_file_moved_to_a_new_name_is_a_new_batch_that_dedupes(landing):
    landing.jsonl("calls/2026-10-01.jsonl", [call("L1"), call("L2")])
    landing.ingest()
    # the producer rewrites a landed file in place: L1 corrected, L3 added
    corrected = [
        call("L1"),
        call("L2", queue="sales", emitted_at="2026-10-01T10:00:00Z"),
        call("L3"),
    ]
    landing.jsonl("calls/2026-10-01.jsonl", corrected)
    report = landing.ingest()
    assert not report.ok and report.files[0].status == "changed"
    assert landing.query("SELECT count(*) FROM raw.calls") == [(2,)]

    # the operator's way out: give the new content a new name (a new batch)
    os.rename(landing.dir / "calls/2026-10-01.jsonl", landing.dir / "calls/2026-10-01.v2.jsonl")
    report = landing.ingest()
    assert report.ok
    (result,) = report.files
    assert (result.path, result.status) == ("calls/2026-10-01.v2.jsonl", "loaded")
    assert (result.rows_inserted, result.rows_updated, result.rows_duplicate) == (1, 1, 1)
    assert landing.query("SELECT leg_id, queue FROM raw.calls ORDER BY 1") == [
        ("L1", "billing"),
        ("L2", "sales"),
        ("L3", "billing"),
    ]
    # the history stays: the old path's loaded and changed rows, the new path's loaded row
    assert landing.query("SELECT path, status FROM raw._files ORDER BY file_id") == [
        ("calls/2026-10-01.jsonl", "loaded"),
        ("calls/2026-10-01.jsonl", "changed"),
        ("calls/2026-10-01.v2.jsonl", "loaded"),
    ]
