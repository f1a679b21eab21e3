"""The people: the customer base (with identity attributes that change over time) and the
agents (teams, skills, speed and the rush trait)."""

from __future__ import annotations

import random
from dataclasses import dataclass
from itertools import accumulate

import numpy as np

from .catalog import (
    EMAIL_DOMAINS,
    FIRST_NAMES,
    FRONT_QUEUES,
    LAST_NAMES,
    NEEDS,
    NEEDS_WEIGHTS,
    PLANS,
    QUEUES,
    REGION_WEIGHTS,
    REGIONS,
    SEGMENT_MRR,
    SEGMENT_PROPENSITY,
    SEGMENT_WEIGHTS,
    SEGMENTS,
)
from .clock import DAY

INTERNATIONAL_TIMEZONES: tuple[str, ...] = ("Europe/Dublin", "Europe/Paris", "America/New_York")

#: churn_reason codes
CHURN_REASONS: tuple[str, ...] = ("none", "unresolved_issue", "price", "moved")


def phone_for_serial(serial: int) -> str:
    """A CRM phone number in E.164; serials map one-to-one onto numbers (+4477…)."""
    return f"+4477{(serial * 48_271 + 1_234_567) % 100_000_000:08d}"


def unknown_phone(rng: random.Random) -> str:
    """A number the CRM has never held (+4478…, disjoint from CRM numbers)."""
    return f"+4478{rng.randrange(100_000_000):08d}"


