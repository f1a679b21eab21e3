"""Declarative mapping of an event-log CSV to the ``tickets`` contract (one YAML per source).

The schema is documented in ``docs/adapters.md``; :func:`load_mapping` validates a file
against it (and against the contract's enums) and returns a :class:`TicketMapping`.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

import yaml

from ingest.contracts import TICKETS

STATUSES = TICKETS.field("status").enum or ()
#: per-event attributes a mapping may fill (besides ticket id, time, status and group)
ATTRIBUTE_FIELDS = (
    "agent_id",
    "customer_id",
    "requester_email",
    "channel",
    "priority",
    "contact_reason",
)
_SOURCE_NAME = re.compile(r"^[a-z0-9][a-z0-9_-]*$")


class MappingError(ValueError):
    """The mapping file does not follow the schema (message says where)."""


@dataclass(frozen=True)
class ValueSpec:
    """A value per row: a constant, or a column's value, optionally through a value map."""

    column: str | None = None
    value: str | None = None
    map: dict[str, str] | None = None
    default: str | None = None

    @property
    def columns(self) -> list[str]:
        return [self.column] if self.column else []


@dataclass(frozen=True)
class ActivityRule:
    status: str | None = None
    assign: bool = False
    ignore: str | None = None  # reason why rows with this activity produce no event


@dataclass(frozen=True)
class Milestone:
    """A wide export's timestamp column: each row gives one log row per milestone."""

    column: str  # the timestamp column
    activity: str  # the activity this milestone stands for (a key of ``activities``)


@dataclass(frozen=True)
class TicketMapping:
    source: str
    path: Path
    ticket_id: ValueSpec
    timestamp_column: str
    timestamp_format: str
    timezone: str | None
    activity_columns: tuple[str, ...]
    activity_separator: str
    activities: dict[str, ActivityRule]
    created_status: str
    group: ValueSpec | None
    assign_on_group_change: bool
    fields: dict[str, ValueSpec] = field(default_factory=dict)
    event_id_prefix: str = ""
    description: str = ""
    delimiter: str = ","
    encoding: str = "utf-8-sig"
    #: a wide export (one row per ticket, a timestamp column per milestone): each row gives
    #: one log row per milestone, in this order (empty: one log row per row)
    milestones: tuple[Milestone, ...] = ()

    def columns_used(self) -> list[str]:
        cols = [*self.ticket_id.columns, self.timestamp_column, *self.activity_columns]
        cols += [m.column for m in self.milestones]
        if self.group:
            cols += self.group.columns
        for spec in self.fields.values():
            cols += spec.columns
        return list(dict.fromkeys(cols))


def _where(path: Path, key: str) -> str:
    return f"{path.name}: {key}"


def _value_spec(raw: Any, path: Path, key: str, enum: tuple[str, ...] | None = None) -> ValueSpec:
    if isinstance(raw, str):
        raw = {"column": raw}
    if not isinstance(raw, dict) or not (("column" in raw) ^ ("value" in raw)):
        raise MappingError(f"{_where(path, key)} needs exactly one of 'column' or 'value'")
    unknown = set(raw) - {"column", "value", "map", "default"}
    if unknown:
        raise MappingError(f"{_where(path, key)}: unknown keys {sorted(unknown)}")
    mapping = raw.get("map")
    if mapping is not None and (not isinstance(mapping, dict) or "column" not in raw):
        raise MappingError(f"{_where(path, key)}: 'map' must be a table and needs 'column'")
    mapping = {str(k): str(v) for k, v in (mapping or {}).items()} or None
    spec = ValueSpec(
        column=str(raw["column"]) if "column" in raw else None,
        value=str(raw["value"]) if raw.get("value") is not None else None,
        map=mapping,
        default=str(raw["default"]) if raw.get("default") is not None else None,
    )
    if enum:
        produced = [spec.value, spec.default, *(mapping or {}).values()]
        bad = sorted({v for v in produced if v is not None and v not in enum})
        if bad:
            raise MappingError(f"{_where(path, key)}: {bad} not in {list(enum)}")
        if spec.column and mapping is None:
            raise MappingError(
                f"{_where(path, key)}: a column feeding an enum field needs a 'map' to {list(enum)}"
            )
    return spec


def _check_timestamp(path: Path, fmt: str, timezone: str | None) -> None:
    import duckdb

    try:
        duckdb.execute("select try_strptime('', ?)", [fmt])
    except duckdb.Error as exc:
        raise MappingError(f"{_where(path, 'occurred_at.format')}: {exc}") from None
    if timezone is not None:
        try:
            ZoneInfo(str(timezone))
        except (ZoneInfoNotFoundError, ValueError):
            raise MappingError(
                f"{_where(path, 'occurred_at.timezone')}: unknown time zone {timezone!r}"
            ) from None


