"""The ``tickets`` suite: one ticket event per row (key ``event_id``)."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime
from typing import TYPE_CHECKING

from expectations import common
from expectations.common import QualitySettings

if TYPE_CHECKING:
    from great_expectations import ExpectationSuite

FEED = "tickets"
#: (later, earlier): a record is emitted after its event happened
TIMESTAMP_ORDER = [("emitted_at", "occurred_at")]


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
    )
