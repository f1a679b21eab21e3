"""The fixed vocabulary of the simulated centre: contact reasons, queues, channels, customer
segments and needs, and the shape of the day. Plain data; the numbers are the model's
calibration (see ``docs/simulator.md``, The model)."""

from __future__ import annotations

from dataclasses import dataclass

CHANNELS: tuple[str, ...] = ("phone", "email", "chat", "web")
#: channels served live (opening hours apply); the others are 24/7 inboxes
LIVE_CHANNELS: frozenset[str] = frozenset({"phone", "chat"})
TICKET_CHANNELS: frozenset[str] = frozenset({"email", "chat", "web"})

QUEUES: tuple[str, ...] = (
    "billing",
    "tech_support",
    "accounts",
    "orders",
    "retention",
    "general",
    "escalations",
)
#: the pseudo-queue of legs that never left the IVR (queued_at empty)
IVR_QUEUE = "ivr"
#: queues the IVR routes to (escalations is reached by transfer only)
FRONT_QUEUES: tuple[str, ...] = QUEUES[:-1]


@dataclass(frozen=True)
class Reason:
    name: str
    #: share of new issues
    weight: float
    #: 0 (trivial) .. 1 (hard): lowers the chance of resolving, lengthens handling
    difficulty: float
    queue: str
    #: channel mix (phone, email, chat, web) before the customer's needs adjust it
    channel_mix: tuple[float, float, float, float]
    #: median talk seconds of a handling leg
    talk_median: float


REASONS: tuple[Reason, ...] = (
    Reason("billing", 0.18, 0.30, "billing", (0.50, 0.25, 0.15, 0.10), 300),
    Reason("technical_fault", 0.15, 0.50, "tech_support", (0.55, 0.15, 0.20, 0.10), 330),
    Reason("account_access", 0.10, 0.30, "accounts", (0.45, 0.15, 0.25, 0.15), 280),
    Reason("order_status", 0.12, 0.15, "orders", (0.35, 0.25, 0.25, 0.15), 250),
    Reason("cancellation", 0.05, 0.40, "retention", (0.70, 0.15, 0.10, 0.05), 340),
    Reason("plan_change", 0.06, 0.25, "retention", (0.45, 0.15, 0.20, 0.20), 310),
    Reason("delivery", 0.10, 0.35, "orders", (0.40, 0.30, 0.15, 0.15), 280),
    Reason("refund", 0.08, 0.35, "billing", (0.40, 0.35, 0.15, 0.10), 300),
    Reason("product_question", 0.11, 0.15, "general", (0.35, 0.25, 0.30, 0.10), 260),
    Reason("complaint", 0.05, 0.50, "general", (0.50, 0.35, 0.10, 0.05), 380),
)
REASON_NAMES: tuple[str, ...] = tuple(r.name for r in REASONS)

SEGMENTS: tuple[str, ...] = ("consumer", "smb", "enterprise")
SEGMENT_WEIGHTS: tuple[float, ...] = (0.80, 0.17, 0.03)
#: (median, sigma) of monthly recurring revenue by segment
SEGMENT_MRR: dict[str, tuple[float, float]] = {
    "consumer": (35.0, 0.35),
    "smb": (260.0, 0.5),
    "enterprise": (3200.0, 0.6),
}
#: how much more often a customer of a segment needs the centre
SEGMENT_PROPENSITY: dict[str, float] = {"consumer": 1.0, "smb": 1.6, "enterprise": 2.5}

NEEDS: tuple[str, ...] = ("time-is-money", "needs-reassurance", "self-sufficient", "relationship")
NEEDS_WEIGHTS: dict[str, tuple[float, float, float, float]] = {
    "consumer": (0.25, 0.35, 0.35, 0.05),
    "smb": (0.45, 0.20, 0.20, 0.15),
    "enterprise": (0.30, 0.10, 0.10, 0.50),
}
#: channel preference multipliers (phone, email, chat, web) by needs category
NEEDS_CHANNEL: dict[str, tuple[float, float, float, float]] = {
    "time-is-money": (1.3, 0.7, 1.4, 0.6),
    "needs-reassurance": (1.6, 0.8, 0.8, 0.5),
    "self-sufficient": (0.6, 1.2, 1.1, 2.2),
    "relationship": (1.3, 1.3, 0.6, 0.5),
}
#: multiplier of the caller's patience in queue by needs category
NEEDS_PATIENCE: dict[str, float] = {
    "time-is-money": 0.6,
    "needs-reassurance": 1.3,
    "self-sufficient": 0.9,
    "relationship": 1.0,
}

REGIONS: tuple[str, ...] = (
    "london",
    "south_east",
    "south_west",
    "midlands",
    "north",
    "scotland",
    "wales",
    "northern_ireland",
    "international",
)
#: home regions; "international" is given to customers abroad (their own time zone)
REGION_WEIGHTS: tuple[float, ...] = (0.20, 0.18, 0.10, 0.16, 0.20, 0.08, 0.05, 0.03, 0.0)

PLANS: tuple[str, ...] = ("basic", "standard", "premium")

FIRST_NAMES: tuple[str, ...] = (
    "alex", "sam", "jo", "chris", "pat", "robin", "morgan", "jamie", "taylor", "casey",
    "jordan", "riley", "avery", "quinn", "charlie", "drew", "frankie", "harper", "kim", "lee",
)  # fmt: skip
LAST_NAMES: tuple[str, ...] = (
    "smith", "jones", "taylor", "brown", "williams", "wilson", "johnson", "davies", "patel",
    "wright", "walker", "evans", "khan", "thomas", "roberts", "green", "hall", "wood", "clarke",
    "lewis",
)  # fmt: skip
#: reserved example domains (RFC 2606): no real person's address is ever generated
EMAIL_DOMAINS: tuple[str, ...] = ("example.com", "example.org", "example.net")

#: relative arrival intensity per local hour (0..23) for live channels and inboxes
LIVE_HOUR_CURVE: tuple[float, ...] = (
    0, 0, 0, 0, 0, 0, 0, 0.3,
    0.9, 1.5, 1.7, 1.6, 1.3, 1.3, 1.5, 1.4,
    1.2, 1.0, 0.8, 0.6, 0.4, 0.2, 0.1, 0.0,
)  # fmt: skip
INBOX_HOUR_CURVE: tuple[float, ...] = (
    0.15, 0.1, 0.08, 0.06, 0.06, 0.1, 0.2, 0.5,
    0.9, 1.3, 1.5, 1.5, 1.4, 1.4, 1.4, 1.3,
    1.2, 1.1, 1.0, 1.0, 0.9, 0.7, 0.5, 0.3,
)  # fmt: skip
