"""The raw layer as Parquet: what a Spark cluster (or any engine) reads as the dbt sources.

``beacon export-raw --warehouse W --out DIR`` writes every table of the warehouse's ``raw``
schema (the feed tables and ingest's own records) as a hive-style partitioned Parquet
dataset, one folder per table (docs/spark.md, "The raw layer as Parquet"):

    DIR/calls/day=2026-10-01/data_0.parquet        a feed: partitioned by UTC event day
    DIR/tickets/day=…/  DIR/crm/day=…/             (the feed is the folder)
    DIR/files/feed=calls/data_0.parquet            ingest's records (raw._files …): by feed
    DIR/ingest_runs/data_0.parquet                 not per feed: one file

A table's folder is its name without the leading underscore of ingest's own tables: Spark and
Hadoop take names that start with ``_`` or ``.`` for hidden files and read nothing there.

The ``day`` partition is derived (the UTC date of the event timestamp) and is not a column
of the raw table: readers drop it (``macros/spark.sql`` does). ``feed`` is the tables' own
column. A table with no rows is written as one file with its schema, so
a reader still finds its columns. Each table's folder is replaced whole: the export is a
snapshot of the raw layer as of the moment it runs (it reads one DuckDB transaction).
"""

from __future__ import annotations

import json
import logging
import shutil
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from beacon.config import BeaconConfig

log = logging.getLogger(__name__)

#: the event timestamp whose UTC date partitions each feed table
FEED_EVENT_COLUMNS = {"calls": "arrived_at", "tickets": "occurred_at", "crm": "occurred_at"}
#: the derived partition column of the feed tables (not a raw column: readers drop it)
DAY_PARTITION = "day"
#: written beside the tables: what was exported, when, and each table's columns and types
MANIFEST = "_export.json"


@dataclass(frozen=True)
class ExportedTable:
    name: str
    rows: int
    partitions: tuple[str, ...]
    files: int
    bytes: int


def folder_name(table: str) -> str:
    """The folder of raw table ``table`` in an export (module docstring)."""
    return table.lstrip("_")


def _quote(identifier: str) -> str:
    return '"' + identifier.replace('"', '""') + '"'


def _literal(text: str) -> str:
    return "'" + text.replace("'", "''") + "'"


def export_raw(config: BeaconConfig, out_dir: Path | str) -> list[ExportedTable]:
    """Export every ``raw`` table of ``config``'s warehouse to ``out_dir`` (module docstring).

    Returns what was written per table. The warehouse is opened read-only, so the export can
    run beside readers, but not while a writer (ingest, dbt) holds the file.
    """
    from ingest.warehouse import connect

    out = Path(out_dir).resolve()
    out.mkdir(parents=True, exist_ok=True)
    con = connect(config.warehouse_path, read_only=True, config=config)
    exported: list[ExportedTable] = []
    manifest: dict[str, dict] = {}
    try:
        con.execute("BEGIN")  # one snapshot for every table
        tables = [
            row[0]
            for row in con.execute(
                "SELECT table_name FROM duckdb_tables() WHERE schema_name = 'raw' "
                "ORDER BY table_name"
            ).fetchall()
        ]
        for table in tables:
            columns = con.execute(
                "SELECT column_name, data_type FROM duckdb_columns() "
                "WHERE schema_name = 'raw' AND table_name = ? ORDER BY column_index",
                [table],
            ).fetchall()
            names = [name for name, _ in columns]
            if DAY_PARTITION in names:
                raise ValueError(f"raw.{table} has a column named {DAY_PARTITION!r}")
            exported.append(_export_table(con, table, names, out))
            manifest[table] = {
                "columns": [{"name": n, "type": t} for n, t in columns],
                "partitions": list(exported[-1].partitions),
                "rows": exported[-1].rows,
            }
        con.execute("COMMIT")
    finally:
        con.close()
    (out / MANIFEST).write_text(
        json.dumps(
            {
                "warehouse": str(config.warehouse_path.resolve()),
                "exported_at": datetime.now(UTC).isoformat(timespec="seconds"),
                "tables": manifest,
            },
            indent=2,
        )
    )
    return exported


def _export_table(con, table: str, names: list[str], out: Path) -> ExportedTable:
    source = f"raw.{_quote(table)}"
    (rows,) = con.execute(f"SELECT count(*) FROM {source}").fetchone()
    select = ", ".join(_quote(n) for n in names)
    partitions: tuple[str, ...] = ()
    if table in FEED_EVENT_COLUMNS:
        event = _quote(FEED_EVENT_COLUMNS[table])
        select += f", CAST({event} AS DATE) AS {DAY_PARTITION}"
        partitions = (DAY_PARTITION,)
    elif "feed" in names:
        partitions = ("feed",)
    target = out / folder_name(table)
    staged = out / f".{table}.tmp"
    shutil.rmtree(staged, ignore_errors=True)
    staged.mkdir(parents=True)
    if rows and partitions:
        by = ", ".join(_quote(p) for p in partitions)
        con.execute(
            f"COPY (SELECT {select} FROM {source}) TO {_literal(str(staged))} "
            f"(FORMAT parquet, PARTITION_BY ({by}), OVERWRITE_OR_IGNORE)"
        )
    else:
        # no rows (no partition folders could carry the schema) or nothing to partition by
        plain = ", ".join(_quote(n) for n in names)
        con.execute(
            f"COPY (SELECT {plain} FROM {source}) TO "
            f"{_literal(str(staged / 'data_0.parquet'))} (FORMAT parquet)"
        )
        partitions = ()
    previous = out / f".{table}.old"
    shutil.rmtree(previous, ignore_errors=True)
    if target.exists():
        target.rename(previous)
    staged.rename(target)
    shutil.rmtree(previous, ignore_errors=True)
    files = [p for p in target.rglob("*.parquet")]
    size = sum(p.stat().st_size for p in files)
    log.info(
        "raw.%s: %s rows exported to %s (%d files, %s bytes%s)",
        table,
        f"{rows:,}",
        target,
        len(files),
        f"{size:,}",
        f", partitioned by {', '.join(partitions)}" if partitions else "",
    )
    return ExportedTable(table, int(rows), partitions, len(files), size)
