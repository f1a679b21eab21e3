"""Quality gates in ingest: each batch passes its feed's GX suite before it reaches ``raw``.

A *batch* is the new files of one feed in one ingest run (at most
``quality.gate_batch_rows`` rows; more files start another batch). Each file is staged and
checked against its contract as before (:mod:`ingest.load`); its valid rows, one per key,
then wait in an in-memory catalog (``beacon_gate``, attached to the ingest connection and
gone with it) while the suite (:mod:`expectations`) runs once over the whole batch, pushed
down into DuckDB. Then each file is committed on its own, in its one transaction:

* rows failing a **critical row-level** expectation are quarantined with the reason
  ``quality:<expectation name>`` (the first failing expectation, in suite order), and their
  record (the typed values as a JSON object, timestamps in UTC) so that
  ``beacon quarantine replay`` can re-check them once the cause is fixed;
* a file is **refused** (nothing of it reaches ``raw.<feed>``; every row is quarantined
  with ``quality_refused:<why>``) when a critical batch-level expectation fails for it
  (columns missing, keys not unique within the file) or when more than
  ``quality.max_bad_row_share`` of its rows are bad (contract and quality failures
  together). Its manifest row says so (``error``), so it is not retried, and it can be
  replayed after the cause is fixed;
* ``raw._gate_files`` records, per file, its batch, the rows checked and failed and the
  refusal; ``raw._quality_results`` every expectation's outcome per batch (written when the
  batch is validated); GX Data Docs go to
  ``<warehouse dir>/quality/data_docs/<feed>/run-<run id>[.<part>]/index.html``.

``raw._feed_status`` holds one row per feed: ``degraded`` from the first file that was
refused, failed or changed under its path, ``ok`` again once a later file of the feed loads
through the gate. The marts keep being built from the last good data in the meantime.

Crash safety is unchanged: nothing persistent is written until a file's transaction, and
the staged rows live only in memory. See ``docs/quality.md``.
"""

from __future__ import annotations

import functools
import logging
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING

from ingest.contracts import DUCKDB_TYPES, Contract
from ingest.sql import ident, literal
from ingest.warehouse import RAW_SCHEMA

if TYPE_CHECKING:
    import duckdb

    from beacon.config import BeaconConfig
    from expectations.runner import BatchValidation

logger = logging.getLogger(__name__)

CATALOG = "beacon_gate"
#: A gate's tables in ``CATALOG``'s ``main`` schema, suffixed ``_<slot>`` for slots after 0
#: (ingest fills one gate's batch while the other's is validated and committed):
#: ``batch``: the pending files' valid rows (contract columns, ``_line``, ``_gate_file``,
#: ``_gate_row``, and ``_reason``, ``_key``, ``_raw`` as in the staged tables: always NULL
#: once a file is staged, see :meth:`Gate.stage_checked`);
BATCH = "batch"
#: ``quarantined``: the pending files' contract-quarantined rows (``_line, _key, _reason,
#: _raw, _gate_file``);
QUARANTINED = "quarantined"
#: ``failed``: the batch's failing rows (``_gate_row``, ``expectation``): first failure per row
FAILED = "failed"
FILE_COLUMN = "_gate_file"
ROW_COLUMN = "_gate_row"
#: ``_gate_row`` = file number << 40 | line: unique in a batch, and says where a row is from
_LINE_BITS = 40

GATE_FILES_TABLE = f"{ident(RAW_SCHEMA)}.{ident('_gate_files')}"
FEED_STATUS_TABLE = f"{ident(RAW_SCHEMA)}.{ident('_feed_status')}"
_DDL = (
    f"""
CREATE TABLE IF NOT EXISTS {GATE_FILES_TABLE} (
    file_id        BIGINT NOT NULL,
    feed           VARCHAR NOT NULL,
    path           VARCHAR NOT NULL,
    batch_id       VARCHAR NOT NULL,
    rows_checked   BIGINT NOT NULL,
    rows_failed    BIGINT NOT NULL,
    refused_reason VARCHAR,
    validated_at   TIMESTAMP NOT NULL
)
""",
    f"""
CREATE TABLE IF NOT EXISTS {FEED_STATUS_TABLE} (
    feed       VARCHAR PRIMARY KEY,
    status     VARCHAR NOT NULL CHECK (status IN ('ok', 'degraded')),
    since      TIMESTAMP NOT NULL,
    reason     VARCHAR,
    path       VARCHAR,
    updated_at TIMESTAMP NOT NULL
)
""",
)
REFUSED_PREFIX = "quality_refused:"
FAILED_PREFIX = "quality:"


