"""Throughput of ingest against DuckDB's bare read of the same file, per format.

    python -m ingest.benchmark --rows 10000000 --repeat 3 --formats jsonl,csv,parquet

Generates ``--rows`` calls records once per format and size (about 540 bytes each as
JSON; DuckDB writes them) under ``--dir``/<rows>/<format>/, then ``--repeat`` times per
format, one after the other so that all three share the machine's state of the moment:

(a) bare read into memory: ``CREATE TABLE AS SELECT * FROM read_json/read_csv/
    read_parquet(...)`` into an in-memory database (DuckDB infers the types);
(b) bare read into a file: the same into a fresh database file, closed (checkpointed).
    This is the least any loader writing a DuckDB file does;
(c) ``ingest_landing`` into a fresh warehouse: staging, contract validation and typing,
    quarantine, identity normalisation, within-file dedupe, merge, manifest, sha256,
    changed days, one transaction, closed. The quality gates (issue #4's GX suites) are
    off unless ``--gates``.

Prints the machine (cores, RAM, DuckDB and Python versions), the median of each step,
ingest's events/s, and ingest's speed as a share of each bare read (bare time ÷ ingest
time), plus every run's times. Each step's CPU time (user + system, all threads of this
process: DuckDB's and the hashing thread) is printed too: on a shared machine it moves
much less than the elapsed time, so it shows where the work is. Only ratios measured in
the same run are comparable. ``--wait-idle N`` waits up to N seconds before each step
until other processes leave the CPUs idle (Linux); ``--delete-data`` removes the
generated files afterwards.
"""

from __future__ import annotations

import argparse
import contextlib
import os
import platform
import resource
import shutil
import statistics
import sys
import tempfile
import time
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

