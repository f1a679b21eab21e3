"""How much the quality gates cost: ``python -m expectations.benchmark --rows 1000000``.

Generates a calls batch of ``--rows`` legs in a DuckDB file (``main.batch``, with a few
faulty rows so the failing-key queries run), then times, median of ``--repeat``:

* ``validate_batch`` (the calls suite through GX, pushed down into DuckDB, failing keys,
  results persisted; GX's import and first context are warmed up before timing), and
* the same checks as one bare DuckDB query (counts of violations per check), the physical
  floor GX's overhead is compared with.
"""

from __future__ import annotations

import argparse
import statistics
import tempfile
import time
from datetime import datetime
from pathlib import Path

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


def bare_query(settings: QualitySettings) -> tuple[str, list[str]]:
    """The calls suite's checks as one hand-written DuckDB query (violation counts).

    Returns the SQL and, per selected column, its expectation's name (to compare the
    violation counts with GX's).
    """
    suite = build_suite("calls", now=NOW, settings=settings)
    contract = contract_for("calls")
    parts: list[str] = []
    names: list[str] = []
    for e in suite.expectations:
        name = e.meta["name"]
        kind, _, arg = name.partition(":")
        col = ident(arg) if arg and kind != "order" else None
        before = len(parts)
        if kind == "not_null" and e.meta["severity"] == "critical":
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
        elif name == "unidentified_share":
            parts.append(
                "avg(CASE WHEN customer_id IS NULL AND phone_number IS NULL THEN 1 ELSE 0 END)"
            )
        names.extend([name] * (len(parts) - before))
    assert contract.key == "leg_id"
    return "SELECT " + ",\n       ".join(parts) + "\nFROM batch", names


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
        print(f"generated {args.rows:,} calls legs in {time.perf_counter() - t:.2f}s")

        t = time.perf_counter()
        small = Path(tmp) / "warmup.duckdb"
        make_calls_batch(small, 10)
        validate_batch(small, "calls", "batch", now=NOW, persist=False)
        print(f"warm-up (GX import, first context, 10 rows): {time.perf_counter() - t:.2f}s")

        gates, bare = [], []
        validation = None
        sql, names = bare_query(settings)
        counts: dict[str, object] = {}
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
        g, b = statistics.median(gates), statistics.median(bare)
        print(
            f"gates (validate_batch)  median {g:.2f}s  runs {', '.join(f'{x:.2f}' for x in gates)}"
        )
        print(
            f"bare DuckDB query       median {b:.2f}s  runs {', '.join(f'{x:.2f}' for x in bare)}"
        )
        print(f"gates / bare: {g / b:.1f}x")


if __name__ == "__main__":
    main()
