"""How much the quality gates cost: ``python -m expectations.benchmark --rows 1000000``.

Generates a calls batch of ``--rows`` legs in a DuckDB file (``main.batch``, with a few
faulty rows so the failing-key queries run), then times, median of ``--repeat``:

* ``validate_batch`` (the calls suite through GX, pushed down into DuckDB, failing keys,
  results persisted; GX's import and first context are warmed up before timing), and
* the same checks as one bare DuckDB query (counts of violations per check), the physical
  floor GX's overhead is compared with;
* the load of the same rows from a landed Parquet file by ``ingest.ingest_landing`` into a
  fresh warehouse, with the quality gates off (the load itself) and on (the load as ingest
  runs it, gate included: staging, validation against ``raw``, quarantine).

The issue's goal: the gates take no longer than the load, and at most 2x the bare SQL.
"""

from __future__ import annotations

import argparse
import shutil
import statistics
import tempfile
import time
from datetime import datetime
from pathlib import Path
from typing import Any

import duckdb

from expectations.common import QualitySettings
from expectations.runner import build_suite, validate_batch
from ingest.contracts import DUCKDB_TYPES, contract_for
from ingest.sql import ident, literal, literal_list

NOW = datetime(2026, 11, 24, 12, 0, 0)


def make_calls_batch(path: Path, rows: int, bad_every: int = 100_000) -> None:
    """``rows`` clean legs, plus one fault every ``bad_every`` rows (enum and order)."""
    contract = contract_for("calls")
    con = duckdb.connect(str(path))
    try:
        columns = ", ".join(f"{ident(f.name)} {DUCKDB_TYPES[f.type]}" for f in contract.fields)
        con.execute(f"CREATE OR REPLACE TABLE batch ({columns})")
        con.execute(
            """
            INSERT INTO batch BY NAME
            SELECT 'leg-' || i AS leg_id, 'call-' || (i // 2) AS call_id, 1 + i % 2 AS leg_seq,
                   CASE WHEN i % $bad = 1 THEN 'sideways' ELSE 'inbound' END AS direction,
                   CASE WHEN i % 5 <> 0 THEN 'cust-' || (i % 50000) END AS customer_id,
                   '+44207946' || lpad(CAST(i % 10000 AS VARCHAR), 4, '0') AS phone_number,
                   'q' || (i % 8) AS queue, 'agent-' || (i % 50) AS agent_id,
                   TIMESTAMP '2026-11-20' + to_seconds(i % 86400) AS arrived_at,
                   arrived_at + to_seconds(5) AS queued_at,
                   CASE WHEN i % $bad = 2 THEN arrived_at ELSE arrived_at + to_seconds(30) END
                       AS answered_at,
                   arrived_at + to_seconds(330) AS ended_at,
                   300.0 AS talk_seconds, 0.0 AS hold_seconds, 45.0 AS acw_seconds,
                   'handled' AS disposition, 'reason-' || (i % 12) AS contact_reason,
                   arrived_at + to_seconds(400) AS emitted_at
            FROM range($rows) AS t(i)
            """,
            {"rows": rows, "bad": bad_every},
        )
    finally:
        con.close()


def bare_query(
    settings: QualitySettings, feed: str = "calls", table: str = "batch"
) -> tuple[str, list[str]]:
    """A feed's suite's checks as one hand-written DuckDB query over ``table``.

    Column checks become violation counts; the suite's own SQL checks (cross-row ones such
    as tickets' ``order:events>=created``) are already SQL and run as they are, counted.
    Returns the SQL and, per selected column, its expectation's name (to compare the
    violation counts with GX's).
    """
    suite = build_suite(feed, now=NOW, settings=settings)
    contract = contract_for(feed)
    parts: list[str] = []
    names: list[str] = []
    for e in suite.expectations:
        name = e.meta["name"]
        kind, _, arg = name.partition(":")
        col = ident(arg) if arg and kind != "order" else None
        before = len(parts)
        query = getattr(e, "unexpected_rows_query", None)
        if query:
            parts.append(f"(SELECT count(*) FROM ({query.replace('{batch}', table)}))")
        elif kind == "not_null" and e.meta["severity"] == "critical":
            parts.append(f"count_if({col} IS NULL)")
        elif kind == "in_set":
            parts.append(f"count_if({col} NOT IN {literal_list(list(e.value_set))})")
        elif kind in ("minimum", "duration"):
            cond = f"{col} < {literal(float(e.min_value))}"
            if e.max_value is not None:
                cond += f" OR {col} > {literal(float(e.max_value))}"
            parts.append(f"count_if({cond})")
        elif kind == "order":
            later, earlier = arg.split(">=")
            parts.append(f"count_if({ident(later)} < {ident(earlier)})")
        elif kind == "not_future":
            parts.append(f"count_if({col} > {literal(e.max_value.isoformat(sep=' '))})")
        elif kind == "unique":
            parts.append(f"count(DISTINCT {col}) = count(*)")
        elif kind == "null_share":
            parts.append(f"avg(CASE WHEN {col} IS NULL THEN 1.0 ELSE 0.0 END)")
        elif name == "freshness":
            parts.append(f"max({ident(contract.event_time)})")
        names.extend([name] * (len(parts) - before))
    return "SELECT " + ",\n       ".join(parts) + f"\nFROM {table}", names


