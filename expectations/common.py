"""What the feed suites share: severities, settings, and expectation builders.

Every expectation carries ``meta = {"severity": "critical" | "warning", "name": <check>}``.
The name is stable and machine-readable (``not_null:leg_id``, ``in_set:direction``,
``order:queued_at>=arrived_at`` …): it is what ``raw._quality_results`` records and what a
quarantine reason carries (``quality:<name>``). Enum values come from ``ingest.contracts``
(extended by the configured ``accepted_values``), never from a copied list.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Any, Literal

from beacon.config import QualityConfig
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

#: the suites' thresholds are the ``quality`` section of ``BeaconConfig`` (one class: defaults,
#: ``beacon.toml [quality]`` and ``BEACON_QUALITY_*``); ``QualitySettings.from_config(config)``
QualitySettings = QualityConfig
#: history-aware checks look this far back in ``raw.<feed>`` (null-rate drift)
HISTORY_DAYS = 28


@dataclass(frozen=True)
class SuiteInputs:
    """Everything a feed's suite is built from."""

    contract: Contract
    settings: QualitySettings
    now: datetime  # naive UTC, like the warehouse
    #: ``raw.<feed>`` exists: batch-vs-history checks (volume, null drift, redeliveries,
    #: tickets' events already loaded) can run
    has_history: bool = False
    #: keys must be unique within each value of this column (a batch of several files,
    #: ingest's gate: unique per file), not across the whole batch
    unique_within: str | None = None
    #: ``raw.crm`` exists: customers can be looked up in the CRM
    has_crm: bool = False
    #: the column that identifies a failing row (default: the contract key)
    row_id: str | None = None

    @property
    def future_limit(self) -> datetime:
        return self.now + timedelta(seconds=self.settings.future_tolerance_seconds)

    @property
    def row_key(self) -> str:
        return self.row_id or self.contract.key

    def raw(self, feed: str | None = None) -> str:
        """``raw.<feed>`` (default: this suite's feed), quoted."""
        return f"{ident('raw')}.{ident(feed or self.contract.feed)}"


def inputs(
    feed: str,
    settings: QualitySettings | None,
    accepted_values: Mapping[str, tuple[str, ...]] | None,
    now: datetime,
    has_history: bool = False,
    unique_within: str | None = None,
    *,
    has_crm: bool = False,
    row_id: str | None = None,
) -> SuiteInputs:
    contract = effective_contract(contract_for(feed), dict(accepted_values or {}))
    return SuiteInputs(
        contract,
        settings or QualitySettings(),
        now.replace(tzinfo=None),
        has_history,
        unique_within,
        has_crm,
        row_id,
    )


def tag(
    expectation: Expectation, severity: Severity, name: str, key_column: str | None = None
) -> Expectation:
    """Severity and name; ``key_column``: the expectation is row level, and its
    ``unexpected_rows_query`` returns the failing rows' identifiers in that column."""
    meta = {**(expectation.meta or {}), "severity": severity, "name": name}
    if key_column is not None:
        meta["key_column"] = key_column
    expectation.meta = meta
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
            *(null_drift(c) if c.has_history else []),
            *(redeliveries(c) if c.has_history else []),
            *(unknown_customers(c) if c.has_crm else []),
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
    if c.unique_within is not None:
        within = ident(c.unique_within)
        return [
            tag(
                rows_check(
                    unexpected_rows_query=(
                        f"SELECT {within}, {ident(key)} FROM {{batch}} "
                        f"GROUP BY {within}, {ident(key)} HAVING count(*) > 1"
                    ),
                    description=f"{key} unique within each {c.unique_within}",
                ),
                CRITICAL,
                f"unique:{key}",
            )
        ]
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

    query = (
        "SELECT share FROM (SELECT avg(CASE WHEN "
        + condition
        + " THEN 1.0 ELSE 0.0 END) AS share FROM {batch}) AS s WHERE share > "
        + repr(float(max_share))
    )
    return tag(
        rows_check(
            unexpected_rows_query=query,
            description=f"at most {max_share:.0%} of rows where {condition}",
        ),
        WARNING,
        name,
    )


