"""Loading landed files into the raw tables exactly once: merge, quarantine, manifest.

For each discovered file, in sorted relative-path order:

1. Already in ``raw._files`` as ``loaded`` under the same path: skipped when size and
   mtime are unchanged (or, with ``verify_checksums``, when the sha256 matches); a
   different sha256 is recorded as ``changed`` and reported as a failure, never loaded.
2. Otherwise the file is staged and validated into temp tables (nothing persistent yet),
   then ONE transaction writes its new and updated rows, its quarantined rows and its
   manifest row, after checking ``rows_read = inserted + updated + duplicate +
   quarantined``. Any error rolls the whole file back and records it as ``failed``.

Redeliveries (same key): the version with the latest ``emitted_at`` wins (a missing
``emitted_at`` counts as the oldest); on a tie the later file in sorted relative-path
order wins, and within a file the later line. A tie whose content is identical is a
duplicate and leaves the stored row untouched. Losers count as duplicates.
"""

from __future__ import annotations

import contextlib
import hashlib
import logging
import threading
import time
from collections.abc import Iterator, Sequence
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from queue import Queue
from typing import TYPE_CHECKING

from ingest.changes import TOUCHED, finish_run, record_changed_days, start_run
from ingest.contracts import FEEDS, Contract, contract_for
from ingest.discover import LandingFile, discover
from ingest.gate import FILE_COLUMN, Gate, ensure_gate_schema, update_feed_status, warm_up_gates
from ingest.identity import apply_identity, pii_key
from ingest.readers import FileRejected, Staged, drop_temp_tables, stage
from ingest.report import FileResult, IngestReport
from ingest.sql import ident
from ingest.validate import checked_sql, effective_contract
from ingest.warehouse import (
    FILE_ID_SEQUENCE,
    MANIFEST_TABLE,
    QUARANTINE_TABLE,
    connect,
    ensure_schema,
    table_name,
)

if TYPE_CHECKING:
    import duckdb

    from beacon.config import BeaconConfig

logger = logging.getLogger(__name__)

CHECKED = "_beacon_checked"
QUARANTINED = "_beacon_quarantined"
WINNERS = "_beacon_winners"
#: a file's rows that passed its quality gate (recreated from the gate's batch)
GATED = "_beacon_gated"
HITS = "_beacon_hits"
#: the keys of a gated batch that may be stored already (see _StoredKeys)
BATCH_KEYS = "_beacon_batch_keys"
ACTIONS = "_beacon_actions"
#: write-ahead log size that triggers a checkpoint during ingest (one is made after each feed)
CHECKPOINT_THRESHOLD = "1GiB"
_LOAD_TEMP_TABLES = (CHECKED, QUARANTINED, WINNERS, GATED, HITS, ACTIONS, TOUCHED)


class ReconciliationError(Exception):
    """The counts of a file do not add up; the file is rolled back."""


@dataclass(frozen=True)
class _Loaded:
    file_id: int
    sha256: str | None
    size_bytes: int
    mtime_ns: int | None


def ingest_landing(
    config: BeaconConfig,
    feeds: Sequence[str] | None = None,
    *,
    verify_checksums: bool = False,
) -> IngestReport:
    """Load every new landing-zone file of ``feeds`` (default: all) into ``raw``.

    Re-running is a no-op for files already loaded. ``verify_checksums`` re-hashes every
    already-loaded file instead of trusting an unchanged size and mtime. Returns what
    happened to each file; ``report.ok`` is False when a file failed, changed or was
    refused by the quality gate.
    """
    selected = list(FEEDS) if feeds is None else [contract_for(f).feed for f in feeds]
    pii_key(config)  # fail before any file when pseudonymisation lacks its key
    files = discover(config.landing_dir, selected)
    report = IngestReport()
    con = connect(config.warehouse_path, config=config)
    try:
        ensure_schema(con)
        ensure_gate_schema(con)
        # staged rows are numbered by rowid: insertion order must be kept
        con.execute("SET preserve_insertion_order = true")
        # Every file is its own transaction (committed to the write-ahead log, so durable)
        # but with DuckDB's default threshold (16 MiB) nearly every commit would also
        # checkpoint: rewrite the tables' newest row groups and metadata into the file.
        # Checkpointing once per feed instead cut a 10 M-row feed's commits from 25 to 6 s.
        con.execute(f"SET checkpoint_threshold = '{CHECKPOINT_THRESHOLD}'")
        loaded, attempts = _read_manifest(con)
        run_id = start_run(con, "ingest", selected, _utcnow())
        report.run_id = run_id
        with ThreadPoolExecutor(max_workers=1, thread_name_prefix="beacon-sha256") as hasher:
            run = _Run(con, config, loaded, attempts, hasher, verify_checksums, run_id)
            run.load([(feed, [f for f in files if f.feed == feed]) for feed in selected], report)
        totals = report.totals()
        finish_run(
            con,
            run_id,
            files_loaded=totals["files_loaded"],
            rows_inserted=totals["rows_inserted"],
            rows_updated=totals["rows_updated"],
            finished=_utcnow(),
        )
    finally:
        con.close()
    skipped = [f for f in report.files if f.status == "skipped"]
    if skipped:
        logger.info("%s file(s) already loaded, skipped", f"{len(skipped):,}")
    return report


