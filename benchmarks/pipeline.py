"""Beacon end to end at contact-centre scale, each stage against the engine's limit.

    python -m benchmarks.pipeline --contacts 1000000 [--days 90] [--format parquet]

1. **simulate**: ``--contacts`` contacts over ``--days`` days, generated in DuckDB with the
   simulator's shape (:mod:`benchmarks.transform` describes it; the Python simulator makes
   ~5,000 contacts/s, too slow for 10 M), written as the landing files a centre would
   deliver: one file per feed and day (CRM: its history before the first day in one file),
   in ``--format`` (parquet, jsonl or csv), in a process of its own. Not part of the
   pipeline's time.
2. **ingest + quality gates**: ``ingest_landing`` with the default configuration (gates on)
   into a new warehouse: every file staged, contract-checked, gated (GX suites), merged,
   committed. Its bare equivalent: DuckDB reading the same files into tables of a new
   database file (``CREATE TABLE AS SELECT * FROM read_…``). The gates' share is reported
   on its own (``IngestReport.gate_seconds``) against the same checks as one bare DuckDB
   query per feed over the loaded rows (:func:`expectations.benchmark.bare_query`).
3. **full build**: dbt ``build`` (a full refresh: every model, each followed by its tests),
   as the pipeline's transform task runs it. Bare equivalent: the core computations
   (contacts from legs and ticket events, customer resolution, stitching into issues, the
   daily aggregation) as one DuckDB query (:data:`benchmarks.transform.BARE_SQL`).
4. **analyst in pandas**: AHT, FCR and repeat-contact rate straight from the raw tables in
   plain pandas (:mod:`benchmarks.analyst`, in a process of its own so that its memory is
   not counted in the next stage's), timed, and compared with the marts' numbers
   (they must agree).
5. **incremental day**: the next day's files land; ingest (+ gates), then dbt ``build``
   (incremental).

For every stage: wall time, rows/s, CPU seconds (all threads), peak memory of the process
during the stage (Linux ``VmHWM``, reset before each stage), and the ratio to its bare
equivalent measured in the same run. The goals of issue #8 are printed beside the figures.
``--keep`` keeps the folder (landing zone, warehouse) for inspection.
"""

from __future__ import annotations

import argparse
import contextlib
import logging
import os
import re
import shutil
import sys
import time
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass
from multiprocessing import get_context
from pathlib import Path
from typing import Any

import duckdb

from benchmarks import transform as tb
from ingest.benchmark import FORMATS

FEEDS = ("calls", "tickets", "crm")


@dataclass
class Stage:
    name: str
    seconds: float
    cpu_seconds: float
    peak_gib: float
    rows: int = 0
    #: the bare equivalent's stage (same data, same run)
    bare: Stage | None = None

    @property
    def ratio(self) -> float | None:
        return self.seconds / self.bare.seconds if self.bare else None

    @property
    def cpu_ratio(self) -> float | None:
        return self.cpu_seconds / self.bare.cpu_seconds if self.bare else None


def reset_peak_memory() -> None:
    """Reset the process's peak resident memory (Linux: ``clear_refs`` 5)."""
    with contextlib.suppress(OSError):
        Path("/proc/self/clear_refs").write_text("5")


def peak_memory_gib() -> float:
    try:
        status = Path("/proc/self/status").read_text()
    except OSError:
        return float("nan")
    match = re.search(r"VmHWM:\s+(\d+) kB", status)
    return int(match.group(1)) / 1024 / 1024 if match else float("nan")


def measure(name: str, func, *args, rows: int = 0, **kwargs) -> tuple[Stage, Any]:
    """Run ``func`` and measure it: wall time, CPU time, peak memory."""
    reset_peak_memory()
    cpu = os.times()
    started = time.perf_counter()
    result = func(*args, **kwargs)
    elapsed = time.perf_counter() - started
    after = os.times()
    cpu_used = sum(
        getattr(after, a) - getattr(cpu, a)
        for a in ("user", "system", "children_user", "children_system")
    )
    stage = Stage(name, elapsed, cpu_used, peak_memory_gib(), rows=rows)
    print(f"  {name}: {elapsed:,.1f} s, {cpu_used:,.1f} CPU s, peak {stage.peak_gib:.2f} GiB")
    return stage, result