def email_for_serial(serial: int) -> str:
    first = FIRST_NAMES[serial % len(FIRST_NAMES)]
    last = LAST_NAMES[(serial // len(FIRST_NAMES)) % len(LAST_NAMES)]
    return f"{first}.{last}.{serial}@{EMAIL_DOMAINS[serial % len(EMAIL_DOMAINS)]}"


def unknown_email(rng: random.Random) -> str:
    """An address the CRM has never held (domain ``personal.example``)."""
    return f"{rng.choice(FIRST_NAMES)}{rng.randrange(1_000_000)}@personal.example"


class Customers:
    """The customer base as columns; index ``i`` is customer ``C{i+1:07d}``."""

    def __init__(self) -> None:
        self.n = 0
        cap = 1024
        self.segment = np.zeros(cap, np.int8)
        self.needs = np.zeros(cap, np.int8)
        self.region = np.zeros(cap, np.int8)
        self.plan = np.zeros(cap, np.int8)
        self.mrr = np.zeros(cap, np.float64)
        self.propensity = np.zeros(cap, np.float64)
        self.created_at = np.zeros(cap, np.int64)
        self.renewal_day = np.zeros(cap, np.int8)
        self.churned_at = np.full(cap, -1, np.int64)
        self.churn_reason = np.zeros(cap, np.int8)
        self.identity_changes = np.zeros(cap, np.int32)
        self.subscriptions = np.zeros(cap, np.int32)
        self.timezone: list[str] = []
        self.phone: list[str] = []
        self.email: list[str] = []
        self._serial = 0
        self._weights_cache: np.ndarray | None = None

    @staticmethod
    def customer_id(i: int) -> str:
        return f"C{i + 1:07d}"

    def _grow(self, need: int) -> None:
        cap = len(self.segment)
        if need <= cap:
            return
        new_cap = max(need, cap * 2)
        for name in (
            "segment",
            "needs",
            "region",
            "plan",
            "mrr",
            "propensity",
            "created_at",
            "renewal_day",
            "churn_reason",
            "identity_changes",
            "subscriptions",
        ):
            arr = getattr(self, name)
            grown = np.zeros(new_cap, arr.dtype)
            grown[:cap] = arr
            setattr(self, name, grown)
        churned = np.full(new_cap, -1, np.int64)
        churned[:cap] = self.churned_at
        self.churned_at = churned

    def new_serial(self) -> int:
        self._serial += 1
        return self._serial

    def add(
        self,
        rng: np.random.Generator,
        count: int,
        created_from: int,
        created_to: int,
        centre_tz: str,
    ) -> range:
        """Create ``count`` customers created uniformly in [created_from, created_to)."""
        start = self.n
        self._grow(start + count)
        idx = slice(start, start + count)
        seg = rng.choice(len(SEGMENTS), size=count, p=np.asarray(SEGMENT_WEIGHTS))
        self.segment[idx] = seg
        needs = np.empty(count, np.int8)
        for s, name in enumerate(SEGMENTS):
            mask = seg == s
            w = np.asarray(NEEDS_WEIGHTS[name])
            needs[mask] = rng.choice(len(NEEDS), size=int(mask.sum()), p=w / w.sum())
        self.needs[idx] = needs
        region_w = np.asarray(REGION_WEIGHTS)
        self.region[idx] = rng.choice(len(REGIONS), size=count, p=region_w / region_w.sum())
        self.plan[idx] = rng.choice(len(PLANS), size=count, p=[0.45, 0.40, 0.15])
        medians = np.array([SEGMENT_MRR[s][0] for s in SEGMENTS])[seg]
        sigmas = np.array([SEGMENT_MRR[s][1] for s in SEGMENTS])[seg]
        plan_factor = np.array([0.8, 1.0, 1.5])[self.plan[idx]]
        mrr = medians * plan_factor * np.exp(rng.normal(0.0, 1.0, count) * sigmas)
        self.mrr[idx] = np.round(mrr, 2)
        seg_prop = np.array([SEGMENT_PROPENSITY[s] for s in SEGMENTS])[seg]
        self.propensity[idx] = seg_prop * rng.gamma(0.7, 1 / 0.7, count)
        self.created_at[idx] = rng.integers(created_from, max(created_from + 1, created_to), count)
        self.renewal_day[idx] = rng.integers(1, 29, count)
        self.subscriptions[idx] = 1 + rng.poisson(np.array([0.2, 1.0, 3.0])[seg])
        international = rng.random(count) < 0.02
        tz_pick = rng.integers(0, len(INTERNATIONAL_TIMEZONES), count)
        self.region[idx] = np.where(international, REGIONS.index("international"), self.region[idx])
        for k in range(count):
            self.timezone.append(
                INTERNATIONAL_TIMEZONES[tz_pick[k]] if international[k] else centre_tz
            )
            self.phone.append(phone_for_serial(self.new_serial()))
            self.email.append(email_for_serial(self._serial))
        self.n += count
        self._weights_cache = None
        return range(start, start + count)

    def is_active(self, i: int) -> bool:
        return self.churned_at[i] < 0

    def churn(self, i: int, ts: int, reason: str) -> bool:
        if self.churned_at[i] >= 0:
            return False
        self.churned_at[i] = ts
        self.churn_reason[i] = CHURN_REASONS.index(reason)
        self._weights_cache = None
        return True

    def sampling_weights(self) -> np.ndarray:
        """Cumulative contact propensity of active customers (for issue arrivals)."""
        if self._weights_cache is None:
            w = self.propensity[: self.n] * (self.churned_at[: self.n] < 0)
            self._weights_cache = np.cumsum(w)
        return self._weights_cache

    def tenure_days(self, i: int, ts: int) -> float:
        return (ts - int(self.created_at[i])) / DAY


@dataclass(frozen=True)
class Agent:
    agent_id: str
    team: str
    primary_queue: str
    queues: tuple[str, ...]
    #: 1 (novice) .. 5 (expert)
    skill_level: int
    #: multiplies handle time before the rush trait (lower = faster)
    speed_factor: float
    #: 0 (careful) .. 1 (rushes): shorter handling, fewer true resolutions, more false claims
    rush_factor: float
    #: local weekdays off (0 = Monday)
    days_off: tuple[int, ...]

    def handle_factor(self, rush_speedup: float) -> float:
        return self.speed_factor * (1.0 - rush_speedup * self.rush_factor)


class Agents:
    """The agent population and who can take what on which weekday."""

    def __init__(self, agents: list[Agent], rush_speedup: float) -> None:
        self.agents = agents
        self._pool: dict[tuple[str, int], tuple[list[Agent], list[float]]] = {}
        for queue in QUEUES:
            skilled = [a for a in agents if queue in a.queues] or list(agents)
            for weekday in range(7):
                working = [a for a in skilled if weekday not in a.days_off] or skilled
                # faster agents take more contacts
                weights = [1.0 / a.handle_factor(rush_speedup) for a in working]
                self._pool[(queue, weekday)] = (working, list(accumulate(weights)))

    def pick(self, rng: random.Random, queue: str, weekday: int) -> Agent:
        working, cum = self._pool.get((queue, weekday)) or self._pool[("general", weekday)]
        return rng.choices(working, cum_weights=cum, k=1)[0]


def make_agents(
    rng: random.Random, count: int, per_team: int, rusher_share: float, rush_speedup: float
) -> Agents:
    agents: list[Agent] = []
    n_teams = max(1, -(-count // per_team))
    n_rushers = round(count * rusher_share)
    rushers = set(rng.sample(range(count), n_rushers)) if n_rushers else set()
    for k in range(count):
        team_no = k % n_teams
        primary = FRONT_QUEUES[team_no % len(FRONT_QUEUES)]
        skill = min(5, max(1, round(rng.gauss(3.0, 1.0))))
        queues = {primary}
        if rng.random() < 0.7:
            queues.add("general")
        if rng.random() < 0.35:
            queues.add(rng.choice(FRONT_QUEUES))
        if skill >= 4 and rng.random() < 0.6:
            queues.add("escalations")
        rush = rng.uniform(0.6, 1.0) if k in rushers else rng.uniform(0.0, 0.45)
        speed = float(np.exp(rng.gauss(0.0, 0.07)))
        off = rng.randrange(6)
        agents.append(
            Agent(
                agent_id=f"A{k + 1:04d}",
                team=f"team-{team_no + 1:02d}",
                primary_queue=primary,
                queues=tuple(q for q in QUEUES if q in queues),
                skill_level=skill,
                speed_factor=round(speed, 4),
                rush_factor=round(rush, 4),
                days_off=(off, 6),
            )
        )
    # every queue needs somebody: the most skilled agents cover the gaps
    by_skill = sorted(range(count), key=lambda k: (-agents[k].skill_level, k))
    for queue in QUEUES:
        if not any(queue in a.queues for a in agents):
            for k in by_skill[: max(1, count // 10)]:
                a = agents[k]
                agents[k] = Agent(
                    **{**a.__dict__, "queues": tuple(q for q in QUEUES if q in {*a.queues, queue})}
                )
    return Agents(agents, rush_speedup)
