"""Building the daily report: open the marts read-only, compute the figures, write the page."""

from __future__ import annotations

import logging
import os
from datetime import date
from pathlib import Path

import duckdb

from beacon.config import BeaconConfig
from reporting.figures import ReportFigures, compute_figures
from reporting.render import render_html

log = logging.getLogger(__name__)

DATABASE_NAME = "beacon.duckdb"  # of the serving copy (beacon.publish.DATABASE_NAME)


def resolve_database(source: Path) -> Path:
    """The DuckDB file to read: ``source`` itself, or a serving folder's current version.

    The serving folder's ``beacon.duckdb`` is a symlink to the current version; it is
    resolved once, so a publish that swaps versions while the report is built changes nothing.
    """
    source = Path(source)
    if source.is_dir():
        source = source / DATABASE_NAME
    if not source.exists():
        raise FileNotFoundError(f"no DuckDB file with the marts at {source}")
    return source.resolve()


def latest_day(source: Path) -> date | None:
    """The newest local day in ``marts.mart_daily_outcomes``."""
    with duckdb.connect(str(resolve_database(source)), read_only=True) as con:
        return con.execute("select max(outcome_date) from marts.mart_daily_outcomes").fetchone()[0]


def read_figures(source: Path, day: date) -> ReportFigures:
    """The report's figures for ``day`` from the marts in ``source`` (read-only)."""
    database = resolve_database(source)
    with duckdb.connect(str(database), read_only=True) as con:
        return compute_figures(con, day, source=str(source))


def build_report(source: Path, day: date, out_dir: Path, *, pdf: bool = False) -> Path:
    """Write ``<out_dir>/<day>.html`` (and ``<day>.pdf`` with ``pdf``) from the marts in
    ``source``: the working warehouse's DuckDB file, the serving copy's ``beacon.duckdb``, or
    the serving folder. Re-running replaces the files; readers never see half a file."""
    return write_report(read_figures(source, day), out_dir, pdf=pdf)


def write_report(figures: ReportFigures, out_dir: Path, *, pdf: bool = False) -> Path:
    """Render ``figures`` to ``<out_dir>/<day>.html`` (atomically), and print the PDF."""
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    target = out_dir / f"{figures.day.isoformat()}.html"
    tmp = target.with_name(f".{target.name}.{os.getpid()}.tmp")
    tmp.write_text(render_html(figures), encoding="utf-8")
    os.replace(tmp, target)
    trust = figures.trust
    verdict = "trusted" if trust.trusted else "NOT trusted: " + "; ".join(trust.reasons)
    log.info("daily report for %s: %s (%s)", figures.day, target, verdict)
    if pdf:
        from reporting.browser import print_pdf

        print_pdf(target, target.with_suffix(".pdf"))
    return target


def publish_report(config: BeaconConfig, day: date, *, pdf: bool = False) -> Path:
    """The pipeline's report: ``<serving>/reports/<day>.html`` from the current published
    version (what the report DAG calls after publishing)."""
    from beacon.publish import current_path

    return build_report(
        current_path(config) / DATABASE_NAME, day, config.serving_path / "reports", pdf=pdf
    )