@dataclass(frozen=True)
class FileDigest:
    sha256: str
    #: physical lines (a last line without a newline counts); None when not counted
    lines: int | None


def digest_file(path: Path, count_lines: bool = False) -> FileDigest:
    """The sha256 of a file and, optionally, its line count, in one pass.

    hashlib releases the GIL, so this runs in a thread beside DuckDB's reading.
    """
    digest = hashlib.sha256()
    lines = 0
    last = b""
    with open(path, "rb") as fh:
        while chunk := fh.read(1 << 20):
            digest.update(chunk)
            if count_lines:
                lines += chunk.count(b"\n")
                last = chunk[-1:]
    if count_lines and last not in (b"", b"\n"):
        lines += 1
    return FileDigest(digest.hexdigest(), lines if count_lines else None)


def sha256_file(path: Path) -> str:
    """The hex sha256 of a file."""
    return digest_file(path).sha256


# --- per feed and per file ---------------------------------------------------------------


@dataclass
class _Prepared:
    """A file staged, checked against its contract and collapsed to one row per key,
    waiting for its quality gate and its transaction."""

    file: LandingFile
    seq: int
    attempt_id: int | None
    digest: Future[FileDigest]
    started: datetime
    clock: _Clock
    rows_read: int
    valid_rows: int
    #: valid rows after the within-file collapse (one per key)
    winners: int
    #: ungated: the collapsed rows, a relation over the temp table ``CHECKED``
    winners_sql: str = ""


