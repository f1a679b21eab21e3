"""Rendering records of a feed contract into the landing formats (JSONL, gzipped JSONL, CSV,
Parquet). A record is a list of values in contract field order; timestamps are epoch seconds
(or, for a bad-timestamp fault, the bad text itself)."""

from __future__ import annotations

import gzip
import json
from collections.abc import Iterable, Sequence
from pathlib import Path
from typing import Any

import pyarrow as pa
import pyarrow.parquet as pq

from ingest.contracts import Contract

from .clock import iso

EXTENSIONS: dict[str, str] = {
    "jsonl": ".jsonl",
    "jsonl.gz": ".jsonl.gz",
    "csv": ".csv",
    "parquet": ".parquet",
}

_JSON = json.JSONEncoder(separators=(",", ":"), ensure_ascii=False)

_ARROW_TYPES: dict[str, pa.DataType] = {
    "string": pa.string(),
    "int": pa.int64(),
    "number": pa.float64(),
    "bool": pa.bool_(),
    "timestamp": pa.timestamp("us", tz="UTC"),
}


def arrow_schema(contract: Contract) -> pa.Schema:
    return pa.schema([pa.field(f.name, _ARROW_TYPES[f.type]) for f in contract.fields])


class Renderer:
    """Turns value lists of one contract into text lines or Arrow tables."""

    def __init__(self, contract: Contract) -> None:
        self.contract = contract
        self.names = contract.names
        self.ts_idx = frozenset(i for i, f in enumerate(contract.fields) if f.type == "timestamp")
        self.bool_idx = frozenset(i for i, f in enumerate(contract.fields) if f.type == "bool")
        self.schema = arrow_schema(contract)
        self._is_ts = tuple(f.type == "timestamp" for f in contract.fields)

    def json_line(self, values: Sequence[Any]) -> str:
        obj: dict[str, Any] = {}
        for name, is_ts, value in zip(self.names, self._is_ts, values, strict=True):
            if value is None:
                continue
            obj[name] = iso(value) if is_ts and not isinstance(value, str) else value
        return _JSON.encode(obj)

    def csv_fields(self, values: Sequence[Any]) -> list[str]:
        out: list[str] = []
        ts_idx, bool_idx = self.ts_idx, self.bool_idx
        for i, value in enumerate(values):
            if value is None:
                out.append("")
            elif i in ts_idx and not isinstance(value, str):
                out.append(iso(value))
            elif i in bool_idx:
                out.append("true" if value else "false")
            else:
                out.append(_csv_quote(str(value)))
        return out

    def csv_header(self) -> str:
        return ",".join(self.names)

    def csv_line(self, values: Sequence[Any]) -> str:
        return ",".join(self.csv_fields(values))

    def table(self, rows: Sequence[Sequence[Any]]) -> pa.Table:
        columns = []
        for i, fld in enumerate(self.schema):
            col = [row[i] for row in rows]
            if i in self.ts_idx:
                col = [None if v is None else v * 1_000_000 for v in col]
            columns.append(pa.array(col, type=fld.type))
        return pa.Table.from_arrays(columns, schema=self.schema)


def _csv_quote(text: str) -> str:
    if any(ch in text for ch in ',"\n\r'):
        return '"' + text.replace('"', '""') + '"'
    return text


def write_text(path: Path, fmt: str, header: str | None, lines: Iterable[str]) -> None:
    """Stream lines (no terminators) into ``path.tmp`` and rename it into place."""
    tmp = path.with_name(path.name + ".tmp")
    with open(tmp, "wb") as fh:
        if fmt == "jsonl.gz":
            # mtime=0 and no file name in the header: the bytes depend on the content only
            with gzip.GzipFile(filename="", mode="wb", fileobj=fh, mtime=0, compresslevel=6) as gz:
                _write_lines(gz, header, lines)
        else:
            _write_lines(fh, header, lines)
    tmp.replace(path)


def _write_lines(fh: Any, header: str | None, lines: Iterable[str]) -> None:
    batch: list[str] = [] if header is None else [header]
    for line in lines:
        batch.append(line)
        if len(batch) >= 2_000:
            fh.write(("\n".join(batch) + "\n").encode("utf-8"))
            batch.clear()
    if batch:
        fh.write(("\n".join(batch) + "\n").encode("utf-8"))


def write_parquet(path: Path, table: pa.Table) -> None:
    tmp = path.with_name(path.name + ".tmp")
    pq.write_table(table, tmp, compression="zstd", row_group_size=100_000)
    tmp.replace(path)
