"""Every number the daily report shows, computed here and only here, in DuckDB SQL over the
marts (``marts.*`` of the working warehouse or of the published serving copy).

The renderer (:mod:`reporting.render`) only formats what :func:`compute_figures` returns, and
``tests/test_report.py`` recomputes these figures from the marts with its own SQL.

Periods, for a reported local day ``D`` (the marts' days are the centre's local days):

* the day: ``D``;
* the trailing 7 days: ``D-7 … D-1`` (pooled: summed counts divided again, never an average
  of daily rates);
* the same weekday last week: ``D-7``;
* the week to the day: ``D-6 … D`` (repeat demand), the 4 weeks to the day: ``D-27 … D``
  (hand-off paths), the last complete week (Monday–Sunday) ending on or before ``D`` (the
  AHT trap), the local month of ``D`` and the one before (the triple crown).

Outcomes count on the day the issue started and only mature issues (``repeat_window`` passed
since their last contact) decide FCR and SCO: a recent day's outcomes are provisional, and
the figures carry each period's mature share so that nobody reads them as final.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from typing import Any

import duckdb

PERIODS = ("day", "trailing_7d", "same_weekday")

#: below this mature share a day's outcome figures are not compared (they are mostly unknown)
MATURE_ENOUGH = 0.8
#: movers: relative change vs the trailing 7 days worth a sentence, and the volume it needs
MOVER_MIN_RELATIVE_CHANGE = 0.05
MOVER_MIN_DENOMINATOR = 30


@dataclass(frozen=True)
class MetricSpec:
    """A headline metric: how it is computed from ``mart_daily_outcomes`` counts."""

    key: str
    label: str
    group: str  # outcome | output
    unit: str  # rate | seconds
    better: str | None  # higher | lower | None (AHT: fast is not better by itself)
    numerator: str | None  # a mart column expression (constants of this module, never data)
    denominator: str | None
    driver: str | None  # the mart dimension a change is explained by
    meaning: str


HEADLINE_METRICS: tuple[MetricSpec, ...] = (
    MetricSpec(
        "fcr",
        "First-contact resolution",
        "outcome",
        "rate",
        "higher",
        "issues_first_contact_resolved",
        "issues_mature",
        "contact_reason",
        "Problems solved at the first contact and not raised again, of the problems whose "
        "outcome is known.",
    ),
    MetricSpec(
        "repeat_rate",
        "Repeat-contact rate",
        "outcome",
        "rate",
        "lower",
        "repeat_contacts",
        "issue_contacts",
        "contact_reason",
        "Contacts that were not the customer's first about the same problem.",
    ),
    MetricSpec(
        "sco_rate",
        "Successful customer outcome",
        "outcome",
        "rate",
        "higher",
        "issues_successful_outcome",
        "issues_mature",
        "contact_reason",
        "Solved for good, within the target time, with few hand-offs, and the customer stayed.",
    ),
    MetricSpec(
        "ttr_median",
        "Time to resolution (median)",
        "outcome",
        "seconds",
        "lower",
        None,
        None,
        None,
        "From the first contact to the moment the problem was solved, for problems solved for "
        "good.",
    ),
    MetricSpec(
        "aht",
        "Average handle time",
        "output",
        "seconds",
        None,
        "handle_seconds",
        "handled",
        "queue",
        "Talk, hold and after-call work per answered call.",
    ),
    MetricSpec(
        "asa",
        "Average speed of answer",
        "output",
        "seconds",
        "lower",
        "answer_wait_seconds",
        "handled",
        "queue",
        "Time in the queue before an agent answered.",
    ),
    MetricSpec(
        "service_level",
        "Service level",
        "output",
        "rate",
        "higher",
        "answered_within_service_level",
        "offered - short_abandons",
        "queue",
        "Calls answered within the service-level threshold, of calls offered.",
    ),
    MetricSpec(
        "abandonment",
        "Abandonment rate",
        "output",
        "rate",
        "lower",
        "abandoned",
        "offered - short_abandons",
        "queue",
        "Callers who hung up in the queue, of calls offered.",
    ),
)
METRICS_BY_KEY = {spec.key: spec for spec in HEADLINE_METRICS}


# --- the figures ----------------------------------------------------------------------------


@dataclass(frozen=True)
class Volume:
    """Counts of one period (from ``mart_daily_outcomes``)."""

    contacts: int
    identified_contacts: int
    offered: int
    handled: int
    tickets_created: int
    issues_started: int
    issues_mature: int
    issues_pending: int

    @property
    def mature_share(self) -> float | None:
        return self.issues_mature / self.issues_started if self.issues_started else None


@dataclass(frozen=True)
class SeriesPoint:
    day: date
    value: float | None
    mature_share: float | None  # outcomes: share of the day's issues with a known outcome


@dataclass(frozen=True)
class Headline:
    spec: MetricSpec
    values: dict[str, float | None]  # period -> value
    series: tuple[SeriesPoint, ...]  # the 14 days to the reported day

    @property
    def day(self) -> float | None:
        return self.values["day"]

    @property
    def trailing_7d(self) -> float | None:
        return self.values["trailing_7d"]

    @property
    def same_weekday(self) -> float | None:
        return self.values["same_weekday"]


@dataclass(frozen=True)
class Mover:
    """A headline metric that moved against the trailing 7 days, and where most of it was."""

    key: str
    day: float
    trailing_7d: float
    relative_change: float
    verdict: str  # better | worse | neutral
    driver_dimension: str | None = None  # contact_reason | queue
    driver: str | None = None
    driver_day: float | None = None
    driver_trailing_7d: float | None = None
    driver_share: float | None = None  # the member's share of the day's denominator


@dataclass(frozen=True)
class RepeatReason:
    reason: str
    identified_contacts: int
    repeats: int
    repeats_previous_week: int

    @property
    def repeat_share(self) -> float | None:
        return self.repeats / self.identified_contacts if self.identified_contacts else None


@dataclass(frozen=True)
class HandoffPath:
    from_queue: str
    to_queue: str
    transfers: int
    issues: int
    issues_mature: int
    issues_durably_resolved: int
    contacts_per_issue: float | None

    @property
    def unresolved(self) -> int:
        return self.issues_mature - self.issues_durably_resolved

    @property
    def resolution_rate(self) -> float | None:
        return self.issues_durably_resolved / self.issues_mature if self.issues_mature else None


@dataclass(frozen=True)
class TrapRow:
    """An agent (``mart_agent_weekly``) or a queue, on AHT beside repeat rate."""

    name: str
    team: str | None
    aht_seconds: float | None
    repeat_rate: float | None
    handled: int  # answered legs
    contacts_handled: int
    repeats_charged: int
    quadrant: str
    is_trap: bool


@dataclass(frozen=True)
class AhtTrap:
    week_start: date
    median_aht_seconds: float | None
    median_repeat_rate: float | None
    agents: tuple[TrapRow, ...]  # every rated agent (the scatter)
    queues: tuple[TrapRow, ...]
    queue_median_aht_seconds: float | None
    queue_median_repeat_rate: float | None

    @property
    def trap_agents(self) -> tuple[TrapRow, ...]:
        return tuple(row for row in self.agents if row.is_trap)

    @property
    def trap_queues(self) -> tuple[TrapRow, ...]:
        return tuple(row for row in self.queues if row.is_trap)


@dataclass(frozen=True)
class CrownMonth:
    """One row of ``mart_triple_crown``."""

    month_start: date
    handling_cost: float
    issues_started: int
    issues_mature: int
    issues_durably_resolved: int
    cost_per_resolution: float | None
    sco_rate: float | None
    churn_30d_after_resolved: float | None
    churn_30d_after_unresolved: float | None
    churn_90d_after_resolved: float | None
    churn_90d_after_unresolved: float | None
    resolved_issues_observed_30d: int
    unresolved_issues_observed_30d: int
    customers_at_risk: int
    revenue_at_risk: float
    median_time_to_resolution_seconds: float | None

    @property
    def mature_share(self) -> float | None:
        return self.issues_mature / self.issues_started if self.issues_started else None


@dataclass(frozen=True)
class PendingDay:
    day: date
    issues_started: int
    issues_mature: int
    issues_pending: int


@dataclass(frozen=True)
class Pending:
    days: tuple[PendingDay, ...]  # the 14 days to the reported day
    issues_pending: int  # every issue started on or before the day and not yet mature
    pending_resolved: int  # last contact resolved; waiting to see whether the customer returns
    pending_open: int  # last contact not resolved
    oldest_pending_day: date | None


@dataclass(frozen=True)
class FeedTrust:
    feed: str
    status: str
    status_reason: str | None
    status_since: datetime | None
    newest_event_at: datetime | None
    last_loaded_at: datetime | None
    files_failed: int
    rows_quarantined_open: int
    checks_run: int  # the latest quality-gate batch
    checks_passed: int
    critical_failed: int
    warnings_failed: int
    failed_checks: tuple[str, ...]
    latest_ingest_day: date | None
    rows_quarantined_latest_day: int
    files_refused_latest_day: int
    is_stale: bool  # no event on or after the reported day (CRM: within the 7 days before it)


@dataclass(frozen=True)
class Trust:
    trusted: bool
    reasons: tuple[str, ...]  # why not (empty when trusted)
    caveats: tuple[str, ...]  # worth knowing either way
    feeds: tuple[FeedTrust, ...]

    @property
    def degraded_feeds(self) -> tuple[str, ...]:
        return tuple(f.feed for f in self.feeds if f.status != "ok")

    @property
    def rows_quarantined_open(self) -> int:
        return sum(f.rows_quarantined_open for f in self.feeds)

    @property
    def checks_passed(self) -> int:
        return sum(f.checks_passed for f in self.feeds)

    @property
    def checks_failed(self) -> int:
        return sum(f.checks_run - f.checks_passed for f in self.feeds)


@dataclass(frozen=True)
class ReportFigures:
    day: date
    source: str
    generated_at: datetime
    as_of_at: datetime | None  # the moment maturity was judged at (mart_as_of)
    repeat_window_days: int | None  # an issue is mature this long after its last contact
    first_day: date | None  # of the data
    last_day: date | None
    volumes: dict[str, Volume]  # period -> counts
    headline: tuple[Headline, ...]
    movers: tuple[Mover, ...]
    repeat_reasons: tuple[RepeatReason, ...]
    handoff_paths: tuple[HandoffPath, ...]
    no_handoff_resolution_rate: float | None
    handoff_resolution_rate: float | None
    aht_trap: AhtTrap
    crown: CrownMonth | None  # the month of the day
    crown_previous: CrownMonth | None
    pending: Pending
    trust: Trust
    notes: tuple[str, ...] = field(default=())

    def metric(self, key: str) -> Headline:
        return next(h for h in self.headline if h.spec.key == key)

    def headline_values(self) -> dict[str, dict[str, float | None]]:
        """``{metric: {period: value}}``: what the tests recompute."""
        return {h.spec.key: dict(h.values) for h in self.headline}


# --- SQL --------------------------------------------------------------------------------------

_RATIO_METRICS = [spec for spec in HEADLINE_METRICS if spec.numerator]

_PERIODS_CTE = """
periods as (
    select * from (values
        ('day', $day, $day),
        ('trailing_7d', $day - 7, $day - 1),
        ('same_weekday', $day - 7, $day - 7)
    ) as p(period, first_day, last_day)
)"""

_VOLUME_COLUMNS = (
    "contacts",
    "identified_contacts",
    "offered",
    "handled",
    "tickets_created",
    "issues_started",
    "issues_mature",
    "issues_pending",
)


def _ratio_columns(prefix: str = "d.") -> str:
    return ",\n".join(
        f"    sum({_qualify(spec.numerator, prefix)}) / "
        f"nullif(sum({_qualify(spec.denominator, prefix)}), 0) as {spec.key}"
        for spec in _RATIO_METRICS
    )


def _qualify(expression: str, prefix: str) -> str:
    return " ".join(
        prefix + token if token.isidentifier() else token for token in expression.split()
    )


_HEADLINE_SQL = f"""
with {_PERIODS_CTE},
daily as (
    select * from marts.mart_daily_outcomes where outcome_date between $day - 7 and $day
),
outputs_and_outcomes as (
    select
        p.period,
        {", ".join(f"coalesce(sum(d.{c}), 0) as {c}" for c in _VOLUME_COLUMNS)},
{_ratio_columns()}
    from periods as p
    left join daily as d on d.outcome_date between p.first_day and p.last_day
    group by p.period
),
resolution_times as (
    select
        p.period,
        quantile_cont(i.time_to_resolution_seconds, 0.5)
            filter (where i.is_durably_resolved) as ttr_median
    from periods as p
    left join marts.fct_issues as i on i.issue_started_date between p.first_day and p.last_day
    group by p.period
)
select * from outputs_and_outcomes join resolution_times using (period)
"""

_SERIES_SQL = f"""
with days as (
    select cast(range as date) as day
    from range(cast($day - 13 as timestamp), cast($day + 1 as timestamp), interval 1 day)
),
daily as (
    select
        outcome_date as day,
        sum(issues_started) as issues_started,
        sum(issues_mature) as issues_mature,
        sum(issues_pending) as issues_pending,
{_ratio_columns("")}
    from marts.mart_daily_outcomes
    where outcome_date between $day - 13 and $day
    group by outcome_date
),
resolution_times as (
    select
        issue_started_date as day,
        quantile_cont(time_to_resolution_seconds, 0.5)
            filter (where is_durably_resolved) as ttr_median
    from marts.fct_issues
    where issue_started_date between $day - 13 and $day
    group by issue_started_date
)
select
    days.day,
    coalesce(daily.issues_started, 0) as issues_started,
    coalesce(daily.issues_mature, 0) as issues_mature,
    coalesce(daily.issues_pending, 0) as issues_pending,
    {", ".join(f"daily.{spec.key}" for spec in _RATIO_METRICS)},
    resolution_times.ttr_median
