"""Hand-written landing files for the ingest tests: small records in every format."""

from __future__ import annotations

import csv
import gzip
import io
import json
from collections.abc import Iterable, Sequence
from pathlib import Path
from typing import Any

import duckdb

from beacon.config import BeaconConfig, QualityConfig
from ingest.contracts import CONTRACTS


def call(leg_id: str, /, **overrides: Any) -> dict[str, Any]:
    """A valid calls record; ``overrides`` replace (or, with None, blank) fields."""
    record: dict[str, Any] = {
        "leg_id": leg_id,
        "call_id": f"C-{leg_id}",
        "leg_seq": 1,
        "direction": "inbound",
        "customer_id": "CU1",
        "queue": "billing",
        "agent_id": "A1",
        "arrived_at": "2026-10-01T09:00:00Z",
        "answered_at": "2026-10-01T09:00:30Z",
        "ended_at": "2026-10-01T09:05:00Z",
        "talk_seconds": 250.5,
        "hold_seconds": 10,
        "disposition": "handled",
        "emitted_at": "2026-10-01T09:06:00Z",
    }
    record.update(overrides)
    return {k: v for k, v in record.items() if v is not None}


def ticket(event_id: str, event_type: str = "commented", /, **overrides: Any) -> dict[str, Any]:
    record: dict[str, Any] = {
        "event_id": event_id,
        "ticket_id": "T1",
        "event_type": event_type,
        "occurred_at": "2026-10-01T09:00:00Z",
    }
    if event_type == "created":
        record.update(channel="email", status="new")
    elif event_type == "status_changed":
        record.update(status="open")
    elif event_type == "assigned":
        record.update(group="billing-team", agent_id="A1")
    elif event_type == "commented":
        record.update(author_role="agent", is_public=True)
    elif event_type == "satisfaction_rated":
        record.update(rating="good")
    elif event_type == "merged":
        record.update(merged_into_ticket_id="T2")
    record.update(overrides)
    return {k: v for k, v in record.items() if v is not None}


class Landing:
    """Writes files into a landing zone and ingests them into a warehouse."""

    def __init__(self, root: Path, **config: Any) -> None:
        self.dir = root / "landing"
        self.dir.mkdir(parents=True, exist_ok=True)
        self.warehouse = root / "warehouse" / "beacon.duckdb"
        # these hand-written files test ingest's own rules (contract, redelivery, exactly
        # once) with a few rows each; the quality gates on top are tests/test_gate.py's
        config.setdefault("quality", QualityConfig(gates=False))
        self.config = BeaconConfig(landing_dir=self.dir, warehouse_path=self.warehouse, **config)

    def _path(self, relpath: str) -> Path:
        path = self.dir / relpath
        path.parent.mkdir(parents=True, exist_ok=True)
        return path

    def text(self, relpath: str, text: str | bytes) -> Path:
        path = self._path(relpath)
        data = text.encode() if isinstance(text, str) else text
        if relpath.endswith(".gz"):
            data = gzip.compress(data)
        path.write_bytes(data)
        return path

    def jsonl(self, relpath: str, records: Iterable[dict[str, Any] | str]) -> Path:
        """One line per record; a str is written as the line itself (for bad lines)."""
        lines = [r if isinstance(r, str) else json.dumps(r) for r in records]
        return self.text(relpath, "".join(line + "\n" for line in lines))

    def csv(
        self, relpath: str, records: Sequence[dict[str, Any]], header: Sequence[str] | None = None
    ) -> Path:
        feed = relpath.split("/")[0]
        header = list(header or CONTRACTS[feed].names)
        out = io.StringIO()
        writer = csv.DictWriter(out, fieldnames=header, extrasaction="ignore", lineterminator="\n")
        writer.writeheader()
        for r in records:
            writer.writerow({k: _csv_value(v) for k, v in r.items()})
        return self.text(relpath, out.getvalue())

    def parquet(self, relpath: str, records: Sequence[dict[str, Any]], typed: bool = False) -> Path:
        import pyarrow as pa
        import pyarrow.parquet as pq

        feed = relpath.split("/")[0]
        contract = CONTRACTS[feed]
        columns: dict[str, pa.Array] = {}
        for f in contract.fields:
            values = [r.get(f.name) for r in records]
            if typed and f.type == "int":
                columns[f.name] = pa.array(values, pa.int64())
            elif typed and f.type == "number":
                columns[f.name] = pa.array(values, pa.float64())
            elif typed and f.type == "bool":
                columns[f.name] = pa.array(values, pa.bool_())
            elif typed and f.type == "timestamp":
                columns[f.name] = pa.array(
                    [_parse_ts(v) for v in values], pa.timestamp("us", tz="UTC")
                )
            else:
                columns[f.name] = pa.array(
                    [None if v is None else str(_csv_value(v)) for v in values], pa.string()
                )
        path = self._path(relpath)
        pq.write_table(pa.table(columns), path)
        return path

    def ingest(self, feeds: Sequence[str] | None = None, **kwargs: Any):
        from ingest import ingest_landing

        return ingest_landing(self.config, feeds, **kwargs)

    def query(self, sql: str, params: Sequence[Any] | None = None) -> list[tuple]:
        con = duckdb.connect(str(self.warehouse), read_only=True)
        try:
            return con.execute(sql, params or []).fetchall()
        finally:
            con.close()

    def snapshot(self) -> dict[str, list[tuple]]:
        """Every raw table's full content, ordered: to prove a re-run changed nothing."""
        return {
            table: self.query(f"SELECT * FROM raw.{table} ORDER BY ALL")
            for table in ("calls", "tickets", "crm", "_files", "_quarantine")
        }


def _csv_value(v: Any) -> Any:
    if isinstance(v, bool):
        return "true" if v else "false"
    return v


def _parse_ts(value: str | None):
    from datetime import datetime

    if value is None:
        return None
    return datetime.fromisoformat(value.replace("Z", "+00:00"))
