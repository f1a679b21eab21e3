"""The daily outcome report (reporting/): its figures are the marts' figures, and a person
opening it in a real browser sees them.

* Numbers: every headline figure (4 outcomes, 4 outputs, for the day, the 7 days before and
  the same weekday last week), the volumes, the triple crown, the pending and the trust
  counts are recomputed here from the *facts* (``fct_issues``, ``fct_call_legs``, …) with SQL
  of this file's own, not from ``mart_daily_outcomes`` the report reads, so the report's
  arithmetic and the daily mart are checked together.
* Browser: the report is opened in headless Chromium (Debian's package, installed by
  ``make test``) at a laptop's 1366 × 768 over the DevTools protocol; the test reads what is
  on the page, checks the charts were drawn at a readable size, that nothing overflows, that
  no console error, exception or network request happened, and keeps a full-page screenshot
  in ``var/test-artifacts/report.png``.

The centre is the session's ``truth_warehouse`` (35 days from 2026-10-01), published to a
serving copy the way the pipeline does it.
"""

from __future__ import annotations

import os
import re
import shutil
from datetime import date, timedelta
from pathlib import Path

import duckdb
import pytest

from beacon.config import BeaconConfig
from reporting import formatting as fmt
from reporting.browser import chromium_path, inspect_page
from reporting.figures import HEADLINE_METRICS, last_complete_week
from reporting.render import render_html
from reporting.report import build_report, publish_report, read_figures

pytestmark = pytest.mark.slow

ROOT = Path(__file__).resolve().parent.parent
ARTIFACTS = ROOT / "var" / "test-artifacts"
DAY = date(2026, 10, 21)  # a Wednesday whose problems are mostly settled
LATEST = date(2026, 11, 4)  # the centre's last day: every outcome still pending


@pytest.fixture(scope="module")
def served(truth_warehouse, tmp_path_factory) -> BeaconConfig:
    """The truth centre's marts published to a serving copy (what the report DAG reads)."""
    from beacon.publish import publish

    config = BeaconConfig.load(
        warehouse_path=truth_warehouse, serving_dir=tmp_path_factory.mktemp("serving")
    )
    publish(config, source_run="test_report")
    return config


@pytest.fixture(scope="module")
def facts(truth_warehouse):
    with duckdb.connect(str(truth_warehouse), read_only=True) as con:
        yield con


# --- the numbers, recomputed from the facts ------------------------------------------------


def _periods(day: date) -> dict[str, tuple[date, date]]:
    week_ago = day - timedelta(days=7)
    return {
        "day": (day, day),
        "trailing_7d": (week_ago, day - timedelta(days=1)),
        "same_weekday": (week_ago, week_ago),
    }


def _one(con, sql: str, first: date, last: date) -> dict:
    cursor = con.execute(sql, {"first": first, "last": last})
    names = [d[0] for d in cursor.description]
    return dict(zip(names, cursor.fetchone(), strict=True))


_ISSUE_FIGURES = """
select
    count(*) filter (where is_first_contact_resolution)
        / nullif(count(*) filter (where is_mature), 0) as fcr,
    sum(repeat_contacts) / nullif(sum(contacts), 0) as repeat_rate,
    count(*) filter (where is_successful_customer_outcome)
        / nullif(count(*) filter (where is_mature), 0) as sco_rate,
    percentile_cont(0.5) within group (order by time_to_resolution_seconds)
        filter (where is_durably_resolved) as ttr_median,
    count(*) as issues_started,
    count(*) filter (where is_mature) as issues_mature
from fct_issues
where issue_started_date between $first and $last
"""

_LEG_FIGURES = """
select
    sum(handle_seconds) filter (where is_handled) / nullif(count(*) filter (where is_handled), 0)
        as aht,
    sum(queue_seconds) filter (where is_handled) / nullif(count(*) filter (where is_handled), 0)
        as asa,
    count(*) filter (where is_answered_within_service_level)
        / nullif(count(*) filter (where is_offered) - count(*) filter (where is_short_abandon), 0)
        as service_level,
    count(*) filter (where is_abandoned)
        / nullif(count(*) filter (where is_offered) - count(*) filter (where is_short_abandon), 0)
        as abandonment,
    count(*) filter (where is_offered) as offered
from fct_call_legs
where direction in ('inbound', 'callback') and arrived_date between $first and $last
"""

_CONTACT_FIGURES = """
select
    count(*) as contacts,
    count(*) filter (where is_identified) as identified_contacts,
    (select count(*) from fct_tickets where created_date between $first and $last)
        as tickets_created
from fct_contacts
where started_date between $first and $last
"""


