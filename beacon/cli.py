"""``beacon``: the command line.

beacon simulate --out var/sim --days 30        write a simulated centre's feeds + truth
beacon run --landing L --warehouse W           the whole pipeline, through Airflow
beacon backfill --from D --to D                the daily run for each day of a range
beacon ingest / transform / publish            one step, without Airflow
beacon export-raw --warehouse W --out DIR      the raw layer as partitioned Parquet (Spark)
beacon summary --warehouse W                   outputs beside outcomes
beacon report --warehouse W --date D           the daily outcome report (HTML) for a day
beacon demo                                    simulate 30 days, run, summarise
"""

from __future__ import annotations

import argparse
import json
import logging
import os
import shutil
import sys
import textwrap
import time
from datetime import date, datetime, timedelta
from datetime import time as clock
from pathlib import Path
from zoneinfo import ZoneInfo

from beacon.config import BeaconConfig

log = logging.getLogger("beacon")

DEFAULT_DEMO_DIR = Path("var/demo")


def _setup_logging(verbose: bool) -> None:
    logging.basicConfig(
        level=logging.DEBUG if verbose else logging.INFO,
        format="%(asctime)s %(levelname)-7s %(name)s: %(message)s",
        datefmt="%H:%M:%S",
        stream=sys.stderr,
        force=True,
    )
    for noisy in ("great_expectations", "airflow", "sqlalchemy", "alembic"):
        logging.getLogger(noisy).setLevel(logging.WARNING)


def _config(args: argparse.Namespace) -> BeaconConfig:
    return BeaconConfig.load(
        config_file=getattr(args, "config", None),
        landing_dir=getattr(args, "landing", None),
        warehouse_path=getattr(args, "warehouse", None),
        serving_dir=getattr(args, "serving", None),
    )


def _progress(label: str):
    started = time.monotonic()

    def report(done: int, total: int) -> None:
        elapsed = time.monotonic() - started
        print(
            f"\r{label}: {done}/{total} days ({elapsed:.0f}s)", end="", file=sys.stderr, flush=True
        )
        if done >= total:
            print(file=sys.stderr)

    return report


def cmd_simulate(args: argparse.Namespace) -> int:
    from beacon.simulator import DirtConfig, SimulationConfig, simulate

    result = simulate(
        SimulationConfig(
            out_dir=args.out,
            seed=args.seed,
            start_date=args.start,
            days=args.days,
            contacts_per_day=args.contacts_per_day,
            agents=args.agents,
            formats=tuple(args.format.split(",")),
            dirt=DirtConfig.default_dirty() if args.dirty else DirtConfig(),
        ),
        progress=_progress("simulating"),
    )
    print(f"landing zone: {result.landing_dir}\nground truth: {result.truth_dir}")
    print(
        f"contacts: {result.contacts:,}  issues: {result.issues:,}  "
        f"faults injected: {result.faults:,}"
    )
    return 0


def cmd_ingest(args: argparse.Namespace) -> int:
    from ingest import ingest_landing

    report = ingest_landing(_config(args), feeds=args.feed or None)
    for feed in sorted({f.feed for f in report.files}):
        totals = report.totals(feed)
        print(f"{feed}: " + ", ".join(f"{k} {v:,}" for k, v in totals.items()))
    if not report.ok:
        for failed in (f for f in report.files if f.error):
            print(f"NOT LOADED {failed.path}: {failed.error}", file=sys.stderr)
        return 2
    return 0


def cmd_transform(args: argparse.Namespace) -> int:
    from beacon.publish import building
    from beacon.transform import TransformError, run_dbt

    config = _config(args)
    try:
        # recorded, so that `beacon publish` publishes only marts that passed their tests
        with building(config, run="cli", command=args.dbt_command):
            run_dbt(config, args.dbt_command, full_refresh=args.full_refresh)
    except TransformError as exc:
        print(f"dbt {args.dbt_command} failed: {exc}", file=sys.stderr)
        return 1
    return 0


