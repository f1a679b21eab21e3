"""Ingest: landing-zone files → DuckDB ``raw`` tables, exactly once; bad rows quarantined.

Public API::

    from ingest import ingest_landing, IngestReport, FileResult
    report = ingest_landing(config, feeds=None)
    from ingest.warehouse import connect
    from ingest.changes import changed_days        # event days changed since a run
    from ingest.quarantine import replay           # re-validate quarantined rows

See ``docs/ingest.md``.

Names are resolved lazily so that ``import ingest.contracts`` (used by the simulator and
DAG files) does not import DuckDB.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from ingest.load import ingest_landing
    from ingest.report import FileResult, IngestReport

__all__ = ["FileResult", "IngestReport", "ingest_landing"]


def __getattr__(name: str) -> Any:
    if name == "ingest_landing":
        from ingest.load import ingest_landing

        return ingest_landing
    if name in ("FileResult", "IngestReport"):
        from ingest import report

        return getattr(report, name)
    raise AttributeError(f"module 'ingest' has no attribute {name!r}")