def in_own_process(func, *args) -> Any:
    """``func(*args)`` in a fresh (spawned) process: what it allocates, its DuckDB instances
    and threads are gone when it returns, and its memory is not this process's."""
    with ProcessPoolExecutor(max_workers=1, mp_context=get_context("spawn")) as pool:
        return pool.submit(func, *args).result()


# --- 1. the simulated centre, as landing files ---------------------------------------------


def simulate(scratch: Path, contacts: int, days: int) -> duckdb.DuckDBPyConnection:
    """Generate the centre's events into tables ``bench_<feed>`` (column ``t``: when) of the
    scratch database. Not temp tables: at 100 M those spilled more than 34 GB to disk
    uncompressed before they were complete; stored, they are compressed."""
    con = duckdb.connect(str(scratch))
    params = {
        "contacts": contacts,
        "days": days,
        "customers": max(1000, contacts // 5),
        "agents_per_queue": max(4, contacts // 50_000),
    }
    for statement in tb.GENERATE.format(start=tb.START, table="TABLE").split(";\n"):
        if statement.strip():
            con.execute(statement, {k: v for k, v in params.items() if f"${k}" in statement})
    return con


def write_landing(
    con: duckdb.DuckDBPyConnection, landing: Path, fmt: str, first_day: int, last_day: int
) -> dict[str, int]:
    """Write days ``first_day`` … ``last_day`` (0 = the first simulated day; CRM history
    before day 0 goes with day 0) as one file per feed and day; returns rows per feed."""
    rows: dict[str, int] = {}
    for feed in FEEDS:
        folder = landing / feed
        folder.mkdir(parents=True, exist_ok=True)
        rows[feed] = 0
        for day in range(first_day, last_day + 1):
            start = f"TIMESTAMP '{tb.START}' + to_days({day})"
            lower = "true" if feed == "crm" and day == 0 else f"t >= {start}"
            where = f"{lower} AND t < {start} + INTERVAL 1 DAY"
            date = con.execute(f"SELECT CAST({start} AS DATE)").fetchone()[0]
            extension, copy_options, _ = FORMATS[fmt]
            path = folder / f"{feed}_{date}.{extension}"
            count = con.execute(f"SELECT count(*) FROM bench_{feed} WHERE {where}").fetchone()[0]
            if not count:
                continue
            con.execute(
                f"COPY (SELECT {tb.RAW_COLUMNS[feed]} FROM bench_{feed} WHERE {where} "
                f"ORDER BY t) TO '{path}' ({copy_options})"
            )
            rows[feed] += count
    return rows


def simulate_landing(
    folder: Path, contacts: int, days: int, fmt: str, next_day: Path
) -> dict[str, int]:
    """Simulate the centre into ``folder/landing`` (days before ``days``) and ``next_day``
    (day ``days``); returns the history's rows per feed. The scratch database is deleted."""
    scratch = folder / "scratch.duckdb"
    con = simulate(scratch, contacts, days)
    try:
        history = write_landing(con, folder / "landing", fmt, 0, days - 1)
        write_landing(con, next_day, fmt, days, days)
    finally:
        con.close()
        scratch.unlink()
    return history


# --- 2. ingest and its bare equivalent -------------------------------------------------------


def bare_read(landing: Path, fmt: str, target: Path) -> int:
    """DuckDB reading every landed file into a table per feed of a new database file."""
    target.unlink(missing_ok=True)
    con = duckdb.connect(str(target))
    try:
        total = 0
        for feed in FEEDS:
            extension, _, reader = FORMATS[fmt]
            files = sorted(str(p) for p in (landing / feed).glob(f"*.{extension}"))
            con.execute(f"CREATE TABLE {feed} AS SELECT * FROM {reader}", {"p": files})
            total += con.execute(f"SELECT count(*) FROM {feed}").fetchone()[0]
        return total
    finally:
        con.close()
        target.unlink(missing_ok=True)


def bare_gates(warehouse: Path) -> float:
    """Seconds for the suites' checks as bare DuckDB queries over the loaded raw rows."""
    from expectations.benchmark import bare_query
    from expectations.common import QualitySettings

    settings = QualitySettings()
    queries = [bare_query(settings, feed, f"raw.{feed}")[0] for feed in FEEDS]
    con = duckdb.connect(str(warehouse), read_only=True)
    try:
        started = time.perf_counter()
        for sql in queries:
            con.execute(sql).fetchall()
        return time.perf_counter() - started
    finally:
        con.close()


def ingest(config) -> Any:
    from ingest import ingest_landing

    report = ingest_landing(config)
    if not report.ok:
        raise RuntimeError(f"ingest failed: {[f.error for f in report.failed]}")
    return report


def build(config) -> Any:
    """What the pipeline's transform task runs (``beacon.pipeline.build_marts``): dbt
    ``build``, every model and, after each, its tests."""
    from beacon.transform import run_dbt

    return run_dbt(config, "build", ["--quiet"])


def analyst(warehouse: Path) -> tuple[dict[str, float], float]:
    """The pandas yardstick in a process of its own (its memory is not the pipeline's, and
    pandas does not give it back): the three numbers and the process's peak GiB."""
    from benchmarks.analyst import headline_metrics_and_peak

    return in_own_process(headline_metrics_and_peak, str(warehouse))


def bare_transform(warehouse: Path, config) -> int:
    return tb.bare_sql(warehouse, config)


# --- the run ---------------------------------------------------------------------------------


def _table(stages: list[Stage]) -> None:
    print()
    print(
        f"{'stage':42}{'wall s':>8}{'rows/s':>11}{'CPU s':>8}{'peak GiB':>9}"
        f"{'bare s':>8}{'bare CPU':>9}{'÷ bare':>7}{'CPU ÷':>7}"
    )
    for s in stages:
        rate = f"{s.rows / s.seconds:,.0f}" if s.rows else ""
        cpu = "" if s.cpu_seconds != s.cpu_seconds else f"{s.cpu_seconds:,.1f}"
        peak = "" if s.peak_gib != s.peak_gib else f"{s.peak_gib:.2f}"
        bare = bare_cpu = ratio = cpu_ratio = ""
        if s.bare is not None:
            bare, bare_cpu = f"{s.bare.seconds:,.1f}", f"{s.bare.cpu_seconds:,.1f}"
            ratio = f"{s.ratio:.1f}"
            cpu_ratio = "" if not cpu else f"{s.cpu_ratio:.1f}"
        print(
            f"{s.name:42}{s.seconds:>8,.1f}{rate:>11}{cpu:>8}{peak:>9}"
            f"{bare:>8}{bare_cpu:>9}{ratio:>7}{cpu_ratio:>7}"
        )


@dataclass
class Result:
    stages: list[Stage]
    #: AHT, FCR, repeat rate as the marts state them, and as pandas computes them
    marts: dict[str, float]
    analyst: dict[str, float]

    def stage(self, name: str) -> Stage:
        return next(s for s in self.stages if s.name == name)

    @property
    def end_to_end(self) -> float:
        """Ingest (with the gates) and the full build (models and tests), seconds."""
        return self.stage(INGEST).seconds + self.stage(FULL).seconds

    @property
    def incremental_day(self) -> float:
        return self.stage(DAY_INGEST).seconds + self.stage(DAY_BUILD).seconds

    @property
    def peak_gib(self) -> float:
        """The pipeline's peak memory (not the pandas yardstick's)."""
        pipeline = (INGEST, FULL, DAY_INGEST, DAY_BUILD)
        return max(s.peak_gib for s in self.stages if s.name in pipeline)


INGEST = "ingest + quality gates"
GATES = "  of which quality gates"
FULL = "full build (dbt build: models + tests)"
PANDAS = "pandas: AHT, FCR, repeat rate"
DAY_INGEST = "next day: ingest + quality gates"
DAY_BUILD = "next day: incremental build (models + tests)"


def run(contacts: int, days: int, fmt: str, folder: Path, pandas: bool = True) -> Result:
    """Simulate, ingest, build, cross-check and add a day in ``folder`` (made anew).

    ``pandas=False`` leaves the pandas yardstick and its cross-check out: it holds the raw
    tables in memory (12.8 GiB at 10 M), so at 100 M it cannot run on a 24 GiB machine."""
    from beacon.config import BeaconConfig
    from benchmarks.analyst import mart_metrics

    tb.fresh_folder(folder)
    landing, warehouse = folder / "landing", folder / "warehouse" / "beacon.duckdb"
    warehouse.parent.mkdir()
    config = BeaconConfig.load(warehouse_path=warehouse, landing_dir=landing)

    # the centre is simulated and written out first, in a process of its own: generating
    # 10 M contacts in this one left it slower for the stages after (full build 223.1 and
    # 227.6 s, then 210.5 s with the simulation apart; docs/benchmarks.md); the next day
    # waits in a folder of its own
    t = time.perf_counter()
    next_day = folder / "next-day"
    history = in_own_process(simulate_landing, folder, contacts, days, fmt, next_day)
    raw_rows = sum(history.values())
    print(f"simulated {raw_rows:,} events {history} in {time.perf_counter() - t:.1f} s")

    stages: list[Stage] = []
    s, report = measure(INGEST, ingest, config, rows=raw_rows)
    loaded = report.totals()
    assert loaded["rows_read"] == raw_rows and loaded["rows_quarantined"] == 0, loaded
    s.bare = measure("  (bare read, same files)", bare_read, landing, fmt, folder / "b.duckdb")[0]
    stages.append(s)
    gates = Stage(GATES, report.gate_seconds, float("nan"), float("nan"), rows=raw_rows)
    gates.bare = measure("  (bare checks, same rows)", bare_gates, warehouse)[0]
    stages.append(gates)

    s, full = measure(FULL, build, config, rows=contacts)
    assert full.mode == "full", full.mode
    s.bare = measure("  (bare SQL, core computations)", bare_transform, warehouse, config)[0]
    stages.append(s)

    analyst_metrics: dict[str, float] = {}
    if pandas:
        s, (analyst_metrics, child_peak) = measure(PANDAS, analyst, warehouse, rows=contacts)
        s.peak_gib = child_peak
        print(f"    (pandas' own process: peak {child_peak:.2f} GiB)")
        stages.append(s)
    marts = mart_metrics(warehouse)

    for path in sorted(next_day.rglob("*.*")):  # the next day lands (renamed in, per file)
        target = landing / path.relative_to(next_day)
        target.parent.mkdir(parents=True, exist_ok=True)
        os.replace(path, target)
    s, day_report = measure(DAY_INGEST, ingest, config)
    s.rows = day_report.totals()["rows_read"]
    stages.append(s)
    s, incremental = measure(DAY_BUILD, build, config)
    assert incremental.mode == "incremental", incremental.mode
    stages.append(s)
    return Result(stages, marts, analyst_metrics)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--contacts", type=int, default=1_000_000)
    parser.add_argument("--days", type=int, default=90, help="days of history")
    parser.add_argument("--format", choices=sorted(FORMATS), default="parquet")
    parser.add_argument("--dir", type=Path, default=Path("/tmp/beacon-bench-pipeline"))
    parser.add_argument("--keep", action="store_true", help="keep the folder afterwards")
    parser.add_argument(
        "--no-pandas",
        dest="pandas",
        action="store_false",
        help="leave out the pandas yardstick and its cross-check (it needs ≈ 1.3 GiB per "
        "million contacts: use at 100 M)",
    )
    args = parser.parse_args(argv)

    tb.quiet_logging(logging.WARNING)
    print(tb.machine())
    print(
        f"{args.contacts:,} contacts over {args.days} days as {args.format} landing files, "
        "then one more day",
        flush=True,
    )
    folder = args.dir / f"{args.contacts}-{args.format}"
    result = run(args.contacts, args.days, args.format, folder, pandas=args.pandas)

    _table(result.stages)
    print()
    print(
        f"end to end (ingest + gates + full build): {result.end_to_end:,.1f} s "
        f"({args.contacts / result.end_to_end:,.0f} contacts/s)   goal at 10 M: ≤ 300 s"
    )
    print(
        f"one incremental day (ingest + build):      {result.incremental_day:,.1f} s   "
        "goal at 10 M: ≤ 60 s"
    )
    print(
        f"peak memory (pipeline stages):             {result.peak_gib:.2f} GiB   "
        "goal at 10 M: ≤ 8 GiB"
    )
    if args.pandas:
        full, pandas = result.stage(FULL), result.stage(PANDAS)
        print(
            "full build ÷ pandas (3 metrics only):      "
            f"{full.seconds / pandas.seconds:.1f} "
            f"(CPU {full.cpu_seconds / pandas.cpu_seconds:.1f})"
        )
        print(f"{'cross-check':24}{'marts':>16}{'pandas':>16}")
    else:
        print("marts (no pandas cross-check)")
    for name, value in result.marts.items():
        line = f"  {name:22}{value:>16.10f}"
        if args.pandas:
            theirs = result.analyst[name]
            line += f"{theirs:>16.10f}  diff {value - theirs:+.2e}"
        print(line)
    if not args.keep:
        shutil.rmtree(folder, ignore_errors=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