def cmd_export_raw(args: argparse.Namespace) -> int:
    from beacon.raw_export import export_raw

    tables = export_raw(_config(args), args.out)
    for table in tables:
        by = f"  by {', '.join(table.partitions)}" if table.partitions else ""
        print(f"raw.{table.name}: {table.rows:,} rows, {table.files} files{by}")
    print(f"written to {args.out.resolve()}")
    return 0


def cmd_publish(args: argparse.Namespace) -> int:
    from beacon.publish import PublishRefused, publish, published_metadata

    config = _config(args)
    if args.status:
        try:
            meta = published_metadata(config)
        except FileNotFoundError as exc:
            print(exc, file=sys.stderr)
            return 1
        print(json.dumps(meta, indent=2))
        return 0
    try:
        published = publish(config, source_run="cli")
    except PublishRefused as exc:
        print(exc, file=sys.stderr)
        return 1
    _print_published(config, published.version, published.marts, published.degraded_feeds)
    return 0


def _print_published(config: BeaconConfig, version: str, marts: dict, degraded: list) -> None:
    serving = config.serving_path.resolve()
    print(f"published version {version} to {serving}")
    rows = ", ".join(f"{name}={count:,}" for name, count in marts.items())
    print(
        textwrap.fill(
            f"{len(marts)} marts (rows): {rows}", 100, initial_indent="  ", subsequent_indent="    "
        )
    )
    if degraded:
        print(f"  DEGRADED feeds (figures from their last good data): {', '.join(degraded)}")
    print(f"  BI: {serving / 'beacon.duckdb'} (read-only), Parquet: {serving / 'parquet'}/")


def _airflow_home(args: argparse.Namespace, config: BeaconConfig) -> Path:
    if args.airflow_home:
        return args.airflow_home
    if os.environ.get("AIRFLOW_HOME"):
        return Path(os.environ["AIRFLOW_HOME"])
    return config.warehouse_path.resolve().parent / ".airflow"


def run_pipeline(config: BeaconConfig, airflow_home: Path) -> str:
    """Run ``beacon_pipeline`` through Airflow on this machine; return the run's state."""
    from beacon import airflow_local

    airflow_local.configure(airflow_home)
    return airflow_local.run_dag("beacon_pipeline", conf=_run_conf(config))


def _run_conf(config: BeaconConfig) -> dict[str, str]:
    return {
        "landing_dir": str(config.landing_dir.resolve()),
        "warehouse_path": str(config.warehouse_path.resolve()),
        "serving_dir": str(config.serving_path.resolve()),
    }


def cmd_backfill(args: argparse.Namespace) -> int:
    """The daily run (``beacon_pipeline``) once per day of a range, oldest first, in this
    process; each day's run is what the scheduler would have run at ``daily_run_time``."""
    from beacon import airflow_local

    config = _config(args)
    if args.to_date < args.from_date:
        print("--to is before --from", file=sys.stderr)
        return 2
    airflow_local.configure(_airflow_home(args, config))
    hour, minute = (int(part) for part in config.daily_run_time.split(":"))
    zone = ZoneInfo(config.daily_run_timezone)
    day, failed = args.from_date, []
    while day <= args.to_date:
        when = datetime.combine(day, clock(hour, minute), tzinfo=zone)
        state = airflow_local.run_dag("beacon_pipeline", conf=_run_conf(config), logical_date=when)
        print(f"{day.isoformat()}: {state}")
        if state != "success":
            failed.append(day.isoformat())
        day += timedelta(days=1)
    if failed:
        print(f"failed days: {', '.join(failed)}", file=sys.stderr)
        return 1
    return 0


def cmd_run(args: argparse.Namespace) -> int:
    config = _config(args)
    if not config.landing_dir.is_dir():
        print(f"landing folder not found: {config.landing_dir}", file=sys.stderr)
        return 2
    state = run_pipeline(config, _airflow_home(args, config))
    if state != "success":
        print(f"pipeline run {state}: see the task logs above", file=sys.stderr)
        return 1
    code = cmd_summary(args)
    _print_current(config)
    return code