@dataclass
class _Run:
    """One ingest run: each feed's new files, prepared, gated as a batch, committed."""

    con: duckdb.DuckDBPyConnection
    config: BeaconConfig
    loaded: dict[str, _Loaded]
    attempts: dict[str, int]
    hasher: ThreadPoolExecutor
    verify_checksums: bool
    run_id: int

    def load(self, plan: list[tuple[str, list[LandingFile]]], report: IngestReport) -> None:
        """Load each feed's files (sorted by path): prepare each, gate a batch, commit.

        With the gates on, files are staged on a thread of their own (:class:`_Stager`,
        with a cursor of the run's connection) into one of two gates, while the batch in
        the other is validated and committed here, file by file in path order as before;
        the staging runs on into the next feed. It reads nothing that a commit writes, so
        the overlap changes no result, only the time.

        Great Expectations is imported (≈ 4.5 s) once the first file is staged in a gate,
        here, while the rest of its batch stages; a run with no new file never imports it.
        """
        free: Queue[int | None] = Queue()  # the gates' free slots; None: stop staging
        pending: list[_Prepared] = []
        outcomes: list[FileResult] = []
        batches = 0

        def flush(gate: Gate) -> None:
            # validated here, not while staging: some checks compare with the feed's
            # history in raw, which must hold the batch before
            nonlocal batches
            stored = None
            contract = gate.contract
            if gate.enabled:
                batches += 1
                clock = _Clock(f"{contract.feed} batch ({len(pending)} files)")
                gate.validate(
                    data_docs=self.config.quality.data_docs,
                    label=f"run-{self.run_id}" + (f".{batches}" if batches > 1 else ""),
                )
                report.gate_seconds += clock.lap("quality gate")
                stored = _StoredKeys.look_up(self.con, contract, gate.batch_table, FILE_COLUMN)
            try:
                for prepared in pending:
                    outcomes.append(self._commit(contract, prepared, gate, stored))
                    _log_result(outcomes[-1])
            finally:
                if stored is not None:
                    stored.drop()
            pending.clear()
            gate.clear()

        with contextlib.ExitStack() as stack:
            if self.config.quality.gates:
                for slot in range(2):
                    free.put(slot)
                staged = stack.enter_context(_Stager(self, plan, free)).items()
            else:  # the staged rows stay in temp tables: stage and commit on one connection
                free.put(0)
                staged = self._staged(self.con, plan, free)
            for item in staged:
                if isinstance(item, FileResult):
                    outcomes.append(item)
                    _log_result(item)
                elif isinstance(item, _Prepared):
                    if self.config.quality.gates:
                        warm_up_gates()
                    pending.append(item)
                elif isinstance(item, Gate):
                    flush(item)
                    free.put(item.slot)
                else:  # the feed's last item
                    outcomes.sort(key=lambda r: r.path)
                    report.files.extend(outcomes)
                    events = [(r.path, r.problem) for r in outcomes if r.status != "skipped"]
                    update_feed_status(self.con, item.feed, events, _utcnow())
                    outcomes, batches = [], 0
                    checkpoint(self.con)

    def _staged(
        self,
        con: duckdb.DuckDBPyConnection,
        plan: list[tuple[str, list[LandingFile]]],
        free: Queue[int | None],
    ) -> Iterator[FileResult | _Prepared | Gate | _FeedEnd]:
        """Each file's outcome, feed by feed, in order: a FileResult (skipped, failed,
        changed) or its rows staged in a gate (``_Prepared``); after a gate's last file,
        the gate, to be validated and committed, its slot then put back into ``free``;
        after a feed's last file, ``_FeedEnd``. Waits for a free slot (None: stop)."""
        for feed, files in plan:
            if not files:
                continue
            contract = effective_contract(contract_for(feed), self.config.accepted_values)
            gate = None
            for seq, file in enumerate(files):
                if gate is None:
                    slot = free.get()
                    if slot is None:
                        return
                    gate = Gate.open(self.con, self.config, contract, self.run_id, slot, con)
                outcome = self._prepare(con, contract, file, seq, gate)
                yield outcome
                if isinstance(outcome, _Prepared) and (not gate.enabled or gate.full):
                    yield gate
                    gate = None
            if gate is not None and gate.pending:
                yield gate
            elif gate is not None:
                free.put(gate.slot)
            yield _FeedEnd(feed)

    def _prepare(
        self,
        con: duckdb.DuckDBPyConnection,
        contract: Contract,
        file: LandingFile,
        seq: int,
        gate: Gate,
    ) -> FileResult | _Prepared:
        """Skip a loaded file, flag a changed one, or stage and check a new one
        (into ``con``'s temp tables, then into ``gate``'s batch when the gate is on)."""
        previous = self.loaded.get(file.relpath)
        if previous is not None:
            skipped = self._skip_or_flag(con, file, previous)
            if skipped is not None:
                return skipped
        # plain JSONL: count lines while hashing (the reader checks one row per line)
        count_lines = file.format == "jsonl" and not file.compressed
        digest = self.hasher.submit(digest_file, file.path, count_lines)
        started = _utcnow()
        try:
            if gate.enabled:
                return self._stage_into(gate, con, contract, file, seq, digest, started)
            return self._stage(con, contract, file, seq, digest, started)
        except BaseException as exc:
            if gate.enabled:
                gate.discard(seq)
            _drop_temp(con)
            error = _load_error(exc)
            if error is None:
                raise
            return self._failed(con, file, digest, error, started)

    def _skip_or_flag(
        self, con: duckdb.DuckDBPyConnection, file: LandingFile, previous: _Loaded
    ) -> FileResult | None:
        """An already-loaded path: skipped if unchanged, ``changed`` if its content differs."""
        unchanged_stat = (
            previous.size_bytes == file.size_bytes and previous.mtime_ns == file.mtime_ns
        )
        if unchanged_stat and not self.verify_checksums:
            logger.debug("%s: already loaded (file_id %s), skipped", file.relpath, previous.file_id)
            return FileResult(path=file.relpath, feed=file.feed, status="skipped")
        try:
            sha = sha256_file(file.path)
        except OSError as exc:  # vanished or unreadable since discovery
            return self._attempt(con, file, "failed", None, f"cannot read file: {exc}", _utcnow())
        if sha == previous.sha256:
            logger.debug("%s: already loaded (same sha256), skipped", file.relpath)
            return FileResult(path=file.relpath, feed=file.feed, status="skipped")
        error = (
            f"file changed since it was loaded as file_id {previous.file_id} "
            f"(sha256 {previous.sha256} -> {sha}); landed files are immutable, deliver "
            "corrections as a new file. Not loaded"
        )
        return self._attempt(con, file, "changed", sha, error, _utcnow())

    def _attempt(
        self,
        con: duckdb.DuckDBPyConnection,
        file: LandingFile,
        status: str,
        sha: str | None,
        error: str,
        started: datetime,
    ) -> FileResult:
        file_id = _record_attempt(
            con, file, self.attempts.get(file.relpath), status, sha, error, started
        )
        self.attempts[file.relpath] = file_id
        return FileResult(
            path=file.relpath, feed=file.feed, status=status, error=error, file_id=file_id
        )

    def _failed(
        self,
        con: duckdb.DuckDBPyConnection,
        file: LandingFile,
        digest: Future[FileDigest],
        error: str,
        started: datetime,
    ) -> FileResult:
        _rollback_quietly(con)
        try:
            sha: str | None = digest.result().sha256
        except OSError:
            sha = None
        return self._attempt(con, file, "failed", sha, error, started)

    def _stage(
        self,
        con: duckdb.DuckDBPyConnection,
        contract: Contract,
        file: LandingFile,
        seq: int,
        digest: Future[FileDigest],
        started: datetime,
    ) -> _Prepared:
        """Stage and validate a file into temp tables (nothing persistent yet; the gates
        off): ``CHECKED`` (every record, typed, with its reason) and ``QUARANTINED``."""
        staged, clock = self._read(con, file, contract, digest)
        con.execute(
            f"CREATE OR REPLACE TEMP TABLE {CHECKED} AS "
            + checked_sql(contract, staged.stage_sql, staged.raw_sql, staged.native),
            staged.params,
        )
        clock.lap("validated")
        checked_rows, valid_rows = con.execute(
            f"SELECT count(*), count(*) FILTER (WHERE _reason IS NULL) FROM {CHECKED}"
        ).fetchone()
        _check_all_records_seen(checked_rows, staged.rows_read)
        con.execute(
            f"CREATE OR REPLACE TEMP TABLE {QUARANTINED} AS "
            f"SELECT _line, _key, _reason, _raw FROM {CHECKED} WHERE _reason IS NOT NULL"
        )
        if checked_rows != valid_rows and staged.fill_raw is not None:
            staged.fill_raw(con, QUARANTINED)
        drop_temp_tables(con)  # the staged text is no longer needed: free its memory
        winners_sql, winners = _collapse_within_file(con, contract, valid_rows)
        clock.lap(f"deduplicated ({valid_rows - winners:,} within-file duplicates)")
        return _Prepared(
            file=file,
            seq=seq,
            attempt_id=self.attempts.get(file.relpath),
            digest=digest,
            started=started,
            clock=clock,
            rows_read=staged.rows_read,
            valid_rows=valid_rows,
            winners=winners,
            winners_sql=winners_sql,
        )

    def _stage_into(
        self,
        gate: Gate,
        con: duckdb.DuckDBPyConnection,
        contract: Contract,
        file: LandingFile,
        seq: int,
        digest: Future[FileDigest],
        started: datetime,
    ) -> _Prepared:
        """Stage and validate a file straight into ``gate``'s batch (its rows checked
        against the contract on the way in, see :meth:`Gate.stage_checked`)."""
        staged, clock = self._read(con, file, contract, digest)
        checked_rows, valid_rows, winners = gate.stage_checked(
            seq,
            checked_sql(contract, staged.stage_sql, staged.raw_sql, staged.native),
            staged.params,
            staged.rows_read,
            QUARANTINED,
            staged.fill_raw,
        )
        _check_all_records_seen(checked_rows, staged.rows_read)
        _drop_temp(con)  # the staged text and the quarantined rows' temp table
        clock.lap(f"validated into the gate ({valid_rows - winners:,} within-file duplicates)")
        return _Prepared(
            file=file,
            seq=seq,
            attempt_id=self.attempts.get(file.relpath),
            digest=digest,
            started=started,
            clock=clock,
            rows_read=staged.rows_read,
            valid_rows=valid_rows,
            winners=winners,
        )

    def _read(
        self,
        con: duckdb.DuckDBPyConnection,
        file: LandingFile,
        contract: Contract,
        digest: Future[FileDigest],
    ) -> tuple[Staged, _Clock]:
        """Stage ``file`` (its text, or a view over it) in the feed's time zone."""
        tz = self.config.feed_timezones.get(file.feed, "UTC")
        clock = _Clock(file.relpath)
        con.execute("SET TimeZone = $tz", {"tz": tz})
        # outside any transaction: rowids start at 0
        staged = stage(con, file, contract, line_count=lambda: digest.result().lines)
        clock.lap(f"staged ({staged.path_taken}, {staged.rows_read:,} records)")
        return staged, clock

    def _commit(
        self, contract: Contract, prepared: _Prepared, gate: Gate, stored: _StoredKeys | None
    ) -> FileResult:
        """The file's one transaction: rows, quarantine, gate record, manifest."""
        file = prepared.file
        try:
            result = self._write(contract, prepared, gate, stored)
        except BaseException as exc:
            error = _load_error(exc)
            if error is None:
                raise
            result = self._failed(self.con, file, prepared.digest, error, prepared.started)
        finally:
            _drop_temp(self.con)
        if result.status in ("loaded", "refused"):
            self.loaded[file.relpath] = _Loaded(
                result.file_id or 0, prepared.digest.result().sha256, file.size_bytes, file.mtime_ns
            )
            self.attempts.pop(file.relpath, None)
        return result

    def _write(
        self, contract: Contract, prepared: _Prepared, gate: Gate, stored: _StoredKeys | None
    ) -> FileResult:
        con, config, file = self.con, self.config, prepared.file
        con.execute("SET TimeZone = $tz", {"tz": config.feed_timezones.get(file.feed, "UTC")})
        identity_where = "true"
        if gate.enabled:
            rows = gate.file_rows(prepared.seq, GATED, QUARANTINED, in_place=True)
            winners_sql, identity_table, identity_where = rows.relation, rows.table, rows.where
            verdict = gate.verdicts[prepared.seq]
            n_winners = 0 if verdict.refused else prepared.winners - verdict.rows_failed
        else:
            winners_sql, n_winners = prepared.winners_sql, prepared.winners
            # the collapse may have copied the winners out of CHECKED
            identity_table = WINNERS if winners_sql == WINNERS else CHECKED
        phones_unparseable = apply_identity(
            con, identity_table, file.feed, config, pii_key(config), identity_where
        )
        reasons = dict(
            con.execute(
                f"SELECT _reason, count(*) FROM {QUARANTINED} GROUP BY _reason ORDER BY 2 DESC, 1"
            ).fetchall()
        )

        con.execute("BEGIN")
        file_id = (
            prepared.attempt_id
            or con.execute(f"SELECT nextval('{FILE_ID_SEQUENCE}')").fetchone()[0]
        )
        ingested_at = _utcnow()
        merged = _merge(
            con, contract, file.relpath, file_id, winners_sql, n_winners, ingested_at, stored
        )
        record_changed_days(con, self.run_id, file_id, file.feed)
        prepared.clock.lap("merged")
        quarantined = con.execute(
            f"INSERT INTO {QUARANTINE_TABLE} (file_id, feed, path, line, record_key, reason, "
            f"raw_record, quarantined_at) SELECT $file_id, $feed, $path, _line, _key, _reason, "
            f"_raw, $at FROM {QUARANTINED} ORDER BY _line",
            {"file_id": file_id, "feed": file.feed, "path": file.relpath, "at": ingested_at},
        ).fetchone()[0]
        verdict = gate.record_file(prepared.seq, file_id, file.relpath, ingested_at)
        duplicates = (prepared.valid_rows - prepared.winners) + merged.duplicate
        accounted = merged.inserted + merged.updated + duplicates + quarantined
        if prepared.rows_read != accounted:
            raise ReconciliationError(
                f"{prepared.rows_read:,} read but {accounted:,} accounted for "
                f"({merged.inserted:,} inserted + {merged.updated:,} updated + {duplicates:,} "
                f"duplicates + {quarantined:,} quarantined)"
            )
        refused = verdict.refused if verdict is not None else None
        error = None
        if refused is not None:
            error = (
                f"quality gate ({refused}): nothing loaded, every row quarantined; fix the "
                "cause and run `beacon quarantine replay`"
            )
        result = FileResult(
            path=file.relpath,
            feed=file.feed,
            status="refused" if refused is not None else "loaded",
            rows_read=prepared.rows_read,
            rows_inserted=merged.inserted,
            rows_updated=merged.updated,
            rows_duplicate=duplicates,
            rows_quarantined=quarantined,
            quarantine_reasons=reasons,
            file_id=file_id,
            phones_unparseable=phones_unparseable,
            error=error,
        )
        sha = prepared.digest.result().sha256
        _check_unchanged_since_discovery(file)
        _write_manifest(
            con,
            file_id=file_id,
            update=prepared.attempt_id is not None,
            file=file,
            sha=sha,
            status="loaded",
            result=result,
            min_event_at=merged.min_event_at,
            max_event_at=merged.max_event_at,
            error=error,
            started=prepared.started,
        )
        con.execute("COMMIT")
        prepared.clock.lap("committed")
        return result