def _median(label: str, runs: list[float]) -> float:
    m = statistics.median(runs)
    print(f"{label:<34} median {m:6.2f}s  runs {', '.join(f'{x:.2f}' for x in runs)}")
    return m


def load_with_ingest(
    landing: Path, warehouse: Path, rows: int, gates: bool, validations: list[float] | None = None
) -> float:
    """Seconds for ``ingest_landing`` to load the landing zone into a fresh warehouse;
    ``validations`` receives the seconds of each ``validate_batch`` the gate ran."""
    import expectations
    from beacon.config import BeaconConfig, QualityConfig
    from ingest import ingest_landing

    shutil.rmtree(warehouse.parent, ignore_errors=True)
    config = BeaconConfig(
        landing_dir=landing,
        warehouse_path=warehouse,
        quality=QualityConfig(gates=gates, data_docs=False),
    )
    original = expectations.validate_batch

    def timed(*args: Any, **kwargs: Any) -> Any:
        t = time.perf_counter()
        try:
            return original(*args, **kwargs)
        finally:
            if validations is not None:
                validations.append(time.perf_counter() - t)

    expectations.validate_batch = timed  # the gate imports it from the package when it runs
    try:
        t = time.perf_counter()
        report = ingest_landing(config, ["calls"])
        seconds = time.perf_counter() - t
    finally:
        expectations.validate_batch = original
    totals = report.totals()
    assert totals["rows_read"] == rows and totals["files_loaded"] == 1, totals
    return seconds


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=1_000_000)
    parser.add_argument("--repeat", type=int, default=3)
    args = parser.parse_args(argv)
    settings = QualitySettings()
    with tempfile.TemporaryDirectory(prefix="beacon-quality-bench-") as tmp:
        path = Path(tmp) / "bench.duckdb"
        t = time.perf_counter()
        make_calls_batch(path, args.rows)
        landing = Path(tmp) / "landing"
        parquet = landing / "calls" / f"calls_{args.rows}.parquet"
        parquet.parent.mkdir(parents=True)
        con = duckdb.connect(str(path))
        try:  # the same rows as a landed Parquet file (the path is ours: a temp folder)
            con.execute(f"COPY batch TO {literal(str(parquet))} (FORMAT parquet)")
        finally:
            con.close()
        print(f"generated {args.rows:,} calls legs (+ Parquet) in {time.perf_counter() - t:.2f}s")

        t = time.perf_counter()
        small = Path(tmp) / "warmup.duckdb"
        make_calls_batch(small, 10)
        validate_batch(small, "calls", "batch", now=NOW, persist=False)
        print(f"warm-up (GX import, first context, 10 rows): {time.perf_counter() - t:.2f}s")

        gates, bare, load, gated_load, in_gate = [], [], [], [], []
        validation = None
        sql, names = bare_query(settings)
        counts: dict[str, object] = {}
        warehouse = Path(tmp) / "warehouse" / "beacon.duckdb"
        for _ in range(args.repeat):
            t = time.perf_counter()
            validation = validate_batch(path, "calls", "batch", now=NOW, settings=settings)
            gates.append(time.perf_counter() - t)
            con = duckdb.connect(str(path))
            try:
                t = time.perf_counter()
                (row,) = con.execute(sql).fetchall()
                bare.append(time.perf_counter() - t)
                counts = dict(zip(names, row, strict=True))
            finally:
                con.close()
            load.append(load_with_ingest(landing, warehouse, args.rows, gates=False))
            gated_load.append(
                load_with_ingest(landing, warehouse, args.rows, gates=True, validations=in_gate)
            )
        assert validation is not None
        keys = sum(len(k) for k in validation.failing_keys.values())
        print(
            f"validate_batch: {len(validation.outcomes)} expectations, "
            f"{len(validation.critical_failures)} critical failed, {keys:,} failing keys"
        )
        # the two must agree on every row-level check
        for o in validation.outcomes:
            if o.unexpected_count is not None and o.severity == "critical":
                assert (counts[o.expectation] or 0) == o.unexpected_count, o
        print(f"\n{args.rows:,} rows, median of {args.repeat}")
        g = _median("gates (validate_batch)", gates)
        b = _median("same checks as bare DuckDB SQL", bare)
        ld = _median("load: ingest_landing, Parquet", load)
        gl = _median("load with the gates on (ingest)", gated_load)
        ig = _median("  of which validate_batch (gate)", in_gate)
        print(f"gates / bare: {g / b:.1f}x")
        print(f"gates / load: {g / ld:.2f}x")
        print(f"gated load - load: {gl - ld:+.2f}s ({(gl - ld) / ld:+.0%})")
        print(f"validate_batch in the gate / load: {ig / ld:.2f}x")


if __name__ == "__main__":
    main()
