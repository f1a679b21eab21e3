"""The CRM feed: a snapshot of the existing base, then the customers' commercial life —
identity changes, renewals, orders, plan changes, refunds, acquisitions and churn, including
the churn that unresolved issues cause."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import numpy as np

from .catalog import NEEDS, PLANS, REGIONS, SEGMENTS
from .clock import DAY, HOUR, MINUTE, utc_date
from .model import Issue
from .population import Customers, email_for_serial, phone_for_serial

if TYPE_CHECKING:
    from .engine import Simulation

_ORDER_AMOUNT = {"consumer": (45.0, 0.6), "smb": (300.0, 0.7), "enterprise": (2500.0, 0.8)}
#: daily chance of a plan change unrelated to the centre
_PLAN_CHANGE_RATE = 0.0005
#: years of history before the simulated period covered by the snapshot
_HISTORY_YEARS = 5


class Crm:
    def __init__(self, sim: Simulation) -> None:
        self.sim = sim
        self.customers: Customers = sim.customers
        self.initial = sim.customers.n

    def _event(
        self, i: int, ts: int, event_type: str, emitted_at: int | None = None, **fields: Any
    ) -> None:
        sim = self.sim
        record = {
            "event_id": f"CE{sim.next_id('crm_event'):09d}",
            "customer_id": Customers.customer_id(i),
            "event_type": event_type,
            "occurred_at": ts,
            "emitted_at": emitted_at if emitted_at is not None else ts + sim.rng.randint(0, 30),
        }
        record.update(fields)
        sim.landing.emit("crm", record)

    def _profile(self, i: int) -> dict[str, Any]:
        c = self.customers
        return {
            "email": c.email[i],
            "phone_number": c.phone[i],
            "segment": SEGMENTS[c.segment[i]],
            "needs_category": NEEDS[c.needs[i]],
            "region": REGIONS[c.region[i]],
            "timezone": c.timezone[i],
            "mrr": float(c.mrr[i]),
            "currency": self.sim.cfg.currency,
        }

    # -- the base at the start --------------------------------------------------------------
    def snapshot(self) -> None:
        """``customer_created`` for the existing base: occurred in the past, delivered in the
        first day's file."""
        start = self.sim.start_ts
        for i in range(self.customers.n):
            self._event(
                i,
                int(self.customers.created_at[i]),
                "customer_created",
                emitted_at=start,
                **self._profile(i),
            )

    # -- a day of commercial life -----------------------------------------------------------
    def plan_day(self, day: int, day_start: int) -> None:
        sim = self.sim
        nrng, cfg = sim.nrng, sim.cfg
        c = self.customers
        n = c.n
        active = np.nonzero(c.churned_at[:n] < 0)[0]
        if len(active) == 0:
            return

        def times(k: int, lo: int = 0, hi: int = DAY) -> np.ndarray:
            return np.sort(day_start + nrng.integers(lo, hi, k))

        def pick(rate: float) -> np.ndarray:
            k = int(nrng.poisson(len(active) * rate))
            return nrng.choice(active, size=k) if k else np.zeros(0, np.int64)

        dom = utc_date(day_start).day
        renewing = active[c.renewal_day[active] == dom]
        for i, ts in zip(renewing, times(len(renewing), 1 * HOUR, 5 * HOUR), strict=True):
            mrr = float(c.mrr[i])
            self._event(
                int(i), int(ts), "subscription_renewed", mrr=mrr, amount=mrr, currency=cfg.currency
            )

        for i, ts in zip(who := pick(cfg.order_rate), times(len(who), 6 * HOUR, DAY), strict=True):
            median, sigma = _ORDER_AMOUNT[SEGMENTS[c.segment[i]]]
            amount = round(median * float(np.exp(nrng.normal(0.0, sigma))), 2)
            mrr = float(c.mrr[i])
            self._event(
                int(i), int(ts), "order_placed", mrr=mrr, amount=amount, currency=cfg.currency
            )

        change_rate = cfg.phone_change_rate + cfg.email_change_rate
        if change_rate > 0:
            who = pick(change_rate)
            phone_share = cfg.phone_change_rate / change_rate
            kinds = nrng.random(len(who)) < phone_share
            for i, ts, is_phone in zip(who, times(len(who)), kinds, strict=True):
                sim.at(int(ts), self._update, (int(i), "phone" if is_phone else "email"))
        for i, ts in zip(who := pick(_PLAN_CHANGE_RATE), times(len(who)), strict=True):
            sim.at(int(ts), self._plan_change, int(i))
        for i, ts in zip(who := pick(cfg.base_churn_rate), times(len(who)), strict=True):
            reason = "price" if nrng.random() < 0.6 else "moved"
            sim.at(int(ts), self._churn, (int(i), reason))
        k = int(nrng.poisson(self.initial * cfg.base_churn_rate * 1.1))
        for ts in times(k):
            sim.at(int(ts), self._acquire)

    def _update(self, arg: tuple[int, str]) -> None:
        i, kind = arg
        c = self.customers
        if not c.is_active(i):
            return
        if kind == "phone":
            c.phone[i] = phone_for_serial(c.new_serial())
        else:
            c.email[i] = email_for_serial(c.new_serial())
        c.identity_changes[i] += 1
        self._event(i, self.sim.now, "customer_updated", **self._profile(i))

    def _plan_change(self, i: int) -> None:
        c = self.customers
        if not c.is_active(i):
            return
        ts = self.sim.now
        up = self.sim.rng.random() < 0.55
        plan = min(len(PLANS) - 1, c.plan[i] + 1) if up else max(0, c.plan[i] - 1)
        c.plan[i] = plan
        c.mrr[i] = round(float(c.mrr[i]) * (1.25 if up else 0.8), 2)
        self._event(i, ts, "plan_changed", mrr=float(c.mrr[i]), currency=self.sim.cfg.currency)

    def _churn(self, arg: tuple[int, str]) -> None:
        i, reason = arg
        c = self.customers
        if c.churn(i, self.sim.now, reason):
            c.mrr[i] = 0.0
            self._event(
                i, self.sim.now, "subscription_cancelled", mrr=0.0, currency=self.sim.cfg.currency
            )

    def _acquire(self, _: Any = None) -> None:
        sim = self.sim
        i = sim.customers.add(sim.nrng, 1, sim.now, sim.now + 1, sim.cfg.timezone)[0]
        self._event(i, sim.now, "customer_created", **self._profile(i))
        mrr = float(self.customers.mrr[i])
        self._event(
            i,
            sim.now + sim.rng.randint(1, 60),
            "subscription_started",
            mrr=mrr,
            currency=sim.cfg.currency,
        )

    # -- consequences of issues ---------------------------------------------------------------
    def after_resolution(self, issue: Issue, ts: int) -> None:
        sim = self.sim
        rng = sim.rng
        i = issue.customer
        name = issue.reason.name
        if name == "plan_change":
            sim.at(ts + rng.randint(MINUTE, 10 * MINUTE), self._plan_change, i)
        refund = {"refund": 0.8, "complaint": 0.3, "billing": 0.15}.get(name, 0.0)
        if refund and rng.random() < refund:
            amount = round(max(5.0, float(self.customers.mrr[i])) * rng.uniform(0.3, 1.0), 2)
            when = ts + rng.randint(MINUTE, HOUR)
            if when >= sim.now:
                mrr = float(self.customers.mrr[i])
                self._event(
                    i, when, "refund_issued", mrr=mrr, amount=amount, currency=sim.cfg.currency
                )
        if name == "cancellation" and rng.random() < 0.5:
            reason = "price" if rng.random() < 0.6 else "moved"
            sim.at(ts + rng.randint(MINUTE, HOUR), self._churn, (i, reason))

    def after_issue(self, issue: Issue, ts: int) -> None:
        """Unresolved issues and the effort they cost drive customers away."""
        sim = self.sim
        cfg = sim.cfg
        p = cfg.churn_per_failure * issue.failures
        if issue.gave_up:
            p += cfg.churn_after_give_up
        if p > 0 and sim.rng.random() < p:
            delay = int(sim.rng.expovariate(1.0 / (3 * DAY))) + HOUR
            sim.at(ts + delay, self._churn, (issue.customer, "unresolved_issue"))
