"""The pipeline's outcome metrics against the simulator's ground truth (issue #2).

The truth knows every contact's real issue. The pipeline can only see identified contacts,
and by definition leaves the others out of outcomes, so the truth metrics are computed over
the identifiable contacts of each true issue, with the same maturity rule and the same
as-of moment as the pipeline. What is left to differ is the pipeline's own inference:
customer resolution, issue stitching and what counts as resolved.
"""

from __future__ import annotations

import duckdb
import pytest

TOLERANCE_PP = 0.5


def _identifiable_truth_contacts(con: duckdb.DuckDBPyConnection, truth_dir) -> None:
    """Temp view ``truth_contacts``: the true contacts the pipeline could identify."""
    path = str(truth_dir / "contacts.parquet").replace("'", "''")
    con.execute(
        f"create or replace temp view truth_contacts as "
        f"select * from read_parquet('{path}') where is_identifiable"
    )


def _truth_metrics(con: duckdb.DuckDBPyConnection, truth_dir, window_days: int) -> dict[str, float]:
    horizon = con.execute("select max(as_of_at) from intermediate.int_issues_assessed").fetchall()[0][0]
    _identifiable_truth_contacts(con, truth_dir)
    fcr, repeat = con.execute(
        """
        with issues as (
            select
                issue_id,
                count(*) as contacts,
                max(ended_at) as last_at,
                bool_or(resolved_issue) as resolved
            from truth_contacts
            group by issue_id
        )
        select
            (select count(*) filter (where contacts = 1 and resolved)
                 / count(*) from issues
             where last_at + to_days(?) <= ?),
            (select sum(contacts - 1) / sum(contacts) from issues)
        """,
        [window_days, horizon],
    ).fetchall()[0]
    return {"fcr": fcr, "repeat_rate": repeat}


def _pipeline_metrics(con: duckdb.DuckDBPyConnection) -> dict[str, float]:
    fcr, repeat = con.execute(
        """
        select
            sum(issues_first_contact_resolved) / sum(issues_mature),
            sum(repeat_contacts) / sum(issue_contacts)
        from marts.mart_daily_outcomes
        """
    ).fetchall()[0]
    return {"fcr": fcr, "repeat_rate": repeat}


@pytest.mark.parametrize("metric", ["fcr", "repeat_rate"])
def test_metric_within_half_a_point_of_truth(truth_centre, truth_warehouse, metric):
    with duckdb.connect(str(truth_warehouse), read_only=True) as con:
        truth = _truth_metrics(con, truth_centre.truth_dir, window_days=7)
        pipeline = _pipeline_metrics(con)
    gap_pp = abs(pipeline[metric] - truth[metric]) * 100
    print(f"{metric}: pipeline {pipeline[metric]:.4f}, truth {truth[metric]:.4f}, gap {gap_pp:.2f} pp")
    assert 0.2 < truth[metric] < 0.9, "the simulated centre should have a realistic rate"
    assert gap_pp <= TOLERANCE_PP


def test_stitching_reproduces_true_issues(truth_centre, truth_warehouse):
    """Most pipeline issues hold exactly the identifiable contacts of one true issue."""
    with duckdb.connect(str(truth_warehouse), read_only=True) as con:
        _identifiable_truth_contacts(con, truth_centre.truth_dir)
        exact, total = con.execute(
            """
            with pipeline as (
                select issue_id, list(contact_id order by contact_id) as members
                from intermediate.int_contacts_stitched_into_issues group by issue_id
            ),
            truth as (
                select issue_id, list(contact_id order by contact_id) as members
                from truth_contacts group by issue_id
            )
            select count(*) filter (where truth.issue_id is not null), count(*)
            from pipeline left join truth on pipeline.members = truth.members
            """
        ).fetchall()[0]
    print(f"stitching: {exact:,} of {total:,} pipeline issues match a true issue exactly")
    assert exact / total >= 0.97


def test_every_identified_contact_is_in_exactly_one_issue(truth_warehouse):
    with duckdb.connect(str(truth_warehouse), read_only=True) as con:
        identified, stitched, distinct = con.execute(
            """
            select
                (select count(*) from intermediate.int_contacts_resolved_to_customers
                 where resolved_customer_id is not null),
                (select count(*) from intermediate.int_contacts_stitched_into_issues),
                (select count(distinct contact_id) from intermediate.int_contacts_stitched_into_issues)
            """
        ).fetchall()[0]
    assert identified == stitched == distinct > 0


def test_daily_mart_outputs_sum_to_the_legs(truth_warehouse):
    with duckdb.connect(str(truth_warehouse), read_only=True) as con:
        mart = con.execute(
            "select sum(offered), sum(handled), sum(abandoned) from marts.mart_daily_outcomes"
        ).fetchall()[0]
        legs = con.execute(
            """
            select count(*) filter (where is_offered), count(*) filter (where is_handled),
                   count(*) filter (where is_abandoned)
            from staging.stg_calls__legs
            """
        ).fetchall()[0]
    assert mart == legs and mart[1] > 0