def _expected_headline(con, day: date) -> tuple[dict, dict]:
    con.execute("use marts")
    values: dict[str, dict] = {spec.key: {} for spec in HEADLINE_METRICS}
    volumes: dict[str, dict] = {}
    for period, (first, last) in _periods(day).items():
        row = {}
        for sql in (_ISSUE_FIGURES, _LEG_FIGURES, _CONTACT_FIGURES):
            row |= _one(con, sql, first, last)
        for spec in HEADLINE_METRICS:
            values[spec.key][period] = row[spec.key]
        volumes[period] = {
            k: row[k]
            for k in (
                "contacts",
                "identified_contacts",
                "offered",
                "tickets_created",
                "issues_started",
                "issues_mature",
            )
        }
    return values, volumes


def _same(actual, expected) -> bool:
    if expected is None or actual is None:
        return actual is None and expected is None
    return actual == pytest.approx(float(expected), rel=1e-9, abs=1e-9)


@pytest.mark.parametrize("day", [DAY, LATEST], ids=["settled-day", "latest-day"])
def test_headline_figures_are_the_marts_figures(served, facts, day):
    figures = read_figures(served.serving_path, day)
    expected, volumes = _expected_headline(facts, day)

    actual = figures.headline_values()
    mismatches = {
        (metric, period): (actual[metric][period], expected[metric][period])
        for metric in expected
        for period in expected[metric]
        if not _same(actual[metric][period], expected[metric][period])
    }
    assert not mismatches
    for period, counts in volumes.items():
        volume = figures.volumes[period]
        assert {k: getattr(volume, k) for k in counts} == counts, period

    # the page shows exactly these values, formatted, where the browser test looks for them
    html = render_html(figures)
    for spec in HEADLINE_METRICS:
        for period in ("trailing_7d", "same_weekday"):
            shown = fmt.value(spec.unit, expected[spec.key][period])
            assert f'data-figure="{spec.key}.{period}">{shown}<' in html, (spec.key, period)
    if day == LATEST:  # nothing of the last day is mature: its outcomes say so
        assert volumes["day"]["issues_mature"] == 0
        assert figures.metric("fcr").day is None
        assert 'data-figure="fcr.day">pending<' in html
        assert "Pending: no problem of the day has a known outcome yet" in html
    else:
        assert figures.volumes["day"].mature_share > 0.8
        assert f'data-figure="fcr.day">{fmt.pct(expected["fcr"]["day"])}<' in html


def test_the_other_figures_are_the_marts_figures(served, facts):
    f = read_figures(served.serving_path, DAY)
    con = facts
    con.execute("use marts")

    # triple crown of the month, from the facts
    month = DAY.replace(day=1)
    crown = con.execute(
        """
        with cost as (
            select sum(handling_cost) as cost from fct_call_legs
            where is_answered and date_trunc('month', arrived_date) = $month
        ),
        issues as (select * from fct_issues where issue_started_month = $month),
        at_risk as (
            select customer_id, max(mrr_at_start) as mrr from issues
            where is_revenue_at_risk group by customer_id
        )
        select
            (select cost from cost) / count(*) filter (where is_durably_resolved),
            count(*) filter (where is_successful_customer_outcome)
                / count(*) filter (where is_mature),
            (select count(*) from at_risk),
            (select sum(coalesce(mrr, 0)) from at_risk),
            count(*) filter (where is_churn_observed_30d and is_mature and not is_durably_resolved
                and has_churned_within_30d)
                / nullif(count(*) filter (where is_churn_observed_30d and is_mature
                and not is_durably_resolved), 0)
        from issues
        """,
        {"month": month},
    ).fetchone()
    c = f.crown
    assert c.cost_per_resolution == pytest.approx(crown[0], rel=1e-6)
    assert c.sco_rate == pytest.approx(crown[1], rel=1e-9)
    assert c.customers_at_risk == crown[2]
    assert c.revenue_at_risk == pytest.approx(crown[3], rel=1e-9)
    assert _same(c.churn_30d_after_unresolved, crown[4])
    assert f.crown_previous is None  # the centre starts in October

    # pending maturity
    pending = con.execute(
        "select count(*), count(*) filter (where outcome_status = 'pending_resolved') "
        "from fct_issues where not is_mature and issue_started_date <= $day",
        {"day": DAY},
    ).fetchone()
    assert (f.pending.issues_pending, f.pending.pending_resolved) == pending
    assert [d.day for d in f.pending.days] == [DAY - timedelta(days=13 - i) for i in range(14)]

    # repeat demand: the reason with most repeat contacts in the 7 days to the day
    top_reason = con.execute(
        """
        select
            contact_reason,
            count(*) filter (where is_repeat),
            count(*) filter (where is_identified)
        from fct_contacts where started_date between $day - 6 and $day
        group by contact_reason order by 2 desc, 1 limit 1
        """,
        {"day": DAY},
    ).fetchone()
    first = f.repeat_reasons[0]
    assert (first.reason, first.repeats, first.identified_contacts) == top_reason

    # hand-off paths: the transfers of each path shown
    for path in f.handoff_paths:
        transfers = con.execute(
            "select count(*) from fct_call_legs where is_transferred and queue = $a "
            "and transferred_to_queue = $b and arrived_date between $day - 27 and $day",
            {"a": path.from_queue, "b": path.to_queue, "day": DAY},
        ).fetchone()[0]
        assert path.transfers == transfers

    # the AHT trap: the agents mart_agent_weekly puts in the trap, for the last complete week
    week = last_complete_week(DAY)
    assert week.weekday() == 0 and week + timedelta(days=6) <= DAY < week + timedelta(days=14)
    trapped = {
        agent
        for (agent,) in con.execute(
            "select agent_id from mart_agent_weekly where week_start = $week and is_aht_trap",
            {"week": week},
        ).fetchall()
    }
    assert {row.name for row in f.aht_trap.trap_agents} == trapped
    assert trapped, "the simulated centre has rushers: the trap is not empty"

    # trust: feed status, quarantine and the latest batch's checks
    status = dict(con.execute("select feed, feed_status from mart_feed_status").fetchall())
    assert {x.feed: x.status for x in f.trust.feeds} == status
    assert f.trust.degraded_feeds == ()
    passed, failed = con.execute(
        """
        select count(*) filter (where is_passed), count(*) filter (where not is_passed)
        from fct_quality_checks join mart_feed_status
            on fct_quality_checks.feed = mart_feed_status.feed
            and batch_id = latest_batch_id
        """
    ).fetchone()
    assert (f.trust.checks_passed, f.trust.checks_failed) == (passed, failed)
    open_rows = con.execute("select sum(rows_quarantined_open) from mart_feed_status").fetchone()
    assert f.trust.rows_quarantined_open == open_rows[0]
    assert f.trust.trusted, f.trust.reasons


