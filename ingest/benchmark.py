"""Throughput of ingest against DuckDB's bare read of the same file, per format.

    python -m ingest.benchmark --rows 1000000 --formats jsonl,csv,parquet --dir /tmp/beacon-bench

Generates ``--rows`` calls records (about 400 bytes each as JSON, DuckDB writes them) once
per format, then ``--repeat`` times per format: (a) bare ``CREATE TABLE AS SELECT * FROM
read_json/read_csv/read_parquet(...)`` into an in-memory database, (b) the same into a
fresh database file, (c) ``ingest_landing`` into a fresh warehouse (validation,
quarantine, primary key, manifest, sha256, changed days, identity normalisation). Prints
the median of each, events/s, and ingest's speed as a share of the bare reads, measured
in the same run.
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


#: format -> (file extension, COPY options, bare reader)
FORMATS: dict[str, tuple[str, str, str]] = {
    "jsonl": ("jsonl", "FORMAT json", "read_json($p, format = 'newline_delimited')"),
    "csv": ("csv", "FORMAT csv, HEADER true", "read_csv($p, header = true)"),
    "parquet": ("parquet", "FORMAT parquet", "read_parquet($p)"),
}


def generate(path: Path, rows: int, fmt: str = "jsonl") -> None:
    import duckdb

    path.parent.mkdir(parents=True, exist_ok=True)
    # the path is ours (a temp or user-given folder); COPY TO takes no parameter for it
    if "'" in str(path):
        raise ValueError("benchmark path must not contain a quote")
    sql = _GENERATE.format(path=path).replace("(FORMAT json)", f"({FORMATS[fmt][1]})")
    con = duckdb.connect()
    con.execute(sql, {"rows": rows})
    con.close()


def bench_format(fmt: str, rows: int, repeat: int, root: Path) -> dict[str, float]:
    """Median seconds of the bare reads and of ingest for one format."""
    import duckdb

    from beacon.config import BeaconConfig
    from ingest import ingest_landing

    ext, _, reader = FORMATS[fmt]
    base = root / fmt
    source = base / "landing" / "calls" / f"calls_{rows}.{ext}"
    if not source.exists():
        print(f"generating {rows:,} rows into {source} …")
        generate(source, rows, fmt)
    bare_mem, bare_file, ingest = [], [], []
    for _ in range(repeat):
        con = duckdb.connect()
        t0 = time.perf_counter()
        con.execute(f"CREATE TABLE bare AS SELECT * FROM {reader}", {"p": str(source)})
        bare_mem.append(time.perf_counter() - t0)
        con.close()

        bare_db = base / "bare.duckdb"
        bare_db.unlink(missing_ok=True)
        con = duckdb.connect(str(bare_db))
        t0 = time.perf_counter()
        con.execute(f"CREATE TABLE bare AS SELECT * FROM {reader}", {"p": str(source)})
        con.close()
        bare_file.append(time.perf_counter() - t0)

        warehouse = base / "warehouse"
        shutil.rmtree(warehouse, ignore_errors=True)
        config = BeaconConfig(landing_dir=base / "landing", warehouse_path=warehouse / "w.duckdb")
        t0 = time.perf_counter()
        report = ingest_landing(config, ["calls"])
        ingest.append(time.perf_counter() - t0)
        assert report.ok and report.totals()["rows_inserted"] == rows, report.totals()
    return {
        "mb": source.stat().st_size / 1e6,
        "bare_mem": statistics.median(bare_mem),
        "bare_file": statistics.median(bare_file),
        "ingest": statistics.median(ingest),
    }


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=1_000_000)
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--formats", default="jsonl,csv,parquet")
    parser.add_argument("--dir", type=Path, default=Path(tempfile.gettempdir()) / "beacon-bench")
    args = parser.parse_args(argv)

    formats = [f.strip() for f in args.formats.split(",") if f.strip()]
    unknown = [f for f in formats if f not in FORMATS]
    if unknown:
        parser.error(f"unknown format(s) {unknown}; expected {', '.join(FORMATS)}")
    results = {fmt: bench_format(fmt, args.rows, args.repeat, args.dir) for fmt in formats}

    print(f"\n{args.rows:,} calls records per file, median of {args.repeat}")
    print(
        f"{'format':<8} {'MB':>6} {'bare→memory':>12} {'bare→file':>10} {'ingest':>8} "
        f"{'ingest events/s':>16} {'÷ bare mem':>11} {'÷ bare file':>12}"
    )
    for fmt, r in results.items():
        print(
            f"{fmt:<8} {r['mb']:>6,.0f} {r['bare_mem']:>11.2f}s {r['bare_file']:>9.2f}s "
            f"{r['ingest']:>7.2f}s {args.rows / r['ingest']:>16,.0f} "
            f"{r['bare_mem'] / r['ingest']:>11.0%} {r['bare_file'] / r['ingest']:>12.0%}"
        )


if __name__ == "__main__":
    main()
