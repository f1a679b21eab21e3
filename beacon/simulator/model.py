"""The simulation's state objects: an issue (the customer's problem), its contacts (the
moments of truth) and the helpdesk tickets it opens."""

from __future__ import annotations

from typing import Any

from .catalog import Reason
from .population import Agent


class Contact:
    """One customer contact as ground truth (a row of ``truth/contacts.parquet``)."""

    __slots__ = (
        "contact_id",
        "channel",
        "identifiable",
        "seq",
        "started_at",
        "ended_at",
        "agent_id",
        "queue",
        "resolved",
        "reported_resolved",
        "ticket_id",
        "outcome",
        "handoffs",
    )

    def __init__(
        self,
        contact_id: str,
        channel: str,
        identifiable: bool,
        started_at: int,
        ticket_id: str | None = None,
    ) -> None:
        self.contact_id = contact_id
        self.channel = channel
        self.identifiable = identifiable
        self.seq = 0
        self.started_at = started_at
        self.ended_at: int | None = None
        self.agent_id: str | None = None
        self.queue: str | None = None
        self.resolved = False
        #: what the feeds say (call handled and claimed resolved; ticket episode solved),
        #: whatever really happened: the "resolved" that metrics.md can observe
        self.reported_resolved = False
        self.ticket_id = ticket_id
        self.outcome = "open"
        #: hand-offs during this contact: call transfers; for a ticket contact, group
        #: changes after the first assignment while it was the ticket's latest contact
        self.handoffs = 0


class Ticket:
    """A helpdesk ticket as the simulation tracks it."""

    __slots__ = (
        "ticket_id",
        "issue",
        "channel",
        "status",
        "group",
        "assignee",
        "created_at",
        "customer_id",
        "email",
        "priority",
        "version",
        "misassigned",
        "assignments",
        "exchanges_left",
        "attempts",
        "contacts",
        "duplicates",
        "merged_into",
        "reason",
    )

    def __init__(
        self,
        ticket_id: str,
        issue: Issue,
        channel: str,
        created_at: int,
        customer_id: str | None,
        email: str | None,
        priority: str,
        reason: str,
    ) -> None:
        self.ticket_id = ticket_id
        self.issue = issue
        self.channel = channel
        self.status = "new"
        self.group: str | None = None
        self.assignee: Agent | None = None
        self.created_at = created_at
        self.customer_id = customer_id
        self.email = email
        self.priority = priority
        #: bumped whenever scheduled steps become stale
        self.version = 0
        self.misassigned = False
        self.assignments = 0
        self.exchanges_left = 0
        self.attempts = 0
        #: this ticket's contacts (creation, reopens)
        self.contacts: list[Contact] = []
        #: duplicate tickets waiting to be merged into this one
        self.duplicates: list[Ticket] = []
        self.merged_into: Ticket | None = None
        #: the contact_reason the helpdesk holds (the true reason unless miscoded)
        self.reason = reason

    @property
    def waiting_on_agent(self) -> bool:
        return self.status in ("new", "open")


class Issue:
    """The customer's problem, from its first contact until it is solved or given up."""

    __slots__ = (
        "no",
        "issue_id",
        "customer",
        "reason",
        "reason_no",
        "difficulty",
        "first_channel",
        "contacts",
        "failures",
        "resolved_at",
        "gave_up",
        "handoffs",
        "reopens",
        "ticket",
        "anchor",
        "last_channel",
        "done",
    )

    def __init__(
        self,
        no: int,
        customer: int,
        reason: Reason,
        reason_no: int,
        difficulty: float,
        channel: str,
    ) -> None:
        self.no = no
        self.issue_id = f"I{no:08d}"
        self.customer = customer
        self.reason = reason
        self.reason_no = reason_no
        self.difficulty = difficulty
        self.first_channel = channel
        self.contacts: list[Contact] = []
        self.failures = 0
        self.resolved_at: int | None = None
        self.gave_up = False
        self.handoffs = 0
        self.reopens = 0
        self.ticket: Ticket | None = None
        #: start of the last identifiable contact that carries a reason: the next contact
        #: must come within the repeat window of it (or refer to the issue's ticket)
        self.anchor: int | None = None
        self.last_channel = channel
        self.done = False

    def add(self, contact: Contact) -> None:
        contact.seq = len(self.contacts) + 1
        self.contacts.append(contact)
        self.last_channel = contact.channel

    @property
    def last_activity(self) -> int:
        last = 0
        for c in self.contacts:
            last = max(last, c.started_at, c.ended_at or 0)
        return max(last, self.resolved_at or 0)

    def truth_row(self, customer_id: str) -> dict[str, Any]:
        first = self.contacts[0]
        resolved = self.resolved_at is not None
        return {
            "issue_id": self.issue_id,
            "customer_id": customer_id,
            "contact_reason": self.reason.name,
            "first_contact_at": first.started_at,
            "last_contact_at": self.contacts[-1].started_at,
            "n_contacts": len(self.contacts),
            "is_resolved": resolved,
            "resolved_at": self.resolved_at,
            "resolved_first_contact": resolved and len(self.contacts) == 1,
            "handoffs": self.handoffs,
            "gave_up": self.gave_up,
            "reopens": self.reopens,
            "first_channel": self.first_channel,
            "channels": len({c.channel for c in self.contacts}),
            "difficulty": round(self.difficulty, 4),
        }

    def contact_rows(self, customer_id: str) -> list[dict[str, Any]]:
        return [
            {
                "contact_id": c.contact_id,
                "channel": c.channel,
                "customer_id": customer_id,
                "is_identifiable": c.identifiable,
                "issue_id": self.issue_id,
                "contact_seq": c.seq,
                "started_at": c.started_at,
                "ended_at": c.ended_at,
                "agent_id": c.agent_id,
                "queue": c.queue,
                "contact_reason": self.reason.name,
                "resolved_issue": c.resolved,
                "reported_resolved": c.reported_resolved,
                "ticket_id": c.ticket_id,
                "outcome": c.outcome,
                "handoffs": c.handoffs,
            }
            for c in self.contacts
        ]
