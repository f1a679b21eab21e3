"""The DuckDB warehouse: connecting with Beacon's resource settings, and the ``raw`` schema.

``raw.<feed>`` holds one row per contract key (the latest delivery), typed from the
contract, plus lineage columns ``_file_id``, ``_line`` and ``_ingested_at``.
``raw._files`` is the manifest (one row per file attempt that loaded, failed or changed),
``raw._quarantine`` the rows that failed validation, ``raw._ingest_runs`` one row per
ingest or replay run and ``raw._changed_days`` the event days each run's files touched.
See ``docs/ingest.md``.

DuckDB allows one writer process per file: open a connection per unit of work and close it.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

from ingest.contracts import CONTRACTS, DUCKDB_TYPES, Contract
from ingest.sql import ident

if TYPE_CHECKING:
    import duckdb

    from beacon.config import BeaconConfig

RAW_SCHEMA = "raw"
MANIFEST_TABLE = f"{ident(RAW_SCHEMA)}.{ident('_files')}"
QUARANTINE_TABLE = f"{ident(RAW_SCHEMA)}.{ident('_quarantine')}"
FILE_ID_SEQUENCE = f"{ident(RAW_SCHEMA)}.{ident('_file_id_seq')}"
RUNS_TABLE = f"{ident(RAW_SCHEMA)}.{ident('_ingest_runs')}"
RUN_ID_SEQUENCE = f"{ident(RAW_SCHEMA)}.{ident('_run_id_seq')}"
CHANGED_DAYS_TABLE = f"{ident(RAW_SCHEMA)}.{ident('_changed_days')}"
#: lineage columns appended to every feed table
LINEAGE_COLUMNS: tuple[tuple[str, str], ...] = (
    ("_file_id", "BIGINT"),
    ("_line", "BIGINT"),
    ("_ingested_at", "TIMESTAMP"),
)

_MANIFEST_DDL = f"""
CREATE TABLE IF NOT EXISTS {MANIFEST_TABLE} (
    file_id          BIGINT PRIMARY KEY,
    feed             VARCHAR NOT NULL,
    path             VARCHAR NOT NULL,
    size_bytes       BIGINT NOT NULL,
    mtime_ns         BIGINT,
    sha256           VARCHAR,
    format           VARCHAR NOT NULL,
    status           VARCHAR NOT NULL CHECK (status IN ('loaded', 'failed', 'changed')),
    rows_read        BIGINT,
    rows_inserted    BIGINT,
    rows_updated     BIGINT,
    rows_duplicate   BIGINT,
    rows_quarantined BIGINT,
    min_event_at     TIMESTAMP,
    max_event_at     TIMESTAMP,
    error            VARCHAR,
    started_at       TIMESTAMP NOT NULL,
    finished_at      TIMESTAMP
)
"""

_QUARANTINE_DDL = f"""
CREATE TABLE IF NOT EXISTS {QUARANTINE_TABLE} (
    file_id        BIGINT NOT NULL,
    feed           VARCHAR NOT NULL,
    path           VARCHAR NOT NULL,
    line           BIGINT NOT NULL,
    record_key     VARCHAR,
    reason         VARCHAR NOT NULL,
    raw_record     VARCHAR,
    quarantined_at TIMESTAMP NOT NULL
)
"""


_RUNS_DDL = f"""
CREATE TABLE IF NOT EXISTS {RUNS_TABLE} (
    run_id        BIGINT PRIMARY KEY,
    kind          VARCHAR NOT NULL CHECK (kind IN ('ingest', 'replay')),
    feeds         VARCHAR NOT NULL,
    started_at    TIMESTAMP NOT NULL,
    finished_at   TIMESTAMP,
    files_loaded  BIGINT,
    rows_inserted BIGINT,
    rows_updated  BIGINT
)
"""

_CHANGED_DAYS_DDL = f"""
CREATE TABLE IF NOT EXISTS {CHANGED_DAYS_TABLE} (
    run_id     BIGINT NOT NULL,
    file_id    BIGINT NOT NULL,
    feed       VARCHAR NOT NULL,
    event_date DATE NOT NULL,
    rows       BIGINT NOT NULL
)
"""

#: columns added to existing tables after their first release (name, type)
_ADDED_COLUMNS: dict[str, tuple[tuple[str, str], ...]] = {
    QUARANTINE_TABLE: (
        ("replayed_at", "TIMESTAMP"),
        ("replay_run_id", "BIGINT"),
        ("replay_result", "VARCHAR"),
    ),
    MANIFEST_TABLE: (("phones_unparseable", "BIGINT"),),
}


def table_name(feed: str) -> str:
    """The quoted, schema-qualified raw table of a feed (``"raw"."calls"``)."""
    if feed not in CONTRACTS:
        raise ValueError(f"unknown feed {feed!r}")
    return f"{ident(RAW_SCHEMA)}.{ident(feed)}"


def feed_table_ddl(contract: Contract) -> str:
    """``CREATE TABLE IF NOT EXISTS raw.<feed>`` from the contract."""
    columns = []
    for f in contract.fields:
        col = f"{ident(f.name)} {DUCKDB_TYPES[f.type]}"
        if f.required:  # the key is required: NOT NULL, unique by the merge (no index)
            col += " NOT NULL"
        columns.append(col)
    columns += [f"{ident(name)} {sql_type} NOT NULL" for name, sql_type in LINEAGE_COLUMNS]
    body = ",\n    ".join(columns)
    return f"CREATE TABLE IF NOT EXISTS {table_name(contract.feed)} (\n    {body}\n)"


def connect(
    path: Path | str,
    read_only: bool = False,
    config: BeaconConfig | None = None,
) -> duckdb.DuckDBPyConnection:
    """Open the warehouse with ``config``'s thread and memory settings applied.

    A writable connection creates the parent folders. Close the connection when done:
    only one process can hold the file for writing.
    """
    import duckdb

    path = Path(path)
    if not read_only:
        path.parent.mkdir(parents=True, exist_ok=True)
    settings: dict[str, str | int | bool] = {}
    if config is not None and config.duckdb_threads:
        settings["threads"] = int(config.duckdb_threads)
    if config is not None:
        settings["memory_limit"] = config.memory_limit
    con = duckdb.connect(str(path), read_only=read_only, config=settings)
    # no progress bar on stdout: callers are tasks and tests, not an interactive shell
    con.execute("SET enable_progress_bar = false")
    return con


def ensure_schema(con: duckdb.DuckDBPyConnection) -> None:
    """Create the ``raw`` schema, manifest, quarantine and feed tables if missing.

    A field added to a contract later (contracts only grow) is added to the existing table
    as a nullable column.
    """
    con.execute("BEGIN")
    try:
        con.execute(f"CREATE SCHEMA IF NOT EXISTS {ident(RAW_SCHEMA)}")
        con.execute(f"CREATE SEQUENCE IF NOT EXISTS {FILE_ID_SEQUENCE} START 1")
        con.execute(_MANIFEST_DDL)
        con.execute(_QUARANTINE_DDL)
        con.execute(f"CREATE SEQUENCE IF NOT EXISTS {RUN_ID_SEQUENCE} START 1")
        con.execute(_RUNS_DDL)
        con.execute(_CHANGED_DAYS_DDL)
        for table, added in _ADDED_COLUMNS.items():
            for name, sql_type in added:
                con.execute(
                    f"ALTER TABLE {table} ADD COLUMN IF NOT EXISTS {ident(name)} {sql_type}"
                )
        for contract in CONTRACTS.values():
            con.execute(feed_table_ddl(contract))
            existing = {
                row[0]
                for row in con.execute(
                    "SELECT column_name FROM information_schema.columns "
                    "WHERE table_schema = $schema AND table_name = $table",
                    {"schema": RAW_SCHEMA, "table": contract.feed},
                ).fetchall()
            }
            for f in contract.fields:
                if f.name not in existing:
                    con.execute(
                        f"ALTER TABLE {table_name(contract.feed)} "
                        f"ADD COLUMN {ident(f.name)} {DUCKDB_TYPES[f.type]}"
                    )
        con.execute("COMMIT")
    except BaseException:
        con.execute("ROLLBACK")
        raise