from days
left join daily using (day)
left join resolution_times using (day)
order by days.day
"""


def _driver_sql() -> str:
    parts = []
    for spec in _RATIO_METRICS:
        num, den = spec.numerator, spec.denominator
        parts.append(
            f"""
    select
        '{spec.key}' as metric,
        {spec.driver} as member,
        sum({num}) filter (where outcome_date = $day) as num_day,
        sum({den}) filter (where outcome_date = $day) as den_day,
        sum({num}) filter (where outcome_date < $day) as num_trailing,
        sum({den}) filter (where outcome_date < $day) as den_trailing
    from marts.mart_daily_outcomes
    where outcome_date between $day - 7 and $day
    group by {spec.driver}"""
        )
    union = "\n    union all".join(parts)
    return f"""
with members as ({union}
),
rated as (
    select
        *,
        num_day / nullif(den_day, 0) as rate_day,
        num_trailing / nullif(den_trailing, 0) as rate_trailing,
        sum(num_day) over (partition by metric) / nullif(sum(den_day) over (partition by metric), 0)
            as total_day,
        sum(num_trailing) over (partition by metric)
            / nullif(sum(den_trailing) over (partition by metric), 0) as total_trailing,
        den_day / nullif(sum(den_day) over (partition by metric), 0) as share_day
    from members
),
effects as (
    -- the member's own change, weighted by its share of the day: a rate-change attribution
    select
        *,
        (coalesce(rate_day, total_day) - coalesce(rate_trailing, total_trailing)) * share_day
            as effect
    from rated
    where den_day > 0
)
select metric, member, rate_day, rate_trailing, share_day, effect
from effects
where effect * sign(total_day - total_trailing) > 0
qualify row_number() over (
    partition by metric order by effect * sign(total_day - total_trailing) desc, member
) = 1
"""


_REPEAT_REASONS_SQL = """
select
    contact_reason,
    coalesce(sum(identified_contacts) filter (where outcome_date > $day - 7), 0) as contacts,
    coalesce(sum(failure_demand_repeats) filter (where outcome_date > $day - 7), 0) as repeats,
    coalesce(sum(failure_demand_repeats) filter (where outcome_date <= $day - 7), 0)
        as repeats_previous_week
