"""The simulator's settings: what to simulate (volume, period, formats), how dirty the feeds
are, and the knobs of the contact-centre model. Every field is documented in
``docs/simulator.md``; defaults give a mid-size centre with realistic ratios."""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

FORMATS: tuple[str, ...] = ("jsonl", "jsonl.gz", "csv", "parquet")

#: the fault types a :class:`DirtConfig` can inject, in the order they are drawn
FAULT_TYPES: tuple[str, ...] = (
    "malformed_line",
    "bad_timestamp",
    "negative_duration",
    "unknown_enum",
    "late_file",
    "redelivery",
    "out_of_order",
    "implausible_duration",
    "future_timestamp",
)


@dataclass(frozen=True)
class DirtConfig:
    """Per-record probabilities of each fault (see ``docs/simulator.md``, Faults).

    A record gets at most one fault. Malformed lines and bad timestamps only apply to text
    formats (JSONL, CSV), negative durations only to call legs that carry a duration.
    """

    redelivery_rate: float = 0.0
    late_file_rate: float = 0.0
    malformed_line_rate: float = 0.0
    bad_timestamp_rate: float = 0.0
    negative_duration_rate: float = 0.0
    unknown_enum_rate: float = 0.0
    #: a valid record whose timestamps are out of order (answered before it arrived): the
    #: contract accepts it, the quality gates quarantine it
    out_of_order_rate: float = 0.0
    #: a call leg with a talk time of 9–30 h (gates: above the sane maximum)
    implausible_duration_rate: float = 0.0
    #: a record emitted ten years in the future (gates: no timestamps in the future)
    future_timestamp_rate: float = 0.0

    def __post_init__(self) -> None:
        total = 0.0
        for f in dataclasses.fields(self):
            value = getattr(self, f.name)
            if not 0.0 <= value <= 1.0:
                raise ValueError(f"DirtConfig.{f.name} must be within [0, 1], got {value!r}")
            total += value
        if total > 1.0:
            raise ValueError("DirtConfig rates must sum to at most 1 (one fault per record)")

    @classmethod
    def default_dirty(cls) -> DirtConfig:
        """Realistic dirt: every fault type at 0.2–2 % of the records it can affect."""
        return cls(
            redelivery_rate=0.02,
            late_file_rate=0.01,
            malformed_line_rate=0.005,
            bad_timestamp_rate=0.005,
            negative_duration_rate=0.005,
            unknown_enum_rate=0.005,
            out_of_order_rate=0.003,
            implausible_duration_rate=0.002,
            future_timestamp_rate=0.002,
        )

    @property
    def enabled(self) -> bool:
        return any(getattr(self, f.name) > 0 for f in dataclasses.fields(self))

    def rate(self, fault_type: str) -> float:
        return float(getattr(self, f"{fault_type}_rate"))


def _probability(name: str, value: float) -> None:
    if not 0.0 <= value <= 1.0:
        raise ValueError(f"SimulationConfig.{name} must be within [0, 1], got {value!r}")


