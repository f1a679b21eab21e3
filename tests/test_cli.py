"""`beacon run` over a user's landing folder: the documented way to point Beacon at feeds."""

from __future__ import annotations

import duckdb

from beacon.cli import main
from tests.conftest import simulate_centre


def test_run_loads_builds_and_summarises_then_fails_loudly_on_a_bad_file(tmp_path, capsys):
    centre = simulate_centre(tmp_path / "centre", days=8, contacts_per_day=120, agents=6)
    warehouse = tmp_path / "mine.duckdb"
    args = ["run", "--landing", str(centre.landing_dir), "--warehouse", str(warehouse)]

    assert main(args) == 0
    out = capsys.readouterr().out
    assert "all channels" in out and "FCR" in out and "quarant." in out

    # a producer drops a truncated gzip: the run fails (exit 1) and says which file,
    # the good new file beside it is still loaded, and the marts keep the last good build
    bad = centre.landing_dir / "calls" / "2026" / "10" / "calls_broken.jsonl.gz"
    bad.write_bytes(b"\x1f\x8b\x08\x00 not really gzip")
    good = centre.landing_dir / "crm" / "2026" / "10" / "crm_extra.jsonl"
    good.write_text(
        '{"event_id": "extra-1", "customer_id": "C-NEW", "event_type": "customer_created",'
        ' "occurred_at": "2026-10-08T10:00:00Z"}\n'
    )
    with duckdb.connect(str(warehouse), read_only=True) as con:
        mart_before = con.execute("select * from marts.mart_daily_outcomes order by all").fetchall()

    assert main(args) == 1
    with duckdb.connect(str(warehouse), read_only=True) as con:
        status = dict(con.execute("select path, status from raw._files").fetchall())
        error = con.execute("select error from raw._files where status = 'failed'").fetchall()[0][0]
        assert (
            con.execute("select count(*) from raw.crm where event_id = 'extra-1'").fetchall()[0][0]
            == 1
        )
        mart_after = con.execute("select * from marts.mart_daily_outcomes order by all").fetchall()
    assert status["calls/2026/10/calls_broken.jsonl.gz"] == "failed"
    assert status["crm/2026/10/crm_extra.jsonl"] == "loaded"
    assert "gzip" in error.lower()
    assert mart_after == mart_before