from marts.mart_daily_outcomes
where outcome_date between $day - 13 and $day
group by contact_reason
having sum(failure_demand_repeats) filter (where outcome_date > $day - 7) > 0
order by repeats desc, contact_reason
limit $limit
"""

_HANDOFF_SQL = """
with transfers as (
    select queue as from_queue, coalesce(transferred_to_queue, 'unknown') as to_queue, issue_id
    from marts.fct_call_legs
    where is_transferred and arrived_date between $day - 27 and $day
),
paths as (
    select from_queue, to_queue, count(*) as transfers
    from transfers
    group by from_queue, to_queue
),
path_issues as (
    select distinct
        transfers.from_queue,
        transfers.to_queue,
        issues.issue_id,
        issues.is_mature,
        issues.is_durably_resolved,
        issues.contacts
    from transfers
    join marts.fct_issues as issues on issues.issue_id = transfers.issue_id
),
outcomes as (
    select
        from_queue,
        to_queue,
        count(*) as issues,
        count(*) filter (where is_mature) as issues_mature,
        count(*) filter (where is_durably_resolved) as issues_durably_resolved,
        avg(contacts) as contacts_per_issue
    from path_issues
    group by from_queue, to_queue
)
select
    paths.from_queue,
    paths.to_queue,
    paths.transfers,
    coalesce(outcomes.issues, 0) as issues,
    coalesce(outcomes.issues_mature, 0) as issues_mature,
    coalesce(outcomes.issues_durably_resolved, 0) as issues_durably_resolved,
    outcomes.contacts_per_issue
