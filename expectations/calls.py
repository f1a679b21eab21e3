"""The ``calls`` suite: one call leg per row (key ``leg_id``)."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime
from typing import TYPE_CHECKING

from expectations import common
from expectations.common import QualitySettings

if TYPE_CHECKING:
    from great_expectations import ExpectationSuite

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


def suite(
    *,
    now: datetime,
    settings: QualitySettings | None = None,
    accepted_values: Mapping[str, tuple[str, ...]] | None = None,
    has_history: bool = False,
) -> ExpectationSuite:
    c = common.inputs(FEED, settings, accepted_values, now, has_history)
    return common.feed_suite(
        c,
        TIMESTAMP_ORDER,
        extra=[
            common.share_of_rows_at_most(
                "unidentified_share",
                "customer_id IS NULL AND phone_number IS NULL",
                c.settings.max_unidentified_share,
            ),
        ],
    )