@dataclass(frozen=True)
class SimulationConfig:
    """One simulated centre. ``out_dir`` receives ``landing/`` and ``truth/``."""

    out_dir: Path
    seed: int = 42
    start_date: date = date(2026, 10, 1)
    days: int = 30
    #: mean customer contacts per day over a week (calls + new tickets + reopens)
    contacts_per_day: float = 3300
    agents: int = 50
    #: customer base; None derives it from the volume (30 × contacts_per_day, at least 500)
    customers: int | None = None
    #: the centre's time zone: opening hours and arrival curves are local time
    timezone: str = "Europe/London"
    #: file formats, cycled per feed per day
    formats: tuple[str, ...] = ("jsonl",)
    dirt: DirtConfig = field(default_factory=DirtConfig)

    # -- calendar -------------------------------------------------------------------------
    #: relative volume Monday..Sunday (normalised to a mean of 1)
    weekday_weights: tuple[float, ...] = (1.30, 1.10, 1.05, 1.00, 0.95, 0.40, 0.20)
    #: local opening hours [open, close) of phone, chat and the agents working tickets
    open_hours: tuple[int, int] = (8, 20)
    #: local weekdays (0 = Monday) phone and chat are open
    open_weekdays: tuple[int, ...] = (0, 1, 2, 3, 4, 5)

    # -- issues and customers -------------------------------------------------------------
    #: same customer + same reason within this many days is the same issue (metric default)
    repeat_window_days: int = 7
    #: share of recontacts made on another channel than the previous contact
    channel_switch_rate: float = 0.30
    #: chance that a customer silently gives up after a failed contact
    give_up_rate: float = 0.02
    #: median hours between a failed contact and the customer coming back
    recontact_median_hours: float = 20.0
    #: median minutes before retrying after an abandoned call or IVR hang-up
    retry_median_minutes: float = 20.0
    #: issues per customer are capped; the last allowed contact resolves or gives up
    max_contacts_per_issue: int = 8

    # -- identification -------------------------------------------------------------------
    #: calls where the IVR captured the customer id
    ivr_identification_rate: float = 0.55
    #: calls that resolve to no customer (no id; number withheld or unknown to the CRM)
    unidentified_call_rate: float = 0.25
    #: tickets without customer id whose requester email is unknown to the CRM
    unknown_email_rate: float = 0.10

    # -- telephony ------------------------------------------------------------------------
    #: IVR routes a call to a queue that does not serve its reason
    misroute_rate: float = 0.10
    #: callers who hang up in the IVR and never queue
    ivr_hangup_rate: float = 0.03
    #: callers who hang up within seconds of queueing (misdial, changed mind)
    short_abandon_rate: float = 0.015
    #: median seconds a caller is willing to wait in queue
    patience_median_seconds: float = 300.0
    #: planned occupancy at average load; peaks push the queue towards saturation
    target_occupancy: float = 0.76
    #: scale of queue waits (seconds): a caller waits with chance ρ², then scale / (1 − ρ)
    #: on average, where ρ = occupancy × load^0.2 (capped at 0.97)
    wait_scale_seconds: float = 14.0
    #: callers offered a callback (expected wait over a minute) take it with this chance
    callback_rate: float = 0.25
    #: chance an agent calls the customer back (outbound leg) after a follow_up claim
    outbound_follow_up_rate: float = 0.5
    #: calls dropped by the network during the conversation (disposition failed)
    dropped_call_rate: float = 0.005

    # -- agents ---------------------------------------------------------------------------
    agents_per_team: int = 10
    #: share of agents with the rush trait (short handle time, fewer true resolutions)
    rusher_share: float = 0.20
    #: how much the rush trait shortens handle time at rush factor 1
    rush_speedup: float = 0.45
    #: how much the rush trait lowers the chance of truly resolving at rush factor 1
    rush_resolution_penalty: float = 0.40
    #: chance of truly resolving, before difficulty (− 0.45 × difficulty), skill
    #: (± 0.025 a level from 3), rush (− penalty × rush) and earlier failures (+ 0.06 each)
    base_resolution: float = 0.89
    #: failures the agent still claims as resolved (plus 0.4 × rush)
    false_claim_rate: float = 0.25
    #: wrap-up codes that differ from the true reason
    miscoding_rate: float = 0.0

    # -- tickets --------------------------------------------------------------------------
    #: helpdesk group assignment to a group that does not serve the reason
    ticket_misassign_rate: float = 0.08
    #: days after a solve when the system closes the ticket
    ticket_close_days: float = 4.0
    #: customers who rate a solved ticket
    satisfaction_rate: float = 0.25
    #: customers who chase a ticket whose first reply takes long
    chase_rate: float = 0.5
    #: chats missed by the centre (solved by the system, unresolved)
    missed_chat_rate: float = 0.04

    # -- CRM ------------------------------------------------------------------------------
    currency: str = "GBP"
    #: daily chance that a customer changes phone number / email
    phone_change_rate: float = 0.002
    email_change_rate: float = 0.002
    #: daily chance that a customer places an order
    order_rate: float = 0.01
    #: daily background churn (price, moved) unrelated to the centre
    base_churn_rate: float = 0.0004
    #: churn chance added per failed contact of an issue, and for an issue given up
    churn_per_failure: float = 0.03
    churn_after_give_up: float = 0.35

    def __post_init__(self) -> None:
        object.__setattr__(self, "out_dir", Path(self.out_dir))
        if isinstance(self.formats, str):
            object.__setattr__(self, "formats", (self.formats,))
        object.__setattr__(self, "formats", tuple(self.formats))
        if not self.formats:
            raise ValueError("SimulationConfig.formats must name at least one format")
        for fmt in self.formats:
            if fmt not in FORMATS:
                raise ValueError(f"unknown format {fmt!r}; expected one of {FORMATS}")
        if self.days < 1:
            raise ValueError("SimulationConfig.days must be at least 1")
        if self.contacts_per_day <= 0:
            raise ValueError("SimulationConfig.contacts_per_day must be positive")
        if self.agents < 1:
            raise ValueError("SimulationConfig.agents must be at least 1")
        if self.customers is not None and self.customers < 10:
            raise ValueError("SimulationConfig.customers must be at least 10")
        if self.repeat_window_days < 1:
            raise ValueError("SimulationConfig.repeat_window_days must be at least 1")
        if len(self.weekday_weights) != 7 or min(self.weekday_weights) < 0:
            raise ValueError("SimulationConfig.weekday_weights needs 7 non-negative weights")
        if not 0 <= self.open_hours[0] < self.open_hours[1] <= 24:
            raise ValueError("SimulationConfig.open_hours must be (open, close) within 0..24")
        if not self.open_weekdays or any(not 0 <= d <= 6 for d in self.open_weekdays):
            raise ValueError("SimulationConfig.open_weekdays must be weekdays 0..6")
        if self.max_contacts_per_issue < 2:
            raise ValueError("SimulationConfig.max_contacts_per_issue must be at least 2")
        try:
            ZoneInfo(self.timezone)
        except Exception as exc:  # ZoneInfoNotFoundError, ValueError
            raise ValueError(f"unknown time zone {self.timezone!r}") from exc
        for name in (
            "channel_switch_rate",
            "give_up_rate",
            "ivr_identification_rate",
            "unidentified_call_rate",
            "unknown_email_rate",
            "misroute_rate",
            "ivr_hangup_rate",
            "short_abandon_rate",
            "target_occupancy",
            "callback_rate",
            "outbound_follow_up_rate",
            "dropped_call_rate",
            "rusher_share",
            "rush_speedup",
            "rush_resolution_penalty",
            "base_resolution",
            "false_claim_rate",
            "miscoding_rate",
            "ticket_misassign_rate",
            "satisfaction_rate",
            "chase_rate",
            "missed_chat_rate",
            "phone_change_rate",
            "email_change_rate",
            "order_rate",
            "base_churn_rate",
            "churn_per_failure",
            "churn_after_give_up",
        ):
            _probability(name, getattr(self, name))
        if self.ivr_identification_rate + self.unidentified_call_rate > 1:
            raise ValueError("ivr_identification_rate + unidentified_call_rate must be ≤ 1")
        if self.target_occupancy >= 0.99:
            raise ValueError("SimulationConfig.target_occupancy must be below 0.99")

    @property
    def n_customers(self) -> int:
        if self.customers is not None:
            return self.customers
        return max(500, round(self.contacts_per_day * 30))

    def as_dict(self) -> dict[str, Any]:
        """The settings as JSON-ready values, without ``out_dir`` (a run is the same run
        wherever it is written)."""
        values = dataclasses.asdict(self)
        values.pop("out_dir")
        values["start_date"] = self.start_date.isoformat()
        for key, value in list(values.items()):
            if isinstance(value, tuple):
                values[key] = list(value)
        return values
