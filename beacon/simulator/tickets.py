"""The helpdesk: email, web-form and chat tickets and their audited status history —
assignment (and reassignment), agent replies, pending/on-hold waits, customer replies and
chasers, solves (true or merely claimed), reopens, system closes, ratings and merges."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from .catalog import FRONT_QUEUES
from .clock import DAY, HOUR, MINUTE
from .model import Contact, Issue, Ticket
from .population import Agent, Customers, unknown_email

if TYPE_CHECKING:
    from .engine import Simulation

#: chance that a ticket of a channel carries the customer id (logged-in forms and chats)
CUSTOMER_ID_RATE = {"web": 0.85, "chat": 0.7, "email": 0.2}
#: median hours to the first agent reply (working time is added on top)
FIRST_REPLY_HOURS = {"email": 3.0, "web": 2.5}


class Helpdesk:
    def __init__(self, sim: Simulation) -> None:
        self.sim = sim

    # -- events ---------------------------------------------------------------------------
    def _event(self, ticket: Ticket, ts: int, event_type: str, **fields: Any) -> str:
        sim = self.sim
        event_id = f"TE{sim.next_id('ticket_event'):09d}"
        record = {
            "event_id": event_id,
            "ticket_id": ticket.ticket_id,
            "event_type": event_type,
            "occurred_at": ts,
            "contact_reason": ticket.reason,
            "priority": ticket.priority,
            "emitted_at": ts + sim.rng.randint(0, 5),
        }
        record.update(fields)
        sim.landing.emit("tickets", record)
        return event_id

    def _identity(self, ticket: Ticket) -> dict[str, Any]:
        return {"customer_id": ticket.customer_id, "requester_email": ticket.email}

    def _identifiable(self, ticket: Ticket) -> bool:
        crm_email = self.sim.customers.email[ticket.issue.customer]
        return ticket.customer_id is not None or ticket.email == crm_email

    def _agent_delay(self, ticket: Ticket, ts: int, median_hours: float | None = None) -> int:
        sim = self.sim
        if ticket.channel == "chat":
            return ts + sim.rng.randint(15, 75)
        hours = (
            median_hours if median_hours is not None else FIRST_REPLY_HOURS[ticket.channel] * 0.6
        )
        return sim.work_time(ts + int(sim.lognormal(hours * HOUR, 1.0)))

    def _customer_delay(self, ticket: Ticket, ts: int) -> int:
        sim = self.sim
        if ticket.channel == "chat":
            return ts + sim.rng.randint(20, 120)
        return ts + int(sim.lognormal(4 * HOUR, 1.0)) + 60

    # -- the customer writes ----------------------------------------------------------------
    def customer_writes(self, issue: Issue, channel: str, ts: int) -> None:
        ticket = issue.ticket
        if (
            ticket is not None
            and ticket.channel == channel
            and channel in ("email", "web")
            and ticket.status == "solved"
        ):
            self.reopen(ticket, ts)
        else:
            self.create(issue, channel, ts)

    def create(
        self, issue: Issue, channel: str, ts: int, duplicate_of: Ticket | None = None
    ) -> None:
        sim = self.sim
        rng, cfg = sim.rng, sim.cfg
        c = issue.customer
        crm_email = sim.customers.email[c]
        if rng.random() < CUSTOMER_ID_RATE[channel]:
            customer_id: str | None = Customers.customer_id(c)
            email = crm_email
        else:
            customer_id = None
            email = unknown_email(rng) if rng.random() < cfg.unknown_email_rate else crm_email
        segment = int(sim.customers.segment[c])
        u = rng.random()
        if segment == 2 or issue.reason.name == "complaint":
            priority = "urgent" if u < 0.1 else ("high" if u < 0.5 else "normal")
        else:
            priority = "low" if u < 0.2 else ("high" if u < 0.25 else "normal")
        ticket_id = f"T{sim.next_id('ticket'):08d}"
        ticket = Ticket(
            ticket_id, issue, channel, ts, customer_id, email, priority, sim.wrap_up(issue)
        )
        self._event(ticket, ts, "created", channel=channel, status="new", **self._identity(ticket))
        contact = Contact(f"ticket:{ticket_id}", channel, self._identifiable(ticket), ts, ticket_id)
        ticket.contacts.append(contact)
        sim.contact_started(issue, contact, reasoned=True)
        if duplicate_of is not None:
            ticket.merged_into = duplicate_of
            duplicate_of.duplicates.append(ticket)
            sim.at(sim.work_time(ts + int(sim.lognormal(HOUR, 0.8))), self._merge, ticket)
            return
        issue.ticket = ticket
        n = 0
        if channel == "chat":
            n = rng.randint(1, 3)
        else:
            while n < 3 and rng.random() < 0.25 + 0.3 * issue.difficulty:
                n += 1
        ticket.exchanges_left = n
        if channel == "chat" and rng.random() < cfg.missed_chat_rate:
            sim.at(
                ts + rng.randint(2 * MINUTE, 10 * MINUTE),
                self._missed_chat,
                (ticket, ticket.version),
            )
            return
        if channel == "chat":
            when = ts + rng.randint(10, 90)
        else:
            when = sim.work_time(ts + int(sim.lognormal(20 * MINUTE, 0.8)))
        sim.at(when, self._assign, (ticket, ticket.version))

    def reopen(self, ticket: Ticket, ts: int) -> None:
        """A customer reply to a solved ticket: status back to open, a new contact."""
        sim = self.sim
        issue = ticket.issue
        self._event(
            ticket,
            ts,
            "commented",
            author_role="customer",
            is_public=True,
            **self._identity(ticket),
        )
        event_id = self._event(
            ticket, ts, "status_changed", status="open", **self._identity(ticket)
        )
        contact = Contact(
            f"reopen:{event_id}", ticket.channel, self._identifiable(ticket), ts, ticket.ticket_id
        )
        contact.queue = ticket.group
        ticket.contacts.append(contact)
        issue.reopens += 1
        sim.contact_started(issue, contact, reasoned=True)
        ticket.status = "open"
        ticket.version += 1
        ticket.attempts = 0
        ticket.exchanges_left = 1 if sim.rng.random() < 0.3 else 0
        sim.at(self._agent_delay(ticket, ts), self._agent_reply, (ticket, ticket.version))

    # -- the helpdesk works -----------------------------------------------------------------
    def _assign(self, arg: tuple[Ticket, int]) -> None:
        ticket, version = arg
        if ticket.version != version:
            return
        sim = self.sim
        rng, cfg = sim.rng, sim.cfg
        issue = ticket.issue
        first = ticket.assignments == 0
        group = issue.reason.queue
        if first and rng.random() < cfg.ticket_misassign_rate:
            group = rng.choice([q for q in FRONT_QUEUES if q != group])
            ticket.misassigned = True
        agent = sim.agents.pick(rng, group, sim.calendar.local(sim.now)[0])
        if not first:
            issue.handoffs += 1
            ticket.contacts[-1].handoffs += 1
        ticket.assignments += 1
        ticket.group = group
        ticket.assignee = agent
        self._event(ticket, sim.now, "assigned", group=group, agent_id=agent.agent_id)
        if ticket.status == "new":
            ticket.status = "open"
            self._event(ticket, sim.now, "status_changed", status="open", agent_id=agent.agent_id)
        for contact in ticket.contacts:
            if contact.ended_at is None and contact.agent_id is None:
                contact.agent_id = agent.agent_id
                contact.queue = contact.queue or group
        hours = FIRST_REPLY_HOURS.get(ticket.channel) if first else 1.0
        reply_at = self._agent_delay(ticket, sim.now, hours)
        sim.at(reply_at, self._agent_reply, (ticket, ticket.version))
        if (
            first
            and ticket.channel != "chat"
            and reply_at - ticket.created_at > 20 * HOUR
            and rng.random() < cfg.chase_rate
        ):
            lo = max(sim.now, ticket.created_at + 8 * HOUR)
            if lo < reply_at - MINUTE:
                sim.at(rng.randint(lo, reply_at - MINUTE), self._chase, ticket)

    def _agent_reply(self, arg: tuple[Ticket, int]) -> None:
        ticket, version = arg
        if ticket.version != version:
            return
        sim = self.sim
        rng = sim.rng
        issue = ticket.issue
        agent = ticket.assignee
        assert agent is not None
        now = sim.now
        for contact in ticket.contacts:
            if contact.ended_at is None and contact.agent_id is None:
                contact.agent_id = agent.agent_id
        if ticket.misassigned:  # wrong group: an internal note and a hand-off
            ticket.misassigned = False
            self._event(
                ticket,
                now,
                "commented",
                author_role="agent",
                is_public=False,
                agent_id=agent.agent_id,
            )
            self._assign((ticket, ticket.version))
            return
        ticket.attempts += 1
        if ticket.exchanges_left > 0:  # the agent needs more from the customer
            ticket.exchanges_left -= 1
            self._event(
                ticket,
                now,
                "commented",
                author_role="agent",
                is_public=True,
                agent_id=agent.agent_id,
            )
            status = "open" if ticket.channel == "chat" else "pending"
            if ticket.status != status:
                ticket.status = status
                self._event(ticket, now, "status_changed", status=status, agent_id=agent.agent_id)
            sim.at(
                self._customer_delay(ticket, now), self._customer_reply, (ticket, ticket.version)
            )
            return
        bonus = 0.05 * (ticket.attempts - 1)
        truly = rng.random() < sim.resolution_chance(agent, issue, ticket.channel, bonus)
        self._event(
            ticket, now, "commented", author_role="agent", is_public=True, agent_id=agent.agent_id
        )
        if truly or sim.claims_resolved(agent) or ticket.attempts >= 4 or ticket.channel == "chat":
            self._event(ticket, now, "status_changed", status="solved", agent_id=agent.agent_id)
            self._solved(ticket, now, truly)
        elif rng.random() < 0.5:  # waiting for a third party, then back to it
            ticket.status = "on_hold"
            self._event(ticket, now, "status_changed", status="on_hold", agent_id=agent.agent_id)
            when = sim.work_time(now + int(sim.lognormal(DAY, 0.5)))
            sim.at(when, self._agent_reply, (ticket, ticket.version))
        else:  # asks the customer again
            ticket.status = "pending"
            self._event(ticket, now, "status_changed", status="pending", agent_id=agent.agent_id)
            sim.at(
                self._customer_delay(ticket, now), self._customer_reply, (ticket, ticket.version)
            )

    def _customer_reply(self, arg: tuple[Ticket, int]) -> None:
        ticket, version = arg
        if ticket.version != version:
            return
        sim = self.sim
        now = sim.now
        self._event(
            ticket,
            now,
            "commented",
            author_role="customer",
            is_public=True,
            **self._identity(ticket),
        )
        if ticket.status != "open":
            ticket.status = "open"
            self._event(ticket, now, "status_changed", status="open", **self._identity(ticket))
        sim.at(self._agent_delay(ticket, now), self._agent_reply, (ticket, ticket.version))

    def _solved(self, ticket: Ticket, ts: int, truly: bool) -> None:
        sim = self.sim
        rng, cfg = sim.rng, sim.cfg
        ticket.status = "solved"
        ticket.version += 1
        for contact in ticket.contacts:
            if contact.ended_at is None:
                contact.ended_at = ts
                contact.outcome = "solved"
                contact.reported_resolved = True
        close_at = ts + int(cfg.ticket_close_days * DAY) + rng.randint(0, 6 * HOUR)
        sim.at(close_at, self._close, (ticket, ticket.version))
        if rng.random() < cfg.satisfaction_rate:
            sim.at(ts + rng.randint(HOUR, 2 * DAY), self._rate, (ticket, truly))
        if truly:
            sim.resolve(ticket.issue, ticket.contacts[-1], ts)
        else:
            sim.failed(ticket.issue, ts, retry=False, ticket=ticket)

    def solved_by_phone(self, ticket: Ticket, ts: int, agent_id: str | None) -> None:
        """A phone agent solved the issue the customer was chasing: the ticket follows."""
        ticket.version += 1
        self._event(ticket, ts, "status_changed", status="solved", agent_id=agent_id)
        ticket.status = "solved"
        for contact in ticket.contacts:
            if contact.ended_at is None:
                contact.ended_at = ts
                contact.outcome = "solved"
                contact.reported_resolved = True
        close_at = ts + int(self.sim.cfg.ticket_close_days * DAY)
        self.sim.at(close_at, self._close, (ticket, ticket.version))

    def _missed_chat(self, arg: tuple[Ticket, int]) -> None:
        ticket, version = arg
        if ticket.version != version:
            return
        sim = self.sim
        now = sim.now
        self._event(ticket, now, "status_changed", status="solved")
        ticket.status = "solved"
        ticket.version += 1
        contact = ticket.contacts[-1]
        contact.ended_at = now
        contact.outcome = "missed_chat"
        contact.reported_resolved = True  # the helpdesk marks the missed chat solved
        sim.at(now + int(sim.cfg.ticket_close_days * DAY), self._close, (ticket, ticket.version))
        sim.failed(ticket.issue, now, retry=True, ticket=ticket)

    def _close(self, arg: tuple[Ticket, int]) -> None:
        ticket, version = arg
        if ticket.version != version or ticket.status != "solved":
            return
        ticket.status = "closed"
        self._event(ticket, self.sim.now, "status_changed", status="closed")

    def _rate(self, arg: tuple[Ticket, bool]) -> None:
        ticket, truly = arg
        u = self.sim.rng.random()
        rating = "good" if (u < 0.85 if truly else u < 0.3) else "bad"
        self._event(
            ticket, self.sim.now, "satisfaction_rated", rating=rating, **self._identity(ticket)
        )

    # -- chasers and duplicates -------------------------------------------------------------
    def _chase(self, ticket: Ticket) -> None:
        """The customer chases a ticket still waiting on the agent side."""
        sim = self.sim
        issue = ticket.issue
        if issue.done or issue.ticket is not ticket or not ticket.waiting_on_agent:
            return
        u = sim.rng.random()
        if issue.anchor is not None and sim.now >= issue.anchor + sim.window - 3 * HOUR:
            u = 1.0  # past the repeat window a chaser is a comment (it stays in this issue)
        if u < 0.25 and sim.calendar.is_open(sim.now):
            sim.telephony.inbound(issue, sim.now, ticket)  # a contact, referring to the ticket
        elif u < 0.35 and ticket.channel == "email":
            self.create(issue, "email", sim.now, duplicate_of=ticket)  # a contact, merged later
        else:
            self._event(
                ticket,
                sim.now,
                "commented",
                author_role="customer",
                is_public=True,
                **self._identity(ticket),
            )

    def _merge(self, duplicate: Ticket, ts: int | None = None) -> None:
        sim = self.sim
        original = duplicate.merged_into
        if original is None or duplicate.status == "closed":
            return
        ts = sim.now if ts is None else ts
        agent: Agent | None = original.assignee
        agent_id = agent.agent_id if agent is not None else None
        self._event(
            duplicate, ts, "merged", merged_into_ticket_id=original.ticket_id, agent_id=agent_id
        )
        self._event(duplicate, ts, "status_changed", status="closed", agent_id=agent_id)
        duplicate.status = "closed"
        for contact in duplicate.contacts:
            contact.ended_at = ts
            contact.outcome = "merged"
            contact.reported_resolved = True  # the feed shows the duplicate closed
            if contact.agent_id is None:
                contact.agent_id = agent_id
            contact.queue = contact.queue or original.group
        if duplicate in original.duplicates:
            original.duplicates.remove(duplicate)

    def merge_duplicates(self, ticket: Ticket, ts: int) -> None:
        """Solving the issue merges the duplicates still waiting."""
        for duplicate in list(ticket.duplicates):
            self._merge(duplicate, ts)
