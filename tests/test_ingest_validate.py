"""ingest/validate.py's SQL on its own: the typing rules, checked value by value."""

from __future__ import annotations

import random

import duckdb
import pytest

from ingest.contracts import Field
from ingest.validate import typed_expr

# the straightforward form of the timestamp rule, kept here as the reference
REFERENCE = (
    "CASE WHEN substr(ts, 5, 1) = '-' AND substr(ts, 12, 2) <> '24' "
    "THEN timezone('UTC', try_cast(ts AS TIMESTAMPTZ)) END"
)
EDGE_CASES = [
    "2026-10-01T09:00:00Z",
    "2026-10-01 09:00:00",
    "2026-10-01T09:00:00.123456Z",
    "2026-10-01T09:00:00.1234567Z",
    "2026-10-01T09:00:00+02:00",
    "2026-10-01T09:05:00-0500",
    "2026-10-01 09:00:00 Europe/Paris",
    "2026-03-29T01:30:00",  # a local time skipped by the spring change in Europe
    "2026-10-25T01:30:00",  # a local time that happens twice in autumn
    "2026-10-01",
    "2026-10-01T09:00Z",
    "1969-12-31T23:59:59.5Z",
    "0001-01-01T00:00:00Z",
    "9999-12-31T23:59:59.999999Z",
    "2026-10-01T24:00:00Z",
    "2026-10-01T24",
    "2026-10-01T2",
    "2026-13-01T00:00:00Z",
    "20261001T090000Z",
    "2026-1-1",
    "épée-10-01",
    "epoch",
    "infinity",
    "-infinity",
    "now",
    "x",
    "",
    None,
]


@pytest.mark.parametrize("tz", ["UTC", "Europe/London", "America/New_York", "Asia/Kolkata"])
def test_timestamps_become_the_same_naive_utc_as_duckdbs_time_zone_conversion(tz):
    """typed_expr turns the instant into naive UTC through its epoch microseconds (no time
    zone lookup per row): the result must equal timezone('UTC', …) for every value."""
    rng = random.Random(7)
    values = list(EDGE_CASES)
    for _ in range(5000):
        values.append(
            f"{rng.randint(1, 9999):04d}-{rng.randint(1, 12):02d}-{rng.randint(1, 28):02d}"
            f"{rng.choice('T ')}{rng.randint(0, 23):02d}:{rng.randint(0, 59):02d}:"
            f"{rng.randint(0, 59):02d}.{rng.randint(0, 999999):06d}"
            f"{rng.choice(['Z', '+01:00', '-07:00', '+05:45', ''])}"
        )
    con = duckdb.connect()
    try:
        con.execute("SET TimeZone = $tz", {"tz": tz})
        con.execute("CREATE TABLE t (ts VARCHAR)")
        con.executemany("INSERT INTO t VALUES (?)", [[v] for v in values])
        ours = typed_expr(Field("ts", "timestamp"))
        differ = con.execute(
            f"SELECT ts, {REFERENCE}, {ours} FROM t WHERE ({REFERENCE}) IS DISTINCT FROM ({ours})"
        ).fetchall()
        parsed = con.execute(f"SELECT count({ours}) FROM t").fetchone()[0]
    finally:
        con.close()
    assert differ == []
    assert parsed > 5000  # the random values all parse; the bad edge cases do not