def load_mapping(path: Path | str) -> TicketMapping:
    """Read and validate a mapping YAML file."""
    path = Path(path)
    try:
        doc = yaml.safe_load(path.read_text(encoding="utf-8"))
    except yaml.YAMLError as exc:
        raise MappingError(f"{path.name}: not valid YAML: {exc}") from None
    if not isinstance(doc, dict):
        raise MappingError(f"{path.name}: expected a YAML mapping at the top level")
    known = {
        "source", "description", "feed", "input", "event_id_prefix", "ticket_id",
        "occurred_at", "activity", "activities", "created", "assignment", "fields",
        "milestones",
    }  # fmt: skip
    unknown = set(doc) - known
    if unknown:
        raise MappingError(f"{path.name}: unknown keys {sorted(unknown)}")
    milestones = _milestones(doc, path)
    required = ("source", "ticket_id", "occurred_at", "activities")
    for key in required if milestones else (*required, "activity"):
        if key not in doc:
            raise MappingError(f"{path.name}: '{key}' is required")
    if doc.get("feed", "tickets") != "tickets":
        raise MappingError(f"{path.name}: only feed 'tickets' is supported by mappings")
    source = str(doc["source"])
    if not _SOURCE_NAME.match(source):
        raise MappingError(f"{path.name}: source {source!r} must match {_SOURCE_NAME.pattern}")

    occurred = doc["occurred_at"]
    needed = {"format"} if milestones else {"column", "format"}
    if not isinstance(occurred, dict) or not needed <= set(occurred):
        raise MappingError(f"{_where(path, 'occurred_at')} needs 'column' and 'format'")
    if milestones and "column" in occurred:
        raise MappingError(f"{_where(path, 'occurred_at.column')}: milestones give the columns")

    _check_timestamp(path, str(occurred["format"]), occurred.get("timezone"))

    activity = doc.get("activity", {"columns": [m.column for m in milestones]})
    if milestones and "activity" in doc:
        raise MappingError(f"{_where(path, 'activity')}: milestones give the activities")
    if isinstance(activity, str):
        activity = {"column": activity}
    if not isinstance(activity, dict) or not (("column" in activity) ^ ("columns" in activity)):
        raise MappingError(f"{_where(path, 'activity')} needs 'column' or 'columns'")
    columns = activity.get("columns") or [activity["column"]]
    if not isinstance(columns, list) or not columns:
        raise MappingError(f"{_where(path, 'activity.columns')} must be a non-empty list")

    rules: dict[str, ActivityRule] = {}
    if not isinstance(doc["activities"], dict) or not doc["activities"]:
        raise MappingError(f"{_where(path, 'activities')} must be a non-empty table")
    for name, rule in doc["activities"].items():
        key = f"activities[{name!r}]"
        if not isinstance(rule, dict) or set(rule) - {"status", "assign", "ignore"}:
            raise MappingError(f"{_where(path, key)}: expected keys status / assign / ignore")
        status = rule.get("status")
        if status is not None and status not in STATUSES:
            raise MappingError(f"{_where(path, key)}: status {status!r} not in {list(STATUSES)}")
        if rule.get("ignore") is not None and (status or rule.get("assign")):
            raise MappingError(f"{_where(path, key)}: 'ignore' excludes status and assign")
        if status is None and not rule.get("assign") and rule.get("ignore") is None:
            raise MappingError(f"{_where(path, key)}: give a status, assign: true or ignore")
        rules[str(name)] = ActivityRule(
            status=status, assign=bool(rule.get("assign", False)), ignore=rule.get("ignore")
        )

    for m in milestones:
        if m.activity not in rules:
            raise MappingError(
                f"{_where(path, 'milestones')}: activity {m.activity!r} is not in 'activities'"
            )

    created = doc.get("created") or {}
    created_status = created.get("status", "new")
    if created_status not in STATUSES:
        raise MappingError(f"{_where(path, 'created.status')}: {created_status!r} not a status")

    assignment = doc.get("assignment") or {}
    group = (
        _value_spec(assignment["group"], path, "assignment.group")
        if "group" in assignment
        else None
    )
    on_change = bool(assignment.get("on_group_change", False))
    if (on_change or any(r.assign for r in rules.values())) and group is None:
        raise MappingError(f"{_where(path, 'assignment.group')} is needed to emit assigned events")

    fields: dict[str, ValueSpec] = {}
    for name, raw in (doc.get("fields") or {}).items():
        if name not in ATTRIBUTE_FIELDS:
            raise MappingError(f"{_where(path, 'fields')}: {name!r} not one of {ATTRIBUTE_FIELDS}")
        fields[name] = _value_spec(raw, path, f"fields.{name}", TICKETS.field(name).enum)
    if "channel" not in fields:
        raise MappingError(f"{_where(path, 'fields.channel')} is required (created events need it)")

    inp = doc.get("input") or {}
    return TicketMapping(
        source=source,
        path=path,
        description=str(doc.get("description", "")),
        ticket_id=_value_spec(doc["ticket_id"], path, "ticket_id"),
        timestamp_column=milestones[0].column if milestones else str(occurred["column"]),
        timestamp_format=str(occurred["format"]),
        timezone=occurred.get("timezone"),
        activity_columns=() if milestones else tuple(str(c) for c in columns),
        activity_separator=str(activity.get("separator", "-")),
        activities=rules,
        created_status=created_status,
        group=group,
        assign_on_group_change=on_change,
        fields=fields,
        event_id_prefix=str(doc.get("event_id_prefix", source)),
        delimiter=str(inp.get("delimiter", ",")),
        encoding=str(inp.get("encoding", "utf-8-sig")),
        milestones=milestones,
    )


def _milestones(doc: dict[str, Any], path: Path) -> tuple[Milestone, ...]:
    """``milestones: [{occurred_at: <column>, activity: <activity>}, …]`` (a wide export)."""
    raw = doc.get("milestones")
    if raw is None:
        return ()
    if not isinstance(raw, list) or not raw:
        raise MappingError(f"{_where(path, 'milestones')} must be a non-empty list")
    out = []
    for i, item in enumerate(raw):
        if not isinstance(item, dict) or set(item) != {"occurred_at", "activity"}:
            raise MappingError(
                f"{_where(path, f'milestones[{i}]')} needs exactly occurred_at and activity"
            )
        out.append(Milestone(column=str(item["occurred_at"]), activity=str(item["activity"])))
    if len({m.column for m in out}) != len(out):
        raise MappingError(f"{_where(path, 'milestones')}: a column is listed twice")
    return tuple(out)
