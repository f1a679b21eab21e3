"""What an adapter run did, and how its output lands (immutably) in the landing zone."""

from __future__ import annotations

import hashlib
import json
import os
from collections import Counter
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any


@dataclass
class AdaptResult:
    """Accounting of one adapter run.

    ``source_records = records_mapped + sum(skipped.values())`` always holds: a source
    record is *mapped* when it produced at least one contract record, otherwise it is
    counted under the reason it produced none (e.g. ``no_change``, ``unmapped_activity:X``).
    """

    source: str
    feed: str
    input_path: Path
    output_path: Path | None = None
    source_records: int = 0
    records_mapped: int = 0
    skipped: Counter[str] = field(default_factory=Counter)
    written: Counter[str] = field(
        default_factory=Counter
    )  # output rows per event type / disposition
    unchanged: bool = False  # the output file already existed with identical content

    @property
    def rows_written(self) -> int:
        return sum(self.written.values())

    @property
    def balanced(self) -> bool:
        return self.source_records == self.records_mapped + sum(self.skipped.values())

    def summary(self) -> str:
        skipped = ", ".join(f"{k} {v:,}" for k, v in sorted(self.skipped.items())) or "none"
        written = ", ".join(f"{k} {v:,}" for k, v in sorted(self.written.items()))
        where = self.output_path if self.output_path else "(nothing written)"
        note = " (already landed, identical)" if self.unchanged else ""
        return (
            f"{self.source} → {self.feed}: {self.input_path.name}: "
            f"{self.source_records:,} source records, {self.records_mapped:,} mapped; "
            f"not mapped: {skipped}\n"
            f"  wrote {self.rows_written:,} {self.feed} records ({written}) to {where}{note}"
        )

    def check(self) -> None:
        if not self.balanced:
            raise AssertionError(
                f"{self.source}: {self.source_records} source records but "
                f"{self.records_mapped} mapped + {sum(self.skipped.values())} skipped"
            )


class LandingConflict(RuntimeError):
    """The target file exists in the landing zone with different content."""


def output_path(landing_dir: Path, feed: str, source: str, input_path: Path, fmt: str) -> Path:
    """``<landing>/<feed>/<source>/<input stem>.<fmt>``: one batch per input file."""
    if fmt not in ("jsonl", "parquet"):
        raise ValueError(f"output format must be jsonl or parquet, not {fmt!r}")
    stem = input_path.name
    for suffix in (".gz", ".csv", ".json", ".jsonl", ".ndjson", ".txt"):
        stem = stem.removesuffix(suffix)
    return Path(landing_dir) / feed / source / f"{stem}.{fmt}"


def _sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as fh:
        for chunk in iter(lambda: fh.read(1 << 20), b""):
            digest.update(chunk)
    return digest.hexdigest()


def land(tmp: Path, target: Path) -> bool:
    """Move a finished ``tmp`` file to ``target`` (landed files are immutable).

    Returns False (and removes ``tmp``) when ``target`` already holds identical content,
    so re-running an adapter on the same input is a no-op. Raises :class:`LandingConflict`
    when ``target`` exists with different content: corrections land under a new name.
    """
    if target.exists():
        same = _sha256(tmp) == _sha256(target)
        tmp.unlink()
        if same:
            return False
        raise LandingConflict(
            f"{target} already landed with different content; landed files are immutable: "
            "write the corrected batch under a new name (--name)"
        )
    os.replace(tmp, target)
    return True


def write_records(
    records: Iterable[Mapping[str, Any]], target: Path, fmt: str, columns: list[str]
) -> bool:
    """Write records (dicts) as ``jsonl`` or ``parquet`` via ``name.tmp`` + rename."""
    target.parent.mkdir(parents=True, exist_ok=True)
    tmp = target.with_name(target.name + ".tmp")
    rows = list(records)
    if fmt == "jsonl":
        with open(tmp, "w", encoding="utf-8", newline="\n") as fh:
            for row in rows:
                clean = {k: row.get(k) for k in columns if row.get(k) is not None}
                fh.write(json.dumps(clean, ensure_ascii=False) + "\n")
    else:
        import pyarrow as pa
        import pyarrow.parquet as pq

        table = pa.table({c: [r.get(c) for r in rows] for c in columns})
        pq.write_table(table, tmp)
    return land(tmp, target)