@dataclass(frozen=True)
class _FeedEnd:
    """The last staged item of a feed."""

    feed: str


class _Stager:
    """``_Run._staged`` on a thread with its own cursor, its items handed over in a queue.

    DuckDB runs one statement of a connection at a time and a file's small statements
    keep at most one of its threads busy, so staging the next batch beside the commits of
    the current one uses the second core. Each cursor has its own temp tables and session
    settings; the gates' batches, in the in-memory catalog, are shared. Leaving the
    ``with`` block stops the thread (after the statement it is in) and waits for it.
    """

    _DONE = object()

    def __init__(
        self, run: _Run, plan: list[tuple[str, list[LandingFile]]], free: Queue[int | None]
    ) -> None:
        self._run, self._plan, self._free = run, plan, free
        self._items: Queue[object] = Queue()
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._work, name="beacon-stage", daemon=True)

    def __enter__(self) -> _Stager:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._free.put(None)  # wakes the thread if it waits for a free gate
        self._thread.join()

    def _work(self) -> None:
        con = self._run.con.cursor()
        try:
            con.execute("SET SESSION preserve_insertion_order = true")  # rowids number lines
            items = self._run._staged(con, self._plan, self._free)
            for item in items:
                self._items.put(item)
                if self._stop.is_set():
                    items.close()
                    break
        except BaseException as exc:  # raised again on the consuming thread
            self._items.put(exc)
        finally:
            self._items.put(self._DONE)
            con.close()

    def items(self) -> Iterator[FileResult | _Prepared | Gate | _FeedEnd]:
        """The staged items, in order; an error of the thread is raised here."""
        while (item := self._items.get()) is not self._DONE:
            if isinstance(item, BaseException):
                raise item
            yield item  # type: ignore[misc]