_GENERATE = """
COPY (
    -- every 3 s over 270 days of the past (the quality gates refuse future timestamps)
    WITH t AS (
        SELECT i, TIMESTAMP '2026-01-01' + to_seconds((i * 3) % (270 * 86400)) AS t0
        FROM range($rows) AS r(i)
    )
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


def source_path(root: Path, fmt: str, rows: int) -> Path:
    """Where the generated file of ``rows`` records in ``fmt`` lives (its own landing zone)."""
    return root / str(rows) / fmt / "landing" / "calls" / f"calls_{rows}.{FORMATS[fmt][0]}"


def machine() -> str:
    """Cores, RAM and versions: the figures are only meaningful with them."""
    import duckdb

    cores = os.cpu_count()
    usable = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else cores
    ram = os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES") / 2**30
    cpu = platform.processor() or platform.machine()
    with_cpu = ""
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                with_cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    return (
        f"{cores} cores ({usable} usable), {ram:.1f} GiB RAM, {with_cpu or cpu}; "
        f"DuckDB {duckdb.__version__} (default threads and memory limit), "
        f"Python {platform.python_version()} on {platform.system()} {platform.release()}"
    )


def _cpu_seconds() -> float:
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime


def _wait_idle(limit: float) -> None:
    """Wait (at most ``limit`` s) until the CPUs are at least 90 % idle over 2 s."""

    def sample() -> tuple[int, int]:
        with open("/proc/stat") as fh:
            values = [int(v) for v in fh.readline().split()[1:]]
        return values[3] + values[4], sum(values)  # idle + iowait, total

    deadline = time.monotonic() + limit
    while time.monotonic() < deadline:
        try:
            idle0, total0 = sample()
            time.sleep(2)
            idle1, total1 = sample()
        except OSError:
            return
        if (idle1 - idle0) >= 0.9 * max(1, total1 - total0):
            return


class _Timer:
    """Elapsed and CPU seconds of the steps of one format."""

    def __init__(self, wait_idle: float) -> None:
        self.wait_idle = wait_idle
        self.times: dict[str, list[tuple[float, float]]] = {}

    @contextlib.contextmanager
    def step(self, name: str) -> Iterator[None]:
        if self.wait_idle:
            _wait_idle(self.wait_idle)
        t0, c0 = time.perf_counter(), _cpu_seconds()
        yield
        elapsed, cpu = time.perf_counter() - t0, _cpu_seconds() - c0
        self.times.setdefault(name, []).append((elapsed, cpu))


def bench_format(
    fmt: str, rows: int, repeat: int, root: Path, gates: bool = False, wait_idle: float = 0
) -> dict[str, list[tuple[float, float]]]:
    """(elapsed, CPU) seconds of the bare reads and of ingest for one format, per repeat."""
    import duckdb

    from beacon.config import BeaconConfig, QualityConfig
    from ingest import ingest_landing

    reader = FORMATS[fmt][2]
    source = source_path(root, fmt, rows)
    if not source.exists():
        print(f"generating {rows:,} rows into {source} …", flush=True)
        generate(source, rows, fmt)
    base = source.parents[2]
    timer = _Timer(wait_idle)
    for _ in range(repeat):
        con = duckdb.connect()
        with timer.step("bare_mem"):
            con.execute(f"CREATE TABLE bare AS SELECT * FROM {reader}", {"p": str(source)})
        con.close()

        bare_db = base / "bare.duckdb"
        bare_db.unlink(missing_ok=True)
        with timer.step("bare_file"):
            con = duckdb.connect(str(bare_db))
            con.execute(f"CREATE TABLE bare AS SELECT * FROM {reader}", {"p": str(source)})
            con.close()
        bare_db.unlink(missing_ok=True)

        warehouse = base / "warehouse"
        shutil.rmtree(warehouse, ignore_errors=True)
        config = BeaconConfig(
            landing_dir=base / "landing",
            warehouse_path=warehouse / "w.duckdb",
            quality=QualityConfig() if gates else QualityConfig(gates=False),
        )
        with timer.step("ingest"):
            report = ingest_landing(config, ["calls"])
        totals = report.totals()
        assert report.ok and totals["rows_inserted"] == rows, totals
        shutil.rmtree(warehouse, ignore_errors=True)
    return timer.times


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=1_000_000)
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--formats", default="jsonl,csv,parquet")
    parser.add_argument("--dir", type=Path, default=Path(tempfile.gettempdir()) / "beacon-bench")
    parser.add_argument("--gates", action="store_true", help="run ingest's quality gates too")
    parser.add_argument(
        "--wait-idle",
        type=float,
        default=0,
        metavar="SECONDS",
        help="before each step, wait up to this long for other processes to leave the CPUs idle",
    )
    parser.add_argument(
        "--delete-data", action="store_true", help="remove the generated files afterwards"
    )
    args = parser.parse_args(argv)

    formats = [f.strip() for f in args.formats.split(",") if f.strip()]
    unknown = [f for f in formats if f not in FORMATS]
    if unknown:
        parser.error(f"unknown format(s) {unknown}; expected {', '.join(FORMATS)}")
    started = datetime.now(UTC)
    try:
        results = {
            fmt: bench_format(fmt, args.rows, args.repeat, args.dir, args.gates, args.wait_idle)
            for fmt in formats
        }
        sizes = {fmt: source_path(args.dir, fmt, args.rows).stat().st_size / 1e6 for fmt in formats}
    finally:
        if args.delete_data:
            shutil.rmtree(args.dir / str(args.rows), ignore_errors=True)

    def median(runs: list[tuple[float, float]], i: int = 0) -> float:
        return statistics.median(run[i] for run in runs)

    print(
        f"\n{args.rows:,} calls records per file, median of {args.repeat} "
        f"({started:%Y-%m-%d %H:%M} UTC; quality gates {'on' if args.gates else 'off'})"
    )
    print(machine())
    print(
        f"{'format':<8} {'MB':>6} {'bare→memory':>12} {'bare→file':>10} {'ingest':>8} "
        f"{'ingest events/s':>16} {'÷ bare mem':>11} {'÷ bare file':>12}"
    )
    for fmt, r in results.items():
        mem, file, ing = median(r["bare_mem"]), median(r["bare_file"]), median(r["ingest"])
        print(
            f"{fmt:<8} {sizes[fmt]:>6,.0f} {mem:>11.2f}s {file:>9.2f}s {ing:>7.2f}s "
            f"{args.rows / ing:>16,.0f} {mem / ing:>11.0%} {file / ing:>12.0%}"
        )
    print("CPU seconds (user + system, median):")
    for fmt, r in results.items():
        mem, file, ing = (median(r[k], 1) for k in ("bare_mem", "bare_file", "ingest"))
        print(
            f"{fmt:<8} {'':>6} {mem:>11.2f}s {file:>9.2f}s {ing:>7.2f}s {'':>16} "
            f"{mem / ing:>11.0%} {file / ing:>12.0%}"
        )
    print("every run, elapsed (CPU) seconds: bare→memory / bare→file / ingest")
    for fmt, r in results.items():
        runs = zip(r["bare_mem"], r["bare_file"], r["ingest"], strict=True)
        print(
            f"  {fmt:<8} "
            + "   ".join(" / ".join(f"{e:.2f} ({c:.1f})" for e, c in run) for run in runs)
        )
    sys.stdout.flush()


if __name__ == "__main__":
    main()
