"""The three feed contracts (``shared/product/feeds.md``) as data.

This module is the single place in code that knows the contracts: ingest validates against
it, the simulator writes records in its field order, and the raw tables are created from it.
Fields may be added (optional); a listed field is never renamed or dropped.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Literal

FieldType = Literal["string", "int", "number", "timestamp", "bool"]


@dataclass(frozen=True)
class Field:
    name: str
    type: FieldType
    required: bool = False
    enum: tuple[str, ...] | None = None
    min_value: float | None = None
    #: required only when ``required_when`` (field, values) holds, e.g. status on created events
    required_when: tuple[str, tuple[str, ...]] | None = None


@dataclass(frozen=True)
class Contract:
    feed: str
    key: str
    fields: tuple[Field, ...]
    #: the event time that decides the file's day and the partition of raw data
    event_time: str
    extra: dict[str, str] = field(default_factory=dict)

    @property
    def names(self) -> list[str]:
        return [f.name for f in self.fields]

    def field(self, name: str) -> Field:
        for f in self.fields:
            if f.name == name:
                return f
        raise KeyError(f"{self.feed} has no field {name!r}")


CALLS = Contract(
    feed="calls",
    key="leg_id",
    event_time="arrived_at",
    fields=(
        Field("leg_id", "string", required=True),
        Field("call_id", "string", required=True),
        Field("leg_seq", "int", required=True, min_value=1),
        Field("direction", "string", required=True, enum=("inbound", "outbound", "callback")),
        Field("customer_id", "string"),
        Field("phone_number", "string"),
        Field("queue", "string", required=True),
        Field("agent_id", "string"),
        Field("arrived_at", "timestamp", required=True),
        Field("queued_at", "timestamp"),
        Field("answered_at", "timestamp"),
        Field("ended_at", "timestamp", required=True),
        Field("talk_seconds", "number", min_value=0),
        Field("hold_seconds", "number", min_value=0),
        Field("acw_seconds", "number", min_value=0),
        Field(
            "disposition",
            "string",
            required=True,
            enum=("handled", "abandoned", "transferred", "failed"),
        ),
        Field("transferred_to_queue", "string"),
        Field("contact_reason", "string"),
        Field("agent_resolution", "string", enum=("resolved", "unresolved", "follow_up")),
        Field("ticket_id", "string"),
        Field("emitted_at", "timestamp"),
    ),
)

TICKETS = Contract(
    feed="tickets",
    key="event_id",
    event_time="occurred_at",
    fields=(
        Field("event_id", "string", required=True),
        Field("ticket_id", "string", required=True),
        Field(
            "event_type",
            "string",
            required=True,
            enum=(
                "created",
                "status_changed",
                "assigned",
                "commented",
                "satisfaction_rated",
                "merged",
            ),
        ),
        Field("occurred_at", "timestamp", required=True),
        Field(
            "channel",
            "string",
            enum=("email", "chat", "web", "phone", "social", "other"),
            required_when=("event_type", ("created",)),
        ),
        Field("customer_id", "string"),
        Field("requester_email", "string"),
        Field(
            "status",
            "string",
            enum=("new", "open", "pending", "on_hold", "solved", "closed"),
            required_when=("event_type", ("created", "status_changed")),
        ),
        Field("group", "string", required_when=("event_type", ("assigned",))),
        Field("agent_id", "string"),
        Field(
            "author_role",
            "string",
            enum=("customer", "agent", "system"),
            required_when=("event_type", ("commented",)),
        ),
        Field("is_public", "bool", required_when=("event_type", ("commented",))),
        Field("contact_reason", "string"),
        Field("priority", "string", enum=("low", "normal", "high", "urgent")),
        Field(
            "rating",
            "string",
            enum=("good", "bad"),
            required_when=("event_type", ("satisfaction_rated",)),
        ),
        Field("merged_into_ticket_id", "string", required_when=("event_type", ("merged",))),
        Field("emitted_at", "timestamp"),
    ),
)

CRM = Contract(
    feed="crm",
    key="event_id",
    event_time="occurred_at",
    fields=(
        Field("event_id", "string", required=True),
        Field("customer_id", "string", required=True),
        Field(
            "event_type",
            "string",
            required=True,
            enum=(
                "customer_created",
                "customer_updated",
                "subscription_started",
                "subscription_renewed",
                "subscription_cancelled",
                "plan_changed",
                "order_placed",
                "refund_issued",
            ),
        ),
        Field("occurred_at", "timestamp", required=True),
        Field("email", "string"),
        Field("phone_number", "string"),
        Field("segment", "string"),
        Field("needs_category", "string"),
        Field("region", "string"),
        Field("timezone", "string"),
        Field("mrr", "number", min_value=0),
        Field("amount", "number"),
        Field("currency", "string"),
        Field("emitted_at", "timestamp"),
    ),
)

CONTRACTS: dict[str, Contract] = {c.feed: c for c in (CALLS, TICKETS, CRM)}
FEEDS: tuple[str, ...] = tuple(CONTRACTS)


# --- helpers (added for ingest; the definitions above are the contract) -------------------

#: DuckDB column type per contract field type; timestamps are stored as naive UTC
DUCKDB_TYPES: dict[str, str] = {
    "string": "VARCHAR",
    "int": "BIGINT",
    "number": "DOUBLE",
    "timestamp": "TIMESTAMP",
    "bool": "BOOLEAN",
}


def contract_for(feed: str) -> Contract:
    """The contract of ``feed``; a clear error for an unknown feed name."""
    try:
        return CONTRACTS[feed]
    except KeyError:
        raise ValueError(f"unknown feed {feed!r}; expected one of {', '.join(FEEDS)}") from None
