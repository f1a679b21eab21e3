"""Acting on quarantined rows: list them, and replay them against today's contract.

``beacon quarantine list [--feed F] [--reason R]`` counts open (not yet replayed) rows by
feed and reason and shows rows with their file and line. ``beacon quarantine replay
[--feed F] [--reason R]`` re-validates open rows against the *current* contract and
configuration (e.g. after ``accepted_values`` accepts a new enum value) and loads the rows
that now pass, exactly once:

* Rows are replayed per original file, in sorted path order, with the ingest's redelivery
  rules: they compete as records of their original file and line (latest ``emitted_at``
  wins; on a tie, the later file, and within the same file the later line; identical
  content is a duplicate). Loaded rows keep their original ``_file_id`` and ``_line``.
* A replayed row stays in ``raw._quarantine`` (the file's reconciliation counts do not
  change) and is marked ``replayed_at``, ``replay_run_id`` and ``replay_result``
  (``inserted``, ``updated`` or ``duplicate``), in the same transaction as its load. A
  marked row is never replayed again, so a second replay adds nothing.
* Rows that still fail are left as they are (their stored reason is the one found at
  ingest; the replay report shows the current one).
* A replay is a run in ``raw._ingest_runs`` (kind ``replay``) and records its changed days.

Reason filter: ``--reason unknown_value:disposition`` matches that code exactly;
``--reason unknown_value`` matches every ``unknown_value:<field>``.
"""

from __future__ import annotations

import argparse
import logging
import sys
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

from ingest.changes import TOUCHED, finish_run, record_changed_days, start_run
from ingest.contracts import FEEDS, Contract, contract_for
from ingest.identity import apply_identity, pii_key
from ingest.sql import ident, literal
from ingest.validate import checked_sql, effective_contract
from ingest.warehouse import QUARANTINE_TABLE, connect, ensure_schema

if TYPE_CHECKING:
    import duckdb

    from beacon.config import BeaconConfig

logger = logging.getLogger(__name__)

REPLAY_ROWS = "_beacon_replay_rows"
REPLAY_RESULTS = "_beacon_replay_results"
_WHITESPACE = "E' \\t\\r\\n\\f\\v'"


# --- listing ------------------------------------------------------------------------------


def _filters(
    feed: str | None, reason: str | None, *, open_only: bool
) -> tuple[str, dict[str, object]]:
    where = ["true"]
    params: dict[str, object] = {}
    if open_only:
        where.append("replayed_at IS NULL")
    if feed is not None:
        where.append("feed = $feed")
        params["feed"] = contract_for(feed).feed
    if reason is not None:
        where.append("(reason = $reason OR starts_with(reason, $reason || ':'))")
        params["reason"] = reason
    return " AND ".join(where), params


def quarantine_counts(
    con: duckdb.DuckDBPyConnection, feed: str | None = None, reason: str | None = None
) -> list[tuple[str, str, int, int]]:
    """(feed, reason, open rows, replayed rows), largest first."""
    where, params = _filters(feed, reason, open_only=False)
    return con.execute(
        f"SELECT feed, reason, count(*) FILTER (WHERE replayed_at IS NULL), "
        f"count(*) FILTER (WHERE replayed_at IS NOT NULL) FROM {QUARANTINE_TABLE} "
        f"WHERE {where} GROUP BY ALL ORDER BY 3 DESC, 1, 2",
        params,
    ).fetchall()


def quarantine_rows(
    con: duckdb.DuckDBPyConnection,
    feed: str | None = None,
    reason: str | None = None,
    limit: int = 20,
) -> list[tuple[str, int, str | None, str, str | None]]:
    """Open rows: (path, line, record key, reason, raw record), by path and line."""
    where, params = _filters(feed, reason, open_only=True)
    return con.execute(
        f"SELECT path, line, record_key, reason, raw_record FROM {QUARANTINE_TABLE} "
        f"WHERE {where} ORDER BY path, line LIMIT $limit",
        {**params, "limit": limit},
    ).fetchall()


# --- replay -------------------------------------------------------------------------------


