"""Telephony: IVR, routing (with misroutes), queue waits that grow with load, abandonment,
transfers between queues, handling by agents, callbacks and outbound follow-up legs."""

from __future__ import annotations

import math
from typing import TYPE_CHECKING, Any

from .catalog import FRONT_QUEUES, IVR_QUEUE, NEEDS, NEEDS_PATIENCE
from .clock import HOUR
from .model import Contact, Issue, Ticket
from .population import Agent, Customers, unknown_phone

if TYPE_CHECKING:
    from .engine import Simulation

_QUEUE_PRESSURE = {"tech_support": 1.3, "escalations": 1.2, "retention": 0.8}
SHORT_ABANDON_SECONDS = 5


class Telephony:
    def __init__(self, sim: Simulation) -> None:
        self.sim = sim
        cfg = sim.cfg
        self.occupancy = cfg.target_occupancy
        self.wait_scale = cfg.wait_scale_seconds

    # -- queue model ----------------------------------------------------------------------
    def _rho(self, ts: int, queue: str) -> float:
        load = self.sim.calendar.load(ts) * _QUEUE_PRESSURE.get(queue, 1.0)
        return min(0.97, max(0.2, self.occupancy * load**0.2))

    def expected_wait(self, ts: int, queue: str) -> float:
        rho = self._rho(ts, queue)
        return rho * rho * self.wait_scale / (1.0 - rho)

    def _wait(self, ts: int, queue: str) -> int:
        """Seconds in queue: answered at once with chance 1 − ρ² (many servers), else
        exponential with a mean that explodes as ρ → 1 (a queue near saturation at peaks)."""
        rng = self.sim.rng
        rho = self._rho(ts, queue)
        if rng.random() > rho * rho:
            return rng.randint(0, 6)
        return int(rng.expovariate((1.0 - rho) / self.wait_scale)) + 1

    def _patience(self, issue: Issue) -> float:
        rng = self.sim.rng
        cfg = self.sim.cfg
        if rng.random() < cfg.short_abandon_rate:
            return rng.uniform(0.5, SHORT_ABANDON_SECONDS - 0.5)
        needs = NEEDS[self.sim.customers.needs[issue.customer]]
        return cfg.patience_median_seconds * NEEDS_PATIENCE[needs] * math.exp(rng.gauss(0.0, 0.9))

    # -- handling -------------------------------------------------------------------------
    def _handle_times(self, agent: Agent, issue: Issue) -> tuple[int, int, int]:
        sim = self.sim
        rng = sim.rng
        factor = agent.handle_factor(sim.cfg.rush_speedup)
        talk = (
            sim.lognormal(issue.reason.talk_median * (1.1 + 0.3 * issue.difficulty), 0.45) * factor
        )
        hold = 0.0
        if rng.random() < 0.2 + 0.3 * issue.difficulty:
            hold = sim.lognormal(55.0, 0.6) * (1.0 - 0.5 * agent.rush_factor)
        acw = sim.lognormal(45.0, 0.5) * (1.0 - 0.6 * agent.rush_factor)
        return max(15, int(talk)), int(hold), max(3, int(acw))

    def _caller(self, issue: Issue) -> tuple[str | None, str | None, bool]:
        """(customer_id, phone_number, identifiable) of a caller."""
        sim = self.sim
        rng, cfg = sim.rng, sim.cfg
        c = issue.customer
        crm_phone = sim.customers.phone[c]
        u = rng.random()
        if u < cfg.ivr_identification_rate:
            v = rng.random()
            phone = crm_phone if v < 0.85 else (unknown_phone(rng) if v < 0.95 else None)
            return Customers.customer_id(c), phone, True
        if u < cfg.ivr_identification_rate + cfg.unidentified_call_rate:
            phone = unknown_phone(rng) if rng.random() < 0.65 else None
            return None, phone, False
        return None, crm_phone, True

    # -- an inbound (or callback) call ----------------------------------------------------
    def inbound(self, issue: Issue, ts: int, ticket: Ticket | None = None) -> None:
        sim = self.sim
        rng, cfg = sim.rng, sim.cfg
        reason = issue.reason
        weekday = sim.calendar.local(ts)[0]
        customer_id, phone, identifiable = self._caller(issue)
        call_id = f"CL{sim.next_id('call'):08d}"
        ticket_id = ticket.ticket_id if ticket is not None else None
        legs: list[dict[str, Any]] = []
        base = {
            "call_id": call_id,
            "customer_id": customer_id,
            "phone_number": phone,
            "ticket_id": ticket_id,
        }

        def leg(**fields: Any) -> dict[str, Any]:
            record = {**base, **fields}
            record["leg_seq"] = len(legs) + 1
            record["leg_id"] = f"{call_id}-{record['leg_seq']}"
            lag = rng.randint(1, 20)
            record["emitted_at"] = record["ended_at"] + (record.get("acw_seconds") or 0) + lag
            legs.append(record)
            return record

        ivr = rng.randint(15, 75)
        queue = reason.queue
        if rng.random() < cfg.misroute_rate:
            queue = rng.choice([q for q in FRONT_QUEUES if q != reason.queue])
        callback = self.expected_wait(ts + ivr, queue) > 60 and rng.random() < cfg.callback_rate
        direction = "callback" if callback else "inbound"
        contact = Contact(f"call:{call_id}", "phone", identifiable, ts, ticket_id)
        contact.queue = queue
        outcome = "handled"
        resolved = False
        agent_for_follow_up: Agent | None = None
        follow_up = False

        if not callback and rng.random() < cfg.ivr_hangup_rate:
            leg(
                direction=direction,
                queue=IVR_QUEUE,
                arrived_at=ts,
                ended_at=ts + rng.randint(5, ivr),
                disposition="abandoned",
            )
            contact.queue = IVR_QUEUE
            outcome = "ivr_hangup"
        else:
            arrived, queued, current = ts, ts + ivr, queue
            while True:
                wait = self._wait(queued, current)
                if callback and not legs:  # the centre calls back when an agent is free
                    wait = int(wait * 1.5) + rng.randint(30, 300)
                elif (patience := self._patience(issue) * (0.8 if legs else 1.0)) < wait:
                    held = max(1, int(patience))
                    leg(
                        direction=direction,
                        queue=current,
                        arrived_at=arrived,
                        queued_at=queued,
                        ended_at=queued + held,
                        disposition="abandoned",
                    )
                    outcome = "short_abandon" if held < SHORT_ABANDON_SECONDS else "abandoned"
                    break
                answered = queued + wait
                if callback and not legs and rng.random() < 0.08:  # the customer does not pick up
                    leg(
                        direction=direction,
                        queue=current,
                        arrived_at=arrived,
                        queued_at=queued,
                        ended_at=answered + rng.randint(20, 40),
                        disposition="failed",
                    )
                    outcome = "callback_missed"
                    break
                agent = sim.agents.pick(rng, current, weekday)
                if contact.agent_id is None:
                    contact.agent_id = agent.agent_id
                wrap = sim.wrap_up(issue)
                can_transfer = len(legs) < 2
                target = None
                if can_transfer and current != reason.queue and current != "escalations":
                    target = reason.queue  # misrouted: the agent sends the caller on
                elif (
                    can_transfer
                    and current != "escalations"
                    and rng.random() < self._escalation(agent, issue)
                ):
                    target = "escalations"  # beyond this agent's skill
                if target is not None:
                    talk = rng.randint(25, 100)
                    ended = answered + talk
                    leg(
                        direction=direction,
                        queue=current,
                        agent_id=agent.agent_id,
                        arrived_at=arrived,
                        queued_at=queued,
                        answered_at=answered,
                        ended_at=ended,
                        talk_seconds=talk,
                        hold_seconds=0,
                        acw_seconds=rng.randint(5, 25),
                        disposition="transferred",
                        transferred_to_queue=target,
                        contact_reason=wrap,
                    )
                    issue.handoffs += 1
                    contact.handoffs += 1
                    arrived, queued, current = ended, ended, target
                    continue
                talk, hold, acw = self._handle_times(agent, issue)
                if rng.random() < cfg.dropped_call_rate:
                    cut = rng.randint(10, max(11, talk))
                    leg(
                        direction=direction,
                        queue=current,
                        agent_id=agent.agent_id,
                        arrived_at=arrived,
                        queued_at=queued,
                        answered_at=answered,
                        ended_at=answered + cut,
                        talk_seconds=cut,
                        hold_seconds=0,
                        acw_seconds=acw,
                        disposition="failed",
                        contact_reason=wrap,
                    )
                    outcome = "failed"
                    break
                bonus = 0.1 if current == "escalations" else 0.0
                resolved = rng.random() < sim.resolution_chance(agent, issue, "phone", bonus)
                if resolved or sim.claims_resolved(agent):
                    claim = "resolved"
                else:
                    claim = "follow_up" if rng.random() < 0.4 else "unresolved"
                follow_up = claim == "follow_up"
                agent_for_follow_up = agent
                leg(
                    direction=direction,
                    queue=current,
                    agent_id=agent.agent_id,
                    arrived_at=arrived,
                    queued_at=queued,
                    answered_at=answered,
                    ended_at=answered + talk + hold,
                    talk_seconds=talk,
                    hold_seconds=hold,
                    acw_seconds=acw,
                    disposition="handled",
                    contact_reason=wrap,
                    agent_resolution=claim,
                )
                contact.reported_resolved = claim == "resolved"
                break

        # a call still in progress at the horizon has not happened yet: leave it out entirely
        if max(r["emitted_at"] for r in legs) >= sim.horizon:
            return
        for record in legs:
            sim.landing.emit("calls", record)
        end = legs[-1]["ended_at"]
        contact.ended_at = end
        contact.outcome = outcome
        reasoned = any(r.get("contact_reason") for r in legs)
        sim.contact_started(issue, contact, reasoned)
        in_progress = ticket is not None and ticket.status not in ("solved", "closed")
        if resolved:
            sim.resolve(issue, contact, end)
            if in_progress:
                assert ticket is not None
                sim.helpdesk.solved_by_phone(ticket, end, contact.agent_id)
        elif in_progress:
            pass  # chasing an open ticket: the ticket's own flow goes on
        else:
            sim.failed(issue, end, retry=outcome != "handled", ticket=ticket)
            if (
                follow_up
                and agent_for_follow_up is not None
                and rng.random() < cfg.outbound_follow_up_rate
            ):
                when = sim.work_time(end + rng.randint(HOUR, 6 * HOUR))
                sim.at(when, self.outbound, (issue, agent_for_follow_up))

    def _escalation(self, agent: Agent, issue: Issue) -> float:
        gap = issue.difficulty * 5 - agent.skill_level
        return max(0.0, min(0.5, 0.15 * gap)) * (1.0 - agent.rush_factor)

    # -- outbound legs: work, not contacts ------------------------------------------------
    def outbound(self, arg: tuple[Issue, Agent]) -> None:
        issue, agent = arg
        sim = self.sim
        rng = sim.rng
        ts = sim.now
        call_id = f"CL{sim.next_id('call'):08d}"
        record: dict[str, Any] = {
            "leg_id": f"{call_id}-1",
            "call_id": call_id,
            "leg_seq": 1,
            "direction": "outbound",
            "customer_id": Customers.customer_id(issue.customer),
            "phone_number": sim.customers.phone[issue.customer],
            "queue": issue.reason.queue,
            "arrived_at": ts,
            "contact_reason": issue.reason.name,
            "ticket_id": issue.ticket.ticket_id if issue.ticket is not None else None,
        }
        if rng.random() < 0.65:
            answered = ts + rng.randint(5, 25)
            talk = int(sim.lognormal(150.0, 0.5) * agent.handle_factor(sim.cfg.rush_speedup))
            acw = rng.randint(10, 60)
            record.update(
                agent_id=agent.agent_id,
                answered_at=answered,
                ended_at=answered + talk,
                talk_seconds=talk,
                hold_seconds=0,
                acw_seconds=acw,
                disposition="handled",
            )
        else:
            acw = 0
            record.update(ended_at=ts + rng.randint(20, 40), disposition="failed")
        record["emitted_at"] = record["ended_at"] + acw + rng.randint(1, 20)
        sim.landing.emit("calls", record)
