"""The pipeline's outcome metrics against the simulator's ground truth (issues #2 and #5).

The truth knows every contact's real issue, whether the contact could be identified, what
the feeds reported about it (``reported_resolved``) and whether it really solved the problem
(``resolved_issue``). metrics.md defines outcomes over identified contacts and over what the
feeds report, so the truth metrics apply those definitions to the *true* issues: the
identifiable contacts of each, with the same maturity rule and as-of moment as the pipeline.
What is left to differ is the pipeline's own inference: customer resolution, issue
stitching, episode outcomes and maturity. That must be within half a point (or 1 %
relative) for FCR, repeat-contact rate, reopen rate, hand-offs per issue and churn after an
unresolved issue, on clean data and on dirty data after quarantine.

Dirty data loses records (a malformed line, a bad timestamp … replaces the valid record,
which ingest quarantines). The issues those records belonged to are not what the truth says
any more, so on dirty data both sides leave them out: every true issue with a contact whose
leg or ticket event was lost, or whose customer lost a CRM event, and every pipeline issue
sharing a contact with one. Which records were lost is found by comparing the clean twin's
landing files (same seed, no dirt) with ``raw``. The loss itself is measured separately.

How far the metric itself is from reality (agents claiming a resolution that did not happen,
customers giving up silently or coming back unidentified) is measured separately, in
``test_fcr_blind_spot_is_bounded_and_only_overstates``.

Run with ``-s`` to see the figures: ``.venv/bin/pytest tests/test_outcomes_vs_truth.py -s -q``.
"""

from __future__ import annotations

from pathlib import Path

import duckdb
import pytest

from tests.conftest import simulate_centre

TOLERANCE_PP = 0.5
TOLERANCE_RELATIVE = 0.01
#: the effect of the records dirt destroys on the whole population (not the pipeline's error)
DIRT_LOSS_BOUND_PP = 3.0
WINDOW_DAYS = 7
METRICS = ("fcr", "repeat_rate", "reopen_rate", "handoffs_per_issue", "churn_after_unresolved")


@pytest.fixture(scope="module")
def dirty_truth_centre(tmp_path_factory):
    """The truth centre's dirty twin: same seed and settings as ``truth_centre``
    (tests/conftest.py), so its clean records, and its truth, are the same."""
    from beacon.simulator import DirtConfig

    return simulate_centre(
        tmp_path_factory.mktemp("dirty-truth-centre"),
        seed=11,
        days=35,
        contacts_per_day=1500,
        agents=40,
        formats=("jsonl", "csv"),
        dirt=DirtConfig.default_dirty(),
    )


@pytest.fixture(scope="module")
def dirty_truth_warehouse(dirty_truth_centre, tmp_path_factory) -> Path:
    from beacon.pipeline import build_marts
    from ingest import ingest_landing

    warehouse = tmp_path_factory.mktemp("dirty-truth-warehouse") / "beacon.duckdb"
    config = dirty_truth_centre.config(warehouse)
    ingest_landing(config)  # files with quarantined rows still load; the rest is quarantined
    build_marts(config)
    return warehouse


def _quote(path: Path) -> str:
    return str(path).replace("'", "''")


def _prepare(con: duckdb.DuckDBPyConnection, truth_dir: Path, clean_landing: Path | None) -> None:
    """Temp views of the truth and temp table ``excluded_contacts``: the contacts of issues
    damaged by lost records (empty on clean data)."""
    con.execute("set TimeZone = 'UTC'")  # truth timestamps are tz-aware, the warehouse's UTC
    con.execute(
        "create or replace temp view truth_all_contacts as "
        f"select * from read_parquet('{_quote(truth_dir / 'contacts.parquet')}')"
    )
    con.execute(
        "create or replace temp view truth_customers as "
        f"select * from read_parquet('{_quote(truth_dir / 'customers.parquet')}')"
    )
    con.execute("create or replace temp table excluded_contacts (contact_id varchar)")
    if clean_landing is None:
        return

    def clean(feed: str, key: str, parent: str) -> str:
        glob = _quote(clean_landing / feed / "**" / "*.jsonl")
        return (
            f"(select * from read_json('{glob}', "
            f"columns = {{{key}: 'VARCHAR', {parent}: 'VARCHAR'}}))"
        )

    con.execute(
        f"""
        create or replace temp table lost_contacts as
        select distinct 'call:' || call_id as contact_id
        from {clean("calls", "leg_id", "call_id")}
        where leg_id not in (select leg_id from raw.calls)
        union
        select distinct contact_id
        from truth_all_contacts
        where contact_id not like 'call:%'
            and ticket_id in (
                select ticket_id from {clean("tickets", "event_id", "ticket_id")}
                where event_id not in (select event_id from raw.tickets)
            )
        """
    )
    con.execute(
        f"""
        create or replace temp table lost_customers as
        select distinct customer_id from {clean("crm", "event_id", "customer_id")}
        where event_id not in (select event_id from raw.crm)
        """
    )
    # damaged true issues, then the pipeline issues sharing a contact with them, then the
    # true issues sharing a contact with those: both sides leave out the same contacts
    con.execute(
        """
        insert into excluded_contacts
        with damaged as (
            select contact_id from truth_all_contacts
            where issue_id in (
                select issue_id from truth_all_contacts
                where contact_id in (select contact_id from lost_contacts)
            )
            or customer_id in (select customer_id from lost_customers)
        ),
        pipeline_side as (
            select contact_id from marts.fct_contacts
            where issue_id in (
                select issue_id from marts.fct_contacts
                where contact_id in (select contact_id from damaged)
            )
        ),
        truth_side as (
            select contact_id from truth_all_contacts
            where issue_id in (
                select issue_id from truth_all_contacts
                where contact_id in (
                    select contact_id from damaged union select contact_id from pipeline_side
                )
            )
        )
        select contact_id from damaged
        union select contact_id from pipeline_side
        union select contact_id from truth_side
        """
    )