def checkpoint(con: duckdb.DuckDBPyConnection) -> bool:
    """Merge the write-ahead log into the database file (ingest: after each feed); False
    when deferred. DuckDB refuses while another write transaction is open: ingest's
    staging thread recording a failed file, or, for a moment, the staging thread starting
    the next feed (docs/ingest.md). The log then waits for the next checkpoint (the
    threshold, the next feed, closing); every commit is durable in it either way."""
    import duckdb

    try:
        con.execute("CHECKPOINT")
    except duckdb.TransactionException as exc:
        logger.debug("checkpoint deferred: %s", exc)
        return False
    return True


def _check_all_records_seen(checked_rows: int, rows_read: int) -> None:
    """The contract check saw every record the reader read, or the file fails."""
    if checked_rows != rows_read:
        raise ReconciliationError(
            f"validation saw {checked_rows:,} records but {rows_read:,} were read"
        )


def _load_error(exc: BaseException) -> str | None:
    """The message recorded for a file that cannot be loaded; None for other errors."""
    import duckdb

    if isinstance(exc, FileRejected | ReconciliationError):
        return str(exc)
    if isinstance(exc, OSError):  # vanished or unreadable since discovery
        return f"cannot read file: {exc}"
    if isinstance(exc, duckdb.Error):
        return f"DuckDB error: {exc}"
    return None


