"""Throughput of ingest against DuckDB's bare read of the same JSONL file.

    python -m ingest.benchmark --rows 1000000 --dir /tmp/beacon-bench

Generates ``--rows`` calls records (about 400 bytes each, DuckDB writes them) once, then
``--repeat`` times: (a) bare ``CREATE TABLE AS SELECT * FROM read_json(...)`` into an
in-memory database, (b) the same into a fresh database file, (c) ``ingest_landing`` into a
fresh warehouse (validation, quarantine, primary key, manifest, sha256). Prints the
median of each and ingest's speed as a share of the bare reads.
"""

from __future__ import annotations

import argparse
import shutil
import statistics
import tempfile
import time
from pathlib import Path

_GENERATE = """
COPY (
    WITH t AS (SELECT i, TIMESTAMP '2026-10-01' + to_seconds(i * 3) AS t0 FROM range($rows) AS r(i))
    SELECT
        printf('L%010d', i) AS leg_id,
        printf('C%010d', i // 2) AS call_id,
        1 + i % 2 AS leg_seq,
        ['inbound', 'inbound', 'outbound', 'callback'][1 + i % 4] AS direction,
        printf('CU%07d', hash(i) % 500000) AS customer_id,
        printf('+4420%08d', hash(i) % 100000000) AS phone_number,
        ['billing', 'tech', 'sales'][1 + i % 3] AS queue,
        printf('A%03d', i % 200) AS agent_id,
        strftime(t0, '%Y-%m-%dT%H:%M:%SZ') AS arrived_at,
        strftime(t0 + to_seconds(5), '%Y-%m-%dT%H:%M:%SZ') AS queued_at,
        strftime(t0 + to_seconds(40), '%Y-%m-%dT%H:%M:%SZ') AS answered_at,
        strftime(t0 + to_seconds(300), '%Y-%m-%dT%H:%M:%SZ') AS ended_at,
        round(60 + (hash(i) % 60000) / 100.0, 1) AS talk_seconds,
        hash(i) % 90 AS hold_seconds,
        30 AS acw_seconds,
        'handled' AS disposition,
        NULL AS transferred_to_queue,
        'billing_question' AS contact_reason,
        'resolved' AS agent_resolution,
        NULL AS ticket_id,
        strftime(t0 + to_seconds(330), '%Y-%m-%dT%H:%M:%SZ') AS emitted_at
    FROM t
) TO '{path}' (FORMAT json)
"""


def generate(path: Path, rows: int) -> None:
    import duckdb

    path.parent.mkdir(parents=True, exist_ok=True)
    # the path is ours (a temp or user-given folder); COPY TO takes no parameter for it
    if "'" in str(path):
        raise ValueError("benchmark path must not contain a quote")
    con = duckdb.connect()
    con.execute(_GENERATE.format(path=path), {"rows": rows})
    con.close()


def main(argv: list[str] | None = None) -> None:
    import duckdb

    from beacon.config import BeaconConfig
    from ingest import ingest_landing

    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=1_000_000)
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--dir", type=Path, default=Path(tempfile.gettempdir()) / "beacon-bench")
    args = parser.parse_args(argv)

    source = args.dir / "landing" / "calls" / f"calls_{args.rows}.jsonl"
    if not source.exists():
        print(f"generating {args.rows:,} rows into {source} …")
        generate(source, args.rows)
    size_mb = source.stat().st_size / 1e6
    bare_mem, bare_file, ingest = [], [], []
    for _ in range(args.repeat):
        con = duckdb.connect()
        t0 = time.perf_counter()
        con.execute(
            "CREATE TABLE bare AS SELECT * FROM read_json($p, format = 'newline_delimited')",
            {"p": str(source)},
        )
        bare_mem.append(time.perf_counter() - t0)
        con.close()

        bare_db = args.dir / "bare.duckdb"
        bare_db.unlink(missing_ok=True)
        con = duckdb.connect(str(bare_db))
        t0 = time.perf_counter()
        con.execute(
            "CREATE TABLE bare AS SELECT * FROM read_json($p, format = 'newline_delimited')",
            {"p": str(source)},
        )
        con.close()
        bare_file.append(time.perf_counter() - t0)

        warehouse = args.dir / "warehouse"
        shutil.rmtree(warehouse, ignore_errors=True)
        config = BeaconConfig(
            landing_dir=args.dir / "landing", warehouse_path=warehouse / "beacon.duckdb"
        )
        t0 = time.perf_counter()
        report = ingest_landing(config, ["calls"])
        ingest.append(time.perf_counter() - t0)
        assert report.ok and report.totals()["rows_inserted"] == args.rows, report.totals()

    def line(label: str, seconds: list[float]) -> str:
        med = statistics.median(seconds)
        return f"{label:<42} {med:6.2f} s  {args.rows / med:>12,.0f} rows/s"

    print(f"{args.rows:,} rows, {size_mb:,.0f} MB JSONL, median of {args.repeat}")
    print(line("bare read_json → in-memory table", bare_mem))
    print(line("bare read_json → table in a DuckDB file", bare_file))
    print(line("ingest_landing (validate, merge, manifest)", ingest))
    ing = statistics.median(ingest)
    print(
        f"ingest speed = {statistics.median(bare_mem) / ing:.0%} of the in-memory bare read, "
        f"{statistics.median(bare_file) / ing:.0%} of the bare load into a file"
    )


if __name__ == "__main__":
    main()
