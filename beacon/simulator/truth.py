"""Ground truth: what really happened, written beside (never inside) the landing zone.

Rows are spooled to part files per day of their sort time (a contact's start, an issue's
first contact) as issues finish; at the end each day's rows are sorted and appended to the
final Parquet file, so memory holds one day of truth at a time however long the period is."""

from __future__ import annotations

import json
import pickle
from pathlib import Path
from typing import Any

import pyarrow as pa
import pyarrow.parquet as pq

_TS = pa.timestamp("us", tz="UTC")

CONTACTS_SCHEMA = pa.schema(
    [
        ("contact_id", pa.string()),
        ("channel", pa.string()),
        ("customer_id", pa.string()),
        ("is_identifiable", pa.bool_()),
        ("issue_id", pa.string()),
        ("contact_seq", pa.int64()),
        ("started_at", _TS),
        ("ended_at", _TS),
        ("agent_id", pa.string()),
        ("queue", pa.string()),
        ("contact_reason", pa.string()),
        ("resolved_issue", pa.bool_()),
        ("reported_resolved", pa.bool_()),
        ("ticket_id", pa.string()),
        ("outcome", pa.string()),
        ("handoffs", pa.int64()),
    ]
)

ISSUES_SCHEMA = pa.schema(
    [
        ("issue_id", pa.string()),
        ("customer_id", pa.string()),
        ("contact_reason", pa.string()),
        ("first_contact_at", _TS),
        ("last_contact_at", _TS),
        ("n_contacts", pa.int64()),
        ("is_resolved", pa.bool_()),
        ("resolved_at", _TS),
        ("resolved_first_contact", pa.bool_()),
        ("handoffs", pa.int64()),
        ("gave_up", pa.bool_()),
        ("reopens", pa.int64()),
        ("first_channel", pa.string()),
        ("channels", pa.int64()),
        ("difficulty", pa.float64()),
    ]
)

FAULTS_SCHEMA = pa.schema(
    [
        ("fault_id", pa.string()),
        ("fault_type", pa.string()),
        ("feed", pa.string()),
        ("file", pa.string()),
        ("line", pa.int64()),
        ("record_key", pa.string()),
        ("field", pa.string()),
        ("detail", pa.string()),
    ]
)

_ORDER = {
    "contacts": ("started_at", "contact_id"),
    "issues": ("first_contact_at", "issue_id"),
    "faults": ("fault_id",),
}
_SCHEMAS = {"contacts": CONTACTS_SCHEMA, "issues": ISSUES_SCHEMA, "faults": FAULTS_SCHEMA}
#: rows buffered in memory (over all days) before they go to the part files
_CHUNK = 5_000
#: rows per row group of the final files
_ROW_GROUP = 10_000


def _table(schema: pa.Schema, rows: list[dict[str, Any]]) -> pa.Table:
    columns = []
    for fld in schema:
        col = [row.get(fld.name) for row in rows]
        if fld.type == _TS:
            col = [None if v is None else v * 1_000_000 for v in col]
        columns.append(pa.array(col, type=fld.type))
    return pa.Table.from_arrays(columns, schema=schema)


class TruthWriter:
    """Spools truth rows by day and writes the sorted ``contacts``, ``issues`` and
    ``faults`` tables at the end."""

    def __init__(self, truth_dir: Path, spool_dir: Path, start_ts: int) -> None:
        self.truth_dir = truth_dir
        self.spool_dir = spool_dir
        self.start_ts = start_ts
        self._buffers: dict[tuple[str, int], list[dict[str, Any]]] = {}
        self._buffered = 0
        self._parts: set[tuple[str, int]] = set()
        self.counts: dict[str, int] = {name: 0 for name in _SCHEMAS}

    def add(self, name: str, row: dict[str, Any], ts: int) -> None:
        """Add a row whose sort time is ``ts`` (epoch seconds)."""
        day = (ts - self.start_ts) // 86_400
        self._buffers.setdefault((name, day), []).append(row)
        self.counts[name] += 1
        self._buffered += 1
        if self._buffered >= _CHUNK:
            self._flush()

    def _part(self, name: str, day: int) -> Path:
        return self.spool_dir / f"truth_{name}_{day + 100_000:06d}.part"

    def _flush(self) -> None:
        for (name, day), rows in sorted(self._buffers.items()):
            with open(self._part(name, day), "ab") as fh:
                pickle.dump(rows, fh, protocol=pickle.HIGHEST_PROTOCOL)
            self._parts.add((name, day))
        self._buffers.clear()
        self._buffered = 0

    def _load(self, name: str, day: int) -> list[dict[str, Any]]:
        rows: list[dict[str, Any]] = []
        path = self._part(name, day)
        with open(path, "rb") as fh:
            while True:
                try:
                    rows.extend(pickle.load(fh))
                except EOFError:
                    break
        path.unlink()
        return rows

    def finish(self) -> None:
        """Write ``contacts``, ``issues`` and ``faults`` .parquet, sorted."""
        self._flush()
        for name, schema in _SCHEMAS.items():
            days = sorted(day for n, day in self._parts if n == name)
            order = _ORDER[name]
            target = self.truth_dir / f"{name}.parquet"
            tmp = target.with_name(target.name + ".tmp")
            with pq.ParquetWriter(tmp, schema, compression="zstd") as writer:
                pending: list[dict[str, Any]] = []
                for day in days:
                    rows = self._load(name, day)
                    rows.sort(key=lambda r: tuple(r[k] for k in order))
                    pending.extend(rows)
                    if len(pending) >= _ROW_GROUP:
                        writer.write_table(_table(schema, pending))
                        pending = []
                if pending or not days:
                    writer.write_table(_table(schema, pending))
            tmp.replace(target)
            self._parts -= {(name, day) for day in days}

    def write_table(self, name: str, table: pa.Table) -> None:
        target = self.truth_dir / f"{name}.parquet"
        tmp = target.with_name(target.name + ".tmp")
        pq.write_table(table, tmp, compression="zstd")
        tmp.replace(target)

    def write_json(self, name: str, obj: dict[str, Any]) -> None:
        target = self.truth_dir / name
        tmp = target.with_name(target.name + ".tmp")
        tmp.write_text(json.dumps(obj, indent=2, sort_keys=True) + "\n", encoding="utf-8")
        tmp.replace(target)