def _check_unchanged_since_discovery(file: LandingFile) -> None:
    """Refuse to commit a file that was rewritten while it was read (not immutable yet).

    The size and mtime seen at discovery must still hold after reading and hashing; if
    not, what was read may mix two versions, so the file is rolled back and failed (the
    next run reads it again, whole).
    """
    try:
        stat = file.path.stat()
    except OSError as exc:
        raise FileRejected(f"file vanished while it was being read: {exc}") from exc
    if (stat.st_size, stat.st_mtime_ns) != (file.size_bytes, file.mtime_ns):
        raise FileRejected(
            "file changed while it was being read (size or mtime differ from discovery); "
            "producers must write name.tmp and rename when complete. Not loaded; "
            "retried on the next run"
        )


def _collapse_within_file(
    con: duckdb.DuckDBPyConnection, contract: Contract, valid_rows: int
) -> tuple[str, int]:
    """The valid rows with one row per key (latest emitted_at, then latest line)."""
    key = ident(contract.key)
    distinct = con.execute(
        f"SELECT count(DISTINCT {key}) FROM {CHECKED} WHERE _reason IS NULL"
    ).fetchone()[0]
    if distinct == valid_rows:
        return f"(SELECT * FROM {CHECKED} WHERE _reason IS NULL)", valid_rows
    order = "_line DESC"
    if "emitted_at" in contract.names:
        order = f"{ident('emitted_at')} DESC NULLS LAST, _line DESC"
    con.execute(
        f"CREATE OR REPLACE TEMP TABLE {WINNERS} AS SELECT * FROM {CHECKED} "
        f"WHERE _reason IS NULL QUALIFY row_number() OVER (PARTITION BY {key} ORDER BY {order}) = 1"
    )
    return WINNERS, distinct


@dataclass
class _StoredKeys:
    """Which keys of a gated batch can be stored already, looked up once for all its files.

    Finding which of a file's keys are stored is a semi join over every stored key, and the
    table grows with each file. A key of a batch's file is stored only if it was stored
    before the batch or an earlier file of the batch delivered it too: the batch looks
    both up once (``BATCH_KEYS``). A file with none of them (the usual case) is merged
    without reading the table; one with some reads the table for those keys only.
    """

    con: duckdb.DuckDBPyConnection
    key: str

    @classmethod
    def look_up(
        cls, con: duckdb.DuckDBPyConnection, contract: Contract, rows: str, file_column: str
    ) -> _StoredKeys:
        """Look up the keys of ``rows`` (a relation of the batch's files, numbered in
        ``file_column``) that are stored or delivered by more than one file."""
        key = ident(contract.key)
        con.execute(
            f"CREATE OR REPLACE TEMP TABLE {BATCH_KEYS} AS "
            f"SELECT t.{key} FROM {table_name(contract.feed)} AS t "
            f"SEMI JOIN {rows} AS r ON t.{key} = r.{key} "
            f"UNION SELECT {key} FROM {rows} GROUP BY {key} "
            f"HAVING count(DISTINCT {ident(file_column)}) > 1"
        )
        return cls(con, key)

    def candidates(self, winners: str) -> str | None:
        """``winners`` narrowed to the keys that may be stored; None when there are none."""
        key = self.key
        narrowed = (
            f"(SELECT w.* FROM {winners} AS w SEMI JOIN {BATCH_KEYS} AS b ON w.{key} = b.{key})"
        )
        if not self.con.execute(f"SELECT EXISTS (SELECT 1 FROM {narrowed})").fetchone()[0]:
            return None
        return narrowed

    def drop(self) -> None:
        self.con.execute(f"DROP TABLE IF EXISTS temp.main.{BATCH_KEYS}")


@dataclass
class _Merged:
    inserted: int = 0
    updated: int = 0
    duplicate: int = 0
    min_event_at: datetime | None = None
    max_event_at: datetime | None = None