def _truth_metrics(
    con: duckdb.DuckDBPyConnection, resolved_column: str = "reported_resolved"
) -> dict[str, float]:
    """The metric definitions applied to the true issues (their identifiable contacts)."""
    horizon = con.execute("select as_of_at from marts.mart_as_of").fetchall()[0][0]
    row = con.execute(
        f"""
        with contacts as (
            select * from truth_all_contacts
            where is_identifiable and contact_id not in (select contact_id from excluded_contacts)
        ),
        issues as (
            select
                issue_id,
                any_value(customer_id) as customer_id,
                count(*) as contacts,
                sum(handoffs) as handoffs,
                min(started_at) as first_at,
                max(ended_at) as last_at,
                arg_max({resolved_column}, started_at) as resolved
            from contacts
            group by issue_id
        ),
        judged as (
            select
                issues.*,
                last_at + to_days($window) <= $horizon as mature,
                coalesce(
                    churned_at >= first_at and churned_at <= last_at + to_days(30), false
                ) as churned_30d
            from issues
            inner join truth_customers using (customer_id)
        ),
        tickets as (
            select
                ticket_id,
                bool_or(outcome in ('solved', 'missed_chat')) as solved,
                bool_or(contact_id like 'reopen:%') as reopened
            from truth_all_contacts
            where contact_id not like 'call:%'
                and contact_id not in (select contact_id from excluded_contacts)
            group by ticket_id
        )
        select
            count(*) filter (where mature and contacts = 1 and resolved)
                / count(*) filter (where mature),
            sum(contacts - 1) / sum(contacts),
            (select count(*) filter (where solved and reopened) / count(*) filter (where solved)
             from tickets),
            sum(handoffs) filter (where mature) / count(*) filter (where mature),
            count(*) filter (where mature and not resolved and churned_30d)
                / count(*) filter (where mature and not resolved)
        from judged
        """,
        {"window": WINDOW_DAYS, "horizon": horizon},
    ).fetchall()[0]
    return dict(zip(METRICS, row, strict=True))


def _pipeline_metrics(con: duckdb.DuckDBPyConnection) -> dict[str, float]:
    """The same metrics from the facts, over the issues and tickets not excluded."""
    row = con.execute(
        """
        with issues as (
            select * from marts.fct_issues
            where issue_id not in (
                select issue_id from marts.fct_contacts
                where contact_id in (select contact_id from excluded_contacts)
                    and issue_id is not null
            )
        ),
        tickets as (
            select * from marts.fct_tickets
            where 'ticket:' || ticket_id not in (select contact_id from excluded_contacts)
        )
        select
            count(*) filter (where is_first_contact_resolution) / count(*) filter (where is_mature),
            sum(contacts - 1) / sum(contacts),
            (select count(*) filter (where is_reopened) / count(*) filter (where is_ever_solved)
             from tickets),
            sum(handoffs) filter (where is_mature) / count(*) filter (where is_mature),
            count(*) filter (where is_mature and not is_durably_resolved and has_churned_within_30d)
                / count(*) filter (where is_mature and not is_durably_resolved)
        from issues
        """
    ).fetchall()[0]
    return dict(zip(METRICS, row, strict=True))


def _gap_ok(pipeline: float, truth: float) -> bool:
    gap = abs(pipeline - truth)
    return gap * 100 <= TOLERANCE_PP or gap <= TOLERANCE_RELATIVE * abs(truth)


