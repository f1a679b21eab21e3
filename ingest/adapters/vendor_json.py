"""Reading vendor JSON exports in the shapes they come in."""

from __future__ import annotations

import gzip
import json
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any


def read_json_objects(path: Path, envelope: tuple[str, ...] = ()) -> Iterator[Any]:
    """Every top-level record in ``path`` (``.gz`` allowed), whatever the packaging.

    Accepts JSON Lines, a JSON array, objects written back to back with no separator (as
    Kinesis Data Firehose writes contact trace records to S3), and API responses whose
    records sit under one of the ``envelope`` keys (e.g. ``{"audits": [...]}``).
    Non-object records are yielded as they are (the caller reports them).
    """
    opener = gzip.open if path.name.lower().endswith(".gz") else open
    with opener(path, "rt", encoding="utf-8-sig") as fh:
        text = fh.read()
    decoder = json.JSONDecoder()
    pos, end = 0, len(text)
    while True:
        while pos < end and text[pos] in " \t\r\n,":
            pos += 1
        if pos >= end:
            return
        try:
            value, pos = decoder.raw_decode(text, pos)
        except json.JSONDecodeError as exc:
            raise ValueError(f"{path.name}: not JSON at character {exc.pos}: {exc.msg}") from None
        if isinstance(value, list):
            yield from value
        elif isinstance(value, dict) and any(isinstance(value.get(k), list) for k in envelope):
            for key in envelope:
                if isinstance(value.get(key), list):
                    yield from value[key]
        else:
            yield value


def iso_utc(value: Any) -> str | None:
    """An ISO-8601 timestamp (or epoch seconds) as ISO UTC with ``Z``; None if empty/invalid."""
    if value is None or value == "":
        return None
    try:
        if isinstance(value, int | float):
            moment = datetime.fromtimestamp(value, UTC)
        else:
            moment = datetime.fromisoformat(str(value).replace("Z", "+00:00"))
            if moment.tzinfo is None:
                moment = moment.replace(tzinfo=UTC)  # vendors document these as UTC
    except (ValueError, OverflowError, OSError):
        return None
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def dig(record: Any, *path: str) -> Any:
    """``record[path[0]][path[1]]…`` or None when any step is missing or not an object."""
    for key in path:
        if not isinstance(record, dict):
            return None
        record = record.get(key)
    return record
