"""``beacon report``: the daily outcome report for any day, from the command line."""

from __future__ import annotations

import argparse
import sys
from datetime import date
from pathlib import Path


def add_commands(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser(
        "report", help="write the daily outcome report (HTML, optionally PDF) from the marts"
    )
    p.add_argument(
        "--warehouse",
        type=Path,
        help="DuckDB file with the marts (the warehouse, or the serving copy's beacon.duckdb) "
        "or a serving folder (default: the configured serving copy, else the warehouse)",
    )
    p.add_argument("--config", type=Path, help="TOML configuration file (default ./beacon.toml)")
    p.add_argument(
        "--date",
        dest="day",
        type=date.fromisoformat,
        help="the centre's local day, YYYY-MM-DD (default: the newest day in the marts)",
    )
    p.add_argument("--out", type=Path, help="folder for <day>.html (default: reports/ beside it)")
    p.add_argument("--pdf", action="store_true", help="also print <day>.pdf with Chromium")
    p.set_defaults(func=cmd_report)


def _source(args: argparse.Namespace) -> Path:
    if args.warehouse is not None:
        return args.warehouse
    from beacon.config import BeaconConfig

    config = BeaconConfig.load(config_file=args.config)
    serving = config.serving_path
    return serving if (serving / "beacon.duckdb").exists() else config.warehouse_path


def cmd_report(args: argparse.Namespace) -> int:
    from reporting.report import latest_day, read_figures, write_report

    source = _source(args)
    try:
        day = args.day or latest_day(source)
    except FileNotFoundError as exc:
        print(exc, file=sys.stderr)
        return 2
    if day is None:
        print(f"no days in {source}'s marts: nothing to report", file=sys.stderr)
        return 2
    out = args.out or (source if source.is_dir() else source.parent) / "reports"
    figures = read_figures(source, day)
    target = write_report(figures, out, pdf=args.pdf)
    print(f"report for {day.isoformat()}: {target.resolve()}")
    if args.pdf:
        print(f"PDF: {target.with_suffix('.pdf').resolve()}")
    trust = figures.trust
    if trust.trusted:
        print("numbers can be trusted: yes")
    else:
        print("numbers can be trusted: NO, because " + "; ".join(trust.reasons))
    return 0