from paths
left join outcomes using (from_queue, to_queue)
order by
    coalesce(outcomes.issues_mature, 0) - coalesce(outcomes.issues_durably_resolved, 0) desc,
    paths.transfers desc,
    paths.from_queue,
    paths.to_queue
limit $limit
"""

_HANDOFF_BASELINE_SQL = """
select
    count(*) filter (where is_durably_resolved and handoffs = 0)
        / nullif(count(*) filter (where is_mature and handoffs = 0), 0) as without_handoff,
    count(*) filter (where is_durably_resolved and handoffs > 0)
        / nullif(count(*) filter (where is_mature and handoffs > 0), 0) as with_handoff
from marts.fct_issues
where issue_started_date between $day - 27 and $day
"""

_AGENT_TRAP_SQL = """
select
    agent_id,
    team,
    aht_seconds,
    repeat_rate,
    legs_handled,
    contacts_handled,
    repeats_charged,
    aht_quadrant,
    is_aht_trap,
    median_aht_seconds,
    median_repeat_rate
from marts.mart_agent_weekly
where week_start = $week and aht_quadrant <> 'not_rated'
order by is_aht_trap desc, repeat_rate desc, agent_id
"""

_QUEUE_TRAP_SQL = """
with handle_times as (
    select
        queue,
        count(*) filter (where is_handled) as handled,
        sum(handle_seconds) filter (where is_handled) as handle_seconds
    from marts.fct_call_legs
    where is_customer_initiated and arrived_date between $week and $week + 6
    group by queue
),
repeats as (
    select
        handled_in_queue as queue,
        count(*) as contacts_handled,
        count(*) filter (where is_followed_by_repeat) as repeats_charged
    from marts.fct_contacts
    where is_identified and started_date between $week and $week + 6
    group by handled_in_queue
),
rated as (
    select
        queue,
        handled,
        contacts_handled,
        repeats_charged,
        handle_seconds / handled as aht_seconds,
        repeats_charged / contacts_handled as repeat_rate
    from handle_times
    join repeats using (queue)
    where handled > 0 and contacts_handled > 0
),
medians as (
    select
        quantile_cont(aht_seconds, 0.5) as median_aht_seconds,
        quantile_cont(repeat_rate, 0.5) as median_repeat_rate
    from rated
)
select
    rated.*,
    medians.*,
    case
        when aht_seconds < median_aht_seconds and repeat_rate > median_repeat_rate
            then 'aht_trap'
        when aht_seconds < median_aht_seconds then 'fast_and_effective'
        when repeat_rate > median_repeat_rate then 'slow_and_repeating'
        else 'slow_and_effective'
    end as quadrant
