"""Zendesk ticket audits → ``tickets``.

Input: the Ticket Audits API's responses (``{"audits": [...]}``, one ticket's or the
account-wide list), a JSON array of audits, or JSON Lines with one audit per line. An
audit is one update of a ticket (``id``, ``ticket_id``, ``created_at``, ``author_id``,
``via.channel``) with its ``events``; the events used are:

- Create status → ``created`` (channel from the audit's ``via.channel``); Create
  requester_id / priority → carried as ``customer_id`` / ``priority`` on the ticket's
  records.
- Create / Change of group_id and assignee_id → one ``assigned`` per audit with the
  group and assignee after the audit (an assignee change alone keeps the group: no
  hand-off). Reported as ``assignment_without_group`` while the ticket has no group.
- Change status → ``status_changed`` (hold → on_hold).
- Comment → ``commented``: customer when the author is the requester, system for
  author -1, agent otherwise; ``is_public`` from ``public``.
- SatisfactionRating with score good / bad → ``satisfaction_rated``.

Other events (notifications, tags, custom fields, …) and
Change events of other fields are reported with a reason; ``priority`` changes update the
priority carried on the ticket's later records.

``event_id`` is ``zendesk:<audit id, 20 digits>:<nnn>`` (nnn: order within the audit), so
ids sort in history order, and the same audit always gives the same ids.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from ingest.adapters.result import AdaptResult, output_path, write_records
from ingest.adapters.vendor_json import dig, iso_utc, read_json_objects
from ingest.contracts import TICKETS

SOURCE = "zendesk"
STATUSES = {
    "new": "new",
    "open": "open",
    "pending": "pending",
    "hold": "on_hold",
    "solved": "solved",
    "closed": "closed",
}
PRIORITIES = {"low": "low", "normal": "normal", "high": "high", "urgent": "urgent"}
CHANNELS = {
    "email": "email",
    "web": "web",
    "web_form": "web",
    "web_widget": "web",
    "help_center": "web",
    "mobile": "web",
    "mobile_sdk": "web",
    "api": "other",
    "chat": "chat",
    "native_messaging": "chat",
    "messaging": "chat",
    "voice": "phone",
    "phone": "phone",
    "sms": "phone",
    "twitter": "social",
    "facebook": "social",
    "instagram_dm": "social",
    "whatsapp": "social",
}


def _id(value: Any) -> str | None:
    return None if value is None or value == "" else str(value)


def _audit_order(audit: dict) -> tuple[str, int]:
    return (iso_utc(audit.get("created_at")) or "", int(audit.get("id") or 0))


def adapt_zendesk_audits(
    input_path: Path | str,
    landing_dir: Path | str,
    fmt: str = "jsonl",
    name: str | None = None,
) -> AdaptResult:
    """Convert a file of Zendesk ticket audits into a ``tickets`` batch.

    Source records are the audits' events (plus one per audit without usable identity);
    every event is mapped or counted under its reason in ``result.skipped``.
    """
    input_path = Path(input_path)
    result = AdaptResult(source=SOURCE, feed="tickets", input_path=input_path)
    audits: list[dict] = []
    for audit in read_json_objects(input_path, envelope=("audits", "ticket_audits")):
        if not isinstance(audit, dict):
            result.source_records += 1
            result.skipped["not_an_object"] += 1
            continue
        events = audit.get("events") if isinstance(audit.get("events"), list) else []
        if audit.get("ticket_id") is None or audit.get("id") is None:
            result.source_records += max(1, len(events))
            result.skipped["audit_missing:id/ticket_id"] += max(1, len(events))
        elif not iso_utc(audit.get("created_at")):
            result.source_records += max(1, len(events))
            result.skipped["audit_bad_timestamp:created_at"] += max(1, len(events))
        else:
            audits.append(audit)

    records: list[dict[str, Any]] = []
    state: dict[str, dict[str, Any]] = {}  # per ticket: group, assignee, requester, priority …
    for audit in sorted(audits, key=lambda a: (str(a["ticket_id"]), *_audit_order(a))):
        ticket_id = str(audit["ticket_id"])
        ticket = state.setdefault(ticket_id, {})
        at = iso_utc(audit["created_at"])
        author = _id(audit.get("author_id"))
        channel = CHANNELS.get(str(dig(audit, "via", "channel") or ""), "other")
        out: list[dict[str, Any]] = []
        events = audit.get("events") or []
        if not events:
            result.source_records += 1
            result.skipped["audit_without_events"] += 1

        creates = {
            e.get("field_name"): e.get("value")
            for e in events
            if isinstance(e, dict) and e.get("type") == "Create"
        }
        if creates:
            ticket["requester"] = _id(creates.get("requester_id")) or ticket.get("requester")
            ticket["priority"] = PRIORITIES.get(
                str(creates.get("priority")), ticket.get("priority")
            )
        assignment_events, assignment_at = 0, None
        for event in events:
            result.source_records += 1
            if not isinstance(event, dict):
                result.skipped["event_not_an_object"] += 1
                continue
            kind, field, value = event.get("type"), event.get("field_name"), event.get("value")
            record: dict[str, Any] | None = None
            reason = f"not_in_contract:{kind}:{field}" if field else f"not_in_contract:{kind}"
            if kind in ("Create", "Change") and field == "status":
                status = STATUSES.get(str(value))
                reason = f"unknown_status:{value}"
                if status is not None:
                    event_type = "created" if kind == "Create" else "status_changed"
                    record = {"event_type": event_type, "status": status}
                    if kind == "Create":
                        record["channel"] = channel
            elif kind == "Create" and field in ("requester_id", "priority"):
                reason = f"attribute_only:{field}"  # carried as customer_id / priority
            elif kind in ("Create", "Change") and field in ("group_id", "assignee_id"):
                # one assigned event per audit, whatever mix of group / assignee changed
                ticket["group" if field == "group_id" else "assignee"] = _id(value)
                assignment_events += 1
                if assignment_at is None:
                    assignment_at = len(out)
                continue
            elif kind == "Change" and field == "priority":
                ticket["priority"] = PRIORITIES.get(str(value))
                reason = "attribute_only:priority"
            elif kind == "Comment":
                commenter = _id(event.get("author_id")) or author
                if commenter == "-1":
                    role = "system"
                elif commenter is not None and commenter == ticket.get("requester"):
                    role = "customer"
                else:
                    role = "agent"
                record = {
                    "event_type": "commented",
                    "author_role": role,
                    "is_public": bool(event.get("public", True)),
                    "agent_id": commenter if role == "agent" else None,
                }
            elif kind == "SatisfactionRating":
                score = str(event.get("score"))
                reason = f"satisfaction_not_rated:{score}"  # offered / unoffered
                if score in ("good", "bad"):
                    record = {"event_type": "satisfaction_rated", "rating": score}
            if record is None:
                result.skipped[reason] += 1
            else:
                result.records_mapped += 1
                out.append(record)
        if assignment_events and ticket.get("group") is not None:
            assigned = {"event_type": "assigned", "group": ticket["group"]}
            assigned["agent_id"] = ticket.get("assignee")
            out.insert(assignment_at or 0, assigned)
            result.records_mapped += assignment_events
        elif assignment_events:
            result.skipped["assignment_without_group"] += assignment_events
        # created first within the audit, whatever order Zendesk listed the events in
        out.sort(key=lambda r: r["event_type"] != "created")
        for seq, record in enumerate(out, start=1):
            record.update(
                event_id=f"zendesk:{str(audit['id']).zfill(20)}:{seq:03d}",
                ticket_id=ticket_id,
                occurred_at=at,
                customer_id=ticket.get("requester"),
                priority=ticket.get("priority"),
            )
            result.written[record["event_type"]] += 1
            records.append(record)

    target = output_path(Path(landing_dir), "tickets", SOURCE, input_path, fmt)
    if name:
        target = target.with_name(f"{name}.{fmt}")
    result.unchanged = not write_records(records, target, fmt, TICKETS.names)
    result.output_path = target
    result.check()
    return result
