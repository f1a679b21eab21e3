"""Finding the files to ingest in the landing zone.

``<landing_dir>/<feed>/**`` is walked; sub-folders are allowed. Producers write a file as
``name.tmp`` (or a dot-file) and rename it when complete, so ``*.tmp`` and every path with
a component starting with ``.`` or ``_`` are never read (``_rejected/`` is a safe place to
park a bad file). Files with an unknown extension are skipped with a warning. The result
is sorted by relative path: daily names sort chronologically, and this order is what "the
later file" means when two deliveries of a record tie.
"""

from __future__ import annotations

import logging
import os
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

logger = logging.getLogger(__name__)

#: extension -> format name, longest first so ``.jsonl.gz`` wins over anything shorter
EXTENSIONS: tuple[tuple[str, str], ...] = (
    (".jsonl.gz", "jsonl"),
    (".jsonl", "jsonl"),
    (".csv", "csv"),
    (".parquet", "parquet"),
)


@dataclass(frozen=True)
class LandingFile:
    """One landed file: one batch of one feed."""

    feed: str
    path: Path
    #: relative to the landing dir, forward slashes (``calls/2026/10/calls_2026-10-01.jsonl``)
    relpath: str
    #: ``jsonl`` (plain or gzip), ``csv`` or ``parquet``
    format: str
    size_bytes: int
    mtime_ns: int

    @property
    def compressed(self) -> bool:
        return self.path.name.lower().endswith(".gz")


def detect_format(name: str) -> str | None:
    """The format of a file name by its extension, or None when it is not a feed format."""
    lower = name.lower()
    for ext, fmt in EXTENSIONS:
        if lower.endswith(ext) and len(lower) > len(ext):
            return fmt
    return None


def is_ignored(name: str) -> bool:
    """Names a producer uses while writing (``*.tmp``, dot-files) or to park (``_*``)."""
    return name.startswith((".", "_")) or name.lower().endswith(".tmp")


def discover(landing_dir: Path, feeds: Sequence[str]) -> list[LandingFile]:
    """All feed files under ``landing_dir/<feed>/`` for ``feeds``, sorted by relative path."""
    landing_dir = Path(landing_dir)
    found: list[LandingFile] = []
    for feed in feeds:
        root = landing_dir / feed
        if not root.is_dir():
            logger.debug("%s: no landing folder at %s", feed, root)
            continue
        for dirpath, dirnames, filenames in os.walk(root):
            # prune hidden / parked folders in place so os.walk never enters them
            dirnames[:] = [d for d in dirnames if not is_ignored(d)]
            for name in filenames:
                if is_ignored(name):
                    continue
                path = Path(dirpath) / name
                relpath = path.relative_to(landing_dir).as_posix()
                fmt = detect_format(name)
                if fmt is None:
                    logger.warning(
                        "%s: unknown file type, not read (expected .jsonl, .jsonl.gz, .csv "
                        "or .parquet)",
                        relpath,
                    )
                    continue
                try:
                    stat = path.stat()
                except OSError as exc:  # vanished or unreadable between walk and stat
                    logger.warning("%s: cannot stat, not read: %s", relpath, exc)
                    continue
                found.append(
                    LandingFile(
                        feed=feed,
                        path=path,
                        relpath=relpath,
                        format=fmt,
                        size_bytes=stat.st_size,
                        mtime_ns=stat.st_mtime_ns,
                    )
                )
    found.sort(key=lambda f: f.relpath)
    return found
