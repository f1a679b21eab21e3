"""The ``crm`` suite: one CRM event per row (key ``event_id``). The checks every feed gets
are in ``common.feed_suite``; this module states what is particular to crm."""

from __future__ import annotations

from typing import TYPE_CHECKING

from expectations import common

if TYPE_CHECKING:
    from great_expectations.expectations import Expectation

FEED = "crm"
#: (later, earlier): a record is emitted after its event happened
TIMESTAMP_ORDER = [("emitted_at", "occurred_at")]


def extra_checks(c: common.SuiteInputs) -> list[Expectation]:
    return []