def ensure_gate_schema(con: duckdb.DuckDBPyConnection) -> None:
    """Create ``raw._gate_files``, ``raw._feed_status`` and ``raw._quality_results`` if
    missing."""
    from expectations.runner import ensure_results_table

    for ddl in _DDL:
        con.execute(ddl)
    ensure_results_table(con)


@functools.cache
def warm_up_gates() -> None:
    """Import Great Expectations and patch it for DuckDB (:mod:`expectations.gx_duckdb`)
    ahead of the first validation; once per process. Ingest calls it when a file waits in a
    gate, so that the import overlaps the rest of the batch's staging."""
    from expectations.gx_duckdb import apply_duckdb_fix

    started = time.perf_counter()
    apply_duckdb_fix()
    logger.debug("quality gates warmed up in %.1f s", time.perf_counter() - started)


@dataclass(frozen=True)
class FileVerdict:
    """What the gate decided for one file of a batch."""

    batch_id: str
    rows_checked: int
    #: rows failing a critical row-level expectation (quarantined unless refused)
    rows_failed: int
    #: why the whole file is refused, or None
    refused: str | None


@dataclass(frozen=True)
class FileRows:
    """Where a gated file's winners are: a relation to merge from, and the table (with a
    filter) whose rows :func:`ingest.identity.apply_identity` normalises."""

    relation: str
    table: str
    where: str