def _report(label: str, pipeline: dict[str, float], truth: dict[str, float]) -> None:
    for metric in METRICS:
        gap_pp = abs(pipeline[metric] - truth[metric]) * 100
        print(
            f"{label} {metric}: pipeline {pipeline[metric]:.4f}, truth {truth[metric]:.4f}, "
            f"gap {gap_pp:.2f} pp ({gap_pp / 100 / truth[metric]:.2%} relative)"
        )


def test_metrics_within_half_a_point_of_truth(truth_centre, truth_warehouse):
    with duckdb.connect(str(truth_warehouse), read_only=True) as con:
        _prepare(con, truth_centre.truth_dir, clean_landing=None)
        truth = _truth_metrics(con)
        pipeline = _pipeline_metrics(con)
    _report("clean", pipeline, truth)
    for metric in METRICS:
        assert 0.05 < truth[metric] < 0.9, f"{metric}: the simulated centre should be realistic"
        assert _gap_ok(pipeline[metric], truth[metric]), metric


def test_metrics_within_half_a_point_of_truth_on_dirty_data_after_quarantine(
    truth_centre, dirty_truth_centre, dirty_truth_warehouse
):
    with duckdb.connect(str(dirty_truth_warehouse), read_only=True) as con:
        assert con.execute("select count(*) from raw._quarantine").fetchall()[0][0] > 0
        _prepare(con, dirty_truth_centre.truth_dir, clean_landing=truth_centre.landing_dir)
        excluded, total = con.execute(
            "select (select count(*) from excluded_contacts), count(*) from truth_all_contacts"
        ).fetchall()[0]
        truth = _truth_metrics(con)
        pipeline = _pipeline_metrics(con)
        # the loss itself: everything, including the issues the lost records damaged
        con.execute("delete from excluded_contacts")
        truth_all = _truth_metrics(con)
        pipeline_all = _pipeline_metrics(con)
    print(f"dirty: {excluded:,} of {total:,} true contacts are in issues damaged by lost records")
    _report("dirty, undamaged issues", pipeline, truth)
    _report("dirty, all issues", pipeline_all, truth_all)
    assert 0 < excluded < total * 0.25
    for metric in METRICS:
        assert _gap_ok(pipeline[metric], truth[metric]), metric
        assert abs(pipeline_all[metric] - truth_all[metric]) * 100 <= DIRT_LOSS_BOUND_PP, metric


def test_fully_observed_churn_matches_truth_roughly(truth_centre, truth_warehouse):
    """The marts' churn after contact counts only issues whose 30 days have passed; on the
    35 simulated days that is a small sample (~100 unresolved issues), so one issue stitched
    differently moves it by a point: printed, and held to a looser bound."""
    with duckdb.connect(str(truth_warehouse), read_only=True) as con:
        _prepare(con, truth_centre.truth_dir, clean_landing=None)
        horizon = con.execute("select as_of_at from marts.mart_as_of").fetchall()[0][0]
        truth, truth_n = con.execute(
            """
            with issues as (
                select issue_id, any_value(customer_id) as customer_id,
                    min(started_at) as first_at, max(ended_at) as last_at,
                    arg_max(reported_resolved, started_at) as resolved
                from truth_all_contacts where is_identifiable group by issue_id
            )
            select
                count(*) filter (where churned_at between first_at and last_at + to_days(30))
                    / count(*),
                count(*)
            from issues inner join truth_customers using (customer_id)
            where not resolved and last_at + to_days(30) <= $horizon
            """,
            {"horizon": horizon},
        ).fetchall()[0]
        pipeline, pipeline_n = con.execute(
            "select sum(unresolved_issues_churned_30d) / sum(unresolved_issues_observed_30d),"
            " sum(unresolved_issues_observed_30d) from marts.mart_triple_crown"
        ).fetchall()[0]
    print(
        f"churn within 30 d of an unresolved issue, fully observed: pipeline {pipeline:.4f} "
        f"(n={pipeline_n}), truth {truth:.4f} (n={truth_n})"
    )
    assert abs(pipeline - truth) * 100 <= 3.0


def test_fcr_blind_spot_is_bounded_and_only_overstates(truth_centre, truth_warehouse):
    """Against what really happened (the problem was solved by the first and only contact),
    the metric can only overstate FCR: a false 'resolved' followed by silence or by an
    unidentified return looks like a first-contact resolution. The simulated centre's blind
    spot stays within a few points; the figure is printed for the notes."""
    with duckdb.connect(str(truth_warehouse), read_only=True) as con:
        _prepare(con, truth_centre.truth_dir, clean_landing=None)
        real = _truth_metrics(con, resolved_column="resolved_issue")
        pipeline = _pipeline_metrics(con)
    overstatement_pp = (pipeline["fcr"] - real["fcr"]) * 100
    print(
        f"fcr blind spot: pipeline {pipeline['fcr']:.4f}, "
        f"really solved first time {real['fcr']:.4f}"
    )
    assert 0 <= overstatement_pp <= 5


