"""What one ingest run did, file by file: the object callers (CLI, DAG tasks) inspect."""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field
from typing import Literal

FileStatus = Literal["loaded", "skipped", "failed", "changed", "refused"]

#: the row counters of a file and of a report's totals
ROW_COUNTERS: tuple[str, ...] = (
    "rows_read",
    "rows_inserted",
    "rows_updated",
    "rows_duplicate",
    "rows_quarantined",
)


@dataclass
class FileResult:
    """The outcome of one landed file.

    ``status`` is ``loaded`` (this run loaded it), ``skipped`` (already loaded, same
    checksum), ``failed`` (nothing loaded, see ``error``), ``changed`` (already loaded
    under this path with a different checksum: not loaded, see ``error``) or ``refused``
    (read, but refused whole by the quality gate: every row quarantined, see ``error``).
    For a loaded or refused file ``rows_read == rows_inserted + rows_updated +
    rows_duplicate + rows_quarantined``.
    """

    path: str
    feed: str
    status: FileStatus
    rows_read: int = 0
    rows_inserted: int = 0
    rows_updated: int = 0
    rows_duplicate: int = 0
    rows_quarantined: int = 0
    quarantine_reasons: dict[str, int] = field(default_factory=dict)
    error: str | None = None
    #: the file's row in ``raw._files`` (None for a skipped file)
    file_id: int | None = None
    #: phone numbers that did not parse as E.164 (stored as NULL; the rows are loaded)
    phones_unparseable: int = 0

    @property
    def failed(self) -> bool:
        """Nothing of the file reached the raw tables although it should have."""
        return self.status in ("failed", "changed", "refused")

    @property
    def problem(self) -> str | None:
        """Why the file degrades its feed (None for a loaded or skipped file)."""
        return f"{self.status}: {self.error}" if self.failed else None

    def summary(self) -> str:
        """One line saying what happened to the data in this file."""
        if self.status == "skipped":
            return f"{self.path}: already loaded, skipped"
        if self.status in ("failed", "changed"):
            return f"{self.path}: {self.status}, nothing loaded: {self.error}"
        if self.status == "refused":
            return f"{self.path}: {self.rows_read:,} read, REFUSED by the {self.error}"
        text = (
            f"{self.path}: {self.rows_read:,} read, {self.rows_inserted:,} inserted, "
            f"{self.rows_updated:,} updated, {self.rows_duplicate:,} duplicates, "
            f"{self.rows_quarantined:,} quarantined"
        )
        if self.quarantine_reasons:
            reasons = sorted(self.quarantine_reasons.items(), key=lambda kv: (-kv[1], kv[0]))
            text += " (" + ", ".join(f"{n:,} {reason}" for reason, n in reasons) + ")"
        if self.phones_unparseable:
            text += f"; {self.phones_unparseable:,} phone numbers unparseable (stored as NULL)"
        return text


@dataclass
class IngestReport:
    """Every file the run looked at, in processing order."""

    files: list[FileResult] = field(default_factory=list)
    #: this run's row in ``raw._ingest_runs`` (see :mod:`ingest.changes`)
    run_id: int | None = None
    #: seconds spent validating batches in the quality gates (all feeds)
    gate_seconds: float = 0.0

    @property
    def ok(self) -> bool:
        """True when no file failed, changed under its path or was refused."""
        return not any(f.failed for f in self.files)

    @property
    def failed(self) -> list[FileResult]:
        return [f for f in self.files if f.failed]

    @property
    def changed_feeds(self) -> list[str]:
        """Feeds whose raw table got new or updated rows in this run (sorted)."""
        return sorted(
            {
                f.feed
                for f in self.files
                if f.status == "loaded" and (f.rows_inserted or f.rows_updated)
            }
        )

    def totals(self, feed: str | None = None) -> dict[str, int]:
        """Row counters summed over loaded files, plus file counts per status."""
        files = [f for f in self.files if feed is None or f.feed == feed]
        totals = {name: sum(getattr(f, name) for f in files) for name in ROW_COUNTERS}
        statuses = Counter(f.status for f in files)
        for status in ("loaded", "skipped", "failed", "changed", "refused"):
            totals[f"files_{status}"] = statuses.get(status, 0)
        return totals

    def quarantine_reasons(self, feed: str | None = None) -> dict[str, int]:
        """Quarantined rows per reason, summed over files."""
        counts: Counter[str] = Counter()
        for f in self.files:
            if feed is None or f.feed == feed:
                counts.update(f.quarantine_reasons)
        return dict(counts)
