"""``beacon``: the command line.

beacon simulate --out var/sim --days 30        write a simulated centre's feeds + truth
beacon run --landing L --warehouse W           the whole pipeline, through Airflow
beacon ingest / beacon transform               one step, without Airflow
beacon summary --warehouse W                   outputs beside outcomes
beacon demo                                    simulate 30 days, run, summarise
"""

from __future__ import annotations

import argparse
import logging
import os
import shutil
import sys
import time
from datetime import date
from pathlib import Path

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
    from beacon.transform import TransformError, run_dbt

    try:
        run_dbt(_config(args), args.dbt_command)
    except TransformError as exc:
        print(f"dbt {args.dbt_command} failed: {exc}", file=sys.stderr)
        return 1
    return 0


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
    return airflow_local.run_dag(
        "beacon_pipeline",
        conf={
            "landing_dir": str(config.landing_dir.resolve()),
            "warehouse_path": str(config.warehouse_path.resolve()),
        },
    )


def cmd_run(args: argparse.Namespace) -> int:
    config = _config(args)
    if not config.landing_dir.is_dir():
        print(f"landing folder not found: {config.landing_dir}", file=sys.stderr)
        return 2
    state = run_pipeline(config, _airflow_home(args, config))
    if state != "success":
        print(f"pipeline run {state}: see the task logs above", file=sys.stderr)
        return 1
    return cmd_summary(args)


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
    print("2/3 running the pipeline through Airflow (ingest → dbt build) …", file=sys.stderr)
    config = BeaconConfig.load(landing_dir=sim.landing_dir, warehouse_path=warehouse)
    state = run_pipeline(config, _airflow_home(args, config))
    if state != "success":
        print(f"pipeline run {state}", file=sys.stderr)
        return 1
    print("3/3 what was loaded, and outputs beside outcomes\n", file=sys.stderr)
    print_summary(warehouse)
    print(
        f"\nDone in {time.monotonic() - started:.0f}s.\n"
        f"Warehouse: {warehouse.resolve()}\n"
        f'Query it:  .venv/bin/python -c "import duckdb; '
        f"print(duckdb.connect('{warehouse}', read_only=True)"
        f".sql('from marts.mart_daily_outcomes limit 10'))\"\n"
        f"Ground truth of the simulation: {sim.truth_dir.resolve()}"
    )
    return 0


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="beacon", description=__doc__.split("\n\n")[0])
    parser.add_argument("-v", "--verbose", action="store_true")
    sub = parser.add_subparsers(dest="command", required=True)

    def warehouse_args(p: argparse.ArgumentParser, landing: bool = True) -> None:
        p.add_argument(
            "--config", type=Path, help="TOML configuration file (default ./beacon.toml)"
        )
        p.add_argument("--warehouse", type=Path, help="DuckDB file (default BEACON_WAREHOUSE_PATH)")
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
    p.set_defaults(func=cmd_transform)

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

    add_quarantine_commands(sub)
    add_adapter_commands(sub)
    return parser


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    _setup_logging(args.verbose)
    return args.func(args)


if __name__ == "__main__":
    raise SystemExit(main())