@dataclass
class Gate:
    """The pending files of one feed and the validation of them as one batch."""

    con: duckdb.DuckDBPyConnection
    config: BeaconConfig
    contract: Contract
    run_id: int
    enabled: bool
    #: which of the catalog's sets of tables this gate uses (two gates of one connection
    #: need different slots)
    slot: int = 0
    #: the connection that stages files into the batch (None: ``con``)
    stage_con: duckdb.DuckDBPyConnection | None = None
    #: rows read per pending file (by file number), for the bad-row share
    rows_read: dict[int, int] = field(default_factory=dict)
    #: contract-quarantined rows per pending file
    rows_bad: dict[int, int] = field(default_factory=dict)
    #: rows staged for validation
    rows: int = 0
    validation: BatchValidation | None = None
    verdicts: dict[int, FileVerdict] = field(default_factory=dict)

    @classmethod
    def open(
        cls,
        con: duckdb.DuckDBPyConnection,
        config: BeaconConfig,
        contract: Contract,
        run_id: int,
        slot: int = 0,
        stage_con: duckdb.DuckDBPyConnection | None = None,
    ) -> Gate:
        """A gate for ``contract``'s files in ``slot``'s tables (recreated empty).

        ``con`` validates and commits the batch; ``stage_con`` (default: ``con``), a
        cursor of the same database, stages files into it (:meth:`add`): ingest stages the
        next batch on a thread of its own while the previous one is committed.
        """
        gate = cls(
            con,
            config,
            contract,
            run_id,
            enabled=bool(config.quality.gates),
            slot=slot,
            stage_con=stage_con,
        )
        if gate.enabled:
            staging = gate._staging
            attached = staging.execute(
                "SELECT count(*) FROM duckdb_databases() WHERE database_name = $name",
                {"name": CATALOG},
            ).fetchall()[0][0]
            if not attached:
                staging.execute(f"ATTACH ':memory:' AS {CATALOG}")
            gate._reset(staging)
        return gate

    @property
    def _staging(self) -> duckdb.DuckDBPyConnection:
        return self.stage_con or self.con

    def _table(self, name: str) -> str:
        return name if self.slot == 0 else f"{name}_{self.slot}"

    @property
    def batch_table(self) -> str:
        """The batch's valid rows, qualified (a relation with ``_gate_file``)."""
        return f"{CATALOG}.main.{self._table(BATCH)}"

    @property
    def _quarantined(self) -> str:
        return f"{CATALOG}.main.{self._table(QUARANTINED)}"

    @property
    def _failed(self) -> str:
        return f"{CATALOG}.main.{self._table(FAILED)}"

    @property
    def full(self) -> bool:
        return self.rows >= self.config.quality.gate_batch_rows

    @property
    def pending(self) -> bool:
        return bool(self.rows_read)

    def add(
        self,
        seq: int,
        winners_sql: str,
        quarantined: str,
        rows_read: int,
    ) -> None:
        """Stage a file's valid rows (``winners_sql``) and quarantined rows for the batch
        (temp tables of the staging connection; each statement commits, so ``con`` sees
        them)."""
        con = self._staging
        fields = ", ".join(ident(n) for n in self.contract.names)
        staged = con.execute(
            f"INSERT INTO {self.batch_table} SELECT {fields}, _line, $seq AS {FILE_COLUMN}, "
            f"($seq::BIGINT << {_LINE_BITS}) | _line AS {ROW_COLUMN}, NULL, NULL, NULL "
            f"FROM {winners_sql}",
            {"seq": seq},
        ).fetchall()[0][0]
        bad = con.execute(
            f"INSERT INTO {self._quarantined} "
            f"SELECT _line, _key, _reason, _raw, $seq FROM {quarantined}",
            {"seq": seq},
        ).fetchall()[0][0]
        self.rows += staged
        self.rows_read[seq] = rows_read
        self.rows_bad[seq] = bad

    def stage_checked(
        self,
        seq: int,
        checked: str,
        params: Mapping[str, object],
        rows_read: int,
        quarantined: str,
        fill_raw: Callable[[duckdb.DuckDBPyConnection, str], None] | None = None,
    ) -> tuple[int, int, int]:
        """Stage a file straight into the batch; returns its rows checked, valid rows, and
        winners (valid rows, one per key).

        ``checked`` (:func:`ingest.validate.checked_sql` over the staged file, with
        ``params``) is inserted into the batch once, every row with its ``_reason``. Rows
        with a reason then move to the gate's quarantined rows, through the temp table
        ``quarantined`` where ``fill_raw`` completes their raw record, and within the file
        the older versions of a key are dropped (latest ``emitted_at``, then latest line,
        wins). Bad rows and redeliveries within a file are rare, so this writes every row
        once, where checking into a temp table and copying its valid rows into the batch
        wrote them twice. If anything fails, call :meth:`discard`.
        """
        con = self._staging
        batch = self.batch_table
        fields = ", ".join(ident(n) for n in self.contract.names)
        key = ident(self.contract.key)
        file_rows = f"{batch} WHERE {FILE_COLUMN} = $seq"
        checked_rows = con.execute(
            f"INSERT INTO {batch} SELECT {fields}, _line, $seq AS {FILE_COLUMN}, "
            f"($seq::BIGINT << {_LINE_BITS}) | _line AS {ROW_COLUMN}, _reason, _key, _raw "
            f"FROM ({checked}) AS checked",
            {**params, "seq": seq},
        ).fetchall()[0][0]
        valid, winners = con.execute(
            f"SELECT count(*) FILTER (WHERE _reason IS NULL), "
            f"count(DISTINCT {key}) FILTER (WHERE _reason IS NULL) FROM {file_rows}",
            {"seq": seq},
        ).fetchone()
        if valid != checked_rows:
            con.execute(
                f"CREATE OR REPLACE TEMP TABLE {ident(quarantined)} AS SELECT _line, _key, "
                f"_reason, _raw FROM {file_rows} AND _reason IS NOT NULL ORDER BY _line",
                {"seq": seq},
            )
            if fill_raw is not None:
                fill_raw(con, quarantined)
            con.execute(
                f"INSERT INTO {self._quarantined} "
                f"SELECT _line, _key, _reason, _raw, $seq FROM {ident(quarantined)}",
                {"seq": seq},
            )
            con.execute(f"DELETE FROM {file_rows} AND _reason IS NOT NULL", {"seq": seq})
        if winners != valid:
            order = "_line DESC"
            if "emitted_at" in self.contract.names:
                order = f"{ident('emitted_at')} DESC NULLS LAST, _line DESC"
            con.execute(
                f"DELETE FROM {batch} WHERE {ROW_COLUMN} IN (SELECT {ROW_COLUMN} "
                f"FROM {file_rows} QUALIFY row_number() OVER (PARTITION BY {key} "
                f"ORDER BY {order}) > 1)",
                {"seq": seq},
            )
        self.rows += winners
        self.rows_read[seq] = rows_read
        self.rows_bad[seq] = checked_rows - valid
        return checked_rows, valid, winners

    def discard(self, seq: int) -> None:
        """Take a file that failed while (or after) staging out of the batch."""
        con = self._staging
        params = {"seq": seq}
        staged = con.execute(
            f"DELETE FROM {self.batch_table} WHERE {FILE_COLUMN} = $seq", params
        ).fetchall()[0][0]
        con.execute(f"DELETE FROM {self._quarantined} WHERE {FILE_COLUMN} = $seq", params)
        if self.rows_read.pop(seq, None) is not None:  # counted by stage_checked or add
            self.rows -= staged
            self.rows_bad.pop(seq, None)

    def validate(
        self, *, label: str, data_docs: bool = True, refuse_bad_share: bool = True
    ) -> None:
        """Run the feed's suite once over every pending file; decide per file. Some checks
        compare with ``raw`` (``raw.crm``, the feed's history): every earlier batch must be
        committed.

        ``label`` names the batch (ingest: ``run-<run id>``, ``.2`` … for a feed's further
        batches). ``refuse_bad_share``: refuse a file whose share of bad rows is above the
        limit (off for a quarantine replay, whose rows are all formerly bad ones).
        """
        from expectations import validate_batch

        con = self.con
        batch_id = label
        docs = None
        if data_docs:
            docs = (
                Path(self.config.warehouse_path).parent
                / "quality"
                / "data_docs"
                / self.contract.feed
                / batch_id
            )
        feed = self.contract.feed
        validation = validate_batch(
            con,
            feed,
            self._table(BATCH),
            batch_id=batch_id,
            config=self.config,
            persist=True,
            data_docs_dir=docs,
            catalog=CATALOG,
            index_column=ROW_COLUMN,
            unique_within=FILE_COLUMN,
        )
        self.validation = validation
        # first failing critical row-level expectation per row, in suite order
        first: dict[int, str] = {}
        for o in validation.outcomes:
            for row in o.failing_keys or ():
                first.setdefault(int(row), o.expectation)
        con.execute(f"DELETE FROM {self._failed}")
        if first:
            con.execute(
                f"INSERT INTO {self._failed} SELECT unnest($rows), unnest($names)",
                {"rows": list(first), "names": list(first.values())},
            )
        # batch-level critical failures (no failing rows to single out) refuse every file
        batch_level = [
            o.expectation
            for o in validation.critical_failures
            if not o.failing_keys and o.expectation not in _PER_FILE_CHECKS
        ]
        per_file = _per_file_failures(con, self.contract, validation, self.batch_table)
        failed_by_file = dict(
            con.execute(
                f"SELECT {ROW_COLUMN} >> {_LINE_BITS}, count(*) FROM {self._failed} GROUP BY 1"
            ).fetchall()
        )
        checked_by_file = dict(
            con.execute(
                f"SELECT {FILE_COLUMN}, count(*) FROM {self.batch_table} GROUP BY 1"
            ).fetchall()
        )
        limit = float(self.config.quality.max_bad_row_share)
        for seq, read in self.rows_read.items():
            failed = int(failed_by_file.get(seq, 0))
            refused = None
            reasons = batch_level + per_file.get(seq, [])
            bad_share = (self.rows_bad[seq] + failed) / read if read else 0.0
            if reasons:
                refused = ",".join(reasons)
            elif refuse_bad_share and bad_share > limit:
                refused = f"bad_row_share>{limit:g}"
            self.verdicts[seq] = FileVerdict(
                batch_id, int(checked_by_file.get(seq, 0)), failed, refused
            )

    def file_rows(
        self, seq: int, winners: str, quarantined: str, in_place: bool = False
    ) -> FileRows:
        """A file's rows after the gate: where its winners are, and its quarantined rows.

        ``quarantined`` (a temp table, recreated): the file's contract-quarantined rows
        (reason unchanged), the rows the gate failed (``quality:<expectation>``) and, for a
        refused file, every other row (``quality_refused:<why>``). The rest, the winners,
        are copied to the temp table ``winners``; with ``in_place``, a file none of whose
        rows failed is not copied: its winners are read (and their identity fields
        normalised) where they wait in the batch, which saves a copy of every row of it.
        """
        verdict = self.verdicts[seq]
        fields = ", ".join(ident(n) for n in self.contract.names)
        key = ident(self.contract.key)
        params = {"seq": seq}
        batch = self.batch_table
        passed = f"FROM {batch} AS r WHERE r.{FILE_COLUMN} = $seq"
        if verdict.rows_failed:
            passed += (
                f" AND NOT EXISTS (SELECT 1 FROM {self._failed} AS f "
                f"WHERE f.{ROW_COLUMN} = r.{ROW_COLUMN})"
            )
        keep = "true" if verdict.refused is None else "false"
        if in_place and not verdict.rows_failed and verdict.refused is None:
            where = f"{FILE_COLUMN} = {int(seq)}"
            rows = FileRows(
                f"(SELECT {fields}, _line, _reason FROM {batch} WHERE {where})", batch, where
            )
        else:
            # the batch holds each file's rows in line order (insertion order is preserved)
            self.con.execute(
                f"CREATE OR REPLACE TEMP TABLE {ident(winners)} AS SELECT {fields}, _line, "
                f"NULL::VARCHAR AS _reason {passed} AND {keep}",
                params,
            )
            rows = FileRows(winners, winners, "true")
        refused = ""
        if verdict.refused is not None:
            refused = (
                f" UNION ALL SELECT r._line, r.{key}, "
                f"{literal(REFUSED_PREFIX + verdict.refused)}, {record_json(self.contract, 'r')} "
                f"{passed}"
            )
        self.con.execute(
            f"CREATE OR REPLACE TEMP TABLE {ident(quarantined)} AS "
            f"SELECT _line, _key, _reason, _raw FROM {self._quarantined} "
            f"WHERE {FILE_COLUMN} = $seq "
            f"UNION ALL SELECT r._line, r.{key}, {literal(FAILED_PREFIX)} || f.expectation, "
            f"{record_json(self.contract, 'r')} FROM {batch} AS r "
            f"JOIN {self._failed} AS f ON f.{ROW_COLUMN} = r.{ROW_COLUMN} "
            f"WHERE r.{FILE_COLUMN} = $seq{refused}",
            params,
        )
        return rows

    def record_file(
        self, seq: int, file_id: int, path: str, validated_at: datetime
    ) -> FileVerdict | None:
        """Write the file's gate row (inside the file's transaction); None if ungated."""
        verdict = self.verdicts.get(seq)
        if verdict is None:
            return None
        self.con.execute(
            f"INSERT INTO {GATE_FILES_TABLE} VALUES ($file_id, $feed, $path, $batch, "
            f"$checked, $failed, $refused, $at)",
            {
                "file_id": file_id,
                "feed": self.contract.feed,
                "path": path,
                "batch": verdict.batch_id,
                "checked": verdict.rows_checked,
                "failed": verdict.rows_failed,
                "refused": verdict.refused,
                "at": validated_at,
            },
        )
        return verdict

    def clear(self) -> None:
        """Forget the pending files after they were committed."""
        self.rows = 0
        self.rows_read.clear()
        self.rows_bad.clear()
        self.verdicts.clear()
        self.validation = None
        if self.enabled:
            self._reset(self.con)

    def _reset(self, con: duckdb.DuckDBPyConnection) -> None:
        fields = ", ".join(f"{ident(f.name)} {DUCKDB_TYPES[f.type]}" for f in self.contract.fields)
        con.execute(
            f"CREATE OR REPLACE TABLE {self.batch_table} ({fields}, _line BIGINT, "
            f"{FILE_COLUMN} INTEGER, {ROW_COLUMN} BIGINT, _reason VARCHAR, _key VARCHAR, "
            "_raw VARCHAR)"
        )
        con.execute(
            f"CREATE OR REPLACE TABLE {self._quarantined} (_line BIGINT, _key VARCHAR, "
            f"_reason VARCHAR, _raw VARCHAR, {FILE_COLUMN} INTEGER)"
        )
        con.execute(
            f"CREATE OR REPLACE TABLE {self._failed} ({ROW_COLUMN} BIGINT, expectation VARCHAR)"
        )