from rated, medians
order by quadrant = 'aht_trap' desc, repeat_rate desc, queue
"""

_CROWN_SQL = """
select
    month_start, handling_cost, issues_started, issues_mature, issues_durably_resolved,
    cost_per_resolution, sco_rate, churn_30d_after_resolved, churn_30d_after_unresolved,
    churn_90d_after_resolved, churn_90d_after_unresolved, resolved_issues_observed_30d,
    unresolved_issues_observed_30d, customers_at_risk, revenue_at_risk,
    median_time_to_resolution_seconds
from marts.mart_triple_crown
where month_start = $month
"""

_PENDING_SQL = """
select
    count(*) as issues_pending,
    count(*) filter (where outcome_status = 'pending_resolved') as pending_resolved,
    count(*) filter (where outcome_status <> 'pending_resolved') as pending_open,
    min(issue_started_date) as oldest_pending_day
from marts.fct_issues
where not is_mature and issue_started_date <= $day
"""

_TRUST_SQL = """
with latest_checks as (
    select
        checks.feed,
        count(*) as checks_run,
        count(*) filter (where checks.is_passed) as checks_passed,
        count(*) filter (where not checks.is_passed and checks.severity = 'critical')
            as critical_failed,
        count(*) filter (where not checks.is_passed and checks.severity = 'warning')
            as warnings_failed,
        list(checks.expectation order by checks.severity, checks.expectation)
            filter (where not checks.is_passed) as failed_checks
    from marts.fct_quality_checks as checks
    join marts.mart_feed_status as status
        on status.feed = checks.feed and status.latest_batch_id = checks.batch_id
    group by checks.feed
),
latest_ingest as (
    select feed, ingested_date, rows_quarantined, files_refused
    from marts.mart_feed_health_daily
    qualify row_number() over (partition by feed order by ingested_date desc) = 1
)
select
    status.feed,
    status.feed_status,
    status.status_reason,
    status.status_since,
    status.newest_event_at,
    status.last_loaded_at,
    coalesce(status.files_failed, 0) as files_failed,
    coalesce(status.rows_quarantined_open, 0) as rows_quarantined_open,
    coalesce(latest_checks.checks_run, 0) as checks_run,
    coalesce(latest_checks.checks_passed, 0) as checks_passed,
    coalesce(latest_checks.critical_failed, 0) as critical_failed,
    coalesce(latest_checks.warnings_failed, 0) as warnings_failed,
    coalesce(latest_checks.failed_checks, []) as failed_checks,
    latest_ingest.ingested_date,
    coalesce(latest_ingest.rows_quarantined, 0) as rows_quarantined_latest_day,
    coalesce(latest_ingest.files_refused, 0) as files_refused_latest_day,
    case
        when status.newest_event_at is null then true
        when status.feed = 'crm' then cast(status.newest_event_at as date) < $day - 7
        else cast(status.newest_event_at as date) < $day
    end as is_stale
