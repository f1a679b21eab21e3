"""The landing zone writer: spools each day's records to part files as they are emitted and,
once no open issue can still emit into a day, finalises the day's file per feed (sorted by
emission time, dirt injected, written as ``name.tmp`` and renamed into place)."""

from __future__ import annotations

import pickle
import random
from collections.abc import Callable
from dataclasses import dataclass
from datetime import timedelta
from operator import itemgetter
from pathlib import Path
from typing import Any

from ingest.contracts import CONTRACTS, FEEDS

from .clock import DAY, utc_date
from .config import FAULT_TYPES, SimulationConfig
from .dirt import GATE_FAULTS, Dirt
from .formats import EXTENSIONS, Renderer, write_parquet, write_text

#: spooled records per (feed, day) kept in memory before they go to the part file
_CHUNK = 5_000

_sort_key = itemgetter(0, 1, 2, 3)


@dataclass(slots=True)
class _Row:
    values: list[Any]
    key: str
    text: str | None = None
    fault: dict[str, Any] | None = None


@dataclass
class FeedCounts:
    """What landed for one feed: data records (every line or row, faulty ones included)
    and files."""

    records: int = 0
    files: int = 0


class Landing:
    """Spool, finalise and write the three feeds."""

    def __init__(
        self,
        config: SimulationConfig,
        landing_dir: Path,
        spool_dir: Path,
        start_ts: int,
        on_fault: Callable[[dict[str, Any]], None],
    ) -> None:
        self.config = config
        self.landing_dir = landing_dir
        self.spool_dir = spool_dir
        self.start_ts = start_ts
        self.horizon = start_ts + config.days * DAY
        self.on_fault = on_fault
        self.counts = {feed: FeedCounts() for feed in FEEDS}
        self._feed_no = {feed: i for i, feed in enumerate(FEEDS)}
        self._renderers = {feed: Renderer(CONTRACTS[feed]) for feed in FEEDS}
        self._dirt = {feed: Dirt(CONTRACTS[feed]) for feed in FEEDS}
        self._layout = {}
        for feed in FEEDS:
            c = CONTRACTS[feed]
            names = c.names
            self._layout[feed] = (
                names,
                names.index(c.key),
                names.index("emitted_at"),
                names.index(c.event_time),
            )
        self._buffers: dict[tuple[str, int], list[tuple]] = {}
        self._parts: set[tuple[str, int]] = set()
        self._finalised_upto = -1
        self._copy_no = 0
        self._fault_no = 0

    # -- emission -------------------------------------------------------------------------
    def emit(self, feed: str, record: dict[str, Any]) -> bool:
        """Spool a record (``emitted_at`` set, epoch seconds); False if it would be emitted
        after the horizon (it has not happened yet)."""
        names, key_i, emitted_i, event_i = self._layout[feed]
        values = [record.get(n) for n in names]
        emitted = values[emitted_i]
        if emitted >= self.horizon:
            return False
        day = (emitted - self.start_ts) // DAY
        if day <= self._finalised_upto:
            raise RuntimeError(f"{feed} record emitted into finalised day {day}: {record}")
        self._spool(feed, day, (emitted, values[event_i], values[key_i], 0, values, None))
        return True

    def _spool(self, feed: str, day: int, item: tuple) -> None:
        buf = self._buffers.setdefault((feed, day), [])
        buf.append(item)
        if len(buf) >= _CHUNK:
            self._flush(feed, day)

    def _part_path(self, feed: str, day: int) -> Path:
        return self.spool_dir / f"{feed}_{day:05d}.part"

    def _flush(self, feed: str, day: int) -> None:
        buf = self._buffers.get((feed, day))
        if not buf:
            return
        with open(self._part_path(feed, day), "ab") as fh:
            pickle.dump(buf, fh, protocol=pickle.HIGHEST_PROTOCOL)
        self._parts.add((feed, day))
        buf.clear()

    def _load(self, feed: str, day: int) -> list[tuple]:
        items: list[tuple] = []
        if (feed, day) in self._parts:
            path = self._part_path(feed, day)
            with open(path, "rb") as fh:
                while True:
                    try:
                        items.extend(pickle.load(fh))
                    except EOFError:
                        break
            path.unlink()
            self._parts.discard((feed, day))
        items.extend(self._buffers.pop((feed, day), []))
        return items

    # -- paths ----------------------------------------------------------------------------
    def format_for(self, feed: str, day: int) -> str:
        formats = self.config.formats
        return formats[(day + self._feed_no[feed]) % len(formats)]

    def _folder(self, feed: str, day: int) -> Path:
        d = utc_date(self.start_ts + day * DAY)
        folder = self.landing_dir / feed / f"{d.year:04d}" / f"{d.month:02d}"
        folder.mkdir(parents=True, exist_ok=True)
        return folder

    def _day_name(self, day: int) -> str:
        return (self.config.start_date + timedelta(days=day)).isoformat()

    def _rel(self, path: Path) -> str:
        return path.relative_to(self.landing_dir).as_posix()

    # -- finalisation ---------------------------------------------------------------------
    def finalise(self, day: int) -> None:
        """Write day ``day`` of every feed; nothing may be emitted into it afterwards."""
        for feed in FEEDS:
            self._finalise_feed(feed, day)
        self._finalised_upto = day

    def _finalise_feed(self, feed: str, day: int) -> None:
        items = self._load(feed, day)
        items.sort(key=_sort_key)
        fmt = self.format_for(feed, day)
        dirt_cfg = self.config.dirt
        rows: list[_Row] = []
        late_rows: list[_Row] = []
        later: list[tuple[int, _Row, list[Any], tuple[str, str] | None]] = []
        rng = random.Random(f"beacon-dirt:{self.config.seed}:{feed}:{day}")
        last_day = self.config.days - 1
        late_day = min(last_day, day + rng.randint(1, 5)) if day < last_day else None
        dirt = self._dirt[feed]
        renderer = self._renderers[feed]
        enabled = dirt_cfg.enabled
        thresholds = []
        acc = 0.0
        for fault_type in FAULT_TYPES:
            acc += dirt_cfg.rate(fault_type)
            thresholds.append((acc, fault_type))
        emitted_i = self._layout[feed][2]

        for emitted, _event, key, _copy, values, meta in items:
            if meta is not None:  # a redelivered copy spooled by an earlier day
                rows.append(_Row(values, key, fault=meta))
                continue
            if not enabled:
                rows.append(_Row(values, key))
                continue
            u = rng.random()
            fault_type = next((t for limit, t in thresholds if u < limit), None)
            row = _Row(values, key)
            if fault_type == "malformed_line" and fmt != "parquet":
                row.values = values = list(values)
                if fmt == "csv":
                    row.text, detail = dirt.malformed_csv(rng, renderer.csv_fields(values))
                else:
                    row.text, detail = dirt.malformed_json(rng, renderer.json_line(values))
                row.fault = _fault("malformed_line", key, None, detail)
            elif fault_type == "bad_timestamp" and fmt != "parquet" and dirt.has_timestamp(values):
                row.values = values = list(values)
                field, detail = dirt.bad_timestamp(rng, values)
                row.fault = _fault("bad_timestamp", key, field, detail)
            elif fault_type == "negative_duration" and dirt.has_duration(values):
                row.values = values = list(values)
                field, detail = dirt.negative_duration(rng, values)
                row.fault = _fault("negative_duration", key, field, detail)
            elif fault_type == "unknown_enum" and dirt.can_unknown_enum(values):
                row.values = values = list(values)
                field, detail = dirt.unknown_enum(rng, values)
                row.fault = _fault("unknown_enum", key, field, detail)
            elif fault_type in GATE_FAULTS and getattr(dirt, f"can_{fault_type}")(values):
                row.values = values = list(values)
                field, detail = getattr(dirt, fault_type)(rng, values)
                row.fault = _fault(fault_type, key, field, detail)
            elif fault_type == "late_file" and late_day is not None:
                row.fault = _fault("late_file", key, None, "")
                late_rows.append(row)
                continue
            elif fault_type == "redelivery":
                target = min(last_day, day + rng.choice((0, 0, 1, 1, 2)))
                rows.append(row)
                copy = list(values)
                if target == day:
                    rows.append(_Row(copy, key, fault=_fault("redelivery", key, None, "")))
                    continue
                lo = max(emitted + 1, self.start_ts + target * DAY)
                hi = min(self.horizon, self.start_ts + (target + 1) * DAY) - 1
                copy[emitted_i] = rng.randint(lo, hi)
                fix = dirt.correction(rng, copy) if rng.random() < 0.5 else None
                later.append((target, row, copy, fix))
                continue
            rows.append(row)
        del items

        path = self._folder(feed, day) / f"{feed}_{self._day_name(day)}{EXTENSIONS[fmt]}"
        lines: list[int] = []
        # a day without records (phones closed on a Sunday) gets no file, not an empty one
        if rows:
            lines = self._write(feed, fmt, path, rows)
            # a same-file duplicate names the line of its original
            for i, row in enumerate(rows):
                if (
                    row.fault is not None
                    and row.fault["fault_type"] == "redelivery"
                    and not row.fault["detail"]
                ):
                    row.fault["detail"] = f"exact duplicate of line {lines[i] - 1} in the same file"
            self._record_faults(feed, path, rows, lines)

        if late_rows:
            assert late_day is not None
            late_path = self._folder(feed, late_day) / (
                f"{feed}_{self._day_name(day)}_late-{self._day_name(late_day)}{EXTENSIONS[fmt]}"
            )
            late_lines = self._write(feed, fmt, late_path, late_rows)
            for row in late_rows:
                assert row.fault is not None
                row.fault["detail"] = (
                    f"record of {self._day_name(day)} delivered on {self._day_name(late_day)}"
                )
            self._record_faults(feed, late_path, late_rows, late_lines)

        if later:
            line_of = {id(row): lines[i] for i, row in enumerate(rows)}
            rel = self._rel(path)
            for target, original, copy, fix in later:
                field, correction = fix if fix else (None, "")
                detail = f"redelivery of {rel} line {line_of[id(original)]}"
                if correction:
                    detail += f"; {correction}"
                self._copy_no += 1
                names, key_i, emitted_i, event_i = self._layout[feed]
                item = (
                    copy[emitted_i],
                    copy[event_i],
                    copy[key_i],
                    self._copy_no,
                    copy,
                    _fault("redelivery", original.key, field, detail),
                )
                self._spool(feed, target, item)

    def _write(self, feed: str, fmt: str, path: Path, rows: list[_Row]) -> list[int]:
        """Write rows; returns each row's 1-based record number in the file."""
        renderer = self._renderers[feed]
        if fmt == "parquet":
            write_parquet(path, renderer.table([row.values for row in rows]))
        elif fmt == "csv":
            lines = (
                row.text if row.text is not None else renderer.csv_line(row.values) for row in rows
            )
            write_text(path, fmt, renderer.csv_header(), lines)
        else:
            lines = (
                row.text if row.text is not None else renderer.json_line(row.values) for row in rows
            )
            write_text(path, fmt, None, lines)
        counts = self.counts[feed]
        counts.files += 1
        counts.records += len(rows)
        return list(range(1, len(rows) + 1))

    def _record_faults(self, feed: str, path: Path, rows: list[_Row], lines: list[int]) -> None:
        rel = self._rel(path)
        for row, line in zip(rows, lines, strict=True):
            if row.fault is None:
                continue
            self._fault_no += 1
            self.on_fault(
                {
                    "fault_id": f"F{self._fault_no:07d}",
                    "feed": feed,
                    "file": rel,
                    "line": line,
                    **row.fault,
                }
            )

    def close(self) -> None:
        """Drop spool files left for days past the horizon (nothing is in them by design)."""
        for feed, day in sorted(self._parts):
            self._part_path(feed, day).unlink(missing_ok=True)
        self._parts.clear()
        self._buffers.clear()


def _fault(fault_type: str, key: str, field: str | None, detail: str) -> dict[str, Any]:
    return {"fault_type": fault_type, "record_key": key, "field": field, "detail": detail}