def test_a_degraded_feed_or_a_day_without_data_is_not_trusted(served, tmp_path):
    copy = tmp_path / "beacon.duckdb"
    shutil.copy(served.serving_path / "beacon.duckdb", copy)
    with duckdb.connect(str(copy)) as con:
        con.execute(
            "update marts.mart_feed_status set feed_status = 'degraded', is_degraded = true, "
            "status_reason = 'calls-2026-10-21.jsonl refused: 31% bad rows' where feed = 'calls'"
        )
    f = read_figures(copy, DAY)
    assert not f.trust.trusted
    assert f.trust.degraded_feeds == ("calls",)
    assert any(
        "calls feed is degraded: calls-2026-10-21.jsonl refused" in r for r in f.trust.reasons
    )
    html = render_html(f)
    assert "Numbers can be trusted today: no" in html
    assert "calls-2026-10-21.jsonl refused: 31% bad rows" in html

    empty = read_figures(copy, date(2027, 3, 1))  # after the data: nothing to show
    assert empty.volumes["day"].contacts == 0
    assert all(v is None for v in empty.headline_values()["fcr"].values())
    assert any("no contacts for 2027-03-01" in r for r in empty.trust.reasons)
    assert any("calls feed has no data for 2027-03-01" in r for r in empty.trust.reasons)
    assert "Numbers can be trusted today: no" in render_html(empty)


def test_the_command_and_the_pipeline_function_write_the_report(served, tmp_path, capsys):
    from beacon.cli import build_parser

    out = tmp_path / "out"
    argv = ["report", "--warehouse", str(served.serving_path), "--date", DAY.isoformat()]
    args = build_parser().parse_args([*argv, "--out", str(out)])
    code = args.func(args)  # main() without its logging set-up (pytest owns the streams)
    assert code == 0
    printed = capsys.readouterr().out
    assert f"report for {DAY.isoformat()}" in printed and "trusted: yes" in printed
    assert (out / f"{DAY.isoformat()}.html").is_file()

    # the report DAG's call: <serving>/reports/<day>.html from the current published version
    target = publish_report(served, DAY)
    assert target == served.serving_path / "reports" / f"{DAY.isoformat()}.html"
    html = target.read_text()
    assert "<script" not in html and "http://" not in html and "https://" not in html
    assert not list(target.parent.glob(".*.tmp"))


# --- what a person sees -------------------------------------------------------------------------

