"""What the feed suites share: severities, settings, and expectation builders.

Every expectation carries ``meta = {"severity": "critical" | "warning", "name": <check>}``.
The name is stable and machine-readable (``not_null:leg_id``, ``in_set:direction``,
``order:queued_at>=arrived_at`` …): it is what ``raw._quality_results`` records and what a
quarantine reason would carry. Enum values come from ``ingest.contracts`` (extended by the
configured ``accepted_values``), never from a copied list.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Any, Literal

from expectations.gx_duckdb import apply_duckdb_fix
from ingest.contracts import Contract, contract_for
from ingest.sql import ident, literal
from ingest.validate import effective_contract

if TYPE_CHECKING:
    from great_expectations import ExpectationSuite
    from great_expectations.expectations import Expectation

Severity = Literal["critical", "warning"]
CRITICAL: Severity = "critical"
WARNING: Severity = "warning"


@dataclass(frozen=True)
class QualitySettings:
    """Thresholds of the suites (defaults; not yet part of ``BeaconConfig``)."""

    #: a duration field (``*_seconds``) above this is implausible (a stuck timer)
    max_duration_seconds: float = 8 * 3600
    #: timestamps later than the run time plus this are "in the future" (clock skew slack)
    future_tolerance_seconds: float = 300
    #: warning: the largest acceptable share of nulls, per "feed.field"
    max_null_share: Mapping[str, float] = field(
        default_factory=lambda: {
            "calls.contact_reason": 0.5,
            "calls.emitted_at": 0.5,
            "tickets.customer_id": 0.5,
            "tickets.emitted_at": 0.5,
            "crm.emitted_at": 0.5,
        }
    )
    #: warning: the largest acceptable share of calls with neither customer_id nor phone
    max_unidentified_share: float = 0.2
    #: warning: the newest event of a batch may lag the run time by at most this, per feed
    max_lag_hours: Mapping[str, float] = field(
        default_factory=lambda: {"calls": 36.0, "tickets": 36.0, "crm": 72.0}
    )
    #: warning: a batch's rows on its main day, as a share of the same weekday's average
    #: over the trailing 4 weeks in ``raw.<feed>``, must lie in this band
    volume_band: tuple[float, float] = (0.5, 2.0)


@dataclass(frozen=True)
class SuiteInputs:
    """Everything a feed's suite is built from."""

    contract: Contract
    settings: QualitySettings
    now: datetime  # naive UTC, like the warehouse
    #: ``raw.<feed>`` exists: batch-vs-history checks (volume) can run
    has_history: bool = False

    @property
    def future_limit(self) -> datetime:
        return self.now + timedelta(seconds=self.settings.future_tolerance_seconds)


def inputs(
    feed: str,
    settings: QualitySettings | None,
    accepted_values: Mapping[str, tuple[str, ...]] | None,
    now: datetime,
    has_history: bool = False,
) -> SuiteInputs:
    contract = effective_contract(contract_for(feed), dict(accepted_values or {}))
    return SuiteInputs(
        contract, settings or QualitySettings(), now.replace(tzinfo=None), has_history
    )


def tag(expectation: Expectation, severity: Severity, name: str) -> Expectation:
    expectation.meta = {**(expectation.meta or {}), "severity": severity, "name": name}
    return expectation


def feed_suite(
    c: SuiteInputs,
    ordered: list[tuple[str, str]],
    extra: list[Expectation],
) -> ExpectationSuite:
    """The checks every feed gets, in one order, plus the feed's own ``extra`` ones."""
    return new_suite(
        c.contract.feed,
        [
            *contract_columns(c),
            *required_not_null(c),
            *enum_values(c),
            *minimums(c),
            *timestamp_order(ordered),
            *not_in_future(c),
            *key_unique(c),
            *null_shares(c),
            *freshness(c),
            *(volume(c) if c.has_history else []),
            *extra,
        ],
    )