def _print_current(config: BeaconConfig) -> None:
    from beacon.publish import published_metadata

    try:
        meta = published_metadata(config)
    except FileNotFoundError:
        return
    print()
    _print_published(config, meta["version"], meta["marts"], meta["degraded_feeds"])


def cmd_summary(args: argparse.Namespace) -> int:
    print_summary(_config(args).warehouse_path)
    return 0


def print_summary(warehouse: Path) -> None:
    from beacon.summary import format_ingest, format_table, outcomes_by_channel

    print(format_ingest(warehouse), end="\n\n")
    print(format_table(outcomes_by_channel(warehouse)))


def cmd_demo(args: argparse.Namespace) -> int:
    from beacon.simulator import DirtConfig, SimulationConfig, simulate

    started = time.monotonic()
    out: Path = args.out
    warehouse = out / "warehouse" / "beacon.duckdb"
    if not args.keep:
        # the demo starts from nothing each time; `beacon run` is the incremental path
        for stale in (out / "landing", out / "truth", warehouse.parent):
            shutil.rmtree(stale, ignore_errors=True)
    print(
        f"1/3 simulating {args.days} days of a centre with {args.agents} agents …", file=sys.stderr
    )
    sim = simulate(
        SimulationConfig(
            out_dir=out,
            seed=args.seed,
            days=args.days,
            contacts_per_day=args.contacts_per_day,
            agents=args.agents,
            dirt=DirtConfig.default_dirty() if args.dirty else DirtConfig(),
        ),
        progress=_progress("    simulating"),
    )
    print(f"    {sim.contacts:,} contacts in {sim.issues:,} issues", file=sys.stderr)
    print(
        "2/3 running the pipeline through Airflow (ingest → dbt build → publish) …",
        file=sys.stderr,
    )
    config = BeaconConfig.load(landing_dir=sim.landing_dir, warehouse_path=warehouse)
    state = run_pipeline(config, _airflow_home(args, config))
    if state != "success":
        print(f"pipeline run {state}", file=sys.stderr)
        return 1
    print("3/3 what was loaded, and outputs beside outcomes\n", file=sys.stderr)
    print_summary(warehouse)
    _print_current(config)
    serving = config.serving_path / "beacon.duckdb"
    report = _demo_report(config, serving)
    print(
        f"\nDone in {time.monotonic() - started:.0f}s.\n"
        f"Daily outcome report (last simulated day): {report.resolve()}\n"
        f"Warehouse: {warehouse.resolve()} (the pipeline's working copy)\n"
        f'Query the published copy:  .venv/bin/python -c "import duckdb; '
        f"print(duckdb.connect('{serving}', read_only=True)"
        f".sql('from marts.mart_daily_outcomes limit 10'))\"\n"
        f"Ground truth of the simulation: {sim.truth_dir.resolve()}"
    )
    return 0