def test_stitching_reproduces_true_issues(truth_centre, truth_warehouse):
    """Most pipeline issues hold exactly the identifiable contacts of one true issue."""
    with duckdb.connect(str(truth_warehouse), read_only=True) as con:
        _prepare(con, truth_centre.truth_dir, clean_landing=None)
        exact, total = con.execute(
            """
            with pipeline as (
                select issue_id, list(contact_id order by contact_id) as members
                from marts.fct_contacts where issue_id is not null group by issue_id
            ),
            truth as (
                select issue_id, list(contact_id order by contact_id) as members
                from truth_all_contacts where is_identifiable group by issue_id
            )
            select count(*) filter (where truth.issue_id is not null), count(*)
            from pipeline left join truth on pipeline.members = truth.members
            """
        ).fetchall()[0]
    print(f"stitching: {exact:,} of {total:,} pipeline issues match a true issue exactly")
    assert exact / total >= 0.97


def test_the_marts_say_what_the_facts_say(truth_warehouse):
    """The metrics read from the marts equal the same metrics computed from the facts."""
    with duckdb.connect(str(truth_warehouse), read_only=True) as con:
        con.execute("create or replace temp table excluded_contacts (contact_id varchar)")
        facts = _pipeline_metrics(con)
        daily = con.execute(
            """
            select
                sum(issues_first_contact_resolved) / sum(issues_mature),
                sum(repeat_contacts) / sum(issue_contacts),
                sum(tickets_reopened) / sum(tickets_solved),
                sum(mature_issue_handoffs) / sum(issues_mature)
            from marts.mart_daily_outcomes
            """
        ).fetchall()[0]
    for metric, value in zip(METRICS[:4], daily, strict=True):
        assert value == pytest.approx(facts[metric], abs=1e-12), metric


def test_every_identified_contact_is_in_exactly_one_issue(truth_warehouse):
    with duckdb.connect(str(truth_warehouse), read_only=True) as con:
        identified, stitched, distinct, in_facts = con.execute(
            """
            select
                (select count(*) from intermediate.int_contacts_resolved_to_customers
                 where resolved_customer_id is not null),
                (select count(*) from marts.fct_contacts where issue_id is not null),
                (select count(distinct contact_id) from marts.fct_contacts
                 where issue_id is not null),
                (select count(*) from marts.fct_contacts where is_identified)
            """
        ).fetchall()[0]
    assert identified == stitched == distinct == in_facts > 0


def test_daily_mart_outputs_sum_to_the_legs(truth_warehouse):
    with duckdb.connect(str(truth_warehouse), read_only=True) as con:
        mart = con.execute(
            "select sum(offered), sum(handled), sum(abandoned), sum(short_abandons),"
            " sum(answered_within_service_level) from marts.mart_daily_outcomes"
        ).fetchall()[0]
        legs = con.execute(
            """
            select count(*) filter (where is_offered), count(*) filter (where is_handled),
                   count(*) filter (where is_abandoned), count(*) filter (where is_short_abandon),
                   count(*) filter (where is_answered_within_service_level)
            from marts.fct_call_legs
            """
        ).fetchall()[0]
        staged = con.execute(
            "select count(*) filter (where is_offered), count(*) filter (where is_handled)"
            " from staging.stg_calls__legs"
        ).fetchall()[0]
    assert mart == legs and mart[1] > 0
    assert staged == legs[:2]


def test_the_aht_trap_finds_the_rushers(truth_centre, truth_warehouse):
    """The simulator's rushers work fast and resolve less (docs/simulator.md, "Agents"): the
    agent-weeks the mart puts in the AHT-trap quadrant are mostly theirs."""
    agents = _quote(truth_centre.truth_dir / "agents.parquet")
    with duckdb.connect(str(truth_warehouse), read_only=True) as con:
        trap, others = con.execute(
            f"""
            select
                avg(rush_factor) filter (where is_aht_trap),
                avg(rush_factor) filter (where not is_aht_trap and aht_quadrant <> 'not_rated')
            from marts.mart_agent_weekly
            inner join read_parquet('{agents}') using (agent_id)
            """
        ).fetchall()[0]
    print(f"aht trap: mean rush factor {trap:.2f} in the trap, {others:.2f} elsewhere")
    assert trap > 2 * others
