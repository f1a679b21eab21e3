"""Amazon Connect contact trace records (CTRs) → ``calls`` (one record per leg).

A CTR describes one contact. A transfer ends the contact and starts a new one whose
``PreviousContactId`` points back and whose ``InitialContactId`` names the first contact
of the chain; a queued callback is a new contact with ``InitiationMethod`` CALLBACK. So:

- ``leg_id`` = ``ContactId``; ``call_id`` = ``InitialContactId`` (the contact's own id for
  the first leg); ``leg_seq`` = position in the chain (following ``PreviousContactId``;
  legs whose predecessor is not in the batch follow in ``InitiationTimestamp`` order).
- ``direction``: INBOUND → inbound; CALLBACK → callback; OUTBOUND / EXTERNAL_OUTBOUND →
  outbound; TRANSFER / QUEUE_TRANSFER → the direction of the call's first leg; API →
  outbound for VOICE.
- ``disposition``: transferred when the contact has a successor (``NextContactId``, a
  later leg pointing at it, or ``TransferCompletedTimestamp``); else failed when
  ``DisconnectReason`` is TELECOM_PROBLEM, or for a CALLBACK leg whose agent was connected
  but never interacted (the customer did not pick up); else handled when an agent
  connected; else abandoned.
- Queued callbacks: the unanswered INBOUND contact in which the customer asked for a
  callback is not a leg of its own (it is reported as ``merged_into_callback_leg``); the
  CALLBACK contact that follows it is the call's leg, arriving when the customer called.

Contacts that are not voice legs of a customer call (CHAT, TASK, EMAIL channels;
MONITOR, DISCONNECT and other initiation methods) are reported, not mapped. See
``docs/adapters.md`` for the full field table and the limitations.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from ingest.adapters.result import AdaptResult, output_path, write_records
from ingest.adapters.vendor_json import dig, iso_utc, read_json_objects
from ingest.contracts import CALLS

SOURCE = "amazon_connect"
_DIRECTIONS = {
    "INBOUND": "inbound",
    "CALLBACK": "callback",
    "OUTBOUND": "outbound",
    "EXTERNAL_OUTBOUND": "outbound",
    "API": "outbound",
}
_TRANSFERS = {"TRANSFER", "QUEUE_TRANSFER"}


@dataclass(frozen=True)
class ConnectOptions:
    """Where the contact attributes (set in contact flows) carry Beacon's optional fields."""

    reason_attribute: str = "contact_reason"
    customer_attribute: str = "customer_id"
    ticket_attribute: str = "ticket_id"
    resolution_attribute: str = "agent_resolution"
    #: queue name for legs that never reached a queue (IVR / flow hang-ups)
    no_queue: str = "ivr"


def _seconds(value: Any) -> float | None:
    if value is None or value == "":
        return None
    try:
        number = float(value)
    except (TypeError, ValueError):
        return None
    return number if number >= 0 else None


def _agent_id(ctr: dict) -> str | None:
    agent = ctr.get("Agent")
    if not isinstance(agent, dict):
        return None
    if agent.get("Username"):
        return str(agent["Username"])
    arn = agent.get("ARN") or agent.get("Id")
    return str(arn).rsplit("/", 1)[-1] if arn else None


def _chain_order(legs: list[dict]) -> list[dict]:
    """Legs of one call in chain order: follow PreviousContactId from the first leg."""
    by_id = {leg["ContactId"]: leg for leg in legs}
    successors: dict[str, list[dict]] = defaultdict(list)
    roots = []
    for leg in legs:
        previous = leg.get("PreviousContactId")
        if previous and previous in by_id and previous != leg["ContactId"]:
            successors[previous].append(leg)
        else:
            roots.append(leg)

    def when(leg: dict) -> tuple[str, str]:
        return (iso_utc(leg.get("InitiationTimestamp")) or "", leg["ContactId"])

    ordered: list[dict] = []
    seen: set[str] = set()
    for root in sorted(roots, key=when):
        stack = [root]
        while stack:
            leg = stack.pop(0)
            if leg["ContactId"] in seen:
                continue
            seen.add(leg["ContactId"])
            ordered.append(leg)
            stack = sorted(successors[leg["ContactId"]], key=when) + stack
    ordered += sorted((leg for leg in legs if leg["ContactId"] not in seen), key=when)
    return ordered