_PAGE_FACTS = """
(() => {
  const box = (el) => { const r = el.getBoundingClientRect(); return {left: r.left,
    right: r.right, width: r.width, height: r.height}; };
  const figures = {};
  for (const el of document.querySelectorAll('[data-figure]')) {
    figures[el.dataset.figure] = {text: el.textContent.trim(), ...box(el)};
  }
  const charts = Array.from(document.querySelectorAll('svg[data-chart]')).map((svg) => ({
    name: svg.dataset.chart, ...box(svg),
    marks: svg.querySelectorAll('rect, circle, polyline, line').length,
  }));
  const overflowing = [];
  for (const section of document.querySelectorAll('section')) {
    const edge = section.getBoundingClientRect().right;
    for (const el of section.querySelectorAll('table, svg, .card, .tile, p')) {
      if (el.getBoundingClientRect().right > edge + 1) overflowing.push(
        section.id + ' ' + el.tagName + ' ' + (el.dataset.chart || el.dataset.table || ''));
    }
  }
  return {
    title: document.title,
    text: document.body.innerText,
    figures, charts, overflowing,
    scrollWidth: document.documentElement.scrollWidth,
    clientWidth: document.documentElement.clientWidth,
    fontSize: parseFloat(getComputedStyle(document.body).fontSize),
    scripts: document.scripts.length,
  };
})()
"""


@pytest.mark.skipif(
    chromium_path() is None and not os.environ.get("CI"),
    reason="Chromium is not installed (make test installs Debian's chromium)",
)
def test_the_report_in_a_real_browser(served, tmp_path):
    target = build_report(served.serving_path, DAY, tmp_path, pdf=True)
    assert target.with_suffix(".pdf").read_bytes()[:5] == b"%PDF-"
    figures = read_figures(served.serving_path, DAY)

    screenshot = ARTIFACTS / "report.png"
    visit = inspect_page(target.as_uri(), expression=_PAGE_FACTS, screenshot=screenshot)
    print(f"\nscreenshot of the report: {screenshot}")
    page = visit.result

    # nothing went wrong, nothing was fetched: the file opens without a network
    assert visit.errors == []
    assert visit.requests == [target.as_uri()]
    assert page["scripts"] == 0

    # the headline figures are on the page, as the figures say, and visible
    assert page["title"] == f"Beacon daily outcome report, {fmt.day_long(DAY)}"
    shown = page["figures"]
    for spec in HEADLINE_METRICS:
        for period, value in figures.headline_values()[spec.key].items():
            key = f"{spec.key}.{period}"
            assert shown[key]["text"] == fmt.value(spec.unit, value), key
            assert shown[key]["width"] > 0 and shown[key]["height"] > 0, key
    assert shown["volume.contacts"]["text"] == fmt.count(figures.volumes["day"].contacts)
    assert shown["trust.verdict"]["text"].startswith("Numbers can be trusted today: yes")
    assert shown["crown.cost_per_resolution"]["text"] == fmt.money(
        figures.crown.cost_per_resolution
    )
    assert shown["pending.issues"]["text"] == fmt.count(figures.pending.issues_pending)
    assert shown["trap.agents"]["text"] == str(len(figures.aht_trap.trap_agents))
    for heading in (
        "The day at a glance",
        "What changed, and why",
        "What drives repeat demand",
        "Where hand-offs break",
        "The AHT trap",
        "The triple crown",
        "Still pending",
        "Can these numbers be trusted?",
    ):
        assert heading in page["text"], heading

    # the charts were drawn, at a size a person can read on a laptop
    charts = {c["name"]: c for c in page["charts"]}
    expected = {f"trend-{spec.key}" for spec in HEADLINE_METRICS} | {
        "repeat-reasons",
        "aht-trap",
        "maturity",
        "churn-after-contact",
    }
    assert expected <= set(charts)
    for name in expected:
        chart = charts[name]
        assert chart["width"] >= 180 and chart["height"] >= 35, chart
        assert chart["marks"] > 0 or name == "churn-after-contact", chart
    assert charts["aht-trap"]["width"] >= 450 and charts["aht-trap"]["height"] >= 250

    # readable on a 1366 px laptop screen: no sideways scrolling, nothing sticking out
    assert page["scrollWidth"] <= page["clientWidth"]
    assert page["overflowing"] == []
    assert page["fontSize"] >= 14

    # the screenshot is kept as the test's artefact
    png = screenshot.read_bytes()
    assert png[:8] == b"\x89PNG\r\n\x1a\n" and len(png) > 50_000
    width = int.from_bytes(png[16:20], "big")
    assert width == 1366


def test_the_report_holds_no_markup_from_the_data(served, tmp_path):
    """Names in the data (queues, reasons, agents, file names) are escaped, never markup."""
    copy = tmp_path / "beacon.duckdb"
    shutil.copy(served.serving_path / "beacon.duckdb", copy)
    with duckdb.connect(str(copy)) as con:
        con.execute(
            "update marts.mart_feed_status set feed_status = 'degraded', "
            "status_reason = '<img src=x onerror=alert(1)>' where feed = 'crm'"
        )
    html = render_html(read_figures(copy, DAY))
    assert "<img" not in html and "&lt;img src=x onerror=alert(1)&gt;" in html
    assert not re.search(r"<script|https?://", html)