def _demo_report(config: BeaconConfig, serving: Path) -> Path:
    """The daily outcome report of the simulation's last day, from the serving copy."""
    import duckdb

    from reporting import publish_report

    con = duckdb.connect(str(serving), read_only=True)
    try:
        sql = "select max(outcome_date) from marts.mart_daily_outcomes"
        (day,) = con.execute(sql).fetchall()[0]
    finally:
        con.close()
    return publish_report(config, day)


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="beacon", description=__doc__.split("\n\n")[0])
    parser.add_argument("-v", "--verbose", action="store_true")
    sub = parser.add_subparsers(dest="command", required=True)

    def warehouse_args(p: argparse.ArgumentParser, landing: bool = True) -> None:
        p.add_argument(
            "--config", type=Path, help="TOML configuration file (default ./beacon.toml)"
        )
        p.add_argument("--warehouse", type=Path, help="DuckDB file (default BEACON_WAREHOUSE_PATH)")
        p.add_argument(
            "--serving",
            type=Path,
            help="serving copy folder (default BEACON_SERVING_DIR, else serving/ by the warehouse)",
        )
        if landing:
            p.add_argument(
                "--landing", type=Path, help="landing folder (default BEACON_LANDING_DIR)"
            )

    def simulation_args(p: argparse.ArgumentParser, out: Path | None) -> None:
        p.add_argument("--out", type=Path, default=out, required=out is None)
        p.add_argument("--seed", type=int, default=42)
        p.add_argument("--days", type=int, default=30)
        p.add_argument("--contacts-per-day", type=int, default=3300)
        p.add_argument("--agents", type=int, default=50)
        p.add_argument("--dirty", action="store_true", help="inject faults (recorded in truth)")

    p = sub.add_parser("simulate", help="write a simulated contact centre's feeds and ground truth")
    simulation_args(p, None)
    p.add_argument("--start", type=date.fromisoformat, default=date(2026, 10, 1))
    p.add_argument(
        "--format", default="jsonl", help="jsonl, jsonl.gz, csv, parquet (comma-separated to mix)"
    )
    p.set_defaults(func=cmd_simulate)

    p = sub.add_parser("run", help="run the whole pipeline over a landing folder, through Airflow")
    warehouse_args(p)
    p.add_argument("--airflow-home", type=Path, help="default: .airflow beside the warehouse")
    p.set_defaults(func=cmd_run)

    p = sub.add_parser("ingest", help="load new landing files into the warehouse (no Airflow)")
    warehouse_args(p)
    p.add_argument("--feed", action="append", choices=["calls", "tickets", "crm"])
    p.set_defaults(func=cmd_ingest)

    p = sub.add_parser("transform", help="run dbt on the warehouse (no Airflow)")
    warehouse_args(p, landing=False)
    p.add_argument("dbt_command", nargs="?", default="build", choices=["build", "run", "test"])
    p.add_argument(
        "--full-refresh",
        action="store_true",
        help="rebuild every model from scratch (default: incremental, docs/metrics.md)",
    )
    p.set_defaults(func=cmd_transform)

    p = sub.add_parser(
        "export-raw",
        help="export the raw tables as Parquet partitioned by feed and day (docs/spark.md)",
    )
    warehouse_args(p, landing=False)
    p.add_argument("--out", type=Path, required=True, help="folder for the Parquet datasets")
    p.set_defaults(func=cmd_export_raw)

    p = sub.add_parser(
        "publish", help="publish the marts of the last successful build to the serving copy"
    )
    warehouse_args(p, landing=False)
    p.add_argument("--status", action="store_true", help="show the current published version")
    p.set_defaults(func=cmd_publish)

    p = sub.add_parser(
        "backfill", help="run the daily pipeline for each day of a date range, through Airflow"
    )
    warehouse_args(p)
    p.add_argument("--from", dest="from_date", type=date.fromisoformat, required=True)
    p.add_argument("--to", dest="to_date", type=date.fromisoformat, required=True)
    p.add_argument("--airflow-home", type=Path, help="default: .airflow beside the warehouse")
    p.set_defaults(func=cmd_backfill)

    p = sub.add_parser("summary", help="print outputs beside outcomes from the marts")
    warehouse_args(p, landing=False)
    p.set_defaults(func=cmd_summary)

    p = sub.add_parser("demo", help="simulate 30 days of a mid-size centre and run the pipeline")
    simulation_args(p, DEFAULT_DEMO_DIR)
    p.add_argument("--keep", action="store_true", help="keep the previous demo's files")
    p.add_argument("--airflow-home", type=Path)
    p.set_defaults(func=cmd_demo)
    from ingest.adapters.cli import add_commands as add_adapter_commands
    from ingest.quarantine import add_commands as add_quarantine_commands
    from reporting.cli import add_commands as add_report_commands

    add_quarantine_commands(sub)
    add_adapter_commands(sub)
    add_report_commands(sub)
    return parser


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    _setup_logging(args.verbose)
    return args.func(args)


if __name__ == "__main__":
    raise SystemExit(main())