@dataclass
class ReplayReport:
    """What a replay did. ``rows_checked = rows_inserted + rows_updated + rows_duplicate +
    rows_still_quarantined``."""

    run_id: int | None = None
    rows_checked: int = 0
    rows_inserted: int = 0
    rows_updated: int = 0
    rows_duplicate: int = 0
    #: rows that still fail, by their current reason
    still_quarantined: Counter[str] = field(default_factory=Counter)
    files: int = 0
    #: phone numbers of replayed rows that did not parse (stored as NULL)
    phones_unparseable: int = 0

    @property
    def rows_replayed(self) -> int:
        return self.rows_inserted + self.rows_updated + self.rows_duplicate

    @property
    def rows_still_quarantined(self) -> int:
        return sum(self.still_quarantined.values())

    def summary(self) -> str:
        text = (
            f"{self.rows_checked:,} quarantined rows re-checked: {self.rows_replayed:,} now "
            f"valid ({self.rows_inserted:,} inserted, {self.rows_updated:,} updated, "
            f"{self.rows_duplicate:,} duplicates), {self.rows_still_quarantined:,} still "
            f"quarantined"
        )
        if self.still_quarantined:
            reasons = sorted(self.still_quarantined.items(), key=lambda kv: (-kv[1], kv[0]))
            text += " (" + ", ".join(f"{n:,} {r}" for r, n in reasons) + ")"
        return text


def replay(
    config: BeaconConfig, feeds: Sequence[str] | None = None, reason: str | None = None
) -> ReplayReport:
    """Re-validate open quarantined rows against the current contract + configuration and
    load those that pass (see the module docstring)."""
    from ingest.load import _utcnow

    selected = list(FEEDS) if feeds is None else [contract_for(f).feed for f in feeds]
    pii_key(config)  # fail before any row when pseudonymisation lacks its key
    report = ReplayReport()
    con = connect(config.warehouse_path, config=config)
    try:
        ensure_schema(con)
        con.execute("SET preserve_insertion_order = true")
        report.run_id = start_run(con, "replay", selected, _utcnow())
        for feed in selected:
            where, params = _filters(feed, reason, open_only=True)
            batches = con.execute(
                f"SELECT file_id, any_value(path) AS path FROM {QUARANTINE_TABLE} "
                f"WHERE {where} GROUP BY file_id ORDER BY path, file_id",
                params,
            ).fetchall()
            for file_id, path in batches:
                _replay_file(con, config, feed, file_id, path, reason, report)
        finish_run(
            con,
            report.run_id,
            files_loaded=report.files,
            rows_inserted=report.rows_inserted,
            rows_updated=report.rows_updated,
            finished=_utcnow(),
        )
    finally:
        con.close()
    logger.info("quarantine replay: %s", report.summary())
    return report


