"""Which event days changed: what ingest tells the transform.

Every ingest (or quarantine replay) is a run in ``raw._ingest_runs``. Every file a run loads
writes, in the same transaction as its rows, one row per UTC event date it touched into
``raw._changed_days``: the dates of the event time (``arrived_at`` / ``occurred_at``) of the
rows it inserted or updated, **and the old date of every updated row** (a correction that
moves a call from Monday to Tuesday changes both days). A consumer (the incremental dbt
build, issue #5) keeps the last ``run_id`` it processed and asks::

    from ingest.changes import changed_days, latest_run_id
    days = changed_days(con, since_run_id=watermark)  # {"calls": [date, …], …}
    watermark = latest_run_id(con)

A run killed half-way still reports the days of the files it committed (their rows are in
``raw``); its ``finished_at`` stays NULL.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date, datetime
from typing import TYPE_CHECKING

from ingest.warehouse import CHANGED_DAYS_TABLE, RUN_ID_SEQUENCE, RUNS_TABLE

if TYPE_CHECKING:
    import duckdb

#: temp table of the event times a file (or replay batch) touched, one row per time
TOUCHED = "_beacon_touched"


def start_run(
    con: duckdb.DuckDBPyConnection, kind: str, feeds: Sequence[str], started: datetime
) -> int:
    """Record the start of a run (committed at once) and return its id."""
    con.execute("BEGIN")
    try:
        run_id = con.execute(f"SELECT nextval('{RUN_ID_SEQUENCE}')").fetchone()[0]
        con.execute(
            f"INSERT INTO {RUNS_TABLE} (run_id, kind, feeds, started_at) "
            "VALUES ($run_id, $kind, $feeds, $started)",
            {"run_id": run_id, "kind": kind, "feeds": ",".join(feeds), "started": started},
        )
        con.execute("COMMIT")
    except BaseException:
        con.execute("ROLLBACK")
        raise
    return int(run_id)


def finish_run(
    con: duckdb.DuckDBPyConnection,
    run_id: int,
    *,
    files_loaded: int,
    rows_inserted: int,
    rows_updated: int,
    finished: datetime,
) -> None:
    con.execute(
        f"UPDATE {RUNS_TABLE} SET finished_at = $finished, files_loaded = $files, "
        "rows_inserted = $ins, rows_updated = $upd WHERE run_id = $run_id",
        {
            "finished": finished,
            "files": files_loaded,
            "ins": rows_inserted,
            "upd": rows_updated,
            "run_id": run_id,
        },
    )


def record_changed_days(
    con: duckdb.DuckDBPyConnection, run_id: int, file_id: int, feed: str
) -> None:
    """Write the dates in :data:`TOUCHED` (inside the caller's transaction)."""
    exists = con.execute(
        "SELECT count(*) FROM duckdb_tables() WHERE temporary AND table_name = $name",
        {"name": TOUCHED},
    ).fetchone()[0]
    if not exists:
        return
    con.execute(
        f"INSERT INTO {CHANGED_DAYS_TABLE} (run_id, file_id, feed, event_date, rows) "
        f"SELECT $run_id, $file_id, $feed, CAST(e AS DATE), count(*) FROM {TOUCHED} "
        "WHERE e IS NOT NULL GROUP BY ALL ORDER BY 4",
        {"run_id": run_id, "file_id": file_id, "feed": feed},
    )


def changed_days(
    con: duckdb.DuckDBPyConnection,
    since_run_id: int | None = None,
    *,
    since: datetime | None = None,
    feeds: Sequence[str] | None = None,
) -> dict[str, list[date]]:
    """UTC event dates whose raw data changed, per feed, in runs after ``since_run_id``
    (exclusive) and/or runs started at or after ``since`` (naive UTC). Feeds without
    changes are absent."""
    where = ["true"]
    params: dict[str, object] = {}
    if since_run_id is not None:
        where.append("d.run_id > $since_run_id")
        params["since_run_id"] = since_run_id
    if since is not None:
        where.append("r.started_at >= $since")
        params["since"] = since
    if feeds is not None:
        where.append("list_contains($feeds, d.feed)")
        params["feeds"] = list(feeds)
    rows = con.execute(
        f"SELECT d.feed, list(DISTINCT d.event_date ORDER BY d.event_date) "
        f"FROM {CHANGED_DAYS_TABLE} AS d JOIN {RUNS_TABLE} AS r USING (run_id) "
        f"WHERE {' AND '.join(where)} GROUP BY d.feed ORDER BY d.feed",
        params,
    ).fetchall()
    return {feed: list(days) for feed, days in rows}


def latest_run_id(con: duckdb.DuckDBPyConnection) -> int | None:
    """The newest run's id (the watermark to pass as ``since_run_id`` next time)."""
    return con.execute(f"SELECT max(run_id) FROM {RUNS_TABLE}").fetchone()[0]
