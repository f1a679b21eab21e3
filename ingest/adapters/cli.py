"""``beacon adapt …``: convert a real export into a landing-zone batch.

beacon adapt tickets --mapping ingest/adapters/mappings/volvo_incidents.yaml --input F --out L
beacon adapt amazon-connect --input ctrs.json --out L
beacon adapt zendesk --input audits.json --out L
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from ingest.adapters.result import AdaptResult, LandingConflict


def _common(p: argparse.ArgumentParser) -> None:
    p.add_argument("--input", type=Path, required=True, help="the export file (.gz allowed)")
    p.add_argument("--out", type=Path, required=True, help="landing folder to write into")
    p.add_argument("--format", choices=["jsonl", "parquet"], default="jsonl")
    p.add_argument("--name", help="batch file name without extension (default: input's stem)")


def _run(args: argparse.Namespace) -> int:
    try:
        if args.adapter == "tickets":
            from ingest.adapters.event_log import adapt_event_log
            from ingest.adapters.mapping import MappingError

            try:
                result: AdaptResult = adapt_event_log(
                    args.mapping, args.input, args.out, fmt=args.format, name=args.name
                )
            except MappingError as exc:
                print(f"mapping error: {exc}", file=sys.stderr)
                return 2
        elif args.adapter == "amazon-connect":
            from ingest.adapters.amazon_connect import ConnectOptions, adapt_connect_ctrs

            result = adapt_connect_ctrs(
                args.input,
                args.out,
                fmt=args.format,
                name=args.name,
                options=ConnectOptions(no_queue=args.no_queue),
            )
        else:
            from ingest.adapters.zendesk import adapt_zendesk_audits

            result = adapt_zendesk_audits(args.input, args.out, fmt=args.format, name=args.name)
    except (LandingConflict, ValueError, OSError) as exc:
        print(f"not adapted: {exc}", file=sys.stderr)
        return 2
    print(result.summary())
    return 0


def add_commands(subparsers: argparse._SubParsersAction) -> None:
    """Register ``beacon adapt`` on the CLI's sub-parsers."""
    adapt = subparsers.add_parser(
        "adapt", help="convert a real export (event log, CTRs, Zendesk audits) into a feed batch"
    )
    which = adapt.add_subparsers(dest="adapter", required=True)
    p = which.add_parser("tickets", help="event-log / status-history CSV → tickets, via a mapping")
    p.add_argument("--mapping", type=Path, required=True, help="YAML mapping for the source")
    _common(p)
    p = which.add_parser("amazon-connect", help="Amazon Connect contact trace records → calls")
    p.add_argument("--no-queue", default="ivr", help="queue name for legs that never queued")
    _common(p)
    p = which.add_parser("zendesk", help="Zendesk ticket audits → tickets")
    _common(p)
    adapt.set_defaults(func=_run)