def _replay_file(
    con: duckdb.DuckDBPyConnection,
    config: BeaconConfig,
    feed: str,
    file_id: int,
    path: str,
    reason: str | None,
    report: ReplayReport,
) -> None:
    """Replay one original file's open rows in one transaction."""
    from ingest.load import (
        ACTIONS,
        CHECKED,
        GATED,
        QUARANTINED,
        WINNERS,
        _collapse_within_file,
        _drop_temp,
        _merge,
        _rollback_quietly,
        _utcnow,
    )

    contract = effective_contract(contract_for(feed), config.accepted_values)
    con.execute("SET TimeZone = $tz", {"tz": config.feed_timezones.get(feed, "UTC")})
    where, params = _filters(feed, reason, open_only=True)
    try:
        con.execute(
            f"CREATE OR REPLACE TEMP TABLE {REPLAY_ROWS} AS SELECT line AS _line, raw_record "
            f"FROM {QUARANTINE_TABLE} WHERE file_id = $file_id AND {where}",
            {**params, "file_id": file_id},
        )
        con.execute(
            f"CREATE OR REPLACE TEMP TABLE {CHECKED} AS "
            + checked_sql(contract, _replay_stage_sql(contract))
        )
        checked, valid = con.execute(
            f"SELECT count(*), count(*) FILTER (WHERE _reason IS NULL) FROM {CHECKED}"
        ).fetchone()
        report.rows_checked += checked
        report.still_quarantined.update(
            dict(
                con.execute(
                    f"SELECT _reason, count(*) FROM {CHECKED} WHERE _reason IS NOT NULL GROUP BY 1"
                ).fetchall()
            )
        )
        if valid == 0:
            return
        winners_sql, n_winners = _collapse_within_file(con, contract, valid)
        merge_sql, merge_rows = winners_sql, n_winners
        identity_table = WINNERS if winners_sql == WINNERS else CHECKED
        gated = _gate(con, config, contract, report.run_id or 0, file_id, winners_sql, valid)
        if gated is not None:
            failed, refused = gated
            report.still_quarantined.update(failed)
            if refused:
                return
            merge_sql = identity_table = GATED
            merge_rows = con.execute(f"SELECT count(*) FROM {GATED}").fetchall()[0][0]
        report.phones_unparseable += apply_identity(
            con, identity_table, feed, config, pii_key(config)
        )
        con.execute("BEGIN")
        at = _utcnow()
        merged = _merge(con, contract, path, file_id, merge_sql, merge_rows, at)
        record_changed_days(con, report.run_id or 0, file_id, feed)
        key = ident(contract.key)
        has_actions = con.execute(
            "SELECT count(*) FROM duckdb_tables() WHERE temporary AND table_name = $name",
            {"name": ACTIONS},
        ).fetchone()[0]
        action = (
            f"coalesce((SELECT CASE a._action WHEN 'update' THEN 'updated' ELSE 'duplicate' "
            f"END FROM {ACTIONS} AS a WHERE a._key = c.{key}), 'inserted')"
            if has_actions
            else "'inserted'"
        )
        # rows the gate failed stay quarantined (open): they have no replay result
        gate_failed = (
            f" AND c._line NOT IN (SELECT _line FROM {QUARANTINED})" if gated is not None else ""
        )
        con.execute(
            f"CREATE OR REPLACE TEMP TABLE {REPLAY_RESULTS} AS SELECT c._line, "
            f"CASE WHEN c._line IN (SELECT _line FROM {merge_sql}) THEN {action} "
            f"ELSE 'duplicate' END AS result FROM {CHECKED} AS c "
            f"WHERE c._reason IS NULL{gate_failed}"
        )
        con.execute(
            f"UPDATE {QUARANTINE_TABLE} AS q SET replayed_at = $at, replay_run_id = $run_id, "
            f"replay_result = r.result FROM {REPLAY_RESULTS} AS r "
            f"WHERE q.file_id = $file_id AND q.line = r._line",
            {"at": at, "run_id": report.run_id, "file_id": file_id},
        )
        counts = dict(
            con.execute(f"SELECT result, count(*) FROM {REPLAY_RESULTS} GROUP BY 1").fetchall()
        )
        expected = (merged.inserted, merged.updated, (valid - n_winners) + merged.duplicate)
        got = (counts.get("inserted", 0), counts.get("updated", 0), counts.get("duplicate", 0))
        if got != expected:
            raise RuntimeError(
                f"{path}: replay counts do not reconcile (rows {got} vs merge {expected})"
            )
        con.execute("COMMIT")
        report.rows_inserted += merged.inserted
        report.rows_updated += merged.updated
        report.rows_duplicate += got[2]
        report.files += 1
        logger.info(
            "%s: %s quarantined rows replayed (%s inserted, %s updated, %s duplicates)",
            path,
            f"{valid:,}",
            f"{merged.inserted:,}",
            f"{merged.updated:,}",
            f"{got[2]:,}",
        )
    except BaseException:
        _rollback_quietly(con)
        raise
    finally:
        _drop_temp(con)
        for name in (REPLAY_ROWS, REPLAY_RESULTS, TOUCHED):
            con.execute(f"DROP TABLE IF EXISTS temp.main.{ident(name)}")


def _gate(
    con: duckdb.DuckDBPyConnection,
    config: BeaconConfig,
    contract: Contract,
    run_id: int,
    file_id: int,
    winners_sql: str,
    valid: int,
) -> tuple[Counter[str], bool] | None:
    """Run the feed's quality gate on the rows about to be replayed (None: gates off).

    Leaves the rows that pass in ``GATED`` and those that fail in ``QUARANTINED``; returns
    the failures by reason and whether the batch was refused whole (then nothing is
    replayed: every row stays quarantined).
    """
    from ingest.gate import REFUSED_PREFIX, Gate
    from ingest.load import GATED, QUARANTINED

    gate = Gate.open(con, config, contract, run_id)
    if not gate.enabled:
        return None
    try:
        con.execute(
            f"CREATE OR REPLACE TEMP TABLE {QUARANTINED} "
            "(_line BIGINT, _key VARCHAR, _reason VARCHAR, _raw VARCHAR)"
        )
        gate.add(0, winners_sql, QUARANTINED, valid)
        gate.validate(data_docs=False, refuse_bad_share=False, label=f"replay-{run_id}.{file_id}")
        gate.file_rows(0, GATED, QUARANTINED)
        refused = gate.verdicts[0].refused
    finally:
        gate.clear()
    failed = Counter(
        dict(con.execute(f"SELECT _reason, count(*) FROM {QUARANTINED} GROUP BY 1").fetchall())
    )
    losers = valid - sum(failed.values())
    if refused is not None and losers:  # within-file duplicates stay with their winners
        failed[REFUSED_PREFIX + refused] += losers
    return failed, refused is not None


