"""The ``calls`` suite: one call leg per row (key ``leg_id``). The checks every feed gets
are in ``common.feed_suite``; this module states what is particular to calls."""

from __future__ import annotations

from typing import TYPE_CHECKING

from expectations import common

if TYPE_CHECKING:
    from great_expectations.expectations import Expectation

FEED = "calls"
#: (later, earlier): arrived_at ≤ queued_at ≤ answered_at ≤ ended_at ≤ emitted_at (the record
#: is emitted when the leg and its after-call work end), skipping absent steps
TIMESTAMP_ORDER = [
    ("queued_at", "arrived_at"),
    ("answered_at", "queued_at"),
    ("answered_at", "arrived_at"),
    ("ended_at", "answered_at"),
    ("ended_at", "arrived_at"),
    ("emitted_at", "ended_at"),
]


def extra_checks(c: common.SuiteInputs) -> list[Expectation]:
    """Calls that neither the IVR nor the caller's number identify (warning)."""
    return [
        common.share_of_rows_at_most(
            "unidentified_share",
            "customer_id IS NULL AND phone_number IS NULL",
            c.settings.max_unidentified_share,
        ),
    ]
