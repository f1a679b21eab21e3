"""The marts of issue #5 built end to end (simulate → ingest → dbt build) on a small centre
with non-default metric settings: every mart holds rows in its contracted shape, the settings
travel from BeaconConfig.metrics through beacon.transform to dbt and take effect, the summary
still reads the daily mart, and the semantic layer is in dbt's manifest."""

from __future__ import annotations

import json
from pathlib import Path

import duckdb
import pytest
import yaml

from beacon.config import DBT_PROJECT_DIR
from tests.conftest import simulate_centre

MARTS = (
    "fct_call_legs",
    "fct_contacts",
    "fct_tickets",
    "fct_issues",
    "dim_customers",
    "dim_agents",
    "dim_queues",
    "dim_dates",
    "mart_daily_outcomes",
    "mart_agent_weekly",
    "mart_segment_monthly",
    "mart_triple_crown",
    "mart_as_of",
)

SETTINGS = {
    "centre_timezone": "Europe/London",
    "business_hours_start": "09:00",
    "business_hours_end": "17:30",
    "business_days": [1, 2, 3, 4, 5],
    "cost_per_agent_hour": 60,
    "sco_target_hours": 24,
    "sco_max_handoffs": 0,
}


@pytest.fixture(scope="module")
def built(tmp_path_factory):
    from beacon.pipeline import build_marts
    from ingest import ingest_landing

    root = tmp_path_factory.mktemp("marts")
    centre = simulate_centre(root / "centre", days=10, contacts_per_day=150, agents=8)
    warehouse = root / "wh" / "beacon.duckdb"
    config = centre.config(warehouse, metrics=SETTINGS)
    assert ingest_landing(config).ok
    build_marts(config)
    return config


@pytest.fixture(scope="module")
def con(built):
    with duckdb.connect(str(built.warehouse_path), read_only=True) as connection:
        connection.execute("set TimeZone = 'UTC'")
        yield connection


def _contracted_columns() -> dict[str, list[str]]:
    spec = yaml.safe_load((DBT_PROJECT_DIR / "models/marts/_marts__models.yml").read_text())
    return {m["name"]: [c["name"] for c in m["columns"]] for m in spec["models"]}


def test_every_mart_has_rows_in_its_contracted_shape(con):
    contracted = _contracted_columns()
    for mart in MARTS:
        columns = [
            row[0]
            for row in con.execute(
                "select column_name from information_schema.columns"
                " where table_schema = 'marts' and table_name = ? order by ordinal_position",
                [mart],
            ).fetchall()
        ]
        assert columns == contracted[mart], mart
        assert con.execute(f"select count(*) from marts.{mart}").fetchall()[0][0] > 0, mart


def test_settings_reach_dbt(built):
    assert built.metrics.centre_timezone == "Europe/London"
    assert built.metrics.as_dbt_vars()["business_days"] == [1, 2, 3, 4, 5]


def _local_date(column: str) -> str:
    return f"cast(timezone('Europe/London', timezone('UTC', {column})) as date)"


def test_days_are_the_centres_local_days(con):
    wrong = con.execute(
        f"""
        select
            (select count(*) from marts.fct_call_legs
             where arrived_date <> {_local_date("arrived_at")}),
            (select count(*) from marts.fct_contacts
             where started_date <> {_local_date("started_at")}),
            (select count(*) from marts.fct_issues
             where issue_started_date <> {_local_date("first_contact_at")})
        """
    ).fetchall()[0]
    assert wrong == (0, 0, 0)
    # emails and web forms arrive around the clock: some fall on another day in London
    shifted = con.execute(
        "select count(*) from marts.fct_contacts where started_date <> cast(started_at as date)"
    ).fetchall()[0][0]
    assert shifted > 0