def _replay_stage_sql(contract: Contract) -> str:
    """The open rows' ``raw_record`` parsed like a JSONL line (every field as text).

    JSONL rows keep their original line; CSV/Parquet rows a JSON object of their contract
    columns. A CSV row that was malformed kept its CSV text: it stays ``malformed_record``.
    """
    shape = "{" + ", ".join(f'"{n}": "VARCHAR"' for n in contract.names) + "}"
    is_object = f"starts_with(ltrim(raw_record, {_WHITESPACE}), '{{')"
    fields = ", ".join(f"struct_extract(x, {literal(n)}) AS {ident(n)}" for n in contract.names)
    return (
        f"SELECT _line, CASE WHEN raw_record IS NULL OR x IS NULL THEN "
        f"CASE WHEN raw_record IS NOT NULL AND NOT {is_object} AND json_valid(raw_record) "
        f"THEN 'not_an_object' ELSE 'malformed_record' END END AS _bad, "
        f"raw_record AS _raw, {fields} FROM (SELECT _line, raw_record, "
        f"CASE WHEN {is_object} THEN try(from_json(raw_record, {literal(shape)})) END AS x "
        f"FROM {REPLAY_ROWS})"
    )


# --- command line -------------------------------------------------------------------------


def add_commands(subparsers: argparse._SubParsersAction) -> None:
    """Register ``beacon quarantine list|replay`` on the CLI's subparsers."""
    p = subparsers.add_parser("quarantine", help="list or replay quarantined rows")
    sub = p.add_subparsers(dest="quarantine_command", required=True)
    for name, help_text, func in (
        ("list", "counts by feed and reason, and open rows with file and line", _cmd_list),
        (
            "replay",
            "re-validate open rows against today's contract; load those that pass",
            _cmd_replay,
        ),
    ):
        q = sub.add_parser(name, help=help_text)
        q.add_argument("--config", type=Path, help="TOML configuration file")
        q.add_argument("--warehouse", type=Path, help="DuckDB file (default BEACON_WAREHOUSE_PATH)")
        q.add_argument("--feed", choices=list(FEEDS))
        q.add_argument("--reason", help="a reason code, or its prefix before ':'")
        if name == "list":
            q.add_argument("--rows", type=int, default=20, help="open rows to show (default 20)")
        q.set_defaults(func=func)


def _config(args: argparse.Namespace) -> BeaconConfig:
    from beacon.config import BeaconConfig

    return BeaconConfig.load(config_file=args.config, warehouse_path=args.warehouse)


def _cmd_list(args: argparse.Namespace) -> int:
    config = _config(args)
    if not Path(config.warehouse_path).exists():
        print(f"warehouse not found: {config.warehouse_path}", file=sys.stderr)
        return 2
    con = connect(config.warehouse_path, read_only=True)
    try:
        upgraded = con.execute(
            "SELECT count(*) FROM information_schema.columns WHERE table_schema = 'raw' "
            "AND table_name = '_quarantine' AND column_name = 'replayed_at'"
        ).fetchone()[0]
        if not upgraded:  # a warehouse from before replay existed: add the columns once
            con.close()
            con = connect(config.warehouse_path, config=config)
            ensure_schema(con)
        counts = quarantine_counts(con, args.feed, args.reason)
        rows = quarantine_rows(con, args.feed, args.reason, args.rows) if args.rows > 0 else []
    finally:
        con.close()
    print(f"{'feed':<8} {'reason':<40} {'open':>8} {'replayed':>9}")
    for feed, reason, open_rows, replayed in counts:
        print(f"{feed:<8} {reason:<40} {open_rows:>8,} {replayed:>9,}")
    total_open = sum(c[2] for c in counts)
    print(f"{'':<8} {'total':<40} {total_open:>8,} {sum(c[3] for c in counts):>9,}")
    if rows:
        print(f"\nopen rows (first {len(rows)} of {total_open:,}, by file and line):")
        for path, line, key, reason, raw in rows:
            shown = (raw or "")[:120] + ("…" if raw and len(raw) > 120 else "")
            print(f"{path}:{line}  key={key}  {reason}\n    {shown}")
    return 0


def _cmd_replay(args: argparse.Namespace) -> int:
    report = replay(_config(args), [args.feed] if args.feed else None, args.reason)
    print(report.summary())
    return 0