def new_suite(name: str, expectations: list[Expectation]) -> ExpectationSuite:
    import great_expectations as gx

    names = [e.meta["name"] for e in expectations]
    if len(names) != len(set(names)):
        raise ValueError(f"suite {name}: duplicate expectation names {names}")
    return gx.ExpectationSuite(name=name, expectations=expectations)


# --- critical, row level (the failing keys can be listed) ---------------------------------


def required_not_null(c: SuiteInputs) -> list[Expectation]:
    import great_expectations.expectations as gxe

    return [
        tag(gxe.ExpectColumnValuesToNotBeNull(column=f.name), CRITICAL, f"not_null:{f.name}")
        for f in c.contract.fields
        if f.required
    ]


def enum_values(c: SuiteInputs) -> list[Expectation]:
    import great_expectations.expectations as gxe

    return [
        tag(
            gxe.ExpectColumnValuesToBeInSet(column=f.name, value_set=list(f.enum)),
            CRITICAL,
            f"in_set:{f.name}",
        )
        for f in c.contract.fields
        if f.enum
    ]


def minimums(c: SuiteInputs) -> list[Expectation]:
    """Contract minimums; duration fields (``*_seconds``) also get the sane maximum."""
    import great_expectations.expectations as gxe

    out = []
    for f in c.contract.fields:
        if f.min_value is None:
            continue
        if f.name.endswith("_seconds"):
            maximum: float | None = c.settings.max_duration_seconds
            name = f"duration:{f.name}"
        else:
            maximum, name = None, f"minimum:{f.name}"
        out.append(
            tag(
                gxe.ExpectColumnValuesToBeBetween(
                    column=f.name, min_value=f.min_value, max_value=maximum
                ),
                CRITICAL,
                name,
            )
        )
    return out


def timestamp_order(pairs: list[tuple[str, str]]) -> list[Expectation]:
    """``later >= earlier`` for each pair, where both are present."""
    import great_expectations.expectations as gxe

    return [
        tag(
            gxe.ExpectColumnPairValuesAToBeGreaterThanB(
                column_A=later,
                column_B=earlier,
                or_equal=True,
                ignore_row_if="either_value_is_missing",
            ),
            CRITICAL,
            f"order:{later}>={earlier}",
        )
        for later, earlier in pairs
    ]


def not_in_future(c: SuiteInputs) -> list[Expectation]:
    import great_expectations.expectations as gxe

    return [
        tag(
            gxe.ExpectColumnValuesToBeBetween(column=f.name, max_value=c.future_limit),
            CRITICAL,
            f"not_future:{f.name}",
        )
        for f in c.contract.fields
        if f.type == "timestamp"
    ]


# --- critical, batch level ----------------------------------------------------------------


def contract_columns(c: SuiteInputs) -> list[Expectation]:
    """Every contract field is a column of the batch (extra columns are allowed)."""
    import great_expectations.expectations as gxe

    return [
        tag(
            gxe.ExpectTableColumnsToMatchSet(column_set=c.contract.names, exact_match=False),
            CRITICAL,
            "columns",
        )
    ]


def key_unique(c: SuiteInputs) -> list[Expectation]:
    """Keys unique within the batch: the proportion of distinct keys is exactly 1.

    Far cheaper in DuckDB than ``ExpectColumnValuesToBeUnique`` (a window over the key);
    the price is that it cannot list the duplicated keys (they are one GROUP BY away).
    """
    import great_expectations.expectations as gxe

    key = c.contract.key
    return [
        tag(
            gxe.ExpectColumnProportionOfUniqueValuesToBeBetween(
                column=key, min_value=1, max_value=1
            ),
            CRITICAL,
            f"unique:{key}",
        )
    ]


# --- warnings (batch level: reported, never blocking) -------------------------------------


def null_shares(c: SuiteInputs) -> list[Expectation]:
    import great_expectations.expectations as gxe

    out = []
    for name, share in sorted(c.settings.max_null_share.items()):
        feed, _, column = name.partition(".")
        if feed != c.contract.feed:
            continue
        c.contract.field(column)  # a typo fails loudly
        out.append(
            tag(
                gxe.ExpectColumnValuesToNotBeNull(column=column, mostly=1 - share),
                WARNING,
                f"null_share:{column}",
            )
        )
    return out