def freshness(c: SuiteInputs) -> list[Expectation]:
    """Warning when the batch's newest event is older than the feed's allowed lag."""

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
            rows_check(
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
            rows_check(
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


def null_drift(c: SuiteInputs) -> list[Expectation]:
    """Warning when an optional field's null share in the batch exceeds its share over the
    trailing ``HISTORY_DAYS`` of ``raw.<feed>`` (before the batch's newest event) by more
    than ``max_null_share_increase``.

    One query for every optional field (those neither required nor conditionally required:
    a conditional field's null share follows the mix of event types); it returns one row
    per drifting field. Only added when ``raw.<feed>`` exists; no history rows → passes.
    """

    fields = [f.name for f in c.contract.fields if not f.required and f.required_when is None]
    if not fields:
        return []
    event = ident(c.contract.event_time)
    counts = ", ".join(f"count({ident(name)}) AS c{i}" for i, name in enumerate(fields))
    shares = " UNION ALL ".join(
        f"SELECT {literal(name)} AS field, 1 - bs.c{i} / nullif(bs.n, 0) AS batch_null_share, "
        f"1 - hs.c{i} / nullif(hs.n, 0) AS history_null_share FROM bs, hs"
        for i, name in enumerate(fields)
    )
    increase = float(c.settings.max_null_share_increase)
    query = (
        f"WITH b AS (SELECT * FROM {{batch}}), "
        f"bs AS (SELECT count(*) AS n, {counts} FROM b), "
        f"hs AS (SELECT count(*) AS n, {counts} FROM {c.raw()} "
        f"WHERE {event} >= (SELECT max({event}) FROM b) - INTERVAL {HISTORY_DAYS} DAY), "
        f"d AS ({shares}) "
        f"SELECT field, batch_null_share, history_null_share FROM d "
        f"WHERE batch_null_share > history_null_share + {literal(increase)}"
    )
    return [
        tag(
            rows_check(
                unexpected_rows_query=query,
                description=(
                    f"null share of each optional field at most {increase:.0%} points above "
                    f"its share over the trailing {HISTORY_DAYS} days of raw.{c.contract.feed}"
                ),
            ),
            WARNING,
            "null_drift",
        )
    ]


def redeliveries(c: SuiteInputs) -> list[Expectation]:
    """Warning when more than ``max_redelivery_share`` of the batch's rows have a key already
    in ``raw.<feed>`` (delivered by an earlier batch). Redeliveries are legal (the latest
    ``emitted_at`` wins); many of them mean a re-export. Only when ``raw.<feed>`` exists.

    ``raw.<feed>`` is searched within the batch's range of event times: a redelivery repeats
    its event's time, and on a long history the join stays small (a redelivery whose event
    time was corrected out of that range is not counted).
    """
    key = ident(c.contract.key)
    event = ident(c.contract.event_time)
    share = float(c.settings.max_redelivery_share)
    query = (
        f"WITH b AS (SELECT {key}, {event} FROM {{batch}}), "
        f"w AS (SELECT min({event}) AS lo, max({event}) AS hi FROM b), "
        f"h AS (SELECT r.{key} FROM {c.raw()} AS r, w WHERE r.{event} BETWEEN w.lo AND w.hi), "
        f"s AS (SELECT (SELECT count(*) FROM b) AS n, "
        f"(SELECT count(*) FROM b JOIN h ON h.{key} = b.{key}) AS again) "
        f"SELECT n AS batch_rows, again AS redelivered_rows, again / nullif(n, 0) AS share "
        f"FROM s WHERE again > {literal(share)} * n"
    )
    return [
        tag(
            rows_check(
                unexpected_rows_query=query,
                description=(
                    f"at most {share:.0%} of the batch's rows with a key already in "
                    f"raw.{c.contract.feed}"
                ),
            ),
            WARNING,
            "redelivery_share",
        )
    ]


def unknown_customers(c: SuiteInputs) -> list[Expectation]:
    """Warning when more than ``max_unknown_customer_share`` of the batch's rows that carry
    a ``customer_id`` carry one that ``raw.crm`` has never seen.

    The share is of the rows with a customer_id (rows without one are the unidentified
    share's business): a feed that identifies few callers, all of them unknown, still
    warns. Only for feeds other than crm that have ``customer_id``, when ``raw.crm`` exists
    and is not empty (a centre without a CRM feed is not warned on every batch); ingest
    loads crm first in a run, so a batch's new customers are usually there.
    """

    if c.contract.feed == "crm" or "customer_id" not in c.contract.names:
        return []
    share = float(c.settings.max_unknown_customer_share)
    query = (
        "WITH b AS (SELECT customer_id FROM {batch} WHERE customer_id IS NOT NULL), "
        f"k AS (SELECT DISTINCT customer_id FROM {c.raw('crm')}), "
        "s AS (SELECT count(*) AS n, count(*) FILTER (WHERE k.customer_id IS NULL) AS unknown "
        "FROM b LEFT JOIN k ON k.customer_id = b.customer_id) "
        "SELECT n AS rows_with_customer, unknown AS unknown_to_crm, "
        f"unknown / nullif(n, 0) AS share FROM s WHERE unknown > {literal(share)} * n "
        f"AND EXISTS (SELECT 1 FROM {c.raw('crm')})"
    )
    return [
        tag(
            rows_check(
                unexpected_rows_query=query,
                description=(
                    f"at most {share:.0%} of the rows with a customer_id unknown to raw.crm"
                ),
            ),
            WARNING,
            "unknown_customer_share",
        )
    ]


def rows_check(*, unexpected_rows_query: str, description: str) -> Expectation:
    """A SQL check: fails when the query returns any row (GX's ``UnexpectedRowsExpectation``,
    run once instead of twice: ``expectations/sql_check.py``)."""
    from expectations.sql_check import UnexpectedRowCountExpectation

    return UnexpectedRowCountExpectation(
        unexpected_rows_query=unexpected_rows_query, description=description
    )


def ensure_gx() -> None:
    """Apply the DuckDB fix before any suite is used."""
    apply_duckdb_fix()


def describe(expectation: Expectation) -> dict[str, Any]:
    """Severity and name of an expectation (KeyError if a suite forgot them)."""
    return {"severity": expectation.meta["severity"], "name": expectation.meta["name"]}
