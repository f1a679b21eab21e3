"""Fault injection: how each kind of dirt damages (or duplicates, or delays) a record.

Every function takes the record's value list (contract order) and returns what it did, so the
landing writer can record the fault in ``truth/faults.parquet`` with its file and line."""

from __future__ import annotations

import random
from typing import Any

from ingest.contracts import Contract

from .clock import iso

#: values outside each feed's enums, per field
BAD_ENUMS: dict[str, tuple[tuple[str, tuple[str, ...]], ...]] = {
    "calls": (
        ("disposition", ("dropped", "voicemail")),
        ("direction", ("internal",)),
        ("agent_resolution", ("escalated",)),
    ),
    "tickets": (
        ("channel", ("fax", "sms")),
        ("status", ("escalated", "deleted")),
        ("priority", ("critical",)),
        ("event_type", ("escalated",)),
    ),
    "crm": (("event_type", ("customer_merged", "account_suspended")),),
}

DURATION_FIELDS: tuple[str, ...] = ("talk_seconds", "hold_seconds", "acw_seconds")
#: faults the contract accepts and the quality gates catch
GATE_FAULTS: tuple[str, ...] = ("out_of_order", "implausible_duration", "future_timestamp")
#: (earlier, later) timestamp pairs an out-of-order fault swaps round, per feed
ORDER_PAIRS: dict[str, tuple[tuple[str, str], ...]] = {
    "calls": (("arrived_at", "answered_at"), ("answered_at", "ended_at")),
    "tickets": (("occurred_at", "emitted_at"),),
    "crm": (("occurred_at", "emitted_at"),),
}
#: a duration above the quality gates' sane maximum (8 h by default): a stuck timer
IMPLAUSIBLE_SECONDS = (9 * 3600, 30 * 3600)
#: a clock ten years ahead: a timestamp in the future whenever the data is read
FUTURE_SHIFT_SECONDS = 10 * 365 * 86400