from marts.mart_feed_status as status
left join latest_checks using (feed)
left join latest_ingest using (feed)
order by status.feed
"""


# --- computing ----------------------------------------------------------------------------------


def _rows(con: duckdb.DuckDBPyConnection, sql: str, **params: Any) -> list[dict[str, Any]]:
    cursor = con.execute(sql, params)
    names = [d[0] for d in cursor.description]
    return [dict(zip(names, row, strict=True)) for row in cursor.fetchall()]


def _float(value: Any) -> float | None:
    return None if value is None else float(value)


def last_complete_week(day: date) -> date:
    """Monday of the last Monday–Sunday week that ended on or before ``day``."""
    monday_after = day + timedelta(days=1) - timedelta(days=(day + timedelta(days=1)).weekday())
    return monday_after - timedelta(days=7)


def compute_figures(
    con: duckdb.DuckDBPyConnection,
    day: date,
    *,
    source: str = "",
    generated_at: datetime | None = None,
    top: int = 8,
) -> ReportFigures:
    """Every figure of the report for local day ``day``, from the marts ``con`` can read."""
    generated_at = generated_at or datetime.now().astimezone()
    notes: list[str] = []

    periods = {row["period"]: row for row in _rows(con, _HEADLINE_SQL, day=day)}
    volumes = {
        period: Volume(**{c: int(periods[period][c]) for c in _VOLUME_COLUMNS})
        for period in PERIODS
    }
    series_rows = _rows(con, _SERIES_SQL, day=day)
    headline = []
    for spec in HEADLINE_METRICS:
        series = tuple(
            SeriesPoint(
                day=row["day"],
                value=_float(row[spec.key]),
                mature_share=(row["issues_mature"] / row["issues_started"])
                if spec.group == "outcome" and row["issues_started"]
                else None,
            )
            for row in series_rows
        )
        values = {period: _float(periods[period][spec.key]) for period in PERIODS}
        headline.append(Headline(spec=spec, values=values, series=series))

    movers = _movers(con, day, headline, volumes, periods)
    if volumes["day"].contacts == 0:
        notes.append(f"The marts hold no contacts for {day.isoformat()}.")

    reasons = tuple(
        RepeatReason(
            reason=row["contact_reason"],
            identified_contacts=int(row["contacts"]),
            repeats=int(row["repeats"]),
            repeats_previous_week=int(row["repeats_previous_week"]),
        )
        for row in _rows(con, _REPEAT_REASONS_SQL, day=day, limit=top)
    )
    paths = tuple(
        HandoffPath(
            from_queue=row["from_queue"],
            to_queue=row["to_queue"],
            transfers=int(row["transfers"]),
            issues=int(row["issues"]),
            issues_mature=int(row["issues_mature"]),
            issues_durably_resolved=int(row["issues_durably_resolved"]),
            contacts_per_issue=_float(row["contacts_per_issue"]),
        )
        for row in _rows(con, _HANDOFF_SQL, day=day, limit=5)
    )
    baseline = _rows(con, _HANDOFF_BASELINE_SQL, day=day)[0]

    dates = _rows(
        con,
        """
        select min(outcome_date) as first_day, max(outcome_date) as last_day
        from marts.mart_daily_outcomes
        """,
    )[0]
    as_of_at, window = _as_of(con)
    month = day.replace(day=1)
    previous_month = (month - timedelta(days=1)).replace(day=1)
    return ReportFigures(
        day=day,
        source=source,
        generated_at=generated_at,
        as_of_at=as_of_at,
        repeat_window_days=window,
        first_day=dates["first_day"],
        last_day=dates["last_day"],
        volumes=volumes,
        headline=tuple(headline),
        movers=movers,
        repeat_reasons=reasons,
        handoff_paths=paths,
        no_handoff_resolution_rate=_float(baseline["without_handoff"]),
        handoff_resolution_rate=_float(baseline["with_handoff"]),
        aht_trap=_aht_trap(con, last_complete_week(day)),
        crown=_crown(con, month),
        crown_previous=_crown(con, previous_month),
        pending=_pending(con, day, series_rows),
        trust=_trust(con, day, volumes["day"]),
        notes=tuple(notes),
    )


def _as_of(con: duckdb.DuckDBPyConnection) -> tuple[datetime | None, int | None]:
    """The moment outcomes are judged at, and the repeat window: ``mart_as_of`` (one row);
    marts built before it existed carry the moment on every ``fct_issues`` row."""
    columns = {
        (table, column)
        for table, column in con.execute(
            "select table_name, column_name from information_schema.columns "
            "where table_schema = 'marts' and table_name in ('mart_as_of', 'fct_issues')"
        ).fetchall()
    }
    if ("mart_as_of", "repeat_window_days") in columns:
        row = con.execute(
            "select max(as_of_at), max(repeat_window_days) from marts.mart_as_of"
        ).fetchone()
        return row[0], None if row[1] is None else int(row[1])
    if ("fct_issues", "as_of_at") in columns:
        return con.execute("select max(as_of_at) from marts.fct_issues").fetchone()[0], None
    return None, None


def _movers(
    con: duckdb.DuckDBPyConnection,
    day: date,
    headline: list[Headline],
    volumes: dict[str, Volume],
    periods: dict[str, dict[str, Any]],
) -> tuple[Mover, ...]:
    drivers = {row["metric"]: row for row in _rows(con, _driver_sql(), day=day)}
    movers = []
    for h in headline:
        spec = h.spec
        if h.day is None or not h.trailing_7d:
            continue
        if spec.group == "outcome" and (volumes["day"].mature_share or 0) < MATURE_ENOUGH:
            continue  # mostly unknown yet: the pending panel says so
        if spec.denominator and _denominator(periods["day"], spec) < MOVER_MIN_DENOMINATOR:
            continue
        relative = (h.day - h.trailing_7d) / abs(h.trailing_7d)
        if abs(relative) < MOVER_MIN_RELATIVE_CHANGE:
            continue
        if spec.better is None:
            verdict = "neutral"
        else:
            verdict = "better" if (relative > 0) == (spec.better == "higher") else "worse"
        driver = drivers.get(spec.key)
        movers.append(
            Mover(
                key=spec.key,
                day=h.day,
                trailing_7d=h.trailing_7d,
                relative_change=relative,
                verdict=verdict,
                driver_dimension=spec.driver if driver else None,
                driver=driver["member"] if driver else None,
                driver_day=_float(driver["rate_day"]) if driver else None,
                driver_trailing_7d=_float(driver["rate_trailing"]) if driver else None,
                driver_share=_float(driver["share_day"]) if driver else None,
            )
        )
    movers.sort(key=lambda m: (-abs(m.relative_change), m.key))
    return tuple(movers)


def _denominator(period_row: dict[str, Any], spec: MetricSpec) -> float:
    # the denominators are volume counts of the period row: issues_mature, handled, offered …
    if spec.denominator == "offered - short_abandons":
        return period_row["offered"]  # short abandons are few; a floor for "enough calls"
    return period_row.get(spec.denominator) or 0


def _aht_trap(con: duckdb.DuckDBPyConnection, week: date) -> AhtTrap:
    agent_rows = _rows(con, _AGENT_TRAP_SQL, week=week)
    agents = tuple(
        TrapRow(
            name=row["agent_id"],
            team=row["team"],
            aht_seconds=_float(row["aht_seconds"]),
            repeat_rate=_float(row["repeat_rate"]),
            handled=int(row["legs_handled"] or 0),
            contacts_handled=int(row["contacts_handled"] or 0),
            repeats_charged=int(row["repeats_charged"] or 0),
            quadrant=row["aht_quadrant"],
            is_trap=bool(row["is_aht_trap"]),
        )
        for row in agent_rows
    )
    queue_rows = _rows(con, _QUEUE_TRAP_SQL, week=week)
    queues = tuple(
        TrapRow(
            name=row["queue"],
            team=None,
            aht_seconds=_float(row["aht_seconds"]),
            repeat_rate=_float(row["repeat_rate"]),
            handled=int(row["handled"]),
            contacts_handled=int(row["contacts_handled"]),
            repeats_charged=int(row["repeats_charged"]),
            quadrant=row["quadrant"],
            is_trap=row["quadrant"] == "aht_trap",
        )
        for row in queue_rows
    )
    return AhtTrap(
        week_start=week,
        median_aht_seconds=_float(agent_rows[0]["median_aht_seconds"]) if agent_rows else None,
        median_repeat_rate=_float(agent_rows[0]["median_repeat_rate"]) if agent_rows else None,
        agents=agents,
        queues=queues,
        queue_median_aht_seconds=_float(queue_rows[0]["median_aht_seconds"])
        if queue_rows
        else None,
        queue_median_repeat_rate=_float(queue_rows[0]["median_repeat_rate"])
        if queue_rows
        else None,
    )


def _crown(con: duckdb.DuckDBPyConnection, month: date) -> CrownMonth | None:
    rows = _rows(con, _CROWN_SQL, month=month)
    if not rows:
        return None
    row = rows[0]
    return CrownMonth(
        month_start=row["month_start"],
        handling_cost=float(row["handling_cost"] or 0),
        issues_started=int(row["issues_started"]),
        issues_mature=int(row["issues_mature"]),
        issues_durably_resolved=int(row["issues_durably_resolved"]),
        cost_per_resolution=_float(row["cost_per_resolution"]),
        sco_rate=_float(row["sco_rate"]),
        churn_30d_after_resolved=_float(row["churn_30d_after_resolved"]),
        churn_30d_after_unresolved=_float(row["churn_30d_after_unresolved"]),
        churn_90d_after_resolved=_float(row["churn_90d_after_resolved"]),
        churn_90d_after_unresolved=_float(row["churn_90d_after_unresolved"]),
        resolved_issues_observed_30d=int(row["resolved_issues_observed_30d"]),
        unresolved_issues_observed_30d=int(row["unresolved_issues_observed_30d"]),
        customers_at_risk=int(row["customers_at_risk"]),
        revenue_at_risk=float(row["revenue_at_risk"] or 0),
        median_time_to_resolution_seconds=_float(row["median_time_to_resolution_seconds"]),
    )


def _pending(
    con: duckdb.DuckDBPyConnection, day: date, series_rows: list[dict[str, Any]]
) -> Pending:
    row = _rows(con, _PENDING_SQL, day=day)[0]
    return Pending(
        days=tuple(
            PendingDay(
                day=r["day"],
                issues_started=int(r["issues_started"]),
                issues_mature=int(r["issues_mature"]),
                issues_pending=int(r["issues_pending"]),
            )
            for r in series_rows
        ),
        issues_pending=int(row["issues_pending"]),
        pending_resolved=int(row["pending_resolved"]),
        pending_open=int(row["pending_open"]),
        oldest_pending_day=row["oldest_pending_day"],
    )


def _trust(con: duckdb.DuckDBPyConnection, day: date, volume: Volume) -> Trust:
    feeds = tuple(
        FeedTrust(
            feed=row["feed"],
            status=row["feed_status"],
            status_reason=row["status_reason"],
            status_since=row["status_since"],
            newest_event_at=row["newest_event_at"],
            last_loaded_at=row["last_loaded_at"],
            files_failed=int(row["files_failed"]),
            rows_quarantined_open=int(row["rows_quarantined_open"]),
            checks_run=int(row["checks_run"]),
            checks_passed=int(row["checks_passed"]),
            critical_failed=int(row["critical_failed"]),
            warnings_failed=int(row["warnings_failed"]),
            failed_checks=tuple(row["failed_checks"]),
            latest_ingest_day=row["ingested_date"],
            rows_quarantined_latest_day=int(row["rows_quarantined_latest_day"]),
            files_refused_latest_day=int(row["files_refused_latest_day"]),
            is_stale=bool(row["is_stale"]),
        )
        for row in _rows(con, _TRUST_SQL, day=day)
    )
    reasons: list[str] = []
    caveats: list[str] = []
    if not feeds:
        reasons.append("the marts hold no feed status: the quality gates have not run")
    if volume.contacts == 0:
        reasons.append(f"the marts hold no contacts for {day.isoformat()}")
    for f in feeds:
        if f.status != "ok":
            why = f": {f.status_reason}" if f.status_reason else ""
            reasons.append(f"the {f.feed} feed is degraded{why} (figures use its last good data)")
        if f.files_failed:
            reasons.append(f"{f.files_failed:,} {f.feed} file(s) could not be loaded")
        if f.is_stale:
            newest = f.newest_event_at.strftime("%Y-%m-%d %H:%M") if f.newest_event_at else "none"
            reasons.append(
                f"the {f.feed} feed has no data for {day.isoformat()} (newest event {newest} UTC)"
            )
        if f.critical_failed:
            caveats.append(
                f"{f.feed}: {f.critical_failed} critical check(s) failed in the latest batch; "
                "the failing rows were quarantined and are not in the figures"
            )
        if f.warnings_failed:
            caveats.append(
                f"{f.feed}: {f.warnings_failed} warning check(s) failed in the latest batch "
                f"({', '.join(c for c in f.failed_checks)}); loaded and reported"
            )
        if f.rows_quarantined_open:
            caveats.append(
                f"{f.feed}: {f.rows_quarantined_open:,} quarantined row(s) not yet replayed"
            )
    return Trust(trusted=not reasons, reasons=tuple(reasons), caveats=tuple(caveats), feeds=feeds)