def share_of_rows_at_most(name: str, condition: str, max_share: float) -> Expectation:
    """Warning when more than ``max_share`` of the batch's rows match ``condition``.

    ``condition`` is SQL text from code (never from data). GX's ``UnexpectedRowsExpectation``
    fails on any returned row, so the query returns one row exactly when the share is too
    high; the observed value is then 1, and the share is in the description.
    """
    import great_expectations.expectations as gxe

    query = (
        "SELECT share FROM (SELECT avg(CASE WHEN "
        + condition
        + " THEN 1.0 ELSE 0.0 END) AS share FROM {batch}) AS s WHERE share > "
        + repr(float(max_share))
    )
    return tag(
        gxe.UnexpectedRowsExpectation(
            unexpected_rows_query=query,
            description=f"at most {max_share:.0%} of rows where {condition}",
        ),
        WARNING,
        name,
    )


def freshness(c: SuiteInputs) -> list[Expectation]:
    """Warning when the batch's newest event is older than the feed's allowed lag."""
    import great_expectations.expectations as gxe

    hours = c.settings.max_lag_hours.get(c.contract.feed)
    if hours is None:
        return []
    event = ident(c.contract.event_time)
    oldest_fresh = literal((c.now - timedelta(hours=hours)).isoformat(sep=" "))
    query = (
        f"SELECT max({event}) AS newest_event FROM {{batch}} "
        f"HAVING max({event}) < CAST({oldest_fresh} AS TIMESTAMP)"
    )
    return [
        tag(
            gxe.UnexpectedRowsExpectation(
                unexpected_rows_query=query,
                description=f"newest {c.contract.event_time} at most {hours:g} h before the run",
            ),
            WARNING,
            "freshness",
        )
    ]


def volume(c: SuiteInputs) -> list[Expectation]:
    """Warning when the batch's volume is off the same weekday of the trailing 4 weeks.

    The batch's main day is the event date with most rows in it (one file per day is the
    usual delivery); its row count is compared with the average daily count in
    ``raw.<feed>`` on the same weekday 1–4 weeks earlier (days with no rows are ignored;
    without any history the check passes). Only added when ``raw.<feed>`` exists.
    """
    import great_expectations.expectations as gxe

    low, high = c.settings.volume_band
    event = ident(c.contract.event_time)
    table = f"{ident('raw')}.{ident(c.contract.feed)}"
    query = (
        f"WITH b AS (SELECT CAST({event} AS DATE) AS d, count(*) AS n FROM {{batch}} "
        f"GROUP BY 1 ORDER BY n DESC, d DESC LIMIT 1), "
        f"h AS (SELECT CAST(r.{event} AS DATE) AS d, count(*) AS n FROM {table} AS r, b "
        f"WHERE CAST(r.{event} AS DATE) IN (b.d - 7, b.d - 14, b.d - 21, b.d - 28) "
        f"GROUP BY 1) "
        f"SELECT b.d AS batch_day, b.n AS batch_rows, avg(h.n) AS usual_rows FROM b, h "
        f"GROUP BY b.d, b.n HAVING b.n < {literal(float(low))} * avg(h.n) "
        f"OR b.n > {literal(float(high))} * avg(h.n)"
    )
    return [
        tag(
            gxe.UnexpectedRowsExpectation(
                unexpected_rows_query=query,
                description=(
                    f"rows of the batch's main day within {low:g}–{high:g}× the same "
                    "weekday's average over the trailing 4 weeks"
                ),
            ),
            WARNING,
            "volume",
        )
    ]


def ensure_gx() -> None:
    """Apply the DuckDB fix before any suite is used."""
    apply_duckdb_fix()


def describe(expectation: Expectation) -> dict[str, Any]:
    """Severity and name of an expectation (KeyError if a suite forgot them)."""
    return {"severity": expectation.meta["severity"], "name": expectation.meta["name"]}
