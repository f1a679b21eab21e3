"""The same dbt build on DuckDB and on a local Apache Spark session (docs/spark.md), timed.

    python -m benchmarks.spark --contacts 1000000 [--days 90] [--dir /tmp/beacon-bench-spark]

The raw history is generated directly in DuckDB by ``benchmarks.transform.generate`` (the same
shape as the transform benchmark). Then, one after the other:

1. DuckDB: a full build of every model, ``run_dbt(config, "run", full_refresh=True)``;
2. the raw layer exported as Parquet partitioned by feed and day (``beacon export-raw``);
3. Spark: the same models, ``run_dbt(config, "run")`` with ``transform.engine = "spark"``
   (dbt-spark, ``method: session``, ``local[2]``, driver memory 2 GB, 4 shuffle partitions:
   the profile's defaults), reading the export; the JVM's start is part of the time;
4. the row count of every mart on both engines (they must be equal; the row-by-row
   comparison is tests/test_spark_parity.py).

Prints the data size, the machine, both times, and the ratio Spark ÷ DuckDB. Models only:
the tests of a build are another step on either engine.
"""

from __future__ import annotations

import argparse
import logging
import shutil
import subprocess
from importlib.metadata import version
from pathlib import Path

from benchmarks.transform import Step, fresh_folder, generate, machine, quiet_logging, timed


def _folder_bytes(path: Path) -> int:
    return sum(p.stat().st_size for p in path.rglob("*") if p.is_file())


def _java() -> str:
    out = subprocess.run(["java", "-version"], capture_output=True, text=True)
    return (out.stderr or out.stdout).splitlines()[0].strip()


def _mart_counts_duckdb(warehouse: Path) -> dict[str, int]:
    import duckdb

    with duckdb.connect(str(warehouse), read_only=True) as con:
        tables = [
            row[0]
            for row in con.execute(
                "SELECT table_name FROM duckdb_tables() WHERE schema_name = 'marts' ORDER BY 1"
            ).fetchall()
        ]
        return {t: con.execute(f'SELECT count(*) FROM marts."{t}"').fetchone()[0] for t in tables}


def _mart_counts_spark(marts_dir: Path) -> dict[str, int]:
    import duckdb

    counts = {}
    with duckdb.connect() as con:
        for folder in sorted(p for p in marts_dir.iterdir() if any(p.glob("*.parquet"))):
            (counts[folder.name],) = con.execute(
                f"SELECT count(*) FROM read_parquet('{folder}/*.parquet')"
            ).fetchone()
    return counts


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--contacts", type=int, default=1_000_000)
    parser.add_argument("--days", type=int, default=90, help="days of history")
    parser.add_argument("--dir", type=Path, default=Path("/tmp/beacon-bench-spark"))
    parser.add_argument("--keep", action="store_true", help="keep the data afterwards")
    args = parser.parse_args(argv)

    from beacon.config import BeaconConfig
    from beacon.raw_export import export_raw
    from beacon.transform import run_dbt, spark_dirs

    quiet_logging(logging.INFO, "py4j", "beacon.raw_export")
    folder = fresh_folder(args.dir / str(args.contacts))
    warehouse = folder / "beacon.duckdb"
    config = BeaconConfig.load(warehouse_path=warehouse, landing_dir=folder / "landing")
    spark_config = BeaconConfig.load(
        warehouse_path=warehouse, landing_dir=folder / "landing", transform={"engine": "spark"}
    )
    raw_dir, tables_dir = spark_dirs(spark_config)
    print(machine())
    print(
        f"Spark: PySpark {version('pyspark')}, dbt-spark {version('dbt-spark')}, {_java()}; "
        "session local[2], driver memory 2g, 4 shuffle partitions"
    )
    print(f"{args.contacts:,} contacts over {args.days} days", flush=True)
    steps: list[Step] = []
    raw = timed(
        "generate raw history", steps, generate, warehouse, args.contacts, args.days, config
    )
    duck = timed("DuckDB: dbt run (full build)", steps, run_dbt, config, "run", full_refresh=True)
    duckdb_bytes = warehouse.stat().st_size
    exported = timed("export raw as Parquet", steps, export_raw, config, raw_dir)
    spark = timed(
        "Spark: dbt run (full build)", steps, run_dbt, spark_config, "run", export_raw=False
    )
    assert duck.mode == "full" and spark.nodes == duck.nodes, (duck, spark)

    duck_counts = _mart_counts_duckdb(warehouse)
    spark_counts = _mart_counts_spark(tables_dir / "marts.db")
    by_name = {s.name: s for s in steps}
    duck_s = by_name["DuckDB: dbt run (full build)"].seconds
    spark_s = by_name["Spark: dbt run (full build)"].seconds
    export_s = by_name["export raw as Parquet"].seconds
    print()
    print(f"raw rows: {sum(raw.values()):,} {raw}")
    print(
        f"raw as Parquet: {sum(t.bytes for t in exported) / 1e6:,.1f} MB in "
        f"{sum(t.files for t in exported):,} files; DuckDB file after the build: "
        f"{duckdb_bytes / 1e6:,.1f} MB; Spark tables: {_folder_bytes(tables_dir) / 1e6:,.1f} MB"
    )
    print(f"{'step':44}{'seconds':>10}{'cpu s':>10}")
    for step in steps:
        print(f"{step.name:44}{step.seconds:>10,.1f}{step.cpu_seconds:>10,.1f}")
    print()
    print(f"models built: {duck.nodes} on each engine")
    print(f"DuckDB full build:          {duck_s:8,.1f} s")
    print(f"Spark full build:           {spark_s:8,.1f} s  (+ {export_s:,.1f} s raw export)")
    print(f"ratio Spark / DuckDB:       {spark_s / duck_s:8,.1f}")
    print(f"ratio (Spark + export) / DuckDB: {(spark_s + export_s) / duck_s:5,.1f}")
    unequal = {
        m: (duck_counts.get(m), spark_counts.get(m))
        for m in duck_counts.keys() | spark_counts.keys()
        if duck_counts.get(m) != spark_counts.get(m)
    }
    print(
        f"mart row counts: {len(duck_counts)} marts, "
        + ("equal on both engines" if not unequal else f"DIFFERENT: {unequal}")
    )
    if not args.keep:
        shutil.rmtree(folder, ignore_errors=True)
    return 1 if unequal else 0


if __name__ == "__main__":
    raise SystemExit(main())