#: critical batch-level checks that the gate evaluates per file itself
_PER_FILE_CHECKS = ("columns",)


def _per_file_failures(
    con: duckdb.DuckDBPyConnection, contract: Contract, validation: BatchValidation, batch: str
) -> dict[int, list[str]]:
    """Critical batch-level failures that belong to single files: ``unique:<key>`` is
    checked per file (``unique_within``), so the files with a duplicated key are named."""
    out: dict[int, list[str]] = {}
    for o in validation.critical_failures:
        if o.failing_keys or not o.expectation.startswith("unique:"):
            continue
        key = ident(contract.key)
        for (seq,) in con.execute(
            f"SELECT DISTINCT {FILE_COLUMN} FROM {batch} GROUP BY {FILE_COLUMN}, {key} "
            "HAVING count(*) > 1"
        ).fetchall():
            out.setdefault(int(seq), []).append(o.expectation)
    return out


def record_json(contract: Contract, alias: str) -> str:
    """SQL rendering a typed row as the JSON object a JSONL line would hold: text values,
    timestamps as ISO-8601 UTC with ``Z`` (so a replay reads them back unchanged)."""
    parts = []
    for f in contract.fields:
        col = f"{alias}.{ident(f.name)}"
        if f.type == "timestamp":
            value = f"strftime({col}, '%Y-%m-%dT%H:%M:%S.%fZ')"
        else:
            value = f"CAST({col} AS VARCHAR)"
        parts.append(f"{literal(f.name)}: {value}")
    return "CAST(to_json({" + ", ".join(parts) + "}) AS VARCHAR)"