def _merge(
    con: duckdb.DuckDBPyConnection,
    contract: Contract,
    path: str,
    file_id: int,
    winners: str,
    n_winners: int,
    ingested_at: datetime,
    stored: _StoredKeys | None = None,
) -> _Merged:
    """Insert new keys, update keys whose incoming version wins, count the rest.

    ``path`` is the incoming rows' file (relative path): it decides ties against stored
    rows of an earlier file; against a stored row of the same file (a quarantine replay)
    the later line wins.

    The raw tables have no key index (building it cost ≈ 0.7 CPU-s per million rows): one
    row per key holds because ``winners`` has one row per key (``n_winners`` of them) and
    only keys not stored yet are inserted. The counts are checked on the way: a mismatch
    raises :class:`ReconciliationError` and the file is rolled back. ``stored``: the keys
    of the file's batch that may be stored (:class:`_StoredKeys`); without it, the file's
    own keys are looked up in the table.
    """
    table = table_name(contract.feed)
    key = ident(contract.key)
    event = ident(contract.event_time)
    fields = [ident(n) for n in contract.names]
    columns = ", ".join(fields) + ", _file_id, _line, _ingested_at"
    select_new = ", ".join(fields) + ", $file_id, _line, $at"
    params = {"file_id": file_id, "at": ingested_at}
    merged = _Merged()
    if n_winners == 0:
        return merged
    ordered = con.execute("SELECT current_setting('preserve_insertion_order')").fetchone()[0]

    def insert(sql: str) -> int:
        # The order of raw's rows means nothing. Without keeping the source's order each
        # thread fills whole row groups; an ordered insert keeps the partial row groups of
        # the staged batches, which the next checkpoint rewrites (≈ 0.9 CPU-s per million
        # rows). The session's setting (staging numbers rows by rowid) is restored.
        con.execute("SET SESSION preserve_insertion_order = false")
        try:
            return con.execute(sql, params).fetchone()[0]
        finally:
            con.execute(f"SET SESSION preserve_insertion_order = {'true' if ordered else 'false'}")

    table_has_rows = con.execute(f"SELECT EXISTS (SELECT 1 FROM {table})").fetchone()[0]
    candidates = winners if stored is None else stored.candidates(winners)
    hits = 0
    if table_has_rows and candidates is not None:
        con.execute(
            f"CREATE OR REPLACE TEMP TABLE {HITS} AS SELECT t.*, f.path AS _old_path "
            f"FROM {table} AS t SEMI JOIN {candidates} AS w ON t.{key} = w.{key} "
            f"LEFT JOIN {MANIFEST_TABLE} AS f ON f.file_id = t._file_id"
        )
        hits, hit_keys = con.execute(
            f"SELECT count(*), count(DISTINCT {key}) FROM {HITS}"
        ).fetchone()
        if hits != hit_keys:
            raise ReconciliationError(
                f"{table} holds {hits - hit_keys:,} extra row(s) for keys this file "
                "delivers: its keys are not unique"
            )

    if hits == 0:
        merged.inserted = insert(
            f"INSERT INTO {table} ({columns}) SELECT {select_new} FROM {winners}"
        )
        if merged.inserted != n_winners:
            raise ReconciliationError(
                f"{merged.inserted:,} rows inserted for {n_winners:,} distinct valid keys"
            )
        con.execute(f"CREATE OR REPLACE TEMP TABLE {TOUCHED} AS SELECT {event} AS e FROM {winners}")
        merged.min_event_at, merged.max_event_at = con.execute(
            f"SELECT min(e), max(e) FROM {TOUCHED}"
        ).fetchone()
        return merged

    identical = " AND ".join(f"w.{c} IS NOT DISTINCT FROM h.{c}" for c in fields)
    if "emitted_at" in contract.names:
        em = ident("emitted_at")
        newer = f"w.{em} IS NOT NULL AND (h.{em} IS NULL OR w.{em} > h.{em})"
        older = f"h.{em} IS NOT NULL AND (w.{em} IS NULL OR w.{em} < h.{em})"
    else:
        newer = older = "false"
    con.execute(
        f"CREATE OR REPLACE TEMP TABLE {ACTIONS} AS SELECT w.{key} AS _key, "
        f"CASE WHEN {newer} THEN 'update' WHEN {older} THEN 'duplicate' "
        f"WHEN {identical} THEN 'duplicate' "
        f"WHEN h._old_path IS NULL OR $path > h._old_path THEN 'update' "
        f"WHEN $path = h._old_path AND w._line > h._line THEN 'update' "
        f"ELSE 'duplicate' END AS _action, h.{event} AS _old_event_at "
        f"FROM {winners} AS w JOIN {HITS} AS h ON w.{key} = h.{key}",
        {"path": path},
    )
    merged.inserted = insert(
        f"INSERT INTO {table} ({columns}) SELECT {select_new} FROM {winners} AS w "
        f"ANTI JOIN {HITS} AS h ON w.{key} = h.{key}"
    )
    if merged.inserted + hits != n_winners:
        raise ReconciliationError(
            f"{merged.inserted:,} rows inserted and {hits:,} stored keys matched, for "
            f"{n_winners:,} distinct valid keys"
        )
    assignments = (
        ", ".join(f"{c} = m.{c}" for c in fields if c != key)
        + ", _file_id = $file_id, _line = m._line, _ingested_at = $at"
    )
    merged.updated = con.execute(
        f"UPDATE {table} AS t SET {assignments} FROM (SELECT w.* FROM {winners} AS w "
        f"SEMI JOIN {ACTIONS} AS a ON w.{key} = a._key AND a._action = 'update') AS m "
        f"WHERE t.{key} = m.{key}",
        params,
    ).fetchone()[0]
    updates, merged.duplicate = con.execute(
        f"SELECT count(*) FILTER (WHERE _action = 'update'), "
        f"count(*) FILTER (WHERE _action = 'duplicate') FROM {ACTIONS}"
    ).fetchone()
    if merged.updated != updates:
        raise ReconciliationError(
            f"{merged.updated:,} rows updated for {updates:,} winning redeliveries: "
            f"the keys of {table} are not unique"
        )
    # days touched: the new event time of inserted/updated rows and the old one of updates
    con.execute(
        f"CREATE OR REPLACE TEMP TABLE {TOUCHED} AS "
        f"SELECT w.{event} AS e FROM {winners} AS w ANTI JOIN "
        f"(SELECT _key FROM {ACTIONS} WHERE _action = 'duplicate') AS d ON w.{key} = d._key "
        f"UNION ALL SELECT _old_event_at FROM {ACTIONS} WHERE _action = 'update'"
    )
    merged.min_event_at, merged.max_event_at = con.execute(
        f"SELECT min(e), max(e) FROM {TOUCHED}"
    ).fetchone()
    return merged