def adapt_connect_ctrs(
    input_path: Path | str,
    landing_dir: Path | str,
    fmt: str = "jsonl",
    name: str | None = None,
    options: ConnectOptions | None = None,
) -> AdaptResult:
    """Convert a file of CTRs into a ``calls`` batch under ``<landing>/calls/amazon_connect/``."""
    options = options or ConnectOptions()
    input_path = Path(input_path)
    result = AdaptResult(source=SOURCE, feed="calls", input_path=input_path)
    calls: dict[str, list[dict]] = defaultdict(list)
    for ctr in read_json_objects(input_path, envelope=("ContactTraceRecords", "Records")):
        result.source_records += 1
        if not isinstance(ctr, dict):
            result.skipped["not_an_object"] += 1
        elif not ctr.get("ContactId"):
            result.skipped["missing:ContactId"] += 1
        elif (ctr.get("Channel") or "VOICE") != "VOICE":
            result.skipped[f"not_a_call:channel={ctr.get('Channel')}"] += 1
        elif (method := ctr.get("InitiationMethod")) not in {*_DIRECTIONS, *_TRANSFERS}:
            result.skipped[f"not_a_call:initiation={method}"] += 1
        elif not (
            iso_utc(ctr.get("InitiationTimestamp")) and iso_utc(ctr.get("DisconnectTimestamp"))
        ):
            result.skipped["missing:InitiationTimestamp/DisconnectTimestamp"] += 1
        else:
            calls[str(ctr.get("InitialContactId") or ctr["ContactId"])].append(ctr)

    records: list[dict[str, Any]] = []
    for call_id, legs in sorted(calls.items()):
        ordered = _chain_order(legs)
        successors = {
            leg["ContactId"]: next(
                (x for x in ordered if x.get("PreviousContactId") == leg["ContactId"]), None
            )
            for leg in ordered
        }
        # an unanswered contact that became a queued callback is the callback's request
        requests = {
            leg["ContactId"]: nxt
            for leg in ordered
            if (nxt := successors[leg["ContactId"]]) is not None
            and nxt.get("InitiationMethod") == "CALLBACK"
            and leg.get("InitiationMethod") != "CALLBACK"
            and not dig(leg, "Agent", "ConnectedToAgentTimestamp")
        }
        by_id = {leg["ContactId"]: leg for leg in ordered}
        requested_at = {nxt["ContactId"]: by_id[leg_id] for leg_id, nxt in requests.items()}
        result.skipped["merged_into_callback_leg"] += len(requests)
        ordered = [leg for leg in ordered if leg["ContactId"] not in requests]
        first_direction = _DIRECTIONS.get(ordered[0].get("InitiationMethod"), "inbound")
        for seq, ctr in enumerate(ordered, start=1):
            method = ctr.get("InitiationMethod")
            direction = first_direction if method in _TRANSFERS else _DIRECTIONS[method]
            answered = iso_utc(dig(ctr, "Agent", "ConnectedToAgentTimestamp"))
            successor = successors[ctr["ContactId"]]
            request = requested_at.get(ctr["ContactId"])
            transferred = bool(
                successor or ctr.get("NextContactId") or ctr.get("TransferCompletedTimestamp")
            )
            talk = _seconds(dig(ctr, "Agent", "AgentInteractionDuration"))
            if transferred:
                disposition = "transferred"
            elif ctr.get("DisconnectReason") == "TELECOM_PROBLEM" or (
                method == "CALLBACK" and answered and not talk
            ):
                disposition = "failed"
            elif answered:
                disposition = "handled"
            else:
                disposition = "abandoned"
            if request is not None:
                ctr = {
                    **ctr,
                    "InitiationTimestamp": request.get("InitiationTimestamp"),
                    "CustomerEndpoint": ctr.get("CustomerEndpoint")
                    or request.get("CustomerEndpoint"),
                    "Attributes": {
                        **(request.get("Attributes") or {}),
                        **(ctr.get("Attributes") or {}),
                    },
                }
            attributes = ctr.get("Attributes") if isinstance(ctr.get("Attributes"), dict) else {}
            phone = dig(ctr, "CustomerEndpoint", "Address")
            if dig(ctr, "CustomerEndpoint", "Type") not in (None, "TELEPHONE_NUMBER"):
                phone = None
            resolution = attributes.get(options.resolution_attribute)
            records.append(
                {
                    "leg_id": str(ctr["ContactId"]),
                    "call_id": call_id,
                    "leg_seq": seq,
                    "direction": direction,
                    "customer_id": attributes.get(options.customer_attribute) or None,
                    "phone_number": phone or None,
                    "queue": dig(ctr, "Queue", "Name") or options.no_queue,
                    "agent_id": _agent_id(ctr) if answered else None,
                    "arrived_at": iso_utc(ctr.get("InitiationTimestamp")),
                    "queued_at": iso_utc(dig(ctr, "Queue", "EnqueueTimestamp")),
                    "answered_at": answered,
                    "ended_at": iso_utc(ctr.get("DisconnectTimestamp")),
                    "talk_seconds": talk,
                    "hold_seconds": _seconds(dig(ctr, "Agent", "CustomerHoldDuration")),
                    "acw_seconds": _seconds(dig(ctr, "Agent", "AfterContactWorkDuration")),
                    "disposition": disposition,
                    "transferred_to_queue": (dig(successor, "Queue", "Name") if successor else None)
                    if transferred
                    else None,
                    "contact_reason": attributes.get(options.reason_attribute) or None,
                    "agent_resolution": resolution
                    if resolution in ("resolved", "unresolved", "follow_up")
                    else None,
                    "ticket_id": attributes.get(options.ticket_attribute) or None,
                    "emitted_at": iso_utc(ctr.get("LastUpdateTimestamp")),
                }
            )
            result.written[disposition] += 1
    result.records_mapped = len(records)
    target = output_path(Path(landing_dir), "calls", SOURCE, input_path, fmt)
    if name:
        target = target.with_name(f"{name}.{fmt}")
    result.unchanged = not write_records(records, target, fmt, CALLS.names)
    result.output_path = target
    result.check()
    return result


__all__ = ["ConnectOptions", "adapt_connect_ctrs"]