class Dirt:
    """Fault mutations for one contract (all randomness comes from the caller's rng)."""

    def __init__(self, contract: Contract) -> None:
        self.contract = contract
        self.feed = contract.feed
        names = contract.names
        self.index = {n: i for i, n in enumerate(names)}
        self.ts_idx = [i for i, f in enumerate(contract.fields) if f.type == "timestamp"]
        self.duration_idx = [self.index[n] for n in DURATION_FIELDS if n in self.index]
        self.enum_idx = [(self.index[n], bad) for n, bad in BAD_ENUMS[self.feed] if n in self.index]

    # -- eligibility ----------------------------------------------------------------------
    def has_timestamp(self, values: list[Any]) -> bool:
        return any(values[i] is not None for i in self.ts_idx)

    def has_duration(self, values: list[Any]) -> bool:
        return any(values[i] is not None for i in self.duration_idx)

    # -- bad rows -------------------------------------------------------------------------
    def bad_timestamp(self, rng: random.Random, values: list[Any]) -> tuple[str, str]:
        candidates = [i for i in self.ts_idx if values[i] is not None]
        i = rng.choice(candidates)
        good = iso(values[i])
        variant = rng.randrange(4)
        if variant == 0:  # hour out of range
            bad = f"{good[:11]}{int(good[11:13]) + 24}{good[13:]}"
        elif variant == 1:  # day out of range
            bad = f"{good[:8]}3{rng.randint(2, 9)}{good[10:]}"
        elif variant == 2:
            bad = "0000-00-00T00:00:00Z"
        else:
            bad = "N/A"
        values[i] = bad
        return self.contract.fields[i].name, f"{good} written as {bad!r}"

    def negative_duration(self, rng: random.Random, values: list[Any]) -> tuple[str, str]:
        candidates = [i for i in self.duration_idx if values[i] is not None]
        i = rng.choice(candidates)
        good = values[i]
        bad = -good if good > 0 else -rng.randint(1, 60)
        values[i] = bad
        return self.contract.fields[i].name, f"{good} written as {bad}"

    def unknown_enum(self, rng: random.Random, values: list[Any]) -> tuple[str, str]:
        candidates = [(i, bad) for i, bad in self.enum_idx if values[i] is not None]
        i, bad_values = rng.choice(candidates)
        good = values[i]
        values[i] = rng.choice(bad_values)
        return self.contract.fields[i].name, f"{good!r} written as {values[i]!r}"

    def can_unknown_enum(self, values: list[Any]) -> bool:
        return any(values[i] is not None for i, _ in self.enum_idx)

    # -- rows that pass the contract but not the quality gates ------------------------------
    def _order_pairs(self, values: list[Any]) -> list[tuple[int, int]]:
        pairs = [(self.index[a], self.index[b]) for a, b in ORDER_PAIRS[self.feed]]
        return [(a, b) for a, b in pairs if values[a] is not None and values[b] is not None]

    def can_out_of_order(self, values: list[Any]) -> bool:
        return bool(self._order_pairs(values))

    def out_of_order(self, rng: random.Random, values: list[Any]) -> tuple[str, str]:
        """A later timestamp written before its earlier one (answered before it arrived)."""
        a, b = rng.choice(self._order_pairs(values))
        good = values[b]
        values[b] = values[a] - rng.randint(60, 3600)
        names = self.contract.names
        return names[b], f"{iso(good)} written as {iso(values[b])}, before {names[a]}"

    def can_implausible_duration(self, values: list[Any]) -> bool:
        return "talk_seconds" in self.index and values[self.index["talk_seconds"]] is not None

    def implausible_duration(self, rng: random.Random, values: list[Any]) -> tuple[str, str]:
        i = self.index["talk_seconds"]
        good = values[i]
        values[i] = rng.randint(*IMPLAUSIBLE_SECONDS)
        return "talk_seconds", f"{good} written as {values[i]} (a stuck timer)"

    def can_future_timestamp(self, values: list[Any]) -> bool:
        return "emitted_at" in self.index and values[self.index["emitted_at"]] is not None

    def future_timestamp(self, rng: random.Random, values: list[Any]) -> tuple[str, str]:
        i = self.index["emitted_at"]
        good = values[i]
        values[i] = good + FUTURE_SHIFT_SECONDS + rng.randint(0, 86400)
        return "emitted_at", f"{iso(good)} written as {iso(values[i])} (a clock years ahead)"

    # -- malformed lines ------------------------------------------------------------------
    @staticmethod
    def malformed_json(rng: random.Random, line: str) -> tuple[str, str]:
        cut = rng.randint(max(2, len(line) // 4), len(line) - 2)
        return line[:cut], f"JSON line truncated after {cut} of {len(line)} characters"

    @staticmethod
    def malformed_csv(rng: random.Random, fields: list[str]) -> tuple[str, str]:
        n = len(fields)
        if rng.random() < 0.5:
            keep = rng.randint(max(1, n // 3), n - 2)
            line = ",".join(fields[:keep]) + "," + fields[keep][: len(fields[keep]) // 2]
            return line, f"CSV row truncated: {line.count(',') + 1} of {n} fields"
        extra = ",".join([*fields, fields[0]])
        return extra, f"CSV row with an extra field: {n + 1} instead of {n}"

    # -- redelivery corrections -------------------------------------------------------------
    def correction(self, rng: random.Random, values: list[Any]) -> tuple[str, str] | None:
        """Change one value the way a source system corrects a record it sends again."""
        if self.feed == "calls":
            i = self.index["acw_seconds"]
            if values[i] is None:
                return None
            old = values[i]
            values[i] = old + rng.randint(5, 90)
            return "acw_seconds", f"corrected {old} to {values[i]}"
        if self.feed == "tickets":
            i = self.index["priority"]
            if values[i] is None:
                return None
            old = values[i]
            values[i] = rng.choice([p for p in ("low", "normal", "high", "urgent") if p != old])
            return "priority", f"corrected {old!r} to {values[i]!r}"
        return None