# --- manifest ---------------------------------------------------------------------------


def _read_manifest(con: duckdb.DuckDBPyConnection) -> tuple[dict[str, _Loaded], dict[str, int]]:
    """Loaded files by path, and the row of the latest unsuccessful attempt by path."""
    loaded = {
        path: _Loaded(file_id, sha, size, mtime)
        for path, file_id, sha, size, mtime in con.execute(
            f"SELECT path, file_id, sha256, size_bytes, mtime_ns FROM {MANIFEST_TABLE} "
            "WHERE status = 'loaded'"
        ).fetchall()
    }
    attempts = dict(
        con.execute(
            f"SELECT path, max(file_id) FROM {MANIFEST_TABLE} "
            "WHERE status <> 'loaded' GROUP BY path"
        ).fetchall()
    )
    return loaded, attempts


def _record_attempt(
    con: duckdb.DuckDBPyConnection,
    file: LandingFile,
    attempt_id: int | None,
    status: str,
    sha: str | None,
    error: str,
    started: datetime,
) -> int:
    """Write a failed/changed manifest row (reusing the path's previous attempt row)."""
    con.execute("BEGIN")
    try:
        file_id = attempt_id or con.execute(f"SELECT nextval('{FILE_ID_SEQUENCE}')").fetchone()[0]
        _write_manifest(
            con,
            file_id=file_id,
            update=attempt_id is not None,
            file=file,
            sha=sha,
            status=status,
            result=None,
            min_event_at=None,
            max_event_at=None,
            error=error,
            started=started,
        )
        con.execute("COMMIT")
    except BaseException:
        _rollback_quietly(con)
        raise
    return file_id


def _write_manifest(
    con: duckdb.DuckDBPyConnection,
    *,
    file_id: int,
    update: bool,
    file: LandingFile,
    sha: str | None,
    status: str,
    result: FileResult | None,
    min_event_at: datetime | None,
    max_event_at: datetime | None,
    error: str | None,
    started: datetime,
) -> None:
    values: dict[str, object] = {
        "feed": file.feed,
        "path": file.relpath,
        "size_bytes": file.size_bytes,
        "mtime_ns": file.mtime_ns,
        "sha256": sha,
        "format": file.format + (".gz" if file.compressed else ""),
        "status": status,
        "rows_read": result.rows_read if result else None,
        "rows_inserted": result.rows_inserted if result else None,
        "rows_updated": result.rows_updated if result else None,
        "rows_duplicate": result.rows_duplicate if result else None,
        "rows_quarantined": result.rows_quarantined if result else None,
        "phones_unparseable": result.phones_unparseable if result else None,
        "min_event_at": min_event_at,
        "max_event_at": max_event_at,
        "error": error,
        "started_at": started,
        "finished_at": _utcnow(),
    }
    if update:
        sets = ", ".join(f"{ident(k)} = ${k}" for k in values)
        con.execute(
            f"UPDATE {MANIFEST_TABLE} SET {sets} WHERE file_id = $file_id",
            {**values, "file_id": file_id},
        )
    else:
        names = ", ".join(ident(k) for k in ("file_id", *values))
        placeholders = ", ".join(f"${k}" for k in ("file_id", *values))
        con.execute(
            f"INSERT INTO {MANIFEST_TABLE} ({names}) VALUES ({placeholders})",
            {**values, "file_id": file_id},
        )


# --- small helpers ----------------------------------------------------------------------


def _utcnow() -> datetime:
    """Now in UTC as a naive datetime (the warehouse stores naive UTC)."""
    return datetime.now(UTC).replace(tzinfo=None)


def _rollback_quietly(con: duckdb.DuckDBPyConnection) -> None:
    with contextlib.suppress(Exception):  # no transaction open
        con.execute("ROLLBACK")


def _drop_temp(con: duckdb.DuckDBPyConnection) -> None:
    _rollback_quietly(con)
    drop_temp_tables(con)
    for name in _LOAD_TEMP_TABLES:
        con.execute(f"DROP TABLE IF EXISTS temp.main.{ident(name)}")


def _log_result(result: FileResult) -> None:
    if result.status == "loaded":
        logger.info(result.summary())
    elif result.failed:
        logger.error(result.summary())


class _Clock:
    """Debug timings of the steps of one file."""

    def __init__(self, label: str) -> None:
        self.label = label
        self.t0 = self.last = time.perf_counter()

    def lap(self, step: str) -> float:
        """Log the step's time and return it (seconds)."""
        now = time.perf_counter()
        took = now - self.last
        logger.debug("%s: %s in %.2fs (%.2fs total)", self.label, step, took, now - self.t0)
        self.last = now
        return took
