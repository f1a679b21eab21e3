"""The discrete-event core: a clock, a queue of scheduled actions, issue arrivals and the
issue lifecycle (contact → resolved, or failed → recontact / give up), stepping one UTC day
at a time and finalising each day's files as soon as nothing can emit into it any more."""

from __future__ import annotations

import heapq
import math
import random
from bisect import bisect_right
from collections.abc import Callable
from typing import Any

import numpy as np

from .calls import Telephony
from .catalog import CHANNELS, LIVE_CHANNELS, NEEDS, NEEDS_CHANNEL, REASONS
from .clock import DAY, HOUR, MINUTE, Calendar
from .config import SimulationConfig
from .crm import Crm
from .landing import Landing
from .model import Contact, Issue, Ticket
from .population import Agent, Agents, Customers
from .tickets import Helpdesk
from .truth import TruthWriter

#: customer contacts per issue (retries, repeats, reopens) used to turn the requested
#: contacts per day into new issues per day; calibrated on the default model
CONTACTS_PER_ISSUE = 1.52


class Simulation:
    """State and behaviour of one run; ``run()`` drives it day by day."""

    def __init__(
        self,
        config: SimulationConfig,
        start_ts: int,
        customers: Customers,
        agents: Agents,
        landing: Landing,
        truth: TruthWriter,
    ) -> None:
        self.cfg = config
        self.start_ts = start_ts
        self.horizon = start_ts + config.days * DAY
        self.window = config.repeat_window_days * DAY
        self.calendar = Calendar(config)
        self.customers = customers
        self.agents = agents
        self.landing = landing
        self.truth = truth
        self.rng = random.Random(f"beacon-events:{config.seed}")
        self.nrng = np.random.default_rng([config.seed, 1])
        self.now = start_ts
        self._reason_mix = np.array([r.channel_mix for r in REASONS])
        self._needs_mix = np.array([NEEDS_CHANNEL[n] for n in NEEDS])
        weights = np.array([r.weight for r in REASONS])
        self._reason_p = weights / weights.sum()
        self._heap: list[tuple[int, int, Callable[[Any], None], Any]] = []
        self._seq = 0
        self._ids: dict[str, int] = {}
        #: open issues by number (insertion order: deterministic)
        self.active: dict[int, Issue] = {}
        #: (customer, reason number) -> [last activity, active issue or None]
        self.reason_state: dict[tuple[int, int], list[Any]] = {}
        self.telephony = Telephony(self)
        self.helpdesk = Helpdesk(self)
        self.crm = Crm(self)

    # -- scheduling -----------------------------------------------------------------------
    def at(self, ts: int, action: Callable[[Any], None], arg: Any = None) -> None:
        """Run ``action(arg)`` at ``ts`` (never in the past); dropped beyond the horizon."""
        if ts < self.now:
            ts = self.now
        if ts >= self.horizon:
            return
        self._seq += 1
        heapq.heappush(self._heap, (ts, self._seq, action, arg))

    def next_id(self, kind: str) -> int:
        n = self._ids.get(kind, 0) + 1
        self._ids[kind] = n
        return n

    def run(self, progress: Callable[[int, int], None] | None) -> None:
        self.crm.snapshot()
        for day in range(self.cfg.days):
            day_start = self.start_ts + day * DAY
            day_end = day_start + DAY
            self.now = day_start
            self.crm.plan_day(day, day_start)
            self._plan_arrivals(day_start)
            heap = self._heap
            while heap and heap[0][0] < day_end:
                ts, _, action, arg = heapq.heappop(heap)
                self.now = ts
                action(arg)
            self.now = day_end
            self.landing.finalise(day)
            self._prune(day_end)
            if progress is not None:
                progress(day + 1, self.cfg.days)
        self._heap.clear()
        for issue in list(self.active.values()):
            self._write_issue(issue)
        self.active.clear()

    # -- arrivals -------------------------------------------------------------------------
    def _plan_arrivals(self, day_start: int) -> None:
        """Draw the day's new issues: customer, reason, channel, then a time from the
        channel's intraday curve in local time."""
        lam = self.cfg.contacts_per_day / CONTACTS_PER_ISSUE * self.calendar.day_weight(day_start)
        n = int(self.nrng.poisson(lam))
        if n == 0:
            return
        cum = self.customers.sampling_weights()
        if cum[-1] <= 0:
            return
        cust = np.searchsorted(cum, self.nrng.random(n) * cum[-1], side="right")
        reason = self.nrng.choice(len(REASONS), size=n, p=self._reason_p)
        hour_w = np.array([self.calendar.channel_hour_weights(day_start, c) for c in CHANNELS])
        open_today = hour_w.sum(axis=1) > 0
        probs = self._reason_mix[reason] * self._needs_mix[self.customers.needs[cust]] * open_today
        probs /= probs.sum(axis=1, keepdims=True)
        channel = (probs.cumsum(axis=1) < self.nrng.random((n, 1))).sum(axis=1)
        channel = np.minimum(channel, len(CHANNELS) - 1)
        times = np.zeros(n, np.int64)
        for c in range(len(CHANNELS)):
            mask = channel == c
            k = int(mask.sum())
            if k == 0:
                continue
            p = hour_w[c] / hour_w[c].sum()
            hours = self.nrng.choice(24, size=k, p=p)
            times[mask] = day_start + hours * HOUR + self.nrng.integers(0, HOUR, k)
        order = np.lexsort((np.arange(n), times))
        for i in order:
            self.at(
                int(times[i]), self._new_issue, (int(cust[i]), int(reason[i]), CHANNELS[channel[i]])
            )

    def _excluded(self, customer: int, reason_no: int, ts: int) -> bool:
        """A customer does not get a new issue with a reason they had an issue about whose
        last activity is within the repeat window (+1 day of margin): by the metric's
        definition that contact would belong to the earlier issue."""
        state = self.reason_state.get((customer, reason_no))
        if state is None:
            return False
        return state[1] is not None or ts - state[0] < self.window + DAY

    def _sample_customer(self) -> int:
        cum = self.customers.sampling_weights()
        return min(bisect_right(cum, self.rng.random() * float(cum[-1])), self.customers.n - 1)

    def _new_issue(self, arg: tuple[int, int, str]) -> None:
        customer, reason_no, channel = arg
        for _ in range(20):
            if self.customers.is_active(customer) and not self._excluded(
                customer, reason_no, self.now
            ):
                break
            customer = self._sample_customer()
        else:
            return
        reason = REASONS[reason_no]
        difficulty = min(1.0, max(0.0, self.rng.gauss(reason.difficulty, 0.12)))
        issue = Issue(self.next_id("issue"), customer, reason, reason_no, difficulty, channel)
        self.active[issue.no] = issue
        self.reason_state[(customer, reason_no)] = [self.now, issue]
        self.contact(issue, channel, self.now)

    def _prune(self, now: int) -> None:
        stale = [
            key
            for key, (last, active) in self.reason_state.items()
            if active is None and now - last > self.window + 2 * DAY
        ]
        for key in stale:
            del self.reason_state[key]

    # -- contacts -------------------------------------------------------------------------
    def contact(self, issue: Issue, channel: str, ts: int, ticket: Ticket | None = None) -> None:
        """The customer gets in touch about ``issue`` on ``channel``."""
        if issue.done:
            return
        if channel == "phone":
            self.telephony.inbound(issue, ts, ticket)
        else:
            self.helpdesk.customer_writes(issue, channel, ts)

    def contact_started(self, issue: Issue, contact: Contact, reasoned: bool) -> None:
        issue.add(contact)
        if contact.identifiable and reasoned:
            issue.anchor = contact.started_at
        state = self.reason_state.get((issue.customer, issue.reason_no))
        if state is not None:
            state[0] = max(state[0], contact.started_at)

    def resolve(self, issue: Issue, contact: Contact, ts: int) -> None:
        """``contact`` truly solved the issue at ``ts``."""
        if issue.done:
            return
        contact.resolved = True
        issue.resolved_at = ts
        self.crm.after_resolution(issue, ts)
        self._finish(issue, ts)

    def failed(self, issue: Issue, ts: int, retry: bool, ticket: Ticket | None = None) -> None:
        """A contact ended without solving the issue: the customer comes back (or gives up).
        ``retry`` marks an attempt that never reached a resolution (abandoned, dropped)."""
        if issue.done:
            return
        issue.failures += 1
        cfg = self.cfg
        if (
            len(issue.contacts) >= cfg.max_contacts_per_issue
            or self.rng.random() < cfg.give_up_rate
        ):
            issue.gave_up = True
            self._finish(issue, ts)
            return
        self._schedule_recontact(issue, ts, retry, ticket)

    def _schedule_recontact(
        self, issue: Issue, ts: int, retry: bool, ticket: Ticket | None
    ) -> None:
        rng, cfg, cal = self.rng, self.cfg, self.calendar
        if retry:
            delay = cfg.retry_median_minutes * MINUTE * math.exp(rng.gauss(0.0, 1.0))
            delay = max(30.0, delay)
        else:
            delay = cfg.recontact_median_hours * HOUR * math.exp(rng.gauss(0.0, 1.1))
            delay = max(10 * MINUTE, delay)
        channel = issue.last_channel
        if rng.random() < cfg.channel_switch_rate:
            channel = self._other_channel(issue, channel)
        when = ts + int(delay)
        if channel in LIVE_CHANNELS and not cal.is_open(when):
            when = cal.next_open(when) + rng.randint(0, 2 * HOUR)
            if not cal.is_open(when):
                when = cal.next_open(when)
        # the next contact must stitch to the last identifiable one that carries a reason
        # (no such contact yet: nothing to stitch to, no deadline)
        deadline = when if issue.anchor is None else issue.anchor + self.window - 3 * HOUR
        forced = False
        if when > deadline:
            if deadline - ts >= 20 * MINUTE:
                # back within the window: the same issue by the metric's definition too
                when = rng.randint(ts + (deadline - ts) // 2, deadline)
                if channel in LIVE_CHANNELS and not cal.is_open(when):
                    channel = "email"
            elif issue.ticket is not None:
                # past the window: the customer refers to their ticket (stitches by ticket)
                forced = True
                ticket = issue.ticket
                channel = ticket.channel if ticket.channel in ("email", "web") else "phone"
                if channel == "phone" and not cal.is_open(when):
                    when = cal.next_open(when)
            else:
                issue.gave_up = True
                self._finish(issue, ts)
                return
        link: Ticket | None = None
        if forced:
            link = issue.ticket
        elif channel == "phone" and rng.random() < 0.6:
            link = ticket if ticket is not None else issue.ticket
        self.at(when, self._recontact, (issue, channel, link, forced))

    def _other_channel(self, issue: Issue, current: str) -> str:
        needs = self.customers.needs[issue.customer]
        weights = [
            0.0 if c == current else issue.reason.channel_mix[k] * NEEDS_CHANNEL[NEEDS[needs]][k]
            for k, c in enumerate(CHANNELS)
        ]
        return self.rng.choices(CHANNELS, weights=weights, k=1)[0]

    def _recontact(self, arg: tuple[Issue, str, Ticket | None, bool]) -> None:
        issue, channel, ticket, forced = arg
        if issue.done:
            return
        if forced and ticket is not None and (channel == "phone" or ticket.status != "solved"):
            # must refer to the ticket: a reply while it can still be reopened, else a call
            if not self.calendar.is_open(self.now):
                self.at(
                    self.calendar.next_open(self.now),
                    self._recontact,
                    (issue, "phone", ticket, True),
                )
                return
            self.telephony.inbound(issue, self.now, ticket)
        elif channel == "phone":
            self.telephony.inbound(issue, self.now, ticket)
        else:
            self.helpdesk.customer_writes(issue, channel, self.now)

    # -- end of an issue ------------------------------------------------------------------
    def _finish(self, issue: Issue, ts: int) -> None:
        issue.done = True
        if issue.ticket is not None:
            self.helpdesk.merge_duplicates(issue.ticket, ts)
        self.crm.after_issue(issue, ts)
        self._write_issue(issue)
        self.active.pop(issue.no, None)
        state = self.reason_state.get((issue.customer, issue.reason_no))
        if state is not None and state[1] is issue:
            state[0] = max(state[0], issue.last_activity)
            state[1] = None

    def _write_issue(self, issue: Issue) -> None:
        if not issue.contacts:
            return
        cid = Customers.customer_id(issue.customer)
        for row in issue.contact_rows(cid):
            self.truth.add("contacts", row, row["started_at"])
        self.truth.add("issues", issue.truth_row(cid), issue.contacts[0].started_at)

    # -- shared helpers -------------------------------------------------------------------
    def resolution_chance(
        self, agent: Agent | None, issue: Issue, channel: str, bonus: float = 0.0
    ) -> float:
        cfg = self.cfg
        p = cfg.base_resolution - 0.45 * issue.difficulty + bonus
        p += 0.06 * min(issue.failures, 4)
        if agent is not None:
            p += 0.025 * (agent.skill_level - 3) - cfg.rush_resolution_penalty * agent.rush_factor
        if channel == "chat":
            p -= 0.04
        return min(0.98, max(0.05, p))

    def claims_resolved(self, agent: Agent | None) -> bool:
        rush = agent.rush_factor if agent is not None else 0.0
        return self.rng.random() < self.cfg.false_claim_rate + 0.4 * rush

    def wrap_up(self, issue: Issue) -> str:
        if self.cfg.miscoding_rate and self.rng.random() < self.cfg.miscoding_rate:
            return self.rng.choice([r.name for r in REASONS if r is not issue.reason])
        return issue.reason.name

    def work_time(self, ts: int, max_extra: int = 2 * HOUR) -> int:
        """When agents (open hours) get to something that arrives at ``ts``."""
        cal = self.calendar
        if cal.is_open(ts):
            return ts
        t = cal.next_open(ts) + self.rng.randint(0, max_extra)
        return t if cal.is_open(t) else cal.next_open(t)

    def lognormal(self, median: float, sigma: float) -> float:
        return median * math.exp(self.rng.gauss(0.0, sigma))