def test_business_hours_are_local_and_configurable(con):
    wrong = con.execute(
        """
        with local as (
            select
                is_in_business_hours,
                timezone('Europe/London', timezone('UTC', started_at)) as local_at
            from marts.fct_contacts
        )
        select count(*) from local
        where is_in_business_hours <> (
            isodow(local_at) between 1 and 5
            and hour(local_at) * 60 + minute(local_at) >= 9 * 60
            and hour(local_at) * 60 + minute(local_at) < 17 * 60 + 30
        )
        """
    ).fetchall()[0][0]
    assert wrong == 0
    inside, outside = con.execute(
        "select count(*) filter (where is_in_business_hours),"
        " count(*) filter (where not is_in_business_hours) from marts.fct_contacts"
    ).fetchall()[0]
    assert inside > 0 and outside > 0


def test_cost_and_sco_thresholds_take_effect(con):
    wrong_cost = con.execute(
        "select count(*) from marts.fct_call_legs"
        " where abs(handling_cost - handle_seconds / 3600 * 60) > 1e-9"
    ).fetchall()[0][0]
    assert wrong_cost == 0
    wrong_sco = con.execute(
        """
        select count(*) from marts.fct_issues
        where is_successful_customer_outcome <> coalesce(
            is_durably_resolved and time_to_resolution_seconds <= 24 * 3600
            and handoffs = 0 and not has_churned_within_30d, false)
        """
    ).fetchall()[0][0]
    assert wrong_sco == 0
    assert con.execute(
        "select count(*) from marts.fct_issues where is_successful_customer_outcome"
    ).fetchall()[0][0]


def test_triple_crown_adds_up(con):
    crown = con.execute(
        "select sum(handling_cost), sum(issues_durably_resolved), sum(issues_mature)"
        " from marts.mart_triple_crown"
    ).fetchall()[0]
    facts = con.execute(
        "select (select sum(handling_cost) from marts.fct_call_legs where is_answered),"
        " (select count(*) from marts.fct_issues where is_durably_resolved),"
        " (select count(*) from marts.fct_issues where is_mature)"
    ).fetchall()[0]
    assert crown[0] == pytest.approx(facts[0])
    assert crown[1:] == facts[1:]


def test_outcomes_are_judged_as_of_the_newest_event(con):
    as_of, newest = con.execute(
        "select (select as_of_at from marts.mart_as_of), greatest("
        "(select max(ended_at) from raw.calls), (select max(occurred_at) from raw.tickets))"
    ).fetchall()[0]
    assert as_of == newest
    immature = con.execute(
        "select count(*) from marts.fct_issues, marts.mart_as_of"
        " where is_mature <> (ended_at <= mature_if_ended_by)"
    ).fetchall()[0][0]
    assert immature == 0


def test_dim_dates_covers_every_day_of_the_facts(con):
    missing = con.execute(
        """
        select count(*) from (
            select arrived_date as day from marts.fct_call_legs
            union select started_date from marts.fct_contacts
            union select outcome_date from marts.mart_daily_outcomes
        ) as days
        where day not in (select date_day from marts.dim_dates)
        """
    ).fetchall()[0][0]
    assert missing == 0


def test_summary_still_reads_the_daily_mart(built, con):
    from beacon.summary import format_table, outcomes_by_channel

    con.close()  # the summary opens the file itself
    rows = outcomes_by_channel(built.warehouse_path)
    assert rows[-1].grouping == "all channels" and rows[-1].contacts > 0
    assert "FCR" in format_table(rows)


def test_the_semantic_layer_is_in_the_manifest(built):
    manifest = Path(built.warehouse_path).parent / ".dbt" / "target" / "semantic_manifest.json"
    semantic = json.loads(manifest.read_text())
    metrics = {m["name"] for m in semantic["metrics"]}
    assert {
        "fcr_rate",
        "repeat_contact_rate",
        "reopen_rate",
        "handoffs_per_issue",
        "sco_rate",
        "cost_per_resolution",
        "churn_30d_after_unresolved",
        "aht_seconds",
        "service_level",
    } <= metrics
    models = {m["name"] for m in semantic["semantic_models"]}
    assert models == {"issues", "contacts", "call_legs", "tickets"}