def update_feed_status(
    con: duckdb.DuckDBPyConnection,
    feed: str,
    events: list[tuple[str, str | None]],
    at: datetime,
) -> str | None:
    """Apply a run's file outcomes to ``raw._feed_status`` in order.

    ``events`` are ``(path, problem)`` per file: a problem (refused, failed, changed) makes
    the feed degraded; None (loaded through the gate) makes it ok. Returns the new status
    (None when nothing changed).
    """
    if not events:
        return None
    row = con.execute(
        f"SELECT status, since, reason, path FROM {FEED_STATUS_TABLE} WHERE feed = $feed",
        {"feed": feed},
    ).fetchall()
    status, since, reason, path = row[0] if row else ("ok", at, None, None)
    for event_path, problem in events:
        if problem is None:
            if status != "ok":
                since = at
            status, reason, path = "ok", None, event_path
        else:
            if status != "degraded":
                since = at
            status, reason, path = "degraded", problem, event_path
    con.execute(
        f"INSERT OR REPLACE INTO {FEED_STATUS_TABLE} VALUES ($feed, $status, $since, $reason, "
        "$path, $at)",
        {"feed": feed, "status": status, "since": since, "reason": reason, "path": path, "at": at},
    )
    if status == "degraded":
        logger.error("%s: feed DEGRADED since %s: %s (%s)", feed, since, reason, path)
    return status


def feed_status(con: duckdb.DuckDBPyConnection) -> dict[str, tuple[str, str | None]]:
    """``{feed: (status, reason)}`` for the feeds with a status."""
    return {
        feed: (status, reason)
        for feed, status, reason in con.execute(
            f"SELECT feed, status, reason FROM {FEED_STATUS_TABLE} ORDER BY feed"
        ).fetchall()
    }
